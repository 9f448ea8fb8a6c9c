//! Graceful shutdown: a last log line and a flushed standard output when the execution
//! environment ends, and the no-op internal extension without which Lambda sends no SIGTERM.
//!
//! Lambda sends a runtime SIGTERM before ending its environment only when an extension is
//! registered. An internal extension is registered with `POST /2020-01-01/extension/register`
//! (with no events: internal extensions cannot subscribe to SHUTDOWN) and must then poll
//! `GET /2020-01-01/extension/event/next`, or the init phase never completes. With no events
//! that poll never answers, so the extension costs one idle connection.
//!
//! This is done here, over the Runtime API client that `lambda_runtime` already carries, rather
//! than through `lambda_runtime`'s `graceful-shutdown` feature: that feature brings the whole
//! `lambda-extension` crate (its Logs and Telemetry API servers) for these two requests, about
//! 250 kB of the binary. See BENCHMARKS.md.

use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{BoxError, Client, build_request};
use tokio::signal::unix::{SignalKind, signal};

use crate::telemetry;

/// The extension's name. Lambda requires internal extension names to be unique within a
/// function; this crate registers one.
pub const EXTENSION_NAME: &str = "outbound-chat-graceful-shutdown";

const REGISTER_PATH: &str = "/2020-01-01/extension/register";
const NEXT_EVENT_PATH: &str = "/2020-01-01/extension/event/next";
const NAME_HEADER: &str = "Lambda-Extension-Name";
const IDENTIFIER_HEADER: &str = "Lambda-Extension-Identifier";

/// How long registration may take. In Lambda it answers in milliseconds; a local emulator
/// without the Extensions API may never answer.
pub const REGISTRATION_WAIT: Duration = Duration::from_secs(1);

/// The pause before polling again after an event the extension never subscribed to.
const UNEXPECTED_EVENT_PAUSE: Duration = Duration::from_millis(100);

/// Handles SIGTERM (Lambda ending the environment) and SIGINT (Ctrl-C in a local run) from now
/// on, inside Lambda or not, so that no signal finds the process without a handler: logs the
/// shutdown line, flushes standard output and exits.
pub fn listen() -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        telemetry::shut_down(name);
        std::process::exit(0);
    });
    Ok(())
}

/// Why no extension was registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("AWS_LAMBDA_RUNTIME_API is not set or not an address")]
    NoRuntimeApi,
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
    #[error("the Extensions API answered HTTP {0}")]
    Refused(StatusCode),
    #[error("the Extensions API's answer had no {IDENTIFIER_HEADER} header")]
    NoIdentifier,
    #[error("the request failed: {0}")]
    Transport(#[from] BoxError),
}

/// Registers the no-op internal extension at `runtime_api` (`AWS_LAMBDA_RUNTIME_API`'s
/// address) and keeps its event poll open. Must run before the runtime's first `/invocation/next` poll: Lambda refuses
/// registrations after init.
///
/// Registration and polling run in one spawned task; this waits at most `wait` for the
/// registration's answer. An answer that comes later still starts the poll: Lambda, having
/// registered the extension, would otherwise wait for it and fail the init phase.
pub async fn register_with_lambda(
    runtime_api: Option<String>,
    wait: Duration,
) -> Result<(), RegistrationError> {
    let endpoint = runtime_api
        .and_then(|address| address.parse::<http::Uri>().ok())
        .ok_or(RegistrationError::NoRuntimeApi)?;
    let client = Client::builder()
        .with_endpoint(endpoint)
        .build()
        .map_err(|err| RegistrationError::Transport(err.into()))?;
    let (registered, registration) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        match register(&client).await {
            Ok(identifier) => {
                let _ = registered.send(Ok(()));
                poll_events(&client, identifier).await;
            }
            Err(err) => drop(registered.send(Err(err))),
        }
    });
    match tokio::time::timeout(wait, registration).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(RegistrationError::Transport(
            "the registration task ended".into(),
        )),
        Err(_) => Err(RegistrationError::NoAnswer(wait)),
    }
}

