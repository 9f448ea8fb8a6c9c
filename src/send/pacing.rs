//! Client-side pacing of Connect calls, shared by every invocation of one function instance:
//! send slots at an adaptive rate that stays under the account's quota together with the rest of
//! the fleet (see [`AdaptiveRate`]), and the pause after Connect reports a quota reached.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub use crate::config::Pacing;

/// Why no slot was given.
#[derive(Debug, PartialEq, Eq)]
pub enum NoSlot {
    /// The slot would come after the caller's latest useful start.
    TooLate,
    /// Sending is paused after Connect reported a quota reached.
    Paused,
}

/// Hands out send slots in order. A caller whose slot would come after its latest useful start
/// gets none (and takes none) instead of sleeping into the invocation's deadline.
#[derive(Debug)]
pub struct Pacer {
    pacing: Pacing,
    state: Mutex<Slots>,
}

#[derive(Debug)]
struct Slots {
    rate: Option<AdaptiveRate>,
    /// The earliest moment the next slot may be given.
    next: Instant,
    /// Bumped by every cut and pause: a slot promised before is taken again (or refused).
    generation: u64,
    /// The last cut, and throttles of attempts sent before it are not cut for again.
    last_cut: Option<Instant>,
    paused_until: Option<Instant>,
}

impl Pacer {
    pub fn new(pacing: Pacing) -> Self {
        let now = Instant::now();
        let rate = match pacing {
            Pacing::Off => None,
            Pacing::Adaptive { ceiling } => Some(AdaptiveRate::new(ceiling, now)),
            Pacing::Fixed { rate } => Some(AdaptiveRate::fixed(rate)),
        };
        Self {
            pacing,
            state: Mutex::new(Slots {
                rate,
                next: now,
                generation: 0,
                last_cut: None,
                paused_until: None,
            }),
        }
    }

    /// Waits for a slot, or answers at once if none can be had before `latest` or sending is
    /// paused.
    pub async fn acquire(&self, latest: Instant) -> Result<(), NoSlot> {
        loop {
            let (at, generation) = {
                let mut slots = self.state.lock().expect("pacer lock");
                let now = Instant::now();
                if slots.paused_until.is_some_and(|until| until > now) {
                    return Err(NoSlot::Paused);
                }
                let Some(rate) = &slots.rate else {
                    return Ok(());
                };
                let interval = Duration::from_secs_f64(1.0 / rate.at(now));
                let at = slots.next.max(now);
                if at > latest {
                    return Err(NoSlot::TooLate);
                }
                slots.next = at + interval;
                (at, slots.generation)
            };
            tokio::time::sleep_until(at).await;
            if self.state.lock().expect("pacer lock").generation == generation {
                return Ok(());
            }
        }
    }

    /// Connect throttled an attempt sent at `sent`: the rate is cut, once for all the attempts
    /// that were already under way at the last cut.
    pub fn throttled(&self, sent: Instant) {
        let mut slots = self.state.lock().expect("pacer lock");
        if slots.last_cut.is_some_and(|cut| sent < cut) {
            return;
        }
        let now = Instant::now();
        let Some(rate) = slots.rate.as_mut() else {
            return;
        };
        if !rate.cut(now) {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / rate.at(now));
        slots.last_cut = Some(now);
        slots.generation += 1;
        slots.next = now + interval;
    }

    /// Sends nothing until `until`: Connect reported a quota reached. Callers already waiting
    /// for a slot are refused too.
    pub fn pause(&self, until: Instant) {
        let mut slots = self.state.lock().expect("pacer lock");
        slots.paused_until = Some(slots.paused_until.map_or(until, |u| u.max(until)));
        slots.generation += 1;
    }

    /// The current rate in requests per second, `None` without pacing.
    pub fn rate(&self) -> Option<f64> {
        let slots = self.state.lock().expect("pacer lock");
        slots.rate.as_ref().map(|rate| rate.at(Instant::now()))
    }

    pub fn pacing(&self) -> Pacing {
        self.pacing
    }
}

/// A new instance starts at this share of the ceiling...
const START_SHARE: f64 = 0.5;
/// ...and grows by this factor per probe second until its first throttle or the ceiling.
const START_GROWTH: f64 = 1.5;
/// A throttle cuts the rate by this share.
const CUT: f64 = 0.35;
/// The cubic probe's steepness beyond the peak, in ceilings per probe second cubed.
const PROBE: f64 = 5e-6;
/// The climb back to the peak after a cut is this many times steeper than the probe beyond it:
/// it takes half the time, so a cut (a spurious one too) costs less of the quota, while probing
/// past the point where Connect said no stays slow.
const RECOVERY: f64 = 8.0;
/// One probe second is this many attempts at the ceiling: the probe is counted in attempts,
/// not seconds, so the share of throttled attempts is the same whatever the quota.
const ATTEMPTS_PER_PROBE_SECOND: f64 = 20.0;
/// The rate never goes below this share of the ceiling.
const FLOOR_SHARE: f64 = 0.02;

