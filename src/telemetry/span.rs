//! The span of one request: opened where a trigger's request reaches the sender, it names the
//! request (its trigger, the trigger's id for it, its channel once known) on every line logged
//! while the request is worked on, instead of each log call repeating the id.

use tracing::{Metadata, Span};

use crate::domain::Channel;

/// The request span's name, which the JSON line format looks for.
const REQUEST_SPAN: &str = "request";

/// Opens the span of one request. At ERROR level, so that it is enabled whenever any line is:
/// at `AWS_LAMBDA_LOG_LEVEL=WARN` the request's warnings still carry its id. (A span's level
/// only decides whether it exists; no line shows it.) `channel` is recorded when the request
/// was admitted far enough to know it.
pub fn request_span(trigger: &str, request_id: &str, channel: Option<Channel>) -> Span {
    let span = tracing::error_span!(
        REQUEST_SPAN,
        trigger,
        request_id,
        channel = tracing::field::Empty
    );
    if let Some(channel) = channel {
        span.record("channel", channel.as_str());
    }
    span
}

/// Whether `metadata` is a request span's (and not some other crate's span of the same name).
pub fn is_request_span(metadata: &Metadata<'_>) -> bool {
    metadata.name() == REQUEST_SPAN && metadata.target() == module_path!()
}
