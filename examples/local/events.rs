//! Event files through the function, one invocation each, as Lambda would deliver them: the
//! answer, and what Connect received for it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_simulator::JournalEntry;
use lambda_runtime::{Context, LambdaEvent};
use outbound_chat::Function;
use outbound_chat::adapters::SdkContactStarter;
use serde_json::Value;

use super::{MaybeSimulator, received_line};

/// Invokes `function` with each file's event and prints its answer and Connect's side.
pub async fn run_files(
    files: &[PathBuf],
    function: &Function<SdkContactStarter>,
    simulator: MaybeSimulator<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut seen = 0;
    for (index, file) in files.iter().enumerate() {
        let event: Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
        println!("\n=== {}", file.display());
        let answer = function
            .handle_lambda(LambdaEvent::new(event, context(index)))
            .await;
        match answer {
            Ok(answer) => println!("answer:\n{}", serde_json::to_string_pretty(&answer)?),
            Err(err) => println!("error: {} ({})", err.error_type(), err),
        }
        if let Some(simulator) = simulator {
            let journal = simulator.journal();
            print_received(&journal[seen..]);
            seen = journal.len();
        }
    }
    Ok(())
}

/// A Lambda context with a 30-second deadline, as the SAM template configures.
fn context(index: usize) -> Context {
    let mut context = Context::default();
    context.request_id = format!("local-invocation-{index}");
    let deadline = SystemTime::now() + Duration::from_secs(30);
    context.deadline = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:outbound-chat".into();
    context
}

fn print_received(entries: &[JournalEntry]) {
    let count = |f: fn(&JournalEntry) -> bool| entries.iter().filter(|e| f(e)).count();
    use connect_simulator::Outcome::*;
    println!(
        "Connect received {} request(s): {} started, {} replayed, {} refused as invalid, {} throttled, {} other",
        entries.len(),
        count(|e| matches!(e.outcome, Started { .. })),
        count(|e| matches!(e.outcome, Replayed { .. })),
        count(|e| matches!(e.outcome, Invalid { .. })),
        count(|e| matches!(e.outcome, Throttled | LimitExceeded)),
        count(|e| !matches!(
            e.outcome,
            Started { .. } | Replayed { .. } | Invalid { .. } | Throttled | LimitExceeded
        )),
    );
    for entry in entries {
        println!("{}", received_line(entry));
    }
}

/// Every `.json` file in the repository's `events/`, sorted.
pub fn sample_files() -> std::io::Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    Ok(files)
}
