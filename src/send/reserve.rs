//! The batch's reservation: from one read of the listings and counts its requests need, each
//! request's decision in batch order (listed, over a cap, a place found or taken, or given back
//! when the send window holds it back), then one write of every count that changed. A write
//! cancelled because a count changed under it is decided again with the count as it is now
//! (the cancellation says so), and written again: the loser of a race sees the winner's send.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::domain::{Channel, ClientToken};
use crate::policy::{Admission, CapPolicy, RecipientId, Sends, SuppressReason};
use crate::store::ledger::LedgerEntry;
use crate::store::{
    CapKey, ItemVerdict, MAX_WRITE_ITEMS, RecipientState, StateError, StateRead, WriteItem, Written,
};

/// Writes of one group of recipients, the first included: a race lost twice in a row is rare,
/// three times a sign of a hot recipient better retried later.
pub const WRITE_ATTEMPTS: usize = 4;

/// One request as the reservation sees it.
#[derive(Clone, Debug)]
pub struct Planned {
    pub request_id: String,
    pub recipient: RecipientId,
    pub channel: Channel,
    /// The count it is capped in and its mark, when caps bind it.
    pub count: Option<(CapKey, String)>,
    /// The send window or its expiry holds it back: it takes no place, and gives back one an
    /// earlier delivery took.
    pub held_back: bool,
}

/// A place a request holds in its count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub key: CapKey,
    pub holder: String,
    /// Taken by this delivery; else found, taken by an earlier delivery of the same request.
    pub taken: bool,
}

/// What the reservation decided for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not listed, and no cap binds it.
    Clear,
    /// Not listed, and a place is held for it.
    Held(Place),
    Suppressed(SuppressReason),
    /// Held back by its window or expiry: nothing held for it.
    HeldBack,
    Unavailable(StateError),
}

/// What a batch's screening found: each request's decision, and the ledger entries of the
/// tokens asked for (`None` when the read failed: each request then looks itself up).
pub type Screening = (
    Vec<(String, Decision)>,
    Option<HashMap<String, LedgerEntry>>,
);

/// Reads what `planned` needs (and the ledger entries of `entries`, in the same read), decides
/// each request and writes the changed counts.
pub async fn reserve(
    caps: Option<&CapPolicy>,
    state: &dyn RecipientState,
    planned: &[Planned],
    now: i64,
    entries: &[ClientToken],
) -> Screening {
    let recipients: BTreeSet<&RecipientId> = planned
        .iter()
        .filter(|p| !p.held_back)
        .map(|p| &p.recipient)
        .collect();
    let counts: BTreeSet<&CapKey> = planned
        .iter()
        .filter_map(|p| p.count.as_ref().map(|(key, _)| key))
        .collect();
    if recipients.is_empty() && counts.is_empty() && entries.is_empty() {
        return (all(planned, |_| Decision::HeldBack), None);
    }
    let recipients: Vec<RecipientId> = recipients.into_iter().cloned().collect();
    let counts: Vec<CapKey> = counts.into_iter().cloned().collect();
    let mut read = match state.read(&recipients, &counts, entries).await {
        Ok(read) => read,
        Err(err) => return (all(planned, |_| Decision::Unavailable(err.clone())), None),
    };
    let found = std::mem::take(&mut read.entries);
    let groups = groups(planned);
    let runs = groups
        .iter()
        .map(|group| settle(caps, state, group, &read, now));
    let decisions = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    (decisions, Some(found))
}

/// Every request's decision: `HeldBack` for those held back, else `decision`.
pub fn all(
    planned: &[Planned],
    decision: impl Fn(&Planned) -> Decision,
) -> Vec<(String, Decision)> {
    planned
        .iter()
        .map(|p| {
            let decided = if p.held_back {
                Decision::HeldBack
            } else {
                decision(p)
            };
            (p.request_id.clone(), decided)
        })
        .collect()
}

/// The requests in groups whose writes fit one write each, a recipient's requests together
/// (its counts and its listing check are written at once) and in batch order.
fn groups(planned: &[Planned]) -> Vec<Vec<&Planned>> {
    let mut by_recipient: BTreeMap<&RecipientId, Vec<&Planned>> = BTreeMap::new();
    for p in planned {
        by_recipient.entry(&p.recipient).or_default().push(p);
    }
    let mut groups: Vec<Vec<&Planned>> = Vec::new();
    let mut items = 0;
    for requests in by_recipient.into_values() {
        // At most each of its counts and one listing check.
        let counts: BTreeSet<_> = requests
            .iter()
            .filter_map(|p| p.count.as_ref())
            .map(|c| &c.0)
            .collect();
        let needs = counts.len() + 1;
        if groups.is_empty() || items + needs > MAX_WRITE_ITEMS {
            groups.push(Vec::new());
            items = 0;
        }
        items += needs;
        groups.last_mut().expect("a group").extend(requests);
    }
    groups
}

