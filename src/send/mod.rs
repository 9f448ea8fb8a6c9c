//! Sending one admitted request: the send window (deferral), the expiry check, a slot within
//! the invocation's budget, recipient protection (do-not-contact, caps), pacing, the call to
//! Connect, and exactly one outcome, logged and counted.

pub mod deferral;
pub mod ledger;
pub mod pacing;
pub mod pipeline;
pub mod protect;
pub mod resend;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::bus::OutcomeBus;
use crate::config::ProtectionConfig;
use crate::config::{Config, LedgerConfig, SendTimeouts};
use crate::connect::{ContactId, ContactStarter, StartError};
use crate::domain::{OutboundChat, ValidationError};
use crate::invocation::Invocation;
use crate::outcome::DeferralFailed;
use crate::outcome::{Failure, NotSent, Outcome};
use crate::policy::{Clock, SystemClock, Verdict, WindowPolicy};
use crate::queue::RequestQueue;
use crate::send::deferral::{Deferrer, Route};
use crate::send::pacing::{NoSlot, Pacer, Pacing};
use crate::send::resend::Resender;
use crate::store::RecipientState;
use crate::store::ledger::Ledger;
use crate::telemetry;
use ledger::{Book, Recorder};
use protect::{Protection, Screened};

/// Attempts of one request that Connect throttles, the first included. The SDK does not retry a
/// throttle; the function does, each attempt in a slot of the (then lowered) pacing rate.
pub const THROTTLED_ATTEMPTS: u32 = 3;

/// Long-lived across invocations: the Connect port, the instance's pacer, the send window with
/// its clock and queue, recipient protection (once its state is attached) and the settings.
pub struct Sender<C> {
    connect: C,
    pacer: Pacer,
    timeouts: SendTimeouts,
    quota_pause: Duration,
    max_in_flight: usize,
    protection_config: Option<ProtectionConfig>,
    protection: Option<Protection>,
    window: Option<WindowPolicy>,
    clock: Arc<dyn Clock>,
    request_queue_url: Option<String>,
    deferrer: Deferrer,
    resender: Resender,
    ledger_config: Option<LedgerConfig>,
    /// The ledger (contract §7), once attached; `None` without `STATE_TABLE_NAME` or with
    /// `LEDGER=off`.
    recorder: Option<Recorder>,
}

impl<C: ContactStarter> Sender<C> {
    pub fn new(connect: C, config: &Config) -> Self {
        Self {
            connect,
            pacer: Pacer::new(config.pacing),
            timeouts: config.timeouts,
            quota_pause: config.quota_pause,
            max_in_flight: config.max_in_flight.get(),
            window: config.send_window.clone(),
            clock: Arc::new(SystemClock),
            request_queue_url: config.request_queue_url.clone(),
            deferrer: Deferrer::default(),
            protection_config: config.protection.clone(),
            protection: None,
            resender: Resender::default(),
            ledger_config: config.ledger.clone(),
            recorder: None,
        }
    }

    /// Attaches the ledger and, when `OUTCOME_EVENT_BUS` is set, the bus its changes are
    /// published to; without the ledger's configuration neither is used.
    pub fn with_ledger(
        mut self,
        ledger: Arc<dyn Ledger>,
        bus: Option<Arc<dyn OutcomeBus>>,
    ) -> Self {
        self.recorder = self.ledger_config.as_ref().map(|config| {
            let recorder = Recorder::new(ledger, config.retention_days, config.default_category);
            match (bus, &config.outcome_event_bus) {
                (Some(bus), Some(_)) => recorder.with_bus(bus),
                _ => recorder,
            }
        });
        self
    }

    /// The ledger, when configured and attached.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    /// The last moment an invocation's own calls (DynamoDB, SQS, EventBridge) may run: its
    /// deadline less the time kept for the answer.
    pub fn cutoff(&self, invocation: &Invocation) -> Instant {
        invocation.deadline() - self.timeouts.answer_reserve
    }

