//! Recipient protection at send time: the pure policy (the recipient's hash, the caps that bind
//! a request) bound to the state port (the do-not-contact list, the counts). Decides a whole
//! batch at once (one read, one write: see [`reserve`](super::reserve)), and gives a place back
//! when its request will not be sent by this delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::reserve::{self, Decision, Place, Planned};
use crate::config::ProtectionConfig;
use crate::domain::{ClientToken, DestinationNumber, OutboundChat};
use crate::outcome::{Failure, Outcome};
use crate::policy::{ListScope, RecipientId, holder_of};
use crate::store::ledger::LedgerEntry;
use crate::store::{CapKey, ListChange, RecipientState, StateError};

/// The configuration bound to its state.
pub struct Protection {
    config: ProtectionConfig,
    state: Arc<dyn RecipientState>,
}

/// The decisions one invocation already made, by request id.
#[derive(Debug, Default)]
pub struct Screened(Mutex<HashMap<String, Decision>>);

impl Screened {
    /// The decision made for `request_id`, if any.
    pub fn get(&self, request_id: &str) -> Option<Decision> {
        self.0.lock().expect("screen lock").get(request_id).cloned()
    }

    /// The place held for `request_id`, if any.
    pub fn place(&self, request_id: &str) -> Option<Place> {
        match self.get(request_id) {
            Some(Decision::Held(place)) => Some(place),
            _ => None,
        }
    }

    fn record(&self, decisions: Vec<(String, Decision)>) {
        self.0.lock().expect("screen lock").extend(decisions);
    }
}

/// A request handed to [`Protection::screen`]: `held_back` when its send window or its expiry
/// holds it back now.
pub struct Candidate<'c> {
    pub request_id: &'c str,
    pub chat: &'c OutboundChat,
    pub held_back: bool,
}

impl Protection {
    pub fn new(config: ProtectionConfig, state: Arc<dyn RecipientState>) -> Self {
        Self { config, state }
    }

    fn recipient(&self, number: &DestinationNumber) -> RecipientId {
        self.config.key.recipient(number)
    }

    /// Decides every candidate at once into `screened`: one read of the listings and counts
    /// they need, one write of the counts that changed (more only when another writer changed
    /// one meanwhile, or past 100 items). Nothing past `cutoff`: what is not decided by then is
    /// unavailable. A place is marked by the request's client token (`request_id` for a
    /// request without one).
    ///
    /// The ledger entries of `entries` are read in the same round trip, and returned (`None`
    /// when the read failed or was cut).
    pub async fn screen(
        &self,
        candidates: &[Candidate<'_>],
        now: SystemTime,
        cutoff: Instant,
        screened: &Screened,
        entries: &[ClientToken],
    ) -> Option<HashMap<String, LedgerEntry>> {
        let planned: Vec<Planned> = candidates.iter().map(|c| self.plan(c)).collect();
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        let caps = self.config.caps.as_ref();
        let run = reserve::reserve(caps, self.state.as_ref(), &planned, now, entries);
        let (decisions, found) = match tokio::time::timeout_at(cutoff, run).await {
            Ok(screening) => screening,
            Err(_) => (
                reserve::all(&planned, |_| {
                    Decision::Unavailable(StateError {
                        message: "DynamoDB did not answer before the invocation's deadline".into(),
                    })
                }),
                None,
            ),
        };
        screened.record(decisions);
        found
    }

    fn plan(&self, candidate: &Candidate<'_>) -> Planned {
        let chat = candidate.chat;
        let recipient = self.recipient(chat.destination());
        let category = chat.category().unwrap_or(self.config.default_category);
        let counted_in = self
            .config
            .caps
            .as_ref()
            .and_then(|caps| caps.counted_in(chat.channel(), category));
        let count = counted_in.map(|counted_in| {
            let token = chat
                .client_token()
                .map_or(candidate.request_id, |t| t.as_str());
            let key = CapKey {
                recipient: recipient.clone(),
                counted_in,
            };
            (key, holder_of(token))
        });
        Planned {
            request_id: candidate.request_id.to_owned(),
            recipient,
            channel: chat.channel(),
            count,
            held_back: candidate.held_back,
        }
    }

    /// Gives back the place `request_id` held, when [`gives_back`] says its outcome calls for
    /// it. Nothing past `cutoff`; a failure is logged (the place then ages out of its window).
    pub async fn settle(
        &self,
        screened: &Screened,
        request_id: &str,
        outcome: &Outcome,
        cutoff: Instant,
    ) {
        let Some(place) = screened.place(request_id) else {
            return;
        };
        if !gives_back(&place, outcome) {
            return;
        }
        let give_back = self.state.give_back(&place.key, &place.holder);
        match tokio::time::timeout_at(cutoff, give_back).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(request_id, error = %err, "a cap place could not be given back: it ages out of its window")
            }
            Err(_) => tracing::warn!(
                request_id,
                "a cap place was not given back before the deadline: it ages out of its window"
            ),
        }
    }

    /// Adds entries to the do-not-contact list (`scope` `None`: every channel), giving up at
    /// `cutoff`.
    pub async fn add(
        &self,
        entries: &[(DestinationNumber, Option<ListScope>)],
        cutoff: Instant,
    ) -> Result<(), StateError> {
        let change = ListChange::Add(
            entries
                .iter()
                .map(|(number, scope)| (self.recipient(number), scope.unwrap_or(ListScope::All)))
                .collect(),
        );
        self.change(&change, cutoff).await
    }

    /// Removes entries from the list (`scope` `None`: every entry of the number), giving up at
    /// `cutoff`.
    pub async fn remove(
        &self,
        entries: &[(DestinationNumber, Option<ListScope>)],
        cutoff: Instant,
    ) -> Result<(), StateError> {
        let change = ListChange::Remove(
            entries
                .iter()
                .map(|(number, scope)| (self.recipient(number), *scope))
                .collect(),
        );
        self.change(&change, cutoff).await
    }

    async fn change(&self, change: &ListChange, cutoff: Instant) -> Result<(), StateError> {
        match tokio::time::timeout_at(cutoff, self.state.change_list(change)).await {
            Ok(changed) => changed,
            Err(_) => Err(StateError {
                message: "DynamoDB did not answer before the invocation's deadline".into(),
            }),
        }
    }
}

