//! The Lambda Runtime API emulator for every test of the compiled function (end to end,
//! privacy, metrics): it queues events for the function's long poll, one awaited at a time or
//! several up front, and records the answers and errors the function posts back.
//!
//! It serves what `lambda_runtime` 1.5 calls, on `127.0.0.1` with a free port:
//! `GET /2018-06-01/runtime/invocation/next` (blocks until an event is queued),
//! `POST /2018-06-01/runtime/invocation/{id}/response`,
//! `POST /2018-06-01/runtime/invocation/{id}/error` and `POST /2018-06-01/runtime/init/error`.
//! Lambda's Extensions API shares the address, and the function registers its graceful-shutdown
//! extension through it, so `POST /2020-01-01/extension/register` is answered too, and
//! `GET /2020-01-01/extension/event/next` is recorded and waits forever (no event is ever
//! sent). Anything else is answered 404.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

const PREFIX: &str = "/2018-06-01/runtime";
const EXTENSION_PREFIX: &str = "/2020-01-01/extension";
/// The deadline given to each invocation, like a function configured with a 30 s timeout.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:outbound-chat";

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

/// One answer the function posted to `/invocation/{id}/response` or `/invocation/{id}/error`,
/// as it was posted.
#[derive(Clone, Debug)]
pub struct PostedAnswer {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    /// The body as posted (lossy UTF-8).
    pub body: String,
}

/// An invocation that got no answer in time.
#[derive(Debug)]
pub struct NoAnswer {
    pub request_id: String,
    pub waited: Duration,
}

struct Queued {
    request_id: String,
    event: Value,
}

struct State {
    queue_tx: mpsc::UnboundedSender<Queued>,
    /// Taken by one `/next` poll at a time, as Lambda serves one invocation at a time.
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    /// Every request id handed out and not yet answered, with the test waiting for its answer
    /// (none for an event queued up front).
    outstanding: Mutex<HashMap<String, Option<oneshot::Sender<Invocation>>>>,
    answers: Mutex<Vec<PostedAnswer>>,
    init_error: Mutex<Option<InitError>>,
    error_headers: Mutex<Vec<Option<String>>>,
    extensions: Mutex<Vec<Extension>>,
    polls: AtomicUsize,
    next_id: AtomicU64,
}

