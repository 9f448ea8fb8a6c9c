//! Amazon Connect's contact events (`source: aws.connect`, `detail-type: Amazon Connect Contact
//! Event`), straight from an EventBridge rule or as SQS record bodies: each moves the contact
//! of the request that started it forward in the ledger (`STARTED` → `CONNECTED` → `ENDED`,
//! and `customerReplied`). Late, repeated and out-of-order events move nothing; events for
//! contacts the ledger does not know are ignored and counted.
//!
//! The events are read with types of this module's own that take every field as optional and
//! ignore the fields they do not know: Connect adds fields over time, and documents its chat
//! fields (SMS, WhatsApp `segmentAttributes`, chat metrics) less than its voice ones.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connect::ContactStarter;
use crate::domain::Channel;
use crate::send::ledger::Followed;
use crate::send::pipeline::Pipeline;
use crate::store::ledger::{ContactChange, ContactStatus};

/// The `source` of Connect's events.
pub const SOURCE: &str = "aws.connect";
/// The `detail-type` of a contact event.
pub const DETAIL_TYPE: &str = "Amazon Connect Contact Event";

/// A contact event as EventBridge delivers it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ContactEvent {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub detail: ContactEventDetail,
}

/// The members of a contact event's `detail` the function reads; every one may be missing.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactEventDetail {
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub contact_id: Option<String>,
    /// `VOICE`, `CHAT`, `TASK`, `EMAIL`.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub disconnect_timestamp: Option<String>,
    /// A string in the documented samples; read leniently.
    #[serde(default)]
    pub disconnect_reason: Option<Value>,
    /// `{"connect:Subtype": {"ValueString": "connect:SMS"}}` for SMS and WhatsApp chats.
    #[serde(default)]
    pub segment_attributes: Option<Value>,
    /// Chat metrics, when the event carries them (see [`ContactEventDetail::shows_reply`]).
    #[serde(default)]
    pub chat_metrics: Option<Value>,
}

impl ContactEventDetail {
    /// The status the event moves the contact to, if any: `INITIATED` starts it, the contact
    /// reaching the system (or a queue or an agent after it) connects it, `DISCONNECTED` and
    /// `COMPLETED` end it. Other events (`CONTACT_DATA_UPDATED`, ...) move no status.
    pub fn status(&self) -> Option<ContactStatus> {
        match self.event_type.as_deref()? {
            "INITIATED" => Some(ContactStatus::Started),
            "CONNECTED_TO_SYSTEM" | "QUEUED" | "CONNECTED_TO_AGENT" => {
                Some(ContactStatus::Connected)
            }
            "DISCONNECTED" | "COMPLETED" => Some(ContactStatus::Ended),
            _ => None,
        }
    }

    /// Whether the event shows a message from the customer: its chat metrics name a
    /// participant of type `CUSTOMER` with messages sent or responses (the shape of
    /// `DescribeContact`'s `ChatMetrics.ParticipantMetrics`, in either case of member names).
    /// Connect does not document this block for contact events in detail; an event without
    /// it shows nothing.
    pub fn shows_reply(&self) -> bool {
        self.chat_metrics.as_ref().is_some_and(customer_sent)
    }

    /// The chat's channel from its segment attributes (`connect:Subtype`), when given.
    pub fn subtype(&self) -> Option<Channel> {
        let attributes = self.segment_attributes.as_ref()?.as_object()?;
        let subtype = attributes.get("connect:Subtype")?;
        let value = member(subtype, "valueString")?.as_str()?;
        Channel::from_subtype(value).ok()
    }

    /// What the event says of the contact, `None` when it says nothing the ledger keeps.
    pub fn change(&self, event_time: Option<&str>) -> Option<ContactChange> {
        let status = self.status();
        let replied = self.shows_reply();
        if status.is_none() && !replied {
            return None;
        }
        let ended = status == Some(ContactStatus::Ended);
        let ended_at = ended.then(|| {
            let time = self.disconnect_timestamp.as_deref().or(event_time)?;
            time.parse::<Timestamp>().ok()
        });
        let reason = self.disconnect_reason.as_ref().and_then(Value::as_str);
        Some(ContactChange {
            status,
            ended_at: ended_at.flatten(),
            disconnect_reason: reason.filter(|_| ended).map(str::to_owned),
            customer_replied: replied,
            at: Timestamp::now(),
            expires_at: 0,
        })
    }
}

/// A member of `value` by its camelCase name or its PascalCase twin.
fn member<'v>(value: &'v Value, camel: &str) -> Option<&'v Value> {
    let mut pascal = camel.to_owned();
    pascal[..1].make_ascii_uppercase();
    value.get(camel).or_else(|| value.get(&pascal))
}