/// Decides one group and writes it, deciding again after each cancelled write.
async fn settle(
    caps: Option<&CapPolicy>,
    state: &dyn RecipientState,
    group: &[&Planned],
    read: &StateRead,
    now: i64,
) -> Vec<(String, Decision)> {
    let mut read = read.clone();
    for attempt in 1..=WRITE_ATTEMPTS {
        let (decisions, writes) = decide(caps, group, &read, now);
        if writes.is_empty() {
            return decisions;
        }
        let verdicts = match state.write(&writes).await {
            Ok(Written::Applied) => return decisions,
            Ok(Written::Cancelled(verdicts)) => verdicts,
            Err(err) => return unwritten(decisions, &err),
        };
        let mut conflict = false;
        for (item, verdict) in writes.iter().zip(verdicts) {
            match (item, verdict) {
                (WriteItem::Caps { key, .. }, ItemVerdict::Changed(now_is)) => {
                    read.caps.insert(key.clone(), now_is);
                }
                (WriteItem::NotListed { recipient, .. }, ItemVerdict::Listed(listing)) => {
                    read.listings.insert(recipient.clone(), listing);
                }
                (_, ItemVerdict::Conflict) => conflict = true,
                _ => {}
            }
        }
        if conflict {
            tokio::time::sleep(Duration::from_millis(10 * attempt as u64)).await;
        }
    }
    let (decisions, _) = decide(caps, group, &read, now);
    let err = StateError {
        message: "the counts kept changing under the reservation's writes".into(),
    };
    unwritten(decisions, &err)
}

/// The decisions of a group whose write did not happen: a place it would have taken is not
/// held, so its request is unavailable; everything else was decided on what was read.
fn unwritten(decisions: Vec<(String, Decision)>, err: &StateError) -> Vec<(String, Decision)> {
    decisions
        .into_iter()
        .map(|(id, decision)| match decision {
            Decision::Held(place) if place.taken => (id, Decision::Unavailable(err.clone())),
            other => (id, other),
        })
        .collect()
}

/// Each request's decision in batch order, on `read`, and the write that makes them hold.
pub fn decide(
    caps: Option<&CapPolicy>,
    group: &[&Planned],
    read: &StateRead,
    now: i64,
) -> (Vec<(String, Decision)>, Vec<WriteItem>) {
    let mut counts: BTreeMap<&CapKey, (Sends, bool)> = BTreeMap::new();
    let mut checks: BTreeMap<&RecipientId, BTreeSet<Channel>> = BTreeMap::new();
    let mut decisions = Vec::with_capacity(group.len());
    for p in group {
        let listed = read
            .listings
            .get(&p.recipient)
            .is_some_and(|listing| listing.covers(p.channel));
        let decision = match (&p.count, caps) {
            _ if listed && !p.held_back => Decision::Suppressed(SuppressReason::DoNotContact),
            (Some((key, holder)), Some(caps)) => {
                let (sends, changed) = counts.entry(key).or_insert_with(|| {
                    let mut sends = read
                        .caps
                        .get(key)
                        .map(|c| c.sends.clone())
                        .unwrap_or_default();
                    caps.prune(&mut sends, now);
                    (sends, false)
                });
                if p.held_back {
                    *changed |= sends.remove(holder).is_some();
                    Decision::HeldBack
                } else {
                    let place = |taken| Place {
                        key: key.clone(),
                        holder: holder.clone(),
                        taken,
                    };
                    match caps.admit(sends, holder, now) {
                        Admission::Found => Decision::Held(place(false)),
                        Admission::Taken => {
                            *changed = true;
                            checks.entry(&p.recipient).or_default().insert(p.channel);
                            Decision::Held(place(true))
                        }
                        Admission::Full => Decision::Suppressed(SuppressReason::FrequencyCap),
                    }
                }
            }
            _ if p.held_back => Decision::HeldBack,
            _ => Decision::Clear,
        };
        decisions.push((p.request_id.clone(), decision));
    }
    let mut writes: Vec<WriteItem> = counts
        .into_iter()
        .filter(|(_, (_, changed))| *changed)
        .map(|(key, (sends, _))| WriteItem::Caps {
            key: key.clone(),
            read_version: read.caps.get(key).and_then(|c| c.version),
            expires_at: caps.map_or(now, |caps| caps.expires_at(&sends, now)),
            sends,
        })
        .collect();
    writes.extend(
        checks
            .into_iter()
            .map(|(recipient, channels)| WriteItem::NotListed {
                recipient: recipient.clone(),
                channels: channels.into_iter().collect(),
            }),
    );
    (decisions, writes)
}
