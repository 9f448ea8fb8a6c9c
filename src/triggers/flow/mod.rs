//! Amazon Connect contact flows (contract §8): the "Invoke AWS Lambda function" block of a flow
//! sends the contact and its parameters; the parameters become one friendly-form request that
//! takes the same intake and pipeline as every other; the answer is a flat map of strings the
//! flow branches on (`$.External.status`), given within the block's time limit.
//!
//! | outcome | answer |
//! |---|---|
//! | started | `{"status": "SENT", "contactId"}` |
//! | deferred (handed to the request queue) | `{"status": "DEFERRED", "notBefore"}` |
//! | suppressed | `{"status": "SUPPRESSED", "reason"}` |
//! | permanent failure (invalid, expired, refused by the window or by Connect), or outside the window with no queue to hold it | `{"status": "REFUSED", "code", "message"}` |
//! | transient failure (throttled, unavailable, state unavailable) | `{"status": "FAILED", "code"}` |
//! | not finished before the block's time limit | `{"status": "FAILED", "code": "TIMEOUT"}` |
//!
//! Codes are the batch vocabulary of [`Failure::reason_code`], plus `TIMEOUT`. Only an event
//! that cannot be read as a flow's is an error (see `recognise.rs`).

pub mod event;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::connect::ContactStarter;
use crate::domain::{OutboundChat, Reason, ValidationError, Violation};
use crate::intake::token::DeliveryIdentity;
use crate::outcome::{DeferralFailed, Failure, NotSent, Outcome, Requeue};
use crate::send::deferral::{RequestCopy, Route};
use crate::send::pipeline::Pipeline;
use event::{FlowEvent, FlowRequest, ParameterProblem};

/// Kept free before the block's time limit for the answer's way back to Connect (the Lambda
/// service and the network). The function's own answer reserve comes on top: a call still
/// running 350 ms before the limit is cut.
pub const FLOW_ANSWER_MARGIN: Duration = Duration::from_millis(100);

/// The code of a flow request that did not finish before the block's time limit.
pub const TIMEOUT: &str = "TIMEOUT";

/// The deadline of a flow invocation: the block's time limit, counted from `received`, less
/// [`FLOW_ANSWER_MARGIN`]; or Lambda's own deadline when that comes first.
pub fn deadline(lambda_deadline: Instant, time_limit: Duration, received: Instant) -> Instant {
    let limit = received + time_limit.saturating_sub(FLOW_ANSWER_MARGIN);
    lambda_deadline.min(limit)
}

/// The answer: a flat object of strings (valid for the block's `STRING_MAP` and `JSON` response
/// types alike). A map, so an answer can grow members without a new type.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct FlowAnswer(BTreeMap<&'static str, String>);

impl FlowAnswer {
    fn status(status: &str) -> Self {
        Self::default().with("status", status)
    }

    /// The answer with one more member.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.0.insert(key, value.into());
        self
    }

    /// A member's value.
    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Handles a flow event: one request, answered whatever its outcome.
pub async fn handle<C: ContactStarter>(pipeline: &Pipeline<'_, C>, event: FlowEvent) -> FlowAnswer {
    let (made, problems) = event.read_request();
    let copy = pipeline
        .keeps_requests()
        .then(|| RequestCopy::Value(made.request.clone()));
    let chat = admit(pipeline, &made, problems);
    let outcome = pipeline
        .send(&made.contact_id, chat, Route::RequestQueue(copy))
        .await;
    answer(outcome, pipeline.past_cutoff())
}

/// The request through the intake, its token derived from the contact and the parameters; the
/// parameters' own problems first, then the rules' violations of the members that were read.
fn admit<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    made: &FlowRequest,
    problems: Vec<ParameterProblem>,
) -> Result<OutboundChat, ValidationError> {
    let identity = DeliveryIdentity::Flow {
        contact_id: &made.contact_id,
        parameters: &made.parameters,
    };
    let admitted = pipeline.admit_value(made.request.clone(), Some(identity));
    if problems.is_empty() {
        return admitted;
    }
    let channel = match &admitted {
        Ok(chat) => Some(chat.channel()),
        Err(err) => err.channel(),
    };
    let named: Vec<&str> = problems.iter().map(|p| member(&p.parameter)).collect();
    let mut violations: Vec<Violation> = problems.iter().map(violation).collect();
    if let Err(err) = admitted {
        let others = err.violations().iter();
        violations.extend(
            others
                .filter(|v| !named.contains(&member(&v.field)))
                .cloned(),
        );
    }
    Err(ValidationError::several(violations).with_channel(channel))
}

/// A parameter problem as a violation: a caller number the contact does not give is a missing
/// customer endpoint, anything else an invalid request.
fn violation(problem: &ParameterProblem) -> Violation {
    let reason = match problem.parameter.as_str() {
        "to" => Reason::MissingCustomerEndpoint,
        _ => Reason::Invalid,
    };
    Violation::new(&problem.parameter, &problem.message, reason)
}

/// The top-level member a field's path starts with (`template` of `template.customAttributes`).
fn member(field: &str) -> &str {
    field.split(['.', '[']).next().unwrap_or(field)
}

/// The flow's answer to `outcome`; `past_cutoff`: the invocation's cutoff had passed when the
/// outcome came, so a transient failure is the time limit's doing.
fn answer(outcome: Outcome, past_cutoff: bool) -> FlowAnswer {
    match outcome {
        Outcome::Started(contact_id, cost) => {
            let sent = FlowAnswer::status("SENT").with("contactId", contact_id.to_string());
            match cost {
                Some(cost) => sent
                    .with("encoding", cost.encoding.as_str())
                    .with("segments", cost.segments.to_string()),
                None => sent,
            }
        }
        // Only SQS records are requeued; were one here, it too waits in the queue.
        Outcome::Deferred { not_before } | Outcome::Requeued(Requeue { not_before, .. }) => {
            FlowAnswer::status("DEFERRED").with("notBefore", not_before.to_string())
        }
        Outcome::Suppressed(reason) => {
            FlowAnswer::status("SUPPRESSED").with("reason", reason.as_str())
        }
        Outcome::Failed(failure) => failed(&failure, past_cutoff),
    }
}