/// A participant of type `CUSTOMER` with a count of messages or responses above zero,
/// anywhere in `metrics`.
fn customer_sent(metrics: &Value) -> bool {
    match metrics {
        Value::Array(items) => items.iter().any(customer_sent),
        Value::Object(map) => {
            let customer =
                member(metrics, "participantType").and_then(Value::as_str) == Some("CUSTOMER");
            let counted = ["messagesSent", "numResponses"].iter().any(|name| {
                member(metrics, name)
                    .and_then(Value::as_u64)
                    .is_some_and(|n| n > 0)
            });
            (customer && counted) || map.values().any(customer_sent)
        }
        _ => false,
    }
}

/// Whether `value` is a contact event (its `source` and `detail-type`).
pub fn is_contact_event(value: &Value) -> bool {
    value.get("source").and_then(Value::as_str) == Some(SOURCE)
        && value.get("detail-type").and_then(Value::as_str) == Some(DETAIL_TYPE)
}

/// Whether an SQS record's body is a contact event: a look at the text first, so that a send
/// request is not parsed twice.
pub fn is_contact_event_body(body: &str) -> bool {
    body.contains(DETAIL_TYPE)
        && body.contains(SOURCE)
        && serde_json::from_str::<Value>(body).is_ok_and(|v| is_contact_event(&v))
}

/// The answer to a contact event from an EventBridge rule (nothing reads it but a test).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// `MOVED`, `UNCHANGED`, `UNKNOWN` or `IGNORED` (nothing to record, or no ledger).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}

/// A contact event that could not be recorded: the invocation fails so that Lambda retries it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the contact event could not be recorded: {0}")]
pub struct NotRecorded(pub String);

/// Handles one contact event from an EventBridge rule.
pub async fn handle_event<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    event: ContactEvent,
) -> Result<Answer, NotRecorded> {
    follow(pipeline, &event).await
}

/// Handles an SQS batch of contact events: the records whose event could not be recorded, or
/// could not be read, are reported for redelivery.
pub async fn handle_records<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed_records(pipeline, &event.records).await);
    response
}

/// The message ids of the records (all contact events) that are to come back.
pub async fn failed_records<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    records: &[SqsMessage],
) -> Vec<String> {
    let runs = records.iter().enumerate().map(|(index, record)| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let failed = match serde_json::from_str::<ContactEvent>(body) {
            Ok(event) => follow(pipeline, &event).await.is_err(),
            Err(err) => {
                tracing::warn!(message_id = id, error = %err, "a contact event could not be read");
                true
            }
        };
        failed.then_some((index, id))
    });
    pipeline.failed_in_order(runs).await
}

/// Takes one event to the ledger, logs it and counts it.
async fn follow<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    event: &ContactEvent,
) -> Result<Answer, NotRecorded> {
    let detail = &event.detail;
    let event_type = detail.event_type.as_deref().unwrap_or("UNKNOWN");
    let ignored = |contact_id: Option<String>| Answer {
        status: "IGNORED",
        contact_id,
    };
    let Some(contact_id) = detail.contact_id.clone() else {
        tracing::warn!(
            event_type,
            "a contact event without a contact id was ignored"
        );
        return Ok(ignored(None));
    };
    let invocation = pipeline.invocation();
    let chat = detail.channel.as_deref().is_none_or(|c| c == "CHAT");
    let change = detail.change(event.time.as_deref());
    let (Some(change), true) = (change, chat) else {
        return Ok(ignored(Some(contact_id)));
    };
    let Some(followed) = pipeline.follow_contact(&contact_id, &change).await else {
        tracing::warn!(contact_id, "a contact event was ignored: the ledger is off");
        return Ok(ignored(Some(contact_id)));
    };
    let (status, channel, known) = match &followed {
        Followed::Unknown => ("UNKNOWN", detail.subtype(), false),
        Followed::Unchanged(entry) => ("UNCHANGED", entry.channel, true),
        Followed::Moved(entry) => ("MOVED", entry.channel, true),
        Followed::Failed(problem) => {
            tracing::warn!(contact_id, event_type, error = %problem, "a contact event could not be recorded");
            return Err(NotRecorded(problem.clone()));
        }
    };
    let moved = matches!(followed, Followed::Moved(_));
    let moved_to = change.status.filter(|_| moved).map(ContactStatus::as_str);
    let replied = moved && change.customer_replied;
    invocation.count_contact_event(channel, known, moved_to, replied);
    tracing::info!(
        trigger = invocation.trigger(),
        contact_id,
        event_type,
        effect = status,
        "contact event"
    );
    Ok(Answer {
        status,
        contact_id: Some(contact_id),
    })
}

