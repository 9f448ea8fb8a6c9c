//! The function's log subscriber and its settings, from Lambda's advanced logging controls:
//! the format and fields of `lambda_runtime`'s own subscriber, with every other crate capped
//! below the level at which it would log payloads.

use lambda_runtime::tracing::Subscriber;
use lambda_runtime::tracing::subscriber::filter::{LevelFilter, Targets};
use lambda_runtime::tracing::subscriber::fmt::format::JsonFields;
use lambda_runtime::tracing::subscriber::fmt::{self, MakeWriter};
use lambda_runtime::tracing::subscriber::layer::{Layer, SubscriberExt};
use lambda_runtime::tracing::subscriber::registry::Registry;

use super::json::RequestJson;

/// The most verbose level any other crate may log at, whatever `AWS_LAMBDA_LOG_LEVEL` or
/// `RUST_LOG` say. At TRACE, `lambda_runtime` logs every raw event it receives ("raw JSON event
/// received from Lambda") and `aws-smithy-runtime` logs Connect's response bodies and error
/// messages: a phone number, message text, attribute values. An operator who turns the level up
/// to debug this function must not switch that on; DEBUG still shows the SDK's attempts, retries
/// and endpoint choice.
pub const DEPENDENCY_MAX_LEVEL: LevelFilter = LevelFilter::DEBUG;

/// This crate's log target prefix: the one target allowed past [`DEPENDENCY_MAX_LEVEL`].
const OWN_TARGET: &str = "outbound_chat";

/// How log lines are written, from Lambda's advanced logging controls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// `AWS_LAMBDA_LOG_FORMAT=JSON`: one JSON object per line; otherwise tracing's text lines.
    pub json: bool,
    /// `AWS_LAMBDA_LOG_LEVEL`, else the bare level in `RUST_LOG`, else INFO: every target's
    /// level unless a directive names it.
    pub level: LevelFilter,
    /// `RUST_LOG`'s per-target directives (`hyper=warn`), for local runs. They can narrow what
    /// is logged but never lift another crate past [`DEPENDENCY_MAX_LEVEL`].
    pub directives: String,
}

impl LogSettings {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings as `lambda_runtime`'s default subscriber does, with two corrections:
    /// Lambda's `FATAL` level (which tracing lacks) means ERROR, not the INFO fallback; and
    /// `AWS_LAMBDA_LOG_LEVEL` stays the level of every target that a `RUST_LOG` directive does
    /// not name (tracing's filter would otherwise drop the level once any directive is set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let parse_level = |raw: &str| match raw.trim() {
            fatal if fatal.eq_ignore_ascii_case("fatal") => Some(LevelFilter::ERROR),
            other => other.parse::<LevelFilter>().ok(),
        };
        let rust_log = lookup("RUST_LOG").unwrap_or_default();
        let (bare_levels, directives): (Vec<&str>, Vec<&str>) = rust_log
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .partition(|entry| parse_level(entry).is_some());
        let level = match lookup("AWS_LAMBDA_LOG_LEVEL") {
            Some(raw) => parse_level(&raw),
            None => bare_levels.last().and_then(|raw| parse_level(raw)),
        };
        Self {
            json: lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
            level: level.unwrap_or(LevelFilter::INFO),
            directives: directives.join(","),
        }
    }
}

