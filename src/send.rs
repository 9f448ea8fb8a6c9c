//! Sending one admitted request: the send window (deferral), the expiry check, a slot within
//! the invocation's budget, pacing, the call to Connect, and exactly one outcome, logged and
//! counted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::config::{Config, SendTimeouts};
use crate::connect::{ContactStarter, StartError};
use crate::deferral::{DeferralFailed, Deferrer, Route};
use crate::domain::{OutboundChat, ValidationError};
use crate::invocation::Invocation;
use crate::outcome::{Failure, NotSent, Outcome};
use crate::pacing::Pacer;
use crate::policy::{Clock, SystemClock, Verdict, WindowPolicy};
use crate::queue::RequestQueue;
use crate::requeue::Requeuer;
use crate::telemetry;

/// Long-lived across invocations: the Connect port, the instance's pacer, the send window with
/// its clock and queue, and the settings.
pub struct Sender<C> {
    connect: C,
    pacer: Option<Pacer>,
    timeouts: SendTimeouts,
    max_in_flight: usize,
    window: Option<WindowPolicy>,
    clock: Arc<dyn Clock>,
    request_queue_url: Option<String>,
    deferrer: Deferrer,
    requeuer: Requeuer,
}

impl<C: ContactStarter> Sender<C> {
    pub fn new(connect: C, config: &Config) -> Self {
        Self {
            connect,
            // Burst 1: calls are spread evenly, which keeps many instances together under
            // the account's shared rate better than bursts would.
            pacer: config
                .max_requests_per_second
                .map(|rate| Pacer::new(rate, 1)),
            timeouts: config.timeouts,
            max_in_flight: config.max_in_flight.get(),
            window: config.send_window.clone(),
            clock: Arc::new(SystemClock),
            request_queue_url: config.request_queue_url.clone(),
            deferrer: Deferrer::default(),
            requeuer: Requeuer::default(),
        }
    }

    /// Reads "now" from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Holds requests outside their send window in SQS through `queue`, and re-sends SQS
    /// records Connect throttled to their queue.
    pub fn with_queue(mut self, queue: Arc<dyn RequestQueue>) -> Self {
        self.requeuer = Requeuer::new(Some(Arc::clone(&queue)));
        self.deferrer = Deferrer::new(Some(queue), self.request_queue_url.clone());
        self
    }

    /// Whether a send window is configured: only then do triggers keep a copy of a request to
    /// hand to the request queue.
    pub fn has_window(&self) -> bool {
        self.window.is_some()
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
    ) -> Outcome {
        let channel = match &request {
            Ok(chat) => Some(chat.channel()),
            Err(err) => err.channel(),
        };
        let (outcome, latency) = match request {
            Err(err) => (Outcome::Failed(Failure::Invalid(err)), None),
            Ok(chat) => {
                let origin = route.origin();
                match self.hold_back(invocation, &chat, route).await {
                    Some(outcome) => (outcome, None),
                    None => {
                        let (outcome, latency) = self.send(invocation, &chat).await;
                        let cutoff = invocation.deadline() - self.timeouts.answer_reserve;
                        let (requeuer, now) = (&self.requeuer, self.clock.now());
                        let outcome = requeuer.settle(origin, &chat, outcome, now, cutoff).await;
                        (outcome, latency)
                    }
                }
            }
        };
        record(invocation, request_id, channel, &outcome, latency);
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
    ) -> Outcome {
        let outcome = Outcome::Failed(Failure::NotSent(reason));
        record(
            invocation,
            request_id,
            chat.map(OutboundChat::channel),
            &outcome,
            None,
        );
        outcome
    }

    /// Sends a valid chat within the invocation's budget. Also gives Connect's latency, when it
    /// was called: the call alone, not the wait for a slot or for pacing.
    async fn send(
        &self,
        invocation: &Invocation,
        chat: &OutboundChat,
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
        if let Some(pacer) = &self.pacer {
            if pacer.acquire(latest_start).await.is_err() {
                return failed(Failure::NotSent(NotSent::DeadlineNear));
            }
            // The wait for a slot may have crossed the expiry or another request's throttle.
            if let Some(reason) = invocation.halted() {
                return failed(Failure::NotSent(reason));
            }
            if chat.is_expired_at(SystemTime::from(self.clock.now())) {
                return failed(Failure::Expired);
            }
        }
        // The operation's time, or what is left before the answer reserve if that comes first.
        let called = Instant::now();
        let budget = self
            .timeouts
            .call_budget(invocation.deadline().saturating_duration_since(called));
        let result = match tokio::time::timeout(budget, self.connect.start_contact(chat)).await {
            Ok(result) => result,
            Err(_) => Err(StartError::Transient {
                message: "the call to Connect did not finish within its time budget".into(),
            }),
        };
        match result {
            Ok(contact_id) => (Outcome::Started(contact_id), Some(called.elapsed())),
            Err(err) => {
                match err {
                    StartError::Throttled { .. } => invocation.halt(NotSent::ThrottledEarlier),
                    StartError::QuotaExceeded { .. } => {
                        invocation.halt(NotSent::QuotaReachedEarlier)
                    }
                    _ => {}
                }
                (
                    Outcome::Failed(Failure::Connect(err)),
                    Some(called.elapsed()),
                )
            }
        }
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
