//! Recipient protection at send time: the pure policy (the recipient's hash, the caps that bind
//! a request) bound to the state port (the do-not-contact list, the counters). Looks a batch up
//! at once, checks and reserves one request in one round trip, and gives a place back when its
//! request will never be sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::ProtectionConfig;
use crate::domain::{DestinationNumber, OutboundChat};
use crate::policy::{ListScope, Listing, RecipientId, SuppressReason, holder_of};
use crate::store::{ListChange, RecipientState, Reservation, Reserved, StateError};

/// The configuration bound to its state.
pub struct Protection {
    config: ProtectionConfig,
    state: Arc<dyn RecipientState>,
}

/// The listings one invocation already looked up, by recipient (a recipient looked up and not
/// listed has an empty listing).
#[derive(Debug, Default)]
pub struct Screened(Mutex<HashMap<RecipientId, Listing>>);

impl Screened {
    fn get(&self, recipient: &RecipientId) -> Option<Listing> {
        self.0.lock().expect("screen lock").get(recipient).cloned()
    }
}

/// What protection decided for one request.
#[derive(Debug)]
pub enum Verdict {
    /// Send it; the places it holds, if caps bind it, are given back if it is never sent.
    Clear(Option<Reservation>),
    Suppressed(SuppressReason),
}

impl Protection {
    pub fn new(config: ProtectionConfig, state: Arc<dyn RecipientState>) -> Self {
        Self { config, state }
    }

    fn recipient(&self, number: &DestinationNumber) -> RecipientId {
        self.config.key.recipient(number)
    }

