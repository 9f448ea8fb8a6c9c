//! The ledger port over aws-sdk-dynamodb, in the recipient state's table (`pk`/`sk`, TTL on
//! `expiresAt`), one item per request:
//!
//! | `pk` | `sk` | attributes |
//! |---|---|---|
//! | `REQUEST#<client token>` | `REQUEST` | `state`, `stateRank`, `stateMark`, the state's detail (`contactId`, `notBefore`, `reason` or `code`), `channel`, `category`, `trigger`, `updatedAt`, `history` (list of `{state, at}`), `contactStatus`, `contactRank`, `endedAt`, `disconnectReason`, `customerReplied`, `expiresAt` |
//!
//! The global secondary index [`CONTACT_INDEX`] on `contactId` (keys only) finds a request from
//! its contact. Every state write is conditional (`stateRank`, `stateMark`: see
//! [`RequestState::may_follow`]), so a state never goes back whichever process writes last; a
//! batch's writes are one `TransactWriteItems` per 100, and the ones refused by their
//! condition are dropped and the rest written again.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, TransactWriteItem, Update,
};
use futures::future::BoxFuture;

use super::ledger::{
    ContactChange, ContactLife, ContactStatus, Ledger, LedgerEntry, LedgerError, Rank,
    RequestState, StateChange, Step, Written,
};
use super::retry::ConflictIsRetried;
use super::table::{batch_get, describe};
use crate::domain::{Category, Channel, ClientToken};

/// The index on `contactId`, declared with the table (template.yaml).
pub const CONTACT_INDEX: &str = "byContactId";
/// The sort key of every ledger entry.
const SK: &str = "REQUEST";
/// The partition key's prefix: keeps entries apart from the recipients' items.
const PK_PREFIX: &str = "REQUEST#";
/// Most items of one `TransactWriteItems` and keys of one `BatchGetItem`.
const PER_CALL: usize = 100;
/// Rounds of a batch's write: each further round drops at least one refused change.
const WRITE_ROUNDS: usize = 4;
/// The state details: one is set, the others removed, with each state write.
const DETAILS: [&str; 4] = ["contactId", "notBefore", "reason", "code"];

