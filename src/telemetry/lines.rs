//! The lines an operator reads: one per request outcome (masked data only), and one summary per
//! invocation, after which the invocation's metrics and every gathered line are written out.

use std::time::{Duration, SystemTime};

use super::metrics::{metric_documents, publish};
use super::output;
use crate::connect::StartError;
use crate::domain::Channel;
use crate::invocation::Invocation;
use crate::outcome::{Failure, Outcome, Requeue};

/// Logs one request's outcome line: its channel and what became of it, never the number or the
/// message. Its trigger and the trigger's id for it are the request span's (see
/// [`super::request_span`]), in which the line is logged.
pub fn log_outcome(channel: Option<Channel>, outcome: &Outcome, latency: Option<Duration>) {
    let channel = channel.map_or("UNKNOWN", Channel::as_str);
    let latency_ms = latency.map(|l| l.as_millis() as u64);
    match outcome {
        Outcome::Started(contact_id, cost) => tracing::info!(
            channel,
            outcome = "started",
            contact_id = contact_id.as_str(),
            encoding = cost.map(|c| c.encoding.as_str()),
            segments = cost.map(|c| c.segments),
            latency_ms,
            "contact started"
        ),
        Outcome::Suppressed(reason) => tracing::info!(
            channel,
            outcome = "suppressed",
            reason = reason.as_str(),
            "request suppressed"
        ),
        Outcome::Deferred { not_before } => tracing::info!(
            channel,
            outcome = "deferred",
            not_before = %not_before,
            "request held until its send window opens"
        ),
        Outcome::Requeued(Requeue { cause, not_before }) => tracing::info!(
            channel,
            outcome = "requeued",
            code = cause.reason_code(),
            reason = %cause,
            not_before = %not_before,
            latency_ms,
            "Connect asked to slow down: the record is back on its queue with a delay and the same client token"
        ),
        Outcome::Failed(failure) => tracing::warn!(
            channel,
            outcome = "failed",
            code = failure.reason_code(),
            error_kind = failure.error_kind().as_str(),
            reason = %failure,
            latency_ms,
            "request not started"
        ),
    }
    if let Outcome::Failed(cause) | Outcome::Requeued(Requeue { cause, .. }) = outcome
        && let Failure::Connect(StartError::QuotaExceeded { .. }) = cause
    {
        tracing::warn!(
            outcome = "quota_exceeded",
            "Connect's concurrent-chat quota is reached: sending stops for this invocation; the backlog waits for chats to end"
        );
    }
}

/// Logs the invocation's summary line, publishes its metric documents, and writes out every
/// line the invocation gathered: the answer goes next, and Lambda may freeze the environment
/// right after it.
pub fn finish_invocation(invocation: &Invocation, namespace: &str) {
    let tally = invocation.tally();
    let (started, failed) = tally.totals();
    let deferred = tally.deferred();
    let requeued = tally.requeued();
    let failures: Vec<String> = tally
        .failures_by_code()
        .iter()
        .map(|(code, count)| format!("{code}={count}"))
        .collect();
    let suppressed_by_reason = tally.suppressed_by_reason();
    let suppressed: u32 = suppressed_by_reason.values().sum();
    let suppressions: Vec<String> = suppressed_by_reason
        .iter()
        .map(|(reason, count)| format!("{reason}={count}"))
        .collect();
    tracing::info!(
        trigger = invocation.trigger(),
        started,
        suppressed,
        deferred,
        requeued,
        failed,
        suppressions = suppressions.join(","),
        failures = failures.join(","),
        "invocation summary"
    );
    publish(metric_documents(
        &tally,
        namespace,
        invocation.trigger(),
        SystemTime::now(),
    ));
    output::STDOUT.flush();
}
