//! What both adapters of the state table (the recipient state and the ledger) share: one
//! `BatchGetItem` with the keys DynamoDB leaves unprocessed tried again, and an SDK failure
//! described by its code or kind only, never by an item's content.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

/// Most keys one `BatchGetItem` takes.
pub(super) const BATCH_GET_KEYS: usize = 100;
/// Further tries of the keys DynamoDB leaves unprocessed, with their waits.
const UNPROCESSED_WAITS: [Duration; 3] = [
    Duration::from_millis(25),
    Duration::from_millis(100),
    Duration::from_millis(250),
];

/// The items `request` finds in `table`, its unprocessed keys tried again; the error says why
/// not (an SDK failure, or keys still unprocessed after the retries).
pub(super) async fn batch_get(
    client: &Client,
    table: &str,
    request: KeysAndAttributes,
) -> Result<Vec<HashMap<String, AttributeValue>>, String> {
    let mut items = Vec::new();
    let mut pending = Some(request);
    let mut waits = UNPROCESSED_WAITS.iter();
    while let Some(request) = pending.take() {
        let mut output = client
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|err| describe(&err))?;
        if let Some(found) = output.responses.as_mut().and_then(|r| r.remove(table)) {
            items.extend(found);
        }
        pending = output
            .unprocessed_keys
            .as_mut()
            .and_then(|u| u.remove(table))
            .filter(|k| !k.keys().is_empty());
        if pending.is_some() {
            let Some(wait) = waits.next() else {
                return Err("BatchGetItem left keys unprocessed after retries".into());
            };
            tokio::time::sleep(*wait).await;
        }
    }
    Ok(items)
}

/// Any SDK failure, described by its error code or kind only: never by an item's content.
pub(super) fn describe<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::ServiceError(context) => format!(
            "DynamoDB answered {}",
            context.err().code().unwrap_or("an unknown error")
        ),
        SdkError::TimeoutError(_) => "the call to DynamoDB timed out".into(),
        SdkError::DispatchFailure(_) => {
            "the request could not be sent or its answer was lost".into()
        }
        SdkError::ResponseError(_) => "DynamoDB's answer could not be read".into(),
        _ => "the request could not be made".into(),
    }
}
