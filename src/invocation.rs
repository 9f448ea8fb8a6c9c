//! One invocation's budget and tally: its deadline, how many Connect calls may be in flight,
//! whether sending has been halted (and why), and the count of outcomes that telemetry reads
//! for the summary line and the metrics. Owned here; nothing else changes it.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::domain::Channel;
use crate::outcome::{Failure, NotSent, Outcome};

/// One invocation's budget and tally.
pub struct Invocation {
    trigger: &'static str,
    deadline: Instant,
    permits: Semaphore,
    halted: Mutex<Option<NotSent>>,
    tally: Mutex<Tally>,
}

impl Invocation {
    /// An invocation of `trigger` that must answer before `deadline`, with at most
    /// `max_in_flight` Connect calls at once.
    pub fn new(trigger: &'static str, deadline: Instant, max_in_flight: usize) -> Self {
        Self {
            trigger,
            deadline,
            permits: Semaphore::new(max_in_flight),
            halted: Mutex::new(None),
            tally: Mutex::new(Tally::default()),
        }
    }

    /// The trigger's short name, for logs and metrics.
    pub fn trigger(&self) -> &'static str {
        self.trigger
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Waits for a slot among the calls in flight; `None` if the budget was closed.
    pub async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    /// Stops the invocation's later sends, for the first `reason` given.
    pub fn halt(&self, reason: NotSent) {
        self.halted.lock().expect("halt lock").get_or_insert(reason);
    }

    /// Why sending was halted, if it was.
    pub fn halted(&self) -> Option<NotSent> {
        *self.halted.lock().expect("halt lock")
    }

    /// Counts one request's outcome.
    pub fn count(&self, channel: Option<Channel>, outcome: &Outcome, latency: Option<Duration>) {
        self.tally
            .lock()
            .expect("tally lock")
            .add(channel, outcome, latency);
    }

    /// Counts an attempt that Connect throttled and that is tried again in a later slot.
    pub fn count_throttled_attempt(&self) {
        self.tally
            .lock()
            .expect("tally lock")
            .pacing
            .throttled_attempts += 1;
    }

    /// Adds a wait for a pacing slot.
    pub fn count_pacing_wait(&self, waited: Duration) {
        self.tally.lock().expect("tally lock").pacing.wait += waited;
    }

    /// Notes the instance's pacing rate as the invocation ends.
    pub fn note_pacing_rate(&self, rate: Option<f64>) {
        self.tally.lock().expect("tally lock").pacing.rate = rate;
    }

    /// Changes the ledger's counts.
    pub fn count_ledger(&self, change: impl FnOnce(&mut LedgerTally)) {
        change(&mut self.tally.lock().expect("tally lock").ledger);
    }

    /// Counts one contact event: its channel when known, whether the ledger knew its contact,
    /// the status it moved the contact to (`None`: nothing moved) and whether it newly showed
    /// a reply from the customer.
    pub fn count_contact_event(
        &self,
        channel: Option<Channel>,
        known: bool,
        moved_to: Option<&str>,
        replied: bool,
    ) {
        let mut tally = self.tally.lock().expect("tally lock");
        let entry = tally.per_channel.entry(channel).or_default();
        let contact = &mut entry.contact_events;
        contact.received += 1;
        contact.unknown += u32::from(!known);
        match moved_to {
            Some("CONNECTED") => contact.connected += 1,
            Some("ENDED") => contact.ended += 1,
            _ => {}
        }
        contact.replies += u32::from(replied);
    }

    /// The counts so far, to read.
    pub fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().expect("tally lock")
    }
}

/// Counts of one invocation, per channel (`None`: requests too invalid to have one).
#[derive(Debug, Default)]
pub struct Tally {
    per_channel: BTreeMap<Option<Channel>, ChannelTally>,
    /// How the instance's pacing held the invocation back, over every channel.
    pub pacing: PacingTally,
    /// What the ledger did, over every channel.
    pub ledger: LedgerTally,
}

/// The ledger's work in one invocation.
#[derive(Debug, Default)]
pub struct LedgerTally {
    /// Requests answered from their `SENT` entry, without a call to Connect.
    pub answered: u32,
    /// State changes that could not be written.
    pub unrecorded: u32,
    /// Outcome events published, and those EventBridge did not take.
    pub published: u32,
    pub unpublished: u32,
}

/// Connect's contact events of one channel.
#[derive(Debug, Default)]
pub struct ContactTally {
    pub received: u32,
    /// For contacts the ledger does not know.
    pub unknown: u32,
    /// Contacts moved to `CONNECTED`, to `ENDED`, and newly showing a customer's reply.
    pub connected: u32,
    pub ended: u32,
    pub replies: u32,
}

