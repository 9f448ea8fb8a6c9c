//! The ledger's part in sending: a batch's entries looked up at once (a request already `SENT`
//! is answered with its contact id and Connect is not called), each outcome noted as a state
//! change, and at the end of the batch one write for every change and the outcome events of
//! those that moved. Contact events move an entry's contact forward here too. Every call is
//! bounded by the invocation's cutoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use crate::bus::OutcomeBus;
use crate::connect::ContactId;
use crate::domain::{Category, Channel, ClientToken, OutboundChat};
use crate::invocation::Invocation;
use crate::outcome::{Failure, Outcome};
use crate::store::ledger::{
    ContactChange, Ledger, LedgerEntry, LedgerError, RequestState, StateChange, Written,
};

/// The ledger and where its changes are published: long-lived, in the sender.
pub struct Recorder {
    ledger: Arc<dyn Ledger>,
    bus: Option<Arc<dyn OutcomeBus>>,
    retention: Duration,
    default_category: Category,
}

/// One invocation's view of the ledger: the entries looked up (a token looked up and not found
/// maps to `None`) and the changes waiting for the end of the batch.
#[derive(Debug, Default)]
pub struct Book {
    known: Mutex<HashMap<String, Option<LedgerEntry>>>,
    pending: Mutex<Vec<Pending>>,
}

/// A change (or a document to publish again) and the request it belongs to.
#[derive(Debug)]
struct Pending {
    /// The request's name in logs: its SQS message id, its HTTP request id, ...
    label: String,
    /// Whether the request's trigger would not deliver it again by itself (a started or
    /// suppressed SQS record): then a change not recorded or not published has it reported.
    redeliver: bool,
    what: Pend,
}

#[derive(Debug)]
enum Pend {
    Change(StateChange),
    /// A `SENT` request delivered again: its document is published again (at least once).
    Republish(LedgerEntry),
}

/// What became of a contact event.
#[derive(Debug)]
pub enum Followed {
    /// No request of the ledger started this contact.
    Unknown,
    /// Nothing moved: a late, repeated or out-of-order event.
    Unchanged(LedgerEntry),
    /// The contact moved forward, and the change was published if a bus is configured.
    Moved(LedgerEntry),
    /// The ledger or the bus could not be reached: the event is worth delivering again.
    Failed(String),
}

impl Recorder {
    pub fn new(ledger: Arc<dyn Ledger>, retention_days: u16, default_category: Category) -> Self {
        Self {
            ledger,
            bus: None,
            retention: Duration::from_secs(u64::from(retention_days) * 86_400),
            default_category,
        }
    }

    /// Publishes every change to `bus`.
    pub fn with_bus(mut self, bus: Arc<dyn OutcomeBus>) -> Self {
        self.bus = Some(bus);
        self
    }

    pub fn ledger(&self) -> &dyn Ledger {
        self.ledger.as_ref()
    }

