//! The outcome-event port: publishes a request's status document each time its state or its
//! contact's status changes (contract §7). The SDK adapter over EventBridge's `PutEvents` lives
//! in [`sdk`]; tests use moto's EventBridge.

pub mod sdk;

use futures::future::BoxFuture;

/// The `source` of every outcome event.
pub const SOURCE: &str = "outbound-chat";
/// The `detail-type` of every outcome event.
pub const DETAIL_TYPE: &str = "Outbound Chat Request Updated";
/// Most entries of one `PutEvents` call.
pub const PER_CALL: usize = 10;

/// Why no event of a call was published. Messages are EventBridge's codes, never a detail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the outcome events could not be published: {message}")]
pub struct BusError {
    pub message: String,
}

/// Publishes outcome events.
pub trait OutcomeBus: Send + Sync {
    /// Publishes one event per detail (each a JSON document), in calls of at most
    /// [`PER_CALL`]. The answer says, in the order of `details`, which were published; an
    /// error means none of them is known to be.
    fn publish<'a>(&'a self, details: &'a [String]) -> BoxFuture<'a, Result<Vec<bool>, BusError>>;
}
