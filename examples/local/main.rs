//! Runs the function locally: the real handler and the function's own HTTPS client and timeouts
//! on sample events, or behind a local HTTP endpoint, against the Connect simulator started
//! in-process (or a real Connect), and prints the function's answers and what Connect received.
//!
//! ```text
//! cargo run --example local                      # every file in events/
//! cargo run --example local -- events/eventbridge.json
//! cargo run --example local -- --serve 127.0.0.1:9000   # POST /contacts, POST /contacts/batch
//! cargo run --example local -- --real-connect events/eventbridge.json   # a real Connect
//! cargo run --example local -- --ledger events/sqs-mixed-batch.json      # SENT → CONNECTED → ENDED
//! SEND_WINDOW='Mon-Fri 08:00-21:00' cargo run --example local -- \
//!     --now 2026-11-30T03:00:00-05:00 events/eventbridge.json             # at 3 a.m.
//! ```
//!
//! Region, credentials and endpoint come from the SDK's standard chain (`client.rs`): against
//! the simulator, dummy keys and its endpoint are set where the environment has none; with
//! `--real-connect` nothing is simulated, and the function's variables (`CONNECT_INSTANCE_ID`,
//! ...) must be set. `--now` starts the function's clock at that instant (it then runs on), to
//! see what a send window does with a request at any local time; with a window set, the SQS
//! client is wired as in Lambda (`AWS_ENDPOINT_URL_SQS` and `REQUEST_QUEUE_URL` point it at a
//! queue). `--ledger` starts DynamoDB Local with the function's table (the default run starts
//! none), makes the simulator end each chat after `--end-chats-after` seconds (default 2; with
//! `--customer-replies`, the customer replies first), hands its contact events to the function,
//! and prints each request's status from the ledger.

mod client;
mod events;
mod ledger;
mod serve;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use connect_simulator::{JournalEntry, RunningSimulator, Simulator, SimulatorConfig};
use outbound_chat::adapters::{DynamoLedger, DynamoRecipientState};
use outbound_chat::adapters::{SdkContactStarter, SdkRequestQueue};
use outbound_chat::runtime::{self, CoalescedStdout, LogSettings};
use outbound_chat::{Config, Function, ShiftedClock};

const USAGE: &str =
    "usage: cargo run --example local -- [--real-connect] [--now RFC3339] [--ledger [--end-chats-after SECONDS] [--customer-replies]] [--serve ADDRESS | EVENT_FILE ...]

With no file, runs every file in events/. With --serve, answers HTTP requests on ADDRESS
(e.g. 127.0.0.1:9000; port 0 picks a free one) as the HTTP API would.
With --real-connect, calls the Connect that the SDK's standard chain (environment, profile,
SSO, ...) points at instead of the simulator. With --now (e.g. 2026-11-30T03:00:00-05:00), the
function's clock starts at that instant. With --ledger, DynamoDB Local holds the ledger, the
simulator's chats end after --end-chats-after seconds (default 2), and each request's status is
printed at the end.";

/// Configuration used against the simulator when the environment sets none.
const SIMULATED_DEFAULTS: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "AKIDLOCALEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "local-secret"),
];

/// What the command line asks for.
struct Options {
    real_connect: bool,
    now: Option<jiff::Timestamp>,
    serve: Option<SocketAddr>,
    files: Vec<PathBuf>,
    ledger: bool,
    end_chats_after: std::time::Duration,
    customer_replies: bool,
}

