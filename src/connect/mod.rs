//! The Connect port: the one capability the function needs from Amazon Connect, and the
//! classification of its failures. The SDK adapter lives in [`sdk`] (its client built from
//! what every SDK client shares, `aws/`); tests use fakes.

pub mod sdk;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::domain::OutboundChat;

/// The id of the contact Connect started.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContactId(String);

impl ContactId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why Connect did not start a contact, classified by what the caller should do about it.
/// Messages are Connect's, with anything that looks like a phone number masked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The API rate was exceeded, and stayed exceeded through the SDK's retries.
    #[error("Connect throttled the request: {message}")]
    Throttled { message: String },
    /// A Connect quota was reached (for chats: concurrent active chats). A backlog signal:
    /// retry later, not in a tight loop.
    #[error("Connect quota exceeded: {message}")]
    QuotaExceeded { message: String },
    /// A fault that may pass: a 5xx, a timeout, a dropped connection. Safe to retry with the
    /// same client token.
    #[error("Connect is unavailable: {message}")]
    Transient { message: String },
    /// Connect refused the request itself (invalid, not found, access denied): retrying the
    /// same request cannot succeed.
    #[error("Connect rejected the request ({code}): {message}")]
    Rejected { code: String, message: String },
    /// The request conflicts with another operation or with the contact's state
    /// (`ConflictException`). Not an idempotency clash; retrying the same request as it is
    /// would meet the same conflict.
    #[error("Connect reported a conflict with another operation or the contact's state: {message}")]
    Conflict { message: String },
    /// The client token was used before with a different request (`IdempotencyException`):
    /// the producer reused a `clientToken` for another message.
    #[error("Connect refused the client token: it was used with a different request: {message}")]
    Idempotency { message: String },
}

/// Starts outbound chat contacts. The chat carries its client token; implementations must send
/// it so that a retried request never starts a second contact.
///
/// Every port returns a [`BoxFuture`], the one future shape of the crate's ports: the queue and
/// the state are held as trait objects, and a boxed future per Connect call costs nothing
/// measurable beside the call.
pub trait ContactStarter: Send + Sync {
    fn start_contact<'a>(
        &'a self,
        chat: &'a OutboundChat,
    ) -> BoxFuture<'a, Result<ContactId, StartError>>;
}

/// A shared port is a port: one Connect client may serve several functions (and a test keeps
/// its fake while the function holds it).
impl<C: ContactStarter + ?Sized> ContactStarter for Arc<C> {
    fn start_contact<'a>(
        &'a self,
        chat: &'a OutboundChat,
    ) -> BoxFuture<'a, Result<ContactId, StartError>> {
        (**self).start_contact(chat)
    }
}
