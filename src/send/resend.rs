//! Throttled SQS records go back to their queue as new messages with a delay, so that Connect
//! saying "slow down" never spends a record's dead-letter receives: only a record that is not
//! sent because of a throttle or a quota is re-sent; FIFO records and every other failure are
//! reported in `batchItemFailures` as before.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use crate::connect::StartError;
use crate::domain::OutboundChat;
use crate::outcome::{Failure, NotSent, Outcome, Requeue};
use crate::queue::{RequestQueue, queue_url_of_arn};
use crate::send::deferral::{Origin, RequestCopy, body_with_token};

/// How long a re-sent record waits: a base and a random spread above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delay {
    pub base_seconds: u32,
    pub jitter_seconds: u32,
}

/// After a rate throttle: a few seconds, the time Connect's token bucket needs to refill.
pub const AFTER_THROTTLE: Delay = Delay {
    base_seconds: 2,
    jitter_seconds: 4,
};

/// After the concurrent-chat quota: the minute the quota takes to free up (the `Retry-After`
/// HTTP callers get), spread over half a minute more so the backlog does not return at once.
pub const AFTER_QUOTA: Delay = Delay {
    base_seconds: 60,
    jitter_seconds: 30,
};

impl Delay {
    /// The delay for a record, `base + spread % (jitter + 1)` seconds.
    pub fn seconds(self, spread: u64) -> u32 {
        let jitter = spread % (u64::from(self.jitter_seconds) + 1);
        self.base_seconds + u32::try_from(jitter).unwrap_or(0)
    }
}

/// How Connect asked to slow down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowDown {
    /// The API rate (`ThrottlingException`), for this request or an earlier one.
    Throttled,
    /// The concurrent-chat or service quota, for this request or an earlier one.
    QuotaExceeded,
}

/// How Connect asked to slow down, if `failure` is a throttle or a quota (this request's or an
/// earlier one's); `None` for any other failure.
pub fn slow_down(failure: &Failure) -> Option<SlowDown> {
    match failure {
        Failure::Connect(StartError::Throttled { .. })
        | Failure::NotSent(NotSent::ThrottledEarlier) => Some(SlowDown::Throttled),
        Failure::Connect(StartError::QuotaExceeded { .. })
        | Failure::NotSent(NotSent::QuotaReachedEarlier) => Some(SlowDown::QuotaExceeded),
        _ => None,
    }
}

/// What became of a record's re-send.
enum Resent {
    /// Back on its queue, visible after this many seconds.
    After(u32),
    /// Throttled, but first received longer than `REQUEUE_MAX_HOURS` ago: reported instead.
    TooLong { hours_ago: i64 },
    /// Not re-sent: no throttle, a FIFO record, or the copy could not be made or sent.
    No,
}

/// Re-sends throttled standard-queue records through the queue port (absent: nothing is
/// re-sent, and throttled records are reported as before).
#[derive(Clone, Default)]
pub struct Resender {
    queue: Option<Arc<dyn RequestQueue>>,
    /// How long after its first receive a record's copies are still re-sent
    /// (`REQUEUE_MAX_HOURS`).
    max_age: SignedDuration,
}

impl Resender {
    pub fn new(queue: Option<Arc<dyn RequestQueue>>, max_age: SignedDuration) -> Self {
        Self { queue, max_age }
    }

    /// `outcome`, or [`Outcome::Requeued`] if it is a throttle of a standard-queue record and
    /// its copy (with the chat's client token) was put back on the record's queue before
    /// the invocation's `cutoff`; `now` dates its return. A re-send that fails or runs out of
    /// time leaves the outcome as it was: the record is then reported and SQS brings it back.
    pub async fn settle(
        &self,
        origin: Option<Origin<'_>>,
        chat: &OutboundChat,
        outcome: Outcome,
        now: Timestamp,
        cutoff: Instant,
    ) -> Outcome {
        let Outcome::Failed(cause) = outcome else {
            return outcome;
        };
        match self.resend(origin, chat, &cause, now, cutoff).await {
            Resent::After(seconds) => Outcome::Requeued(Requeue {
                cause,
                not_before: now + SignedDuration::from_secs(i64::from(seconds)),
            }),
            Resent::TooLong { hours_ago } => Outcome::Failed(Failure::ResendLimit {
                cause: Box::new(cause),
                hours_ago,
            }),
            Resent::No => Outcome::Failed(cause),
        }
    }

