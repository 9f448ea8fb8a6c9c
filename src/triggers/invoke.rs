//! EventBridge events and direct invocations: one request each, answered with its contact id,
//! or with a typed error so that Lambda's async retries and the on-failure destination take
//! the event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;

use crate::connect::ContactStarter;
use crate::idempotency::DeliveryIdentity;
use crate::outcome::{ErrorKind, Failure, Outcome};
use crate::request::SendRequest;
use crate::send::{Invocation, RequestLabel, Sender};

/// The success answer: `{"contactId": "..."}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub contact_id: String,
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
    sender: &Sender<C>,
    invocation: &Invocation,
    event: EventBridgeEvent,
) -> Result<Started, RequestFailed> {
    let id = event.id.clone().unwrap_or_default();
    let identity = event
        .id
        .as_deref()
        .map(|event_id| DeliveryIdentity::EventBridge { event_id });
    send_one(sender, invocation, &id, event.detail, identity).await
}

/// Handles a direct invocation: the event is the request; the token derives from the
/// invocation's request id, which Lambda keeps across its async retries.
pub async fn handle_direct<C: ContactStarter>(
    sender: &Sender<C>,
    invocation: &Invocation,
    request_id: &str,
    event: Value,
) -> Result<Started, RequestFailed> {
    let identity = DeliveryIdentity::Invoke { request_id };
    send_one(sender, invocation, request_id, event, Some(identity)).await
}

async fn send_one<C: ContactStarter>(
    sender: &Sender<C>,
    invocation: &Invocation,
    id: &str,
    request: Value,
    identity: Option<DeliveryIdentity<'_>>,
) -> Result<Started, RequestFailed> {
    let chat = SendRequest::from_value(request)
        .and_then(|request| sender.validate(request))
        .map(|chat| match identity {
            Some(identity) => chat.with_token_fallback(identity.client_token()),
            None => chat,
        });
    match sender.process(invocation, RequestLabel { id }, chat).await {
        Outcome::Started(contact_id) => Ok(Started {
            contact_id: contact_id.to_string(),
        }),
        Outcome::Failed(failure) => Err(failure.into()),
    }
}
