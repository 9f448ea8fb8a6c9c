//! The fleet figures' parts: the four scenarios of issue #15 (function instances kept busy as SQS
//! pollers or HTTP API instances against one Connect that enforces an account-wide rate), the
//! events each instance is fed, and the meter that reads what reached Connect during the run.
//! The harness launches the processes; `tests/function/fleet.rs` asserts the same scenarios.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_simulator::{Outcome, RateLimit, RunningSimulator};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::events::SqsEvents;

/// The account's quota in these runs, and Connect's default burst.
pub const QUOTA: f64 = 20.0;
pub const BURST: u32 = 5;
/// How long each scenario keeps its instances busy.
pub const RUN: Duration = Duration::from_secs(60);

/// What keeps an instance busy.
#[derive(Clone, Copy, Debug)]
pub enum Busy {
    /// An SQS poller with a backlog: batches of 10 records.
    Sqs,
    /// HTTP API traffic: one `POST /contacts` after another.
    Http,
}

pub struct Scenario {
    pub name: &'static str,
    pub instances: &'static [Busy],
    /// When Connect's rate halves, if it does.
    pub halves_at: Option<Duration>,
}

pub const SCENARIOS: [Scenario; 4] = [
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
        name: "two SQS instances + one HTTP API instance busy",
        instances: &[Busy::Sqs, Busy::Sqs, Busy::Http],
        halves_at: None,
    },
    Scenario {
        name: "two SQS instances busy, the quota halves after 30 s",
        instances: &[Busy::Sqs, Busy::Sqs],
        halves_at: Some(Duration::from_secs(30)),
    },
];

impl Scenario {
    /// Requests the quota allowed over the run.
    pub fn quota(&self) -> f64 {
        match self.halves_at {
            Some(at) => QUOTA * at.as_secs_f64() + QUOTA / 2.0 * (RUN - at).as_secs_f64(),
            None => QUOTA * RUN.as_secs_f64(),
        }
    }

    /// Halves Connect's rate at its time, counted from `start`, if the scenario says so.
    pub async fn change_quota(&self, sim: &RunningSimulator, start: Instant) {
        if let Some(at) = self.halves_at {
            tokio::time::sleep_until(start + at).await;
            sim.set_rate_limit(Some(RateLimit {
                per_second: QUOTA / 2.0,
                burst: BURST,
            }));
        }
    }
}

/// The simulator's rate limit at the start of every scenario.
pub fn account_limit() -> RateLimit {
    RateLimit {
        per_second: QUOTA,
        burst: BURST,
    }
}

/// What a scenario used of the quota, and how much of what it tried was throttled.
#[derive(Debug, Clone, Copy)]
pub struct Shares {
    pub used: f64,
    pub throttled: f64,
    pub attempts: usize,
}

/// Every request Connect finished, with when: the live journal, timed on arrival.
pub struct Meter {
    arrivals: Arc<Mutex<Vec<(Instant, Outcome)>>>,
}

impl Meter {
    pub fn start(sim: &RunningSimulator) -> Self {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let mut journal = sim.subscribe();
        let recorded = Arc::clone(&arrivals);
        tokio::spawn(async move {
            loop {
                match journal.recv().await {
                    Ok(entry) => recorded
                        .lock()
                        .expect("meter lock")
                        .push((Instant::now(), entry.outcome)),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        Self { arrivals }
    }

    /// The shares of `scenario` run from `start` for [`RUN`].
    pub fn shares(&self, scenario: &Scenario, start: Instant) -> Shares {
        let arrivals = self.arrivals.lock().expect("meter lock");
        let within: Vec<&Outcome> = arrivals
            .iter()
            .filter(|(at, _)| *at <= start + RUN)
            .map(|(_, outcome)| outcome)
            .collect();
        let count = |f: fn(&Outcome) -> bool| within.iter().filter(|o| f(o)).count() as f64;
        Shares {
            used: count(|o| matches!(o, Outcome::Started { .. })) / scenario.quota(),
            throttled: count(|o| matches!(o, Outcome::Throttled)) / within.len().max(1) as f64,
            attempts: within.len(),
        }
    }
}

/// The events of instance `instance`: SQS batches of 10 or single HTTP API requests, each with
/// ids never used by another instance, so every request is a new contact.
pub fn events(instance: usize, busy: Busy) -> impl FnMut() -> Value {
    let first = (instance as u64 + 1) << 32;
    let mut sqs = SqsEvents::starting_at(first);
    let mut next = first;
    move || match busy {
        Busy::Sqs => sqs.batch_json(10),
        Busy::Http => {
            next += 1;
            http_api_request(next)
        }
    }
}

/// An HTTP API (v2) `POST /contacts` with idempotency key `n`.
fn http_api_request(n: u64) -> Value {
    let body = json!({
        "to": format!("+1425556{:04}", n % 10_000),
        "message": {"content": format!("Your table {n} is ready.")},
    });
    json!({
        "version": "2.0",
        "routeKey": "POST /contacts",
        "rawPath": "/contacts",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "idempotency-key": format!("bench-{n}")},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": "POST", "path": "/contacts", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "bench"},
            "requestId": format!("bench-{n}"),
            "routeKey": "POST /contacts",
            "stage": "$default",
            "time": "23/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1763888400000u64
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_halving_scenario_allows_three_quarters_of_the_full_quota() {
        let cases = [(0, 1200.0), (3, 900.0)];
        for (scenario, quota) in cases {
            assert_eq!(SCENARIOS[scenario].quota(), quota);
        }
    }

    #[test]
    fn instances_never_share_an_id() {
        let id = |event: &Value| match event.get("Records") {
            Some(records) => records[0]["messageId"].as_str().unwrap().to_owned(),
            None => event["headers"]["idempotency-key"]
                .as_str()
                .unwrap()
                .to_owned(),
        };
        let mut seen = std::collections::HashSet::new();
        for (instance, busy) in [(0, Busy::Sqs), (1, Busy::Sqs), (2, Busy::Http)] {
            let mut next = events(instance, busy);
            for _ in 0..3 {
                assert!(seen.insert(id(&next())));
            }
        }
    }
}
