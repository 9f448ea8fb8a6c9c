//! The emulator's HTTP side (hyper 1, HTTP/1.1): the accept loop and one handler per route.
//!
//! Runtime API: `GET /2018-06-01/runtime/invocation/next` (blocks until an event is queued,
//! then hands it out with Lambda's headers, deadline included),
//! `POST /2018-06-01/runtime/invocation/{id}/response`, `POST .../invocation/{id}/error` and
//! `POST /2018-06-01/runtime/init/error`. Extensions API, on the same address:
//! `POST /2020-01-01/extension/register`, and `GET /2020-01-01/extension/event/next`, which is
//! recorded and held open (no event is ever sent). Anything else is answered 404.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
use tokio::task::JoinSet;

use crate::exchange::{Answer, Extension, InitError, State};

const PREFIX: &str = "/2018-06-01/runtime";
const EXTENSION_PREFIX: &str = "/2020-01-01/extension";
/// The emulated function, as the invocations' ARN and the extension registration name it.
const FUNCTION_NAME: &str = "test-function";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:test-function";
const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";

type Reply = Response<Full<Bytes>>;

/// Accepts connections until aborted; aborting it aborts every connection task.
pub(crate) async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
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

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if let Some(route) = path.strip_prefix(EXTENSION_PREFIX) {
        return Ok(match (method, route) {
            (Method::POST, "/register") => register(&state, req).await,
            (Method::GET, "/event/next") => extension_next(&state, req).await,
            _ => status(StatusCode::NOT_FOUND),
        });
    }
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    let route: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    Ok(match (method, route.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&state).await,
        (Method::POST, ["invocation", id, "response"]) => answer(&state, id, "response", req).await,
        (Method::POST, ["invocation", id, "error"]) => answer(&state, id, "error", req).await,
        (Method::POST, ["init", "error"]) => init_error(&state, req).await,
        _ => status(StatusCode::NOT_FOUND),
    })
}

/// The long poll: waits for the next queued event and hands it out with its context headers;
/// the deadline is the event's timeout from now.
async fn next(state: &State) -> Reply {
    let arrived = Instant::now();
    state.polls.fetch_add(1, Ordering::Relaxed);
    state.first_poll.send_if_modified(|first| {
        let unset = first.is_none();
        first.get_or_insert(arrived);
        unset
    });
    let queued = {
        let mut rx = state.queue_rx.lock().await;
        match rx.recv().await {
            Some(queued) => queued,
            None => return status(StatusCode::SERVICE_UNAVAILABLE),
        }
    };
    let deadline = SystemTime::now() + queued.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch");
    let mut response = Response::new(Full::new(queued.body));
    let headers = response.headers_mut();
    headers.insert("content-type", value("application/json"));
    headers.insert("lambda-runtime-aws-request-id", value(&queued.request_id));
    let deadline_ms = deadline_ms.as_millis().to_string();
    headers.insert("lambda-runtime-deadline-ms", value(&deadline_ms));
    headers.insert("lambda-runtime-invoked-function-arn", value(FUNCTION_ARN));
    headers.insert("lambda-runtime-trace-id", value(TRACE_ID));
    response
}

/// An answer or error posted for request `id`: recorded and handed to the caller waiting for
/// it. An unknown or already answered id is refused, as Lambda refuses a second answer.
async fn answer(state: &State, id: &str, kind: &'static str, req: Request<Incoming>) -> Reply {
    let function_error_type = header(&req, "lambda-runtime-function-error-type");
    let body = body_text(req).await;
    let answered = Instant::now();
    let Some(outstanding) = state.outstanding.lock().unwrap().remove(id) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let answer = Answer {
        request_id: id.to_owned(),
        kind,
        body,
        function_error_type,
        queued: outstanding.queued,
        answered,
    };
    state.answers.lock().unwrap().push(answer.clone());
    if let Some(waiter) = outstanding.waiter {
        let _ = waiter.send(answer);
    }
    accepted()
}

async fn init_error(state: &State, req: Request<Incoming>) -> Reply {
    let function_error_type = header(&req, "lambda-runtime-function-error-type");
    let body = json(&body_text(req).await);
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
    *state.init_error.lock().unwrap() = Some(InitError {
        error_type: text("errorType"),
        message: text("errorMessage"),
        function_error_type,
    });
    accepted()
}

/// An extension's registration: recorded, and answered with its identifier `ext-N`.
async fn register(state: &State, req: Request<Incoming>) -> Reply {
    let name = header(&req, "lambda-extension-name").unwrap_or_default();
    let body = json(&body_text(req).await);
    let events = body["events"].as_array().map(|events| {
        let names = events.iter().filter_map(Value::as_str);
        names.map(str::to_owned).collect()
    });
    let mut extensions = state.extensions.lock().unwrap();
    extensions.push(Extension {
        name,
        events: events.unwrap_or_default(),
        before_first_poll: state.polls.load(Ordering::Relaxed) == 0,
        polls_events: false,
    });
    let id = format!("ext-{}", extensions.len());
    let body = serde_json::json!({
        "functionName": FUNCTION_NAME,
        "functionVersion": "$LATEST",
        "handler": "bootstrap",
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    let headers = response.headers_mut();
    headers.insert("content-type", value("application/json"));
    headers.insert("lambda-extension-identifier", value(&id));
    response
}

/// An extension's event poll: recorded for a registered identifier, then held open, as Lambda
/// answers it only at shutdown; the connection closes when the emulator stops.
async fn extension_next(state: &State, req: Request<Incoming>) -> Reply {
    let identifier = header(&req, "lambda-extension-identifier");
    let number = identifier.as_deref().and_then(|id| id.strip_prefix("ext-"));
    let index = number.and_then(|n| n.parse::<usize>().ok());
    let Some(index) = index.and_then(|n| n.checked_sub(1)) else {
        return status(StatusCode::FORBIDDEN);
    };
    match state.extensions.lock().unwrap().get_mut(index) {
        Some(extension) => extension.polls_events = true,
        None => return status(StatusCode::FORBIDDEN),
    }
    std::future::pending().await
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    let found = req.headers().get(name)?;
    found.to_str().ok().map(str::to_owned)
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

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("a header value")
}

fn accepted() -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)));
    *response.status_mut() = StatusCode::ACCEPTED;
    let headers = response.headers_mut();
    headers.insert("content-type", value("application/json"));
    response
}

fn status(code: StatusCode) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
