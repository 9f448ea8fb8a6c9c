//! The Lambda binary: reads the configuration, builds the Connect client, and runs the
//! function. Wiring only.

// The runtime's service stack nests deeply; computing its future's layout needs the room.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use outbound_chat::connect::sdk::load_client;
use outbound_chat::{Config, Function, SdkContactStarter};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;

    let connect = SdkContactStarter::new(load_client(config.timeouts).await);

    let function = Arc::new(Function::new(connect, &config));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = Arc::clone(&function);
        async move { function.handle_lambda(event).await }
    }))
    .await
}