/// The ledger in the function's DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    /// Wraps `client` with the transaction-conflict retry of the recipient state's adapter.
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

    async fn read(
        &self,
        tokens: &[ClientToken],
    ) -> Result<HashMap<String, LedgerEntry>, LedgerError> {
        let mut found = HashMap::new();
        let mut unique: Vec<&str> = tokens.iter().map(ClientToken::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        for chunk in unique.chunks(PER_CALL) {
            let keys = chunk.iter().map(|token| key(token)).collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(built)?;
            let items = batch_get(&self.client, &self.table, request)
                .await
                .map_err(|message| LedgerError { message })?;
            for entry in items.iter().filter_map(entry_of) {
                found.insert(entry.client_token.clone(), entry);
            }
        }
        Ok(found)
    }

    async fn write(&self, changes: &[StateChange]) -> Result<Vec<Written>, LedgerError> {
        let mut written = vec![Written::Applied; changes.len()];
        for (chunk_index, chunk) in changes.chunks(PER_CALL).enumerate() {
            let offset = chunk_index * PER_CALL;
            let mut left: Vec<usize> = (0..chunk.len()).collect();
            for round in 0.. {
                if left.is_empty() {
                    break;
                }
                if round == WRITE_ROUNDS {
                    return Err(LedgerError {
                        message: "the ledger's writes were refused round after round".into(),
                    });
                }
                let items = left
                    .iter()
                    .map(|i| self.state_update(&chunk[*i]))
                    .collect::<Result<Vec<_>, _>>()?;
                let sent = self
                    .client
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    .send()
                    .await;
                let refused = match sent {
                    Ok(_) => break,
                    Err(err) => refused_by_condition(err)?,
                };
                // The refused ones keep their mark; the others are written again.
                let mut still = Vec::new();
                for (position, index) in left.into_iter().enumerate() {
                    if refused.contains(&position) {
                        written[offset + index] = Written::Refused;
                    } else {
                        still.push(index);
                    }
                }
                left = still;
            }
        }
        Ok(written)
    }

    /// One change as a conditional update: the state, its detail (the others removed), the
    /// request's channel, category and first trigger, the time, the history and the TTL.
    fn state_update(&self, change: &StateChange) -> Result<TransactWriteItem, LedgerError> {
        let state = &change.state;
        let rank = state.rank();
        let mut sets = vec![
            "#state = :state",
            "#stateRank = :rank",
            "#stateMark = :mark",
            "#trigger = if_not_exists(#trigger, :trigger)",
            "#updatedAt = :at",
            "#history = list_append(if_not_exists(#history, :empty), :step)",
            "#expiresAt = :expires",
        ];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(change.token.as_str())))
            .expression_attribute_values(":state", s(state.name()))
            .expression_attribute_values(":rank", n(rank as i64))
            .expression_attribute_values(":mark", s(&state.mark()))
            .expression_attribute_values(":trigger", s(change.trigger))
            .expression_attribute_values(":at", s(&change.at.to_string()))
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":step", AttributeValue::L(vec![step(state, change)]))
            .expression_attribute_values(":expires", n(change.expires_at));
        let detail = state.detail();
        if let Some((member, value)) = &detail {
            update = update.expression_attribute_values(":detail", s(value));
            sets.push(match *member {
                "contactId" => "#contactId = :detail",
                "notBefore" => "#notBefore = :detail",
                "reason" => "#reason = :detail",
                _ => "#code = :detail",
            });
        }
        if let Some(channel) = change.channel {
            update = update.expression_attribute_values(":channel", s(channel.as_str()));
            sets.push("#channel = :channel");
        }
        if let Some(category) = change.category {
            update = update.expression_attribute_values(":category", s(category.as_str()));
            sets.push("#category = :category");
        }
        let removed: Vec<String> = DETAILS
            .into_iter()
            .filter(|name| detail.as_ref().is_none_or(|(member, _)| member != name))
            .map(|name| format!("#{name}"))
            .collect();
        let mut expression = format!("SET {}", sets.join(", "));
        if !removed.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let condition = if rank == Rank::InFlight {
            "attribute_not_exists(#stateRank) OR (#stateRank = :rank AND #stateMark <> :mark)"
        } else {
            "attribute_not_exists(#stateRank) OR #stateRank < :rank"
        };
        let update = update
            .set_expression_attribute_names(Some(names_in(&[&expression, condition])))
            .update_expression(expression)
            .condition_expression(condition)
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn find_contact(&self, contact_id: &str) -> Result<Option<String>, LedgerError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(CONTACT_INDEX)
            .key_condition_expression("#contactId = :contact")
            .expression_attribute_names("#contactId", "contactId")
            .expression_attribute_values(":contact", s(contact_id))
            .limit(1)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output
            .items()
            .first()
            .and_then(|item| item.get("pk"))
            .and_then(|pk| pk.as_s().ok())
            .and_then(|pk| pk.strip_prefix(PK_PREFIX))
            .map(str::to_owned))
    }

    async fn advance(
        &self,
        token: &str,
        change: &ContactChange,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        if let Some(status) = change.status {
            let mut sets = vec![
                "#contactStatus = :status",
                "#contactRank = :rank",
                "#updatedAt = :at",
                "#expiresAt = :expires",
            ];
            let mut values = vec![(":status", s(status.as_str())), (":rank", n(status as i64))];
            if let Some(ended_at) = change.ended_at {
                sets.push("#endedAt = :ended");
                values.push((":ended", s(&ended_at.to_string())));
            }
            if let Some(reason) = &change.disconnect_reason {
                sets.push("#disconnectReason = :reason");
                values.push((":reason", s(reason)));
            }
            if change.customer_replied {
                sets.push("#customerReplied = :yes");
                values.push((":yes", AttributeValue::Bool(true)));
            }
            let condition = "attribute_exists(#pk) AND (attribute_not_exists(#contactRank) OR #contactRank < :rank)";
            let moved = self
                .conditional_update(token, change, &sets, values, condition)
                .await?;
            if moved.is_some() || !change.customer_replied {
                return Ok(moved);
            }
        }
        if !change.customer_replied {
            return Ok(None);
        }
        let sets = [
            "#customerReplied = :yes",
            "#updatedAt = :at",
            "#expiresAt = :expires",
        ];
        let values = vec![
            (":yes", AttributeValue::Bool(true)),
            (":no", AttributeValue::Bool(false)),
        ];
        let condition = "attribute_exists(#pk) AND (attribute_not_exists(#customerReplied) OR #customerReplied = :no)";
        self.conditional_update(token, change, &sets, values, condition)
            .await
    }

    /// An update of `token`'s entry under `condition`: the entry after it, or `None` when the
    /// condition refused it.
    async fn conditional_update(
        &self,
        token: &str,
        change: &ContactChange,
        sets: &[&str],
        values: Vec<(&str, AttributeValue)>,
        condition: &str,
    ) -> Result<Option<LedgerEntry>, LedgerError> {
        let expression = format!("SET {}", sets.join(", "));
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(token)))
            .set_expression_attribute_names(Some(names_in(&[&expression, condition])))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":at", s(&change.at.to_string()))
            .expression_attribute_values(":expires", n(change.expires_at))
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        match update.send().await {
            Ok(output) => Ok(output.attributes().and_then(entry_of)),
            Err(SdkError::ServiceError(context))
                if matches!(
                    context.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}

impl Ledger for DynamoLedger {
    fn entries<'a>(
        &'a self,
        tokens: &'a [ClientToken],
    ) -> BoxFuture<'a, Result<HashMap<String, LedgerEntry>, LedgerError>> {
        Box::pin(self.read(tokens))
    }

    fn record<'a>(
        &'a self,
        changes: &'a [StateChange],
    ) -> BoxFuture<'a, Result<Vec<Written>, LedgerError>> {
        Box::pin(self.write(changes))
    }

    fn token_of_contact<'a>(
        &'a self,
        contact_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, LedgerError>> {
        Box::pin(self.find_contact(contact_id))
    }

    fn advance_contact<'a>(
        &'a self,
        token: &'a str,
        change: &'a ContactChange,
    ) -> BoxFuture<'a, Result<Option<LedgerEntry>, LedgerError>> {
        Box::pin(self.advance(token, change))
    }
}

