//! The emulator's handle: queues events for the function's long poll, one awaited at a time or
//! several up front, and reads back what the function posted (answers, errors, init errors,
//! extension registrations, polls). The HTTP side is in `routes.rs`.

use std::collections::HashMap;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use crate::exchange::{Answer, Extension, InitError, Invocation, NoAnswer};
use crate::exchange::{FUNCTION_TIMEOUT, GRACE, Outstanding, Queued, State};

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
