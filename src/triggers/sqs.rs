//! SQS batches: standard queues run every record concurrently; FIFO queues keep each message
//! group in order and stop a group at its first failure or deferral. The do-not-contact list is
//! looked up for the whole batch at once. The answer lists exactly the failed and deferred
//! message ids, each once (a deferred record is hidden until its send window opens, then SQS
//! delivers it again; a suppressed record is done, not failed). A standard-queue record
//! throttled by Connect is re-sent to its queue with a delay and reported done (see `requeue`).

use std::collections::BTreeMap;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;

use jiff::Timestamp;

use crate::connect::ContactStarter;
use crate::domain::{OutboundChat, ValidationError};
use crate::intake::token::DeliveryIdentity;
use crate::outcome::{NotSent, Outcome};
use crate::queue::FIRST_RECEIVED_ATTRIBUTE;
use crate::send::deferral::Route;
use crate::send::pipeline::Pipeline;

/// An SQS record that cannot be reported back: without a message id, Lambda could not retry
/// it alone, so the whole batch fails and comes back.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("SQS record {index} has no messageId; the batch is returned whole so nothing is lost")]
pub struct MissingMessageId {
    pub index: usize,
}

/// Handles one batch. Records are decoded one by one: one bad body fails one record.
pub async fn handle<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    event: SqsEvent,
) -> Result<SqsBatchResponse, MissingMessageId> {
    if let Some(index) = event.records.iter().position(|r| r.message_id.is_none()) {
        return Err(MissingMessageId { index });
    }
    let fifo = event
        .records
        .first()
        .and_then(|r| r.event_source_arn.as_deref())
        .is_some_and(|arn| arn.ends_with(".fifo"));
    let admitted: Vec<_> = event
        .records
        .iter()
        .map(|record| admit(pipeline, record))
        .collect();
    let screened: Vec<(&str, &OutboundChat)> = event
        .records
        .iter()
        .zip(&admitted)
        .filter_map(|(record, chat)| Some((id_of(record), chat.as_ref().ok()?)))
        .collect();
    pipeline.screen(&screened).await;

    let failed: Vec<String> = if fifo {
        let mut groups: BTreeMap<String, Vec<Admitted<'_>>> = BTreeMap::new();
        for (record, request) in event.records.iter().zip(admitted) {
            let group = record
                .attributes
                .get("MessageGroupId")
                .cloned()
                .unwrap_or_default();
            groups.entry(group).or_default().push((record, request));
        }
        let runs = groups
            .into_values()
            .map(|records| run_group(pipeline, records));
        join_all(runs).await.into_iter().flatten().collect()
    } else {
        // No more records under way than the invocation may have in flight anyway: a batch of
        // 10,000 then holds a few request futures at a time, not 10,000. (The admitted requests
        // are all held at once, for the batch's one do-not-contact look-up: about the event's
        // own size again.) The failures keep the records' order.
        let runs = event.records.iter().zip(admitted).enumerate().map(
            |(index, (record, request))| async move {
                let outcome = pipeline
                    .send(id_of(record), request, route_of(record))
                    .await;
                failed_id(record, &outcome).map(|id| (index, id))
            },
        );
        pipeline.failed_in_order(runs).await
    };

    // A started or suppressed record whose ledger change was not recorded or published comes
    // back: its redelivery finds the entry (or Connect's token) and sends nothing twice.
    let mut failed = failed;
    for id in pipeline.settle().await {
        if !failed.contains(&id) {
            failed.push(id);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    Ok(response)
}

/// Sends one FIFO group in order. After the first failure or deferral, the group's later
/// records are not sent: sending them would break the order the producer asked for. (A
/// deferred record stays in flight until its opening, and SQS holds the group behind it.)
async fn run_group<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    records: Vec<Admitted<'_>>,
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut stopped: Option<NotSent> = None;
    for (record, request) in records {
        let outcome = match stopped {
            None => {
                pipeline
                    .send(id_of(record), request, route_of(record))
                    .await
            }
            Some(reason) => {
                pipeline
                    .skip(id_of(record), request.as_ref().ok(), reason)
                    .await
            }
        };
        stopped = stopped.or(match outcome {
            // A suppressed record is done: the group goes on after it.
            Outcome::Started(..) | Outcome::Suppressed(_) => None,
            Outcome::Deferred { .. } => Some(NotSent::EarlierInGroupDeferred),
            // FIFO records are never re-sent (see `requeue`); stopping keeps the order anyway.
            Outcome::Failed(_) | Outcome::Requeued(_) => Some(NotSent::EarlierInGroupFailed),
        });
        failed.extend(failed_id(record, &outcome));
    }
    failed
}

/// A record with its admitted (or refused) request.
type Admitted<'r> = (&'r SqsMessage, Result<OutboundChat, ValidationError>);

