//! The queue port: the two SQS calls that hold a request until its send window opens (hide a
//! record, hand a request to the request queue) and send a throttled record back to its queue,
//! and the classification of their failures. The SDK adapter lives in [`sdk`]; tests use
//! moto's SQS.

pub mod sdk;

use futures::future::BoxFuture;

use crate::domain::parse_arn;

/// What a queue call gives: a [`BoxFuture`], the ports' one future shape, so that the port is a
/// trait object.
pub type QueueFuture<'a> = BoxFuture<'a, Result<(), QueueError>>;

/// Holds requests back in SQS.
pub trait RequestQueue: Send + Sync {
    /// Hides a received message for `seconds` (ChangeMessageVisibility).
    fn hide_message<'a>(
        &'a self,
        queue_url: &'a str,
        receipt_handle: &'a str,
        seconds: u32,
    ) -> QueueFuture<'a>;

    /// Puts `body` on the queue, invisible for `delay_seconds` (SendMessage). A re-sent record
    /// carries `first_received` (Unix milliseconds) as the message attribute
    /// [`FIRST_RECEIVED_ATTRIBUTE`], so that its copies are not re-sent for ever.
    fn send_delayed<'a>(
        &'a self,
        queue_url: &'a str,
        body: String,
        delay_seconds: u32,
        first_received: Option<i64>,
    ) -> QueueFuture<'a>;
}

/// Why SQS did not take a deferral. Messages are SQS's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SQS did not take the deferred request ({code}): {message}")]
pub struct QueueError {
    pub code: String,
    pub message: String,
}

/// The longest visibility timeout SQS accepts: 12 hours from the message's receipt. A little
/// less is asked, since the receipt was a moment ago; a later opening is reached by deferring
/// again when the message comes back.
pub const MAX_VISIBILITY_SECONDS: u32 = 12 * 3600 - 300;

/// The message attribute a re-sent record's copy carries: when the record was first received,
/// in Unix milliseconds (a Number). SQS counts receives per message, and a copy is a new
/// message: this is what bounds the re-sends of one request (`REQUEUE_MAX_HOURS`).
pub const FIRST_RECEIVED_ATTRIBUTE: &str = "firstReceivedAt";

/// The longest delay SendMessage accepts.
pub const MAX_DELAY_SECONDS: u32 = 15 * 60;

/// The URL of the queue an event source ARN names (`arn:aws:sqs:us-east-1:123456789012:q` →
/// `https://sqs.us-east-1.amazonaws.com/123456789012/q`). The SDK sends the call to its own
/// endpoint (`AWS_ENDPOINT_URL_SQS` included); the URL only names the queue.
pub fn queue_url_of_arn(arn: &str) -> Option<String> {
    let parts = parse_arn(arn)
        .filter(|p| p.service == "sqs" && !p.region.is_empty() && !p.account.is_empty())?;
    let domain = match parts.partition {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
    let (region, account, name) = (parts.region, parts.account, parts.resource);
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_arn_becomes_its_url_and_anything_else_does_not() {
        let cases = [
            (
                "arn:aws:sqs:us-east-1:123456789012:requests",
                Some("https://sqs.us-east-1.amazonaws.com/123456789012/requests"),
            ),
            (
                "arn:aws-cn:sqs:cn-north-1:123456789012:requests.fifo",
                Some("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/requests.fifo"),
            ),
            ("arn:aws:sns:us-east-1:123456789012:topic", None),
            ("requests", None),
            ("arn:aws:sqs::123456789012:requests", None),
            ("arn:aws:sqs:us-east-1::requests", None),
        ];
        for (arn, url) in cases {
            assert_eq!(queue_url_of_arn(arn).as_deref(), url, "{arn}");
        }
    }
}
