//! The per-request pipeline, independent of HTTP plumbing: request in, answer (or drop) out.
//!
//! The order of the steps is part of the simulator's contract, because it decides which answer a
//! request gets when several would apply: route → auth → parse JSON → rate limit → scripted reply
//! → drop/500 before start → validation → idempotent replay (or 409 `IdempotencyException` for a
//! token reused with another request) → active-chat cap → create contact → latency → drop/500
//! after start → 200.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::auth;
use crate::config::SimulatorConfig;
use crate::contacts::{ContactBook, DEFAULT_CHAT_DURATION, StartedContact, TokenUse};
use crate::errors::{ConnectErrorCode, error_reply};
use crate::faults::{Fault, FaultDice, ScriptedReply, TokenBucket};
use crate::journal::{Journal, JournalEntry, Outcome};
use crate::life::{self, LifeKnobs};
use crate::reply::{HttpReply, Reply};
use crate::rng::SplitMix64;
use crate::validate::validate;

/// The only operation served.
pub(crate) const OPERATION_METHOD: &str = "PUT";
pub(crate) const OPERATION_PATH: &str = "/contact/outbound-chat";

/// A request as the pipeline needs it.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) method: String,
    pub(crate) path: String,
    /// `None` when absent; a non-UTF-8 header arrives as an empty string (and fails the check).
    pub(crate) authorization: Option<String>,
    /// The body, or why it could not be read in full.
    pub(crate) body: Result<Bytes, String>,
}

/// Everything mutable, behind one lock that is never held across an `.await`.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) journal: Journal,
    pub(crate) contacts: ContactBook,
    pub(crate) script: VecDeque<ScriptedReply>,
    pub(crate) bucket: Option<TokenBucket>,
    dice: FaultDice,
    contact_ids: SplitMix64,
    request_ids: SplitMix64,
}

/// The simulator's state shared by every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SimulatorConfig,
    state: Mutex<State>,
    events: broadcast::Sender<JournalEntry>,
    /// Contact events of the contacts started (see `life.rs`).
    pub(crate) contact_events: broadcast::Sender<Value>,
}

impl Shared {
    pub(crate) fn new(config: SimulatorConfig) -> Self {
        let state = State {
            journal: Journal::default(),
            contacts: ContactBook::default(),
            script: VecDeque::new(),
            bucket: config
                .rate_limit
                .map(|limit| TokenBucket::new(limit, Instant::now())),
            dice: FaultDice::new(config.seed),
            contact_ids: SplitMix64::stream(config.seed, 2),
            request_ids: SplitMix64::stream(config.seed, 3),
        };
        Self {
            config,
            state: Mutex::new(state),
            events: broadcast::channel(1024).0,
            contact_events: broadcast::channel(1024).0,
        }
    }

    /// The state; a panic elsewhere while holding the lock does not make the records unreadable.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<JournalEntry> {
        self.events.subscribe()
    }
}

/// One request in flight: what is known about it so far, and how to finish it.
struct Request<'a> {
    shared: &'a Shared,
    sequence: u64,
    request_id: String,
    client_token: Option<String>,
    body: Value,
}

impl Request<'_> {
    /// Journals the outcome and hands back the reply.
    fn finish(self, outcome: Outcome, reply: Reply) -> Reply {
        let entry = JournalEntry {
            sequence: self.sequence,
            request_id: self.request_id,
            client_token: self.client_token,
            request: self.body,
            outcome,
        };
        self.shared.state().journal.record(entry.clone());
        // Nobody listening is fine: the broadcast is only for the CLI's log.
        let _ = self.shared.events.send(entry);
        reply
    }

    fn error(self, code: ConnectErrorCode, message: &str, outcome: Outcome) -> Reply {
        let reply = code.reply_with(message, &self.request_id);
        self.finish(outcome, Reply::Respond(reply))
    }

    fn success(self, contact_id: String, outcome: Outcome) -> Reply {
        let reply = HttpReply {
            status: 200,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("x-amzn-requestid", self.request_id.clone()),
            ],
            body: serde_json::json!({ "ContactId": contact_id }).to_string(),
        };
        self.finish(outcome, Reply::Respond(reply))
    }
}

/// Runs one request through the pipeline. Each stage either hands the request on or finishes it.
pub(crate) async fn handle(shared: &Shared, incoming: Incoming) -> Reply {
    let (request, parsed) = arrive(shared, &incoming);
    let (request, body) = match admit(request, &incoming, parsed) {
        Ok(admitted) => admitted,
        Err(reply) => return reply,
    };
    let request = match before_start(request).await {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    if let Err(message) = validate(&body) {
        let outcome = Outcome::Invalid {
            message: message.clone(),
        };
        return request.error(ConnectErrorCode::InvalidRequest, &message, outcome);
    }
    let contact_id = match start_contact(shared, &request) {
        Start::Replayed(contact_id) => {
            return request.success(contact_id.clone(), Outcome::Replayed { contact_id });
        }
        Start::Mismatch => {
            let code = ConnectErrorCode::Idempotency;
            return request.error(code, code.default_message(), Outcome::IdempotencyMismatch);
        }
        Start::OverCap(cap) => {
            let message = format!(
                "The number of active chats has reached the limit of {cap} for this instance"
            );
            let code = ConnectErrorCode::LimitExceeded;
            return request.error(code, &message, Outcome::LimitExceeded);
        }
        Start::Created(contact_id) => contact_id,
    };
    let knobs = LifeKnobs {
        end_after: shared.config.end_chats_after,
        customer_replies: shared.config.customer_replies,
    };
    life::tell(&shared.contact_events, &request.body, &contact_id, knobs);
    after_start(request, contact_id).await
}

/// Numbers the request and parses its body: the parsed value, or why it is not JSON (the body
/// is then journaled as text).
fn arrive<'a>(shared: &'a Shared, incoming: &Incoming) -> (Request<'a>, Result<Value, String>) {
    let (sequence, request_id) = {
        let mut state = shared.state();
        (state.journal.arrive(), state.request_ids.uuid())
    };
    let (parsed, body) = match &incoming.body {
        Ok(bytes) => match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => (Ok(value.clone()), value),
            Err(e) => (
                Err(format!("request body is not JSON: {e}")),
                Value::String(String::from_utf8_lossy(bytes).into_owned()),
            ),
        },
        Err(why) => (Err(why.clone()), Value::Null),
    };
    let client_token = body
        .get("ClientToken")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let request = Request {
        shared,
        sequence,
        request_id,
        client_token,
        body,
    };
    (request, parsed)
}