    /// Looks up the entries of every chat's token in one go (the batch's look-up), into
    /// `book`. A failure is logged and leaves each request to look itself up.
    ///
    /// This is a batch get of its own; the keys are [`crate::store::ledger_dynamodb::key`]s,
    /// ready to join the recipient state's `BatchGetItem` of the same batch.
    pub async fn look_up<'c>(
        &self,
        chats: impl IntoIterator<Item = &'c OutboundChat>,
        book: &Book,
        cutoff: Instant,
    ) {
        let mut tokens: Vec<ClientToken> = chats
            .into_iter()
            .filter_map(|chat| chat.client_token().cloned())
            .collect();
        tokens.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        tokens.dedup();
        if tokens.is_empty() {
            return;
        }
        match bounded(cutoff, self.ledger.entries(&tokens)).await {
            Ok(mut found) => {
                let mut known = book.known.lock().expect("ledger lock");
                for token in tokens {
                    let entry = found.remove(token.as_str());
                    known.insert(token.as_str().to_owned(), entry);
                }
            }
            Err(err) => tracing::warn!(
                error = %err,
                "the ledger look-up of the batch failed: each request looks itself up"
            ),
        }
    }

    /// The tokens of `chats` whose entries `book` does not hold yet, each once: what the
    /// batch's read of the state table fetches with its listings and counts.
    pub fn tokens_to_look_up<'c>(
        &self,
        chats: impl IntoIterator<Item = &'c OutboundChat>,
        book: &Book,
    ) -> Vec<ClientToken> {
        let known = book.known.lock().expect("ledger lock");
        let mut tokens: Vec<ClientToken> = chats
            .into_iter()
            .filter_map(|chat| chat.client_token().cloned())
            .filter(|token| !known.contains_key(token.as_str()))
            .collect();
        tokens.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        tokens.dedup();
        tokens
    }

    /// Notes what the batch's read found for `tokens` (`None`: the read failed, and each
    /// request looks itself up).
    pub fn fill(
        &self,
        book: &Book,
        tokens: &[ClientToken],
        found: Option<HashMap<String, LedgerEntry>>,
    ) {
        let Some(mut found) = found else {
            if !tokens.is_empty() {
                tracing::warn!(
                    "the ledger look-up of the batch failed: each request looks itself up"
                );
            }
            return;
        };
        let mut known = book.known.lock().expect("ledger lock");
        for token in tokens {
            let entry = found.remove(token.as_str());
            known.insert(token.as_str().to_owned(), entry);
        }
    }

    /// The contact already started for `chat`'s token, if its entry says `SENT` (looked up
    /// alone when the batch's look-up did not cover it). A failed look-up is logged and
    /// answers `None`: Connect's own token memory still holds the request for 7 days.
    pub async fn recorded_contact(
        &self,
        chat: &OutboundChat,
        book: &Book,
        cutoff: Instant,
    ) -> Option<(ContactId, LedgerEntry)> {
        let token = chat.client_token()?;
        let known = book
            .known
            .lock()
            .expect("ledger lock")
            .get(token.as_str())
            .cloned();
        let entry = match known {
            Some(entry) => entry,
            None => {
                let tokens = std::slice::from_ref(token);
                match bounded(cutoff, self.ledger.entries(tokens)).await {
                    Ok(mut found) => {
                        let entry = found.remove(token.as_str());
                        book.known
                            .lock()
                            .expect("ledger lock")
                            .insert(token.as_str().to_owned(), entry.clone());
                        entry
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "the ledger look-up failed: the request goes on to Connect with its token");
                        None
                    }
                }
            }
        }?;
        let contact = ContactId::new(entry.contact_id()?);
        Some((contact, entry))
    }

    /// Notes a request answered from its `SENT` entry: its document is published again.
    pub fn note_answered(&self, book: &Book, label: &str, redeliver: bool, entry: LedgerEntry) {
        book.pending.lock().expect("ledger lock").push(Pending {
            label: label.to_owned(),
            redeliver,
            what: Pend::Republish(entry),
        });
    }

    /// Notes the state `outcome` gives the request of `token`, to be written at the end of the
    /// batch. A request without a token has no entry.
    #[allow(clippy::too_many_arguments)]
    pub fn note(
        &self,
        book: &Book,
        label: &str,
        token: Option<&ClientToken>,
        channel: Option<Channel>,
        category: Option<Category>,
        outcome: &Outcome,
        trigger: &'static str,
        now: Timestamp,
    ) {
        let Some(token) = token else {
            return;
        };
        let change = StateChange {
            token: token.clone(),
            state: state_of(outcome),
            channel,
            category: Some(category.unwrap_or(self.default_category)),
            trigger,
            at: now,
            expires_at: self.expiry(now),
        };
        let redeliver = matches!(outcome, Outcome::Started(..) | Outcome::Suppressed(_));
        book.pending.lock().expect("ledger lock").push(Pending {
            label: label.to_owned(),
            redeliver,
            what: Pend::Change(change),
        });
    }

    /// Writes the batch's changes (one write call per 100; refusals dropped), publishes the
    /// documents of those that moved and of the requests answered from the ledger, and counts
    /// both. Gives the labels of the requests whose change was not recorded or not published
    /// and that their trigger would not deliver again by itself.
    pub async fn settle(
        &self,
        book: &Book,
        invocation: &Invocation,
        cutoff: Instant,
    ) -> Vec<String> {
        let pending = std::mem::take(&mut *book.pending.lock().expect("ledger lock"));
        if pending.is_empty() {
            return Vec::new();
        }
        let known = book.known.lock().expect("ledger lock").clone();
        let (changes, mut published) = collapse(pending, &known);
        let mut unsettled = Vec::new();
        let to_write: Vec<StateChange> = changes.iter().map(|(c, _)| c.clone()).collect();
        if !to_write.is_empty() {
            match bounded(cutoff, self.ledger.record(&to_write)).await {
                Ok(written) => {
                    for ((change, labels), written) in changes.into_iter().zip(written) {
                        if written == Written::Applied {
                            let before = known.get(change.token.as_str()).and_then(Option::as_ref);
                            published.push((change.applied_to(before), labels));
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, changes = to_write.len(), "the ledger's changes of this batch were not recorded");
                    invocation.count_ledger(|t| t.unrecorded += to_write.len() as u32);
                    unsettled.extend(
                        changes
                            .into_iter()
                            .flat_map(|(_, labels)| redelivered(labels)),
                    );
                }
            }
        }
        unsettled.extend(self.publish(published, invocation, cutoff).await);
        unsettled.sort_unstable();
        unsettled.dedup();
        unsettled
    }

    /// Publishes each entry's document, when a bus is configured: the labels of those not
    /// published that need redelivery.
    async fn publish(
        &self,
        entries: Vec<(LedgerEntry, Vec<(String, bool)>)>,
        invocation: &Invocation,
        cutoff: Instant,
    ) -> Vec<String> {
        let Some(bus) = &self.bus else {
            return Vec::new();
        };
        if entries.is_empty() {
            return Vec::new();
        }
        let details: Vec<String> = entries
            .iter()
            .map(|(e, _)| e.document().to_string())
            .collect();
        let published = match bounded_bus(cutoff, bus.publish(&details)).await {
            Ok(published) => published,
            Err(message) => {
                tracing::warn!(error = %message, events = details.len(), "outcome events were not published");
                vec![false; details.len()]
            }
        };
        let failed = published.iter().filter(|p| !**p).count() as u32;
        invocation.count_ledger(|t| {
            t.published += published.len() as u32 - failed;
            t.unpublished += failed;
        });
        entries
            .into_iter()
            .zip(published)
            .filter(|(_, published)| !published)
            .flat_map(|((_, labels), _)| redelivered(labels))
            .collect()
    }

    /// Moves the contact `contact_id`'s entry forward by `change` and publishes the change.
    pub async fn follow_contact(
        &self,
        contact_id: &str,
        change: &ContactChange,
        cutoff: Instant,
    ) -> Followed {
        let token = match bounded(cutoff, self.ledger.token_of_contact(contact_id)).await {
            Ok(Some(token)) => token,
            Ok(None) => return Followed::Unknown,
            Err(err) => return Followed::Failed(err.to_string()),
        };
        let moved = match bounded(cutoff, self.ledger.advance_contact(&token, change)).await {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                let Ok(token) = ClientToken::parse(&token) else {
                    return Followed::Unknown;
                };
                let tokens = std::slice::from_ref(&token);
                return match bounded(cutoff, self.ledger.entries(tokens)).await {
                    Ok(mut found) => found
                        .remove(token.as_str())
                        .map_or(Followed::Unknown, Followed::Unchanged),
                    Err(err) => Followed::Failed(err.to_string()),
                };
            }
            Err(err) => return Followed::Failed(err.to_string()),
        };
        let Some(bus) = &self.bus else {
            return Followed::Moved(moved);
        };
        let details = [moved.document().to_string()];
        match bounded_bus(cutoff, bus.publish(&details)).await {
            Ok(published) if published.first() == Some(&true) => Followed::Moved(moved),
            Ok(_) => Followed::Failed("EventBridge did not take the outcome event".into()),
            Err(message) => Followed::Failed(message),
        }
    }

    /// An entry's TTL after a change at `now`: the retention later.
    pub fn expiry(&self, now: Timestamp) -> i64 {
        now.as_second() + self.retention.as_secs() as i64
    }
}

