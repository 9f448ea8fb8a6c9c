//! The record of every request and what the simulator answered, for tests to assert on.

use std::fmt;

use serde_json::Value;

use crate::faults::ScriptedReply;

/// One request, as received, and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Arrival order, from 1. A delayed request keeps its arrival number.
    pub sequence: u64,
    /// The `x-amzn-RequestId` sent back (none is sent when the connection was dropped).
    pub request_id: String,
    /// The body's `ClientToken`, when it had one.
    pub client_token: Option<String>,
    /// The body as parsed JSON, or as a JSON string holding the raw text when it was not JSON.
    pub request: Value,
    /// What the simulator did with it.
    pub outcome: Outcome,
}

/// What the simulator did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new contact was started and HTTP 200 returned.
    Started { contact_id: String },
    /// The `ClientToken` was seen before: the existing contact returned, nothing new started.
    Replayed { contact_id: String },
    /// 409 `IdempotencyException`: the `ClientToken` was seen before with a different request
    /// body; nothing started.
    IdempotencyMismatch,
    /// 400 `InvalidRequestException`, with the message sent.
    Invalid { message: String },
    /// 403: no or malformed SigV4 `Authorization` header.
    Unauthenticated,
    /// 429 `ThrottlingException` from the token bucket.
    Throttled,
    /// 429 `LimitExceededException` from the active-chat cap.
    LimitExceeded,
    /// 500 `InternalServiceException`; `contact_id` is set when the contact had been created.
    InternalError { contact_id: Option<String> },
    /// Connection closed with no answer; `contact_id` is set when the contact had been created.
    Dropped { contact_id: Option<String> },
    /// Answered by a queued [`ScriptedReply`] (`Error` or `Drop`; a `Delay` ends in a normal
    /// outcome).
    Scripted(ScriptedReply),
    /// 404: not `PUT /contact/outbound-chat`.
    NotFound,
}

impl Outcome {
    /// The contact this request started, replayed or created before failing.
    pub fn contact_id(&self) -> Option<&str> {
        match self {
            Self::Started { contact_id } | Self::Replayed { contact_id } => Some(contact_id),
            Self::InternalError { contact_id } | Self::Dropped { contact_id } => {
                contact_id.as_deref()
            }
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let after = |id: &Option<String>| {
            id.as_ref().map_or_else(
                || "before start".to_owned(),
                |id| format!("after starting {id}"),
            )
        };
        match self {
            Self::Started { contact_id } => write!(f, "started {contact_id}"),
            Self::Replayed { contact_id } => write!(f, "replayed {contact_id}"),
            Self::IdempotencyMismatch => f.write_str("client token reused with another request"),
            Self::Invalid { message } => write!(f, "invalid: {message}"),
            Self::Unauthenticated => f.write_str("unauthenticated"),
            Self::Throttled => f.write_str("throttled"),
            Self::LimitExceeded => f.write_str("limit exceeded (active chats)"),
            Self::InternalError { contact_id } => {
                write!(f, "internal error {}", after(contact_id))
            }
            Self::Dropped { contact_id } => write!(f, "dropped {}", after(contact_id)),
            Self::Scripted(ScriptedReply::Error(code)) => write!(f, "scripted {code}"),
            Self::Scripted(ScriptedReply::Drop) => f.write_str("scripted drop"),
            Self::Scripted(ScriptedReply::Delay(d)) => write!(f, "scripted delay {d:?}"),
            Self::NotFound => f.write_str("unknown operation"),
        }
    }
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every request received.
    pub requests: usize,
    /// Contacts created, including those whose answer was then a 500 or a drop.
    pub contacts_created: usize,
    pub started: usize,
    pub replayed: usize,
    /// Requests refused because their `ClientToken` had started a contact for another request.
    pub idempotency_mismatches: usize,
    pub invalid: usize,
    pub unauthenticated: usize,
    pub not_found: usize,
    pub throttled: usize,
    pub limit_exceeded: usize,
    pub internal_errors: usize,
    pub dropped: usize,
    pub scripted: usize,
}

impl Summary {
    pub(crate) fn of(entries: &[JournalEntry], contacts_created: usize) -> Self {
        let mut s = Summary {
            requests: entries.len(),
            contacts_created,
            ..Summary::default()
        };
        for entry in entries {
            let count = match entry.outcome {
                Outcome::Started { .. } => &mut s.started,
                Outcome::Replayed { .. } => &mut s.replayed,
                Outcome::IdempotencyMismatch => &mut s.idempotency_mismatches,
                Outcome::Invalid { .. } => &mut s.invalid,
                Outcome::Unauthenticated => &mut s.unauthenticated,
                Outcome::NotFound => &mut s.not_found,
                Outcome::Throttled => &mut s.throttled,
                Outcome::LimitExceeded => &mut s.limit_exceeded,
                Outcome::InternalError { .. } => &mut s.internal_errors,
                Outcome::Dropped { .. } => &mut s.dropped,
                Outcome::Scripted(_) => &mut s.scripted,
            };
            *count += 1;
        }
        s
    }

