//! The fleet holds the account's Connect quota: several compiled `bootstrap` processes, each kept
//! busy as an SQS poller with a backlog or as an instance serving HTTP API requests, against one
//! Connect that enforces an account-wide rate. Every scenario uses at least 90 % of the quota and
//! gets at most 2 % of its attempts throttled. The scenarios run at once, each for a bounded time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_simulator::{Outcome, RateLimit, RunningSimulator, Simulator, SimulatorConfig};
use lambda_testkit::{Invocation, Process, RuntimeApi, keep_busy};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::binary::{lambda_environment, spawn_bootstrap};
use crate::helpers::sample_event;
use crate::reliability::{STANDARD_QUEUE, sms_body, sqs_record};

/// The account's quota for StartOutboundChatContact in these runs, and Connect's default burst.
const QUOTA: f64 = 20.0;
const BURST: u32 = 5;
/// How long each scenario keeps its instances busy: long enough for a start and a quota change
/// to be a small part of it.
const RUN: Duration = Duration::from_secs(60);
/// The thresholds.
const LEAST_USED: f64 = 0.90;
const MOST_THROTTLED: f64 = 0.02;
/// "The fleet follows within seconds": from this long after the quota halves, the fleet pushes
/// past the new quota no more than the threshold allows, and has not collapsed below it either
/// (it is still climbing back from its cuts then: the whole run holds the 90 %).
const FOLLOW: Duration = Duration::from_secs(5);
const LEAST_USED_AFTER_CHANGE: f64 = 0.80;

#[derive(Clone, Copy, Debug)]
enum Busy {
    /// An SQS poller with a backlog: batches of 10 records.
    Sqs,
    /// An instance serving HTTP API requests, one `POST /contacts` after another.
    Http,
}

struct Scenario {
    name: &'static str,
    instances: &'static [Busy],
    /// When Connect's rate halves, if it does.
    halves_at: Option<Duration>,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "one SQS instance busy",
        instances: &[Busy::Sqs],
        halves_at: None,
    },
    Scenario {
        name: "two SQS instances busy",
        instances: &[Busy::Sqs, Busy::Sqs],
        halves_at: None,
    },
    Scenario {
        name: "two SQS instances and one HTTP API instance busy",
        instances: &[Busy::Sqs, Busy::Sqs, Busy::Http],
        halves_at: None,
    },
    Scenario {
        name: "two SQS instances busy, the quota halves mid-run",
        instances: &[Busy::Sqs, Busy::Sqs],
        halves_at: Some(Duration::from_secs(30)),
    },
];

