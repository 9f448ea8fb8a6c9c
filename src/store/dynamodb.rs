//! The recipient-state port over aws-sdk-dynamodb: one table, keyed by `pk` (the recipient's
//! keyed hash) and `sk` (what the item is), with `expiresAt` as its TTL attribute.
//!
//! | item | `sk` | attributes |
//! |---|---|---|
//! | do-not-contact entries | `DNC` | `channels` (string set of `ALL`, `SMS`, `WHATSAPP`), `updatedAt` |
//! | a cap counter | `CAP#<SMS\|WHATSAPP\|ALL>#<window>h#<bucket>` | `holders` (string set of reservation marks), `expiresAt` (the bucket's end) |
//!
//! A reservation is one `TransactWriteItems`: a condition check that the recipient is not
//! listed for the channel, and per counter an `ADD` of the request's mark under the condition
//! that the mark is already there or the set has room. Adding to a set is idempotent, so a
//! redelivery (same mark) never counts twice; two racing requests are serialized by DynamoDB.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, KeysAndAttributes,
    TransactWriteItem, Update,
};
use futures::future::BoxFuture;

use super::{ListChange, RecipientState, Reservation, Reserved, StateError};
use crate::domain::Channel;
use crate::policy::{CapCounter, ListScope, Listing, RecipientId};

/// Most keys one `BatchGetItem` takes.
const BATCH_GET_KEYS: usize = 100;
/// Further tries of the keys DynamoDB leaves unprocessed, with their waits.
const UNPROCESSED_WAITS: [Duration; 3] = [
    Duration::from_millis(25),
    Duration::from_millis(100),
    Duration::from_millis(250),
];
const LIST_SK: &str = "DNC";

/// The recipient state in one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoRecipientState {
    client: Client,
    table: String,
}

