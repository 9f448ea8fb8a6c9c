//! Started contacts, the ClientToken idempotency map, and which contacts are still active.
//!
//! A token seen before replays its contact when the request is the same as the first one, and
//! is refused (`IdempotencyException`) when it is not, as AWS's idempotent APIs do. "The same"
//! compares the parsed JSON bodies, so member order and whitespace do not matter.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

/// A contact the simulator started (whatever it then answered).
#[derive(Debug, Clone, PartialEq)]
pub struct StartedContact {
    pub contact_id: String,
    pub client_token: Option<String>,
    /// The request body that started it.
    pub request: Value,
}

#[derive(Debug)]
struct Record {
    contact: StartedContact,
    ends_at: Instant,
    ended: bool,
}

/// Connect's default chat duration when `ChatDurationInMinutes` is absent: 25 hours.
pub(crate) const DEFAULT_CHAT_DURATION: Duration = Duration::from_secs(25 * 60 * 60);

#[derive(Debug, Default)]
pub(crate) struct ContactBook {
    records: Vec<Record>,
    /// Token → index in `records` of the contact it started.
    by_token: HashMap<String, usize>,
}

/// What a token seen before means for a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenUse {
    /// The same request again: answer with the contact it started.
    Replay(String),
    /// A different request under a token that already started a contact: refuse it.
    Mismatch,
}

impl ContactBook {
    /// What the token means for `request`, if the token was seen before. Connect keeps tokens 7
    /// days; a simulator run is shorter, so this one keeps them for its lifetime.
    pub(crate) fn token_use(&self, token: &str, request: &Value) -> Option<TokenUse> {
        let contact = &self.records[*self.by_token.get(token)?].contact;
        Some(if contact.request == *request {
            TokenUse::Replay(contact.contact_id.clone())
        } else {
            TokenUse::Mismatch
        })
    }

    /// Contacts neither ended by `end_all` nor past their chat duration.
    pub(crate) fn active(&self, now: Instant) -> usize {
        self.records
            .iter()
            .filter(|r| !r.ended && now < r.ends_at)
            .count()
    }

    pub(crate) fn create(&mut self, contact: StartedContact, duration: Duration, now: Instant) {
        if let Some(token) = &contact.client_token {
            self.by_token.insert(token.clone(), self.records.len());
        }
        self.records.push(Record {
            contact,
            ends_at: now + duration,
            ended: false,
        });
    }

    /// Forgets every token, as Connect does 7 days after a token's first use: a token used again
    /// then starts a new contact.
    pub(crate) fn forget_tokens(&mut self) {
        self.by_token.clear();
    }

    /// Ends every active chat (as if each customer or agent had disconnected).
    pub(crate) fn end_all(&mut self) {
        for record in &mut self.records {
            record.ended = true;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn all(&self) -> Vec<StartedContact> {
        self.records.iter().map(|r| r.contact.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: &str, token: Option<&str>) -> StartedContact {
        StartedContact {
            contact_id: id.to_owned(),
            client_token: token.map(str::to_owned),
            request: serde_json::json!({"ClientToken": token, "n": 1}),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_chat_stops_counting_as_active_when_its_duration_is_over() {
        let mut book = ContactBook::default();
        book.create(
            contact("a", None),
            Duration::from_secs(3600),
            Instant::now(),
        );
        book.create(contact("b", None), DEFAULT_CHAT_DURATION, Instant::now());
        assert_eq!(book.active(Instant::now()), 2);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(book.active(Instant::now()), 1);
        book.end_all();
        assert_eq!(book.active(Instant::now()), 0);
        assert_eq!(book.len(), 2);
    }

    #[test]
    fn a_token_maps_to_its_contact() {
        let mut book = ContactBook::default();
        book.create(
            contact("a", Some("t1")),
            DEFAULT_CHAT_DURATION,
            Instant::now(),
        );
        let same = serde_json::json!({"n": 1, "ClientToken": "t1"});
        assert_eq!(
            book.token_use("t1", &same),
            Some(TokenUse::Replay("a".into()))
        );
        assert_eq!(book.token_use("t2", &same), None);
    }

    #[test]
    fn a_forgotten_token_starts_anew() {
        let mut book = ContactBook::default();
        book.create(
            contact("a", Some("t1")),
            DEFAULT_CHAT_DURATION,
            Instant::now(),
        );
        book.forget_tokens();
        let same = serde_json::json!({"ClientToken": "t1", "n": 1});
        assert_eq!(book.token_use("t1", &same), None);
        assert_eq!(book.len(), 1);
    }

    #[test]
    fn a_token_with_a_different_request_is_a_mismatch() {
        let mut book = ContactBook::default();
        book.create(
            contact("a", Some("t1")),
            DEFAULT_CHAT_DURATION,
            Instant::now(),
        );
        let different = serde_json::json!({"ClientToken": "t1", "n": 2});
        assert_eq!(book.token_use("t1", &different), Some(TokenUse::Mismatch));
    }
}
