//! A local stand-in for the HTTP API: real HTTP requests on the API's routes (`POST /contacts`,
//! `POST /contacts/batch`, `PUT` and `DELETE /suppressions`) become the HTTP API (payload 2.0) event Lambda would deliver, the
//! real handler answers it, and the answer goes back as API Gateway would send it. Other
//! routes get API Gateway's own `404 {"message":"Not Found"}`. No IAM signature is checked.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use outbound_chat::Function;
use outbound_chat::adapters::SdkContactStarter;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::LocalSet;
use tokio::time::Instant;

use super::{MaybeSimulator, received_line};

/// The routes of the HTTP API in `template.yaml`, as its route keys.
const ROUTES: [&str; 4] = [
    "POST /contacts",
    "POST /contacts/batch",
    "PUT /suppressions",
    "DELETE /suppressions",
];
/// The function's timeout in `template.yaml`.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// An HTTP API's largest request payload.
const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// Serves until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(
    address: SocketAddr,
    function: Function<SdkContactStarter>,
    simulator: MaybeSimulator<'_>,
    contact_events: Option<broadcast::Receiver<serde_json::Value>>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(address).await?;
    // The first line a script or test waits for.
    println!("listening on http://{}", listener.local_addr()?);
    if let Some(simulator) = simulator {
        let mut received = simulator.subscribe();
        tokio::spawn(async move {
            loop {
                match received.recv().await {
                    Ok(entry) => println!("Connect received:\n{}", received_line(&entry)),
                    Err(RecvError::Lagged(missed)) => println!("({missed} more not shown)"),
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }
    // The handler's future is not `Send`: connections run on this thread.
    let function = Rc::new(function);
    let sequence = Rc::new(Cell::new(0_u64));
    let connections = LocalSet::new();
    connections
        .run_until(async move {
            // With the ledger, the simulator's contact events go to the function as a rule
            // would deliver them.
            if let Some(mut events) = contact_events {
                let function = Rc::clone(&function);
                tokio::task::spawn_local(async move {
                    while let Ok(event) = events.recv().await {
                        let context = lambda_runtime::Context::default();
                        let deadline = std::time::SystemTime::now() + FUNCTION_TIMEOUT;
                        let mut context = context;
                        context.deadline = deadline
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_millis() as u64)
                            .unwrap_or_default();
                        let event = lambda_runtime::LambdaEvent::new(event, context);
                        if let Err(err) = function.handle_lambda(event).await {
                            eprintln!("contact event not recorded: {err}");
                        }
                    }
                });
            }
            loop {
                let (stream, peer) = tokio::select! {
                    accepted = listener.accept() => accepted?,
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                };
                let function = Rc::clone(&function);
                let sequence = Rc::clone(&sequence);
                tokio::task::spawn_local(async move {
                    let service = service_fn(move |request| {
                        let request_id = format!("local-{}", sequence.replace(sequence.get() + 1));
                        answer(Rc::clone(&function), request, peer, request_id)
                    });
                    let connection =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    if let Err(err) = connection.await {
                        eprintln!("connection from {peer}: {err}");
                    }
                });
            }
        })
        .await
}

/// Answers one HTTP request as API Gateway would: its own 404 and 413, the function's answer
/// for a route it has, its own 500 when the function fails.
async fn answer(
    function: Rc<Function<SdkContactStarter>>,
    request: Request<Incoming>,
    peer: SocketAddr,
    request_id: String,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let route_key = format!("{} {}", request.method(), request.uri().path());
    let path = request.uri().path();
    let status_route = request.method() == hyper::Method::GET
        && ["/requests/", "/contacts/"].iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
        });
    if !ROUTES.contains(&route_key.as_str()) && !status_route {
        return Ok(gateway_answer(StatusCode::NOT_FOUND, "Not Found"));
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(gateway_answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request Entity Too Large",
            ));
        }
    };
    let event = http_api_event(&parts, &body, &route_key, peer, &request_id);
    let deadline = Instant::now() + FUNCTION_TIMEOUT;
    match function.handle(event, &request_id, deadline).await {
        Ok(answer) => Ok(function_answer(&answer, &request_id)),
        Err(err) => {
            eprintln!("the function failed: {} ({err})", err.error_type());
            Ok(gateway_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ))
        }
    }
}

/// The HTTP API (payload format 2.0) event of a request on stage `$default`, in the shape API
/// Gateway delivers (see `events/apigw-http-single.json`): header names in lower case, repeated
/// headers joined with commas, a body that is not text (by its content type, or not UTF-8)
/// base64-encoded. Written out rather than serialized from `aws_lambda_events`' struct, which
/// also carries the members of authorizer events (`httpMethod`, ...) that API Gateway never
/// sends here.
fn http_api_event(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    route_key: &str,
    peer: SocketAddr,
    request_id: &str,
) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), values.join(",").into());
    }
    let header = |name: &str| headers.get(name).and_then(Value::as_str);
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|_| is_text(header("content-type")));
    let (body, is_base64_encoded) = match text {
        _ if body.is_empty() => (Value::Null, false),
        Some(text) => (text.into(), false),
        None => (
            base64::engine::general_purpose::STANDARD
                .encode(body)
                .into(),
            true,
        ),
    };
    let path = parts.uri.path();
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or_default(),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": header("host").unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": header("user-agent").unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "timeEpoch": now.as_millis() as u64,
        },
        "headers": headers,
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    })
}

/// Whether API Gateway passes a body of this content type as text rather than base64.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let media = media.to_ascii_lowercase();
    media.starts_with("text/")
        || media.ends_with("/json")
        || media.ends_with("+json")
        || media.ends_with("/xml")
        || media == "application/x-www-form-urlencoded"
}

/// The function's HTTP API answer (`statusCode`, `headers`, `body`, `isBase64Encoded`) as
/// the HTTP response API Gateway sends.
fn function_answer(answer: &Value, request_id: &str) -> Response<Full<Bytes>> {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    let Some(status) = status else {
        eprintln!("the function's answer has no valid statusCode: {answer}");
        return gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let body = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let mut response = Response::builder()
        .status(status)
        .header("apigw-requestid", request_id);
    if let Some(headers) = answer["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                response = response.header(name.as_str(), value);
            }
        }
    }
    response
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| {
            gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        })
}

/// An answer of API Gateway itself: `{"message": ...}`.
fn gateway_answer(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = json!({ "message": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
