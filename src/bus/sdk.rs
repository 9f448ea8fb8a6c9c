//! The outcome-event port over aws-sdk-eventbridge, built like every other client of the
//! function (the shared configuration of `aws/`, `AWS_ENDPOINT_URL_EVENTBRIDGE` honoured).

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::timeout::TimeoutConfig;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::future::BoxFuture;

use super::{BusError, DETAIL_TYPE, OutcomeBus, PER_CALL, SOURCE};
use crate::aws::client::shared_config;
use crate::aws::settings::ClientSettings;

/// Builds the EventBridge client from `settings` (read for EventBridge, with its endpoint
/// override), bounded like the DynamoDB client: `PutEvents` answers in milliseconds.
pub fn load_eventbridge_client(settings: &ClientSettings) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(500))
        .operation_attempt_timeout(std::time::Duration::from_secs(1))
        .operation_timeout(std::time::Duration::from_secs(3))
        .build();
    Client::new(&shared_config(settings, timeouts))
}

/// Publishes outcome events to one bus.
#[derive(Clone, Debug)]
pub struct SdkOutcomeBus {
    client: Client,
    bus: String,
}

impl SdkOutcomeBus {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    async fn put(&self, details: &[String]) -> Result<Vec<bool>, BusError> {
        let mut published = Vec::with_capacity(details.len());
        for chunk in details.chunks(PER_CALL) {
            let entries = chunk
                .iter()
                .map(|detail| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(DETAIL_TYPE)
                        .detail(detail)
                        .build()
                })
                .collect();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unpublished)?;
            let answered = output.entries();
            // An entry EventBridge did not answer for is not known to be published.
            published.extend((0..chunk.len()).map(|i| {
                answered
                    .get(i)
                    .is_some_and(|entry| entry.event_id().is_some() && entry.error_code().is_none())
            }));
        }
        Ok(published)
    }
}

impl OutcomeBus for SdkOutcomeBus {
    fn publish<'a>(&'a self, details: &'a [String]) -> BoxFuture<'a, Result<Vec<bool>, BusError>> {
        Box::pin(self.put(details))
    }
}

fn unpublished<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> BusError {
    let message = match &err {
        SdkError::ServiceError(context) => format!(
            "EventBridge answered {}",
            context.err().code().unwrap_or("an unknown error")
        ),
        SdkError::TimeoutError(_) => "the call to EventBridge timed out".into(),
        SdkError::DispatchFailure(_) => {
            "the request could not be sent or its answer was lost".into()
        }
        SdkError::ResponseError(_) => "EventBridge's answer could not be read".into(),
        _ => "the request could not be made".into(),
    };
    BusError { message }
}
