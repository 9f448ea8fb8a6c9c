//! The compiled `bootstrap` binary as Lambda runs it, for the end-to-end, privacy and metrics
//! tests: the environment Lambda gives it, and `lambda_testkit`'s launcher pointed at it.

use std::collections::BTreeMap;
use std::future::Future;

use lambda_testkit::{Process, Run};

use crate::support::FUNCTION_CONFIG;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_bootstrap");

/// The binary's whole environment as Lambda sets it, pointed at `runtime_api` (`host:port`) and
/// at `connect_url`, logging in `format` at `level`. Nothing else reaches the process: no
/// value from the developer's shell (AWS profile, credentials, region, endpoints, proxies,
/// `RUST_LOG`, the function's own variables) changes what is tested.
pub(crate) fn lambda_environment(
    runtime_api: &str,
    connect_url: &str,
    format: &str,
    level: &str,
) -> BTreeMap<String, String> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "outbound-chat"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", format),
        ("AWS_LAMBDA_LOG_LEVEL", level),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_CONNECT", connect_url),
        // The SDK must reach the simulator on loopback directly.
        ("NO_PROXY", "127.0.0.1,localhost"),
    ]
    .into_iter()
    .chain(FUNCTION_CONFIG)
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// Starts `bootstrap` with exactly `environment` (see [`lambda_environment`]).
pub(crate) fn spawn_bootstrap(environment: BTreeMap<String, String>) -> Process {
    Process::spawn(BOOTSTRAP, environment).expect("start the bootstrap binary")
}

/// Starts `bootstrap` with exactly `environment`, awaits `until_ready`, sends it SIGTERM and
/// collects its output.
pub(crate) async fn run_binary(
    environment: BTreeMap<String, String>,
    until_ready: impl Future<Output = ()>,
) -> Run {
    lambda_testkit::run(BOOTSTRAP, environment, until_ready).await
}