    /// Requests refused as malformed: invalid, unauthenticated or for an unknown operation.
    pub fn refused(&self) -> usize {
        self.invalid + self.unauthenticated + self.not_found
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requests: {}, contacts created: {}, started: {}, replayed: {}, refused: {} \
             (invalid {}, unauthenticated {}, unknown operation {}), throttled: {}, \
             limit exceeded: {}, internal errors: {}, dropped: {}, scripted: {}, \
             idempotency mismatches: {}",
            self.requests,
            self.contacts_created,
            self.started,
            self.replayed,
            self.refused(),
            self.invalid,
            self.unauthenticated,
            self.not_found,
            self.throttled,
            self.limit_exceeded,
            self.internal_errors,
            self.dropped,
            self.scripted,
            self.idempotency_mismatches,
        )
    }
}

/// The journal store: entries are written when their outcome is known, read in arrival order.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    next_sequence: u64,
    entries: Vec<JournalEntry>,
}

impl Journal {
    /// Numbers a request on arrival.
    pub(crate) fn arrive(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence
    }

    pub(crate) fn record(&mut self, entry: JournalEntry) {
        self.entries.push(entry);
    }

    /// Every finished request, in arrival order.
    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        let mut entries = self.entries.clone();
        entries.sort_by_key(|e| e.sequence);
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sequence: u64, outcome: Outcome) -> JournalEntry {
        JournalEntry {
            sequence,
            request_id: String::new(),
            client_token: None,
            request: Value::Null,
            outcome,
        }
    }

    #[test]
    fn entries_come_back_in_arrival_order() {
        let mut journal = Journal::default();
        let (first, second) = (journal.arrive(), journal.arrive());
        journal.record(entry(second, Outcome::Throttled));
        journal.record(entry(first, Outcome::NotFound));
        let order: Vec<u64> = journal.entries().iter().map(|e| e.sequence).collect();
        assert_eq!(order, [1, 2]);
    }

    #[test]
    fn the_summary_counts_each_outcome_and_reads_as_a_sentence() {
        let entries = [
            entry(
                1,
                Outcome::Started {
                    contact_id: "a".into(),
                },
            ),
            entry(
                2,
                Outcome::Replayed {
                    contact_id: "a".into(),
                },
            ),
            entry(
                3,
                Outcome::Invalid {
                    message: "x".into(),
                },
            ),
            entry(4, Outcome::Unauthenticated),
            entry(5, Outcome::Throttled),
        ];
        let summary = Summary::of(&entries, 1);
        assert_eq!(summary.refused(), 2);
        let text = summary.to_string();
        assert!(text.contains("contacts created: 1"), "{text}");
        assert!(
            text.contains("started: 1, replayed: 1, refused: 2"),
            "{text}"
        );
        assert!(text.contains("throttled: 1"), "{text}");
    }
}