    /// Puts the record's copy back on its queue, unless it is no throttled standard-queue
    /// record, or it was first received longer than `REQUEUE_MAX_HOURS` ago, or the copy
    /// cannot be made or sent.
    async fn resend(
        &self,
        origin: Option<Origin<'_>>,
        chat: &OutboundChat,
        cause: &Failure,
        now: Timestamp,
        cutoff: Instant,
    ) -> Resent {
        let (Some(slow_down), Some(origin)) = (slow_down(cause), origin) else {
            return Resent::No;
        };
        // FIFO queues take no per-message delay, and a copy would jump its group's order.
        if origin.is_fifo() {
            return Resent::No;
        }
        let first_received = origin.first_received.unwrap_or(now);
        if now.duration_since(first_received) >= self.max_age {
            let hours_ago = now.duration_since(first_received).as_hours();
            tracing::warn!(
                hours_ago,
                "a throttled record was first received longer ago than REQUEUE_MAX_HOURS: it is reported, not re-sent, so that its queue's dead-letter policy applies"
            );
            return Resent::TooLong { hours_ago };
        }
        let delay = match slow_down {
            SlowDown::Throttled => AFTER_THROTTLE,
            SlowDown::QuotaExceeded => AFTER_QUOTA,
        };
        let copy = self.queue.as_ref().zip(queue_url_of_arn(origin.queue_arn));
        let body = origin
            .body
            .and_then(|body| body_with_token(RequestCopy::Text(body), chat));
        let (Some((queue, url)), Some(body)) = (copy, body) else {
            return Resent::No;
        };
        let seconds = delay.seconds(RandomState::new().hash_one(chat.client_token()));
        let first_received = first_received.as_millisecond();
        let sent = queue.send_delayed(&url, body, seconds, Some(first_received));
        let sent = tokio::time::timeout_at(cutoff, sent);
        match sent.await {
            Ok(Ok(())) => Resent::After(seconds),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "a throttled record could not be re-sent to its queue: it is reported, to come back");
                Resent::No
            }
            Err(_) => {
                tracing::warn!(
                    "re-sending a throttled record did not finish before the invocation deadline: it is reported, to come back"
                );
                Resent::No
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::intake::Intake;
    use crate::intake::token::DeliveryIdentity;
    use crate::queue::{QueueError, QueueFuture};

    const STANDARD: &str = "arn:aws:sqs:us-east-1:123456789012:requests";
    const FIFO: &str = "arn:aws:sqs:us-east-1:123456789012:requests.fifo";
    const BODY: &str = r#"{"to": "+14255550100", "message": {"content": "Your parcel"}}"#;

    /// A queue port that keeps what it is sent, or refuses everything.
    #[derive(Default)]
    struct KeepingQueue {
        refuse: bool,
        sent: Mutex<Vec<(String, String, u32)>>,
        first_received: Mutex<Vec<Option<i64>>>,
    }

    impl RequestQueue for KeepingQueue {
        fn hide_message<'a>(&'a self, _: &'a str, _: &'a str, _: u32) -> QueueFuture<'a> {
            Box::pin(async { unreachable!("a re-send hides nothing") })
        }

