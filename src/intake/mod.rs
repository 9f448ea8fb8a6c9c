//! The one path every request takes in, whatever its trigger: the size limit, the form, the
//! parse, the rules, and the idempotency token. A trigger hands over the request's text or
//! JSON value and the identity of its delivery, and gets a validated chat or every violation.

pub mod token;
pub mod wire;

use serde_json::Value;

use crate::config::Config;
use crate::domain::{ClientToken, Defaults, OutboundChat, Reason, ValidationError, Violation};
use crate::intake::token::DeliveryIdentity;

/// Largest accepted request, in bytes: an SQS record's body, an HTTP request, an EventBridge
/// event's `detail`, a direct invocation's event (the last two measured as compact JSON).
/// SQS's classic message size: every Connect field together stays far below it, so anything
/// larger is a mistake or an attack, and is refused before it is read any further.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Reads and validates send requests as the function does, with its configured defaults.
#[derive(Clone, Debug)]
pub struct Intake {
    defaults: Defaults,
}

impl Intake {
    pub(crate) fn new(defaults: Defaults) -> Self {
        Self { defaults }
    }

    /// The intake of a function configured with `config`.
    pub fn from_config(config: &Config) -> Self {
        Self::new(config.defaults.clone())
    }

    /// Admits a request given as JSON text (an SQS body, an HTTP body).
    pub fn admit_json(
        &self,
        text: &str,
        delivery: Option<DeliveryIdentity<'_>>,
    ) -> Result<OutboundChat, ValidationError> {
        if text.len() > MAX_REQUEST_BYTES {
            return Err(refused(
                too_large("the request body", text.len()),
                None,
                delivery,
            ));
        }
        let request = wire::from_json(text).map_err(|err| refused(err, None, delivery))?;
        self.validate(request, delivery)
    }

    /// Admits a request given as a JSON value (an EventBridge `detail`, a direct invocation's
    /// event, an item of an HTTP batch).
    pub fn admit_value(
        &self,
        value: Value,
        delivery: Option<DeliveryIdentity<'_>>,
    ) -> Result<OutboundChat, ValidationError> {
        let size = json_size(&value);
        if size > MAX_REQUEST_BYTES {
            return Err(refused(too_large("the request", size), None, delivery));
        }
        let request = wire::from_value(value).map_err(|err| refused(err, None, delivery))?;
        self.validate(request, delivery)
    }

    /// The rules, then the token: the request's own `clientToken` wins over one derived from
    /// its delivery (contract §3).
    fn validate(
        &self,
        request: wire::WireRequest,
        delivery: Option<DeliveryIdentity<'_>>,
    ) -> Result<OutboundChat, ValidationError> {
        let own = request.input.client_token.as_deref();
        let own = own.and_then(|token| ClientToken::parse(token).ok());
        let earlier = request.refused;
        let chat = match OutboundChat::from_input(request.input, request.names, &self.defaults) {
            Ok(_) if !earlier.is_empty() => Err(ValidationError::several(earlier)),
            Ok(chat) => Ok(chat),
            Err(err) if !earlier.is_empty() => Err(err.with_earlier(earlier)),
            Err(err) => Err(err),
        }
        .map_err(|err| refused(err, own, delivery))?;
        Ok(match delivery {
            Some(identity) => chat.with_token_fallback(identity.client_token()),
            None => chat,
        })
    }
}

/// A refused request, marked with the token it would have had: its own valid `clientToken`,
/// else its delivery's (so the ledger can record the refusal under it).
fn refused(
    err: ValidationError,
    own: Option<ClientToken>,
    delivery: Option<DeliveryIdentity<'_>>,
) -> ValidationError {
    err.with_token(own.or_else(|| delivery.map(DeliveryIdentity::client_token)))
}

/// The violation of an oversized request: its size, never its content.
fn too_large(what: &str, bytes: usize) -> ValidationError {
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

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    /// A valid SMS request whose compact JSON is exactly `bytes` long (up to 320 KB), padded
    /// with template attributes of at most 32767 characters each (contact attributes hold at
    /// most 32,768 bytes in all, template attributes have no such total).
    pub(crate) fn request_of_size(bytes: usize) -> Value {
        const PADS: usize = 10;
        let empty: serde_json::Map<String, Value> =
            (0..PADS).map(|i| (format!("p{i}"), "".into())).collect();
        let mut request = json!({"to": "+14255550100", "template": {
            "knowledgeBaseId": "kb", "messageTemplateId": "t", "customAttributes": empty}});
        let padding = bytes - json_size(&request);
        for i in 0..PADS {
            let share = padding / PADS + usize::from(i < padding % PADS);
            request["template"]["customAttributes"][format!("p{i}")] = "x".repeat(share).into();
        }
        assert_eq!(json_size(&request), bytes);
        request
    }

    #[test]
    fn the_size_of_a_request_is_its_compact_json_length() {
        let value = json!({"to": "+1 425", "message": {"content": "é"}});
        assert_eq!(json_size(&value), value.to_string().len());
    }

    #[test]
    fn a_request_over_the_limit_is_refused_unread_and_one_at_the_limit_is_read() {
        // No defaults: a request read past its size is refused for its missing instance.
        let intake = Intake::new(Defaults::default());
        for (request, refused_for_size) in [
            (request_of_size(MAX_REQUEST_BYTES + 1), true),
            (request_of_size(MAX_REQUEST_BYTES), false),
        ] {
            let text = request.to_string();
            for err in [
                intake.admit_value(request.clone(), None).unwrap_err(),
                intake.admit_json(&text, None).unwrap_err(),
            ] {
                let about_size = err.to_string().contains("(256 KiB) are accepted");
                assert_eq!(about_size, refused_for_size, "{err}");
            }
        }
    }
}