/// What one scenario (or a window of it) used of the quota, and how much of what it tried was
/// throttled.
#[derive(Debug)]
struct Shares {
    used: f64,
    throttled: f64,
    attempts: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fleet_uses_at_least_ninety_percent_of_the_quota_with_at_most_two_percent_throttled()
{
    let runs = SCENARIOS.iter().enumerate().map(|(n, s)| run(n, s));
    let windows: Vec<(String, Shares, f64)> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let report: Vec<String> = windows
        .iter()
        .map(|(window, r, _)| {
            format!(
                "{window}: {:.1} % of the quota used, {:.2} % of {} attempts throttled",
                r.used * 100.0,
                r.throttled * 100.0,
                r.attempts
            )
        })
        .collect();
    println!("fleet:\n  {}", report.join("\n  "));
    for ((_, shares, least_used), line) in windows.iter().zip(&report) {
        assert!(shares.used >= *least_used, "{line}");
        assert!(shares.throttled <= MOST_THROTTLED, "{line}");
        assert!(shares.attempts as f64 >= QUOTA, "no traffic: {line}");
    }
}

/// Runs scenario `n`: starts its Connect and its processes, keeps them busy for [`RUN`], halves
/// Connect's rate on time, and measures what reached Connect within the run (and, when the quota
/// halves, from [`FOLLOW`] after that on), each window named.
async fn run(n: usize, scenario: &Scenario) -> Vec<(String, Shares, f64)> {
    let limit = |per_second| {
        Some(RateLimit {
            per_second,
            burst: BURST,
        })
    };
    let sim = Simulator::start(SimulatorConfig {
        rate_limit: limit(QUOTA),
        ..SimulatorConfig::default()
    })
    .await
    .expect("start the Connect simulator");
    let arrivals = record_arrivals(&sim);
    let mut instances = Vec::new();
    for busy in scenario.instances {
        instances.push((start_instance(&sim).await, *busy));
    }
    let start = Instant::now();
    let until = (start + RUN).into_std();
    let drivers = instances
        .iter_mut()
        .enumerate()
        .map(|(i, ((process, api), busy))| keep_busy(process, api, until, events(n, i, *busy)));
    let halving = async {
        if let Some(at) = scenario.halves_at {
            tokio::time::sleep_until(start + at).await;
            sim.set_rate_limit(limit(QUOTA / 2.0));
        }
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(drivers), halving);
    for answer in answers.iter().flatten() {
        assert!(
            matches!(answer, Invocation::Response(_)),
            "{}: {answer:?}",
            scenario.name
        );
    }
    let arrivals = arrivals.lock().unwrap();
    let end = start + RUN;
    match scenario.halves_at {
        None => {
            let allowed = QUOTA * RUN.as_secs_f64();
            let whole = shares(&arrivals, start, end, allowed);
            vec![(scenario.name.into(), whole, LEAST_USED)]
        }
        Some(at) => {
            let allowed = QUOTA * at.as_secs_f64() + QUOTA / 2.0 * (RUN - at).as_secs_f64();
            let settled = start + at + FOLLOW;
            let allowed_settled = QUOTA / 2.0 * (end - settled).as_secs_f64();
            vec![
                (
                    scenario.name.into(),
                    shares(&arrivals, start, end, allowed),
                    LEAST_USED,
                ),
                (
                    format!("{}, from {FOLLOW:?} after the change", scenario.name),
                    shares(&arrivals, settled, end, allowed_settled),
                    LEAST_USED_AFTER_CHANGE,
                ),
            ]
        }
    }
}

/// The shares of the requests that reached Connect from `from` to `to`, when the quota allowed
/// `allowed` requests.
fn shares(arrivals: &[(Instant, Outcome)], from: Instant, to: Instant, allowed: f64) -> Shares {
    let within: Vec<&Outcome> = arrivals
        .iter()
        .filter(|(at, _)| (from..=to).contains(at))
        .map(|(_, outcome)| outcome)
        .collect();
    let count = |f: fn(&Outcome) -> bool| within.iter().filter(|o| f(o)).count() as f64;
    let started = count(|o| matches!(o, Outcome::Started { .. }));
    let throttled = count(|o| matches!(o, Outcome::Throttled));
    Shares {
        used: started / allowed,
        throttled: throttled / within.len().max(1) as f64,
        attempts: within.len(),
    }
}

/// A function instance pointed at `sim`, paced at the quota, polling its own Runtime API.
async fn start_instance(sim: &RunningSimulator) -> (Process, RuntimeApi) {
    let api = RuntimeApi::start().await;
    let mut environment = lambda_environment(&api.address(), &sim.endpoint_url(), "JSON", "warn");
    environment.insert("CONNECT_MAX_REQUESTS_PER_SECOND".into(), QUOTA.to_string());
    let mut process = spawn_bootstrap(environment);
    if let Err(problem) = api
        .wait_first_poll(Duration::from_secs(30), || process.alive())
        .await
    {
        panic!("{problem}\n{}", process.output_tail());
    }
    (process, api)
}

/// Every request Connect finished, with when: the live journal, timed on arrival.
fn record_arrivals(sim: &RunningSimulator) -> Arc<Mutex<Vec<(Instant, Outcome)>>> {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let mut journal = sim.subscribe();
    let recorded = Arc::clone(&arrivals);
    tokio::spawn(async move {
        loop {
            match journal.recv().await {
                Ok(entry) => recorded
                    .lock()
                    .unwrap()
                    .push((Instant::now(), entry.outcome)),
                Err(RecvError::Lagged(missed)) => panic!("the meter missed {missed} requests"),
                Err(RecvError::Closed) => break,
            }
        }
    });
    arrivals
}

/// The events of instance `i` of scenario `n`: each with new message ids or idempotency keys,
/// so every request is a new contact.
fn events(n: usize, i: usize, busy: Busy) -> impl FnMut() -> Value {
    let mut sent = 0usize;
    move || {
        let mut next = || {
            sent += 1;
            let number = format!("+1425{n}{i}{sent:06}");
            (format!("fleet-{n}-{i}-{sent}"), number, sent)
        };
        match busy {
            Busy::Sqs => {
                let records: Vec<Value> = (0..10)
                    .map(|_| {
                        let (id, number, k) = next();
                        sqs_record(STANDARD_QUEUE, &id, &sms_body(&number, k), 1, None)
                    })
                    .collect();
                json!({ "Records": records })
            }
            Busy::Http => {
                let (key, number, _) = next();
                let mut event = sample_event("apigw-http-single.json");
                event["headers"]["idempotency-key"] = key.into();
                event["body"] = json!({"to": number, "message": {"content": "Table ready"}})
                    .to_string()
                    .into();
                event
            }
        }
    }
}
