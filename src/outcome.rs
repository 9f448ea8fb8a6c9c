//! What became of one request, and what each outcome means for every trigger: the outcome
//! table of the contract, in one place.

use std::fmt;

use jiff::Timestamp;

use crate::config::QUOTA_PAUSE;
use crate::connect::{ContactId, StartError};
use crate::domain::{Reason, SmsCost, ValidationError};
use crate::policy::{Refusal, SuppressReason};
use crate::store::StateError;

/// The end of one request: a started contact, a request held until its send window opens, a
/// suppressed request (a policy said no: final, never retried, reported to no trigger as a
/// failure) or a reported failure. Nothing else.
///
/// | outcome | SQS record | EventBridge / direct | HTTP single | HTTP batch item | contact flow |
/// |---|---|---|---|---|---|
/// | started | not reported | `{"contactId"}` (+ SMS cost) | 200 | `SuccessfulRequestList` | `SENT` + `contactId` |
/// | deferred | hidden until `not_before`, reported | on the request queue; `DEFERRED` | 202 `DEFERRED` | `DeferredRequestList` | on the request queue; `DEFERRED` + `notBefore` |
/// | suppressed | not reported | `SUPPRESSED` + reason | 200 `SUPPRESSED` | `SuppressedRequestList` | `SUPPRESSED` + `reason` |
/// | failed | reported | typed error | 4xx/5xx | `FailedRequestList` | permanent (and no queue to defer to): `REFUSED` + `code`, `message`; else `FAILED` + `code` (`TIMEOUT` past the block's limit) |
/// | requeued (SQS standard only) | re-sent with a delay, not reported | — | — | — | — |
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The contact Connect started, and what the message costs when it is an SMS with text of
    /// its own (every answer that carries the contact id carries the cost too).
    Started(ContactId, Option<SmsCost>),
    Deferred {
        not_before: Timestamp,
    },
    Suppressed(SuppressReason),
    Failed(Failure),
    Requeued(Requeue),
}

/// A record not sent because Connect asked to slow down (`cause`: a throttle or a quota); a
/// copy with the same client token is back on the record's queue, visible at `not_before`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requeue {
    pub cause: Failure,
    pub not_before: Timestamp,
}

/// Why a request was not started.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("the request expired at its expiresAt time and was not sent")]
    Expired,
    #[error("{0}")]
    NotSent(NotSent),
    #[error("{0}")]
    Connect(StartError),
    /// The recipient state could not be checked: the request is not sent unchecked.
    #[error("{0}")]
    State(StateError),
    /// The send window can never hold the request.
    #[error("{0}")]
    Refused(Refusal),
    /// Outside its send window, and it could not be held for the opening.
    #[error("{0}")]
    NotDeferred(DeferralFailed),
    /// A throttled SQS record whose copies were re-sent for `REQUEUE_MAX_HOURS` since it was
    /// first received: reported like any other failure, so that its queue's dead-letter policy
    /// takes it.
    #[error(
        "{cause} (first received {hours_ago} h ago, longer than REQUEUE_MAX_HOURS: not re-sent again)"
    )]
    ResendLimit { cause: Box<Failure>, hours_ago: i64 },
}

/// Why the function chose not to call Connect for a valid request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotSent {
    #[error("not sent: too little time was left before the invocation deadline")]
    DeadlineNear,
    #[error("not sent: Connect throttled an earlier request of this invocation")]
    ThrottledEarlier,
    #[error(
        "not sent: Connect's quota was reached by an earlier request, and this instance pauses its sends"
    )]
    QuotaReachedEarlier,
    #[error("not sent: an earlier record of the same FIFO message group failed")]
    EarlierInGroupFailed,
    #[error("not sent: an earlier record of the same FIFO message group waits for its send window")]
    EarlierInGroupDeferred,
    /// Its send window closed while it waited for a slot: it is held for the opening instead
    /// (this failure is what remains when it could not be).
    #[error("not sent: its send window closed while it waited to be sent")]
    WindowClosed,
}

