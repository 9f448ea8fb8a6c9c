//! The queue port over aws-sdk-sqs, its client built from what every SDK client shares
//! (`aws/`: the settings Lambda's environment gives, `AWS_ENDPOINT_URL_SQS` honoured, the
//! rustls-on-ring HTTPS client, no aws-config).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use aws_sdk_sqs::types::MessageAttributeValue;

use super::{FIRST_RECEIVED_ATTRIBUTE, QueueError, QueueFuture, RequestQueue};
use crate::aws::client::{shared_config, timeout_config};
use crate::aws::settings::ClientSettings;
use crate::config::SendTimeouts;
use crate::domain::redact_phone_numbers;

/// Builds the SQS client from `settings` (read for SQS: see [`ClientSettings::for_sqs`]).
pub fn load_sqs_client(settings: &ClientSettings, timeouts: SendTimeouts) -> Client {
    Client::new(&shared_config(settings, timeout_config(timeouts)))
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
        first_received: Option<i64>,
    ) -> QueueFuture<'a> {
        Box::pin(async move {
            let first_received = first_received
                .map(|ms| {
                    MessageAttributeValue::builder()
                        .data_type("Number")
                        .string_value(ms.to_string())
                        .build()
                })
                .transpose()
                .map_err(|err| QueueError {
                    code: "BuildError".into(),
                    message: err.to_string(),
                })?;
            self.client
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .delay_seconds(delay_seconds as i32)
                .set_message_attributes(
                    first_received.map(|v| [(FIRST_RECEIVED_ATTRIBUTE.to_owned(), v)].into()),
                )
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
