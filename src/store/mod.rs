//! The recipient-state port: the do-not-contact list and the frequency-cap counts, kept in
//! DynamoDB by the adapter in [`dynamodb`] (its client's settings in [`client`]); and the
//! ledger of requests ([`ledger`], its adapter over the same table in [`ledger_dynamodb`]). The port
//! returns boxed futures so that the function holds it as `dyn`, off its generic parameters.

pub mod client;
pub mod dynamodb;
pub mod ledger;
pub mod ledger_dynamodb;
mod retry;
mod table;

use std::collections::HashMap;

use futures::future::BoxFuture;

use crate::domain::{Channel, ClientToken};
use crate::policy::{CountedIn, ListScope, Listing, RecipientId, Sends};
use ledger::LedgerEntry;

/// Why the state could not be read or written. Always transient for the request: it is not
/// sent unchecked, and its trigger retries it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the recipient state (DynamoDB) is unavailable: {message}")]
pub struct StateError {
    pub message: String,
}

/// Most items one write takes (DynamoDB's limit for one transaction).
pub const MAX_WRITE_ITEMS: usize = 100;

/// One count of a recipient's capped messages: one item in the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CapKey {
    pub recipient: RecipientId,
    pub counted_in: CountedIn,
}

/// A count as read: its sends, and the version a write of it must still find (`None`: there
/// was no item).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapItem {
    pub sends: Sends,
    pub version: Option<u64>,
}

/// What one read found: the listing of each recipient asked for that has one, and each count
/// asked for that exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateRead {
    pub listings: HashMap<RecipientId, Listing>,
    pub caps: HashMap<CapKey, CapItem>,
    /// The ledger entries asked for, by client token (the same table, the same read).
    pub entries: HashMap<String, LedgerEntry>,
}

/// One item of a write. A write is all or nothing; further kinds of item (entries of other
/// records of the same requests) may join it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteItem {
    /// Replaces a count's sends, if the count is still at the version read.
    Caps {
        key: CapKey,
        read_version: Option<u64>,
        sends: Sends,
        /// When nothing of it counts any more (Unix seconds): the item's time to live.
        expires_at: i64,
    },
    /// Checks that the recipient is listed neither for any of `channels` nor for all.
    NotListed {
        recipient: RecipientId,
        channels: Vec<Channel>,
    },
}

/// How a write went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    Applied,
    /// Nothing was written; why, item by item (in the write's order).
    Cancelled(Vec<ItemVerdict>),
}

/// Why one item of a cancelled write was not written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemVerdict {
    /// Nothing wrong with it: another item cancelled the write.
    Fine,
    /// Another write was under way on it: the same write may be tried again.
    Conflict,
    /// The count changed since it was read: this is it now.
    Changed(CapItem),
    /// The recipient is listed: this is the listing now.
    Listed(Listing),
}

/// A change of the do-not-contact list: entries added or removed for some recipients. A
/// removal with no scope removes every entry of the recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListChange {
    Add(Vec<(RecipientId, ListScope)>),
    Remove(Vec<(RecipientId, Option<ListScope>)>),
}

/// The recipient state the function reads and changes.
pub trait RecipientState: Send + Sync {
    /// The listings of `recipients` and the counts of `caps` (each at most once), all read
    /// consistently, in as few round trips as the store allows.
    fn read<'a>(
        &'a self,
        recipients: &'a [RecipientId],
        caps: &'a [CapKey],
        entries: &'a [ClientToken],
    ) -> BoxFuture<'a, Result<StateRead, StateError>>;

    /// Writes `items` (at most [`MAX_WRITE_ITEMS`]) all or nothing, in one round trip.
    fn write<'a>(&'a self, items: &'a [WriteItem]) -> BoxFuture<'a, Result<Written, StateError>>;

    /// Removes `holder`'s place from the count `key`, if it is there (a request that will not
    /// be sent by this delivery gives back what it held).
    fn give_back<'a>(
        &'a self,
        key: &'a CapKey,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<(), StateError>>;

    /// Applies a change of the list, all or nothing.
    fn change_list<'a>(&'a self, change: &'a ListChange) -> BoxFuture<'a, Result<(), StateError>>;
}