    /// Reads "now" from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Holds requests outside their send window in SQS through `queue`, and re-sends SQS
    /// records Connect throttled to their queue.
    pub fn with_queue(mut self, queue: Arc<dyn RequestQueue>) -> Self {
        self.resender = Resender::new(Some(Arc::clone(&queue)));
        self.deferrer = Deferrer::new(Some(queue), self.request_queue_url.clone());
        self
    }

    /// Whether a send window is configured: only then do triggers keep a copy of a request to
    /// hand to the request queue.
    pub fn has_window(&self) -> bool {
        self.window.is_some()
    }

    /// Attaches the recipient state that the configured protection (`STATE_TABLE_NAME`) keeps;
    /// without that configuration the state is not used.
    pub fn with_recipient_state(mut self, state: Arc<dyn RecipientState>) -> Self {
        self.protection = self
            .protection_config
            .take()
            .map(|config| Protection::new(config, state));
        self
    }

    /// Recipient protection, when configured and attached.
    pub fn protection(&self) -> Option<&Protection> {
        self.protection.as_ref()
    }

    /// Most Connect calls in flight at once within one invocation.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Starts an invocation's budget.
    pub fn invocation(&self, trigger: &'static str, deadline: Instant) -> Invocation {
        Invocation::new(trigger, deadline, self.max_in_flight)
    }

    /// Takes a request to its outcome and logs it. Every request of every trigger ends here,
    /// valid or not, so each gets exactly one outcome line.
    pub async fn process(
        &self,
        invocation: &Invocation,
        request_id: &str,
        request: Result<OutboundChat, ValidationError>,
        route: Route<'_>,
        screened: &Screened,
        book: &Book,
    ) -> Outcome {
        let channel = match &request {
            Ok(chat) => Some(chat.channel()),
            Err(err) => err.channel(),
        };
        if let (Some(recorder), Ok(chat)) = (&self.recorder, &request) {
            let cutoff = self.cutoff(invocation);
            if let Some((contact, entry)) = recorder.recorded_contact(chat, book, cutoff).await {
                // Sent before (beyond Connect's 7-day token memory too): its contact, and no
                // second one.
                let outcome = Outcome::Started(contact);
                invocation.count_ledger(|t| t.answered += 1);
                recorder.note_answered(book, request_id, true, entry);
                record(invocation, request_id, channel, &outcome, None);
                return outcome;
            }
        }
        let (token, category) = match &request {
            Ok(chat) => (chat.client_token().cloned(), chat.category()),
            Err(err) => (err.client_token().cloned(), None),
        };
        let (outcome, latency) = match request {
            Err(err) => (Outcome::Failed(Failure::Invalid(err)), None),
            Ok(chat) => {
                let origin = route.origin();
                match self.hold_back(invocation, &chat, route).await {
                    Some(outcome) => (outcome, None),
                    None => {
                        let (outcome, latency) =
                            self.send(invocation, &chat, request_id, screened).await;
                        let cutoff = invocation.deadline() - self.timeouts.answer_reserve;
                        let (resender, now) = (&self.resender, self.clock.now());
                        let outcome = resender.settle(origin, &chat, outcome, now, cutoff).await;
                        (outcome, latency)
                    }
                }
            }
        };
        record(invocation, request_id, channel, &outcome, latency);
        if let Some(recorder) = &self.recorder {
            let now = self.clock.now();
            let token = token.as_ref();
            let trigger = invocation.trigger();
            recorder.note(
                book, request_id, token, channel, category, &outcome, trigger, now,
            );
        }
        outcome
    }

