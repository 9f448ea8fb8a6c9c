//! SQS records as Lambda delivers them, built in memory: one record, a standard batch of valid
//! requests, the send request each carries, and the number a simulated Connect received.

use serde_json::{Value, json};

pub const STANDARD_QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:outbound-chat-requests";

pub const FIFO_QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:outbound-chat-requests.fifo";

fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

/// One SQS record as Lambda delivers it. `group` makes it a FIFO record.
pub fn sqs_record(queue: &str, id: &str, body: &str, receives: u32, group: Option<&str>) -> Value {
    let mut attributes = json!({
        "ApproximateReceiveCount": receives.to_string(),
        "SentTimestamp": "1763888400000",
        "SenderId": "AIDAEXAMPLE",
        // Received now: a throttled record's copies are re-sent for REQUEUE_MAX_HOURS after it.
        "ApproximateFirstReceiveTimestamp": now_millis().to_string(),
    });
    if let Some(group) = group {
        attributes["MessageGroupId"] = json!(group);
        attributes["MessageDeduplicationId"] = json!(id);
    }
    json!({
        "messageId": id,
        "receiptHandle": format!("AQEB{id}"),
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "00000000000000000000000000000000",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue,
        "awsRegion": "us-east-1",
    })
}

/// A send request to `number`, with the request's number in an attribute.
pub fn sms_body(number: &str, n: usize) -> String {
    json!({
        "to": number,
        "message": {"content": format!("Reminder {n}")},
        "attributes": {"requestNo": n.to_string()},
    })
    .to_string()
}

/// A standard-queue event of `count` valid records, record `i` sent to `number(i)`, with id
/// `msg-i`.
pub fn standard_batch(count: usize, number: impl Fn(usize) -> String) -> Value {
    let records: Vec<Value> = (0..count)
        .map(|i| {
            let body = sms_body(&number(i), i);
            sqs_record(STANDARD_QUEUE, &format!("msg-{i}"), &body, 1, None)
        })
        .collect();
    json!({ "Records": records })
}

/// The destination number of a request the simulator received.
pub fn destination(request: &Value) -> String {
    request["DestinationEndpoint"]["Address"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
