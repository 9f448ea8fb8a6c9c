//! The recipient-state port over aws-sdk-dynamodb: one table, keyed by `pk` (the recipient's
//! keyed hash) and `sk` (what the item is), with `expiresAt` as its TTL attribute.
//!
//! | item | `sk` | attributes |
//! |---|---|---|
//! | do-not-contact entries | `DNC` | `channels` (string set of `ALL`, `SMS`, `WHATSAPP`), `updatedAt` |
//! | a frequency-cap count | `CAPS#<SMS\|WHATSAPP\|ALL>` | `sends` (map: reservation mark → Unix seconds), `version` (number), `expiresAt` (newest send + longest window) |
//!
//! A batch reads its listings and counts in one `BatchGetItem` (consistent reads) and writes
//! every count it changed in one `TransactWriteItems`: a `Put` of each count conditioned on the
//! version read (optimistic concurrency), and a condition check of each recipient's listing.
//! A cancelled write names, item by item, what changed (`ReturnValuesOnConditionCheckFailure`
//! gives the item as it is now), so the caller decides again without reading again.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use futures::future::BoxFuture;

use super::ledger_dynamodb::{entry_of, key as ledger_key};
pub use super::retry::ConflictIsRetried;
#[cfg(test)]
use super::retry::only_conflicts;
use super::table::{BATCH_GET_KEYS, batch_get, describe};
use super::{
    CapItem, CapKey, ItemVerdict, ListChange, RecipientState, StateError, StateRead, WriteItem,
    Written,
};
use crate::domain::{Channel, ClientToken};
use crate::policy::{CountedIn, ListScope, Listing, RecipientId, Sends};