/// The state an outcome gives a request.
pub fn state_of(outcome: &Outcome) -> RequestState {
    match outcome {
        Outcome::Started(contact, _) => RequestState::Sent {
            contact_id: contact.as_str().to_owned(),
        },
        Outcome::Deferred { not_before } => RequestState::Deferred {
            not_before: *not_before,
        },
        Outcome::Suppressed(reason) => RequestState::Suppressed {
            reason: reason.as_str().to_owned(),
        },
        Outcome::Requeued(requeue) => RequestState::Retrying {
            code: requeue.cause.reason_code().to_owned(),
        },
        Outcome::Failed(Failure::Expired) => RequestState::Expired,
        Outcome::Failed(failure) if failure.is_permanent() => RequestState::Rejected {
            code: failure.reason_code().to_owned(),
        },
        Outcome::Failed(failure) => RequestState::Retrying {
            code: failure.reason_code().to_owned(),
        },
    }
}

/// Labels with their redelivery flag.
type Labels = Vec<(String, bool)>;

/// A batch's changes to write, and the documents to publish again, each with its labels.
type Collapsed = (Vec<(StateChange, Labels)>, Vec<(LedgerEntry, Labels)>);

/// The batch's changes, one per token (the furthest along, in arrival order, of those that may
/// follow the entry looked up: a change that cannot follow it is not written), and the
/// documents to publish again.
fn collapse(pending: Vec<Pending>, known: &HashMap<String, Option<LedgerEntry>>) -> Collapsed {
    let mut order: Vec<String> = Vec::new();
    let mut by_token: HashMap<String, (Option<StateChange>, Labels)> = HashMap::new();
    let mut republished = Vec::new();
    for Pending {
        label,
        redeliver,
        what,
    } in pending
    {
        let change = match what {
            Pend::Republish(entry) => {
                republished.push((entry, vec![(label, redeliver)]));
                continue;
            }
            Pend::Change(change) => change,
        };
        let token = change.token.as_str().to_owned();
        let slot = by_token.entry(token.clone()).or_insert_with(|| {
            order.push(token.clone());
            (None, Vec::new())
        });
        slot.1.push((label, redeliver));
        let current = match &slot.0 {
            Some(chosen) => Some(chosen.state.clone()),
            None => known
                .get(&token)
                .cloned()
                .flatten()
                .map(|entry| entry.state),
        };
        if change.state.may_follow(current.as_ref()) {
            slot.0 = Some(change);
        }
    }
    let changes = order
        .into_iter()
        .filter_map(|token| {
            let (change, labels) = by_token.remove(&token)?;
            Some((change?, labels))
        })
        .collect();
    (changes, republished)
}