/// Whether a request's place is given back after `outcome`. Only what this delivery took,
/// unless the request is held back for good or for later: a place found (taken by an earlier
/// delivery, whose call may have started the contact) is kept through any failure, and given
/// back only when the request ends expired or deferred (it takes a new place when it is sent).
/// A place taken now is given back whenever this delivery did not start a contact with it:
/// refused for good, expired, deferred, or never sent (a FIFO group stopped, the deadline, a
/// halt). After a transient failure of the call (which may have reached Connect) it is kept
/// for the retry, which carries the same token and finds it.
pub fn gives_back(place: &Place, outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Started(..) | Outcome::Suppressed(_) | Outcome::Requeued(_) => false,
        Outcome::Deferred { .. } | Outcome::Failed(Failure::Expired) => true,
        Outcome::Failed(failure @ Failure::Connect(_)) => place.taken && failure.is_permanent(),
        Outcome::Failed(_) => place.taken,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};
    use std::time::Duration;

    use futures::future::BoxFuture;

    use super::*;
    use crate::connect::{ContactId, StartError};
    use crate::domain::{Category, Channel};
    use crate::outcome::NotSent;
    use crate::policy::{
        CapPolicy, CapRules, CapScope, CountedIn, Listing, RecipientKey, Sends, SuppressReason,
    };
    use crate::store::{CapItem, ItemVerdict, StateRead, WriteItem, Written};

    /// A state port that answers from a script and logs what it was asked.
    #[derive(Default)]
    struct FakeState {
        read: StateRead,
        writes: Mutex<VecDeque<Written>>,
        written: Mutex<Vec<Vec<WriteItem>>>,
        stalled: bool,
        calls: Mutex<Vec<&'static str>>,
    }

    impl FakeState {
        fn calls(&self) -> Vec<&'static str> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl RecipientState for FakeState {
        fn read<'a>(
            &'a self,
            _: &'a [RecipientId],
            _: &'a [CapKey],
            _: &'a [ClientToken],
        ) -> BoxFuture<'a, Result<StateRead, StateError>> {
            self.calls.lock().unwrap().push("read");
            if self.stalled {
                return Box::pin(futures::future::pending());
            }
            Box::pin(async move { Ok(self.read.clone()) })
        }

        fn write<'a>(
            &'a self,
            items: &'a [WriteItem],
        ) -> BoxFuture<'a, Result<Written, StateError>> {
            self.calls.lock().unwrap().push("write");
            self.written.lock().unwrap().push(items.to_vec());
            let answer = self
                .writes
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Written::Applied);
            Box::pin(async move { Ok(answer) })
        }

        fn give_back<'a>(
            &'a self,
            _: &'a CapKey,
            _: &'a str,
        ) -> BoxFuture<'a, Result<(), StateError>> {
            self.calls.lock().unwrap().push("give_back");
            Box::pin(async { Ok(()) })
        }

        fn change_list<'a>(&'a self, _: &'a ListChange) -> BoxFuture<'a, Result<(), StateError>> {
            Box::pin(async { Ok(()) })
        }
    }

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const A: &str = "+14255550100";
    const B: &str = "+14255550101";
    const NOW: i64 = 1_795_000_000;

    fn chat(to: &str, category: &str) -> OutboundChat {
        let defaults = crate::domain::Defaults {
            instance_id: crate::domain::InstanceId::parse("i-1").ok(),
            contact_flow_id: crate::domain::ContactFlowId::parse("f-1").ok(),
            sms_source: crate::domain::PhoneNumberArn::parse(
                "arn:aws:connect:us-east-1:123456789012:phone-number/abc",
            )
            .ok(),
            ..Default::default()
        };
        let text = format!(
            r#"{{"to": "{to}", "message": {{"content": "hi"}}, "category": "{category}"}}"#
        );
        let request = crate::intake::wire::from_json(&text).unwrap();
        OutboundChat::from_input(request.input, request.names, &defaults).unwrap()
    }

    fn recipient(number: &str) -> RecipientId {
        RecipientKey::parse(KEY)
            .unwrap()
            .recipient(&DestinationNumber::parse(number).unwrap())
    }

    fn sms_count(number: &str) -> CapKey {
        CapKey {
            recipient: recipient(number),
            counted_in: CountedIn::Channel(Channel::Sms),
        }
    }

    fn protection(state: FakeState) -> (Protection, Arc<FakeState>) {
        let state = Arc::new(state);
        let config = ProtectionConfig {
            table: "t".into(),
            key: RecipientKey::parse(KEY).unwrap(),
            caps: Some(CapPolicy {
                rules: CapRules::parse("1/24h").unwrap(),
                scope: CapScope::Channel,
                categories: BTreeSet::from([Category::Promotional]),
            }),
            default_category: Category::Transactional,
        };
        (Protection::new(config, state.clone()), state)
    }

    /// Screens `(request id, chat, held back)` at NOW and gives each decision.
    async fn screen(
        protection: &Protection,
        requests: &[(&str, &OutboundChat, bool)],
    ) -> Vec<Decision> {
        let screened = Screened::default();
        let candidates: Vec<Candidate<'_>> = requests
            .iter()
            .map(|(id, chat, held_back)| Candidate {
                request_id: id,
                chat,
                held_back: *held_back,
            })
            .collect();
        let now = UNIX_EPOCH + Duration::from_secs(NOW as u64);
        let cutoff = Instant::now() + Duration::from_millis(200);
        protection
            .screen(&candidates, now, cutoff, &screened, &[])
            .await;
        requests
            .iter()
            .map(|(id, ..)| screened.get(id).unwrap())
            .collect()
    }

    fn held(number: &str, holder: &str, taken: bool) -> Decision {
        Decision::Held(Place {
            key: sms_count(number),
            holder: holder_of(holder),
            taken,
        })
    }

    #[tokio::test]
    async fn a_batch_is_decided_in_order_with_one_read_and_one_write() {
        let mut read = StateRead::default();
        read.listings
            .insert(recipient(B), Listing::from_names(["SMS"]));
        let (protection, state) = protection(FakeState {
            read,
            ..Default::default()
        });
        let (first, second) = (chat(A, "PROMOTIONAL"), chat(A, "PROMOTIONAL"));
        let (listed, other) = (chat(B, "TRANSACTIONAL"), chat(A, "TRANSACTIONAL"));
        let decisions = screen(
            &protection,
            &[
                ("r-1", &first, false),
                ("r-2", &second, false),
                ("r-3", &listed, false),
                ("r-4", &other, false),
            ],
        )
        .await;
        assert_eq!(
            decisions,
            [
                held(A, "r-1", true),
                Decision::Suppressed(SuppressReason::FrequencyCap),
                Decision::Suppressed(SuppressReason::DoNotContact),
                Decision::Clear,
            ]
        );
        assert_eq!(state.calls(), ["read", "write"]);
        let written = state.written.lock().unwrap()[0].clone();
        assert_eq!(
            written,
            [
                WriteItem::Caps {
                    key: sms_count(A),
                    read_version: None,
                    sends: Sends::from([(holder_of("r-1"), NOW)]),
                    expires_at: NOW + 86_400,
                },
                WriteItem::NotListed {
                    recipient: recipient(A),
                    channels: vec![Channel::Sms]
                },
            ]
        );
    }

    #[tokio::test]
    async fn the_loser_of_a_race_decides_again_with_what_the_cancellation_says_and_is_suppressed() {
        let winner = CapItem {
            sends: Sends::from([("other".to_owned(), NOW - 5)]),
            version: Some(1),
        };
        let state = FakeState {
            writes: Mutex::new(VecDeque::from([Written::Cancelled(vec![
                ItemVerdict::Changed(winner),
                ItemVerdict::Fine,
            ])])),
            ..Default::default()
        };
        let (protection, state) = protection(state);
        let promotion = chat(A, "PROMOTIONAL");
        let decisions = screen(&protection, &[("r-1", &promotion, false)]).await;
        assert_eq!(
            decisions,
            [Decision::Suppressed(SuppressReason::FrequencyCap)]
        );
        assert_eq!(
            state.calls(),
            ["read", "write"],
            "no second read, nothing left to write"
        );
    }

    #[tokio::test]
    async fn a_redelivery_finds_its_place_and_a_held_back_one_gives_it_back_in_the_batch_write() {
        let mut read = StateRead::default();
        let found = CapItem {
            sends: Sends::from([(holder_of("r-1"), NOW - 60)]),
            version: Some(3),
        };
        read.caps.insert(sms_count(A), found.clone());
        read.caps.insert(
            sms_count(B),
            CapItem {
                sends: Sends::from([(holder_of("r-2"), NOW - 60)]),
                ..found
            },
        );
        let (protection, state) = protection(FakeState {
            read,
            ..Default::default()
        });
        let (again, deferred) = (chat(A, "PROMOTIONAL"), chat(B, "PROMOTIONAL"));
        let decisions = screen(
            &protection,
            &[("r-1", &again, false), ("r-2", &deferred, true)],
        )
        .await;
        assert_eq!(decisions, [held(A, "r-1", false), Decision::HeldBack]);
        let written = state.written.lock().unwrap()[0].clone();
        assert_eq!(
            written,
            [WriteItem::Caps {
                key: sms_count(B),
                read_version: Some(3),
                sends: Sends::new(),
                expires_at: NOW,
            }],
            "only the given-back place is written"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_state_that_never_answers_leaves_the_batch_unavailable_at_the_cutoff() {
        let (protection, _) = protection(FakeState {
            stalled: true,
            ..Default::default()
        });
        let (promotion, deferred) = (chat(A, "PROMOTIONAL"), chat(B, "PROMOTIONAL"));
        let started = Instant::now();
        let decisions = screen(
            &protection,
            &[("r-1", &promotion, false), ("r-2", &deferred, true)],
        )
        .await;
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(200),
            "cut at the cutoff"
        );
        assert!(
            matches!(decisions[0], Decision::Unavailable(_)),
            "{decisions:?}"
        );
        assert_eq!(decisions[1], Decision::HeldBack);
    }

    #[test]
    fn a_place_is_given_back_only_when_this_delivery_will_not_start_a_contact_with_it() {
        let started = Outcome::Started(ContactId::new("c-1"), None);
        let rejected = Outcome::Failed(Failure::Connect(StartError::Rejected {
            code: "InvalidRequestException".into(),
            message: "no".into(),
        }));
        let transient = Outcome::Failed(Failure::Connect(StartError::Transient {
            message: "timed out".into(),
        }));
        let deferred = Outcome::Deferred {
            not_before: "2026-11-30T16:00:00Z".parse().unwrap(),
        };
        let skipped = Outcome::Failed(Failure::NotSent(NotSent::EarlierInGroupFailed));
        let expired = Outcome::Failed(Failure::Expired);
        // (outcome, given back when taken now, given back when found)
        let cases = [
            (&started, false, false),
            (&transient, false, false),
            (&rejected, true, false),
            (&skipped, true, false),
            (&expired, true, true),
            (&deferred, true, true),
        ];
        for (outcome, taken, found) in cases {
            let place = |taken| Place {
                key: sms_count(A),
                holder: "h".into(),
                taken,
            };
            assert_eq!(
                gives_back(&place(true), outcome),
                taken,
                "taken: {outcome:?}"
            );
            assert_eq!(
                gives_back(&place(false), outcome),
                found,
                "found: {outcome:?}"
            );
        }
    }
}
