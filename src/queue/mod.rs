//! The queue port: the two SQS calls that hold a request until its send window opens, and the
//! classification of their failures. The SDK adapter lives in [`sdk`]; tests use moto's SQS.

pub mod sdk;

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so that the port is a trait object: the function holds a queue only when a
/// send window is configured.
pub type QueueFuture<'a> = Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>>;

/// Holds requests back in SQS.
pub trait RequestQueue: Send + Sync {
    /// Hides a received message for `seconds` (ChangeMessageVisibility).
    fn hide_message<'a>(
        &'a self,
        queue_url: &'a str,
        receipt_handle: &'a str,
        seconds: u32,
    ) -> QueueFuture<'a>;

    /// Puts `body` on the queue, invisible for `delay_seconds` (SendMessage).
    fn send_delayed<'a>(
        &'a self,
        queue_url: &'a str,
        body: String,
        delay_seconds: u32,
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

/// The longest delay SendMessage accepts.
pub const MAX_DELAY_SECONDS: u32 = 15 * 60;

/// The URL of the queue an event source ARN names (`arn:aws:sqs:us-east-1:123456789012:q` →
/// `https://sqs.us-east-1.amazonaws.com/123456789012/q`). The SDK sends the call to its own
/// endpoint (`AWS_ENDPOINT_URL_SQS` included); the URL only names the queue.
pub fn queue_url_of_arn(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let domain = match partition {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
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
        ];
        for (arn, url) in cases {
            assert_eq!(queue_url_of_arn(arn).as_deref(), url, "{arn}");
        }
    }
}
