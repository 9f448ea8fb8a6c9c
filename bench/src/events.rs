//! SQS events as Lambda's event source mapping delivers them: records of realistic size (a
//! receipt handle of a few hundred characters, the usual attributes), each carrying one valid
//! SMS request with a unique message id, so every record starts one new contact.

use bytes::Bytes;
use serde_json::{Value, json};

/// Length of each record's receipt handle. Real ones are longer, but Lambda caps an event at
/// 6 MB (6,291,456 bytes), so a batch of 10,000 records averages at most 629 bytes a record:
/// with this length a record is about 600 bytes and 10,000 of them make about 6.0 MB.
const RECEIPT_HANDLE_LEN: usize = 64;

/// Hands out records with message ids never used before in this run.
#[derive(Debug, Default)]
pub struct SqsEvents {
    next: u64,
}

impl SqsEvents {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands out ids from `first` on: generators with far apart starts never share an id.
    pub fn starting_at(first: u64) -> Self {
        Self { next: first }
    }

    /// An SQS standard-queue event of `records` records.
    pub fn batch(&mut self, records: usize) -> Bytes {
        Bytes::from(serde_json::to_vec(&self.batch_json(records)).expect("JSON"))
    }

    /// The same, as JSON.
    pub fn batch_json(&mut self, records: usize) -> Value {
        let records: Vec<Value> = (0..records).map(|_| self.record()).collect();
        json!({ "Records": records })
    }

    fn record(&mut self) -> Value {
        let n = self.next;
        self.next += 1;
        let message_id = format!("be7c4000-0000-4000-8000-{n:012x}");
        let mut receipt = format!("AQEB{message_id}");
        let filler = "Zm9yLWJlbmNobWFyay1yZWNlaXB0LWhhbmRsZS1wYWRkaW5n";
        while receipt.len() < RECEIPT_HANDLE_LEN {
            receipt.push_str(filler);
        }
        receipt.truncate(RECEIPT_HANDLE_LEN);
        let body = json!({
            "to": format!("+1425555{:04}", n % 10_000),
            "message": {"content": format!("Your order A-{n} has shipped.")},
        });
        json!({
            "messageId": message_id,
            "receiptHandle": receipt,
            "body": body.to_string(),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1763888400000",
                "SenderId": "AROAEXAMPLE:outbound-chat-producer",
                "ApproximateFirstReceiveTimestamp": "1763888400001"
            },
            "messageAttributes": {},
            "md5OfBody": "0c4d5e1f2a3b4c5d6e7f8091a2b3c4d5",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:outbound-chat-requests",
            "awsRegion": "us-east-1"
        })
    }
}

/// A contact flow's "Invoke AWS Lambda function" event for call `n`: a caller deflected to SMS,
/// the block's parameters as text, its own contact (so each starts one new contact).
pub fn flow_event(n: u64) -> Bytes {
    let contact_id = format!("f10e0000-0000-4000-8000-{n:012x}");
    let event = json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {
                "Channel": "VOICE",
                "ContactId": contact_id,
                "InitialContactId": contact_id,
                "InitiationMethod": "INBOUND",
                "CustomerEndpoint": {"Address": format!("+1425555{:04}", n % 10_000), "Type": "TELEPHONE_NUMBER"},
                "SystemEndpoint": {"Address": "+18005550199", "Type": "TELEPHONE_NUMBER"},
                "InstanceARN": format!(
                    "arn:aws:connect:us-east-1:123456789012:instance/{}",
                    connect_simulator::sample::INSTANCE_ID
                ),
                "Queue": null,
                "Attributes": {}
            },
            "Parameters": {"channel": "SMS", "message": "Book online: https://example.com/book"}
        }
    });
    Bytes::from(event.to_string())
}

/// A direct invocation's request for `n`: the same SMS as [`flow_event`], in the friendly form.
pub fn direct_request(n: u64) -> Bytes {
    let request = json!({
        "channel": "SMS",
        "to": format!("+1425555{:04}", n % 10_000),
        "message": {"content": "Book online: https://example.com/book"},
    });
    Bytes::from(request.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_records_make_an_event_of_about_six_megabytes() {
        let event = SqsEvents::new().batch(10_000);
        let size = event.len();
        assert!((5_500_000..=6_291_456).contains(&size), "{size} bytes");
    }

    #[test]
    fn message_ids_are_unique_across_batches() {
        let mut events = SqsEvents::new();
        let a: Value = serde_json::from_slice(&events.batch(2)).unwrap();
        let b: Value = serde_json::from_slice(&events.batch(2)).unwrap();
        let ids: std::collections::HashSet<_> = [a, b]
            .iter()
            .flat_map(|e| e["Records"].as_array().unwrap().clone())
            .map(|r| r["messageId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 4);
    }
}
