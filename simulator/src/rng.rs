//! A tiny seedable pseudo-random generator (SplitMix64) behind every "random" decision.
//!
//! The simulator must be reproducible: a test that sees a fault with seed 7 must see the same fault
//! the next time it runs. Pulling in `rand` for a handful of draws is not worth the build time, and
//! SplitMix64 is small, fast and statistically good enough for fault injection and ids.

use std::time::Duration;

/// The SplitMix64 generator (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a strong 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for one purpose (fault dice, contact ids, ...).
    ///
    /// Separate streams keep decisions stable when an unrelated knob changes: turning on latency
    /// jitter must not shift which request gets the injected 500.
    pub(crate) fn stream(seed: u64, stream: u64) -> Self {
        Self::new(mix(
            seed ^ mix(stream.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA))
        ))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform in `[0, 1)`, using the top 53 bits so every value is an exact `f64`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`: 0.0 never, 1.0 always (the draw is below 1).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Uniform in `[0, max]`, at nanosecond resolution.
    pub(crate) fn duration_up_to(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next_u64() % nanos.saturating_add(1))
    }

    /// A version-4-shaped UUID (8-4-4-4-12 lowercase hex), like Connect's contact and request ids.
    pub(crate) fn uuid(&mut self) -> String {
        let hi = (self.next_u64() & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (self.next_u64() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn streams_of_one_seed_differ() {
        let mut a = SplitMix64::stream(42, 0);
        let mut b = SplitMix64::stream(42, 1);
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn chance_is_never_for_zero_and_always_for_one() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..1000 {
            assert!(!rng.chance(0.0));
            assert!(rng.chance(1.0));
        }
    }

    #[test]
    fn uuids_are_shaped_like_version_four_uuids() {
        let mut rng = SplitMix64::new(9);
        for _ in 0..50 {
            let id = rng.uuid();
            let groups: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
            assert!(groups[2].starts_with('4'), "{id}");
            assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "{id}");
        }
    }

    #[test]
    fn durations_stay_within_the_bound() {
        let mut rng = SplitMix64::new(3);
        let max = Duration::from_millis(5);
        for _ in 0..1000 {
            assert!(rng.duration_up_to(max) <= max);
        }
        assert_eq!(rng.duration_up_to(Duration::ZERO), Duration::ZERO);
    }
}
