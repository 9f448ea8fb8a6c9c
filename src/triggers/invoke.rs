//! EventBridge events and direct invocations: one request each, answered with its contact id
//! (or `DEFERRED` with its window's opening, once handed to the request queue; or, when a
//! policy said no, `{"status": "SUPPRESSED", "reason": ...}`: final, not an error, so nothing
//! retries it), or with a typed error so that Lambda's async retries and the on-failure
//! destination take the event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;

use crate::connect::ContactStarter;
use crate::intake::token::DeliveryIdentity;
use crate::outcome::{ErrorKind, Failure, Outcome, Requeue};
use crate::send::deferral::{RequestCopy, Route};
use crate::send::pipeline::Pipeline;

/// The answer of a request that is done or held: `{"contactId": "..."}`; `{"status":
/// "DEFERRED", "notBefore": "<RFC 3339>"}` for a request handed to the request queue until its
/// send window opens; or `{"status": "SUPPRESSED", "reason": "DO_NOT_CONTACT" |
/// "FREQUENCY_CAP"}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Answer {
    #[serde(rename_all = "camelCase")]
    Contact {
        contact_id: String,
        /// An SMS with text of its own: `GSM-7` or `UCS-2`.
        #[serde(skip_serializing_if = "Option::is_none")]
        encoding: Option<&'static str>,
        /// An SMS with text of its own: the segments carriers bill.
        #[serde(skip_serializing_if = "Option::is_none")]
        segments: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    Deferred {
        status: &'static str,
        not_before: String,
    },
    Suppressed {
        status: &'static str,
        reason: &'static str,
    },
}

/// The typed failure of an asynchronous request; its kind becomes the Lambda error type.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestFailed {
    pub kind: ErrorKind,
    pub message: String,
}

impl From<Failure> for RequestFailed {
    fn from(failure: Failure) -> Self {
        Self {
            kind: failure.error_kind(),
            message: failure.to_string(),
        }
    }
}

/// Handles an EventBridge event: `detail` is the request; the token derives from the event id.
pub async fn handle_eventbridge<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    event: EventBridgeEvent,
) -> Result<Answer, RequestFailed> {
    let id = event.id.as_deref().unwrap_or_default();
    let delivery = event
        .id
        .as_deref()
        .map(|event_id| DeliveryIdentity::EventBridge { event_id });
    let copy = pipeline
        .keeps_requests()
        .then(|| RequestCopy::Value(event.detail.clone()));
    let chat = pipeline.admit_value(event.detail, delivery);
    let outcome = pipeline.send(id, chat, Route::RequestQueue(copy)).await;
    // Lambda retries an event whose invocation failed: a change of the ledger not recorded or
    // not published is recorded by the retry, which finds the entry or Connect's token.
    if !pipeline.settle().await.is_empty() {
        let contact = match &outcome {
            Outcome::Started(contact_id, _) => format!(" (contact {contact_id} was started)"),
            _ => String::new(),
        };
        return Err(RequestFailed {
            kind: ErrorKind::Unavailable,
            message: format!(
                "the request's outcome{contact} could not be recorded in the ledger or published: the event is retried, and its retry starts no second contact"
            ),
        });
    }
    answer(outcome)
}

/// Handles a direct invocation: the event is the request; the token derives from the
/// invocation's request id, which Lambda keeps across its async retries.
pub async fn handle_direct<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    request_id: &str,
    event: Value,
) -> Result<Answer, RequestFailed> {
    let copy = pipeline
        .keeps_requests()
        .then(|| RequestCopy::Value(event.clone()));
    let chat = pipeline.admit_value(event, Some(DeliveryIdentity::Invoke { request_id }));
    let outcome = pipeline
        .send(request_id, chat, Route::RequestQueue(copy))
        .await;
    // A synchronous caller that retries gets a new request id, hence a new token: the answer
    // stands, and a change not recorded or published is logged and counted, not an error.
    pipeline.settle().await;
    answer(outcome)
}

fn answer(outcome: Outcome) -> Result<Answer, RequestFailed> {
    match outcome {
        Outcome::Started(contact_id, cost) => Ok(Answer::Contact {
            contact_id: contact_id.to_string(),
            encoding: cost.map(|c| c.encoding.as_str()),
            segments: cost.map(|c| c.segments),
        }),
        // Only SQS records are requeued; were one here, it too waits in the queue.
        Outcome::Deferred { not_before } | Outcome::Requeued(Requeue { not_before, .. }) => {
            Ok(Answer::Deferred {
                status: "DEFERRED",
                not_before: not_before.to_string(),
            })
        }
        Outcome::Suppressed(reason) => Ok(Answer::Suppressed {
            status: "SUPPRESSED",
            reason: reason.as_str(),
        }),
        Outcome::Failed(failure) => Err(failure.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;
    use crate::intake::MAX_REQUEST_BYTES;
    use crate::intake::tests::request_of_size;
    use crate::triggers::tests::Fixture;

    #[tokio::test]
    async fn an_oversized_direct_or_eventbridge_request_is_refused_unread() {
        let oversized = request_of_size(MAX_REQUEST_BYTES + 1);
        let eventbridge: EventBridgeEvent = serde_json::from_value(json!({
            "id": "e-1", "detail-type": "Outbound Chat Requested", "source": "app",
            "detail": oversized.clone(),
        }))
        .unwrap();
        let fixture = Fixture::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let direct_invocation = fixture.invocation("invoke", deadline);
        let routed_invocation = fixture.invocation("eventbridge", deadline);
        let direct = handle_direct(&fixture.pipeline(&direct_invocation), "r-1", oversized).await;
        let routed = handle_eventbridge(&fixture.pipeline(&routed_invocation), eventbridge).await;
        for result in [direct, routed] {
            let err = result.unwrap_err();
            assert_eq!(err.kind, ErrorKind::ValidationError);
            assert_eq!(
                err.message,
                format!(
                    "invalid request: the request is {} bytes; at most 262144 bytes (256 KiB) are accepted",
                    MAX_REQUEST_BYTES + 1
                )
            );
        }
        assert_eq!(fixture.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_request_of_exactly_the_limit_is_sent() {
        let fixture = Fixture::new();
        let invocation = fixture.invocation("invoke", Instant::now() + Duration::from_secs(60));
        let started = handle_direct(
            &fixture.pipeline(&invocation),
            "r-1",
            request_of_size(MAX_REQUEST_BYTES),
        )
        .await;
        assert!(started.is_ok(), "{started:?}");
        assert_eq!(fixture.calls.load(Ordering::SeqCst), 1);
    }
}