const LIST_SK: &str = "DNC";
const CAPS_SK_PREFIX: &str = "CAPS#";

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

    async fn read_state(
        &self,
        recipients: &[RecipientId],
        caps: &[CapKey],
        entries: &[ClientToken],
    ) -> Result<StateRead, StateError> {
        let keys: Vec<_> = recipients
            .iter()
            .map(|r| Self::key(r, LIST_SK.to_owned()))
            .chain(
                caps.iter()
                    .map(|k| Self::key(&k.recipient, caps_sk(k.counted_in))),
            )
            .chain(entries.iter().map(|token| ledger_key(token.as_str())))
            .collect();
        let mut found = StateRead::default();
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true);
            // A ledger entry is read whole; the state's own items need only these.
            let request = match entries.is_empty() {
                true => request
                    .projection_expression("pk, sk, channels, #sends, #version")
                    .expression_attribute_names("#sends", "sends")
                    .expression_attribute_names("#version", "version"),
                false => request,
            };
            for item in self.batch_get(request.build().map_err(built)?).await? {
                match entry_of(&item) {
                    Some(entry) => {
                        found.entries.insert(entry.client_token.clone(), entry);
                    }
                    None => read_item(&item, &mut found),
                }
            }
        }
        Ok(found)
    }

    /// One `BatchGetItem`, with the keys DynamoDB leaves unprocessed tried again.
    async fn batch_get(
        &self,
        request: KeysAndAttributes,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StateError> {
        batch_get(&self.client, &self.table, request)
            .await
            .map_err(|message| StateError { message })
    }

    fn write_item(&self, item: &WriteItem) -> Result<TransactWriteItem, StateError> {
        let old = ReturnValuesOnConditionCheckFailure::AllOld;
        Ok(match item {
            WriteItem::Caps {
                key,
                read_version,
                sends,
                expires_at,
            } => {
                let mut stored = Self::key(&key.recipient, caps_sk(key.counted_in));
                stored.insert("sends".into(), sends_map(sends));
                let next = read_version.map_or(1, |v| v + 1);
                stored.insert("version".into(), AttributeValue::N(next.to_string()));
                stored.insert(
                    "expiresAt".into(),
                    AttributeValue::N(expires_at.to_string()),
                );
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(stored))
                    .return_values_on_condition_check_failure(old);
                let put = match read_version {
                    Some(version) => put
                        .condition_expression("#version = :read")
                        .expression_attribute_names("#version", "version")
                        .expression_attribute_values(
                            ":read",
                            AttributeValue::N(version.to_string()),
                        ),
                    None => put.condition_expression("attribute_not_exists(pk)"),
                };
                TransactWriteItem::builder()
                    .put(put.build().map_err(built)?)
                    .build()
            }
            WriteItem::NotListed {
                recipient,
                channels,
            } => {
                let mut check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(recipient, LIST_SK.to_owned())))
                    .expression_attribute_values(":all", s(ListScope::All.as_str()))
                    .return_values_on_condition_check_failure(old);
                let mut listed = vec!["contains(channels, :all)".to_owned()];
                for (n, channel) in channels.iter().enumerate() {
                    listed.push(format!("contains(channels, :c{n})"));
                    check =
                        check.expression_attribute_values(format!(":c{n}"), s(channel.as_str()));
                }
                let condition = format!(
                    "attribute_not_exists(channels) OR NOT ({})",
                    listed.join(" OR ")
                );
                let check = check
                    .condition_expression(condition)
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        })
    }

    async fn write_items(&self, items: &[WriteItem]) -> Result<Written, StateError> {
        if items.is_empty() {
            return Ok(Written::Applied);
        }
        let transact = items
            .iter()
            .map(|item| self.write_item(item))
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(transact))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Written::Applied),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    verdicts(items, cancelled.cancellation_reasons()).map(Written::Cancelled)
                }
                _ => Err(unavailable(err)),
            },
        }
    }

    async fn remove_place(&self, key: &CapKey, holder: &str) -> Result<(), StateError> {
        let removed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&key.recipient, caps_sk(key.counted_in))))
            .update_expression("REMOVE #sends.#holder SET #version = #version + :one")
            .condition_expression("attribute_exists(#sends.#holder)")
            .expression_attribute_names("#sends", "sends")
            .expression_attribute_names("#holder", holder)
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        match removed {
            Ok(_) => Ok(()),
            // Not there (never taken, given back already, or gone with its item): nothing to do.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(unavailable(err)),
        }
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
    fn read<'a>(
        &'a self,
        recipients: &'a [RecipientId],
        caps: &'a [CapKey],
        entries: &'a [ClientToken],
    ) -> BoxFuture<'a, Result<StateRead, StateError>> {
        Box::pin(self.read_state(recipients, caps, entries))
    }

    fn write<'a>(&'a self, items: &'a [WriteItem]) -> BoxFuture<'a, Result<Written, StateError>> {
        Box::pin(self.write_items(items))
    }

    fn give_back<'a>(
        &'a self,
        key: &'a CapKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.remove_place(key, holder))
    }

    fn change_list<'a>(&'a self, change: &'a ListChange) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.apply(change))
    }
}

/// The sort key of a count.
pub fn caps_sk(counted_in: CountedIn) -> String {
    format!("{CAPS_SK_PREFIX}{}", counted_in.as_str())
}

/// Adds a read item to what was found: a listing or a count, by its sort key. An item of
/// another shape is skipped (it is not this function's).
fn read_item(item: &HashMap<String, AttributeValue>, found: &mut StateRead) {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let Some(recipient) = text("pk").and_then(|pk| RecipientId::from_stored(pk)) else {
        return;
    };
    match text("sk").map(String::as_str) {
        Some(LIST_SK) => {
            found.listings.insert(recipient, listing_of(item));
        }
        Some(sk) => {
            let counted_in = match sk.strip_prefix(CAPS_SK_PREFIX) {
                Some("ALL") => CountedIn::AllChannels,
                Some(channel) => match Channel::parse(channel) {
                    Ok(channel) => CountedIn::Channel(channel),
                    Err(_) => return,
                },
                None => return,
            };
            let key = CapKey {
                recipient,
                counted_in,
            };
            found.caps.insert(key, cap_item_of(item));
        }
        None => {}
    }
}

