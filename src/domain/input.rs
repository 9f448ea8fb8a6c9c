//! A send request as it arrived, before any rule ran: raw values in one shape for both wire
//! forms, and the table of field names the caller's form uses, so that a violation names the
//! field the caller can find. The wire side fills both; the domain reads them.

use std::collections::BTreeMap;

/// Where each member of a request sits in the caller's form (`template.messageTemplateId` or
/// `InitialTemplatedSystemMessage.MessageTemplateId`). The wire side owns one table per form.
#[derive(Debug)]
pub struct FieldNames {
    pub channel: &'static str,
    pub to: &'static str,
    pub to_type: &'static str,
    pub from: &'static str,
    pub from_type: &'static str,
    pub instance_id: &'static str,
    pub contact_flow_id: &'static str,
    pub message: &'static str,
    pub message_content: &'static str,
    pub message_content_type: &'static str,
    pub template: &'static str,
    pub knowledge_base_id: &'static str,
    pub message_template_id: &'static str,
    pub template_attributes: &'static str,
    pub custom_attributes: &'static str,
    pub customer_profile_attributes: &'static str,
    pub attributes: &'static str,
    pub segment_attributes: &'static str,
    pub chat_duration: &'static str,
    pub display_name: &'static str,
    pub related_contact_id: &'static str,
    pub supported_content_types: &'static str,
    pub client_token: &'static str,
    pub request_identifier: &'static str,
    pub expires_at: &'static str,
}

/// One request's raw members. `None` is an absent member.
#[derive(Debug, Default)]
pub struct RequestInput {
    pub channel: Option<String>,
    pub to: Option<String>,
    /// The destination's endpoint type, where the form names one (native only).
    pub to_type: Option<String>,
    pub from: Option<String>,
    /// The source's endpoint type, where the form names one (native only).
    pub from_type: Option<String>,
    pub instance_id: Option<String>,
    pub contact_flow_id: Option<String>,
    pub message: Option<MessageInput>,
    pub template: Option<TemplateInput>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub segment_attributes: Option<BTreeMap<String, SegmentInput>>,
    pub chat_duration: Option<i64>,
    /// `Some(None)`: a native `ParticipantDetails` without its required `DisplayName`.
    pub display_name: Option<Option<String>>,
    pub related_contact_id: Option<String>,
    pub supported_content_types: Option<Vec<String>>,
    pub client_token: Option<String>,
    pub request_identifier: Option<String>,
    pub expires_at: Option<String>,
}

/// The initial system message, raw. A form with a default content type fills it in.
#[derive(Debug, Default)]
pub struct MessageInput {
    pub content: Option<String>,
    pub content_type: Option<String>,
}

/// The template part, raw.
#[derive(Debug, Default)]
pub struct TemplateInput {
    pub knowledge_base_id: Option<String>,
    pub message_template_id: Option<String>,
    /// `false` only for a native template without its required `TemplateAttributes`.
    pub has_attributes: bool,
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// A JSON document as text (checked by the domain), or the wire side's sentence for a
    /// value of the wrong JSON type.
    pub customer_profile_attributes: Option<Result<String, String>>,
}

/// Connect's `SegmentAttributeValue`, raw and recursive: exactly one member must be set.
#[derive(Clone, Debug, Default)]
pub struct SegmentInput {
    pub value_string: Option<String>,
    pub value_integer: Option<i64>,
    pub value_map: Option<BTreeMap<String, SegmentInput>>,
    pub value_list: Option<Vec<SegmentInput>>,
    pub value_arn: Option<String>,
}