fn redelivered(labels: Labels) -> impl Iterator<Item = String> {
    labels
        .into_iter()
        .filter(|(_, redeliver)| *redeliver)
        .map(|(label, _)| label)
}

/// A ledger call cut at `cutoff`.
async fn bounded<T>(
    cutoff: Instant,
    call: impl std::future::Future<Output = Result<T, LedgerError>>,
) -> Result<T, LedgerError> {
    tokio::time::timeout_at(cutoff, call)
        .await
        .unwrap_or_else(|_| {
            Err(LedgerError {
                message: "the call to DynamoDB did not finish before the invocation deadline"
                    .into(),
            })
        })
}

/// A bus call cut at `cutoff`; the error as text.
async fn bounded_bus<T>(
    cutoff: Instant,
    call: impl std::future::Future<Output = Result<T, crate::bus::BusError>>,
) -> Result<T, String> {
    match tokio::time::timeout_at(cutoff, call).await {
        Ok(result) => result.map_err(|err| err.to_string()),
        Err(_) => {
            Err("the call to EventBridge did not finish before the invocation deadline".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::StartError;
    use crate::outcome::NotSent;
    use crate::policy::SuppressReason;

    #[test]
    fn each_outcome_gives_its_state() {
        let not_before: Timestamp = "2026-11-23T16:00:00Z".parse().unwrap();
        let cases = [
            (Outcome::Started(ContactId::new("c-1"), None), "SENT#c-1"),
            (
                Outcome::Deferred { not_before },
                "DEFERRED#2026-11-23T16:00:00Z",
            ),
            (
                Outcome::Suppressed(SuppressReason::FrequencyCap),
                "SUPPRESSED#FREQUENCY_CAP",
            ),
            (Outcome::Failed(Failure::Expired), "EXPIRED"),
            (
                Outcome::Failed(Failure::Connect(StartError::Rejected {
                    code: "ResourceNotFoundException".into(),
                    message: "m".into(),
                })),
                "REJECTED#REJECTED",
            ),
            (
                Outcome::Failed(Failure::NotSent(NotSent::DeadlineNear)),
                "RETRYING#NOT_ATTEMPTED",
            ),
            (
                Outcome::Failed(Failure::Connect(StartError::Throttled {
                    message: "m".into(),
                })),
                "RETRYING#REQUEST_THROTTLED",
            ),
        ];
        for (outcome, mark) in cases {
            assert_eq!(state_of(&outcome).mark(), mark, "{outcome:?}");
        }
    }

    fn change(token: &str, state: RequestState) -> Pend {
        Pend::Change(StateChange {
            token: ClientToken::parse(token).unwrap(),
            state,
            channel: None,
            category: None,
            trigger: "sqs",
            at: Timestamp::UNIX_EPOCH,
            expires_at: 0,
        })
    }

    #[test]
    fn a_batch_writes_one_change_per_token_the_furthest_along_and_none_that_cannot_follow() {
        let sent = || RequestState::Sent {
            contact_id: "c-1".into(),
        };
        let retrying = || RequestState::Retrying {
            code: "REQUEST_THROTTLED".into(),
        };
        let pending = |label: &str, what| Pending {
            label: label.into(),
            redeliver: true,
            what,
        };
        let mut known = HashMap::new();
        known.insert(
            "done".to_owned(),
            Some(
                StateChange {
                    token: ClientToken::parse("done").unwrap(),
                    state: RequestState::Expired,
                    channel: None,
                    category: None,
                    trigger: "sqs",
                    at: Timestamp::UNIX_EPOCH,
                    expires_at: 0,
                }
                .applied_to(None),
            ),
        );
        let (changes, republished) = collapse(
            vec![
                pending("a1", change("twice", retrying())),
                pending("a2", change("twice", sent())),
                pending("a3", change("twice", retrying())),
                pending("b", change("done", RequestState::Expired)),
                pending("c", change("new", retrying())),
            ],
            &known,
        );
        let written: Vec<(String, String, usize)> = changes
            .iter()
            .map(|(c, labels)| (c.token.to_string(), c.state.mark(), labels.len()))
            .collect();
        assert_eq!(
            written,
            [
                ("twice".to_owned(), "SENT#c-1".to_owned(), 3),
                ("new".to_owned(), "RETRYING#REQUEST_THROTTLED".to_owned(), 1),
            ]
        );
        assert!(republished.is_empty());
    }
}
