//! The invocation's CloudWatch metrics as Embedded Metric Format documents, dimensioned by
//! trigger and channel, put on standard output with the invocation's log lines (or captured by
//! a test).

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::output;
use crate::domain::Channel;
use crate::invocation::{ChannelTally, ContactTally, LedgerTally, PacingTally, Tally};

/// EMF refuses a metric whose value array holds more than 100 values.
const MAX_VALUES_PER_METRIC: usize = 100;

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
pub fn metric_documents(
    tally: &Tally,
    namespace: &str,
    trigger: &str,
    at: SystemTime,
) -> Vec<Value> {
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
    let all = tally;
    for (channel, tally) in tally.channels() {
        let count = |name: &str, value: u32| (name.to_owned(), "Count", Value::from(value));
        let mut values = outcome_values(tally);
        values.extend(contact_values(&tally.contact_events));
        values.extend(
            tally
                .suppressed
                .iter()
                .map(|(reason, n)| count(&format!("Suppressed.{reason}"), *n)),
        );
        values.extend(
            tally
                .failures
                .iter()
                .map(|(code, n)| count(&format!("Failures.{code}"), *n)),
        );
        if documents.is_empty() {
            values.extend(pacing_values(&all.pacing));
            values.extend(ledger_values(&all.ledger));
        }
        let mut latencies = tally.latencies_ms.chunks(MAX_VALUES_PER_METRIC);
        let latency = |chunk: &[f64]| ("ConnectLatency".to_owned(), "Milliseconds", json!(chunk));
        values.extend(latencies.next().map(latency));
        documents.push(document(channel, values));
        documents.extend(latencies.map(|chunk| document(channel, vec![latency(chunk)])));
    }
    documents
}

/// The counts of a channel's outcomes; none for a channel seen only in contact events.
fn outcome_values(tally: &ChannelTally) -> Vec<(String, &'static str, Value)> {
    if !tally.has_outcomes() && tally.contact_events.received > 0 {
        return Vec::new();
    }
    [
        ("ContactsStarted", tally.started),
        ("RequestsSuppressed", tally.suppressed.values().sum()),
        ("RequestsFailed", tally.failures.values().sum()),
        ("Throttles", tally.throttled),
        ("ExpiredRequests", tally.expired),
        ("Deferred", tally.deferred),
        ("Requeued", tally.requeued),
        ("RequeueLimitReached", tally.requeue_limit),
        ("SmsSegments", tally.sms_segments),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), "Count", Value::from(value)))
    .collect()
}

/// The counts of Connect's contact events, when the invocation had any for the channel: the
/// events, those for contacts the ledger does not know, and the contacts they connected, ended
/// and showed a customer's reply for.
fn contact_values(events: &ContactTally) -> Vec<(String, &'static str, Value)> {
    if events.received == 0 {
        return Vec::new();
    }
    [
        ("ContactEvents", events.received),
        ("ContactEventsUnknown", events.unknown),
        ("ContactsConnected", events.connected),
        ("ContactsEnded", events.ended),
        ("CustomerReplies", events.replies),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), "Count", Value::from(value)))
    .collect()
}

/// The ledger's figures, once per invocation (in its first document) when it did anything:
/// requests answered from their entry, changes not recorded, outcome events published and not.
fn ledger_values(ledger: &LedgerTally) -> Vec<(String, &'static str, Value)> {
    let figures = [
        ("LedgerAnswers", ledger.answered),
        ("LedgerWriteFailures", ledger.unrecorded),
        ("OutcomeEventsPublished", ledger.published),
        ("OutcomeEventsFailed", ledger.unpublished),
    ];
    if figures.iter().all(|(_, n)| *n == 0) {
        return Vec::new();
    }
    figures
        .into_iter()
        .map(|(name, value)| (name.to_owned(), "Count", Value::from(value)))
        .collect()
}

/// The pacing figures of a paced instance, once per invocation (in its first document): the
/// instance's rate, the time its requests waited for slots, and the attempts Connect throttled.
fn pacing_values(pacing: &PacingTally) -> Vec<(String, &'static str, Value)> {
    let Some(rate) = pacing.rate else {
        return Vec::new();
    };
    vec![
        ("PacingRate".to_owned(), "Count/Second", json!(rate)),
        (
            "PacingWait".to_owned(),
            "Milliseconds",
            json!(pacing.wait.as_secs_f64() * 1000.0),
        ),
        (
            "ThrottledAttempts".to_owned(),
            "Count",
            json!(pacing.throttled_attempts),
        ),
    ]
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
pub(super) fn publish(documents: Vec<Value>) {
    if CAPTURED_METRICS.try_with(|_| ()).is_ok() {
        CAPTURED_METRICS.with(|captured| captured.borrow_mut().extend(documents));
        return;
    }
    let mut lines = Vec::new();
    for document in documents {
        let _ = writeln!(lines, "{document}");
    }
    output::STDOUT.append(&lines, false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::ContactId;
    use crate::domain::Channel;
    use crate::invocation::Invocation;
    use crate::outcome::Outcome;
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn latencies_past_one_hundred_go_into_further_documents() {
        let invocation = Invocation::new("sqs", Instant::now(), 1);
        let started = Outcome::Started(ContactId::new("c"), None);
        for ms in 0..250 {
            invocation.count(
                Some(Channel::Sms),
                &started,
                Some(Duration::from_millis(ms)),
            );
        }
        let docs = metric_documents(&invocation.tally(), "Ns", "sqs", UNIX_EPOCH);
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