    /// Looks up the listings of every chat's recipient in one go, into `screened`. A failure
    /// is logged and leaves each request to look itself up.
    pub async fn screen<'c>(
        &self,
        chats: impl IntoIterator<Item = &'c OutboundChat>,
        screened: &Screened,
    ) {
        let mut recipients: Vec<RecipientId> = chats
            .into_iter()
            .map(|chat| self.recipient(chat.destination()))
            .collect();
        recipients.sort_unstable();
        recipients.dedup();
        if recipients.is_empty() {
            return;
        }
        match self.state.listings(&recipients).await {
            Ok(mut found) => {
                let mut known = screened.0.lock().expect("screen lock");
                for recipient in recipients {
                    let listing = found.remove(&recipient).unwrap_or_default();
                    known.insert(recipient, listing);
                }
            }
            Err(err) => tracing::warn!(
                error = %err,
                "do-not-contact look-up of the batch failed: each request checks on its own"
            ),
        }
    }

    /// Checks the list and, when caps bind the chat, reserves its places: at most one round
    /// trip. `fallback_token` marks the reservation of a chat without a client token.
    pub async fn check(
        &self,
        chat: &OutboundChat,
        screened: &Screened,
        fallback_token: &str,
        now: SystemTime,
    ) -> Result<Verdict, StateError> {
        let recipient = self.recipient(chat.destination());
        let known = screened.get(&recipient);
        if known.as_ref().is_some_and(|l| l.covers(chat.channel())) {
            return Ok(Verdict::Suppressed(SuppressReason::DoNotContact));
        }
        let category = chat.category().unwrap_or(self.config.default_category);
        let seconds = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        let counters = self
            .config
            .caps
            .as_ref()
            .map(|caps| caps.counters(chat.channel(), category, seconds))
            .unwrap_or_default();
        if counters.is_empty() {
            let listed = match known {
                Some(listing) => listing,
                None => self
                    .state
                    .listings(std::slice::from_ref(&recipient))
                    .await?
                    .remove(&recipient)
                    .unwrap_or_default(),
            };
            return Ok(if listed.covers(chat.channel()) {
                Verdict::Suppressed(SuppressReason::DoNotContact)
            } else {
                Verdict::Clear(None)
            });
        }
        let token = chat.client_token().map_or(fallback_token, |t| t.as_str());
        let reservation = Reservation {
            recipient,
            channel: chat.channel(),
            holder: holder_of(token),
            counters,
        };
        Ok(match self.state.reserve(&reservation).await? {
            Reserved::Held => Verdict::Clear(Some(reservation)),
            Reserved::OverCap => Verdict::Suppressed(SuppressReason::FrequencyCap),
            Reserved::Listed => Verdict::Suppressed(SuppressReason::DoNotContact),
        })
    }

    /// Gives a reservation's places back. A failure is logged: the places then expire with
    /// their bucket.
    pub async fn release(&self, reservation: &Reservation) {
        if let Err(err) = self.state.release(reservation).await {
            tracing::warn!(error = %err, "a reservation could not be given back: it expires with its window");
        }
    }

    /// Adds entries to the do-not-contact list (`scope` `None`: every channel).
    pub async fn add(
        &self,
        entries: &[(DestinationNumber, Option<ListScope>)],
    ) -> Result<(), StateError> {
        let change = ListChange::Add(
            entries
                .iter()
                .map(|(number, scope)| (self.recipient(number), scope.unwrap_or(ListScope::All)))
                .collect(),
        );
        self.state.change_list(&change).await
    }

    /// Removes entries from the list (`scope` `None`: every entry of the number).
    pub async fn remove(
        &self,
        entries: &[(DestinationNumber, Option<ListScope>)],
    ) -> Result<(), StateError> {
        let change = ListChange::Remove(
            entries
                .iter()
                .map(|(number, scope)| (self.recipient(number), *scope))
                .collect(),
        );
        self.state.change_list(&change).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use futures::future::BoxFuture;

    use super::*;
    use crate::domain::Category;
    use crate::policy::{CapPolicy, CapRules, CapScope, RecipientKey};
    use crate::store::StateError;

    /// A state port that answers from a script and logs what it was asked.
    #[derive(Default)]
    struct FakeState {
        listed: HashMap<RecipientId, Listing>,
        verdict: Option<Reserved>,
        calls: Mutex<Vec<&'static str>>,
    }

    impl RecipientState for FakeState {
        fn listings<'a>(
            &'a self,
            recipients: &'a [RecipientId],
        ) -> BoxFuture<'a, Result<HashMap<RecipientId, Listing>, StateError>> {
            self.calls.lock().unwrap().push("listings");
            let found = recipients
                .iter()
                .filter_map(|r| self.listed.get(r).map(|l| (r.clone(), l.clone())))
                .collect();
            Box::pin(async move { Ok(found) })
        }

        fn reserve<'a>(
            &'a self,
            _: &'a Reservation,
        ) -> BoxFuture<'a, Result<Reserved, StateError>> {
            self.calls.lock().unwrap().push("reserve");
            let verdict = self.verdict.ok_or(StateError {
                message: "down".into(),
            });
            Box::pin(async move { verdict })
        }

        fn release<'a>(&'a self, _: &'a Reservation) -> BoxFuture<'a, Result<(), StateError>> {
            Box::pin(async { Ok(()) })
        }

        fn change_list<'a>(&'a self, _: &'a ListChange) -> BoxFuture<'a, Result<(), StateError>> {
            Box::pin(async { Ok(()) })
        }
    }

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    fn chat(category: &str) -> OutboundChat {
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
            r#"{{"to": "+14255550100", "message": {{"content": "hi"}}, "category": "{category}"}}"#
        );
        let request = crate::intake::wire::from_json(&text).unwrap();
        OutboundChat::from_input(request.input, request.names, &defaults).unwrap()
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

    fn listed(scope: &str) -> FakeState {
        let number = DestinationNumber::parse("+14255550100").unwrap();
        let recipient = RecipientKey::parse(KEY).unwrap().recipient(&number);
        FakeState {
            listed: HashMap::from([(recipient, Listing::from_names([scope]))]),
            verdict: Some(Reserved::Held),
            ..Default::default()
        }
    }

    async fn verdict(protection: &Protection, chat: &OutboundChat, screened: &Screened) -> String {
        match protection
            .check(chat, screened, "r-1", SystemTime::now())
            .await
        {
            Ok(Verdict::Clear(Some(_))) => "reserved".into(),
            Ok(Verdict::Clear(None)) => "clear".into(),
            Ok(Verdict::Suppressed(reason)) => reason.as_str().into(),
            Err(_) => "unavailable".into(),
        }
    }

    #[tokio::test]
    async fn a_screened_listing_suppresses_without_another_call() {
        let (protection, state) = protection(listed("SMS"));
        let screened = Screened::default();
        let promotion = chat("PROMOTIONAL");
        protection.screen([&promotion], &screened).await;
        assert_eq!(
            verdict(&protection, &promotion, &screened).await,
            "DO_NOT_CONTACT"
        );
        assert_eq!(*state.calls.lock().unwrap(), ["listings"]);
    }

    #[tokio::test]
    async fn each_request_costs_one_call_whether_the_caps_bind_it_or_not() {
        let cases = [
            ("TRANSACTIONAL", FakeState::default(), "clear", "listings"),
            ("TRANSACTIONAL", listed("ALL"), "DO_NOT_CONTACT", "listings"),
            ("TRANSACTIONAL", listed("WHATSAPP"), "clear", "listings"),
            (
                "PROMOTIONAL",
                FakeState {
                    verdict: Some(Reserved::Held),
                    ..Default::default()
                },
                "reserved",
                "reserve",
            ),
            (
                "PROMOTIONAL",
                FakeState {
                    verdict: Some(Reserved::OverCap),
                    ..Default::default()
                },
                "FREQUENCY_CAP",
                "reserve",
            ),
            (
                "PROMOTIONAL",
                FakeState {
                    verdict: Some(Reserved::Listed),
                    ..Default::default()
                },
                "DO_NOT_CONTACT",
                "reserve",
            ),
            (
                "PROMOTIONAL",
                FakeState::default(),
                "unavailable",
                "reserve",
            ),
        ];
        for (category, state, expected, call) in cases {
            let (protection, state) = protection(state);
            let got = verdict(&protection, &chat(category), &Screened::default()).await;
            assert_eq!(got, expected, "{category} {expected}");
            assert_eq!(
                *state.calls.lock().unwrap(),
                [call],
                "{category} {expected}"
            );
        }
    }
}
