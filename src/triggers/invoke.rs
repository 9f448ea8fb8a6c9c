//! EventBridge events and direct invocations: one request each, answered with its contact id,
//! or with a typed error so that Lambda's async retries and the on-failure destination take
//! the event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;

use crate::connect::ContactStarter;
use crate::domain::{Reason, ValidationError, Violation};
use crate::idempotency::DeliveryIdentity;
use crate::outcome::{ErrorKind, Failure, Outcome};
use crate::request::SendRequest;
use crate::send::{Invocation, RequestLabel, Sender};
use crate::triggers::http::MAX_SINGLE_BODY_BYTES;

/// Largest accepted request outside HTTP, in bytes: an SQS record's body, an EventBridge event's
/// `detail`, a direct invocation's event (the last two measured as compact JSON). The same
/// 256 KiB as `POST /contacts` and as SQS's classic message size: every Connect field together
/// stays far below it, so anything larger is a mistake or an attack, and is refused before it
/// is read any further.
pub const MAX_REQUEST_BYTES: usize = MAX_SINGLE_BODY_BYTES;

/// The violation of an oversized request: its size, never its content.
pub(crate) fn too_large(what: &str, bytes: usize) -> ValidationError {
    ValidationError::single(Violation::new(
        "",
        format!(
            "{what} is {bytes} bytes; at most {MAX_REQUEST_BYTES} bytes (256 KiB) are accepted"
        ),
        Reason::Invalid,
    ))
}

/// The size of `value` as compact JSON, counted without building the text.
fn json_size(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

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
    let size = json_size(&request);
    let request = if size > MAX_REQUEST_BYTES {
        Err(too_large("the request", size))
    } else {
        SendRequest::from_value(request)
    };
    let chat = request
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

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;
    use crate::config::Config;
    use crate::connect::{ContactId, StartError};
    use crate::domain::OutboundChat;

    /// A Connect port that starts every contact and counts the calls.
    #[derive(Default)]
    pub(crate) struct CountingConnect(pub AtomicUsize);

    impl ContactStarter for CountingConnect {
        async fn start_contact(&self, _: &OutboundChat) -> Result<ContactId, StartError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(ContactId::new(format!("contact-{n}")))
        }
    }

    pub(crate) fn sender() -> Sender<CountingConnect> {
        let config = Config::from_lookup(|name| {
            connect_simulator::sample::FUNCTION_VARIABLES
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.to_string())
        })
        .expect("test configuration");
        Sender::new(CountingConnect::default(), &config)
    }

    /// A valid SMS request whose compact JSON is exactly `bytes` long (up to 320 KB), padded
    /// with contact attributes of at most 32767 characters each.
    pub(crate) fn request_of_size(bytes: usize) -> Value {
        const PADS: usize = 10;
        let empty: serde_json::Map<String, Value> =
            (0..PADS).map(|i| (format!("p{i}"), "".into())).collect();
        let mut request = json!({"to": "+14255550100", "attributes": empty});
        let padding = bytes - json_size(&request);
        for i in 0..PADS {
            let share = padding / PADS + usize::from(i < padding % PADS);
            request["attributes"][format!("p{i}")] = "x".repeat(share).into();
        }
        assert_eq!(json_size(&request), bytes);
        request
    }

    fn invocation(sender: &Sender<CountingConnect>, trigger: &'static str) -> Invocation {
        sender.invocation(trigger, Instant::now() + Duration::from_secs(60))
    }

    #[test]
    fn the_size_of_a_request_is_its_compact_json_length() {
        let value = json!({"to": "+1 425", "message": {"content": "é"}});
        assert_eq!(json_size(&value), value.to_string().len());
    }

    #[tokio::test]
    async fn an_oversized_direct_or_eventbridge_request_is_refused_unread() {
        let oversized = request_of_size(MAX_REQUEST_BYTES + 1);
        let eventbridge: EventBridgeEvent = serde_json::from_value(json!({
            "id": "e-1", "detail-type": "Outbound Chat Requested", "source": "app",
            "detail": oversized.clone(),
        }))
        .unwrap();
        let sender = sender();
        let direct = handle_direct(&sender, &invocation(&sender, "invoke"), "r-1", oversized).await;
        let routed =
            handle_eventbridge(&sender, &invocation(&sender, "eventbridge"), eventbridge).await;
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
        assert_eq!(sender.connect().0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_request_of_exactly_the_limit_is_sent() {
        let sender = sender();
        let started = handle_direct(
            &sender,
            &invocation(&sender, "invoke"),
            "r-1",
            request_of_size(MAX_REQUEST_BYTES),
        )
        .await;
        assert!(started.is_ok(), "{started:?}");
        assert_eq!(sender.connect().0.load(Ordering::SeqCst), 1);
    }
}
