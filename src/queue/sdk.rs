//! The queue port over aws-sdk-sqs, built like the Connect client: settings from the
//! environment Lambda sets (`AWS_ENDPOINT_URL_SQS` honoured), the rustls-on-ring HTTPS client,
//! no aws-config.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use super::{QueueError, QueueFuture, RequestQueue};
use crate::config::SendTimeouts;
use crate::connect::client_settings::ClientSettings;
use crate::connect::sdk::{https_client, timeout_config};
use crate::domain::redact_phone_numbers;

/// Builds the SQS client from `settings` (read for SQS: see [`ClientSettings::for_sqs`]).
pub fn load_sqs_client(settings: &ClientSettings, timeouts: SendTimeouts) -> Client {
    let mut config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .credentials_provider(settings.credentials.clone())
        .use_fips(settings.use_fips)
        .use_dual_stack(settings.use_dual_stack)
        .retry_config(settings.retry.clone())
        .http_client(https_client())
        .timeout_config(timeout_config(timeouts));
    if let Some(url) = &settings.endpoint_url {
        config = config.endpoint_url(url);
    }
    if let Some(app_name) = &settings.app_name {
        config = config.app_name(app_name.clone());
    }
    Client::from_conf(config.build())
}

/// Holds requests back with the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkRequestQueue {
    client: Client,
}

impl SdkRequestQueue {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl RequestQueue for SdkRequestQueue {
    fn hide_message<'a>(
        &'a self,
        queue_url: &'a str,
        receipt_handle: &'a str,
        seconds: u32,
    ) -> QueueFuture<'a> {
        Box::pin(async move {
            self.client
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(receipt_handle)
                .visibility_timeout(seconds as i32)
                .send()
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }

    fn send_delayed<'a>(
        &'a self,
        queue_url: &'a str,
        body: String,
        delay_seconds: u32,
    ) -> QueueFuture<'a> {
        Box::pin(async move {
            self.client
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .delay_seconds(delay_seconds as i32)
                .send()
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }
}

/// An SDK error as a [`QueueError`]: the service's code and message (anything like a phone
/// number masked), else what failed.
fn classify<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> QueueError {
    match &err {
        SdkError::ServiceError(service) => QueueError {
            code: service.err().code().unwrap_or("Unknown").to_owned(),
            message: redact_phone_numbers(service.err().message().unwrap_or_default()),
        },
        SdkError::TimeoutError(_) => QueueError {
            code: "Timeout".into(),
            message: "the call to SQS timed out".into(),
        },
        _ => QueueError {
            code: "Unavailable".into(),
            message: "the call to SQS could not be made (connection or dispatch failure)".into(),
        },
    }
}
