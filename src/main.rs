//! The Lambda binary: sets up logging, shutdown handling and the configuration, builds the
//! Connect client (the SQS client when a send window is configured, the DynamoDB client when
//! recipient protection is), and runs the function. Wiring only.

// The runtime's service stack nests deeply; computing its future's layout needs the room.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use outbound_chat::ClientSettings;
use outbound_chat::load_client;
use outbound_chat::runtime::{self, CoalescedStdout, LogSettings};
use outbound_chat::{Config, Function, SdkContactStarter, SdkRequestQueue, load_sqs_client};
use outbound_chat::{DynamoRecipientState, StateTimeouts, load_state_client};
use serde_json::Value;

fn main() -> Result<(), Error> {
    runtime::flush_on_panic();
    let subscriber = runtime::log_subscriber(&LogSettings::from_env(), CoalescedStdout);
    tracing::subscriber::set_global_default(subscriber)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ended = runtime.block_on(run());
    // Lines logged while the runtime shut down were gathered for a task that never ran.
    drop(runtime);
    runtime::STDOUT.flush();
    ended
}

async fn run() -> Result<(), Error> {
    runtime::listen()?;
    // Checked before anything else starts, and logged in the configured log format: the init
    // phase then fails with a line that names the variable.
    let (config, client_settings, sqs_settings) = Config::from_env()
        .and_then(|config| {
            let connect = ClientSettings::from_env()?;
            // Always: besides deferring for a send window, the SQS client re-sends records
            // Connect throttled. Building it makes no call; an invocation that needs no SQS
            // call makes none.
            let sqs = ClientSettings::for_sqs(|name| std::env::var(name).ok())?;
            Ok((config, connect, sqs))
        })
        .inspect_err(|err| {
            tracing::error!(variable = err.variable, problem = %err.problem, "invalid configuration: {err}");
        })?;
    // Outside Lambda (a local emulator without the Extensions API) the function goes on
    // without it; `listen` still handles the signals.
    if let Err(problem) = runtime::register_with_lambda(
        std::env::var("AWS_LAMBDA_RUNTIME_API").ok(),
        runtime::REGISTRATION_WAIT,
    )
    .await
    {
        tracing::warn!(
            problem = %problem,
            "no shutdown extension registered (expected outside Lambda): Lambda may end this environment without SIGTERM"
        );
    }
    let connect = SdkContactStarter::new(load_client(&client_settings, config.timeouts));

    // The SQS client is always there: deferrals and throttled records go back to the queue.
    // Building it makes no network call.
    let queue = SdkRequestQueue::new(load_sqs_client(&sqs_settings, config.timeouts));
    let mut function = Function::new(connect, &config).with_queue(Arc::new(queue));
    // No DynamoDB client at all unless STATE_TABLE_NAME is set.
    if let Some(protection) = &config.protection {
        let settings = client_settings
            .for_service("AWS_ENDPOINT_URL_DYNAMODB", |name| std::env::var(name).ok())
            .inspect_err(|err| {
                tracing::error!(variable = err.variable, problem = %err.problem, "invalid configuration: {err}");
            })?;
        let client = load_state_client(&settings, StateTimeouts::default());
        let state = DynamoRecipientState::new(client, protection.table.clone());
        function = function.with_recipient_state(Arc::new(state));
    }
    let function = Arc::new(function);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = Arc::clone(&function);
        async move { function.handle_lambda(event).await }
    }))
    .await
}
