//! The DynamoDB client, built from what every SDK client shares (`aws/`: no aws-config, rustls
//! on ring, the settings Lambda's environment gives) with its own endpoint override
//! (`AWS_ENDPOINT_URL_DYNAMODB`) and time bounds chosen for a store that answers in
//! milliseconds.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use crate::aws::client::shared_config;
use crate::aws::settings::ClientSettings;

/// Time bounds of a DynamoDB call. DynamoDB answers a single-item write in single-digit
/// milliseconds: an attempt that takes a second is a lost connection or an overloaded
/// partition, better retried than awaited. The whole call (the SDK's standard mode: 3
/// attempts with backoff, throttling and 5xx retried) stays within 3 s. These bounds do not
/// know the invocation's deadline: the caller bounds each call by the time the invocation has
/// left as well (see `send::protect`), whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateTimeouts {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

impl Default for StateTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(500),
            attempt: Duration::from_secs(1),
            operation: Duration::from_secs(3),
        }
    }
}

/// Builds the DynamoDB client from `settings` (whose endpoint is already DynamoDB's: see
/// [`ClientSettings::for_service`]) and `timeouts`.
pub fn load_state_client(settings: &ClientSettings, timeouts: StateTimeouts) -> Client {
    let timeout_config = TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build();
    Client::new(&shared_config(settings, timeout_config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_client_gets_its_own_endpoint_and_the_chosen_time_bounds() {
        let lookup = |name: &str| {
            let value = match name {
                "AWS_REGION" => "eu-west-2",
                "AWS_ACCESS_KEY_ID" => "ASIAEXAMPLE",
                "AWS_SECRET_ACCESS_KEY" => "secret",
                "AWS_ENDPOINT_URL_CONNECT" => "http://127.0.0.1:1",
                "AWS_ENDPOINT_URL_DYNAMODB" => "http://127.0.0.1:2",
                _ => return None,
            };
            Some(value.to_owned())
        };
        let settings = ClientSettings::from_lookup(lookup)
            .and_then(|s| s.for_service("AWS_ENDPOINT_URL_DYNAMODB", lookup))
            .unwrap();
        assert_eq!(settings.endpoint_url.as_deref(), Some("http://127.0.0.1:2"));
        let client = load_state_client(&settings, StateTimeouts::default());
        let timeouts = client.config().timeout_config().expect("timeouts").clone();
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_millis(500)));
    }
}
