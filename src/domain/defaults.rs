//! The values configured for the function that fill what a request leaves out.

use super::ids::{ChatDuration, ContactFlowId, InstanceId};
use super::phone::PhoneNumberArn;

/// Values configured for the function, used where a request leaves a field out.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub instance_id: Option<InstanceId>,
    pub contact_flow_id: Option<ContactFlowId>,
    pub sms_source: Option<PhoneNumberArn>,
    pub whatsapp_source: Option<PhoneNumberArn>,
    pub chat_duration: Option<ChatDuration>,
}