fn id_of(record: &SqsMessage) -> &str {
    record.message_id.as_deref().unwrap_or_default()
}

/// The record's send request, admitted with its token derived from the message id.
fn admit<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    record: &SqsMessage,
) -> Result<OutboundChat, ValidationError> {
    let delivery = DeliveryIdentity::Sqs {
        queue_arn: record.event_source_arn.as_deref().unwrap_or_default(),
        message_id: id_of(record),
    };
    pipeline.admit_json(record.body.as_deref().unwrap_or_default(), Some(delivery))
}

/// Where the record waits if it is outside its send window (hidden in its own queue), and
/// what goes back to that queue if Connect asks to slow down (its body).
fn route_of(record: &SqsMessage) -> Route<'_> {
    Route::SqsRecord {
        queue_arn: record.event_source_arn.as_deref().unwrap_or_default(),
        receipt_handle: record.receipt_handle.as_deref(),
        body: record.body.as_deref(),
        first_received: first_received(record),
    }
}

/// When the request was first received: the `firstReceivedAt` attribute a re-sent copy
/// carries, else the record's own `ApproximateFirstReceiveTimestamp` (both Unix milliseconds).
fn first_received(record: &SqsMessage) -> Option<Timestamp> {
    let carried = record
        .message_attributes
        .get(FIRST_RECEIVED_ATTRIBUTE)
        .and_then(|attribute| attribute.string_value.as_deref());
    let own = || {
        record
            .attributes
            .get("ApproximateFirstReceiveTimestamp")
            .map(String::as_str)
    };
    let millis: i64 = carried.or_else(own)?.trim().parse().ok()?;
    Timestamp::from_millisecond(millis).ok()
}

/// The record's id if it is to come back: failed, or deferred to its window's opening. A
/// requeued record is done: its copy is already back on the queue.
fn failed_id(record: &SqsMessage, outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Started(..) | Outcome::Suppressed(_) | Outcome::Requeued(_) => None,
        Outcome::Deferred { .. } | Outcome::Failed(_) => record.message_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;
    use crate::intake::MAX_REQUEST_BYTES;
    use crate::intake::tests::request_of_size;
    use crate::triggers::tests::Fixture;

    fn batch(bodies: &[(&str, String)]) -> SqsEvent {
        let records: Vec<_> = bodies
            .iter()
            .map(|(id, body)| {
                json!({
                    "messageId": id, "body": body, "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:requests",
                })
            })
            .collect();
        serde_json::from_value(json!({"Records": records})).unwrap()
    }

    #[tokio::test]
    async fn an_oversized_record_fails_alone_and_unread() {
        let fixture = Fixture::new();
        let invocation = fixture.invocation("sqs", Instant::now() + Duration::from_secs(60));
        let pipeline = fixture.pipeline(&invocation);
        let event = batch(&[
            ("big", request_of_size(MAX_REQUEST_BYTES + 1).to_string()),
            ("limit", request_of_size(MAX_REQUEST_BYTES).to_string()),
            ("small", request_of_size(400).to_string()),
        ]);
        let err = admit(&pipeline, &event.records[0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid request: the request body is {} bytes; at most 262144 bytes (256 KiB) are accepted",
                MAX_REQUEST_BYTES + 1
            )
        );
        let response = handle(&pipeline, event).await.unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["big"]);
        assert_eq!(fixture.calls.load(Ordering::SeqCst), 2);
    }
}