/// An instance's rate, adapted to the throttles it meets: a cubic probe as in TCP CUBIC (and the
/// AWS SDKs' adaptive retry mode). After a cut the rate climbs back quickly towards the rate at
/// which it was throttled, stays near it, then probes beyond it ever faster; a throttle below the
/// previous peak lowers the peak aimed at, so that instances that joined late get their share.
#[derive(Clone, Debug)]
struct AdaptiveRate {
    ceiling: f64,
    adapts: bool,
    phase: Phase,
}

#[derive(Clone, Debug)]
enum Phase {
    /// Growing from the start share until the first throttle.
    Start { since: Instant },
    /// After a cut at `since` from `cut_from`: aiming at `peak`, then beyond.
    Probe {
        since: Instant,
        cut_from: f64,
        peak: f64,
    },
}

impl AdaptiveRate {
    fn new(ceiling: f64, now: Instant) -> Self {
        Self {
            ceiling,
            adapts: true,
            phase: Phase::Start { since: now },
        }
    }

    fn fixed(rate: f64) -> Self {
        Self {
            ceiling: rate,
            adapts: false,
            phase: Phase::Start {
                since: Instant::now(),
            },
        }
    }

    /// Requests per second at `now`.
    fn at(&self, now: Instant) -> f64 {
        if !self.adapts {
            return self.ceiling;
        }
        let probe_seconds = |since: Instant| {
            now.saturating_duration_since(since).as_secs_f64() * self.ceiling
                / ATTEMPTS_PER_PROBE_SECOND
        };
        let rate = match self.phase {
            Phase::Start { since } => {
                self.ceiling * START_SHARE * START_GROWTH.powf(probe_seconds(since))
            }
            Phase::Probe {
                since,
                cut_from,
                peak,
            } => {
                let low = cut_from * (1.0 - CUT);
                let recovery = RECOVERY * PROBE * self.ceiling;
                let k = ((peak - low).max(0.0) / recovery).cbrt();
                let x = probe_seconds(since) - k;
                let steepness = if x < 0.0 {
                    recovery
                } else {
                    PROBE * self.ceiling
                };
                peak + steepness * x.powi(3)
            }
        };
        rate.clamp(self.ceiling * FLOOR_SHARE, self.ceiling)
    }

