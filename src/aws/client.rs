//! What every AWS SDK client of the function shares, whatever its service: the HTTPS client,
//! the shared configuration built from [`ClientSettings`], and the SDK's timeouts from the
//! function's time bounds. Each adapter (Connect, SQS, DynamoDB) builds its client from here,
//! so no adapter imports another.

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::{SharedCredentialsProvider, SharedHttpClient, TimeoutConfig};

use super::settings::ClientSettings;
use crate::config::SendTimeouts;

/// What every SDK client of the function (Connect, SQS, DynamoDB) is built from: region,
/// credentials, endpoint, FIPS and dual-stack, retries and app id from `settings` (read for
/// that service), the [`https_client`], and `timeouts`.
pub fn shared_config(settings: &ClientSettings, timeouts: TimeoutConfig) -> SdkConfig {
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .credentials_provider(SharedCredentialsProvider::new(settings.credentials.clone()))
        .use_fips(settings.use_fips)
        .use_dual_stack(settings.use_dual_stack)
        .retry_config(settings.retry.clone())
        .http_client(https_client())
        .timeout_config(timeouts);
    if let Some(url) = &settings.endpoint_url {
        config = config.endpoint_url(url);
    }
    if let Some(app_name) = &settings.app_name {
        config = config.app_name(app_name.clone());
    }
    config.build()
}

/// The HTTPS client: rustls on ring (trusting the system's roots, as the SDK's default client
/// does) rather than the default on aws-lc: a smaller binary, and no aws-lc entropy seeding
/// (~20 ms) in the first call's TLS handshake (see BENCHMARKS.md).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The SDK's timeouts from [`SendTimeouts`], so that no call outlives the invocation.
pub fn timeout_config(timeouts: SendTimeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build()
}