/// Registers the extension; returns its identifier.
async fn register(client: &Client) -> Result<HeaderValue, RegistrationError> {
    let register = build_request()
        .method(Method::POST)
        .uri(REGISTER_PATH)
        .header(NAME_HEADER, EXTENSION_NAME)
        .header("Content-Type", "application/json")
        .body(Body::from(r#"{"events":[]}"#))
        .map_err(|err| RegistrationError::Transport(err.into()))?;
    let answer = client.call(register).await?;
    if !answer.status().is_success() {
        return Err(RegistrationError::Refused(answer.status()));
    }
    answer
        .headers()
        .get(IDENTIFIER_HEADER)
        .cloned()
        .ok_or(RegistrationError::NoIdentifier)
}

/// The extension's event poll. It never answers in Lambda (no events). Should an emulator
/// answer, poll again after a pause rather than spin; stop at its first error.
async fn poll_events(client: &Client, identifier: HeaderValue) {
    loop {
        let next = build_request()
            .method(Method::GET)
            .uri(NEXT_EVENT_PATH)
            .header(IDENTIFIER_HEADER, identifier.clone())
            .body(Body::empty());
        let Ok(next) = next else { return };
        match client.call(next).await {
            Ok(answer) if answer.status().is_success() => {
                drop(answer);
                tokio::time::sleep(UNEXPECTED_EVENT_PAUSE).await;
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// An Extensions API that answers the registration after `delay` and records the event
    /// polls' identifiers (never answering them).
    async fn slow_extensions_api(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let polls = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&polls);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    // One connection may carry the registration and then the poll.
                    let mut buffer = vec![0; 4096];
                    loop {
                        let Ok(n) = stream.read(&mut buffer).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        let request = String::from_utf8_lossy(&buffer[..n]).to_lowercase();
                        if request.starts_with("post /2020-01-01/extension/register") {
                            assert!(request.contains(
                                "lambda-extension-name: outbound-chat-graceful-shutdown"
                            ));
                            tokio::time::sleep(delay).await;
                            let answer = "HTTP/1.1 200 OK\r\nlambda-extension-identifier: ext-1\r\ncontent-length: 2\r\n\r\n{}";
                            stream.write_all(answer.as_bytes()).await.unwrap();
                        } else if request.starts_with("get /2020-01-01/extension/event/next") {
                            let id = request
                                .lines()
                                .find_map(|l| l.strip_prefix("lambda-extension-identifier: "))
                                .unwrap_or_default()
                                .trim()
                                .to_owned();
                            seen.lock().unwrap().push(id);
                            std::future::pending::<()>().await;
                        }
                    }
                });
            }
        });
        (address, polls)
    }

    async fn polls_within(polls: &Mutex<Vec<String>>, limit: Duration) -> Vec<String> {
        let start = tokio::time::Instant::now();
        while polls.lock().unwrap().is_empty() && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        polls.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_registered_extension_polls_its_events_with_its_identifier() {
        let (address, polls) = slow_extensions_api(Duration::ZERO).await;
        register_with_lambda(Some(address), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            polls_within(&polls, Duration::from_secs(5)).await,
            ["ext-1"]
        );
    }

    #[tokio::test]
    async fn a_registration_answered_after_the_wait_still_starts_the_event_poll() {
        let (address, polls) = slow_extensions_api(Duration::from_millis(300)).await;
        let result = register_with_lambda(Some(address), Duration::from_millis(50)).await;
        assert!(
            matches!(result, Err(RegistrationError::NoAnswer(_))),
            "{result:?}"
        );
        // Lambda registered it: without the poll, it would wait for it and fail the init.
        assert_eq!(
            polls_within(&polls, Duration::from_secs(5)).await,
            ["ext-1"]
        );
    }

    #[tokio::test]
    async fn without_a_runtime_api_address_nothing_is_attempted() {
        let result = register_with_lambda(None, Duration::from_millis(50)).await;
        assert!(matches!(result, Err(RegistrationError::NoRuntimeApi)));
    }
}
