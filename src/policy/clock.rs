//! The clock port: the one place the function reads "now" from, so that tests and local runs
//! can place a request at any local time.

use std::sync::Mutex;
use std::time::SystemTime;

use jiff::{SignedDuration, Timestamp};

/// Tells the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's clock: what the function runs with.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::try_from(SystemTime::now()).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// The system's clock moved to start at a chosen instant, then running at its normal pace
/// (the local run's `--now`).
#[derive(Clone, Copy, Debug)]
pub struct ShiftedClock {
    shift: SignedDuration,
}

impl ShiftedClock {
    /// A clock that reads `start` now.
    pub fn starting_at(start: Timestamp) -> Self {
        Self {
            shift: start.duration_since(SystemClock.now()),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        SystemClock
            .now()
            .saturating_add(self.shift)
            .unwrap_or(Timestamp::MAX)
    }
}

/// A clock that reads whatever it was last set to (tests).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(now: Timestamp) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    pub fn set(&self, now: Timestamp) {
        *self.now.lock().expect("clock lock") = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_starts_at_its_instant_and_a_manual_clock_reads_what_it_was_set_to() {
        let start: Timestamp = "2026-11-30T08:00:00Z".parse().unwrap();
        let shifted = ShiftedClock::starting_at(start).now();
        assert!(shifted.duration_since(start).abs() < SignedDuration::from_secs(5));
        let manual = ManualClock::new(start);
        let later: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        manual.set(later);
        assert_eq!(manual.now(), later);
    }
}