/// The key of `token`'s entry.
pub fn key(token: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(&format!("{PK_PREFIX}{token}"))),
        ("sk".to_owned(), s(SK)),
    ])
}

fn step(state: &RequestState, change: &StateChange) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("state".to_owned(), s(state.name())),
        ("at".to_owned(), s(&change.at.to_string())),
    ]))
}

/// An item read back as an entry; `None` for an item that is not one (or is damaged).
pub fn entry_of(item: &HashMap<String, AttributeValue>) -> Option<LedgerEntry> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    };
    let client_token = text("pk")?.strip_prefix(PK_PREFIX)?.to_owned();
    let name = text("state")?;
    let detail = DETAILS.into_iter().find_map(text);
    let state = RequestState::from_parts(name, detail)?;
    let history = item
        .get("history")
        .and_then(|v| v.as_l().ok())
        .map(|steps| {
            steps
                .iter()
                .filter_map(|step| {
                    let step = step.as_m().ok()?;
                    Some(Step {
                        state: step.get("state")?.as_s().ok()?.clone(),
                        at: step.get("at")?.as_s().ok()?.parse().ok()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let replied = item
        .get("customerReplied")
        .and_then(|v| v.as_bool().ok())
        .copied();
    let status = text("contactStatus").and_then(ContactStatus::parse);
    let contact = (status.is_some() || replied.is_some()).then(|| ContactLife {
        status,
        ended_at: text("endedAt").and_then(|t| t.parse().ok()),
        disconnect_reason: text("disconnectReason").map(str::to_owned),
        customer_replied: replied.unwrap_or(false),
    });
    Some(LedgerEntry {
        client_token,
        state,
        channel: text("channel").and_then(|c| Channel::parse(c).ok()),
        category: text("category").and_then(|c| Category::parse(c).ok()),
        trigger: text("trigger").unwrap_or_default().to_owned(),
        updated_at: text("updatedAt")?.parse().ok()?,
        contact,
        history,
    })
}

/// Every `#name` of `expressions`, each standing for the attribute of that name: aliasing
/// every attribute keeps clear of DynamoDB's reserved words (`state`, `trigger`, ...).
fn names_in(expressions: &[&str]) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for expression in expressions {
        for part in expression.split('#').skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            names.insert(format!("#{name}"), name);
        }
    }
    names
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The positions a cancelled transaction refused by their condition; any other cancellation
/// (or failure) is an error.
fn refused_by_condition(
    err: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Result<Vec<usize>, LedgerError> {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    {
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        let refused: Vec<usize> = codes
            .iter()
            .enumerate()
            .filter(|(_, code)| **code == "ConditionalCheckFailed")
            .map(|(position, _)| position)
            .collect();
        let other = codes
            .iter()
            .any(|code| !matches!(*code, "None" | "ConditionalCheckFailed"));
        if !refused.is_empty() && !other {
            return Ok(refused);
        }
        return Err(LedgerError {
            message: format!("the transaction was cancelled ({})", codes.join(", ")),
        });
    }
    Err(unavailable(err))
}

/// Any SDK failure, described by its error code or kind only.
fn unavailable<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> LedgerError {
    LedgerError {
        message: describe(&err),
    }
}

fn built(err: BuildError) -> LedgerError {
    LedgerError {
        message: format!("the DynamoDB request could not be built: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_back_as_the_entry_it_was_written_from() {
        let item = HashMap::from([
            ("pk".to_owned(), s("REQUEST#reminder-1")),
            ("sk".to_owned(), s(SK)),
            ("state".to_owned(), s("SENT")),
            ("contactId".to_owned(), s("c-1")),
            ("channel".to_owned(), s("WHATSAPP")),
            ("trigger".to_owned(), s("sqs")),
            ("updatedAt".to_owned(), s("2026-11-23T08:00:00Z")),
            ("contactStatus".to_owned(), s("CONNECTED")),
            (
                "history".to_owned(),
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([
                    ("state".to_owned(), s("SENT")),
                    ("at".to_owned(), s("2026-11-23T08:00:00Z")),
                ]))]),
            ),
        ]);
        let entry = entry_of(&item).expect("an entry");
        assert_eq!(entry.client_token, "reminder-1");
        assert_eq!(entry.contact_id(), Some("c-1"));
        assert_eq!(entry.channel, Some(Channel::WhatsApp));
        assert_eq!(entry.history.len(), 1);
        let contact = entry.contact.expect("a contact");
        assert_eq!(contact.status, Some(ContactStatus::Connected));
        assert!(!contact.customer_replied);
        let recipient_item =
            HashMap::from([("pk".to_owned(), s("abc")), ("sk".to_owned(), s("DNC"))]);
        assert_eq!(entry_of(&recipient_item), None);
    }
}
