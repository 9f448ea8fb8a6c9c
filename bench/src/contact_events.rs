//! Amazon Connect's contact events for the benchmark's contacts, as SQS batches (the template
//! routes them through a queue): each contact's life (`INITIATED`, `CONNECTED_TO_SYSTEM`, a
//! customer's reply, `DISCONNECTED`) told round after round, so that the first round moves every
//! contact forward and the later ones are repeats the ledger refuses, as late and duplicated
//! events are.

use bytes::Bytes;
use serde_json::{Value, json};

/// The event types of a contact's life, in order.
const LIFE: [&str; 4] = [
    "INITIATED",
    "CONNECTED_TO_SYSTEM",
    "CONTACT_DATA_UPDATED",
    "DISCONNECTED",
];

/// Hands out batches of contact events for a fixed set of contacts.
#[derive(Debug)]
pub struct ContactEvents {
    contacts: Vec<String>,
    next: usize,
}

impl ContactEvents {
    pub fn new(contacts: Vec<String>) -> Self {
        Self { contacts, next: 0 }
    }

    /// An SQS event of `records` contact events.
    pub fn batch(&mut self, records: usize) -> Bytes {
        let records: Vec<Value> = (0..records).map(|_| self.record()).collect();
        Bytes::from(serde_json::to_vec(&json!({ "Records": records })).expect("JSON"))
    }

    fn record(&mut self) -> Value {
        let n = self.next;
        self.next += 1;
        let contact = &self.contacts[n % self.contacts.len()];
        let event_type = LIFE[(n / self.contacts.len()) % LIFE.len()];
        let mut detail = json!({"eventType": event_type, "contactId": contact, "channel": "CHAT",
            "initiationMethod": "API",
            "instanceArn": "arn:aws:connect:us-east-1:123456789012:instance/bench",
            "segmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}}});
        if event_type == "DISCONNECTED" {
            detail["disconnectTimestamp"] = "2026-11-23T08:10:00.000Z".into();
            detail["disconnectReason"] = "CUSTOMER_DISCONNECT".into();
        }
        if event_type == "CONTACT_DATA_UPDATED" {
            detail["chatMetrics"] =
                json!({"participantMetrics": [{"participantType": "CUSTOMER", "messagesSent": 1}]});
        }
        let body = json!({"version": "0", "id": format!("bench-event-{n}"),
            "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
            "account": "123456789012", "time": "2026-11-23T08:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail});
        json!({"messageId": format!("bench-event-{n}"), "receiptHandle": format!("AQEB-event-{n}"),
            "body": body.to_string(), "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {}, "md5OfBody": "00000000000000000000000000000000",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:contact-events",
            "awsRegion": "us-east-1"})
    }
}
