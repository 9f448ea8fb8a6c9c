//! The JSON log line: `lambda_runtime`'s format (`level`, the event's `fields`, the invocation's
//! `span`), with the fields of the request span a line is logged in merged into `fields`, so
//! that a line reads the same whether its request id was a field of the call or of the span.

use std::fmt;

use lambda_runtime::tracing::field::{Field, Visit};
use lambda_runtime::tracing::subscriber::fmt::format::{JsonFields, Writer};
use lambda_runtime::tracing::subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use lambda_runtime::tracing::subscriber::registry::{LookupSpan, SpanRef};
use lambda_runtime::tracing::{Event, Subscriber};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::span::is_request_span;

/// Named values, in the order they are written.
type Entries = Vec<(&'static str, Value)>;

/// One JSON object per line: `{"level", "fields", "span"}`. `fields` holds the event's
/// fields, its `message` first, then the request span's (`trigger`, `request_id`, `channel`;
/// the event's own value where it has one of them), then the event's others. `span` is the
/// innermost span around the line that is not a request span: for the function's lines the
/// invocation span, with its `requestId`; for a dependency's line its own innermost span, as
/// tracing's JSON format shows it. Spans' fields are stored as JSON by [`JsonFields`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestJson;

impl<S> FormatEvent<S, JsonFields> for RequestJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut own = EventFields::default();
        event.record(&mut own);
        let (mut request, mut span) = (None, None);
        for around in ctx.event_scope().into_iter().flatten() {
            if !is_request_span(around.metadata()) {
                span = span.or(Some(around));
            } else if request.is_none() {
                request = Some(around);
            }
        }
        let line = Line {
            level: event.metadata().level().as_str(),
            fields: merge(own.0, request.map(|r| span_fields(&r)).unwrap_or_default()),
            span: span.map(|s| {
                let mut fields = span_fields(&s);
                fields.push(("name", Value::from(s.metadata().name())));
                fields
            }),
        };
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// A span's recorded fields, in the order the span declares them.
fn span_fields<S>(span: &SpanRef<'_, S>) -> Entries
where
    S: for<'a> LookupSpan<'a>,
{
    let extensions = span.extensions();
    let Some(stored) = extensions.get::<FormattedFields<JsonFields>>() else {
        return Entries::new();
    };
    let Ok(Value::Object(mut recorded)) = serde_json::from_str::<Value>(stored) else {
        return Entries::new();
    };
    span.metadata()
        .fields()
        .iter()
        .filter_map(|field| Some((field.name(), recorded.remove(field.name())?)))
        .collect()
}

/// The line's `fields`: the event's `message`, the request span's fields (the event's value
/// where it has the same name), then the event's other fields; no name twice.
fn merge(mut own: Entries, request: Entries) -> Entries {
    let mut take = |name: &str| {
        let index = own.iter().position(|(own_name, _)| *own_name == name)?;
        Some(own.remove(index))
    };
    let mut fields: Entries = take("message").into_iter().collect();
    for (name, value) in request {
        fields.push(take(name).unwrap_or((name, value)));
    }
    fields.append(&mut own);
    fields
}

struct Line {
    level: &'static str,
    fields: Entries,
    span: Option<Entries>,
}

impl Serialize for Line {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut line = serializer.serialize_map(None)?;
        line.serialize_entry("level", self.level)?;
        line.serialize_entry("fields", &Object(&self.fields))?;
        if let Some(span) = &self.span {
            line.serialize_entry("span", &Object(span))?;
        }
        line.end()
    }
}

/// Entries written as a JSON object, in their order.
struct Object<'a>(&'a [(&'static str, Value)]);

impl Serialize for Object<'_> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// An event's fields as tracing's JSON format writes them: numbers and booleans as such, text
/// as strings, anything else by its `Debug` form (`%value` by its `Display` form).
#[derive(Default)]
struct EventFields(Entries);

impl Visit for EventFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .push((field.name(), Value::from(format!("{value:?}"))));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), Value::from(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), Value::from(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), Value::from(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push((field.name(), Value::from(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), Value::from(value)));
    }
}
