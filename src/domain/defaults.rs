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
    /// What an SMS may cost, and whether its text is made cheaper first.
    pub sms: SmsRules,
}

/// The SMS cost rules (`SMS_MAX_SEGMENTS`, `SMS_SMART_ENCODING`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmsRules {
    /// Most segments an SMS may take; `None`: no limit.
    pub max_segments: Option<u32>,
    /// Replace typographic characters that have a GSM-7 look-alike before counting and
    /// sending ([`super::sms::smart_encode`]).
    pub smart_encoding: bool,
}