fn failed(failure: &Failure, past_cutoff: bool) -> FlowAnswer {
    let timed_out = matches!(failure, Failure::NotSent(NotSent::DeadlineNear))
        || (past_cutoff && !failure.is_permanent());
    // Outside the window with nowhere to hold it: trying again while the caller waits cannot
    // help, so the flow is told no, with the opening in the message.
    let refused = failure.is_permanent()
        || matches!(
            failure,
            Failure::NotDeferred(DeferralFailed::NoQueue { .. })
        );
    if timed_out {
        FlowAnswer::status("FAILED").with("code", TIMEOUT)
    } else if refused {
        FlowAnswer::status("REFUSED")
            .with("code", failure.reason_code())
            .with("message", failure.to_string())
    } else {
        FlowAnswer::status("FAILED").with("code", failure.reason_code())
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::connect::{ContactId, StartError};
    use crate::policy::SuppressReason;

    fn message() -> String {
        "m".to_owned()
    }

    #[test]
    fn every_outcome_has_its_answer_of_strings() {
        let at: Timestamp = "2026-11-30T16:00:00Z".parse().unwrap();
        let invalid = ValidationError::single(Violation::new("to", "bad", Reason::Invalid));
        let answer_of = |outcome| serde_json::to_value(answer(outcome, false)).unwrap();
        let cases = [
            (
                Outcome::Started(ContactId::new("c-9"), None),
                serde_json::json!({"status": "SENT", "contactId": "c-9"}),
            ),
            (
                Outcome::Deferred { not_before: at },
                serde_json::json!({"status": "DEFERRED", "notBefore": "2026-11-30T16:00:00Z"}),
            ),
            (
                Outcome::Suppressed(SuppressReason::FrequencyCap),
                serde_json::json!({"status": "SUPPRESSED", "reason": "FREQUENCY_CAP"}),
            ),
            (
                Outcome::Failed(Failure::Invalid(invalid)),
                serde_json::json!({"status": "REFUSED", "code": "INVALID_REQUEST",
                    "message": "invalid request: to: bad"}),
            ),
            (
                Outcome::Failed(Failure::Connect(StartError::Throttled {
                    message: message(),
                })),
                serde_json::json!({"status": "FAILED", "code": "REQUEST_THROTTLED"}),
            ),
            (
                Outcome::Failed(Failure::Connect(StartError::Transient {
                    message: message(),
                })),
                serde_json::json!({"status": "FAILED", "code": "INTERNAL_ERROR"}),
            ),
            (
                Outcome::Failed(Failure::NotSent(NotSent::DeadlineNear)),
                serde_json::json!({"status": "FAILED", "code": "TIMEOUT"}),
            ),
        ];
        for (outcome, expected) in cases {
            assert_eq!(answer_of(outcome.clone()), expected, "{outcome:?}");
        }
    }

    #[test]
    fn a_transient_failure_past_the_cutoff_is_a_timeout_and_a_permanent_one_stays_refused() {
        let transient = Failure::Connect(StartError::Transient { message: message() });
        let rejected = Failure::Connect(StartError::Rejected {
            code: "InvalidRequestException".into(),
            message: message(),
        });
        let not_held = Failure::NotDeferred(DeferralFailed::NotHeld {
            not_before: Timestamp::UNIX_EPOCH,
            reason: message(),
        });
        let no_queue = Failure::NotDeferred(DeferralFailed::NoQueue {
            not_before: Timestamp::UNIX_EPOCH,
            wait_seconds: 60,
        });
        // (failure, past the cutoff, status, code)
        let cases = [
            (&transient, false, "FAILED", "INTERNAL_ERROR"),
            (&transient, true, "FAILED", TIMEOUT),
            (&not_held, true, "FAILED", TIMEOUT),
            (&not_held, false, "FAILED", "INTERNAL_ERROR"),
            (&rejected, true, "REFUSED", "REJECTED"),
            (&no_queue, false, "REFUSED", "OUTSIDE_SEND_WINDOW"),
            (&Failure::Expired, true, "REFUSED", "EXPIRED"),
        ];
        for (failure, past_cutoff, status, code) in cases {
            let answer = failed(failure, past_cutoff);
            assert_eq!(answer.get("status"), Some(status), "{failure:?}");
            assert_eq!(answer.get("code"), Some(code), "{failure:?}");
        }
    }

    #[test]
    fn the_deadline_is_the_time_limit_less_the_margin_unless_lambdas_comes_first() {
        let received = Instant::now();
        let secs = Duration::from_secs;
        let limit = received + secs(8) - FLOW_ANSWER_MARGIN;
        assert_eq!(deadline(received + secs(30), secs(8), received), limit);
        assert_eq!(
            deadline(received + secs(3), secs(8), received),
            received + secs(3)
        );
    }

    #[test]
    fn a_field_belongs_to_its_top_level_member() {
        let cases = [
            ("template.customAttributes", "template"),
            ("template", "template"),
            (
                "supportedMessagingContentTypes[0]",
                "supportedMessagingContentTypes",
            ),
            ("", ""),
        ];
        for (field, top) in cases {
            assert_eq!(member(field), top);
        }
    }
}
