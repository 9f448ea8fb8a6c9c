//! What the emulator's handle (`runtime_api.rs`) and its HTTP side (`routes.rs`) share: the
//! events queued for the function, what the function posted back, and the state both read.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

/// The deadline of an event given by [`RuntimeApi::queue`], like a function configured with a
/// 30 s timeout.
pub(crate) const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`RuntimeApi::invoke`] waits past the invocation's deadline.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// How the function finished one invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum Invocation {
    /// Posted to `/invocation/{id}/response`: the answer.
    Response(Value),
    /// Posted to `/invocation/{id}/error`: the body's `errorType` and `errorMessage`.
    Error { error_type: String, message: String },
}

/// What the function posted to `/init/error`.
#[derive(Clone, Debug, PartialEq)]
pub struct InitError {
    pub error_type: String,
    pub message: String,
    /// The `Lambda-Runtime-Function-Error-Type` header.
    pub function_error_type: Option<String>,
}

/// An extension registered through the Extensions API.
#[derive(Clone, Debug, PartialEq)]
pub struct Extension {
    /// The `Lambda-Extension-Name` header.
    pub name: String,
    /// The events it subscribed to.
    pub events: Vec<String>,
    /// Whether it registered before the runtime's first `/invocation/next`, as Lambda requires.
    pub before_first_poll: bool,
    /// Whether it then polled `/extension/event/next` with its identifier, which Lambda waits
    /// for before ending the init phase.
    pub polls_events: bool,
}

/// One answer the function posted to `/invocation/{id}/response` or `/invocation/{id}/error`.
#[derive(Clone, Debug)]
pub struct Answer {
    pub request_id: String,
    /// `response` or `error`: where it was posted.
    pub kind: &'static str,
    /// The body as posted (lossy UTF-8).
    pub body: String,
    /// The `Lambda-Runtime-Function-Error-Type` header.
    pub function_error_type: Option<String>,
    /// When the event was queued.
    pub queued: Instant,
    /// When the answer's body had fully arrived.
    pub answered: Instant,
}

impl Answer {
    /// Whether it was posted to `/error` rather than `/response`.
    pub fn is_error(&self) -> bool {
        self.kind == "error"
    }

    /// Wall time from queuing the event to its answer.
    pub fn wall(&self) -> Duration {
        self.answered - self.queued
    }

    /// The answer, or the error's `errorType` and `errorMessage`.
    pub fn invocation(&self) -> Invocation {
        let body =
            serde_json::from_str(&self.body).unwrap_or_else(|_| Value::String(self.body.clone()));
        if !self.is_error() {
            return Invocation::Response(body);
        }
        let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
        Invocation::Error {
            error_type: text("errorType"),
            message: text("errorMessage"),
        }
    }
}

/// An invocation that got no answer in time.
#[derive(Debug)]
pub struct NoAnswer {
    pub request_id: String,
    pub waited: Duration,
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (id, waited) = (&self.request_id, self.waited);
        write!(f, "no answer to {id} within {waited:?}")
    }
}

impl std::error::Error for NoAnswer {}

/// An event waiting for the function's poll.
pub(crate) struct Queued {
    pub request_id: String,
    pub body: Bytes,
    /// The function's timeout: the deadline is this long after the event is handed out.
    pub timeout: Duration,
}

/// An event handed out or queued, not yet answered.
pub(crate) struct Outstanding {
    pub queued: Instant,
    /// The caller waiting for the answer (none for an event queued up front).
    pub waiter: Option<oneshot::Sender<Answer>>,
}

/// What the server and the handle share.
pub(crate) struct State {
    pub queue_tx: mpsc::UnboundedSender<Queued>,
    /// Taken by one `/next` poll at a time, as Lambda serves one invocation at a time.
    pub queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    pub outstanding: Mutex<HashMap<String, Outstanding>>,
    pub answers: Mutex<Vec<Answer>>,
    pub init_error: Mutex<Option<InitError>>,
    pub extensions: Mutex<Vec<Extension>>,
    pub polls: AtomicUsize,
    /// When the first `/invocation/next` poll arrived.
    pub first_poll: watch::Sender<Option<Instant>>,
    pub next_id: AtomicU64,
}