/// A running emulator. Dropping it stops the server and closes its connections.
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
            error_headers: Mutex::new(Vec::new()),
            extensions: Mutex::new(Vec::new()),
            polls: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&state)));
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

    /// Queues `event` under a fresh request id and waits for the function's answer or error. A
    /// missing answer is returned, not a panic, so the caller can add what it knows (the
    /// function's logs) to the failure.
    pub async fn try_invoke(
        &self,
        event: Value,
        timeout: Duration,
    ) -> Result<Invocation, NoAnswer> {
        let (tx, rx) = oneshot::channel();
        let request_id = self.enqueue(event, Some(tx));
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(invocation)) => Ok(invocation),
            _ => {
                self.state.outstanding.lock().unwrap().remove(&request_id);
                Err(NoAnswer {
                    request_id,
                    waited: timeout,
                })
            }
        }
    }

    /// Queues every event at once, each under a fresh request id, to be handed out in order;
    /// their answers are read with [`RuntimeApi::answers`].
    pub fn queue(&self, events: impl IntoIterator<Item = Value>) {
        for event in events {
            self.enqueue(event, None);
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

    /// Every answer and invocation error the function posted, in order.
    pub fn answers(&self) -> Vec<PostedAnswer> {
        self.state.answers.lock().unwrap().clone()
    }

    /// Puts `event` in the queue under a fresh request id, answered to `waiter` if there is one.
    fn enqueue(&self, event: Value, waiter: Option<oneshot::Sender<Invocation>>) -> String {
        let n = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("5e2a7c10-0000-4000-8000-{n:012}");
        self.state
            .outstanding
            .lock()
            .unwrap()
            .insert(request_id.clone(), waiter);
        self.state
            .queue_tx
            .send(Queued {
                request_id: request_id.clone(),
                event,
            })
            .expect("the queue lives as long as the emulator");
        request_id
    }

    /// What the function posted to `/init/error`, if it did.
    pub fn init_error(&self) -> Option<InitError> {
        self.state.init_error.lock().unwrap().clone()
    }

    /// The `Lambda-Runtime-Function-Error-Type` header of every invocation error, in order.
    pub fn error_headers(&self) -> Vec<Option<String>> {
        self.state.error_headers.lock().unwrap().clone()
    }

    /// Every extension registered, in order.
    pub fn extensions(&self) -> Vec<Extension> {
        self.state.extensions.lock().unwrap().clone()
    }

    /// How many `/invocation/next` polls arrived (including one still waiting).
    pub fn polls(&self) -> usize {
        self.state.polls.load(Ordering::Relaxed)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // The accept task owns the connection tasks: aborting it aborts them all.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&state), req));
            // A connection ends with an error when the function exits mid-poll; that is fine.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if let Some(route) = path.strip_prefix(EXTENSION_PREFIX) {
        return Ok(extension(&state, &method, route, req).await);
    }
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    let route: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    match (&method, route.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => Ok(next(&state).await),
        (&Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let (id, kind) = (id.to_string(), kind.to_string());
            let header = function_error_type(&req);
            let posted = body_text(req).await;
            let body = json(&posted);
            let invocation = if kind == "response" {
                Invocation::Response(body)
            } else {
                state.error_headers.lock().unwrap().push(header);
                Invocation::Error {
                    error_type: text(&body, "errorType"),
                    message: text(&body, "errorMessage"),
                }
            };
            state.answers.lock().unwrap().push(PostedAnswer {
                request_id: id.clone(),
                kind,
                body: posted,
            });
            Ok(complete(&state, &id, invocation))
        }
        (&Method::POST, ["init", "error"]) => {
            let header = function_error_type(&req);
            let body = json(&body_text(req).await);
            *state.init_error.lock().unwrap() = Some(InitError {
                error_type: text(&body, "errorType"),
                message: text(&body, "errorMessage"),
                function_error_type: header,
            });
            Ok(status(StatusCode::ACCEPTED))
        }
        _ => Ok(status(StatusCode::NOT_FOUND)),
    }
}

/// The Extensions API: registration, and an event poll that never answers.
async fn extension(
    state: &State,
    method: &Method,
    route: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match (method, route) {
        (&Method::POST, "/register") => {
            let name = req
                .headers()
                .get("lambda-extension-name")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = json(&body_text(req).await);
            let events = body["events"]
                .as_array()
                .map(|events| {
                    events
                        .iter()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let mut extensions = state.extensions.lock().unwrap();
            let id = format!("ext-{}", extensions.len() + 1);
            extensions.push(Extension {
                name,
                events,
                before_first_poll: state.polls.load(Ordering::Relaxed) == 0,
                polls_events: false,
            });
            let body = serde_json::json!({
                "functionName": "outbound-chat",
                "functionVersion": "$LATEST",
                "handler": "bootstrap",
            });
            let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
            response.headers_mut().insert(
                "lambda-extension-identifier",
                HeaderValue::from_str(&id).expect("a header value"),
            );
            response
        }
        (&Method::GET, "/event/next") => {
            let identifier = req
                .headers()
                .get("lambda-extension-identifier")
                .and_then(|v| v.to_str().ok())
                .and_then(|id| id.strip_prefix("ext-"))
                .and_then(|n| n.parse::<usize>().ok());
            let Some(index) = identifier.and_then(|n| n.checked_sub(1)) else {
                return status(StatusCode::FORBIDDEN);
            };
            match state.extensions.lock().unwrap().get_mut(index) {
                Some(extension) => extension.polls_events = true,
                None => return status(StatusCode::FORBIDDEN),
            }
            std::future::pending().await
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

/// The long poll: waits for the next queued event and hands it out with its context headers.
async fn next(state: &State) -> Response<Full<Bytes>> {
    state.polls.fetch_add(1, Ordering::Relaxed);
    let queued = {
        let mut rx = state.queue_rx.lock().await;
        match rx.recv().await {
            Some(queued) => queued,
            None => return status(StatusCode::SERVICE_UNAVAILABLE),
        }
    };
    let deadline = SystemTime::now() + FUNCTION_TIMEOUT;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis();
    let mut response = Response::new(Full::new(Bytes::from(queued.event.to_string())));
    let headers = response.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).expect("a header value");
    headers.insert("content-type", value("application/json"));
    headers.insert("lambda-runtime-aws-request-id", value(&queued.request_id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        value(&deadline_ms.to_string()),
    );
    headers.insert("lambda-runtime-invoked-function-arn", value(FUNCTION_ARN));
    headers.insert(
        "lambda-runtime-trace-id",
        value("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"),
    );
    response
}

/// Marks request `id` answered, handing `invocation` to the test waiting for it if one is.
fn complete(state: &State, id: &str, invocation: Invocation) -> Response<Full<Bytes>> {
    match state.outstanding.lock().unwrap().remove(id) {
        Some(waiter) => {
            if let Some(waiter) = waiter {
                let _ = waiter.send(invocation);
            }
            status(StatusCode::ACCEPTED)
        }
        // Unknown or already answered: Lambda refuses a second answer as well.
        None => status(StatusCode::BAD_REQUEST),
    }
}

fn function_error_type(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The request body as text (lossy UTF-8).
async fn body_text(req: Request<Incoming>) -> String {
    match req.into_body().collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(err) => format!("<unreadable body: {err}>"),
    }
}

/// A body as JSON; one that is not JSON comes back as a JSON string.
fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
