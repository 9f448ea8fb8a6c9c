//! The fleet holds the account's Connect quota: several compiled `bootstrap` processes, each kept
//! busy as an SQS poller with a backlog or as an instance serving HTTP API requests, against one
//! Connect that enforces an account-wide rate. Every scenario uses at least 90 % of the quota and
//! gets at most 2 % of its attempts throttled. The scenarios run at once, each for a bounded time.
//! The scenarios, their quota and the meter are testkit's, shared with the benchmark.

use std::time::Duration;

use connect_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use lambda_testkit::fleet::{Busy, Meter, QUOTA, RUN, SCENARIOS, Scenario, Shares, account_limit};
use lambda_testkit::{Invocation, Process, RuntimeApi, keep_busy};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::binary::{lambda_environment, spawn_bootstrap};
use crate::support::records::{STANDARD_QUEUE, sms_body, sqs_record};
use crate::support::sample_event;

/// The thresholds.
const LEAST_USED: f64 = 0.90;
const MOST_THROTTLED: f64 = 0.02;
/// "The fleet follows within seconds": from this long after the quota halves, the fleet pushes
/// past the new quota no more than the threshold allows, and has not collapsed below it either
/// (it is still climbing back from its cuts then: the whole run holds the 90 %).
const FOLLOW: Duration = Duration::from_secs(5);
const LEAST_USED_AFTER_CHANGE: f64 = 0.80;

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
    let sim = Simulator::start(SimulatorConfig {
        rate_limit: Some(account_limit()),
        ..SimulatorConfig::default()
    })
    .await
    .expect("start the Connect simulator");
    let meter = Meter::start(&sim);
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
    let halving = scenario.change_quota(&sim, start);
    let (answers, ()) = tokio::join!(futures::future::join_all(drivers), halving);
    for answer in answers.iter().flatten() {
        assert!(
            matches!(answer, Invocation::Response(_)),
            "{}: {answer:?}",
            scenario.name
        );
    }
    assert_eq!(meter.missed(), 0, "the meter missed requests");
    let end = start + RUN;
    match scenario.halves_at {
        None => {
            let allowed = scenario.quota();
            let whole = meter.shares_between(start, end, allowed);
            vec![(scenario.name.into(), whole, LEAST_USED)]
        }
        Some(at) => {
            let allowed = scenario.quota();
            let settled = start + at + FOLLOW;
            let allowed_settled = QUOTA / 2.0 * (end - settled).as_secs_f64();
            vec![
                (
                    scenario.name.into(),
                    meter.shares_between(start, end, allowed),
                    LEAST_USED,
                ),
                (
                    format!("{}, from {FOLLOW:?} after the change", scenario.name),
                    meter.shares_between(settled, end, allowed_settled),
                    LEAST_USED_AFTER_CHANGE,
                ),
            ]
        }
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
