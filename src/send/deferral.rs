//! Holding a request outside its send window, so that it is sent when the window opens and
//! never lost: an SQS record is hidden until the opening (SQS redelivers it), anything else is
//! handed to the request queue with a delay, carrying its client token so that the contact it
//! eventually starts is the one a direct send would have started.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use crate::domain::OutboundChat;
use crate::outcome::DeferralFailed;
use crate::queue::{
    MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS, QueueError, RequestQueue, queue_url_of_arn,
};

/// Where a request goes back to while it waits for its window.
pub enum Route<'a> {
    /// An SQS record: hidden in its own queue until the opening. Its body is what a re-send
    /// after a throttle puts back on the queue (see `resend.rs`).
    SqsRecord {
        queue_arn: &'a str,
        receipt_handle: Option<&'a str>,
        body: Option<&'a str>,
        first_received: Option<Timestamp>,
    },
    /// An EventBridge event, a direct invocation or an HTTP request: the request itself, to
    /// hand to the request queue (`None`: not kept, because no window is configured).
    RequestQueue(Option<RequestCopy<'a>>),
}

impl<'a> Route<'a> {
    /// The SQS record the request came in, if it did.
    pub fn origin(&self) -> Option<Origin<'a>> {
        match self {
            Self::SqsRecord {
                queue_arn,
                body,
                first_received,
                ..
            } => Some(Origin {
                queue_arn,
                body: *body,
                first_received: *first_received,
            }),
            Self::RequestQueue(_) => None,
        }
    }
}

/// The SQS record a request came in, as much of it as a re-send after a throttle needs
/// (see `resend.rs`).
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    pub queue_arn: &'a str,
    pub body: Option<&'a str>,
    /// When the request was first received: the `firstReceivedAt` attribute of a re-sent
    /// copy, else the record's own `ApproximateFirstReceiveTimestamp`.
    pub first_received: Option<Timestamp>,
}

impl Origin<'_> {
    /// FIFO queues take no per-message delay, and a copy would jump its group's order.
    pub fn is_fifo(&self) -> bool {
        self.queue_arn.ends_with(".fifo")
    }
}

/// The request as it arrived, to put on the request queue.
pub enum RequestCopy<'a> {
    Text(&'a str),
    Value(Value),
}

/// The queue and the request queue's URL; both absent when no window is configured.
#[derive(Clone, Default)]
pub struct Deferrer {
    queue: Option<Arc<dyn RequestQueue>>,
    request_queue_url: Option<String>,
}

impl Deferrer {
    pub fn new(queue: Option<Arc<dyn RequestQueue>>, request_queue_url: Option<String>) -> Self {
        Self {
            queue,
            request_queue_url,
        }
    }

    /// Holds `chat` until `not_before`, by `route`.
    pub async fn defer(
        &self,
        route: Route<'_>,
        chat: &OutboundChat,
        not_before: Timestamp,
        now: Timestamp,
    ) -> Result<(), DeferralFailed> {
        let wait = seconds_between(now, not_before);
        let not_held = |reason: String| DeferralFailed::NotHeld { not_before, reason };
        let Some(queue) = &self.queue else {
            return Err(match route {
                Route::SqsRecord { .. } => not_held("no SQS client is configured".into()),
                Route::RequestQueue(_) => DeferralFailed::NoQueue {
                    not_before,
                    wait_seconds: wait,
                },
            });
        };
        match route {
            Route::SqsRecord {
                queue_arn,
                receipt_handle,
                ..
            } => {
                let url = queue_url_of_arn(queue_arn)
                    .ok_or_else(|| not_held("the record's eventSourceARN is not a queue".into()))?;
                let handle = receipt_handle
                    .ok_or_else(|| not_held("the record has no receiptHandle".into()))?;
                let seconds = wait.min(MAX_VISIBILITY_SECONDS);
                queue.hide_message(&url, handle, seconds).await
            }
            Route::RequestQueue(copy) => {
                let Some(url) = &self.request_queue_url else {
                    return Err(DeferralFailed::NoQueue {
                        not_before,
                        wait_seconds: wait,
                    });
                };
                let body = copy
                    .and_then(|copy| body_with_token(copy, chat))
                    .ok_or_else(|| not_held("the request was not kept".into()))?;
                queue
                    .send_delayed(url, body, wait.min(MAX_DELAY_SECONDS), None)
                    .await
            }
        }
        .map_err(|err: QueueError| not_held(err.to_string()))
    }
}

/// Whole seconds from `now` to `later`, rounded up (at least 1).
fn seconds_between(now: Timestamp, later: Timestamp) -> u32 {
    let nanos = later.duration_since(now).as_nanos().max(1);
    u32::try_from((nanos + 999_999_999) / 1_000_000_000).unwrap_or(u32::MAX)
}

/// The request's JSON with the chat's client token in it, in its form's spelling (`ClientToken`
/// for the native form, else `clientToken`).
pub(crate) fn body_with_token(copy: RequestCopy<'_>, chat: &OutboundChat) -> Option<String> {
    let mut value = match copy {
        RequestCopy::Text(text) => serde_json::from_str(text).ok()?,
        RequestCopy::Value(value) => value,
    };
    let map = value.as_object_mut()?;
    if let Some(token) = chat.client_token() {
        let key = if map.contains_key("DestinationEndpoint") {
            "ClientToken"
        } else {
            "clientToken"
        };
        map.insert(key.into(), token.as_str().into());
    }
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_counted_in_whole_seconds_rounded_up() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let now = at("2026-11-30T08:00:00.2Z");
        let cases = [
            ("2026-11-30T08:00:01.2Z", 1),
            ("2026-11-30T08:00:01.3Z", 2),
            ("2026-11-30T08:00:00.2Z", 1),
            ("2026-11-30T09:00:00Z", 3600),
        ];
        for (later, seconds) in cases {
            assert_eq!(seconds_between(now, at(later)), seconds, "{later}");
        }
    }
}