impl Options {
    /// `None` when help was asked for.
    fn parse(args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut options = Options {
            real_connect: false,
            now: None,
            serve: None,
            files: Vec::new(),
            ledger: false,
            end_chats_after: std::time::Duration::from_secs(2),
            customer_replies: false,
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--real-connect" => options.real_connect = true,
                "--ledger" => options.ledger = true,
                "--customer-replies" => options.customer_replies = true,
                "--end-chats-after" => {
                    let value = args.next().ok_or("--end-chats-after needs seconds")?;
                    let seconds: u64 = value
                        .parse()
                        .map_err(|_| format!("--end-chats-after {value:?}: not whole seconds"))?;
                    options.end_chats_after = std::time::Duration::from_secs(seconds);
                }
                "--now" => {
                    let value = args
                        .next()
                        .ok_or("--now needs a time, e.g. 2026-11-30T03:00:00-05:00")?;
                    let now = value
                        .parse()
                        .map_err(|e| format!("--now {value:?}: not an RFC 3339 time ({e})"))?;
                    options.now = Some(now);
                }
                "--serve" => {
                    let address = args.next().ok_or("--serve needs an address")?;
                    let address = address.parse().map_err(|_| {
                        format!("--serve {address}: not an address like 127.0.0.1:9000")
                    })?;
                    options.serve = Some(address);
                }
                _ => options.files.push(PathBuf::from(arg)),
            }
        }
        if options.serve.is_some() && !options.files.is_empty() {
            return Err("--serve takes no event files".into());
        }
        Ok(Some(options))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(options) = Options::parse(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let simulator_addr = if options.real_connect {
        None
    } else {
        Some(simulated_environment()?)
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(options, simulator_addr))
}

/// Points the SDK at a simulator on a free port, and fills the variables the environment leaves
/// unset: dummy credentials, a region, the sample instance. Returns the simulator's address.
fn simulated_environment() -> std::io::Result<SocketAddr> {
    // Learn a free port before any thread exists, so the environment can be set safely.
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut vars: Vec<(&str, String)> =
        vec![("AWS_ENDPOINT_URL_CONNECT", format!("http://{addr}"))];
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
    Ok(addr)
}

async fn run(
    options: Options,
    simulator_addr: Option<SocketAddr>,
) -> Result<(), Box<dyn std::error::Error>> {
    // The function's own log set-up: same format, levels and personal-data caps as in Lambda.
    let subscriber = runtime::log_subscriber(&LogSettings::from_env(), CoalescedStdout);
    tracing::subscriber::set_global_default(subscriber)?;
    let simulated = SimulatorConfig {
        end_chats_after: options.ledger.then_some(options.end_chats_after),
        customer_replies: options.customer_replies,
        ..SimulatorConfig::default()
    };
    let simulator = match simulator_addr {
        Some(addr) => Some(Simulator::start_on(addr, simulated).await?),
        None => None,
    };
    // The function as `main.rs` wires it, with a client from the SDK's standard chain; with
    // `--ledger`, the local table and a local hash key unless the environment names others.
    let config = Config::from_lookup(|name| {
        let local = match name {
            "STATE_TABLE_NAME" if options.ledger => Some(ledger::TABLE),
            "RECIPIENT_HASH_KEY" if options.ledger => Some(ledger::LOCAL_HASH_KEY),
            _ => None,
        };
        std::env::var(name).ok().or(local.map(str::to_owned))
    })?;
    let shared = client::shared_config(config.timeouts()).await?;
    let mut function = Function::new(
        SdkContactStarter::new(aws_sdk_connect::Client::new(&shared)),
        &config,
    );
    if config.has_send_window() {
        let queue = SdkRequestQueue::new(aws_sdk_sqs::Client::new(&shared));
        function = function.with_queue(Arc::new(queue));
    }
    if let Some(now) = options.now {
        function = function.with_clock(Arc::new(ShiftedClock::starting_at(now)));
    }
    let mut local_table = None;
    if let (true, Some(table)) = (options.ledger, config.state_table()) {
        let (local, client) = ledger::start(&shared).await?;
        local_table = Some(local);
        let state = DynamoRecipientState::new(client.clone(), table);
        let ledger = DynamoLedger::new(client, table);
        function = function
            .with_recipient_state(Arc::new(state))
            .with_ledger(Arc::new(ledger), None);
    }
    // Subscribed before the first send, so that every started contact's life is told.
    let mut contact_events = match (&simulator, options.ledger) {
        (Some(simulator), true) => Some(simulator.contact_events()),
        _ => None,
    };

    match options.serve {
        Some(address) => {
            serve::serve(address, function, simulator.as_ref(), contact_events).await?
        }
        None => {
            let files = match options.files {
                files if files.is_empty() => events::sample_files()?,
                files => files,
            };
            events::run_files(&files, &function, simulator.as_ref()).await?;
            if let (Some(events), Some(simulator)) = (&mut contact_events, &simulator) {
                let quiet = options.end_chats_after + std::time::Duration::from_secs(2);
                println!(
                    "\n=== Contact events (chats end after {:?})",
                    options.end_chats_after
                );
                ledger::follow(&function, events, simulator, quiet).await;
            }
        }
    }
    drop(local_table);
    if let Some(simulator) = simulator {
        println!("\n=== Connect, in all: {}", simulator.summary());
    }
    Ok(())
}

/// One line for a request Connect received: its sequence number, outcome and channel.
fn received_line(entry: &JournalEntry) -> String {
    let subtype = entry.request["SegmentAttributes"]["connect:Subtype"]["ValueString"]
        .as_str()
        .unwrap_or("?");
    format!("  #{} {} ({subtype})", entry.sequence, entry.outcome)
}

/// The simulator, when the run has one.
type MaybeSimulator<'a> = Option<&'a RunningSimulator>;
