//! Recipient protection at send time: the pure policy (the recipient's hash, the caps that bind
//! a request) bound to the state port (the do-not-contact list, the counters). Looks a batch up
//! at once, checks and reserves one request in one round trip, and gives a place back when its
//! request will never be sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::{Category, DestinationNumber, OutboundChat};
use crate::policy::{
    CapPolicy, ListScope, Listing, RecipientId, RecipientKey, SuppressReason, holder_of,
};
use crate::store::{ListChange, RecipientState, Reservation, Reserved, StateError};

/// What the configuration says about recipient protection (contract §6).
#[derive(Clone, Debug)]
pub struct ProtectionConfig {
    /// `STATE_TABLE_NAME`.
    pub table: String,
    /// `RECIPIENT_HASH_KEY`.
    pub key: RecipientKey,
    /// `FREQUENCY_CAPS`, `FREQUENCY_CAP_SCOPE`, `FREQUENCY_CAP_CATEGORIES`; `None` = no caps.
    pub caps: Option<CapPolicy>,
    /// `DEFAULT_CATEGORY`: the category of a request that names none.
    pub default_category: Category,
}

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
