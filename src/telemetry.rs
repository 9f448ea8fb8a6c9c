//! What the function tells its operators: one structured log line per request outcome, a
//! summary line per invocation, CloudWatch Embedded Metric Format documents, the log
//! subscriber that writes them, and the line that marks a shutdown. Nothing here ever sees a
//! full phone number or message text: outcomes carry masked data only, and the subscriber keeps
//! the libraries that log payloads below the level at which they do.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::tracing::Subscriber;
use lambda_runtime::tracing::subscriber::filter::{LevelFilter, Targets};
use lambda_runtime::tracing::subscriber::fmt::{self, MakeWriter};
use lambda_runtime::tracing::subscriber::layer::{Layer, SubscriberExt};
use lambda_runtime::tracing::subscriber::registry::Registry;
use serde_json::{Map, Value, json};

use crate::domain::Channel;
use crate::log_output;
use crate::outcome::{Failure, Outcome};
use crate::send::{Invocation, RequestLabel};

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

/// Counts of one invocation, per channel (`None`: requests too invalid to have one).
#[derive(Debug, Default)]
pub struct Tally {
    per_channel: BTreeMap<Option<Channel>, ChannelTally>,
}

#[derive(Debug, Default)]
struct ChannelTally {
    started: u32,
    failures: BTreeMap<&'static str, u32>,
    throttled: u32,
    expired: u32,
    latencies_ms: Vec<f64>,
}

/// EMF refuses a metric whose value array holds more than 100 values.
const MAX_VALUES_PER_METRIC: usize = 100;

impl Tally {
    fn add(&mut self, channel: Option<Channel>, outcome: &Outcome, latency: Option<Duration>) {
        let entry = self.per_channel.entry(channel).or_default();
        if let Some(latency) = latency {
            entry.latencies_ms.push(latency.as_secs_f64() * 1000.0);
        }
        match outcome {
            Outcome::Started(_) => entry.started += 1,
            Outcome::Failed(failure) => {
                *entry.failures.entry(failure.reason_code()).or_default() += 1;
                match failure.reason_code() {
                    "REQUEST_THROTTLED" => entry.throttled += 1,
                    "EXPIRED" => entry.expired += 1,
                    _ => {}
                }
            }
        }
    }

    /// Requests started and failed, over every channel.
    pub fn totals(&self) -> (u32, u32) {
        self.per_channel.values().fold((0, 0), |(s, f), t| {
            (s + t.started, f + t.failures.values().sum::<u32>())
        })
    }

    /// Failures by reason code, over every channel.
    pub fn failures_by_code(&self) -> BTreeMap<&'static str, u32> {
        let mut all = BTreeMap::new();
        for tally in self.per_channel.values() {
            for (code, count) in &tally.failures {
                *all.entry(*code).or_default() += count;
            }
        }
        all
    }

    /// The invocation's metrics as EMF documents under `namespace`, dimensioned by trigger and
    /// channel.
    ///
    /// One document per channel seen: EMF reads a dimension's value from the document's root,
    /// so one document can carry one `Channel`; folding the channel into metric names instead
    /// would take it out of the dimensions operators filter and alarm on. Single-request
    /// triggers see one channel, so they print one document; a mixed batch prints one per
    /// channel. Past 100 Connect calls on a channel, the latencies beyond the first 100 go into
    /// further documents that carry only `ConnectLatency`, since EMF takes at most 100 values
    /// per metric.
    pub fn metric_documents(&self, namespace: &str, trigger: &str, at: SystemTime) -> Vec<Value> {
        let timestamp = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let document = |channel: Option<Channel>, values: Vec<(String, &str, Value)>| {
            let mut doc = Map::new();
            doc.insert("Trigger".into(), trigger.into());
            doc.insert(
                "Channel".into(),
                channel.map_or("UNKNOWN", Channel::as_str).into(),
            );
            let metrics: Vec<Value> = values
                .iter()
                .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
                .collect();
            for (name, _, value) in values {
                doc.insert(name, value);
            }
            doc.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [["Trigger", "Channel"]],
                        "Metrics": metrics,
                    }],
                }),
            );
            Value::Object(doc)
        };
        let mut documents = Vec::new();
        for (channel, tally) in &self.per_channel {
            let count = |name: &str, value: u32| (name.to_owned(), "Count", Value::from(value));
            let mut values = vec![
                count("ContactsStarted", tally.started),
                count("RequestsFailed", tally.failures.values().sum()),
                count("Throttles", tally.throttled),
                count("ExpiredRequests", tally.expired),
            ];
            values.extend(
                tally
                    .failures
                    .iter()
                    .map(|(code, n)| count(&format!("Failures.{code}"), *n)),
            );
            let mut latencies = tally.latencies_ms.chunks(MAX_VALUES_PER_METRIC);
            let latency =
                |chunk: &[f64]| ("ConnectLatency".to_owned(), "Milliseconds", json!(chunk));
            values.extend(latencies.next().map(latency));
            documents.push(document(*channel, values));
            documents.extend(latencies.map(|chunk| document(*channel, vec![latency(chunk)])));
        }
        documents
    }
}