fn listing_of(item: &HashMap<String, AttributeValue>) -> Listing {
    let channels = item.get("channels").and_then(|v| v.as_ss().ok());
    Listing::from_names(channels.into_iter().flatten().map(String::as_str))
}

fn cap_item_of(item: &HashMap<String, AttributeValue>) -> CapItem {
    let number = |v: &AttributeValue| v.as_n().ok().and_then(|n| n.parse::<i64>().ok());
    let sends = item
        .get("sends")
        .and_then(|v| v.as_m().ok())
        .into_iter()
        .flatten()
        .filter_map(|(holder, at)| number(at).map(|at| (holder.clone(), at)))
        .collect();
    let version = item
        .get("version")
        .and_then(number)
        .and_then(|v| u64::try_from(v).ok());
    CapItem { sends, version }
}

fn sends_map(sends: &Sends) -> AttributeValue {
    AttributeValue::M(
        sends
            .iter()
            .map(|(holder, at)| (holder.clone(), AttributeValue::N(at.to_string())))
            .collect(),
    )
}

/// What each item of a cancelled write says; a reason other than a failed condition or a
/// conflict (throttling, a validation error) makes the whole write unavailable.
fn verdicts(
    items: &[WriteItem],
    reasons: &[CancellationReason],
) -> Result<Vec<ItemVerdict>, StateError> {
    let codes = || reasons.iter().map(|r| r.code().unwrap_or("None"));
    if reasons.len() != items.len() {
        return Err(StateError {
            message: format!(
                "a write was cancelled with {} reasons for {} items",
                reasons.len(),
                items.len()
            ),
        });
    }
    items
        .iter()
        .zip(reasons)
        .map(
            |(item, reason)| match (reason.code().unwrap_or("None"), item) {
                ("None", _) => Ok(ItemVerdict::Fine),
                ("TransactionConflict", _) => Ok(ItemVerdict::Conflict),
                ("ConditionalCheckFailed", WriteItem::Caps { .. }) => Ok(ItemVerdict::Changed(
                    reason.item().map(cap_item_of).unwrap_or_default(),
                )),
                ("ConditionalCheckFailed", WriteItem::NotListed { .. }) => Ok(ItemVerdict::Listed(
                    reason.item().map(listing_of).unwrap_or_default(),
                )),
                _ => Err(StateError {
                    message: format!(
                        "the transaction was cancelled ({})",
                        codes().collect::<Vec<_>>().join(", ")
                    ),
                }),
            },
        )
        .collect()
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

/// Any SDK failure, described by its error code or kind only: never by an item's content.
fn unavailable<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> StateError {
    StateError {
        message: describe(&err),
    }
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
    fn a_count_is_stored_as_a_map_of_marks_to_seconds_and_read_back_by_its_key() {
        let recipient = RecipientId::from_stored(&"ab".repeat(32)).unwrap();
        let sends = Sends::from([("m1".to_owned(), 1_700_000_000), ("m2".to_owned(), 5)]);
        let item = HashMap::from([
            ("pk".to_owned(), s(recipient.as_str())),
            (
                "sk".to_owned(),
                s(&caps_sk(CountedIn::Channel(Channel::WhatsApp))),
            ),
            ("sends".to_owned(), sends_map(&sends)),
            ("version".to_owned(), AttributeValue::N("7".into())),
        ]);
        assert_eq!(caps_sk(CountedIn::AllChannels), "CAPS#ALL");
        let mut found = StateRead::default();
        read_item(&item, &mut found);
        let key = CapKey {
            recipient,
            counted_in: CountedIn::Channel(Channel::WhatsApp),
        };
        assert_eq!(
            found.caps[&key],
            CapItem {
                sends,
                version: Some(7)
            }
        );
    }
}