/// The pacing of one invocation: what an operator sees when the fleet is held by the quota.
#[derive(Debug, Default)]
pub struct PacingTally {
    /// The instance's rate (requests per second) as the invocation ended; `None` unpaced.
    pub rate: Option<f64>,
    /// Time the invocation's requests waited for pacing slots, summed.
    pub wait: Duration,
    /// Attempts Connect throttled, including those tried again in a later slot.
    pub throttled_attempts: u32,
}

/// The counts of one channel.
#[derive(Debug, Default)]
pub struct ChannelTally {
    pub started: u32,
    /// SMS segments of the contacts started (an SMS with text of its own): what carriers bill.
    pub sms_segments: u32,
    /// Suppressed requests by reason (`DO_NOT_CONTACT`, `FREQUENCY_CAP`).
    pub suppressed: BTreeMap<&'static str, u32>,
    /// Requests held until their send window opens.
    pub deferred: u32,
    /// Records Connect throttled, re-sent to their queue with a delay (counted in `throttled`
    /// too).
    pub requeued: u32,
    /// Throttled records reported instead of re-sent: first received longer ago than
    /// `REQUEUE_MAX_HOURS` (counted in `failures` too).
    pub requeue_limit: u32,
    /// Failures by reason code.
    pub failures: BTreeMap<&'static str, u32>,
    pub throttled: u32,
    pub expired: u32,
    /// Connect's latency of each call, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// Connect's contact events for this channel's contacts.
    pub contact_events: ContactTally,
}

impl ChannelTally {
    /// Whether any request ended on this channel (an invocation of contact events has none).
    pub fn has_outcomes(&self) -> bool {
        self.started + self.deferred + self.requeued + self.expired > 0
            || !self.suppressed.is_empty()
            || !self.failures.is_empty()
    }
}

impl Tally {
    fn add(&mut self, channel: Option<Channel>, outcome: &Outcome, latency: Option<Duration>) {
        let entry = self.per_channel.entry(channel).or_default();
        if let Some(latency) = latency {
            entry.latencies_ms.push(latency.as_secs_f64() * 1000.0);
        }
        match outcome {
            Outcome::Started(_, cost) => {
                entry.started += 1;
                entry.sms_segments += cost.map_or(0, |c| c.segments);
            }
            Outcome::Suppressed(reason) => {
                *entry.suppressed.entry(reason.as_str()).or_default() += 1;
            }
            Outcome::Deferred { .. } => entry.deferred += 1,
            // Still a throttle: the `Throttles` metric shows Connect pushing back either way.
            Outcome::Requeued(_) => {
                entry.requeued += 1;
                entry.throttled += 1;
            }
            Outcome::Failed(failure) => {
                if let Failure::ResendLimit { .. } = failure {
                    entry.requeue_limit += 1;
                }
                let code = failure.reason_code();
                *entry.failures.entry(code).or_default() += 1;
                match code {
                    "REQUEST_THROTTLED" => entry.throttled += 1,
                    "EXPIRED" => entry.expired += 1,
                    _ => {}
                }
            }
        }
    }

    /// Each channel seen, with its counts.
    pub fn channels(&self) -> impl Iterator<Item = (Option<Channel>, &ChannelTally)> {
        self.per_channel.iter().map(|(channel, t)| (*channel, t))
    }

    /// Requests started and failed, over every channel.
    pub fn totals(&self) -> (u32, u32) {
        self.per_channel.values().fold((0, 0), |(s, f), t| {
            (s + t.started, f + t.failures.values().sum::<u32>())
        })
    }

    /// Suppressed requests by reason, over every channel.
    pub fn suppressed_by_reason(&self) -> BTreeMap<&'static str, u32> {
        let mut all = BTreeMap::new();
        for tally in self.per_channel.values() {
            for (reason, count) in &tally.suppressed {
                *all.entry(*reason).or_default() += count;
            }
        }
        all
    }

    /// Requests deferred, over every channel.
    pub fn deferred(&self) -> u32 {
        self.per_channel.values().map(|t| t.deferred).sum()
    }

    /// Records requeued, over every channel.
    pub fn requeued(&self) -> u32 {
        self.per_channel.values().map(|t| t.requeued).sum()
    }

    /// Failures by reason code, over every channel.
    pub fn failures_by_code(&self) -> BTreeMap<&'static str, u32> {
        let mut all = BTreeMap::new();
        for tally in self.per_channel.values() {
            for (code, count) in &tally.failures {
                *all.entry(*code).or_default() += count;
            }
        }
        all
    }
}
