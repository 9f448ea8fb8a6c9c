//! The function's log subscriber and its settings, from Lambda's advanced logging controls:
//! the format and fields of `lambda_runtime`'s own subscriber, with every other crate capped
//! below the level at which it would log payloads.

use lambda_runtime::tracing::Subscriber;
use lambda_runtime::tracing::subscriber::filter::{LevelFilter, Targets};
use lambda_runtime::tracing::subscriber::fmt::{self, MakeWriter};
use lambda_runtime::tracing::subscriber::layer::{Layer, SubscriberExt};
use lambda_runtime::tracing::subscriber::registry::Registry;

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
/// (no timestamp, Lambda adds one; no target; JSON with the event's fields under `fields` and the
/// invocation's span, with its `requestId`, under `span`), writing to `writer`, with every other
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
    let lines = fmt::layer().with_target(false).without_time();
    let lines = if settings.json {
        // No `spans` list: the function's own lines sit directly in the invocation span, which
        // `span` carries (with `requestId`); the list repeated it in every line, which is more
        // bytes ingested and billed by CloudWatch Logs and one more JSON parse per line. The
        // SDK's DEBUG lines show their innermost span only.
        lines
            .json()
            .with_span_list(false)
            .with_writer(writer)
            .boxed()
    } else {
        lines.with_writer(writer).boxed()
    };
    Registry::default().with(cap).with(filter).with(lines)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use std::io::Write;

    use super::*;

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
        let settings = LogSettings {
            json: false,
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
            tracing::debug!(target: "outbound_chat::dispatch", "dispatch debug");
        });
        assert!(!text.contains("hyper info"), "{text}");
        assert!(text.contains("hyper warning"), "{text}");
        assert!(text.contains("aws_config info"), "{text}");
        assert!(!text.contains("aws_config debug"), "{text}");
        assert!(text.contains("send debug"), "{text}");
        assert!(!text.contains("dispatch debug"), "{text}");
    }
}