/// An SQS batch split into its contact-event records and the rest (send requests).
pub fn split(event: SqsEvent) -> (Vec<SqsMessage>, SqsEvent) {
    let (events, requests): (Vec<SqsMessage>, Vec<SqsMessage>) = event
        .records
        .into_iter()
        .partition(|r| r.body.as_deref().is_some_and(is_contact_event_body));
    let mut rest = SqsEvent::default();
    rest.records = requests;
    (events, rest)
}

/// The documented sample's members, for tests: a `DISCONNECTED` chat event.
#[cfg(test)]
pub(crate) fn sample(contact_id: &str, event_type: &str) -> Value {
    serde_json::json!({
        "version": "0", "id": "5a1e2c3b-0000-4000-8000-000000000001",
        "detail-type": DETAIL_TYPE, "source": SOURCE, "account": "123456789012",
        "time": "2026-11-23T08:05:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventType": event_type, "contactId": contact_id, "channel": "CHAT",
            "initiationMethod": "API", "instanceArn": "arn:aws:connect:us-east-1:123456789012:instance/i-1",
            "disconnectTimestamp": "2026-11-23T08:05:00.000Z", "disconnectReason": "CUSTOMER_DISCONNECT",
            "segmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}},
            "newField": {"nested": [1, 2]}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(value: Value) -> ContactEventDetail {
        serde_json::from_value(value).expect("a tolerant read")
    }

    #[test]
    fn each_event_type_moves_the_status_it_names_and_others_move_none() {
        let cases = [
            ("INITIATED", Some(ContactStatus::Started)),
            ("CONNECTED_TO_SYSTEM", Some(ContactStatus::Connected)),
            ("CONNECTED_TO_AGENT", Some(ContactStatus::Connected)),
            ("DISCONNECTED", Some(ContactStatus::Ended)),
            ("COMPLETED", Some(ContactStatus::Ended)),
            ("CONTACT_DATA_UPDATED", None),
            ("SOMETHING_NEW", None),
        ];
        for (event_type, status) in cases {
            assert_eq!(detail(json!({"eventType": event_type})).status(), status);
        }
    }

    #[test]
    fn a_disconnection_gives_its_time_and_reason_and_an_event_missing_fields_is_still_read() {
        let event: ContactEvent = serde_json::from_value(sample("c-1", "DISCONNECTED")).unwrap();
        let change = event.detail.change(event.time.as_deref()).unwrap();
        assert_eq!(change.status, Some(ContactStatus::Ended));
        assert_eq!(
            change.ended_at,
            Some("2026-11-23T08:05:00Z".parse().unwrap())
        );
        assert_eq!(
            change.disconnect_reason.as_deref(),
            Some("CUSTOMER_DISCONNECT")
        );
        assert_eq!(event.detail.subtype(), Some(Channel::Sms));
        let bare: ContactEvent = serde_json::from_value(json!({"detail": {}})).unwrap();
        assert_eq!(bare.detail.change(None), None);
        let odd = detail(json!({"eventType": "DISCONNECTED", "disconnectReason": {"code": 1}}));
        assert_eq!(odd.change(None).unwrap().disconnect_reason, None);
    }

    #[test]
    fn a_reply_shows_in_a_customers_message_count_and_not_in_an_agents() {
        let metrics = |kind: &str, sent: u64| {
            detail(json!({"eventType": "CONTACT_DATA_UPDATED", "chatMetrics": {
                "participantMetrics": [{"participantType": kind, "messagesSent": sent}]}}))
        };
        assert!(metrics("CUSTOMER", 1).shows_reply());
        assert!(!metrics("CUSTOMER", 0).shows_reply());
        assert!(!metrics("AGENT", 3).shows_reply());
        let pascal = detail(json!({"chatMetrics": {"ParticipantMetrics": {
            "ParticipantType": "CUSTOMER", "NumResponses": 2}}}));
        assert!(pascal.shows_reply());
        assert!(pascal.change(None).unwrap().customer_replied);
    }

    #[test]
    fn a_batch_is_split_into_its_contact_events_and_its_send_requests() {
        let record = |id: &str, body: String| json!({"messageId": id, "eventSource": "aws:sqs", "body": body});
        let event: SqsEvent = serde_json::from_value(json!({"Records": [
            record("e", sample("c-1", "INITIATED").to_string()),
            record("r", json!({"to": "+14255550100", "message": {"content":
                "source aws.connect, Amazon Connect Contact Event"}}).to_string()),
        ]}))
        .unwrap();
        let (events, rest) = split(event);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].message_id.as_deref(), Some("e"));
        assert_eq!(rest.records.len(), 1);
    }
}
