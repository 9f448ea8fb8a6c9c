//! The Lambda binary: sets up logging, shutdown handling and the configuration, builds the
//! Connect client, and runs the function. Wiring only.

// The runtime's service stack nests deeply; computing its future's layout needs the room.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use outbound_chat::connect::sdk::load_client;
use outbound_chat::telemetry::{self, LogSettings};
use outbound_chat::{Config, Function, SdkContactStarter};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let subscriber = telemetry::log_subscriber(&LogSettings::from_env(), std::io::stdout);
    tracing::subscriber::set_global_default(subscriber)?;
    shutdown::listen()?;
    // Checked before anything else starts, and logged in the configured log format: the init
    // phase then fails with a line that names the variable.
    let config = Config::from_env().inspect_err(|err| {
        tracing::error!(variable = err.variable, problem = %err.problem, "invalid configuration: {err}");
    })?;
    shutdown::register_with_lambda().await;
    let connect = SdkContactStarter::new(load_client(config.timeouts).await);

    let function = Arc::new(Function::new(connect, &config));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = Arc::clone(&function);
        async move { function.handle_lambda(event).await }
    }))
    .await
}

/// Graceful shutdown: on SIGTERM (Lambda ending the execution environment) or SIGINT (Ctrl-C in
/// a local run), log a last line and flush standard output before exiting.
#[cfg(unix)]
mod shutdown {
    use std::time::Duration;

    use outbound_chat::telemetry;
    use tokio::signal::unix::{SignalKind, signal};

    /// How long registration with Lambda's Extensions API may take. In Lambda it answers in
    /// milliseconds; a local emulator without that API may never answer.
    const REGISTRATION_WAIT: Duration = Duration::from_secs(1);

    /// Handles the signals from now on, inside Lambda or not, so that no signal finds the
    /// process without a handler. (Tokio's `signal` feature comes with lambda_runtime's
    /// `graceful-shutdown` feature.)
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

    /// Lambda sends SIGTERM before ending an environment only when an extension is registered:
    /// this registers lambda_runtime's no-op internal extension. Its own signal handler runs
    /// the same idempotent flush, so whichever handler runs first shuts down the same way.
    ///
    /// Outside Lambda, registration fails (lambda_runtime then panics in the spawned task) or
    /// never answers: the function goes on without it, and [`listen`] still handles signals.
    pub async fn register_with_lambda() {
        let mut registration =
            tokio::spawn(lambda_runtime::spawn_graceful_shutdown_handler(|| async {
                telemetry::shut_down("SIGTERM")
            }));
        let problem = match tokio::time::timeout(REGISTRATION_WAIT, &mut registration).await {
            Ok(Ok(())) => return,
            Ok(Err(err)) => format!("the registration failed: {err}"),
            Err(_) => {
                registration.abort();
                format!("no answer within {REGISTRATION_WAIT:?}")
            }
        };
        tracing::warn!(
            problem,
            "no shutdown extension registered (expected outside Lambda): Lambda may end this environment without SIGTERM"
        );
    }
}

/// Elsewhere than Unix there are no such signals; the function runs without the handler.
#[cfg(not(unix))]
mod shutdown {
    pub fn listen() -> std::io::Result<()> {
        Ok(())
    }

    pub async fn register_with_lambda() {}
}
