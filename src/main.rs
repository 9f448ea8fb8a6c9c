//! The Lambda binary: reads the configuration, builds the Connect client, and runs the
//! function. Wiring only.

// The runtime's service stack nests deeply; computing its future's layout needs the room.
#![recursion_limit = "256"]

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use outbound_chat::{Config, Function, SdkContactStarter};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;

    // Retries keep the SDK's standard mode and 3 attempts unless AWS_RETRY_MODE or
    // AWS_MAX_ATTEMPTS say otherwise; timeouts are ours, so that no call outlives the
    // invocation (see SendTimeouts).
    let timeouts = config.timeouts;
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.attempt)
                .operation_timeout(timeouts.operation)
                .build(),
        )
        .load()
        .await;
    let connect = SdkContactStarter::new(aws_sdk_connect::Client::new(&sdk_config));

    let function = Arc::new(Function::new(connect, &config));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = Arc::clone(&function);
        async move { function.handle_lambda(event).await }
    }))
    .await
}