/// The front door: route, then auth, then a body that is a JSON object.
fn admit<'a>(
    request: Request<'a>,
    incoming: &Incoming,
    parsed: Result<Value, String>,
) -> Result<(Request<'a>, Map<String, Value>), Reply> {
    if incoming.method != OPERATION_METHOD || incoming.path != OPERATION_PATH {
        let message = format!(
            "No operation at {} {}; this simulator serves {OPERATION_METHOD} {OPERATION_PATH} \
             (StartOutboundChatContact)",
            incoming.method, incoming.path
        );
        let reply = error_reply(
            404,
            "UnknownOperationException",
            &message,
            &request.request_id,
        );
        return Err(request.finish(Outcome::NotFound, Reply::Respond(reply)));
    }
    if let Err(problem) = auth::check(incoming.authorization.as_deref()) {
        let reply = error_reply(403, problem.code(), &problem.message(), &request.request_id);
        return Err(request.finish(Outcome::Unauthenticated, Reply::Respond(reply)));
    }
    let message = match parsed {
        Ok(Value::Object(map)) => return Ok((request, map)),
        Ok(_) => "request body must be a JSON object".to_owned(),
        Err(message) => message,
    };
    let outcome = Outcome::Invalid {
        message: message.clone(),
    };
    Err(request.error(ConnectErrorCode::InvalidRequest, &message, outcome))
}

/// Rate limit, then a scripted reply, then the seeded faults before any contact exists.
async fn before_start(request: Request<'_>) -> Result<Request<'_>, Reply> {
    let shared = request.shared;
    let allowed = match shared.state().bucket.as_mut() {
        Some(bucket) => bucket.try_take(Instant::now()),
        None => true,
    };
    if !allowed {
        let code = ConnectErrorCode::Throttling;
        return Err(request.error(code, code.default_message(), Outcome::Throttled));
    }
    let scripted = shared.state().script.pop_front();
    match scripted {
        Some(ScriptedReply::Error(code)) => {
            let message = format!("Scripted {code} from the simulator");
            let outcome = Outcome::Scripted(ScriptedReply::Error(code));
            return Err(request.error(code, &message, outcome));
        }
        Some(ScriptedReply::Drop) => {
            let outcome = Outcome::Scripted(ScriptedReply::Drop);
            return Err(request.finish(outcome, Reply::Drop));
        }
        Some(ScriptedReply::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let fault = shared.state().dice.before_start(&shared.config);
    match fault {
        Fault::Drop => Err(request.finish(Outcome::Dropped { contact_id: None }, Reply::Drop)),
        Fault::InternalError => {
            let code = ConnectErrorCode::InternalService;
            let outcome = Outcome::InternalError { contact_id: None };
            Err(request.error(code, code.default_message(), outcome))
        }
        Fault::None => Ok(request),
    }
}

/// The contact exists: latency, then the seeded faults after start, then 200.
async fn after_start(request: Request<'_>, contact_id: String) -> Reply {
    let shared = request.shared;
    let latency = shared.state().dice.latency(&shared.config);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = shared.state().dice.after_start(&shared.config);
    match fault {
        Fault::Drop => {
            let outcome = Outcome::Dropped {
                contact_id: Some(contact_id),
            };
            request.finish(outcome, Reply::Drop)
        }
        Fault::InternalError => {
            let code = ConnectErrorCode::InternalService;
            let outcome = Outcome::InternalError {
                contact_id: Some(contact_id),
            };
            request.error(code, code.default_message(), outcome)
        }
        Fault::None => request.success(contact_id.clone(), Outcome::Started { contact_id }),
    }
}

enum Start {
    Replayed(String),
    /// The token started a contact for a different request.
    Mismatch,
    OverCap(usize),
    Created(String),
}

/// Replay, cap check and creation under one lock, so two concurrent requests with the same token
/// cannot both create a contact.
fn start_contact(shared: &Shared, request: &Request<'_>) -> Start {
    let mut state = shared.state();
    if let Some(token) = &request.client_token {
        match state.contacts.token_use(token, &request.body) {
            Some(TokenUse::Replay(contact_id)) => return Start::Replayed(contact_id),
            Some(TokenUse::Mismatch) => return Start::Mismatch,
            None => {}
        }
    }
    let now = Instant::now();
    if let Some(cap) = shared.config.max_active_chats {
        if state.contacts.active(now) >= cap {
            return Start::OverCap(cap);
        }
    }
    let contact_id = state.contact_ids.uuid();
    let duration = request
        .body
        .get("ChatDurationInMinutes")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_CHAT_DURATION, |minutes| {
            Duration::from_secs(minutes * 60)
        });
    let contact = StartedContact {
        contact_id: contact_id.clone(),
        client_token: request.client_token.clone(),
        request: request.body.clone(),
    };
    state.contacts.create(contact, duration, now);
    Start::Created(contact_id)
}
