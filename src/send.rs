//! The one path every request takes after its trigger decoded it: the expiry check, the
//! invocation's concurrency and deadline budget, pacing, the call to Connect, and exactly one
//! outcome log line.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::{Config, SendTimeouts};
use crate::connect::{ContactStarter, StartError};
use crate::domain::{Defaults, OutboundChat, ValidationError};
use crate::outcome::{Failure, NotSent, Outcome};
use crate::pacing::Pacer;
use crate::request::SendRequest;
use crate::telemetry::{self, Tally};

/// Long-lived across invocations: the Connect port, the instance's pacer and the settings.
pub struct Sender<C> {
    connect: C,
    defaults: Defaults,
    pacer: Option<Pacer>,
    timeouts: SendTimeouts,
    max_in_flight: usize,
}

/// One invocation's budget: its deadline, its in-flight limit, whether sending has been
/// halted, and the tally of outcomes for the summary line and metrics.
pub struct Invocation {
    pub(crate) trigger: &'static str,
    deadline: Instant,
    permits: Semaphore,
    halted: Mutex<Option<NotSent>>,
    pub(crate) tally: Mutex<Tally>,
}

impl Invocation {
    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn halt(&self, reason: NotSent) {
        self.halted.lock().expect("halt lock").get_or_insert(reason);
    }

    fn halted(&self) -> Option<NotSent> {
        *self.halted.lock().expect("halt lock")
    }
}

/// How one request is named in logs: the trigger's own id for it.
#[derive(Clone, Copy, Debug)]
pub struct RequestLabel<'a> {
    pub id: &'a str,
}

impl<C: ContactStarter> Sender<C> {
    pub fn new(connect: C, config: &Config) -> Self {
        Self {
            connect,
            defaults: config.defaults.clone(),
            // Burst 1: calls are spread evenly, which keeps many instances together under
            // the account's shared rate better than bursts would.
            pacer: config
                .max_requests_per_second
                .map(|rate| Pacer::new(rate, 1)),
            timeouts: config.timeouts,
            max_in_flight: config.max_in_flight.get(),
        }
    }

    /// The port, for wiring checks in tests.
    pub fn connect(&self) -> &C {
        &self.connect
    }

    /// Most Connect calls in flight at once within one invocation.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Starts an invocation's budget.
    pub fn invocation(&self, trigger: &'static str, deadline: Instant) -> Invocation {
        Invocation {
            trigger,
            deadline,
            permits: Semaphore::new(self.max_in_flight),
            halted: Mutex::new(None),
            tally: Mutex::new(Tally::default()),
        }
    }

    /// Validates a decoded request against the contract, with the configured defaults.
    pub fn validate(&self, request: SendRequest) -> Result<OutboundChat, ValidationError> {
        OutboundChat::from_request(request, &self.defaults)
    }

    /// Takes a request to its outcome and logs it. Every request of every trigger ends here,
    /// valid or not, so each gets exactly one outcome line.
    pub async fn process(
        &self,
        invocation: &Invocation,
        label: RequestLabel<'_>,
        request: Result<OutboundChat, ValidationError>,
    ) -> Outcome {
        let channel = match &request {
            Ok(chat) => Some(chat.channel()),
            Err(err) => err.channel(),
        };
        let (outcome, latency) = match request {
            Err(err) => (Outcome::Failed(Failure::Invalid(err)), None),
            Ok(chat) => self.send(invocation, &chat).await,
        };
        telemetry::record_outcome(invocation, label, channel, &outcome, latency);
        outcome
    }

    /// Reports a request that is not sent because an earlier one of its FIFO group failed.
    pub fn skip(
        &self,
        invocation: &Invocation,
        label: RequestLabel<'_>,
        chat: Option<&OutboundChat>,
    ) -> Outcome {
        let outcome = Outcome::Failed(Failure::NotSent(NotSent::EarlierInGroupFailed));
        telemetry::record_outcome(
            invocation,
            label,
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
        if chat.is_expired_at(SystemTime::now()) {
            return failed(Failure::Expired);
        }
        let Ok(_permit) = invocation.permits.acquire().await else {
            return failed(Failure::NotSent(NotSent::DeadlineNear));
        };
        if let Some(reason) = invocation.halted() {
            return failed(Failure::NotSent(reason));
        }
        // The last moment a call may start and still finish one attempt before the answer.
        let Some(latest_start) = invocation
            .deadline
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
            if chat.is_expired_at(SystemTime::now()) {
                return failed(Failure::Expired);
            }
        }
        let cutoff = invocation.deadline - self.timeouts.answer_reserve;
        let called = Instant::now();
        let result = match tokio::time::timeout_at(cutoff, self.connect.start_contact(chat)).await {
            Ok(result) => result,
            Err(_) => Err(StartError::Transient {
                message: "the call to Connect did not finish before the invocation deadline".into(),
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
