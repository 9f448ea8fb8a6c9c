//! The ledger port: what became of each request that has a client token (contract §7), one
//! entry per token, and the life of the contact it started. The states, their order (a state
//! never goes back), the entry and its status document live here, beside the trait; the
//! DynamoDB adapter is in `ledger_dynamodb.rs`. An entry holds no phone number, no message
//! content and no attributes: nothing here can carry them.

use std::collections::HashMap;

use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::domain::{Category, Channel, ClientToken};

/// Why the ledger could not be read or written. Messages name the operation and the error
/// code, never an entry's content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the ledger (DynamoDB) is unavailable: {message}")]
pub struct LedgerError {
    pub message: String,
}

/// A request's state, with what goes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// A contact was started.
    Sent { contact_id: String },
    /// Held until its send window opens.
    Deferred { not_before: Timestamp },
    /// A policy said no (`DO_NOT_CONTACT`, `FREQUENCY_CAP`).
    Suppressed { reason: String },
    /// Processed after its `expiresAt`.
    Expired,
    /// Refused for good (invalid, or Connect refused): the failure code.
    Rejected { code: String },
    /// A transient failure that its trigger retries: the failure code.
    Retrying { code: String },
}

/// How far a state is along: a state may only be followed by one further along, except that
/// the two in-flight states may follow each other (and themselves, with other details).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// `RETRYING`, `DEFERRED`: the request will be delivered again.
    InFlight = 1,
    /// `SUPPRESSED`, `EXPIRED`, `REJECTED`: ended without a contact. Only `SENT` follows (a
    /// rejected request redriven from a dead-letter queue after a fix).
    Ended = 2,
    /// `SENT`: final, nothing follows.
    Sent = 3,
}

impl RequestState {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sent { .. } => "SENT",
            Self::Deferred { .. } => "DEFERRED",
            Self::Suppressed { .. } => "SUPPRESSED",
            Self::Expired => "EXPIRED",
            Self::Rejected { .. } => "REJECTED",
            Self::Retrying { .. } => "RETRYING",
        }
    }

    pub fn rank(&self) -> Rank {
        match self {
            Self::Retrying { .. } | Self::Deferred { .. } => Rank::InFlight,
            Self::Suppressed { .. } | Self::Expired | Self::Rejected { .. } => Rank::Ended,
            Self::Sent { .. } => Rank::Sent,
        }
    }

    /// The state with its detail, as one string: an in-flight state is written again only when
    /// its mark changes (another code, another opening), so a retry loop adds no history.
    pub fn mark(&self) -> String {
        match self.detail() {
            Some((_, detail)) => format!("{}#{detail}", self.name()),
            None => self.name().to_owned(),
        }
    }

    /// The state's detail: its document member and value.
    pub fn detail(&self) -> Option<(&'static str, String)> {
        match self {
            Self::Sent { contact_id } => Some(("contactId", contact_id.clone())),
            Self::Deferred { not_before } => Some(("notBefore", not_before.to_string())),
            Self::Suppressed { reason } => Some(("reason", reason.clone())),
            Self::Rejected { code } | Self::Retrying { code } => Some(("code", code.clone())),
            Self::Expired => None,
        }
    }

    /// Reads a state back from its name and detail.
    pub fn from_parts(name: &str, detail: Option<&str>) -> Option<Self> {
        let owned = || detail.map(str::to_owned);
        Some(match name {
            "SENT" => Self::Sent {
                contact_id: owned()?,
            },
            "DEFERRED" => Self::Deferred {
                not_before: detail?.parse().ok()?,
            },
            "SUPPRESSED" => Self::Suppressed { reason: owned()? },
            "EXPIRED" => Self::Expired,
            "REJECTED" => Self::Rejected { code: owned()? },
            "RETRYING" => Self::Retrying { code: owned()? },
            _ => return None,
        })
    }

    /// Whether this state may replace `before` (`None`: no entry yet). The store's condition
    /// says the same; the function checks first so that a refusal costs no write.
    pub fn may_follow(&self, before: Option<&RequestState>) -> bool {
        let Some(before) = before else {
            return true;
        };
        match (before.rank(), self.rank()) {
            (Rank::InFlight, Rank::InFlight) => before.mark() != self.mark(),
            (was, now) => now > was,
        }
    }
}

/// A contact's status, from Connect's contact events; it only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContactStatus {
    /// `INITIATED`.
    Started = 1,
    /// `CONNECTED_TO_SYSTEM` (and anything after it short of the end).
    Connected = 2,
    /// `DISCONNECTED` or `COMPLETED`.
    Ended = 3,
}

