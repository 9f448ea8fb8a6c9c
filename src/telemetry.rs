//! What the function tells its operators: one structured log line per request outcome, a
//! summary line per invocation, and a CloudWatch Embedded Metric Format document. Nothing
//! here ever sees a full phone number or message text: outcomes carry masked data only.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::domain::Channel;
use crate::outcome::{Failure, Outcome};
use crate::send::{Invocation, RequestLabel};

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

    /// The invocation's metrics as EMF documents, one per channel seen (EMF gives each
    /// document one value per dimension), under `namespace`, dimensioned by trigger and
    /// channel.
    pub fn metric_documents(&self, namespace: &str, trigger: &str, at: SystemTime) -> Vec<Value> {
        let timestamp = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        self.per_channel
            .iter()
            .map(|(channel, tally)| {
                let mut metrics = vec![
                    json!({"Name": "ContactsStarted", "Unit": "Count"}),
                    json!({"Name": "RequestsFailed", "Unit": "Count"}),
                    json!({"Name": "Throttles", "Unit": "Count"}),
                    json!({"Name": "ExpiredRequests", "Unit": "Count"}),
                ];
                let mut doc = Map::new();
                doc.insert("Trigger".into(), trigger.into());
                doc.insert(
                    "Channel".into(),
                    channel.map_or("UNKNOWN", Channel::as_str).into(),
                );
                doc.insert("ContactsStarted".into(), tally.started.into());
                doc.insert(
                    "RequestsFailed".into(),
                    tally.failures.values().sum::<u32>().into(),
                );
                doc.insert("Throttles".into(), tally.throttled.into());
                doc.insert("ExpiredRequests".into(), tally.expired.into());
                for (code, count) in &tally.failures {
                    let name = format!("Failures.{code}");
                    metrics.push(json!({"Name": name, "Unit": "Count"}));
                    doc.insert(name, (*count).into());
                }
                if !tally.latencies_ms.is_empty() {
                    metrics.push(json!({"Name": "ConnectLatency", "Unit": "Milliseconds"}));
                    doc.insert("ConnectLatency".into(), json!(tally.latencies_ms));
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
            })
            .collect()
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

/// Logs the invocation's summary line and prints its metric documents (EMF is read from
/// standard output by the Lambda log pipeline).
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
    for doc in tally.metric_documents(namespace, invocation.trigger, SystemTime::now()) {
        println!("{doc}");
    }
}
