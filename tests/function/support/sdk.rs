//! The real aws-sdk-connect client pointed at the local Connect, and the function built on it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_connect::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_connect::config::timeout::TimeoutConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use connect_simulator::RunningSimulator;
use outbound_chat::adapters::SdkContactStarter;
use outbound_chat::{Config, Function};

/// The real SDK client pointed at the simulator, with short backoffs so retries are quick.
///
/// Each client gets its own retry partition: the SDK keeps its retry quota (a token bucket a
/// failed retry drains) per partition in a process-wide map, so clients of the default
/// partition would share one, and a test that spends it on purpose would leave the others of
/// this binary without retries. (In Lambda that sharing is intended: one process per instance.)
pub fn sdk_starter(simulator: &RunningSimulator) -> SdkContactStarter {
    static PARTITIONS: AtomicUsize = AtomicUsize::new(0);
    let partition = PARTITIONS.fetch_add(1, Ordering::SeqCst);
    let config = aws_sdk_connect::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(simulator.endpoint_url())
        .retry_partition(RetryPartition::new(format!("test-client-{partition}")))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .build();
    SdkContactStarter::new(aws_sdk_connect::Client::from_conf(config))
}

/// The function with the real SDK against `simulator`, configured by `config`.
pub fn sdk_function(simulator: &RunningSimulator, config: &Config) -> Function<SdkContactStarter> {
    Function::new(sdk_starter(simulator), config)
}
