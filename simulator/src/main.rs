//! The `connect-simulator` command: run the simulator locally and log one line per request.
//!
//! Flags are parsed by hand to keep the build small. The log never prints a destination phone
//! number in full: only its last two digits, since the log may end up in a terminal recording
//! or a CI artefact.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use connect_simulator::{JournalEntry, RateLimit, Simulator, SimulatorConfig};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

const USAGE: &str = "\
connect-simulator: a local stand-in for Amazon Connect's StartOutboundChatContact

USAGE:
    connect-simulator [OPTIONS]

OPTIONS:
    --host HOST                  Address to listen on [default: 127.0.0.1]
    --port PORT                  Port to listen on; 0 picks a free one [default: 4566]
    --seed N                     Seed for every random decision (faults, jitter, ids) [default: 0]
    --latency-ms N               Fixed delay before a new contact is answered [default: 0]
    --jitter-ms N                Extra uniform delay in [0, N] ms, seeded [default: 0]
    --rate R                     Token bucket: R requests per second (fractions allowed);
                                 an empty bucket answers 429 ThrottlingException
    --burst B                    Token bucket size [default with --rate: R rounded up, at least 1]
    --max-active-chats N         Cap on active chats; past it 429 LimitExceededException
    --internal-error-before P    Probability (0..1) of a 500 before a contact is created
    --internal-error-after P     Probability of a 500 after the contact was created
    --drop-before P              Probability of closing the connection, no contact created
    --drop-after P               Probability of closing the connection after creating the contact
    --end-chats-after-secs N     Contact events: end each started chat N seconds after it started
    --customer-replies BOOL      Contact events: the customer replies before the chat ends [default: false]
    -h, --help                   Print this help

Every flag also accepts --flag=value. Press Ctrl-C to stop and print a summary.

Point the AWS SDK at it with AWS_ENDPOINT_URL_CONNECT=http://HOST:PORT (any region and any
static credentials, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1).
";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
struct Cli {
    host: String,
    port: u16,
    config: SimulatorConfig,
}

#[derive(Debug, PartialEq, thiserror::Error)]
enum CliError {
    #[error("help requested")]
    Help,
    #[error("unknown option '{0}'")]
    Unknown(String),
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    #[error("option '{flag}': '{value}' is not {expected}")]
    BadValue {
        flag: String,
        value: String,
        expected: &'static str,
    },
    #[error("--burst needs --rate")]
    BurstWithoutRate,
}

fn parse<T: std::str::FromStr>(
    flag: &str,
    value: &str,
    expected: &'static str,
) -> Result<T, CliError> {
    value.parse().map_err(|_| CliError::BadValue {
        flag: flag.to_owned(),
        value: value.to_owned(),
        expected,
    })
}

fn probability(flag: &str, value: &str) -> Result<f64, CliError> {
    let p: f64 = parse(flag, value, "a probability between 0 and 1")?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(CliError::BadValue {
            flag: flag.to_owned(),
            value: value.to_owned(),
            expected: "a probability between 0 and 1",
        })
    }
}

