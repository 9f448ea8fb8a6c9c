//! The validated domain: types that can only hold a request Connect will accept. The only way
//! in is [`OutboundChat::from_request`].

pub mod attributes;
pub mod ids;
pub mod message;
pub mod outbound;
pub mod phone;

pub use attributes::Channel;
pub use ids::ClientToken;
pub use outbound::{Defaults, OutboundChat, Reason, ValidationError, Violation};
pub use phone::DestinationNumber;
