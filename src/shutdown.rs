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

use http::{Method, StatusCode};
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

/// Registers the no-op internal extension at `AWS_LAMBDA_RUNTIME_API` and keeps its event poll
/// open in a spawned task. Must run before the runtime's first `/invocation/next` poll: Lambda
/// refuses registrations after init.
pub async fn register_with_lambda(wait: Duration) -> Result<(), RegistrationError> {
    let endpoint = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .and_then(|address| address.parse::<http::Uri>().ok())
        .ok_or(RegistrationError::NoRuntimeApi)?;
    let client = Client::builder()
        .with_endpoint(endpoint)
        .build()
        .map_err(|err| RegistrationError::Transport(err.into()))?;

    let register = build_request()
        .method(Method::POST)
        .uri(REGISTER_PATH)
        .header(NAME_HEADER, EXTENSION_NAME)
        .header("Content-Type", "application/json")
        .body(Body::from(r#"{"events":[]}"#))
        .map_err(|err| RegistrationError::Transport(err.into()))?;
    let answer = tokio::time::timeout(wait, client.call(register))
        .await
        .map_err(|_| RegistrationError::NoAnswer(wait))??;
    if !answer.status().is_success() {
        return Err(RegistrationError::Refused(answer.status()));
    }
    let identifier = answer
        .headers()
        .get(IDENTIFIER_HEADER)
        .cloned()
        .ok_or(RegistrationError::NoIdentifier)?;

    tokio::spawn(async move {
        // Never answers in Lambda (no events). Should an emulator answer, poll again; stop at
        // its first error instead of spinning.
        loop {
            let next = build_request()
                .method(Method::GET)
                .uri(NEXT_EVENT_PATH)
                .header(IDENTIFIER_HEADER, identifier.clone())
                .body(Body::empty());
            let Ok(next) = next else { break };
            match client.call(next).await {
                Ok(answer) if answer.status().is_success() => continue,
                _ => break,
            }
        }
    });
    Ok(())
}
