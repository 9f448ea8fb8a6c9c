//! The fleet scenarios the benchmark measures and the tests assert: function instances kept busy
//! as SQS pollers or HTTP API instances against one local Connect that enforces an account-wide
//! rate, the quota each scenario allows, and the meter that reads what reached Connect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_simulator::{Outcome, RateLimit, RunningSimulator};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

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
    /// Journal entries the meter fell too far behind to read (a run that misses some is not
    /// measured).
    missed: Arc<AtomicU64>,
}

impl Meter {
    pub fn start(sim: &RunningSimulator) -> Self {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let missed = Arc::new(AtomicU64::new(0));
        let mut journal = sim.subscribe();
        let recorded = Arc::clone(&arrivals);
        let lagged = Arc::clone(&missed);
        tokio::spawn(async move {
            let missed = lagged;
            loop {
                match journal.recv().await {
                    Ok(entry) => recorded
                        .lock()
                        .expect("meter lock")
                        .push((Instant::now(), entry.outcome)),
                    Err(RecvError::Lagged(count)) => {
                        missed.fetch_add(count, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        Self { arrivals, missed }
    }

    /// Journal entries the meter missed.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    /// The shares of the requests that reached Connect from `from` to `to`, when the quota
    /// allowed `allowed` requests.
    pub fn shares_between(&self, from: Instant, to: Instant, allowed: f64) -> Shares {
        let arrivals = self.arrivals.lock().expect("meter lock");
        let within: Vec<&Outcome> = arrivals
            .iter()
            .filter(|(at, _)| (from..=to).contains(at))
            .map(|(_, outcome)| outcome)
            .collect();
        let count = |f: fn(&Outcome) -> bool| within.iter().filter(|o| f(o)).count() as f64;
        Shares {
            used: count(|o| matches!(o, Outcome::Started { .. })) / allowed,
            throttled: count(|o| matches!(o, Outcome::Throttled)) / within.len().max(1) as f64,
            attempts: within.len(),
        }
    }

    /// The shares of `scenario` run from `start` for [`RUN`].
    pub fn shares(&self, scenario: &Scenario, start: Instant) -> Shares {
        self.shares_between(start, start + RUN, scenario.quota())
    }
}
