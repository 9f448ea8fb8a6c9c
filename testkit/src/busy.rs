//! Keeping a function instance busy: invoked back to back until a moment, as Lambda keeps an
//! instance busy while its event source has work (an SQS poller with a backlog, steady API
//! traffic). Several processes, each with its own [`RuntimeApi`], driven at once make a fleet.

use std::time::Instant;

use serde_json::Value;

use crate::process::Process;
use crate::runtime_api::{Invocation, RuntimeApi};

/// Invokes `process` through `api` with one event after another from `next_event`, each as soon
/// as the previous one is answered, and starts none at or after `until`. Returns the answers in
/// order; fails with the process's output if one is not answered in time.
pub async fn keep_busy(
    process: &mut Process,
    api: &RuntimeApi,
    until: Instant,
    mut next_event: impl FnMut() -> Value,
) -> Vec<Invocation> {
    let mut answers = Vec::new();
    while Instant::now() < until {
        let name = format!("busy invocation {}", answers.len() + 1);
        answers.push(process.invoke(api, &name, next_event()).await);
    }
    answers
}
