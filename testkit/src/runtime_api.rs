//! The emulator's handle: queues events for the function's long poll, one awaited at a time or
//! several up front, and reads back what the function posted (answers, errors, init errors,
//! extension registrations, polls). The HTTP side is in `routes.rs`.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The deadline of an event given by [`RuntimeApi::queue`], like a function configured with a
/// 30 s timeout.
pub(crate) const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`RuntimeApi::invoke`] waits past the invocation's deadline.
const GRACE: Duration = Duration::from_secs(5);

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

/// A running emulator on `127.0.0.1`. Dropping it stops the server and closes its connections.
pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts the emulator on `127.0.0.1` with a free port, on the caller's tokio runtime.
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind the runtime API emulator");
        let addr = listener.local_addr().expect("local address");
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            outstanding: Mutex::new(HashMap::new()),
            answers: Mutex::new(Vec::new()),
            init_error: Mutex::new(None),
            extensions: Mutex::new(Vec::new()),
            polls: AtomicUsize::new(0),
            first_poll: watch::Sender::new(None),
            next_id: AtomicU64::new(1),
        });
        let server = tokio::spawn(crate::routes::serve(listener, Arc::clone(&state)));
        RuntimeApi {
            addr,
            state,
            server,
        }
    }

    /// `127.0.0.1:PORT`, the form `AWS_LAMBDA_RUNTIME_API` takes.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues `event` under a fresh request id, with a deadline `timeout` after it is handed
    /// out, and waits for its answer (up to a few seconds past the deadline). A missing answer
    /// is returned, not a panic, so the caller can add what it knows to the failure.
    pub async fn invoke(&self, event: Bytes, timeout: Duration) -> Result<Answer, NoAnswer> {
        let (tx, rx) = oneshot::channel();
        let request_id = self.enqueue(event, timeout, Some(tx));
        let waited = timeout + GRACE;
        match tokio::time::timeout(waited, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            _ => {
                self.state.outstanding.lock().unwrap().remove(&request_id);
                Err(NoAnswer { request_id, waited })
            }
        }
    }

    /// Queues every event at once, each under a fresh request id with a 30 s deadline, to be
    /// handed out in order; their answers are read with [`RuntimeApi::answers`].
    pub fn queue(&self, events: impl IntoIterator<Item = Value>) {
        for event in events {
            self.enqueue(Bytes::from(event.to_string()), FUNCTION_TIMEOUT, None);
        }
    }

    /// Waits until `count` answers were posted; fails when the function posts to `/init/error`
    /// or the answers do not come within a minute.
    pub async fn wait_for_answers(&self, count: usize) {
        let waited = tokio::time::timeout(Duration::from_secs(60), async {
            while self.answers().len() < count && self.init_error().is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok() && self.init_error().is_none(),
            "answers {:?}, init error {:?}",
            self.answers(),
            self.init_error()
        );
    }

    /// Waits up to `limit` for the first `/invocation/next` poll and returns when it arrived;
    /// checks `alive` (the process still runs) every few milliseconds.
    pub async fn wait_first_poll(
        &self,
        limit: Duration,
        mut alive: impl FnMut() -> bool,
    ) -> Result<Instant, String> {
        let mut first_poll = self.state.first_poll.subscribe();
        let give_up = tokio::time::Instant::now() + limit;
        loop {
            if let Some(at) = *first_poll.borrow_and_update() {
                return Ok(at);
            }
            if let Some(error) = self.init_error() {
                return Err(format!("init error: {error:?}"));
            }
            if !alive() {
                return Err("the process exited before polling".into());
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(format!("no poll within {limit:?}"));
            }
            let _ = tokio::time::timeout(Duration::from_millis(5), first_poll.changed()).await;
        }
    }

    /// Every answer and invocation error the function posted, in order.
    pub fn answers(&self) -> Vec<Answer> {
        self.state.answers.lock().unwrap().clone()
    }

    /// What the function posted to `/init/error`, if it did.
    pub fn init_error(&self) -> Option<InitError> {
        self.state.init_error.lock().unwrap().clone()
    }

    /// The `Lambda-Runtime-Function-Error-Type` header of every invocation error, in order.
    pub fn error_headers(&self) -> Vec<Option<String>> {
        let answers = self.state.answers.lock().unwrap();
        let errors = answers.iter().filter(|answer| answer.is_error());
        errors
            .map(|error| error.function_error_type.clone())
            .collect()
    }

    /// Every extension registered, in order.
    pub fn extensions(&self) -> Vec<Extension> {
        self.state.extensions.lock().unwrap().clone()
    }

    /// How many `/invocation/next` polls arrived (including one still waiting).
    pub fn polls(&self) -> usize {
        self.state.polls.load(Ordering::Relaxed)
    }

    /// Puts `body` in the queue under a fresh request id, answered to `waiter` if there is one.
    fn enqueue(
        &self,
        body: Bytes,
        timeout: Duration,
        waiter: Option<oneshot::Sender<Answer>>,
    ) -> String {
        let n = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("5e2a7c10-0000-4000-8000-{n:012}");
        let outstanding = Outstanding {
            queued: Instant::now(),
            waiter,
        };
        self.state
            .outstanding
            .lock()
            .unwrap()
            .insert(request_id.clone(), outstanding);
        let queued = Queued {
            request_id: request_id.clone(),
            body,
            timeout,
        };
        self.state
            .queue_tx
            .send(queued)
            .expect("the queue lives as long as the emulator");
        request_id
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // The accept task owns the connection tasks: aborting it aborts them all.
        self.server.abort();
    }
}
