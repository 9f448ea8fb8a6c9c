//! The life of the contacts the simulator starts, told as Amazon Connect tells it: contact
//! events in the EventBridge shape (`source: aws.connect`, `detail-type: Amazon Connect Contact
//! Event`). A started contact is `INITIATED` and `CONNECTED_TO_SYSTEM` at once; with
//! `end_chats_after`, it ends that long after (`DISCONNECTED`, `CUSTOMER_DISCONNECT`), and with
//! `customer_replies`, a `CONTACT_DATA_UPDATED` event first shows a message from the customer.
//! Whoever subscribes gets the events (the local run hands them to the function).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// How a started contact lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LifeKnobs {
    pub(crate) end_after: Option<Duration>,
    pub(crate) customer_replies: bool,
}

/// Tells the life of a contact just started from `request` (a `StartOutboundChatContact` body):
/// its first events now, the rest from a task of its own.
pub(crate) fn tell(
    events: &broadcast::Sender<Value>,
    request: &Value,
    contact_id: &str,
    knobs: LifeKnobs,
) {
    if events.receiver_count() == 0 {
        return;
    }
    let contact = Contact::of(request, contact_id);
    // Nobody listening any more is fine: the events are for whoever subscribed.
    let _ = events.send(contact.event("INITIATED", 0, None));
    let _ = events.send(contact.event("CONNECTED_TO_SYSTEM", 1, None));
    let Some(after) = knobs.end_after else {
        return;
    };
    let events = events.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        if knobs.customer_replies {
            let metrics = json!({"participantMetrics": [
                {"participantType": "CUSTOMER", "messagesSent": 1}]});
            let _ = events.send(contact.event(
                "CONTACT_DATA_UPDATED",
                2,
                Some(("chatMetrics", metrics)),
            ));
        }
        let _ = events.send(contact.event("DISCONNECTED", 3, None));
    });
}

/// What the events of one contact repeat.
struct Contact {
    contact_id: String,
    instance_arn: String,
    subtype: Value,
    started: String,
}

impl Contact {
    fn of(request: &Value, contact_id: &str) -> Self {
        let instance = request["InstanceId"].as_str().unwrap_or_default();
        Self {
            contact_id: contact_id.to_owned(),
            instance_arn: format!("arn:aws:connect:us-east-1:123456789012:instance/{instance}"),
            subtype: request["SegmentAttributes"]["connect:Subtype"].clone(),
            started: now(),
        }
    }

    /// One event; `n` numbers it within the contact's life.
    fn event(&self, event_type: &str, n: u8, extra: Option<(&str, Value)>) -> Value {
        let mut detail = json!({
            "eventType": event_type, "contactId": self.contact_id, "channel": "CHAT",
            "initiationMethod": "API", "instanceArn": self.instance_arn,
            "initiationTimestamp": self.started,
            "segmentAttributes": {"connect:Subtype": self.subtype},
        });
        if event_type == "DISCONNECTED" {
            detail["disconnectTimestamp"] = now().into();
            detail["disconnectReason"] = "CUSTOMER_DISCONNECT".into();
        }
        if let Some((name, value)) = extra {
            detail[name] = value;
        }
        json!({"version": "0", "id": format!("{}-{n}", self.contact_id),
            "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
            "account": "123456789012", "time": now(), "region": "us-east-1",
            "resources": [self.instance_arn], "detail": detail})
    }
}

/// Now in RFC 3339, to the millisecond.
fn now() -> String {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let millis = since.as_millis() as i64;
    let (days, rest) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (y, m, d) = civil(days);
    let (h, min, s, ms) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_count_is_its_civil_date() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_415), (2025, 11, 23));
        assert_eq!(civil(-1), (1969, 12, 31));
    }

    #[tokio::test(start_paused = true)]
    async fn a_contact_is_initiated_connected_then_replied_to_and_ended_when_told_to() {
        let (events, mut received) = broadcast::channel(16);
        let request = json!({"InstanceId": "i-1",
            "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}}});
        let knobs = LifeKnobs {
            end_after: Some(Duration::from_secs(5)),
            customer_replies: true,
        };
        tell(&events, &request, "c-1", knobs);
        let mut types = Vec::new();
        for _ in 0..4 {
            let event = received.recv().await.unwrap();
            assert_eq!(event["detail"]["contactId"], "c-1");
            assert_eq!(
                event["detail"]["segmentAttributes"]["connect:Subtype"]["ValueString"],
                "connect:SMS"
            );
            types.push(event["detail"]["eventType"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            types,
            [
                "INITIATED",
                "CONNECTED_TO_SYSTEM",
                "CONTACT_DATA_UPDATED",
                "DISCONNECTED"
            ]
        );
    }
}
