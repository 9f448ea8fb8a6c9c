//! The recipient-state port: the do-not-contact list and the frequency-cap counters, kept in
//! DynamoDB by the adapter in [`dynamodb`] (its client's settings in [`client`]); and the
//! ledger of requests ([`ledger`], its adapter over the same table in [`ledger_dynamodb`]). The port
//! returns boxed futures so that the function holds it as `dyn`, off its generic parameters.

pub mod client;
pub mod dynamodb;
pub mod ledger;
pub mod ledger_dynamodb;

use std::collections::HashMap;

use futures::future::BoxFuture;

use crate::domain::Channel;
use crate::policy::{CapCounter, ListScope, Listing, RecipientId};

/// Why the state could not be read or written. Always transient for the request: it is not
/// sent unchecked, and its trigger retries it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the recipient state (DynamoDB) is unavailable: {message}")]
pub struct StateError {
    pub message: String,
}

/// A request's claim on its counters: one place in each, marked by its `holder` (the hash of
/// its client token) so that a redelivery finds its own place instead of taking another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub recipient: RecipientId,
    pub channel: Channel,
    pub holder: String,
    pub counters: Vec<CapCounter>,
}

/// What a reservation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// A place in every counter is held (taken now, or found from an earlier delivery).
    Held,
    /// A counter is full: nothing was taken.
    OverCap,
    /// The recipient is on the do-not-contact list for the channel: nothing was taken.
    Listed,
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
    /// The listings of `recipients` (each at most once), in as few round trips as the store
    /// allows. A recipient with no entry is absent from the answer.
    fn listings<'a>(
        &'a self,
        recipients: &'a [RecipientId],
    ) -> BoxFuture<'a, Result<HashMap<RecipientId, Listing>, StateError>>;

    /// Checks the list and takes a place in every counter, all or nothing, in one round trip.
    fn reserve<'a>(
        &'a self,
        reservation: &'a Reservation,
    ) -> BoxFuture<'a, Result<Reserved, StateError>>;

    /// Gives the reservation's places back (a request that will never be sent).
    fn release<'a>(&'a self, reservation: &'a Reservation)
    -> BoxFuture<'a, Result<(), StateError>>;

    /// Applies a change of the list, all or nothing.
    fn change_list<'a>(&'a self, change: &'a ListChange) -> BoxFuture<'a, Result<(), StateError>>;
}
