//! The benchmark harness: runs a release `bootstrap` and the `floor` binary as Lambda would
//! (Runtime API emulator, Lambda's environment), against the Connect simulator behind a TLS
//! front, all on 127.0.0.1, and prints each figure beside its floor with its target as a
//! Markdown table. `scripts/bench` builds the binaries and runs it; see BENCHMARKS.md.
//!
//! ```text
//! bench-harness --bootstrap target/release/bootstrap --floor target/release/floor
//!     [--spawns 15] [--batches 300] [--first-calls 5] [--only NAME,...]
//!     [--env KEY=VALUE]... [--command TEXT] [--note TEXT]...
//! ```
//!
//! `--env` sets a variable for `bootstrap` only, for experiments (`AWS_LAMBDA_LOG_LEVEL=WARN`
//! shows what its INFO outcome lines cost); the report lists it.
//!
//! Scenario names for `--only`: size, one-time, cold-start, first-call, cpu, batch-latency,
//! contact-events (needs the ledger's `--env`),
//! quota, rss, fleet, flow-latency.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connect_simulator::{Outcome, RateLimit, RunningSimulator, Simulator, SimulatorConfig};
use lambda_testkit::{Answer, Process, RuntimeApi, keep_busy};
use outbound_chat_bench::contact_events::ContactEvents;
use outbound_chat_bench::events::{SqsEvents, direct_request, flow_event};
use outbound_chat_bench::fleet::{self, SCENARIOS, Scenario, Shares};
use outbound_chat_bench::report::{self, Report, Row, mb, median, ms, spread};
use outbound_chat_bench::tls::{Certificates, TlsFront};
use serde_json::Value;

/// The whole run gives up after this long.
const RUN_LIMIT: Duration = Duration::from_secs(20 * 60);
/// Lambda timeout given with ordinary invocations.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Lambda timeout given with the 10,000-record batch.
const LARGE_INVOCATION_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a process may take to reach its first poll.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Bytes in the report's MB.
const MB: u64 = 1_000_000;

