//! Client-side pacing of Connect calls: a token bucket shared by every invocation of one
//! function instance, so a large batch does not burn through the account's API rate.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket that hands out send slots in order. A caller that would have to wait past
/// its latest useful start gets no slot (and takes none), instead of sleeping into the
/// invocation's deadline.
#[derive(Debug)]
pub struct Pacer {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: that many slots are already promised to waiting callers.
    tokens: f64,
    updated: Instant,
}

/// The slot could not be had before the caller's latest start.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLate;

impl Pacer {
    /// `burst` is how many calls may go at once after a quiet spell; at least one.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_second,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Waits for a slot, or answers [`TooLate`] at once if the slot would come after `latest`.
    pub async fn acquire(&self, latest: Instant) -> Result<(), TooLate> {
        let wait = {
            let mut bucket = self.state.lock().expect("pacer lock");
            let now = Instant::now();
            let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_second;
            bucket.tokens = (bucket.tokens + refill).min(self.burst);
            bucket.updated = now;
            let wait = if bucket.tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second)
            };
            if now + wait > latest {
                return Err(TooLate);
            }
            bucket.tokens -= 1.0;
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_beyond_the_burst_are_spaced_at_the_rate() {
        let pacer = Pacer::new(2.0, 1);
        let start = Instant::now();
        let far = start + Duration::from_secs(60);
        for _ in 0..5 {
            pacer.acquire(far).await.unwrap();
        }
        // The first is immediate, the next four come every 500 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_after_the_latest_start_is_refused_without_being_taken() {
        let pacer = Pacer::new(1.0, 1);
        let now = Instant::now();
        pacer.acquire(now + Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            pacer.acquire(now + Duration::from_millis(100)).await,
            Err(TooLate)
        );
        // The refused caller took nothing: the next slot is still one second after the first.
        pacer.acquire(now + Duration::from_secs(10)).await.unwrap();
        assert_eq!(now.elapsed(), Duration::from_secs(1));
    }
}