impl DynamoRecipientState {
    /// Wraps `client`, adding [`ConflictIsRetried`] to its retry classifiers (here, so that
    /// every client the adapter is given keeps the same retry policy).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_classifier(ConflictIsRetried)
            .build();
        Self {
            client: Client::from_conf(config),
            table: table.into(),
        }
    }

    fn key(recipient: &RecipientId, sk: String) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "pk".to_owned(),
                AttributeValue::S(recipient.as_str().to_owned()),
            ),
            ("sk".to_owned(), AttributeValue::S(sk)),
        ])
    }

    async fn read_listings(
        &self,
        recipients: &[RecipientId],
    ) -> Result<HashMap<RecipientId, Listing>, StateError> {
        let mut found = HashMap::new();
        for chunk in recipients.chunks(BATCH_GET_KEYS) {
            let keys = chunk
                .iter()
                .map(|r| Self::key(r, LIST_SK.to_owned()))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression("pk, channels")
                    .consistent_read(true)
                    .build()
                    .map_err(built)?,
            );
            let mut waits = UNPROCESSED_WAITS.iter();
            while let Some(request) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                let items = output.responses().and_then(|r| r.get(&self.table));
                for item in items.into_iter().flatten() {
                    let recipient = item
                        .get("pk")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|pk| RecipientId::from_stored(pk));
                    let channels = item.get("channels").and_then(|v| v.as_ss().ok());
                    if let (Some(recipient), Some(channels)) = (recipient, channels) {
                        let listing = Listing::from_names(channels.iter().map(String::as_str));
                        found.insert(recipient, listing);
                    }
                }
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                if pending.is_some() {
                    let Some(wait) = waits.next() else {
                        return Err(StateError {
                            message: "BatchGetItem left keys unprocessed after retries".into(),
                        });
                    };
                    tokio::time::sleep(*wait).await;
                }
            }
        }
        Ok(found)
    }

    /// The condition check that the recipient is not listed for the channel.
    fn not_listed(
        &self,
        recipient: &RecipientId,
        channel: Channel,
    ) -> Result<TransactWriteItem, StateError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(recipient, LIST_SK.to_owned())))
            .condition_expression(
                "attribute_not_exists(channels) OR NOT (contains(channels, :all) OR contains(channels, :channel))",
            )
            .expression_attribute_values(":all", s(ListScope::All.as_str()))
            .expression_attribute_values(":channel", s(channel.as_str()))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// One counter's update: `take` adds the mark under the room condition, else removes it.
    fn counter_update(
        &self,
        reservation: &Reservation,
        counter: &CapCounter,
        take: bool,
    ) -> Result<TransactWriteItem, StateError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(&reservation.recipient, counter_sk(counter))))
            .expression_attribute_values(
                ":mark",
                AttributeValue::Ss(vec![reservation.holder.clone()]),
            )
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(counter.ends_at.to_string()),
            );
        update = if take {
            update
                .update_expression("ADD holders :mark SET expiresAt = :expires")
                .condition_expression(
                    "attribute_not_exists(holders) OR contains(holders, :holder) OR size(holders) < :limit",
                )
                .expression_attribute_values(":holder", s(&reservation.holder))
                .expression_attribute_values(":limit", AttributeValue::N(counter.limit.to_string()))
        } else {
            update.update_expression("DELETE holders :mark SET expiresAt = :expires")
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(built)?)
            .build())
    }

    async fn take(&self, reservation: &Reservation) -> Result<Reserved, StateError> {
        let mut items = vec![self.not_listed(&reservation.recipient, reservation.channel)?];
        for counter in &reservation.counters {
            items.push(self.counter_update(reservation, counter, true)?);
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Reserved::Held),
            Err(err) => cancelled_by_condition(err),
        }
    }

    async fn give_back(&self, reservation: &Reservation) -> Result<(), StateError> {
        if reservation.counters.is_empty() {
            return Ok(());
        }
        let items = reservation
            .counters
            .iter()
            .map(|counter| self.counter_update(reservation, counter, false))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn apply(&self, change: &ListChange) -> Result<(), StateError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let items = match change {
            ListChange::Add(entries) => group(entries.iter().map(|(r, scope)| (r, Some(*scope))))
                .into_iter()
                .map(|(recipient, scopes)| {
                    let update = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(recipient, LIST_SK.to_owned())))
                        .update_expression("ADD channels :scopes SET updatedAt = :now")
                        .expression_attribute_values(":scopes", scope_set(&scopes))
                        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                        .build()
                        .map_err(built)?;
                    Ok(TransactWriteItem::builder().update(update).build())
                })
                .collect::<Result<Vec<_>, StateError>>()?,
            ListChange::Remove(entries) => group(entries.iter().map(|(r, scope)| (r, *scope)))
                .into_iter()
                .map(|(recipient, scopes)| self.removal(recipient, &scopes, now))
                .collect::<Result<Vec<_>, StateError>>()?,
        };
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Removes some entries of a recipient, or the whole item when a removal names no scope.
    fn removal(
        &self,
        recipient: &RecipientId,
        scopes: &[Option<ListScope>],
        now: u64,
    ) -> Result<TransactWriteItem, StateError> {
        let key = Some(Self::key(recipient, LIST_SK.to_owned()));
        if scopes.iter().any(Option::is_none) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(key)
                .build()
                .map_err(built)?;
            return Ok(TransactWriteItem::builder().delete(delete).build());
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(key)
            .update_expression("DELETE channels :scopes SET updatedAt = :now")
            .expression_attribute_values(":scopes", scope_set(scopes))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl RecipientState for DynamoRecipientState {
    fn listings<'a>(
        &'a self,
        recipients: &'a [RecipientId],
    ) -> BoxFuture<'a, Result<HashMap<RecipientId, Listing>, StateError>> {
        Box::pin(self.read_listings(recipients))
    }

    fn reserve<'a>(
        &'a self,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<Reserved, StateError>> {
        Box::pin(self.take(reservation))
    }

    fn release<'a>(
        &'a self,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.give_back(reservation))
    }

    fn change_list<'a>(&'a self, change: &'a ListChange) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.apply(change))
    }
}

/// Lets the SDK retry a transaction that DynamoDB cancelled only because it met another one on
/// the same item (`TransactionConflict`, e.g. two records of one batch for one recipient).
///
/// The SDK retries no `TransactionCanceledException` by itself. Every transaction this adapter
/// writes is idempotent (adding a mark to a set, removing it, deleting an item), so running it
/// again is safe; a cancellation for a failed condition is an answer, never retried.
#[derive(Debug)]
pub struct ConflictIsRetried;