/// The typed error an asynchronous trigger (EventBridge, direct invoke) returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    ValidationError,
    Expired,
    Throttled,
    Rejected,
    Unavailable,
    OutsideSendWindow,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "ValidationError",
            Self::Expired => "Expired",
            Self::Throttled => "Throttled",
            Self::Rejected => "Rejected",
            Self::Unavailable => "Unavailable",
            Self::OutsideSendWindow => "OutsideSendWindow",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failure {
    /// The error type for EventBridge and direct invocations.
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::ValidationError,
            Self::Expired => ErrorKind::Expired,
            Self::NotSent(NotSent::ThrottledEarlier | NotSent::QuotaReachedEarlier) => {
                ErrorKind::Throttled
            }
            Self::NotSent(_) => ErrorKind::Unavailable,
            Self::Connect(StartError::Throttled { .. } | StartError::QuotaExceeded { .. }) => {
                ErrorKind::Throttled
            }
            Self::Connect(StartError::Transient { .. }) | Self::State(_) => ErrorKind::Unavailable,
            Self::Connect(
                StartError::Rejected { .. }
                | StartError::Conflict { .. }
                | StartError::Idempotency { .. },
            ) => ErrorKind::Rejected,
            Self::Refused(_) => ErrorKind::ValidationError,
            Self::NotDeferred(DeferralFailed::NoQueue { .. }) => ErrorKind::OutsideSendWindow,
            Self::NotDeferred(DeferralFailed::NotHeld { .. }) => ErrorKind::Unavailable,
            Self::ResendLimit { cause, .. } => cause.error_kind(),
        }
    }

    /// The code of a `FailedRequestList` entry: BatchPutContact's vocabulary where one fits,
    /// else one of the documented extra codes (`INVALID_REQUEST`, `EXPIRED`, `REJECTED`,
    /// `CONFLICT`, `NOT_ATTEMPTED`, `STATE_UNAVAILABLE`, `TIME_ZONE_UNKNOWN`,
    /// `SEND_WINDOW_NEVER_OPEN`, `OUTSIDE_SEND_WINDOW`).
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::Invalid(err) => match err.violations()[0].reason {
                Reason::MissingCustomerEndpoint => "MISSING_CUSTOMER_ENDPOINT",
                Reason::InvalidCustomerEndpoint => "INVALID_CUSTOMER_ENDPOINT",
                Reason::InvalidSystemEndpoint => "INVALID_SYSTEM_ENDPOINT",
                Reason::InvalidAttributeKey => "INVALID_ATTRIBUTE_KEY",
                Reason::TooManySegments => "TOO_MANY_SEGMENTS",
                Reason::Invalid => "INVALID_REQUEST",
            },
            Self::Expired => "EXPIRED",
            Self::NotSent(NotSent::ThrottledEarlier | NotSent::QuotaReachedEarlier) => {
                "REQUEST_THROTTLED"
            }
            Self::NotSent(_) => "NOT_ATTEMPTED",
            Self::Connect(StartError::Throttled { .. } | StartError::QuotaExceeded { .. }) => {
                "REQUEST_THROTTLED"
            }
            Self::Connect(StartError::Transient { .. }) => "INTERNAL_ERROR",
            Self::Connect(StartError::Conflict { .. }) => "CONFLICT",
            Self::Connect(StartError::Idempotency { .. }) => "IDEMPOTENCY_EXCEPTION",
            Self::Connect(StartError::Rejected { .. }) => "REJECTED",
            Self::State(_) => "STATE_UNAVAILABLE",
            Self::Refused(refusal) => refusal.code(),
            Self::NotDeferred(DeferralFailed::NoQueue { .. }) => "OUTSIDE_SEND_WINDOW",
            Self::NotDeferred(DeferralFailed::NotHeld { .. }) => "INTERNAL_ERROR",
            Self::ResendLimit { cause, .. } => cause.reason_code(),
        }
    }

    /// The HTTP status of a single-request answer.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Invalid(_) | Self::Expired | Self::Refused(_) => 400,
            Self::NotDeferred(_) => 503,
            Self::NotSent(NotSent::ThrottledEarlier | NotSent::QuotaReachedEarlier) => 429,
            Self::NotSent(_) => 503,
            Self::Connect(StartError::Throttled { .. } | StartError::QuotaExceeded { .. }) => 429,
            Self::Connect(StartError::Transient { .. }) | Self::State(_) => 503,
            Self::Connect(StartError::Rejected { .. }) => 502,
            Self::Connect(StartError::Conflict { .. } | StartError::Idempotency { .. }) => 409,
            Self::ResendLimit { cause, .. } => cause.http_status(),
        }
    }

    /// Whether the request can never be sent as it is (invalid, expired, refused by Connect
    /// for good): its reserved frequency-cap places are given back. A transient failure keeps
    /// them for its retry, which carries the same token.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::Expired | Self::Refused(_) => true,
            Self::Connect(err) => matches!(
                err,
                StartError::Rejected { .. }
                    | StartError::Conflict { .. }
                    | StartError::Idempotency { .. }
            ),
            Self::NotSent(_) | Self::State(_) | Self::NotDeferred(_) => false,
            Self::ResendLimit { cause, .. } => cause.is_permanent(),
        }
    }

    /// Seconds a client should wait before retrying, for a 429 or 503 answer. A reached quota
    /// (concurrent chats) drains slowly, so it asks for a longer wait than a rate limit.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        match self {
            Self::Connect(StartError::QuotaExceeded { .. })
            | Self::NotSent(NotSent::QuotaReachedEarlier) => {
                Some(u32::try_from(QUOTA_PAUSE.as_secs()).unwrap_or(u32::MAX))
            }
            Self::NotDeferred(DeferralFailed::NoQueue { wait_seconds, .. }) => Some(*wait_seconds),
            _ => match self.http_status() {
                429 => Some(1),
                503 => Some(5),
                _ => None,
            },
        }
    }
}

