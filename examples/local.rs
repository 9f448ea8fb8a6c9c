//! Runs the function locally: the real handler and the real SDK client (the same code path as
//! in Lambda) on sample events, against the Connect simulator started in-process, and prints
//! the function's answer and what Connect received.
//!
//! ```text
//! cargo run --example local                      # every file in events/
//! cargo run --example local -- events/eventbridge.json
//! cargo run --example local -- --real-connect events/eventbridge.json   # a real Connect
//! SEND_WINDOW='Mon-Fri 08:00-21:00' cargo run --example local -- \
//!     --now 2026-11-30T03:00:00-05:00 events/eventbridge.json             # at 3 a.m.
//! ```
//!
//! With `--real-connect` nothing is simulated: the SDK takes region, credentials and endpoint
//! from the environment, and the function's variables (`CONNECT_INSTANCE_ID`, ...) must be set.
//! `--now` starts the function's clock at that instant (it then runs on), to see what a send
//! window does with a request at any local time; with a window set, the SQS client is wired as
//! in Lambda (`AWS_ENDPOINT_URL_SQS` and `REQUEST_QUEUE_URL` point it at a queue).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_simulator::{JournalEntry, Simulator, SimulatorConfig};
use lambda_runtime::{Context, LambdaEvent};
use outbound_chat::ClientSettings;
use outbound_chat::load_client;
use outbound_chat::runtime::CoalescedStdout;
use outbound_chat::runtime::{self, LogSettings};
use outbound_chat::{
    Config, Function, SdkContactStarter, SdkRequestQueue, ShiftedClock, load_sqs_client,
};
use serde_json::Value;

/// Configuration used against the simulator when the environment sets none.
const SIMULATED_DEFAULTS: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "AKIDLOCALEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "local-secret"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: cargo run --example local -- [--real-connect] [--now RFC3339] [EVENT_FILE ...]\n\nWith no file, runs every file in events/."
        );
        return Ok(());
    }
    let real = args.iter().any(|a| a == "--real-connect");
    args.retain(|a| a != "--real-connect");
    let now = match args.iter().position(|a| a == "--now") {
        None => None,
        Some(at) => {
            let value = args
                .get(at + 1)
                .ok_or("--now needs a time, e.g. 2026-11-30T03:00:00-05:00")?;
            let now: jiff::Timestamp = value
                .parse()
                .map_err(|e| format!("--now {value:?}: not an RFC 3339 time ({e})"))?;
            args.drain(at..at + 2);
            Some(now)
        }
    };
    let files = if args.is_empty() {
        sample_files()?
    } else {
        args.iter().map(PathBuf::from).collect()
    };

    let simulator_addr = if real {
        None
    } else {
        // Learn a free port before any thread exists, so the environment can be set safely.
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let endpoint = format!("http://{addr}");
        let mut vars: Vec<(&str, String)> = vec![("AWS_ENDPOINT_URL_CONNECT", endpoint)];
        let sample_instance = connect_simulator::sample::FUNCTION_VARIABLES;
        for (name, value) in SIMULATED_DEFAULTS.iter().chain(&sample_instance) {
            if std::env::var_os(name).is_none() {
                vars.push((name, value.to_string()));
            }
        }
        for (name, value) in vars {
            // SAFETY: single-threaded here: no runtime or other thread has started yet.
            unsafe { std::env::set_var(name, value) };
        }
        Some(addr)
    };

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(files, simulator_addr, now))
}

async fn run(
    files: Vec<PathBuf>,
    simulator_addr: Option<SocketAddr>,
    now: Option<jiff::Timestamp>,
) -> Result<(), Box<dyn std::error::Error>> {
    // The function's own log set-up: same format, levels and personal-data caps as in Lambda.
    let subscriber = runtime::log_subscriber(&LogSettings::from_env(), CoalescedStdout);
    tracing::subscriber::set_global_default(subscriber)?;
    let simulator = match simulator_addr {
        Some(addr) => Some(Simulator::start_on(addr, SimulatorConfig::default()).await?),
        None => None,
    };
    // The function exactly as `main.rs` wires it.
    let config = Config::from_env()?;
    let mut function = Function::new(
        SdkContactStarter::new(load_client(&ClientSettings::from_env()?, config.timeouts)),
        &config,
    );
    if config.send_window.is_some() {
        let settings = ClientSettings::for_sqs(|name| std::env::var(name).ok())?;
        let queue = SdkRequestQueue::new(load_sqs_client(&settings, config.timeouts));
        function = function.with_queue(Arc::new(queue));
    }
    if let Some(now) = now {
        function = function.with_clock(Arc::new(ShiftedClock::starting_at(now)));
    }

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
        if let Some(simulator) = &simulator {
            let journal = simulator.journal();
            print_received(&journal[seen..]);
            seen = journal.len();
        }
    }
    if let Some(simulator) = simulator {
        println!("\n=== Connect, in all: {}", simulator.summary());
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
        let subtype = entry.request["SegmentAttributes"]["connect:Subtype"]["ValueString"]
            .as_str()
            .unwrap_or("?");
        println!("  #{} {} ({subtype})", entry.sequence, entry.outcome);
    }
}

fn sample_files() -> std::io::Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    Ok(files)
}