impl ContactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "STARTED",
            Self::Connected => "CONNECTED",
            Self::Ended => "ENDED",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Started, Self::Connected, Self::Ended]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// What the ledger knows of a request's contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactLife {
    pub status: Option<ContactStatus>,
    pub ended_at: Option<Timestamp>,
    pub disconnect_reason: Option<String>,
    pub customer_replied: bool,
}

/// One step of a request's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub state: String,
    pub at: Timestamp,
}

/// A request's ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub client_token: String,
    pub state: RequestState,
    pub channel: Option<Channel>,
    pub category: Option<Category>,
    /// The trigger that first brought the request (`sqs`, `eventbridge`, ...).
    pub trigger: String,
    pub updated_at: Timestamp,
    /// `None` until a contact event was recorded.
    pub contact: Option<ContactLife>,
    pub history: Vec<Step>,
}

impl LedgerEntry {
    /// The status document of contract §7: what the status routes answer and what an outcome
    /// event carries as its `detail`.
    pub fn document(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("clientToken".into(), self.client_token.clone().into());
        doc.insert("state".into(), self.state.name().into());
        if let Some((member, value)) = self.state.detail() {
            doc.insert(member.into(), value.into());
        }
        if let Some(channel) = self.channel {
            doc.insert("channel".into(), channel.as_str().into());
        }
        if let Some(category) = self.category {
            doc.insert("category".into(), category.as_str().into());
        }
        doc.insert("trigger".into(), self.trigger.clone().into());
        doc.insert("updatedAt".into(), self.updated_at.to_string().into());
        if let Some(contact) = &self.contact {
            let mut life = Map::new();
            if let Some(status) = contact.status {
                life.insert("status".into(), status.as_str().into());
            }
            if let Some(ended_at) = contact.ended_at {
                life.insert("endedAt".into(), ended_at.to_string().into());
            }
            if let Some(reason) = &contact.disconnect_reason {
                life.insert("disconnectReason".into(), reason.clone().into());
            }
            life.insert("customerReplied".into(), contact.customer_replied.into());
            doc.insert("contact".into(), Value::Object(life));
        }
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|step| json!({"state": step.state, "at": step.at.to_string()}))
            .collect();
        doc.insert("history".into(), history.into());
        Value::Object(doc)
    }

    /// The contact id, once the request was sent.
    pub fn contact_id(&self) -> Option<&str> {
        match &self.state {
            RequestState::Sent { contact_id } => Some(contact_id),
            _ => None,
        }
    }
}

/// A request's new state, to be recorded if it may follow the entry's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    pub token: ClientToken,
    pub state: RequestState,
    pub channel: Option<Channel>,
    pub category: Option<Category>,
    pub trigger: &'static str,
    pub at: Timestamp,
    /// The entry's TTL (seconds since the epoch): retention counted from this change.
    pub expires_at: i64,
}

impl StateChange {
    /// The entry this change makes of `before` (the function's own view, for the outcome
    /// event: the store holds the same unless another process wrote in between).
    pub fn applied_to(&self, before: Option<&LedgerEntry>) -> LedgerEntry {
        let mut history = before.map(|e| e.history.clone()).unwrap_or_default();
        history.push(Step {
            state: self.state.name().to_owned(),
            at: self.at,
        });
        LedgerEntry {
            client_token: self.token.as_str().to_owned(),
            state: self.state.clone(),
            channel: self.channel.or(before.and_then(|e| e.channel)),
            category: self.category.or(before.and_then(|e| e.category)),
            trigger: before.map_or_else(|| self.trigger.to_owned(), |e| e.trigger.clone()),
            updated_at: self.at,
            contact: before.and_then(|e| e.contact.clone()),
            history,
        }
    }
}

/// What one contact event says about a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactChange {
    pub status: Option<ContactStatus>,
    pub ended_at: Option<Timestamp>,
    pub disconnect_reason: Option<String>,
    pub customer_replied: bool,
    pub at: Timestamp,
    /// The entry's TTL after this change (seconds since the epoch).
    pub expires_at: i64,
}

/// What became of one change the ledger was asked to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Applied,
    /// The entry's state was already as far along (or further): nothing was written.
    Refused,
}