/// Logs one request's outcome and counts it.
pub fn record_outcome(
    invocation: &Invocation,
    label: RequestLabel<'_>,
    channel: Option<Channel>,
    outcome: &Outcome,
    latency: Option<Duration>,
) {
    invocation
        .tally
        .lock()
        .expect("tally lock")
        .add(channel, outcome, latency);
    let trigger = invocation.trigger;
    let channel = channel.map_or("UNKNOWN", Channel::as_str);
    let latency_ms = latency.map(|l| l.as_millis() as u64);
    match outcome {
        Outcome::Started(contact_id) => tracing::info!(
            trigger,
            request_id = label.id,
            channel,
            outcome = "started",
            contact_id = contact_id.as_str(),
            latency_ms,
            "contact started"
        ),
        Outcome::Failed(failure) => tracing::warn!(
            trigger,
            request_id = label.id,
            channel,
            outcome = "failed",
            code = failure.reason_code(),
            error_kind = failure.error_kind().as_str(),
            reason = %failure,
            latency_ms,
            "request not started"
        ),
    }
    if let Outcome::Failed(Failure::Connect(crate::connect::StartError::QuotaExceeded { .. })) =
        outcome
    {
        tracing::warn!(
            trigger,
            request_id = label.id,
            outcome = "quota_exceeded",
            "Connect's concurrent-chat quota is reached: sending stops for this invocation; the backlog waits for chats to end"
        );
    }
}

/// Logs the invocation's summary line, publishes its metric documents, and writes out every
/// line the invocation gathered: the answer goes next, and Lambda may freeze the environment
/// right after it.
pub fn finish_invocation(invocation: &Invocation, namespace: &str) {
    let tally = invocation.tally.lock().expect("tally lock");
    let (started, failed) = tally.totals();
    let failures: Vec<String> = tally
        .failures_by_code()
        .iter()
        .map(|(code, count)| format!("{code}={count}"))
        .collect();
    tracing::info!(
        trigger = invocation.trigger,
        started,
        failed,
        failures = failures.join(","),
        "invocation summary"
    );
    publish(tally.metric_documents(namespace, invocation.trigger, SystemTime::now()));
    log_output::STDOUT.flush();
}

tokio::task_local! {
    /// Where [`capture_metrics`] collects documents instead of standard output.
    static CAPTURED_METRICS: RefCell<Vec<Value>>;
}

/// Runs `future` and returns, with its output, the metric documents it published, which then
/// do not go to standard output. Standard output is one stream for a whole test binary; this
/// lets a test read exactly its own invocation's documents.
pub async fn capture_metrics<F: Future>(future: F) -> (F::Output, Vec<Value>) {
    CAPTURED_METRICS
        .scope(RefCell::new(Vec::new()), async {
            let output = future.await;
            (output, CAPTURED_METRICS.with(RefCell::take))
        })
        .await
}

/// Puts each document as one line on standard output, where the Lambda log pipeline reads EMF,
/// with the invocation's log lines ([`finish_invocation`] then writes them all).
fn publish(documents: Vec<Value>) {
    if CAPTURED_METRICS.try_with(|_| ()).is_ok() {
        CAPTURED_METRICS.with(|captured| captured.borrow_mut().extend(documents));
        return;
    }
    let mut lines = Vec::new();
    for document in documents {
        let _ = writeln!(lines, "{document}");
    }
    log_output::STDOUT.append(&lines, false);
}

/// The message of the line logged when the function shuts down.
pub const SHUTDOWN_MESSAGE: &str = "function shutting down: logs and metrics flushed";

/// Logs the shutdown line once and flushes standard output and standard error, so that nothing
/// a writer still buffers is lost when the process exits right after.
pub fn shut_down(signal: &str) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if !DONE.swap(true, Ordering::SeqCst) {
        tracing::info!(signal, "{SHUTDOWN_MESSAGE}");
    }
    log_output::STDOUT.flush();
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

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

    #[test]
    fn latencies_past_one_hundred_go_into_further_documents() {
        let mut tally = Tally::default();
        let started = Outcome::Started(crate::ContactId::new("c"));
        for ms in 0..250 {
            tally.add(
                Some(Channel::Sms),
                &started,
                Some(Duration::from_millis(ms)),
            );
        }
        let docs = tally.metric_documents("Ns", "sqs", UNIX_EPOCH);
        let sizes: Vec<usize> = docs
            .iter()
            .map(|d| d["ConnectLatency"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(docs[0]["ContactsStarted"], 250);
        assert!(docs[1].get("ContactsStarted").is_none());
        assert_eq!(
            docs[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "ConnectLatency", "Unit": "Milliseconds"}])
        );
    }
}
