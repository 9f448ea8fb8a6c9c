//! Fault injection: scripted replies, seeded chance faults, latency jitter and the token bucket.
//!
//! Everything here is deterministic: chance faults and jitter come from the seeded generator and
//! the token bucket runs on tokio's clock, so a paused-clock test controls refills exactly.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::{RateLimit, SimulatorConfig};
use crate::errors::ConnectErrorCode;
use crate::rng::SplitMix64;

/// A canned answer for the next valid, authenticated request, queued with
/// `RunningSimulator::script`. Lets a test provoke one exact reply without probabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedReply {
    /// Answer with this Connect error (its status, header and body); no contact is created.
    Error(ConnectErrorCode),
    /// Close the connection without answering; no contact is created.
    Drop,
    /// Wait this long, then process the request normally.
    Delay(Duration),
}

/// What the dice decided at one point of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Drop,
    InternalError,
}

/// The seeded chance faults and jitter.
///
/// Each stage always draws both of its numbers, whatever the probabilities, so the decision for
/// the n-th request depends only on the seed and the requests before it.
#[derive(Debug)]
pub(crate) struct FaultDice {
    faults: SplitMix64,
    jitter: SplitMix64,
}

impl FaultDice {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            faults: SplitMix64::stream(seed, 0),
            jitter: SplitMix64::stream(seed, 1),
        }
    }

    /// The fault, if any, before a contact is created. A drop wins over an error.
    pub(crate) fn before_start(&mut self, config: &SimulatorConfig) -> Fault {
        self.roll(config.drop_before_start, config.internal_error_before_start)
    }

    /// The fault, if any, after a contact was created.
    pub(crate) fn after_start(&mut self, config: &SimulatorConfig) -> Fault {
        self.roll(config.drop_after_start, config.internal_error_after_start)
    }

    fn roll(&mut self, drop: f64, error: f64) -> Fault {
        let dropped = self.faults.chance(drop);
        let failed = self.faults.chance(error);
        if dropped {
            Fault::Drop
        } else if failed {
            Fault::InternalError
        } else {
            Fault::None
        }
    }

    /// The total delay for one answer: fixed latency plus seeded jitter.
    pub(crate) fn latency(&mut self, config: &SimulatorConfig) -> Duration {
        let jitter = config
            .latency_jitter
            .map_or(Duration::ZERO, |max| self.jitter.duration_up_to(max));
        config.latency + jitter
    }
}

/// A token bucket on tokio's clock: starts full, refills continuously, never above `burst`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last_refill: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit, now: Instant) -> Self {
        let capacity = f64::from(limit.burst);
        Self {
            capacity,
            per_second: limit.per_second,
            tokens: capacity,
            last_refill: now,
        }
    }

    /// Takes one token if there is one; `false` means throttle.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Changes the rate and size from `now` on, as a quota change does: the tokens earned at
    /// the old rate until now are kept, up to the new size.
    pub(crate) fn set_limit(&mut self, limit: RateLimit, now: Instant) {
        self.refill(now);
        self.capacity = f64::from(limit.burst);
        self.per_second = limit.per_second;
        self.tokens = self.tokens.min(self.capacity);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last_refill = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_the_burst_then_refills_at_the_rate() {
        let mut bucket = TokenBucket::new(
            RateLimit {
                per_second: 2.0,
                burst: 3,
            },
            Instant::now(),
        );
        for _ in 0..3 {
            assert!(bucket.try_take(Instant::now()));
        }
        assert!(!bucket.try_take(Instant::now()));
        tokio::time::advance(Duration::from_millis(499)).await;
        assert!(!bucket.try_take(Instant::now()));
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(bucket.try_take(Instant::now()));
        assert!(!bucket.try_take(Instant::now()));
        tokio::time::advance(Duration::from_secs(60)).await;
        let taken = (0..10).filter(|_| bucket.try_take(Instant::now())).count();
        assert_eq!(taken, 3, "a long pause refills only up to the burst");
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_limit_refills_at_the_new_rate_from_the_change_on() {
        let limit = |per_second| RateLimit {
            per_second,
            burst: 1,
        };
        let mut bucket = TokenBucket::new(limit(20.0), Instant::now());
        assert!(bucket.try_take(Instant::now()));
        bucket.set_limit(limit(10.0), Instant::now());
        // At 10/s the next token takes 100 ms, not the 50 ms of the old rate.
        tokio::time::advance(Duration::from_millis(60)).await;
        assert!(!bucket.try_take(Instant::now()));
        tokio::time::advance(Duration::from_millis(41)).await;
        assert!(bucket.try_take(Instant::now()));
        bucket.set_limit(limit(20.0), Instant::now());
        tokio::time::advance(Duration::from_millis(51)).await;
        assert!(bucket.try_take(Instant::now()));
    }

    #[test]
    fn the_same_seed_rolls_the_same_faults() {
        let config = SimulatorConfig {
            internal_error_before_start: 0.5,
            drop_after_start: 0.3,
            ..SimulatorConfig::default()
        };
        let rolls = |seed| {
            let mut dice = FaultDice::new(seed);
            (0..64)
                .map(|_| (dice.before_start(&config), dice.after_start(&config)))
                .collect::<Vec<_>>()
        };
        assert_eq!(rolls(11), rolls(11));
        assert_ne!(rolls(11), rolls(12));
    }

    #[test]
    fn jitter_does_not_shift_the_fault_decisions() {
        let plain = SimulatorConfig {
            internal_error_before_start: 0.5,
            ..SimulatorConfig::default()
        };
        let jittery = SimulatorConfig {
            latency_jitter: Some(Duration::from_millis(10)),
            ..plain.clone()
        };
        let mut a = FaultDice::new(5);
        let mut b = FaultDice::new(5);
        for _ in 0..32 {
            a.latency(&plain);
            b.latency(&jittery);
            assert_eq!(a.before_start(&plain), b.before_start(&jittery));
        }
    }

    #[test]
    fn a_drop_wins_over_an_internal_error() {
        let config = SimulatorConfig {
            drop_before_start: 1.0,
            internal_error_before_start: 1.0,
            ..SimulatorConfig::default()
        };
        assert_eq!(FaultDice::new(0).before_start(&config), Fault::Drop);
    }
}