/// The ledger the function reads and changes.
pub trait Ledger: Send + Sync {
    /// The entries of `tokens`, by token, in as few round trips as the store allows (strongly
    /// consistent). A token without an entry is absent from the answer.
    fn entries<'a>(
        &'a self,
        tokens: &'a [ClientToken],
    ) -> BoxFuture<'a, Result<HashMap<String, LedgerEntry>, LedgerError>>;

    /// Records `changes` (each token at most once), each only if its state may follow the
    /// stored one: one write call per 100 changes, plus one more for the rest whenever some
    /// were refused. The answer is in the order of `changes`.
    fn record<'a>(
        &'a self,
        changes: &'a [StateChange],
    ) -> BoxFuture<'a, Result<Vec<Written>, LedgerError>>;

    /// The token of the request whose contact is `contact_id`, if the ledger knows it.
    fn token_of_contact<'a>(
        &'a self,
        contact_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, LedgerError>>;

    /// Moves the contact of `token`'s entry forward by `change`: the entry after the change,
    /// or `None` when nothing moved (a late, repeated or out-of-order event, or no entry).
    fn advance_contact<'a>(
        &'a self,
        token: &'a str,
        change: &'a ContactChange,
    ) -> BoxFuture<'a, Result<Option<LedgerEntry>, LedgerError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, detail: Option<&str>) -> RequestState {
        RequestState::from_parts(name, detail).unwrap()
    }

    #[test]
    fn a_state_never_goes_back_and_in_flight_states_follow_each_other_when_they_change() {
        let sent = state("SENT", Some("c-1"));
        let retrying = state("RETRYING", Some("REQUEST_THROTTLED"));
        let deferred = state("DEFERRED", Some("2026-11-23T08:00:00Z"));
        let rejected = state("REJECTED", Some("REJECTED"));
        let suppressed = state("SUPPRESSED", Some("DO_NOT_CONTACT"));
        let cases = [
            (None, &retrying, true),
            (None, &sent, true),
            (Some(&retrying), &deferred, true),
            (Some(&deferred), &retrying, true),
            (Some(&deferred), &sent, true),
            (
                Some(&retrying),
                &state("RETRYING", Some("INTERNAL_ERROR")),
                true,
            ),
            (Some(&retrying), &retrying, false),
            (Some(&rejected), &sent, true),
            (Some(&rejected), &retrying, false),
            (Some(&suppressed), &state("EXPIRED", None), false),
            (Some(&sent), &retrying, false),
            (Some(&sent), &rejected, false),
            (Some(&sent), &sent, false),
        ];
        for (before, next, follows) in cases {
            assert_eq!(next.may_follow(before), follows, "{before:?} -> {next:?}");
        }
    }

    #[test]
    fn every_state_reads_back_from_its_name_and_detail() {
        for (name, detail) in [
            ("SENT", Some("c-1")),
            ("DEFERRED", Some("2026-11-23T08:00:00Z")),
            ("SUPPRESSED", Some("FREQUENCY_CAP")),
            ("EXPIRED", None),
            ("REJECTED", Some("INVALID_REQUEST")),
            ("RETRYING", Some("REQUEST_THROTTLED")),
        ] {
            let read = state(name, detail);
            assert_eq!(read.name(), name);
            assert_eq!(read.detail().map(|(_, value)| value).as_deref(), detail);
        }
        assert_eq!(RequestState::from_parts("SENT", None), None);
        assert_eq!(RequestState::from_parts("DELIVERED", Some("x")), None);
    }

    #[test]
    fn the_document_gives_the_states_detail_the_contact_and_the_history() {
        let at: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        let token = ClientToken::parse("reminder-A-1001").unwrap();
        let deferred = StateChange {
            token: token.clone(),
            state: state("DEFERRED", Some("2026-11-23T16:00:00Z")),
            channel: Some(Channel::Sms),
            category: Some(Category::Transactional),
            trigger: "sqs",
            at,
            expires_at: 0,
        };
        let first = deferred.applied_to(None);
        let sent = StateChange {
            state: state("SENT", Some("c-1")),
            trigger: "eventbridge",
            ..deferred.clone()
        };
        let mut entry = sent.applied_to(Some(&first));
        entry.contact = Some(ContactLife {
            status: Some(ContactStatus::Ended),
            ended_at: Some(at),
            disconnect_reason: Some("CUSTOMER_DISCONNECT".into()),
            customer_replied: false,
        });
        assert_eq!(
            entry.document(),
            json!({"clientToken": "reminder-A-1001", "state": "SENT", "contactId": "c-1",
                "channel": "SMS", "category": "TRANSACTIONAL", "trigger": "sqs",
                "updatedAt": "2026-11-23T08:00:00Z",
                "contact": {"status": "ENDED", "endedAt": "2026-11-23T08:00:00Z",
                    "disconnectReason": "CUSTOMER_DISCONNECT", "customerReplied": false},
                "history": [{"state": "DEFERRED", "at": "2026-11-23T08:00:00Z"},
                    {"state": "SENT", "at": "2026-11-23T08:00:00Z"}]})
        );
    }
}
