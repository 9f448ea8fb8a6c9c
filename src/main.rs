//! The Lambda binary: sets up logging, shutdown handling and the configuration, builds the SDK
//! clients (Connect and SQS always, DynamoDB when `STATE_TABLE_NAME` is set, EventBridge when
//! `OUTCOME_EVENT_BUS` is), each from the settings Lambda's environment gives, and runs the
//! function. Wiring only.

// The runtime's service stack nests deeply; computing its future's layout needs the room.
#![recursion_limit = "256"]

use std::collections::HashMap;
use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use outbound_chat::adapters::load_state_client;
use outbound_chat::adapters::{ClientSettings, SdkContactStarter, SdkRequestQueue, load_client};
use outbound_chat::adapters::{DynamoLedger, SdkOutcomeBus, load_eventbridge_client};
use outbound_chat::adapters::{DynamoRecipientState, StateTimeouts, load_sqs_client};
use outbound_chat::runtime::{self, CoalescedStdout, LogSettings};
use outbound_chat::{Config, ConfigError, Function};
use serde_json::Value;

/// The process environment, read once at cold start: every setting (logging, configuration,
/// each client's) is read from this one copy, through [`Environment::get`].
struct Environment(HashMap<String, String>);

impl Environment {
    fn read() -> Self {
        Self(std::env::vars().collect())
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn main() -> Result<(), Error> {
    runtime::flush_on_panic();
    let environment = Environment::read();
    let settings = LogSettings::from_lookup(|name| environment.get(name));
    let subscriber = runtime::log_subscriber(&settings, CoalescedStdout);
    tracing::subscriber::set_global_default(subscriber)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ended = runtime.block_on(run(&environment));
    // Lines logged while the runtime shut down were gathered for a task that never ran.
    drop(runtime);
    runtime::STDOUT.flush();
    ended
}

/// Every client's settings, read from the environment once: Connect's, SQS's and (with a
/// table) DynamoDB's, each with its own `AWS_ENDPOINT_URL_*` override.
struct Settings {
    connect: ClientSettings,
    sqs: ClientSettings,
    dynamodb: Option<ClientSettings>,
    eventbridge: Option<ClientSettings>,
}

fn read_settings(config: &Config, environment: &Environment) -> Result<Settings, ConfigError> {
    let env = |name: &str| environment.get(name);
    let connect = ClientSettings::from_lookup(env)?;
    let sqs = connect.for_service("AWS_ENDPOINT_URL_SQS", env)?;
    let dynamodb = match config.state_table() {
        Some(_) => Some(connect.for_service("AWS_ENDPOINT_URL_DYNAMODB", env)?),
        None => None,
    };
    let eventbridge = match config.outcome_event_bus() {
        Some(_) => Some(connect.for_service("AWS_ENDPOINT_URL_EVENTBRIDGE", env)?),
        None => None,
    };
    Ok(Settings {
        connect,
        sqs,
        dynamodb,
        eventbridge,
    })
}

async fn run(environment: &Environment) -> Result<(), Error> {
    runtime::listen()?;
    // Checked before anything else starts, and logged in the configured log format: the init
    // phase then fails with a line that names the variable.
    let (config, settings) = Config::from_lookup(|name| environment.get(name))
        .and_then(|config| {
            read_settings(&config, environment).map(|settings| (config, settings))
        })
        .inspect_err(|err| {
            tracing::error!(variable = err.variable, problem = %err.problem, "invalid configuration: {err}");
        })?;
    // Outside Lambda (a local emulator without the Extensions API) the function goes on
    // without it; `listen` still handles the signals.
    if let Err(problem) = runtime::register_with_lambda(
        environment.get("AWS_LAMBDA_RUNTIME_API"),
        runtime::REGISTRATION_WAIT,
    )
    .await
    {
        tracing::warn!(
            problem = %problem,
            "no shutdown extension registered (expected outside Lambda): Lambda may end this environment without SIGTERM"
        );
    }
    let connect = SdkContactStarter::new(load_client(&settings.connect, config.timeouts()));
    // The SQS client is always there: deferrals and throttled records go back to the queue.
    // Building a client makes no network call.
    let queue = SdkRequestQueue::new(load_sqs_client(&settings.sqs, config.timeouts()));
    let mut function = Function::new(connect, &config).with_queue(Arc::new(queue));
    // No DynamoDB client at all unless STATE_TABLE_NAME is set.
    if let (Some(table), Some(dynamodb)) = (config.state_table(), &settings.dynamodb) {
        let client = load_state_client(dynamodb, StateTimeouts::default());
        let state = DynamoRecipientState::new(client.clone(), table.to_owned());
        function = function.with_recipient_state(Arc::new(state));
        // The ledger shares the table and its client; EventBridge's client only with a bus.
        if config.ledger().is_some() {
            let bus = match (config.outcome_event_bus(), &settings.eventbridge) {
                (Some(bus), Some(eventbridge)) => {
                    let client = load_eventbridge_client(eventbridge);
                    Some(Arc::new(SdkOutcomeBus::new(client, bus)) as _)
                }
                _ => None,
            };
            let ledger = DynamoLedger::new(client, table.to_owned());
            function = function.with_ledger(Arc::new(ledger), bus);
        }
    }
    let function = Arc::new(function);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = Arc::clone(&function);
        async move { function.handle_lambda(event).await }
    }))
    .await
}
