//! The local run's AWS clients (Connect, and SQS when a send window is set), resolved through
//! the SDK's standard chain as the AWS CLI
//! does: region and credentials from the environment, the shared config and credentials files,
//! `AWS_PROFILE`, IAM Identity Center (SSO), web identity, assumed roles and
//! `credential_process`; the endpoint from `AWS_ENDPOINT_URL_CONNECT` or a profile's
//! `endpoint_url`. The HTTPS client and the timeouts stay the function's own. (The Lambda
//! binary reads its few settings from Lambda's environment instead: `ClientSettings`.)

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_connect::config::ProvideCredentials;
use outbound_chat::SendTimeouts;
use outbound_chat::adapters::{https_client, timeout_config};

/// Loads the standard chain and checks, before any request is sent, that it gave a region and
/// credentials: a missing profile or an expired SSO session is reported here, by name.
pub async fn shared_config(timeouts: SendTimeouts) -> Result<SdkConfig, String> {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeout_config(timeouts))
        .load()
        .await;
    if shared.region().is_none() {
        return Err(
            "no AWS region: set AWS_REGION, or a region in the profile (AWS_PROFILE)".into(),
        );
    }
    let provider = shared
        .credentials_provider()
        .ok_or("no AWS credentials provider could be built")?;
    provider
        .provide_credentials()
        .await
        .map_err(|err| format!("no AWS credentials: {}", error_chain(&err)))?;
    Ok(shared)
}

/// An error and its sources, on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