/// Every flag that takes a value.
const FLAGS: [&str; 14] = [
    "--host",
    "--port",
    "--seed",
    "--latency-ms",
    "--jitter-ms",
    "--rate",
    "--burst",
    "--max-active-chats",
    "--internal-error-before",
    "--internal-error-after",
    "--drop-before",
    "--drop-after",
    "--end-chats-after-secs",
    "--customer-replies",
];

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Cli, CliError> {
    let mut cli = Cli {
        host: "127.0.0.1".to_owned(),
        port: 4566,
        config: SimulatorConfig::default(),
    };
    let (mut rate, mut burst) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(CliError::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if !FLAGS.contains(&flag.as_str()) {
            return Err(CliError::Unknown(arg));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(CliError::MissingValue(flag)),
        };
        let (f, v) = (flag.as_str(), value.as_str());
        let c = &mut cli.config;
        match f {
            "--host" => cli.host = value,
            "--port" => cli.port = parse(f, v, "a port number")?,
            "--seed" => c.seed = parse(f, v, "an unsigned integer")?,
            "--latency-ms" => c.latency = Duration::from_millis(parse(f, v, "milliseconds")?),
            "--jitter-ms" => {
                c.latency_jitter = Some(Duration::from_millis(parse(f, v, "milliseconds")?));
            }
            "--rate" => {
                let r: f64 = parse(f, v, "a rate per second")?;
                if !r.is_finite() || r < 0.0 {
                    return Err(CliError::BadValue {
                        flag: flag.clone(),
                        value,
                        expected: "a rate per second",
                    });
                }
                rate = Some(r);
            }
            "--burst" => burst = Some(parse::<u32>(f, v, "a bucket size")?),
            "--max-active-chats" => c.max_active_chats = Some(parse(f, v, "a count")?),
            "--internal-error-before" => c.internal_error_before_start = probability(f, v)?,
            "--internal-error-after" => c.internal_error_after_start = probability(f, v)?,
            "--drop-before" => c.drop_before_start = probability(f, v)?,
            "--drop-after" => c.drop_after_start = probability(f, v)?,
            "--end-chats-after-secs" => {
                c.end_chats_after = Some(Duration::from_secs(parse(f, v, "seconds")?));
            }
            "--customer-replies" => c.customer_replies = parse(f, v, "true or false")?,
            _ => unreachable!("every flag in FLAGS is handled"),
        }
    }
    cli.config.rate_limit = match (rate, burst) {
        (Some(per_second), burst) => Some(RateLimit {
            per_second,
            // `as` saturates; a rate above u32::MAX per second is no limit anyway.
            burst: burst.unwrap_or((per_second.ceil() as u32).max(1)),
        }),
        (None, Some(_)) => return Err(CliError::BurstWithoutRate),
        (None, None) => None,
    };
    Ok(cli)
}

/// `+447700900123` → `+**********23`: every character but a leading `+` and the last two hidden.
fn mask_phone(address: &str) -> String {
    let (plus, rest) = match address.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", address),
    };
    let n = rest.chars().count();
    let keep = if n > 4 { 2 } else { 0 };
    let masked: String = rest
        .chars()
        .enumerate()
        .map(|(i, c)| if i + keep < n { '*' } else { c })
        .collect();
    format!("{plus}{masked}")
}

/// One log line: sequence, outcome, token, masked destination and channel.
fn log_line(entry: &JournalEntry) -> String {
    let request = &entry.request;
    let to = request
        .pointer("/DestinationEndpoint/Address")
        .and_then(Value::as_str)
        .map_or_else(|| "-".to_owned(), mask_phone);
    let subtype = request
        .pointer("/SegmentAttributes/connect:Subtype/ValueString")
        .and_then(Value::as_str)
        .unwrap_or("-");
    format!(
        "#{} {} | token={} to={} subtype={}",
        entry.sequence,
        entry.outcome,
        entry.client_token.as_deref().unwrap_or("-"),
        to,
        subtype
    )
}

fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("cannot resolve {host}"),
        )
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match parse_args(std::env::args().skip(1)) {
        Ok(cli) => cli,
        Err(CliError::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("connect-simulator: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sim = match resolve(&cli.host, cli.port) {
        Ok(addr) => Simulator::start_on(addr, cli.config).await,
        Err(e) => Err(e),
    };
    let sim = match sim {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "connect-simulator: cannot start on {}:{}: {e}",
                cli.host, cli.port
            );
            return ExitCode::FAILURE;
        }
    };
    let mut events = sim.subscribe();
    let url = sim.endpoint_url();
    println!("connect-simulator listening on {url}");
    println!("Point the AWS SDK at it:");
    println!("  export AWS_ENDPOINT_URL_CONNECT={url}");
    println!("  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test");
    println!("or in Rust: aws_config::defaults(BehaviorVersion::latest()).endpoint_url(\"{url}\")");
    println!("Ctrl-C stops it and prints a summary.");

    let log = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(entry) => println!("{}", log_line(&entry)),
                Err(RecvError::Lagged(n)) => println!("({n} log lines skipped)"),
                Err(RecvError::Closed) => break,
            }
        }
    });
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("connect-simulator: cannot listen for Ctrl-C: {e}");
    }
    println!();
    println!("{}", sim.summary());
    log.abort();
    sim.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn no_flags_give_a_perfect_connect_on_port_4566() {
        let cli = parse_args(Vec::new()).unwrap();
        assert_eq!(cli.host, "127.0.0.1");
        assert_eq!(cli.port, 4566);
        assert_eq!(cli.config, SimulatorConfig::default());
    }

    #[test]
    fn every_flag_sets_its_knob() {
        let cli = parse_args(args(
            "--host 0.0.0.0 --port 0 --seed 7 --latency-ms 20 --jitter-ms=5 --rate 2 --burst 5 \
             --max-active-chats 500 --internal-error-before 0.1 --internal-error-after 0.2 \
             --drop-before 0.3 --drop-after=0.4",
        ))
        .unwrap();
        assert_eq!((cli.host.as_str(), cli.port), ("0.0.0.0", 0));
        let c = cli.config;
        assert_eq!(c.seed, 7);
        assert_eq!(c.latency, Duration::from_millis(20));
        assert_eq!(c.latency_jitter, Some(Duration::from_millis(5)));
        assert_eq!(
            c.rate_limit,
            Some(RateLimit {
                per_second: 2.0,
                burst: 5
            })
        );
        assert_eq!(c.max_active_chats, Some(500));
        assert_eq!(
            [
                c.internal_error_before_start,
                c.internal_error_after_start,
                c.drop_before_start,
                c.drop_after_start
            ],
            [0.1, 0.2, 0.3, 0.4]
        );
    }

    #[test]
    fn a_rate_without_burst_gets_a_burst_of_the_rate_rounded_up() {
        let cli = parse_args(args("--rate 0.5")).unwrap();
        assert_eq!(cli.config.rate_limit.unwrap().burst, 1);
        let cli = parse_args(args("--rate 2.5")).unwrap();
        assert_eq!(cli.config.rate_limit.unwrap().burst, 3);
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert_eq!(parse_args(args("--help")), Err(CliError::Help));
        assert!(matches!(
            parse_args(args("--nope 1")),
            Err(CliError::Unknown(_))
        ));
        assert!(matches!(
            parse_args(args("--seed")),
            Err(CliError::MissingValue(_))
        ));
        assert!(matches!(
            parse_args(args("--drop-after 1.5")),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            parse_args(args("--port x")),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            parse_args(args("--rate -1")),
            Err(CliError::BadValue { .. })
        ));
        assert_eq!(
            parse_args(args("--burst 3")),
            Err(CliError::BurstWithoutRate)
        );
    }

    #[test]
    fn the_help_documents_every_flag() {
        for flag in FLAGS.iter().chain(&["--help"]) {
            assert!(USAGE.contains(flag), "{flag}");
        }
    }

    #[test]
    fn phone_numbers_are_masked_but_for_the_last_two_digits() {
        assert_eq!(mask_phone("+447700900123"), "+**********23");
        assert_eq!(mask_phone("+12"), "+**");
        assert_eq!(mask_phone("0044770090012345"), "**************45");
    }

    #[test]
    fn a_log_line_never_shows_the_full_number() {
        let entry = JournalEntry {
            sequence: 3,
            request_id: "r".into(),
            client_token: Some("tok".into()),
            request: serde_json::json!({
                "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+447700900123"},
                "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}}
            }),
            outcome: connect_simulator::Outcome::Started {
                contact_id: "c-1".into(),
            },
        };
        let line = log_line(&entry);
        assert!(!line.contains("447700900123"), "{line}");
        assert_eq!(
            line,
            "#3 started c-1 | token=tok to=+**********23 subtype=connect:SMS"
        );
    }
}