/// The function's log subscriber: the fields and format of `lambda_runtime`'s default subscriber
/// (no timestamp, Lambda adds one; no target; JSON with the event's fields, and those of the
/// request span it is logged in, under `fields` and the invocation's span, with its `requestId`,
/// under `span`), writing to `writer`, with every other
/// crate capped at [`DEPENDENCY_MAX_LEVEL`].
pub fn log_subscriber<W>(settings: &LogSettings, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let cap = Targets::new()
        .with_default(DEPENDENCY_MAX_LEVEL)
        .with_target(OWN_TARGET, LevelFilter::TRACE);
    // `Targets`, not `EnvFilter`: `target=level` directives are all a Lambda's log settings
    // need, and `EnvFilter`'s span and field matching brings a regex engine (~190 kB of the
    // binary). A directive that does not parse is skipped, as `EnvFilter` skips it.
    let filter = Targets::new().with_default(settings.level).with_targets(
        settings
            .directives
            .split(',')
            .filter_map(|directive| directive.parse::<Targets>().ok())
            .flatten(),
    );
    let lines = if settings.json {
        // No `spans` list: the function's own lines sit in the invocation span, which `span`
        // carries (with `requestId`); the list repeated it in every line, which is more bytes
        // ingested and billed by CloudWatch Logs and one more JSON parse per line. The request
        // span a line is logged in adds its fields to `fields` (see [`RequestJson`]).
        fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(RequestJson)
            .with_writer(writer)
            .boxed()
    } else {
        fmt::layer()
            .with_target(false)
            .without_time()
            .with_writer(writer)
            .boxed()
    };
    Registry::default().with(cap).with(filter).with(lines)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use std::io::Write;

    use super::*;
    use crate::domain::Channel;
    use crate::telemetry::request_span;

    #[test]
    fn log_settings_follow_lambdas_advanced_logging_controls() {
        /// (variables, json, level, directives)
        type Case = (
            &'static [(&'static str, &'static str)],
            bool,
            LevelFilter,
            &'static str,
        );
        let cases: &[Case] = &[
            (&[], false, LevelFilter::INFO, ""),
            (
                &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
                true,
                LevelFilter::INFO,
                "",
            ),
            (
                &[("AWS_LAMBDA_LOG_FORMAT", "Text")],
                false,
                LevelFilter::INFO,
                "",
            ),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
                false,
                LevelFilter::TRACE,
                "",
            ),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "FATAL")],
                false,
                LevelFilter::ERROR,
                "",
            ),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "nonsense")],
                false,
                LevelFilter::INFO,
                "",
            ),
            (&[("RUST_LOG", "debug")], false, LevelFilter::DEBUG, ""),
            (
                &[
                    ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
                    ("RUST_LOG", "debug,hyper=info"),
                ],
                false,
                LevelFilter::WARN,
                "hyper=info",
            ),
            (
                &[("RUST_LOG", "outbound_chat=trace")],
                false,
                LevelFilter::INFO,
                "outbound_chat=trace",
            ),
        ];
        for (vars, json, level, directives) in cases {
            let settings = LogSettings::from_lookup(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            });
            let expected = LogSettings {
                json: *json,
                level: *level,
                directives: directives.to_string(),
            };
            assert_eq!(settings, expected, "{vars:?}");
        }
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    /// What the subscriber writes, in text format at `level` with `directives`, for the lines
    /// `log` emits.
    fn logged(level: LevelFilter, directives: &str, log: impl FnOnce()) -> String {
        logged_as(false, level, directives, log)
    }

    /// What the subscriber writes, as JSON (`json`) or text, for the lines `log` emits.
    fn logged_as(json: bool, level: LevelFilter, directives: &str, log: impl FnOnce()) -> String {
        let settings = LogSettings {
            json,
            level,
            directives: directives.into(),
        };
        let buffer = Buffer::default();
        tracing::subscriber::with_default(log_subscriber(&settings, buffer.clone()), log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn other_crates_never_log_past_debug_even_when_trace_is_asked_for() {
        let directives = "lambda_runtime=trace,aws_smithy_runtime=trace";
        let text = logged(LevelFilter::TRACE, directives, || {
            tracing::trace!(target: "lambda_runtime::layers::api_response", "raw event payload");
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator::http", "response body");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "beginning attempt #1");
            tracing::trace!(target: "outbound_chat::send", "own trace line");
        });
        assert!(!text.contains("raw event payload"), "{text}");
        assert!(!text.contains("response body"), "{text}");
        assert!(text.contains("beginning attempt #1"), "{text}");
        assert!(text.contains("own trace line"), "{text}");
    }

    #[test]
    fn directives_set_their_targets_level_and_a_bad_one_is_skipped() {
        let directives = "hyper=warn,aws_config=loud,outbound_chat::send=debug";
        let text = logged(LevelFilter::INFO, directives, || {
            tracing::info!(target: "hyper::client", "hyper info");
            tracing::warn!(target: "hyper::client", "hyper warning");
            tracing::info!(target: "aws_config::meta", "aws_config info");
            tracing::debug!(target: "aws_config::meta", "aws_config debug");
            tracing::debug!(target: "outbound_chat::send", "send debug");
            tracing::debug!(target: "outbound_chat::triggers", "triggers debug");
        });
        assert!(!text.contains("hyper info"), "{text}");
        assert!(text.contains("hyper warning"), "{text}");
        assert!(text.contains("aws_config info"), "{text}");
        assert!(!text.contains("aws_config debug"), "{text}");
        assert!(text.contains("send debug"), "{text}");
        assert!(!text.contains("triggers debug"), "{text}");
    }

    /// The JSON lines `log` emits at INFO, inside an invocation span like `lambda_runtime`'s.
    fn json_lines(log: impl FnOnce()) -> Vec<serde_json::Value> {
        let text = logged_as(true, LevelFilter::INFO, "", || {
            tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "inv-1",
                xrayTraceId = "x-1"
            )
            .in_scope(log);
        });
        text.lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    #[test]
    fn a_line_in_a_request_span_has_the_request_id_in_fields_and_the_invocation_in_span() {
        let lines = json_lines(|| {
            request_span("sqs", "m-1", Some(Channel::WhatsApp)).in_scope(|| {
                tracing::info!(outcome = "started", latency_ms = 6_u64, "contact started");
            });
        });
        let expected = serde_json::json!({
            "level": "INFO",
            "fields": {
                "message": "contact started",
                "trigger": "sqs",
                "request_id": "m-1",
                "channel": "WHATSAPP",
                "outcome": "started",
                "latency_ms": 6,
            },
            "span": {"requestId": "inv-1", "xrayTraceId": "x-1", "name": "Lambda runtime invoke"},
        });
        assert_eq!(lines, [expected]);
    }

    #[test]
    fn a_lines_own_field_wins_over_the_request_spans_and_is_written_once() {
        let text = logged_as(true, LevelFilter::INFO, "", || {
            request_span("invoke", "r-1", None).in_scope(|| {
                tracing::warn!(
                    channel = "UNKNOWN",
                    outcome = "failed",
                    "request not started"
                );
            });
        });
        assert_eq!(
            text.trim_end(),
            r#"{"level":"WARN","fields":{"message":"request not started","trigger":"invoke","request_id":"r-1","channel":"UNKNOWN","outcome":"failed"}}"#
        );
    }

    #[test]
    fn a_line_outside_any_request_span_has_no_request_id() {
        let lines = json_lines(|| {
            let _request = request_span("sqs", "m-1", Some(Channel::Sms));
            tracing::info!(started = 1_u64, "invocation summary");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0]["fields"],
            serde_json::json!({"message": "invocation summary", "started": 1})
        );
        assert_eq!(lines[0]["span"]["requestId"], "inv-1");
    }

    #[test]
    fn a_dependencys_line_shows_its_own_span_and_the_requests_fields() {
        let lines = json_lines(|| {
            request_span("sqs", "m-1", Some(Channel::Sms)).in_scope(|| {
                tracing::info_span!("invoke", rpc.service = "Connect").in_scope(|| {
                    tracing::info!(target: "aws_smithy_runtime::client", "sending request");
                });
            });
        });
        assert_eq!(lines[0]["fields"]["request_id"], "m-1");
        assert_eq!(
            lines[0]["span"],
            serde_json::json!({"rpc.service": "Connect", "name": "invoke"})
        );
    }

    #[test]
    fn a_request_span_keeps_its_id_when_only_warnings_are_logged() {
        let text = logged_as(true, LevelFilter::WARN, "", || {
            request_span("sqs", "m-1", None).in_scope(|| tracing::warn!("a warning"));
        });
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["fields"]["request_id"], "m-1");
    }

    #[test]
    fn outside_a_request_span_a_line_is_written_as_tracings_json_format_writes_it() {
        let log = || {
            tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "inv-1",
                xrayTraceId = "x-1"
            )
            .in_scope(|| {
                let reason = std::io::Error::other("no route");
                tracing::warn!(
                    count = 3_u64,
                    offset = -2_i64,
                    ratio = 0.5,
                    held = true,
                    reason = %reason,
                    kind = ?reason.kind(),
                    code = "E1",
                    "a \"quoted\" line"
                );
            });
            tracing::info!(signal = "SIGTERM", "outside every span");
        };
        let ours = logged_as(true, LevelFilter::INFO, "", log);
        let buffer = Buffer::default();
        let tracings = fmt::layer()
            .json()
            .with_span_list(false)
            .with_target(false)
            .without_time()
            .with_writer(buffer.clone());
        tracing::subscriber::with_default(Registry::default().with(tracings), log);
        let theirs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(ours.lines().count(), 2, "{ours}");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn in_text_a_requests_line_shows_the_request_span_after_the_invocations() {
        let text = logged(LevelFilter::INFO, "", || {
            tracing::info_span!("Lambda runtime invoke", requestId = "inv-1").in_scope(|| {
                request_span("sqs", "m-1", Some(Channel::Sms))
                    .in_scope(|| tracing::info!(outcome = "started", "contact started"));
            });
        });
        assert_eq!(
            text.trim_end(),
            r#" INFO Lambda runtime invoke{requestId="inv-1"}:request{trigger="sqs" request_id="m-1" channel="SMS"}: contact started outcome="started""#
        );
    }
}