        fn send_delayed<'a>(
            &'a self,
            url: &'a str,
            body: String,
            delay: u32,
            first_received: Option<i64>,
        ) -> QueueFuture<'a> {
            Box::pin(async move {
                if self.refuse {
                    return Err(QueueError {
                        code: "AccessDenied".into(),
                        message: "no sqs:SendMessage".into(),
                    });
                }
                self.sent.lock().unwrap().push((url.into(), body, delay));
                self.first_received.lock().unwrap().push(first_received);
                Ok(())
            })
        }
    }

    fn chat() -> OutboundChat {
        let config = Config::from_lookup(|name| {
            connect_simulator::sample::FUNCTION_VARIABLES
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.to_string())
        })
        .unwrap();
        let delivery = DeliveryIdentity::Sqs {
            queue_arn: STANDARD,
            message_id: "m-1",
        };
        Intake::from_config(&config)
            .admit_json(BODY, Some(delivery))
            .unwrap()
    }

    fn now() -> Timestamp {
        "2026-11-30T11:00:00Z".parse().unwrap()
    }

    const DAY: SignedDuration = SignedDuration::from_hours(24);

    #[tokio::test]
    async fn a_record_first_received_longer_ago_than_the_limit_is_reported_not_re_sent() {
        let chat = chat();
        let second = SignedDuration::from_secs(1);
        // (queue, cause, first received, re-sent, reported for the limit)
        let cases = [
            (STANDARD, throttled(), None, true, false),
            (
                STANDARD,
                throttled(),
                Some(now() - DAY + second),
                true,
                false,
            ),
            (STANDARD, throttled(), Some(now() - DAY), false, true),
            (
                STANDARD,
                Failure::NotSent(NotSent::QuotaReachedEarlier),
                Some(now() - DAY * 3),
                false,
                true,
            ),
            (FIFO, throttled(), Some(now() - DAY * 3), false, false),
            (
                STANDARD,
                Failure::Expired,
                Some(now() - DAY * 3),
                false,
                false,
            ),
        ];
        for (queue_arn, cause, first_received, re_sent, limited) in cases {
            let queue = Arc::new(KeepingQueue::default());
            let resender = Resender::new(Some(queue.clone() as Arc<dyn RequestQueue>), DAY);
            let origin = Origin {
                queue_arn,
                body: Some(BODY),
                first_received,
            };
            let cutoff = Instant::now() + Duration::from_secs(5);
            let settled = resender
                .settle(
                    Some(origin),
                    &chat,
                    Outcome::Failed(cause.clone()),
                    now(),
                    cutoff,
                )
                .await;
            let carried = queue.first_received.lock().unwrap().clone();
            let label = format!("{queue_arn} {cause:?} {first_received:?}");
            assert_eq!(matches!(settled, Outcome::Requeued(_)), re_sent, "{label}");
            assert_eq!(
                matches!(settled, Outcome::Failed(Failure::ResendLimit { .. })),
                limited,
                "{label}"
            );
            if re_sent {
                // The copy carries the first receive, or this one when the record had none.
                let first = first_received.unwrap_or(now()).as_millisecond();
                assert_eq!(carried, [Some(first)], "{label}");
            }
        }
    }

    fn throttled() -> Failure {
        Failure::Connect(StartError::Throttled {
            message: "Rate exceeded".into(),
        })
    }

    #[tokio::test]
    async fn a_throttled_standard_record_goes_back_to_its_queue_with_its_token_and_a_delay() {
        // (queue arn, cause, re-sent with a delay between)
        let cases = [
            (STANDARD, throttled(), Some((2, 6))),
            (
                STANDARD,
                Failure::NotSent(NotSent::ThrottledEarlier),
                Some((2, 6)),
            ),
            (
                STANDARD,
                Failure::NotSent(NotSent::QuotaReachedEarlier),
                Some((60, 90)),
            ),
            (FIFO, throttled(), None),
            ("not-an-arn", throttled(), None),
            (STANDARD, Failure::NotSent(NotSent::DeadlineNear), None),
            (STANDARD, Failure::Expired, None),
        ];
        let chat = chat();
        let token = chat.client_token().unwrap().as_str().to_owned();
        for (queue_arn, cause, expected) in cases {
            let queue = Arc::new(KeepingQueue::default());
            let resender = Resender::new(Some(queue.clone() as Arc<dyn RequestQueue>), DAY);
            let origin = Origin {
                queue_arn,
                body: Some(BODY),
                first_received: None,
            };
            let cutoff = Instant::now() + Duration::from_secs(5);
            let outcome = Outcome::Failed(cause.clone());
            let settled = resender
                .settle(Some(origin), &chat, outcome, now(), cutoff)
                .await;
            let sent = queue.sent.lock().unwrap().clone();
            match expected {
                Some((least, most)) => {
                    let Outcome::Requeued(requeue) = settled else {
                        panic!("{settled:?}")
                    };
                    assert_eq!(requeue.cause, cause);
                    let [(url, body, delay)] = &sent[..] else {
                        panic!("{sent:?}")
                    };
                    assert_eq!(
                        url,
                        "https://sqs.us-east-1.amazonaws.com/123456789012/requests"
                    );
                    let body: serde_json::Value = serde_json::from_str(body).unwrap();
                    assert_eq!(body["clientToken"], token.as_str());
                    assert_eq!(body["to"], "+14255550100");
                    assert!((least..=most).contains(delay), "{delay}");
                    let waits = SignedDuration::from_secs(i64::from(*delay));
                    assert_eq!(requeue.not_before, now() + waits);
                }
                None => {
                    assert_eq!(settled, Outcome::Failed(cause), "{queue_arn}");
                    assert!(sent.is_empty(), "{sent:?}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_re_send_that_fails_or_has_no_queue_or_body_leaves_the_record_reported() {
        let chat = chat();
        let refusing: Arc<dyn RequestQueue> = Arc::new(KeepingQueue {
            refuse: true,
            ..KeepingQueue::default()
        });
        let keeping: Arc<dyn RequestQueue> = Arc::new(KeepingQueue::default());
        let with_body = Origin {
            queue_arn: STANDARD,
            body: Some(BODY),
            first_received: None,
        };
        let without_body = Origin {
            body: None,
            ..with_body
        };
        // (queue port, origin)
        let cases = [
            (Some(refusing), Some(with_body)),
            (None, Some(with_body)),
            (Some(keeping.clone()), None),
            (Some(keeping), Some(without_body)),
        ];
        for (queue, origin) in cases {
            let cutoff = Instant::now() + Duration::from_secs(5);
            let outcome = Outcome::Failed(throttled());
            let settled = Resender::new(queue, DAY)
                .settle(origin, &chat, outcome.clone(), now(), cutoff)
                .await;
            assert_eq!(settled, outcome, "{origin:?}");
        }
    }

    #[test]
    fn a_delay_stays_between_its_base_and_its_base_plus_jitter() {
        // (delay, spread, seconds)
        let cases = [
            (AFTER_THROTTLE, 0, 2),
            (AFTER_THROTTLE, 4, 6),
            (AFTER_THROTTLE, 5, 2),
            (AFTER_THROTTLE, u64::MAX, 2 + (u64::MAX % 5) as u32),
            (AFTER_QUOTA, 0, 60),
            (AFTER_QUOTA, 30, 90),
            (AFTER_QUOTA, 31, 60),
            (
                Delay {
                    base_seconds: 3,
                    jitter_seconds: 0,
                },
                17,
                3,
            ),
        ];
        for (delay, spread, seconds) in cases {
            assert_eq!(delay.seconds(spread), seconds, "{delay:?} {spread}");
        }
    }

    #[test]
    fn only_a_throttle_or_a_quota_asks_to_slow_down() {
        let throttled = StartError::Throttled {
            message: "Rate exceeded".into(),
        };
        let quota = StartError::QuotaExceeded {
            message: "LimitExceededException".into(),
        };
        let cases = [
            ((Failure::Connect(throttled)), Some(SlowDown::Throttled)),
            (
                (Failure::NotSent(NotSent::ThrottledEarlier)),
                Some(SlowDown::Throttled),
            ),
            ((Failure::Connect(quota)), Some(SlowDown::QuotaExceeded)),
            (
                (Failure::NotSent(NotSent::QuotaReachedEarlier)),
                Some(SlowDown::QuotaExceeded),
            ),
            ((Failure::NotSent(NotSent::DeadlineNear)), None),
            ((Failure::NotSent(NotSent::EarlierInGroupFailed)), None),
            (
                (Failure::Connect(StartError::Transient {
                    message: "InternalServiceException".into(),
                })),
                None,
            ),
            (
                (Failure::Connect(StartError::Rejected {
                    code: "InvalidRequestException".into(),
                    message: "bad".into(),
                })),
                None,
            ),
            ((Failure::Expired), None),
        ];
        for (failure, expected) in cases {
            assert_eq!(slow_down(&failure), expected, "{failure:?}");
        }
    }
}