    /// Cuts after a throttle at `now`; `false` for a fixed rate, which never changes.
    fn cut(&mut self, now: Instant) -> bool {
        if !self.adapts {
            return false;
        }
        let rate = self.at(now);
        let peak = match self.phase {
            Phase::Probe { peak, .. } if rate < peak => rate * (1.0 - CUT / 2.0),
            _ => rate,
        };
        self.phase = Phase::Probe {
            since: now,
            cut_from: rate,
            peak,
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_rate_spaces_calls_evenly_from_the_first() {
        let pacer = Pacer::new(Pacing::Fixed { rate: 2.0 });
        let start = Instant::now();
        for _ in 0..5 {
            pacer.acquire(far()).await.unwrap();
        }
        // The first is immediate, the next four come every 500 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_after_the_latest_start_is_refused_without_being_taken() {
        let pacer = Pacer::new(Pacing::Fixed { rate: 1.0 });
        let now = Instant::now();
        pacer.acquire(far()).await.unwrap();
        let cases = [(Duration::from_millis(999), Err(NoSlot::TooLate))];
        for (latest, expected) in cases {
            assert_eq!(pacer.acquire(now + latest).await, expected);
        }
        // The refused caller took nothing: the next slot is still one second after the first.
        pacer.acquire(now + Duration::from_secs(1)).await.unwrap();
        assert_eq!(now.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn without_pacing_every_slot_is_immediate_until_a_pause_and_after_it() {
        let pacer = Pacer::new(Pacing::Off);
        let start = Instant::now();
        for _ in 0..100 {
            pacer.acquire(far()).await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        pacer.pause(start + Duration::from_secs(60));
        assert_eq!(pacer.acquire(far()).await, Err(NoSlot::Paused));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(pacer.acquire(far()).await, Err(NoSlot::Paused));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(pacer.acquire(far()).await, Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_refuses_the_callers_already_waiting_for_a_slot() {
        let pacer = std::sync::Arc::new(Pacer::new(Pacing::Fixed { rate: 1.0 }));
        pacer.acquire(far()).await.unwrap();
        let waiter = tokio::spawn({
            let pacer = std::sync::Arc::clone(&pacer);
            async move { pacer.acquire(far()).await }
        });
        tokio::task::yield_now().await;
        pacer.pause(Instant::now() + Duration::from_secs(60));
        assert_eq!(waiter.await.unwrap(), Err(NoSlot::Paused));
    }

    #[tokio::test(start_paused = true)]
    async fn an_adaptive_rate_starts_at_half_the_ceiling_and_reaches_it_without_throttles() {
        let pacer = Pacer::new(Pacing::Adaptive { ceiling: 20.0 });
        let rate = || pacer.rate().unwrap();
        assert_eq!(rate(), 10.0);
        // 1.5 × per probe second (20 attempts at the ceiling, one second at 20/s).
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!((rate() - 15.0).abs() < 1e-9, "{}", rate());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(rate(), 20.0, "clamped to the ceiling");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_cuts_the_rate_which_climbs_back_to_the_peak_then_probes_beyond() {
        // Ceiling 40/s: a new instance runs at 20/s, and a probe second is half a second.
        let pacer = Pacer::new(Pacing::Adaptive { ceiling: 40.0 });
        let rate = || pacer.rate().unwrap();
        let advance =
            |probe_seconds: f64| tokio::time::advance(Duration::from_secs_f64(probe_seconds / 2.0));
        pacer.throttled(Instant::now());
        assert!((rate() - 20.0 * (1.0 - CUT)).abs() < 1e-9, "{}", rate());
        // Back at the peak (20/s) after K = cbrt(cut / (RECOVERY × PROBE × 40)) probe seconds.
        let k = (20.0 * CUT / (RECOVERY * PROBE * 40.0)).cbrt();
        advance(k / 2.0).await;
        let halfway = 20.0 - 20.0 * CUT / 8.0;
        assert!((rate() - halfway).abs() < 1e-6, "{} for {halfway}", rate());
        advance(k / 2.0).await;
        assert!((rate() - 20.0).abs() < 1e-6, "{}", rate());
        // Beyond the peak the probe is RECOVERY times gentler than the climb back was.
        advance(k).await;
        let beyond = 20.0 + 20.0 * CUT / RECOVERY;
        assert!((rate() - beyond).abs() < 1e-6, "{} for {beyond}", rate());
    }

    #[tokio::test(start_paused = true)]
    async fn throttles_of_attempts_sent_before_the_last_cut_do_not_cut_again() {
        let pacer = Pacer::new(Pacing::Adaptive { ceiling: 20.0 });
        tokio::time::advance(Duration::from_secs(60)).await;
        let before = Instant::now();
        tokio::time::advance(Duration::from_millis(10)).await;
        let once = 20.0 * (1.0 - CUT);
        let cases = [
            (before + Duration::from_millis(10), once),
            (before, once),
            (before + Duration::from_millis(10), once * (1.0 - CUT)),
        ];
        for (sent, expected) in cases {
            pacer.throttled(sent);
            assert!(
                (pacer.rate().unwrap() - expected).abs() < 0.01,
                "{expected}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_rate_is_not_cut_by_a_throttle() {
        let pacer = Pacer::new(Pacing::Fixed { rate: 20.0 });
        pacer.throttled(Instant::now());
        assert_eq!(pacer.rate(), Some(20.0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_reschedules_the_slots_already_promised_at_the_old_rate() {
        let pacer = std::sync::Arc::new(Pacer::new(Pacing::Fixed { rate: 10.0 }));
        let adaptive = std::sync::Arc::new(Pacer::new(Pacing::Adaptive { ceiling: 10.0 }));
        tokio::time::advance(Duration::from_secs(60)).await;
        for pacer in [pacer, adaptive] {
            let start = Instant::now();
            pacer.acquire(far()).await.unwrap();
            let waiter = tokio::spawn({
                let pacer = std::sync::Arc::clone(&pacer);
                async move { pacer.acquire(far()).await.map(|()| Instant::now()) }
            });
            tokio::task::yield_now().await;
            pacer.throttled(start);
            let slot = waiter.await.unwrap().unwrap() - start;
            let expected = match pacer.pacing() {
                // Promised at 100 ms, and a fixed rate does not change.
                Pacing::Fixed { .. } => Duration::from_millis(100),
                // Cut: taken again one interval of the cut rate after the cut.
                _ => Duration::from_secs_f64(1.0 / (10.0 * (1.0 - CUT))),
            };
            let off = slot.abs_diff(expected);
            assert!(off < Duration::from_millis(2), "{slot:?} for {expected:?}");
        }
    }
}