/// Why a request outside its window could not be held.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeferralFailed {
    #[error(
        "outside the send window until {not_before}; no REQUEST_QUEUE_URL is configured to hold it: send it again at or after that time"
    )]
    NoQueue {
        not_before: Timestamp,
        wait_seconds: u32,
    },
    #[error("outside the send window until {not_before}, and it could not be held: {reason}")]
    NotHeld {
        not_before: Timestamp,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Violation;

    #[test]
    fn a_permanent_failure_gives_its_places_back_and_a_transient_one_keeps_them() {
        let message = || "m".to_owned();
        let invalid = ValidationError::single(Violation::new("to", "bad", Reason::Invalid));
        let cases = [
            (Failure::Invalid(invalid), true),
            (Failure::Expired, true),
            (
                Failure::Connect(StartError::Rejected {
                    code: "ResourceNotFoundException".into(),
                    message: message(),
                }),
                true,
            ),
            (
                Failure::Connect(StartError::Conflict { message: message() }),
                true,
            ),
            (
                Failure::Connect(StartError::Idempotency { message: message() }),
                true,
            ),
            (
                Failure::Connect(StartError::Throttled { message: message() }),
                false,
            ),
            (
                Failure::Connect(StartError::QuotaExceeded { message: message() }),
                false,
            ),
            (
                Failure::Connect(StartError::Transient { message: message() }),
                false,
            ),
            (Failure::NotSent(NotSent::DeadlineNear), false),
            (Failure::NotSent(NotSent::ThrottledEarlier), false),
            (Failure::State(StateError { message: message() }), false),
        ];
        for (failure, permanent) in cases {
            assert_eq!(failure.is_permanent(), permanent, "{failure:?}");
        }
    }

    #[test]
    fn an_unavailable_state_is_a_retried_503_with_its_own_code() {
        let failure = Failure::State(StateError {
            message: "DynamoDB answered ThrottlingException".into(),
        });
        assert_eq!(failure.error_kind(), ErrorKind::Unavailable);
        assert_eq!(failure.http_status(), 503);
        assert_eq!(failure.reason_code(), "STATE_UNAVAILABLE");
        assert_eq!(failure.retry_after_seconds(), Some(5));
    }
}