    /// The send window's verdict, acted on: `None` when the request may be sent now, else its
    /// outcome (deferred, expired first, refused, or not held). No time-zone work and no
    /// queue call without a configured window.
    async fn hold_back(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
        route: Route<'_>,
    ) -> Option<Outcome> {
        let window = self.window.as_ref()?;
        let now = self.clock.now();
        let failed = |failure| Some(Outcome::Failed(failure));
        match window.decide(chat, now) {
            Verdict::SendNow => None,
            Verdict::ExpiresFirst => failed(Failure::Expired),
            Verdict::Refused(refusal) => failed(Failure::Refused(refusal)),
            Verdict::Defer { .. } if chat.is_expired_at(SystemTime::from(now)) => {
                failed(Failure::Expired)
            }
            Verdict::Defer { not_before } => {
                let cutoff = invocation.deadline() - self.timeouts.answer_reserve;
                let deferral = self.deferrer.defer(route, chat, not_before, now);
                match tokio::time::timeout_at(cutoff, deferral).await {
                    Ok(Ok(())) => Some(Outcome::Deferred { not_before }),
                    Ok(Err(err)) => failed(Failure::NotDeferred(err)),
                    Err(_) => failed(Failure::NotDeferred(DeferralFailed::NotHeld {
                        not_before,
                        reason: "the call to SQS did not finish before the invocation deadline"
                            .into(),
                    })),
                }
            }
        }
    }

    /// Reports a request that is not sent because an earlier one of its FIFO group failed or
    /// waits for its window (`reason`).
    pub fn skip(
        &self,
        invocation: &Invocation,
        request_id: &str,
        chat: Option<&OutboundChat>,
        reason: NotSent,
        book: &Book,
    ) -> Outcome {
        let outcome = Outcome::Failed(Failure::NotSent(reason));
        let channel = chat.map(OutboundChat::channel);
        record(invocation, request_id, channel, &outcome, None);
        if let (Some(recorder), Some(chat)) = (&self.recorder, chat) {
            let (token, category) = (chat.client_token(), chat.category());
            let (trigger, now) = (invocation.trigger(), self.clock.now());
            recorder.note(
                book, request_id, token, channel, category, &outcome, trigger, now,
            );
        }
        outcome
    }

    /// Sends a valid chat within the invocation's budget. Also gives Connect's latency, when it
    /// was called: the call alone, not the wait for a slot or for pacing.
    async fn send(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
        request_id: &str,
        screened: &Screened,
    ) -> (Outcome, Option<Duration>) {
        let failed = |failure| (Outcome::Failed(failure), None);
        if chat.is_expired_at(SystemTime::from(self.clock.now())) {
            return failed(Failure::Expired);
        }
        let Some(_slot) = invocation.slot().await else {
            return failed(Failure::NotSent(NotSent::DeadlineNear));
        };
        if let Some(reason) = invocation.halted() {
            return failed(Failure::NotSent(reason));
        }
        // The last moment a call may start and still get its shortest time before the answer.
        let Some(latest_start) = invocation
            .deadline()
            .checked_sub(self.timeouts.start_margin())
        else {
            return failed(Failure::NotSent(NotSent::DeadlineNear));
        };
        if Instant::now() > latest_start {
            return failed(Failure::NotSent(NotSent::DeadlineNear));
        }
        let Some(protection) = &self.protection else {
            return self.attempts(invocation, chat, latest_start).await;
        };
        let reservation = match protection
            .check(
                chat,
                screened,
                request_id,
                SystemTime::from(self.clock.now()),
            )
            .await
        {
            Ok(protect::Verdict::Clear(reservation)) => reservation,
            Ok(protect::Verdict::Suppressed(reason)) => return (Outcome::Suppressed(reason), None),
            Err(err) => return failed(Failure::State(err)),
        };
        let (outcome, latency) = self.attempts(invocation, chat, latest_start).await;
        if let (Some(reservation), Outcome::Failed(failure)) = (&reservation, &outcome) {
            if failure.is_permanent() {
                // Never past the answer: a place not given back expires with its bucket.
                let cutoff = invocation.deadline() - self.timeouts.answer_reserve;
                let release = tokio::time::timeout_at(cutoff, protection.release(reservation));
                if release.await.is_err() {
                    tracing::warn!(
                        request_id,
                        "a reservation was not given back before the deadline: it expires with its window"
                    );
                }
            }
        }
        (outcome, latency)
    }

