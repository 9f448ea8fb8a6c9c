//! The simulator's behaviour knobs. `Default` is a perfect Connect: instant, unlimited, faultless.

use std::time::Duration;

/// How the simulator behaves. Every field has a CLI flag (see the binary's `--help`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    /// Seed for every pseudo-random decision (faults, jitter, ids): same seed and same request
    /// sequence give the same answers.
    pub seed: u64,
    /// Fixed delay before a newly started contact is answered.
    pub latency: Duration,
    /// Uniform extra delay in `[0, jitter]` on top of `latency`, drawn from the seeded generator.
    pub latency_jitter: Option<Duration>,
    /// API rate limit as a token bucket; an empty bucket answers `ThrottlingException`.
    pub rate_limit: Option<RateLimit>,
    /// Cap on contacts still active; past it, `LimitExceededException` (Connect's default quota
    /// is 500 concurrent chats per instance).
    pub max_active_chats: Option<usize>,
    /// Probability (0.0..=1.0) of a 500 `InternalServiceException` before any contact is created.
    pub internal_error_before_start: f64,
    /// Probability of a 500 after the contact was created and recorded: the reply a client must
    /// not turn into a duplicate message by retrying with a fresh token.
    pub internal_error_after_start: f64,
    /// Probability of closing the connection without an answer, before a contact is created.
    pub drop_before_start: f64,
    /// Probability of closing the connection without an answer, after a contact was created.
    pub drop_after_start: f64,
    /// Ends each started chat this long after it started, with a `DISCONNECTED` contact event
    /// (`None`: the chats are told no end). See [`crate::RunningSimulator::contact_events`].
    pub end_chats_after: Option<Duration>,
    /// Whether the customer replies before a chat ends (a `CONTACT_DATA_UPDATED` event whose
    /// chat metrics show a customer's message).
    pub customer_replies: bool,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            latency: Duration::ZERO,
            latency_jitter: None,
            rate_limit: None,
            max_active_chats: None,
            internal_error_before_start: 0.0,
            internal_error_after_start: 0.0,
            drop_before_start: 0.0,
            drop_after_start: 0.0,
            end_chats_after: None,
            customer_replies: false,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second (Connect's default for this API: 2).
    pub per_second: f64,
    /// Bucket size, and the number of tokens it starts with (Connect's default: 5).
    pub burst: u32,
}

impl SimulatorConfig {
    /// Refuses settings that cannot mean anything, so a typo fails at start and not mid-test.
    pub(crate) fn check(&self) -> Result<(), String> {
        let probabilities = [
            (
                "internal_error_before_start",
                self.internal_error_before_start,
            ),
            (
                "internal_error_after_start",
                self.internal_error_after_start,
            ),
            ("drop_before_start", self.drop_before_start),
            ("drop_after_start", self.drop_after_start),
        ];
        for (name, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be between 0.0 and 1.0, got {p}"));
            }
        }
        if let Some(limit) = self.rate_limit {
            if !limit.per_second.is_finite() || limit.per_second < 0.0 {
                return Err(format!(
                    "rate_limit.per_second must be a finite number >= 0, got {}",
                    limit.per_second
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_a_perfect_connect() {
        let config = SimulatorConfig::default();
        assert!(config.check().is_ok());
        assert_eq!(config.latency, Duration::ZERO);
        assert!(config.rate_limit.is_none() && config.max_active_chats.is_none());
    }

    #[test]
    fn a_probability_above_one_is_refused() {
        let config = SimulatorConfig {
            drop_after_start: 1.5,
            ..SimulatorConfig::default()
        };
        assert!(config.check().unwrap_err().contains("drop_after_start"));
    }

    #[test]
    fn a_negative_rate_is_refused() {
        let config = SimulatorConfig {
            rate_limit: Some(RateLimit {
                per_second: -1.0,
                burst: 1,
            }),
            ..SimulatorConfig::default()
        };
        assert!(config.check().is_err());
    }
}