struct Args {
    bootstrap: PathBuf,
    floor: PathBuf,
    spawns: usize,
    batches: usize,
    first_calls: usize,
    only: Vec<String>,
    env: Vec<(String, String)>,
    command: String,
    notes: Vec<String>,
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut args = Self {
            bootstrap: "target/release/bootstrap".into(),
            floor: "target/release/floor".into(),
            spawns: 15,
            batches: 300,
            first_calls: 5,
            only: Vec::new(),
            env: Vec::new(),
            command: "scripts/bench".into(),
            notes: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or(format!("{flag} needs a value"));
            let number = |v: String| v.parse::<usize>().map_err(|_| format!("not a number: {v}"));
            match flag.as_str() {
                "--bootstrap" => args.bootstrap = value()?.into(),
                "--floor" => args.floor = value()?.into(),
                "--spawns" => args.spawns = number(value()?)?.max(1),
                "--batches" => args.batches = number(value()?)?.max(1),
                "--first-calls" => args.first_calls = number(value()?)?.max(1),
                "--only" => args
                    .only
                    .extend(value()?.split(',').map(|s| s.trim().to_owned())),
                "--env" => {
                    let pair = value()?;
                    let (k, v) = pair.split_once('=').ok_or(format!("--env {pair}: no ="))?;
                    args.env.push((k.to_owned(), v.to_owned()));
                }
                "--command" => args.command = value()?,
                "--note" => args.notes.push(value()?),
                "-h" | "--help" => {
                    return Err("usage: bench-harness --bootstrap PATH --floor PATH [--spawns N] \
                         [--batches N] [--first-calls N] [--only NAME,...] [--env KEY=VALUE]... [--command TEXT] [--note TEXT]..."
                        .into());
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(args)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bin {
    Bootstrap,
    Floor,
}

/// The simulator and its TLS front.
struct Connect {
    simulator: RunningSimulator,
    tls: TlsFront,
}

impl Connect {
    async fn start(config: SimulatorConfig, certificates: &Certificates) -> Result<Self, String> {
        let simulator = Simulator::start(config).await.map_err(|e| e.to_string())?;
        let tls = TlsFront::start(certificates, simulator.local_addr())
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self { simulator, tls })
    }

    fn url(&self, https: bool) -> String {
        if https {
            self.tls.endpoint_url()
        } else {
            self.simulator.endpoint_url()
        }
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.simulator
            .journal()
            .iter()
            .filter(|e| f(&e.outcome))
            .count()
    }
}

/// A process under test and its Runtime API.
struct Running {
    child: Process,
    api: RuntimeApi,
    /// Spawn to first poll.
    cold: Duration,
    bin: Bin,
}

impl Running {
    /// Invokes with `event` and checks the answer: no error, and for `bootstrap` no failed
    /// record.
    async fn invoke(&mut self, event: Bytes, timeout: Duration) -> Result<Answer, String> {
        let answer = self.invoke_unchecked(event, timeout).await?;
        let failed = failed_records(&answer);
        if answer.is_error() || failed > 0 {
            return Err(format!(
                "{:?} answered {} ({failed} failed records)\n{}",
                self.bin,
                answer.body,
                self.child.output_tail()
            ));
        }
        Ok(answer)
    }

    async fn invoke_unchecked(
        &mut self,
        event: Bytes,
        timeout: Duration,
    ) -> Result<Answer, String> {
        self.api
            .invoke(event, timeout)
            .await
            .map_err(|e| format!("{:?}: {e}\n{}", self.bin, self.child.output_tail()))
    }
}

/// `batchItemFailures` entries in an SQS answer.
fn failed_records(answer: &Answer) -> usize {
    serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| {
            v.get("batchItemFailures")
                .and_then(Value::as_array)
                .map(Vec::len)
        })
        .unwrap_or(0)
}

struct Bench {
    args: Args,
    dir: PathBuf,
    certificates: Certificates,
    bundle: PathBuf,
    events: SqsEvents,
}

impl Bench {
    fn path(&self, bin: Bin) -> &Path {
        match bin {
            Bin::Bootstrap => &self.args.bootstrap,
            Bin::Floor => &self.args.floor,
        }
    }

    /// Lambda's environment for a `provided.al2023` function, pointed at `api` and `endpoint`.
    fn environment(
        &self,
        bin: Bin,
        api: &RuntimeApi,
        endpoint: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let task_root = self
            .path(bin)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut env: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", api.address().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "outbound-chat"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/outbound-chat"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK"),
            ("AWS_SECRET_ACCESS_KEY", "bench-secret"),
            ("AWS_SESSION_TOKEN", "bench-session-token"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ENDPOINT_URL_CONNECT", endpoint),
            ("SSL_CERT_FILE", &self.bundle.display().to_string()),
            ("LAMBDA_TASK_ROOT", &task_root),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
            ("_HANDLER", "bootstrap"),
            ("TZ", ":UTC"),
            ("LANG", "en_US.UTF-8"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("MAX_IN_FLIGHT", "10"),
        ]
        .iter()
        .chain(&connect_simulator::sample::FUNCTION_VARIABLES)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let overrides = extra.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let from_args = self
            .args
            .env
            .iter()
            .filter(|_| bin == Bin::Bootstrap)
            .cloned();
        for (k, v) in overrides.chain(from_args) {
            env.retain(|(key, _)| *key != k);
            env.push((k, v));
        }
        env
    }

    /// Starts `bin` with a fresh Runtime API and waits for its first poll.
    async fn launch(
        &self,
        bin: Bin,
        endpoint: &str,
        extra: &[(&str, &str)],
    ) -> Result<Running, String> {
        let api = RuntimeApi::start().await;
        let env = self.environment(bin, &api, endpoint, extra);
        let mut child = Process::spawn(self.path(bin), env)
            .map_err(|e| format!("{}: {e}", self.path(bin).display()))?;
        let polled = api
            .wait_first_poll(INIT_LIMIT, || child.alive())
            .await
            .map_err(|e| format!("{bin:?}: {e}\n{}", child.output_tail()))?;
        Ok(Running {
            cold: polled - child.started(),
            child,
            api,
            bin,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    match tokio::time::timeout(RUN_LIMIT, run(args)).await {
        Ok(Ok(failures)) => std::process::exit(i32::from(failures > 0)),
        Ok(Err(message)) => {
            eprintln!("bench-harness: {message}");
            std::process::exit(1);
        }
        Err(_) => {
            eprintln!("bench-harness: gave up after {RUN_LIMIT:?}");
            std::process::exit(1);
        }
    }
}

/// Runs every scenario; a scenario that fails becomes a row saying so. Returns how many failed.
async fn run(args: Args) -> Result<usize, String> {
    for path in [&args.bootstrap, &args.floor] {
        if !path.is_file() {
            return Err(format!("{} not found: build it first", path.display()));
        }
    }
    let dir = std::env::temp_dir().join(format!("outbound-chat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let certificates = Certificates::generate().map_err(|e| e.to_string())?;
    let (bundle, bundle_certs) = certificates.write_bundle(&dir).map_err(|e| e.to_string())?;
    let mut bench = Bench {
        args,
        dir,
        certificates,
        bundle,
        events: SqsEvents::new(),
    };

    let mut report = Report::default();
    report.header.extend(report::machine());
    report.header.push(("date".into(), report::utc_now()));
    report
        .header
        .push(("command".into(), format!("`{}`", bench.args.command)));
    for note in &bench.args.notes {
        report.header.push(("build".into(), note.clone()));
    }
    for (k, v) in &bench.args.env {
        report.header.push((
            "bootstrap environment override".into(),
            format!("`{k}={v}`"),
        ));
    }
    report.notes.push(format!(
        "TLS: the SDK trusts `SSL_CERT_FILE` = the system bundle + the bench authority \
         ({bundle_certs} certificates), as Lambda's runtime trusts its system bundle."
    ));

    let mut failures = 0;
    type Figure =
        fn(&mut Bench) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<Row>, String>> + '_>>;
    let scenarios: [(&str, Figure); 11] = [
        ("size", |b| Box::pin(sizes(b))),
        ("one-time", |b| Box::pin(probe(b))),
        ("cold-start", |b| Box::pin(cold_start(b))),
        ("first-call", |b| Box::pin(first_call(b))),
        ("cpu", |b| Box::pin(cpu_per_message(b))),
        ("batch-latency", |b| Box::pin(batch_latency(b))),
        ("quota", |b| Box::pin(quota(b))),
        ("rss", |b| Box::pin(peak_rss(b))),
        ("fleet", |b| Box::pin(fleet_shares(b))),
        ("flow-latency", |b| Box::pin(flow_latency(b))),
        ("contact-events", |b| Box::pin(contact_event_cost(b))),
    ];
    if let Some(unknown) = bench
        .args
        .only
        .iter()
        .find(|name| !scenarios.iter().any(|(n, _)| n == name))
    {
        return Err(format!("unknown scenario {unknown}"));
    }
    for (name, scenario) in scenarios {
        if !bench.args.only.is_empty() && !bench.args.only.iter().any(|n| n == name) {
            continue;
        }
        eprintln!("== {name}");
        let started = Instant::now();
        match scenario(&mut bench).await {
            Ok(rows) => {
                for row in &rows {
                    eprintln!("   {}: {} (floor {})", row.figure, row.measured, row.floor);
                }
                report.rows.extend(rows);
            }
            Err(message) => {
                failures += 1;
                eprintln!("   FAILED: {message}");
                let first_line = message.lines().next().unwrap_or_default().to_owned();
                report
                    .rows
                    .push(Row::new(name, format!("failed: {first_line}")).target("—", false));
            }
        }
        eprintln!("   ({:.1} s)", started.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&bench.dir);
    println!("{}", report.markdown());
    Ok(failures)
}

/// Figure 7: The stripped binaries and their zips, as deployed.
async fn sizes(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let size = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let zipped = |path: &Path, name: &str| -> Result<u64, String> {
        let zip = bench.dir.join(format!("{name}.zip"));
        let status = Command::new("zip")
            .args(["-q", "-X", "-j"])
            .arg(&zip)
            .arg(path)
            .status()
            .map_err(|e| format!("the zip CLI: {e}"))?;
        if !status.success() {
            return Err(format!("zip exited with {status}"));
        }
        size(&zip)
    };
    let (binary, floor_binary) = (size(&bench.args.bootstrap)?, size(&bench.args.floor)?);
    let (zip, floor_zip) = (
        zipped(&bench.args.bootstrap, "bootstrap")?,
        zipped(&bench.args.floor, "floor")?,
    );
    Ok(vec![
        Row::new("Size of `bootstrap` (stripped release)", mb(binary))
            .floor(mb(floor_binary))
            .target("≤ 6 MB", binary <= 6 * MB),
        Row::new("Size of its zip (`zip -X`, deflate)", mb(zip))
            .floor(mb(floor_zip))
            .target("≤ 3 MB", zip <= 3 * MB),
    ])
}

/// The one-time costs of the SDK's TLS stack, timed in fresh `floor --probe` processes.
async fn probe(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let mut entropy = Vec::new();
    let mut trust = Vec::new();
    let mut certs = 0;
    for _ in 0..5 {
        let output = Command::new(&bench.args.floor)
            .arg("--probe")
            .env_clear()
            .env("SSL_CERT_FILE", &bench.bundle)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "probe output: {e}: {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })?;
        let us = |key: &str| Duration::from_micros(v[key].as_u64().unwrap_or(0));
        entropy.push(us("entropy_first_us"));
        trust.push(us("trust_store_us"));
        certs = v["trust_store_certs"].as_u64().unwrap_or(0);
    }
    Ok(vec![
        Row::new(
            "One-time: first random bytes from the TLS crypto library (ring), fresh process, median of 5",
            ms(median(&entropy)),
        ),
        Row::new(
            format!("One-time: trust store loading ({certs} certificates), median of 5"),
            ms(median(&trust)),
        ),
    ])
}

/// Figure 1: Process spawn to the first `next` poll.
async fn cold_start(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let connect = Connect::start(SimulatorConfig::default(), &bench.certificates).await?;
    let url = connect.url(true);
    let (mut function, mut floor) = (Vec::new(), Vec::new());
    // One spawn each first, not counted: it brings the binaries into the page cache.
    for round in 0..=bench.args.spawns {
        let order = if round % 2 == 0 {
            [Bin::Bootstrap, Bin::Floor]
        } else {
            [Bin::Floor, Bin::Bootstrap]
        };
        for bin in order {
            let running = bench.launch(bin, &url, &[]).await?;
            if round > 0 {
                match bin {
                    Bin::Bootstrap => function.push(running.cold),
                    Bin::Floor => floor.push(running.cold),
                }
            }
            drop(running.child);
        }
    }
    let (f, b) = (median(&function), median(&floor));
    let ratio = f.as_secs_f64() / b.as_secs_f64();
    Ok(vec![
        Row::new(
            format!(
                "Cold start: spawn → first `next` poll, median of {} (range {} ms)",
                function.len(),
                spread(&function)
            ),
            format!("{} ({ratio:.2}× floor)", ms(f)),
        )
        .floor(format!("{} (range {} ms)", ms(b), spread(&floor)))
        .target("≤ 1.3× floor", ratio <= 1.3),
    ])
}

/// Figure 2: The first invocation after a cold start beside warm ones, 1-record SQS events, over
/// HTTPS (with the TLS timeline) and plain HTTP.
async fn first_call(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let connect = Connect::start(SimulatorConfig::default(), &bench.certificates).await?;
    let mut rows = Vec::new();
    for https in [true, false] {
        let mut first = [Vec::new(), Vec::new()];
        let mut warm = [Vec::new(), Vec::new()];
        let mut before_connect = [Vec::new(), Vec::new()];
        let mut handshake = [Vec::new(), Vec::new()];
        for _ in 0..bench.args.first_calls {
            for (i, bin) in [Bin::Bootstrap, Bin::Floor].into_iter().enumerate() {
                connect.tls.clear();
                let mut running = bench.launch(bin, &connect.url(https), &[]).await?;
                let answer = running
                    .invoke(bench.events.batch(1), INVOCATION_TIMEOUT)
                    .await?;
                first[i].push(answer.wall());
                if https {
                    let shakes = connect.tls.handshakes();
                    let shake = shakes.first().ok_or("no TLS connection was made")?;
                    before_connect[i].push(shake.accepted - answer.queued);
                    let done = shake.done.ok_or("the TLS handshake failed")?;
                    handshake[i].push(done - shake.accepted);
                }
                for _ in 0..5 {
                    let answer = running
                        .invoke(bench.events.batch(1), INVOCATION_TIMEOUT)
                        .await?;
                    warm[i].push(answer.wall());
                }
                drop(running.child);
            }
        }
        let scheme = if https { "HTTPS" } else { "plain HTTP" };
        let n = first[0].len();
        rows.push(
            Row::new(
                format!("First call after cold start, SQS 1 record, {scheme}: queued → answer, median of {n}"),
                ms(median(&first[0])),
            )
            .floor(ms(median(&first[1]))),
        );
        if https {
            rows.push(
                Row::new(
                    "… of which queued → TCP connect to Connect (handler, SDK first use, trust store)",
                    ms(median(&before_connect[0])),
                )
                .floor(ms(median(&before_connect[1]))),
            );
            rows.push(
                Row::new(
                    "… of which TLS handshake, server side (includes the client's entropy seeding and key generation)",
                    ms(median(&handshake[0])),
                )
                .floor(ms(median(&handshake[1]))),
            );
        }
        rows.push(
            Row::new(
                format!(
                    "Warm call, SQS 1 record, {scheme}, median of {}",
                    warm[0].len()
                ),
                ms(median(&warm[0])),
            )
            .floor(ms(median(&warm[1]))),
        );
    }
    Ok(rows)
}

/// Figure 3: CPU per record for SQS batches of 10 against an instant Connect, beside bare SDK
/// calls. Both processes run side by side and are measured in alternating rounds, so that a
/// change in the machine's load touches both alike.
async fn cpu_per_message(bench: &mut Bench) -> Result<Vec<Row>, String> {
    const ROUNDS: usize = 4;
    let connect = Connect::start(SimulatorConfig::default(), &bench.certificates).await?;
    let batches = bench.args.batches;
    let per_round = batches.div_ceil(ROUNDS);
    let records = (per_round * ROUNDS * 10) as f64;
    let mut rows = Vec::new();
    for https in [true, false] {
        let mut running = Vec::new();
        for bin in [Bin::Bootstrap, Bin::Floor] {
            let mut process = bench.launch(bin, &connect.url(https), &[]).await?;
            for _ in 0..10 {
                process
                    .invoke(bench.events.batch(10), INVOCATION_TIMEOUT)
                    .await?;
            }
            running.push(process);
        }
        let mut ns = [0u64; 2];
        let mut ticks = [0u64; 2];
        for _ in 0..ROUNDS {
            for (i, process) in running.iter_mut().enumerate() {
                let before = process.child.cpu().map_err(|e| e.to_string())?;
                for _ in 0..per_round {
                    process
                        .invoke(bench.events.batch(10), INVOCATION_TIMEOUT)
                        .await?;
                }
                let after = process.child.cpu().map_err(|e| e.to_string())?;
                ns[i] += after.since(&before);
                ticks[i] += after.ticks - before.ticks;
            }
        }
        for process in running {
            drop(process.child);
        }
        let per_record = ns.map(|n| n as f64 / 1e3 / records);
        let ratio = per_record[0] / per_record[1];
        let scheme = if https { "HTTPS" } else { "plain HTTP" };
        let row = Row::new(
            format!(
                "CPU (user+system) per record, {} SQS batches of 10, instant Connect, {scheme}",
                per_round * ROUNDS
            ),
            format!(
                "{:.0} µs ({ratio:.2}× floor; /proc stat: {} ticks)",
                per_record[0], ticks[0]
            ),
        )
        .floor(format!("{:.0} µs ({} ticks)", per_record[1], ticks[1]));
        rows.push(if https {
            row.target("≤ 1.3× floor", ratio <= 1.3)
        } else {
            row
        });
    }
    Ok(rows)
}

/// The cost of Connect's contact events with the ledger on (needs `--env STATE_TABLE_NAME=...`
/// and a DynamoDB): CPU per event and the wall time of a batch of 10, the first round moving
/// each contact forward, the later rounds repeats the ledger refuses.
async fn contact_event_cost(bench: &mut Bench) -> Result<Vec<Row>, String> {
    if !bench.args.env.iter().any(|(k, _)| k == "STATE_TABLE_NAME") {
        eprintln!(
            "   skipped: contact events need the ledger (--env STATE_TABLE_NAME=..., a DynamoDB)"
        );
        return Ok(Vec::new());
    }
    let connect = Connect::start(SimulatorConfig::default(), &bench.certificates).await?;
    let mut process = bench
        .launch(Bin::Bootstrap, &connect.url(true), &[])
        .await?;
    process
        .invoke(bench.events.batch(10), INVOCATION_TIMEOUT)
        .await?;
    let contacts = connect
        .simulator
        .contacts()
        .into_iter()
        .map(|c| c.contact_id)
        .collect();
    let mut events = ContactEvents::new(contacts);
    // Warm: the first round of every event type.
    for _ in 0..4 {
        process.invoke(events.batch(10), INVOCATION_TIMEOUT).await?;
    }
    let batches = bench.args.batches.div_ceil(10).max(8);
    let before = process.child.cpu().map_err(|e| e.to_string())?;
    let mut walls = Vec::new();
    for _ in 0..batches {
        walls.push(
            process
                .invoke(events.batch(10), INVOCATION_TIMEOUT)
                .await?
                .wall(),
        );
    }
    let after = process.child.cpu().map_err(|e| e.to_string())?;
    drop(process.child);
    let per_event = after.since(&before) as f64 / 1e3 / (batches * 10) as f64;
    Ok(vec![
        Row::new(
            format!(
                "CPU (user+system) per contact event, {batches} SQS batches of 10 (ledger on, HTTPS Connect)"
            ),
            format!(
                "{per_event:.0} µs (/proc stat: {} ticks)",
                after.ticks - before.ticks
            ),
        ),
        Row::new(
            format!(
                "Batch of 10 contact events, median of {batches} (range {} ms)",
                spread(&walls)
            ),
            ms(median(&walls)),
        ),
    ])
}

/// Figure 4: Wall time of a 10-record batch when each Connect call takes 100 ms.
async fn batch_latency(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let config = SimulatorConfig {
        latency: Duration::from_millis(100),
        ..SimulatorConfig::default()
    };
    let connect = Connect::start(config, &bench.certificates).await?;
    let mut warm = [Vec::new(), Vec::new()];
    let mut first = [Duration::ZERO; 2];
    for (i, bin) in [Bin::Bootstrap, Bin::Floor].into_iter().enumerate() {
        let mut running = bench.launch(bin, &connect.url(true), &[]).await?;
        first[i] = running
            .invoke(bench.events.batch(10), INVOCATION_TIMEOUT)
            .await?
            .wall();
        for _ in 0..9 {
            let answer = running
                .invoke(bench.events.batch(10), INVOCATION_TIMEOUT)
                .await?;
            warm[i].push(answer.wall());
        }
        drop(running.child);
    }
    let m = median(&warm[0]);
    Ok(vec![
        Row::new(
            format!(
                "Batch of 10 records, Connect answering in 100 ms, HTTPS, warm, median of {} (range {} ms)",
                warm[0].len(),
                spread(&warm[0])
            ),
            ms(m),
        )
        .floor(ms(median(&warm[1])))
        .target("≤ 150 ms", m <= Duration::from_millis(150)),
        Row::new(
            "… the first batch after a cold start (opens 10 TLS connections)",
            ms(first[0]),
        )
        .floor(ms(first[1])),
    ])
}

/// Invocations of each trigger in the flow-latency figure.
const FLOW_INVOCATIONS: u64 = 200;

/// Figure 10: the answer time a contact flow's caller waits for, beside a direct invocation of
/// the same SMS: 200 warm invocations of each, one new contact each, the local Connect at its
/// usual (zero) latency over HTTPS.
async fn flow_latency(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let connect = Connect::start(SimulatorConfig::default(), &bench.certificates).await?;
    let mut running = bench
        .launch(Bin::Bootstrap, &connect.url(true), &[])
        .await?;
    // Warm: the first call opens the TLS connection.
    running
        .invoke(direct_request(0), INVOCATION_TIMEOUT)
        .await?;
    let mut flow = Vec::new();
    let mut direct = Vec::new();
    for n in 1..=FLOW_INVOCATIONS {
        let answer = running.invoke(flow_event(n), INVOCATION_TIMEOUT).await?;
        if !answer.body.contains("\"SENT\"") {
            return Err(format!("the flow answered {}", answer.body));
        }
        flow.push(answer.wall());
        let answer = running
            .invoke(direct_request(FLOW_INVOCATIONS + n), INVOCATION_TIMEOUT)
            .await?;
        direct.push(answer.wall());
    }
    drop(running.child);
    let started = connect.count(|o| matches!(o, Outcome::Started { .. }));
    let expected = 2 * FLOW_INVOCATIONS as usize + 1;
    if started != expected {
        return Err(format!("{started} contacts started, {expected} expected"));
    }
    let row = |what: &str, times: &[Duration]| {
        Row::new(
            format!("{what}: answer time, warm, p50 / p99 of {}", times.len()),
            format!(
                "{} / {}",
                ms(percentile(times, 50)),
                ms(percentile(times, 99))
            ),
        )
    };
    Ok(vec![
        row("Contact flow (SMS deflection)", &flow),
        row("… the same SMS by direct invocation", &direct),
    ])
}

/// The `p`th percentile (nearest rank) of `values`.
fn percentile(values: &[Duration], p: usize) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// Figure 5: 200 records in batches of 10 against Connect's rate limit (20/s, burst 5), a new
/// function instance pacing itself with the quota, 20/s, as its ceiling; the floor does not pace.
async fn quota(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let config = SimulatorConfig {
        rate_limit: Some(RateLimit {
            per_second: 20.0,
            burst: 5,
        }),
        ..SimulatorConfig::default()
    };
    let mut rate = [0.0f64; 2];
    let mut throttled = [0usize; 2];
    let mut started = [0usize; 2];
    for (i, bin) in [Bin::Bootstrap, Bin::Floor].into_iter().enumerate() {
        let connect = Connect::start(config.clone(), &bench.certificates).await?;
        let mut running = bench
            .launch(
                bin,
                &connect.url(true),
                &[("CONNECT_MAX_REQUESTS_PER_SECOND", "20")],
            )
            .await?;
        let mut from = None;
        let mut to = None;
        for _ in 0..20 {
            let event = bench.events.batch(10);
            let answer = match bin {
                Bin::Bootstrap => running.invoke(event, INVOCATION_TIMEOUT).await?,
                // Unpaced bare calls are throttled and may fail after the SDK's retries.
                Bin::Floor => running.invoke_unchecked(event, INVOCATION_TIMEOUT).await?,
            };
            from.get_or_insert(answer.queued);
            to = Some(answer.answered);
        }
        drop(running.child);
        started[i] = connect.count(|o| matches!(o, Outcome::Started { .. }));
        throttled[i] = connect.count(|o| matches!(o, Outcome::Throttled));
        let wall = to.zip(from).map(|(t, f)| t - f).unwrap_or_default();
        rate[i] = started[i] as f64 / wall.as_secs_f64();
    }
    Ok(vec![
        Row::new(
            "Quota tracking: 200 records in batches of 10, Connect limit 20/s burst 5, `CONNECT_MAX_REQUESTS_PER_SECOND=20`: achieved rate (started / wall time)",
            format!("{:.2}/s ({:.1}% of 20/s; {} started)", rate[0], rate[0] / 0.2, started[0]),
        )
        .floor(format!("{:.2}/s unpaced ({} started)", rate[1], started[1]))
        // A new instance starts at half the ceiling and reaches it within two seconds (adaptive
        // pacing's start), about 5 % of this 10-second run: the issue's 90 % is the target.
        .target("≥ 18/s (90%)", rate[0] >= 18.0),
        Row::new("… ThrottlingException answers in Connect's journal", throttled[0].to_string())
            .floor(format!("{} (unpaced)", throttled[1]))
            .target("0", throttled[0] == 0),
    ])
}

/// Figure 6: Peak resident set after a batch of 10, then after one of 10,000 records (~6 MB event).
async fn peak_rss(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let connect = Connect::start(SimulatorConfig::default(), &bench.certificates).await?;
    let large = bench.events.batch(10_000);
    let large_size = large.len() as u64;
    let mut small_peak = [0u64; 2];
    let mut large_peak = [0u64; 2];
    let mut large_wall = [Duration::ZERO; 2];
    for (i, bin) in [Bin::Bootstrap, Bin::Floor].into_iter().enumerate() {
        let mut running = bench.launch(bin, &connect.url(true), &[]).await?;
        let hwm = |r: &Running| {
            r.child
                .status_kib("VmHWM")
                .map(|kib| kib * 1024)
                .map_err(|e| e.to_string())
        };
        running
            .invoke(bench.events.batch(10), INVOCATION_TIMEOUT)
            .await?;
        small_peak[i] = hwm(&running)?;
        // The same event for both: unique ids are not needed for the floor, whose calls carry
        // their own tokens; the function's 10,000 tokens are new to this simulator.
        let answer = running
            .invoke(large.clone(), LARGE_INVOCATION_TIMEOUT)
            .await?;
        large_wall[i] = answer.wall();
        large_peak[i] = hwm(&running)?;
        drop(running.child);
    }
    Ok(vec![
        Row::new("Peak RSS (VmHWM) after a batch of 10", mb(small_peak[0]))
            .floor(mb(small_peak[1]))
            .target("≤ 16 MB", small_peak[0] <= 16 * MB),
        Row::new(
            format!(
                "Peak RSS after a batch of 10,000 records ({} event, `MAX_IN_FLIGHT=10`, instant Connect; took {:.1} s, floor {:.1} s)",
                mb(large_size),
                large_wall[0].as_secs_f64(),
                large_wall[1].as_secs_f64()
            ),
            mb(large_peak[0]),
        )
        .floor(mb(large_peak[1]))
        .target("≤ 64 MB", large_peak[0] <= 64 * MB),
    ])
}

/// Figure 8: The fleet against the account's quota (20/s, burst 5, one simulator): the four
/// scenarios of issue #15 with adaptive pacing (`CONNECT_MAX_REQUESTS_PER_SECOND=20`, the quota),
/// beside the fixed per-instance rule it replaced (quota ÷ SQS `MaximumConcurrency` 2 = 10/s per
/// instance, `CONNECT_PACING=fixed`). The four scenarios of one rule run at once, 60 s each.
async fn fleet_shares(bench: &mut Bench) -> Result<Vec<Row>, String> {
    let adaptive = [("CONNECT_MAX_REQUESTS_PER_SECOND", "20")];
    let fixed = [
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "10"),
        ("CONNECT_PACING", "fixed"),
    ];
    let mut measured = Vec::new();
    for extra in [&adaptive[..], &fixed[..]] {
        let runs = SCENARIOS
            .iter()
            .map(|scenario| fleet_run(bench, scenario, extra));
        let shares: Result<Vec<Shares>, String> =
            futures::future::join_all(runs).await.into_iter().collect();
        measured.push(shares?);
    }
    let show = |s: &Shares| {
        format!(
            "{:.1} % used, {:.2} % throttled ({} attempts)",
            s.used * 100.0,
            s.throttled * 100.0,
            s.attempts
        )
    };
    Ok(SCENARIOS
        .iter()
        .zip(measured[0].iter().zip(&measured[1]))
        .map(|(scenario, (now, before))| {
            Row::new(
                format!(
                    "Fleet, quota 20/s: {}: share of quota used, share of attempts throttled",
                    scenario.name
                ),
                show(now),
            )
            .floor(format!("fixed 10/s per instance: {}", show(before)))
            .target(
                "≥ 90 % used, ≤ 2 % throttled",
                now.used >= 0.9 && now.throttled <= 0.02,
            )
        })
        .collect())
}

/// One scenario: its own simulator at the account's rate, its instances launched with `extra`
/// and kept busy for the run, the quota changed on time.
async fn fleet_run(
    bench: &Bench,
    scenario: &Scenario,
    extra: &[(&str, &str)],
) -> Result<Shares, String> {
    let simulator = Simulator::start(SimulatorConfig {
        rate_limit: Some(fleet::account_limit()),
        ..SimulatorConfig::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let meter = fleet::Meter::start(&simulator);
    let mut instances = Vec::new();
    for _ in scenario.instances {
        let extra: Vec<(&str, &str)> = extra
            .iter()
            .chain(&[("MAX_IN_FLIGHT", "10")])
            .copied()
            .collect();
        instances.push(
            bench
                .launch(Bin::Bootstrap, &simulator.endpoint_url(), &extra)
                .await?,
        );
    }
    let start = tokio::time::Instant::now();
    let until = (start + fleet::RUN).into_std();
    let drivers = instances
        .iter_mut()
        .zip(scenario.instances)
        .enumerate()
        .map(|(i, (running, busy))| {
            let next = fleet::events(i, *busy);
            keep_busy(&mut running.child, &running.api, until, next)
        });
    tokio::join!(
        futures::future::join_all(drivers),
        scenario.change_quota(&simulator, start)
    );
    Ok(meter.shares(scenario, start))
}
