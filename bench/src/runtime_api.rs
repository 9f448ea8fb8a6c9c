//! A minimal Lambda Runtime API emulator (hyper 1 server on 127.0.0.1): hands queued events to
//! `GET /2018-06-01/runtime/invocation/next` with Lambda's headers, takes `/response` and
//! `/error` posts, records when the first poll arrived, and answers the Extensions API's
//! registration so a binary that registers an extension is not held up.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The function ARN given with every invocation.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:outbound-chat";

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
const EXTENSION_REGISTER: &str = "/2020-01-01/extension/register";
const EXTENSION_NEXT: &str = "/2020-01-01/extension/event/next";

/// What the function posted for one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Posted to `/error` rather than `/response`.
    pub error: bool,
    pub body: Bytes,
    /// When the harness queued the event.
    pub queued: Instant,
    /// When the answer's body had fully arrived.
    pub answered: Instant,
}

impl Answer {
    /// Wall time from queuing the event to its answer.
    pub fn wall(&self) -> Duration {
        self.answered - self.queued
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Pending {
    request_id: String,
    body: Bytes,
    deadline_ms: u128,
}

type Waiters = HashMap<String, oneshot::Sender<(bool, Bytes, Instant)>>;

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<Waiters>,
    first_poll: watch::Sender<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

/// A running emulator; dropping it stops the server and closes its connections.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Pending>,
    next_id: AtomicU64,
    first_poll: watch::Receiver<Option<Instant>>,
    _stop: watch::Sender<()>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts on 127.0.0.1 with a free port, on the caller's tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (queue, receiver) = mpsc::unbounded_channel();
        let (first_poll_tx, first_poll) = watch::channel(None);
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: first_poll_tx,
            init_error: Mutex::new(None),
        });
        let (stop, stopped) = watch::channel(());
        let server_shared = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&server_shared);
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| serve(Arc::clone(&shared), request));
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
        });
        Ok(Self {
            addr,
            shared,
            queue,
            next_id: AtomicU64::new(0),
            first_poll,
            _stop: stop,
            server,
        })
    }

    /// `HOST:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the first `next` poll arrived, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.first_poll.borrow()
    }

    /// What the function posted to `/runtime/init/error`, if it did.
    pub fn init_error(&self) -> Option<String> {
        self.shared
            .init_error
            .lock()
            .expect("init error lock")
            .clone()
    }

    /// Waits for the first poll for up to `limit`, checking `alive` (the process still runs)
    /// every few milliseconds.
    pub async fn wait_first_poll(
        &self,
        limit: Duration,
        mut alive: impl FnMut() -> bool,
    ) -> Result<Instant, String> {
        let mut first_poll = self.first_poll.clone();
        let give_up = tokio::time::Instant::now() + limit;
        loop {
            if let Some(at) = *first_poll.borrow_and_update() {
                return Ok(at);
            }
            if let Some(error) = self.init_error() {
                return Err(format!("init error: {error}"));
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

    /// Queues `event` with a deadline `timeout` from now and waits for its answer (plus a few
    /// seconds of grace).
    pub async fn invoke(&self, event: Bytes, timeout: Duration) -> Result<Answer, String> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("{n:08x}-bench-4000-8000-000000000000");
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .expect("waiters lock")
            .insert(request_id.clone(), tx);
        let deadline_ms = epoch_ms() + timeout.as_millis();
        let queued = Instant::now();
        self.queue
            .send(Pending {
                request_id,
                body: event,
                deadline_ms,
            })
            .map_err(|_| "the emulator stopped".to_owned())?;
        match tokio::time::timeout(timeout + Duration::from_secs(5), rx).await {
            Ok(Ok((error, body, answered))) => Ok(Answer {
                error,
                body,
                queued,
                answered,
            }),
            Ok(Err(_)) => Err("the emulator stopped".into()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

fn reply(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a static response")
}

async fn serve(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if method == Method::GET && path == NEXT {
        shared.first_poll.send_if_modified(|first| {
            let unset = first.is_none();
            first.get_or_insert(arrived);
            unset
        });
        // One poller at a time: the lock is held while waiting for an event.
        let mut queue = shared.queue.lock().await;
        let Some(pending) = queue.recv().await else {
            return Ok(reply(500, "{}"));
        };
        let response = Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &pending.request_id)
            .header(
                "lambda-runtime-deadline-ms",
                pending.deadline_ms.to_string(),
            )
            .header("lambda-runtime-invoked-function-arn", FUNCTION_ARN)
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
            )
            .body(Full::new(pending.body))
            .expect("a valid response");
        return Ok(response);
    }
    if method == Method::GET && path == EXTENSION_NEXT {
        // Lambda answers only at shutdown; the connection is closed when the emulator stops.
        return std::future::pending().await;
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answered = Instant::now();
    if method == Method::POST && path == EXTENSION_REGISTER {
        return Ok(Response::builder()
            .header("content-type", "application/json")
            .header("lambda-extension-identifier", "bench-extension-0000")
            .body(Full::new(Bytes::from_static(
                br#"{"functionName":"outbound-chat","functionVersion":"$LATEST","handler":"bootstrap"}"#,
            )))
            .expect("a valid response"));
    }
    if method == Method::POST && path == INIT_ERROR {
        *shared.init_error.lock().expect("init error lock") =
            Some(String::from_utf8_lossy(&body).into_owned());
        return Ok(reply(202, r#"{"status":"OK"}"#));
    }
    if method == Method::POST
        && let Some((request_id, kind)) = path
            .strip_prefix(INVOCATION)
            .and_then(|rest| rest.split_once('/'))
    {
        let waiter = shared
            .waiting
            .lock()
            .expect("waiters lock")
            .remove(request_id);
        if let Some(waiter) = waiter {
            let _ = waiter.send((kind == "error", body, answered));
            return Ok(reply(202, r#"{"status":"OK"}"#));
        }
    }
    Ok(reply(404, "{}"))
}
