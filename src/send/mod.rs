//! Sending one admitted request: the send window (deferral), the expiry check, a slot within
//! the invocation's budget, recipient protection (do-not-contact, caps), pacing, the call to
//! Connect, and exactly one outcome, logged and counted.

pub mod deferral;
pub mod ledger;
pub mod pacing;
pub mod pipeline;
pub mod protect;
pub mod resend;
pub mod reserve;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::SignedDuration;
use tokio::time::Instant;
use tracing::Instrument;

use crate::bus::OutcomeBus;
use crate::config::ProtectionConfig;
use crate::config::{Config, LedgerConfig, SendTimeouts};
use crate::connect::{ContactId, ContactStarter, StartError};
use crate::domain::{Category, Channel, ClientToken, OutboundChat, ValidationError};
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
use protect::{Candidate, Protection, Screened};
use reserve::Decision;

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
    requeue_max_age: SignedDuration,
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
            requeue_max_age: SignedDuration::try_from(config.requeue_max_age)
                .unwrap_or(SignedDuration::MAX),
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

    /// Reads "now" from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Holds requests outside their send window in SQS through `queue`, and re-sends SQS
    /// records Connect throttled to their queue.
    pub fn with_queue(mut self, queue: Arc<dyn RequestQueue>) -> Self {
        self.resender = Resender::new(Some(Arc::clone(&queue)), self.requeue_max_age);
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

    /// The last moment of `invocation` for work before its answer: its deadline minus the
    /// answer reserve. Calls to Connect, SQS and DynamoDB still running then are cut.
    pub fn cutoff(&self, invocation: &Invocation) -> Instant {
        invocation.deadline() - self.timeouts.answer_reserve
    }

    /// Starts an invocation's budget.
    pub fn invocation(&self, trigger: &'static str, deadline: Instant) -> Invocation {
        Invocation::new(trigger, deadline, self.max_in_flight)
    }

    /// Decides recipient protection for a batch's requests at once (nothing when protection is
    /// off): the send window and the expiry are pure, so a request they hold back takes no
    /// place (and gives back one an earlier delivery took). `requests` pairs each request with
    /// its id. The ledger entries of the requests' tokens are read in the same round trip into
    /// `book` (looked up on their own only without protection).
    pub async fn screen(
        &self,
        invocation: &Invocation,
        requests: &[(&str, &OutboundChat)],
        screened: &Screened,
        book: &Book,
    ) {
        let Some(protection) = &self.protection else {
            if let Some(recorder) = &self.recorder {
                let chats = requests.iter().map(|(_, chat)| *chat);
                recorder.look_up(chats, book, self.cutoff(invocation)).await;
            }
            return;
        };
        let tokens: Vec<ClientToken> = match &self.recorder {
            Some(recorder) => {
                recorder.tokens_to_look_up(requests.iter().map(|(_, chat)| *chat), book)
            }
            None => Vec::new(),
        };
        let now = self.clock.now();
        let candidates: Vec<Candidate<'_>> = requests
            .iter()
            .map(|(request_id, chat)| Candidate {
                request_id,
                chat,
                held_back: self.held_back(chat, now),
            })
            .collect();
        let found = protection
            .screen(
                &candidates,
                SystemTime::from(now),
                self.latest_start(invocation),
                screened,
                &tokens,
            )
            .await;
        if let Some(recorder) = &self.recorder {
            recorder.fill(book, &tokens, found);
        }
    }

    /// Whether the send window or the expiry holds `chat` back at `now`.
    fn held_back(&self, chat: &OutboundChat, now: jiff::Timestamp) -> bool {
        chat.is_expired_at(SystemTime::from(now))
            || self
                .window
                .as_ref()
                .is_some_and(|window| window.decide(chat, now) != Verdict::SendNow)
    }

    /// The last moment a send may start: a decision not made by then is of no use.
    fn latest_start(&self, invocation: &Invocation) -> Instant {
        let deadline = invocation.deadline();
        deadline
            .checked_sub(self.timeouts.start_margin())
            .unwrap_or(deadline)
    }

    /// Takes a request to its outcome and logs it, in the request's span (see
    /// [`telemetry::request_span`]): every line logged on its way names it. Every request of
    /// every trigger ends here, valid or not, so each gets exactly one outcome line.
    /// `request_id` is the trigger's id for the request; it also marks the reservation of a
    /// request without a client token.
    pub fn process(
        &self,
        invocation: &Invocation,
        request_id: &str,
        request: Result<OutboundChat, ValidationError>,
        route: Route<'_>,
        screened: &Screened,
        book: &Book,
    ) -> impl Future<Output = Outcome> {
        let channel = match &request {
            Ok(chat) => Some(chat.channel()),
            Err(err) => err.channel(),
        };
        let span = telemetry::request_span(invocation.trigger(), request_id, channel);
        self.conclude(
            invocation, request_id, channel, request, route, screened, book,
        )
        .instrument(span)
    }

    /// [`Sender::process`] inside the request's span.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(
        &self,
        invocation: &Invocation,
        request_id: &str,
        channel: Option<Channel>,
        request: Result<OutboundChat, ValidationError>,
        route: Route<'_>,
        screened: &Screened,
        book: &Book,
    ) -> Outcome {
        if let Ok(chat) = &request {
            if screened.get(request_id).is_none() {
                // A request not screened with a batch is a batch of its own: its protection
                // and its ledger entry in one read.
                self.screen(invocation, &[(request_id, chat)], screened, book)
                    .await;
            }
            if let Some(outcome) = self
                .answered_from_ledger(invocation, request_id, chat, book)
                .await
            {
                record(invocation, channel, &outcome, None);
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
                let mut route = Some(route);
                let (outcome, latency) = match self.hold_back(invocation, &chat, &mut route).await {
                    Some(outcome) => (outcome, None),
                    None => {
                        let (outcome, latency) =
                            self.send(invocation, &chat, request_id, screened).await;
                        // Quiet hours began while it waited: held for the opening after all.
                        let outcome = match outcome {
                            Outcome::Failed(Failure::NotSent(NotSent::WindowClosed)) => self
                                .hold_back(invocation, &chat, &mut route)
                                .await
                                .unwrap_or(outcome),
                            outcome => outcome,
                        };
                        let cutoff = self.cutoff(invocation);
                        let (resender, now) = (&self.resender, self.clock.now());
                        let outcome = resender.settle(origin, &chat, outcome, now, cutoff).await;
                        (outcome, latency)
                    }
                };
                self.settle(invocation, request_id, &outcome, screened)
                    .await;
                (outcome, latency)
            }
        };
        record(invocation, channel, &outcome, latency);
        self.note_in_ledger(
            invocation,
            book,
            request_id,
            token.as_ref(),
            channel,
            category,
            &outcome,
        );
        outcome
    }

    /// The contact of a request its ledger entry says was sent (beyond Connect's 7-day token
    /// memory too): answered with it, and Connect is not called a second time.
    async fn answered_from_ledger(
        &self,
        invocation: &Invocation,
        request_id: &str,
        chat: &OutboundChat,
        book: &Book,
    ) -> Option<Outcome> {
        let recorder = self.recorder.as_ref()?;
        let cutoff = self.cutoff(invocation);
        let (contact, entry) = recorder.recorded_contact(chat, book, cutoff).await?;
        invocation.count_ledger(|t| t.answered += 1);
        recorder.note_answered(book, request_id, true, entry);
        Some(Outcome::Started(contact, chat.sms_cost()))
    }

    /// Notes the request's outcome for the ledger, written with the batch's.
    #[allow(clippy::too_many_arguments)]
    fn note_in_ledger(
        &self,
        invocation: &Invocation,
        book: &Book,
        request_id: &str,
        token: Option<&ClientToken>,
        channel: Option<Channel>,
        category: Option<Category>,
        outcome: &Outcome,
    ) {
        if let Some(recorder) = &self.recorder {
            let (trigger, now) = (invocation.trigger(), self.clock.now());
            recorder.note(
                book, request_id, token, channel, category, outcome, trigger, now,
            );
        }
    }

    /// Gives back the cap place the request held, if its outcome calls for it.
    async fn settle(
        &self,
        invocation: &Invocation,
        request_id: &str,
        outcome: &Outcome,
        screened: &Screened,
    ) {
        if let Some(protection) = &self.protection {
            let cutoff = self.cutoff(invocation);
            protection
                .settle(screened, request_id, outcome, cutoff)
                .await;
        }
    }

    /// The send window's verdict, acted on: `None` when the request may be sent now, else its
    /// outcome (deferred, expired first, refused, or not held). No time-zone work and no
    /// queue call without a configured window. The route is taken only by a deferral.
    async fn hold_back(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
        route: &mut Option<Route<'_>>,
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
                let cutoff = self.cutoff(invocation);
                let route = route.take()?;
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
    /// waits for its window (`reason`), giving back the cap place it took, in the request's
    /// span, as [`Sender::process`] does.
    pub async fn skip(
        &self,
        invocation: &Invocation,
        request_id: &str,
        chat: Option<&OutboundChat>,
        reason: NotSent,
        screened: &Screened,
        book: &Book,
    ) -> Outcome {
        let outcome = Outcome::Failed(Failure::NotSent(reason));
        let channel = chat.map(OutboundChat::channel);
        let span = telemetry::request_span(invocation.trigger(), request_id, channel);
        async {
            self.settle(invocation, request_id, &outcome, screened)
                .await;
            record(invocation, channel, &outcome, None);
            if let Some(chat) = chat {
                let (token, category) = (chat.client_token(), chat.category());
                self.note_in_ledger(
                    invocation, book, request_id, token, channel, category, &outcome,
                );
            }
        }
        .instrument(span)
        .await;
        outcome
    }

    /// Sends a valid chat within the invocation's budget. Also gives Connect's latency, when it
    /// was called: the call alone, not the wait for a slot or for pacing. `request_id` names
    /// the request's decision in its batch's screening.
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
        // What the batch's decision settles needs no slot, and is its answer even when the
        // decision took the time that was left (a state that did not answer).
        match screened.get(request_id) {
            Some(Decision::Suppressed(reason)) => return (Outcome::Suppressed(reason), None),
            Some(Decision::Unavailable(err)) => return failed(Failure::State(err)),
            _ => {}
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
        if let Some(protection) = &self.protection {
            match self
                .decision(invocation, protection, chat, request_id, screened)
                .await
            {
                Decision::Clear | Decision::Held(_) => {}
                Decision::Suppressed(reason) => return (Outcome::Suppressed(reason), None),
                Decision::Unavailable(err) => return failed(Failure::State(err)),
                Decision::HeldBack => {
                    return failed(Failure::State(crate::store::StateError {
                        message: "the request was held back when its batch was decided".into(),
                    }));
                }
            }
        }
        self.attempts(invocation, chat, latest_start).await
    }

    /// The request's protection decision: its batch's, or, when the batch held it back and its
    /// window has opened since, its own.
    async fn decision(
        &self,
        invocation: &Invocation,
        protection: &Protection,
        chat: &OutboundChat,
        request_id: &str,
        screened: &Screened,
    ) -> Decision {
        match screened.get(request_id) {
            Some(Decision::HeldBack) | None => {}
            Some(decided) => return decided,
        }
        let candidate = Candidate {
            request_id,
            chat,
            held_back: false,
        };
        let now = SystemTime::from(self.clock.now());
        let cutoff = self.cutoff(invocation);
        protection
            .screen(&[candidate], now, cutoff, screened, &[])
            .await;
        screened.get(request_id).unwrap_or(Decision::HeldBack)
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
                Ok(contact_id) => return (Outcome::Started(contact_id, chat.sms_cost()), latency),
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
        // The window was judged before every wait (the in-flight slot, the state, pacing, a
        // throttled attempt): judged again at the last moment, so no text starts in quiet hours.
        if self.window_closed(chat) {
            return Err(Failure::NotSent(NotSent::WindowClosed));
        }
        Ok(())
    }

    /// Whether the request's send window is closed now (and it must wait for the opening).
    fn window_closed(&self, chat: &OutboundChat) -> bool {
        self.window.as_ref().is_some_and(|window| {
            matches!(window.decide(chat, self.clock.now()), Verdict::Defer { .. })
        })
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

/// Counts an outcome in the invocation's tally and logs its line (in the request's span).
fn record(
    invocation: &Invocation,
    channel: Option<Channel>,
    outcome: &Outcome,
    latency: Option<Duration>,
) {
    invocation.count(channel, outcome, latency);
    telemetry::log_outcome(channel, outcome, latency);
}