impl ClassifyRetry for ConflictIsRetried {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let conflict = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|err| err.as_operation_error())
            .and_then(|err| err.downcast_ref::<TransactWriteItemsError>())
            .is_some_and(|err| match err {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    only_conflicts(cancelled.cancellation_reasons())
                }
                _ => false,
            });
        if conflict {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "transaction conflicts are retried"
    }
}

/// At least one reason is a conflict, and none is a failed condition or anything else.
fn only_conflicts(reasons: &[CancellationReason]) -> bool {
    let codes = || reasons.iter().map(|r| r.code().unwrap_or("None"));
    codes().any(|code| code == "TransactionConflict")
        && codes().all(|code| matches!(code, "None" | "TransactionConflict"))
}

/// The sort key of a counter: its scope, window and bucket.
pub fn counter_sk(counter: &CapCounter) -> String {
    let scope = counter.channel.map_or("ALL", Channel::as_str);
    format!("CAP#{scope}#{}h#{}", counter.window_hours, counter.bucket)
}

/// Entries grouped by recipient: one item per recipient in a transaction.
fn group<'a>(
    entries: impl Iterator<Item = (&'a RecipientId, Option<ListScope>)>,
) -> BTreeMap<&'a RecipientId, Vec<Option<ListScope>>> {
    let mut grouped: BTreeMap<&RecipientId, Vec<Option<ListScope>>> = BTreeMap::new();
    for (recipient, scope) in entries {
        grouped.entry(recipient).or_default().push(scope);
    }
    grouped
}

fn scope_set(scopes: &[Option<ListScope>]) -> AttributeValue {
    let mut names: Vec<String> = scopes
        .iter()
        .flatten()
        .map(|scope| scope.as_str().to_owned())
        .collect();
    names.sort_unstable();
    names.dedup();
    AttributeValue::Ss(names)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A reservation refused by a condition (the list at index 0, a counter after it), or any
/// other failure as unavailable.
fn cancelled_by_condition(
    err: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Result<Reserved, StateError> {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    {
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        if codes.first() == Some(&"ConditionalCheckFailed") {
            return Ok(Reserved::Listed);
        }
        if codes.contains(&"ConditionalCheckFailed") {
            return Ok(Reserved::OverCap);
        }
        return Err(StateError {
            message: format!("the transaction was cancelled ({})", codes.join(", ")),
        });
    }
    Err(unavailable(err))
}

/// Any SDK failure, described by its error code or kind only: never by an item's content.
fn unavailable<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> StateError {
    let message = match &err {
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
    };
    StateError { message }
}

/// A request the SDK could not build: a bug of ours, reported as unavailable so nothing is
/// sent unchecked.
fn built(err: BuildError) -> StateError {
    StateError {
        message: format!("the DynamoDB request could not be built: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cancellation_by_conflicts_alone_is_retried() {
        let reasons = |codes: &[&str]| -> Vec<CancellationReason> {
            codes
                .iter()
                .map(|code| CancellationReason::builder().code(*code).build())
                .collect()
        };
        for (codes, retried) in [
            (&["None", "TransactionConflict"][..], true),
            (&["TransactionConflict"][..], true),
            (
                &["ConditionalCheckFailed", "TransactionConflict"][..],
                false,
            ),
            (&["None", "ConditionalCheckFailed"][..], false),
            (&["ThrottlingError"][..], false),
            (&["None"][..], false),
        ] {
            assert_eq!(only_conflicts(&reasons(codes)), retried, "{codes:?}");
        }
    }

    #[test]
    fn a_counter_key_names_its_scope_window_and_bucket() {
        let counter = |channel| CapCounter {
            channel,
            window_hours: 24,
            bucket: 20_000,
            limit: 1,
            ends_at: 0,
        };
        assert_eq!(
            counter_sk(&counter(Some(Channel::Sms))),
            "CAP#SMS#24h#20000"
        );
        assert_eq!(counter_sk(&counter(None)), "CAP#ALL#24h#20000");
    }
}