    /// The attempts of one request: each in a pacing slot, a throttled one tried again (at most
    /// [`THROTTLED_ATTEMPTS`]) in a slot of the lowered rate. Also gives Connect's latency, when
    /// it was called: the last attempt alone, not the wait for a slot.
    async fn attempts(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
        latest_start: Instant,
    ) -> (Outcome, Option<Duration>) {
        let failed = |failure| (Outcome::Failed(failure), None);
        let mut attempt = 1;
        loop {
            if let Err(reason) = self.paced_start(invocation, chat, latest_start).await {
                return failed(reason);
            }
            let sent = Instant::now();
            let result = self.call(invocation, chat).await;
            let latency = Some(sent.elapsed());
            match result {
                Ok(contact_id) => return (Outcome::Started(contact_id), latency),
                Err(StartError::Throttled { .. })
                    if attempt < THROTTLED_ATTEMPTS && self.pacer.pacing() != Pacing::Off =>
                {
                    self.pacer.throttled(sent);
                    invocation.count_throttled_attempt();
                    attempt += 1;
                }
                Err(err) => {
                    self.stop_after(invocation, &err, sent);
                    return (Outcome::Failed(Failure::Connect(err)), latency);
                }
            }
        }
    }

    /// Waits for the moment to call: the invocation not halted, a pacing slot before the latest
    /// start, the request not expired meanwhile.
    async fn paced_start(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
        latest_start: Instant,
    ) -> Result<(), Failure> {
        if let Some(reason) = invocation.halted() {
            return Err(Failure::NotSent(reason));
        }
        if Instant::now() > latest_start {
            return Err(Failure::NotSent(NotSent::DeadlineNear));
        }
        let waiting = Instant::now();
        let slot = self.pacer.acquire(latest_start).await;
        invocation.count_pacing_wait(waiting.elapsed());
        match slot {
            Ok(()) => {}
            Err(NoSlot::TooLate) => return Err(Failure::NotSent(NotSent::DeadlineNear)),
            Err(NoSlot::Paused) => {
                invocation.halt(NotSent::QuotaReachedEarlier);
                return Err(Failure::NotSent(NotSent::QuotaReachedEarlier));
            }
        }
        // The wait for a slot may have crossed the expiry or another request's throttle.
        if let Some(reason) = invocation.halted() {
            return Err(Failure::NotSent(reason));
        }
        if chat.is_expired_at(SystemTime::from(self.clock.now())) {
            return Err(Failure::Expired);
        }
        Ok(())
    }

    /// One call to Connect, within the operation's time or what is left before the answer
    /// reserve if that comes first.
    async fn call(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
    ) -> Result<ContactId, StartError> {
        let budget = self.timeouts.call_budget(
            invocation
                .deadline()
                .saturating_duration_since(Instant::now()),
        );
        match tokio::time::timeout(budget, self.connect.start_contact(chat)).await {
            Ok(result) => result,
            Err(_) => Err(StartError::Transient {
                message: "the call to Connect did not finish within its time budget".into(),
            }),
        }
    }

    /// What a final throttle or a reached quota stops: the invocation's later sends, and for a
    /// quota every invocation of this instance for the quota pause (`QUOTA_PAUSE` by default).
    fn stop_after(&self, invocation: &Invocation, err: &StartError, sent: Instant) {
        match err {
            StartError::Throttled { .. } => {
                self.pacer.throttled(sent);
                invocation.count_throttled_attempt();
                invocation.halt(NotSent::ThrottledEarlier);
            }
            StartError::QuotaExceeded { .. } => {
                self.pacer.pause(Instant::now() + self.quota_pause);
                invocation.halt(NotSent::QuotaReachedEarlier);
            }
            _ => {}
        }
    }

    /// The instance's pacing rate now, for the invocation's metrics.
    pub fn pacing_rate(&self) -> Option<f64> {
        self.pacer.rate()
    }
}

/// Counts an outcome in the invocation's tally and logs its line.
fn record(
    invocation: &Invocation,
    request_id: &str,
    channel: Option<crate::domain::Channel>,
    outcome: &Outcome,
    latency: Option<Duration>,
) {
    invocation.count(channel, outcome, latency);
    telemetry::log_outcome(invocation.trigger(), request_id, channel, outcome, latency);
}
