//! The validated domain: types that can only hold a request Connect will accept, and the rules
//! that build them, one file per section of a request. The only way in is
//! [`OutboundChat::from_input`], from a [`RequestInput`] that the wire side fills. Nothing here
//! knows the wire forms, the triggers, sending or telemetry.

mod arn;
mod attributes;
mod channel;
mod defaults;
mod endpoints;
mod ids;
mod message;
mod phone;
mod request;
mod segments;
mod sms;
mod violation;
mod zone;

pub use arn::parse_arn;
pub use channel::{Channel, SUBTYPE_KEY};
pub use defaults::{Defaults, SmsRules};
pub use endpoints::{EndpointInput, EndpointNames};
pub use ids::{ChatDuration, ClientToken, ContactFlowId, InstanceId, RequestIdentifier};
pub use message::InitialMessage;
pub use message::{MessageInput, MessageNames, TemplateInput};
pub use phone::{DestinationNumber, PhoneNumberArn, redact_phone_numbers};
pub use request::{Category, FieldNames, OutboundChat, RequestInput};
pub use segments::SegmentInput;
pub use segments::SegmentValue;
pub use sms::SmsCost;
pub use violation::{Reason, ValidationError, Violation};
pub use zone::RecipientTimeZone;
