//! `OutboundChat`, the validated request, and the one conversion that builds it from either
//! wire form, collecting every violation with its field path.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::attributes::{Channel, ContactAttributes, SUBTYPE_KEY, SegmentAttributes, SegmentValue};
use super::ids::{
    ChatDuration, ClientToken, ContactFlowId, DisplayName, InstanceId, RelatedContactId,
    RequestIdentifier, TemplateRef,
};
use super::message::{
    InitialMessage, MessageContentType, SupportedContentType, SystemMessage, TemplatedMessage,
};
use super::phone::{DestinationNumber, PhoneNumberArn};
use crate::request::{FriendlyRequest, NativeRequest, SegmentValueDto, SendRequest};

/// What a violation is about, in the terms of BatchPutContact's failure codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    MissingCustomerEndpoint,
    InvalidCustomerEndpoint,
    InvalidSystemEndpoint,
    InvalidAttributeKey,
    Invalid,
}

/// One broken rule: the field's path in the form the caller used, and a sentence to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
    pub reason: Reason,
}

impl Violation {
    pub fn new(field: impl Into<String>, message: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            reason,
        }
    }
}

/// Every rule a request broke. Never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    violations: Vec<Violation>,
    /// The channel the request asked for, when it could be read: operators filter logs and
    /// metrics by channel, refused requests included.
    channel: Option<Channel>,
}

impl ValidationError {
    pub fn single(violation: Violation) -> Self {
        Self {
            violations: vec![violation],
            channel: None,
        }
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    pub fn channel(&self) -> Option<Channel> {
        self.channel
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid request: ")?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if v.field.is_empty() {
                f.write_str(&v.message)?;
            } else {
                write!(f, "{}: {}", v.field, v.message)?;
            }
        }
        Ok(())
    }
}

/// Values configured for the function, used where a request leaves a field out.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub instance_id: Option<InstanceId>,
    pub contact_flow_id: Option<ContactFlowId>,
    pub sms_source: Option<PhoneNumberArn>,
    pub whatsapp_source: Option<PhoneNumberArn>,
    pub chat_duration: Option<ChatDuration>,
}

/// A request that satisfies every rule of the contract and of Connect's API: what the Connect
/// port sends. Nothing after this point handles raw strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundChat {
    channel: Channel,
    destination: DestinationNumber,
    source: PhoneNumberArn,
    instance_id: InstanceId,
    contact_flow_id: ContactFlowId,
    initial_message: Option<InitialMessage>,
    attributes: ContactAttributes,
    segment_attributes: SegmentAttributes,
    chat_duration: Option<ChatDuration>,
    display_name: Option<DisplayName>,
    related_contact_id: Option<RelatedContactId>,
    supported_content_types: Option<Vec<SupportedContentType>>,
    client_token: Option<ClientToken>,
    request_identifier: Option<RequestIdentifier>,
    expires_at: Option<OffsetDateTime>,
}

impl OutboundChat {
    /// The one conversion from a wire request: fills configured defaults and reports every
    /// violation at once.
    pub fn from_request(
        request: SendRequest,
        defaults: &Defaults,
    ) -> Result<Self, ValidationError> {
        match request {
            SendRequest::Friendly(r) => Draft::friendly(*r).validate(defaults),
            SendRequest::Native(r) => Draft::native(*r).validate(defaults),
        }
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }
    pub fn destination(&self) -> &DestinationNumber {
        &self.destination
    }
    pub fn source(&self) -> &PhoneNumberArn {
        &self.source
    }
    pub fn instance_id(&self) -> &InstanceId {
        &self.instance_id
    }
    pub fn contact_flow_id(&self) -> &ContactFlowId {
        &self.contact_flow_id
    }
    pub fn initial_message(&self) -> Option<&InitialMessage> {
        self.initial_message.as_ref()
    }
    pub fn attributes(&self) -> &ContactAttributes {
        &self.attributes
    }
    /// Segment attributes besides `connect:Subtype`, which [`Channel::subtype`] gives.
    pub fn segment_attributes(&self) -> &SegmentAttributes {
        &self.segment_attributes
    }
    pub fn chat_duration(&self) -> Option<ChatDuration> {
        self.chat_duration
    }
    pub fn display_name(&self) -> Option<&DisplayName> {
        self.display_name.as_ref()
    }
    pub fn related_contact_id(&self) -> Option<&RelatedContactId> {
        self.related_contact_id.as_ref()
    }
    pub fn supported_content_types(&self) -> Option<&[SupportedContentType]> {
        self.supported_content_types.as_deref()
    }
    pub fn client_token(&self) -> Option<&ClientToken> {
        self.client_token.as_ref()
    }
    pub fn request_identifier(&self) -> Option<&RequestIdentifier> {
        self.request_identifier.as_ref()
    }
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// Whether the request's `expiresAt` has passed at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at
            .is_some_and(|at| OffsetDateTime::from(now) >= at)
    }

    /// Uses `token` as the idempotency key unless the request brought its own, which wins
    /// (contract §3).
    pub fn with_token_fallback(mut self, token: ClientToken) -> Self {
        self.client_token.get_or_insert(token);
        self
    }
}

/// Field names as the caller wrote them, so a violation names the field they can find.
struct Names {
    channel: &'static str,
    to: &'static str,
    to_type: &'static str,
    from: &'static str,
    from_type: &'static str,
    instance_id: &'static str,
    contact_flow_id: &'static str,
    message: &'static str,
    message_content: &'static str,
    message_content_type: &'static str,
    template: &'static str,
    knowledge_base_id: &'static str,
    message_template_id: &'static str,
    template_attributes: &'static str,
    custom_attributes: &'static str,
    customer_profile_attributes: &'static str,
    attributes: &'static str,
    segment_attributes: &'static str,
    chat_duration: &'static str,
    display_name: &'static str,
    related_contact_id: &'static str,
    supported_content_types: &'static str,
    client_token: &'static str,
    request_identifier: &'static str,
    expires_at: &'static str,
}

const FRIENDLY: Names = Names {
    channel: "channel",
    to: "to",
    to_type: "to",
    from: "from",
    from_type: "from",
    instance_id: "instanceId",
    contact_flow_id: "contactFlowId",
    message: "message",
    message_content: "message.content",
    message_content_type: "message.contentType",
    template: "template",
    knowledge_base_id: "template.knowledgeBaseId",
    message_template_id: "template.messageTemplateId",
    template_attributes: "template",
    custom_attributes: "template.customAttributes",
    customer_profile_attributes: "template.customerProfileAttributes",
    attributes: "attributes",
    segment_attributes: "segmentAttributes",
    chat_duration: "chatDurationInMinutes",
    display_name: "displayName",
    related_contact_id: "relatedContactId",
    supported_content_types: "supportedMessagingContentTypes",
    client_token: "clientToken",
    request_identifier: "requestIdentifier",
    expires_at: "expiresAt",
};

const NATIVE: Names = Names {
    channel: "SegmentAttributes.connect:Subtype",
    to: "DestinationEndpoint.Address",
    to_type: "DestinationEndpoint.Type",
    from: "SourceEndpoint.Address",
    from_type: "SourceEndpoint.Type",
    instance_id: "InstanceId",
    contact_flow_id: "ContactFlowId",
    message: "InitialSystemMessage",
    message_content: "InitialSystemMessage.Content",
    message_content_type: "InitialSystemMessage.ContentType",
    template: "InitialTemplatedSystemMessage",
    knowledge_base_id: "InitialTemplatedSystemMessage.KnowledgeBaseId",
    message_template_id: "InitialTemplatedSystemMessage.MessageTemplateId",
    template_attributes: "InitialTemplatedSystemMessage.TemplateAttributes",
    custom_attributes: "InitialTemplatedSystemMessage.TemplateAttributes.CustomAttributes",
    customer_profile_attributes: "InitialTemplatedSystemMessage.TemplateAttributes.CustomerProfileAttributes",
    attributes: "Attributes",
    segment_attributes: "SegmentAttributes",
    chat_duration: "ChatDurationInMinutes",
    display_name: "ParticipantDetails.DisplayName",
    related_contact_id: "RelatedContactId",
    supported_content_types: "SupportedMessagingContentTypes",
    client_token: "ClientToken",
    request_identifier: "RequestIdentifier",
    expires_at: "ExpiresAt",
};

/// The template part of a draft.
struct DraftTemplate {
    knowledge_base_id: Option<String>,
    message_template_id: Option<String>,
    /// `false` only for a native template without its required `TemplateAttributes`.
    has_attributes: bool,
    custom_attributes: Option<BTreeMap<String, String>>,
    /// Already serialized, or the reason it cannot be.
    customer_profile_attributes: Option<Result<String, String>>,
}

/// Both wire forms brought to one shape, so that one function holds every rule.
struct Draft {
    names: &'static Names,
    channel: Option<String>,
    to: Option<String>,
    to_type: Option<String>,
    from: Option<String>,
    from_type: Option<String>,
    instance_id: Option<String>,
    contact_flow_id: Option<String>,
    message: Option<(Option<String>, Option<String>)>,
    template: Option<DraftTemplate>,
    attributes: Option<BTreeMap<String, String>>,
    segment_attributes: Option<BTreeMap<String, SegmentValueDto>>,
    chat_duration: Option<i64>,
    /// `Some(None)`: the native `ParticipantDetails` came without its required `DisplayName`.
    display_name: Option<Option<String>>,
    related_contact_id: Option<String>,
    supported_content_types: Option<Vec<String>>,
    client_token: Option<String>,
    request_identifier: Option<String>,
    expires_at: Option<String>,
}

impl Draft {
    fn friendly(r: FriendlyRequest) -> Self {
        Self {
            names: &FRIENDLY,
            channel: r.channel,
            to: r.to,
            to_type: None,
            from: r.from,
            from_type: None,
            instance_id: r.instance_id,
            contact_flow_id: r.contact_flow_id,
            message: r.message.map(|m| (m.content, m.content_type)),
            template: r.template.map(|t| DraftTemplate {
                knowledge_base_id: t.knowledge_base_id,
                message_template_id: t.message_template_id,
                has_attributes: true,
                custom_attributes: t.custom_attributes,
                customer_profile_attributes: t.customer_profile_attributes.map(|v| match v {
                    serde_json::Value::Object(_) => Ok(v.to_string()),
                    serde_json::Value::String(s) => profile_document(s),
                    _ => Err("must be a JSON object, or a string holding one".into()),
                }),
            }),
            attributes: r.attributes,
            segment_attributes: r.segment_attributes,
            chat_duration: r.chat_duration_in_minutes,
            display_name: r.display_name.map(Some),
            related_contact_id: r.related_contact_id,
            supported_content_types: r.supported_messaging_content_types,
            client_token: r.client_token,
            request_identifier: r.request_identifier,
            expires_at: r.expires_at,
        }
    }

    fn native(r: NativeRequest) -> Self {
        let (to_type, to) = r
            .destination_endpoint
            .map_or((None, None), |e| (e.kind, e.address));
        let (from_type, from) = match r.source_endpoint {
            Some(e) => (e.kind, e.address),
            None => (None, None),
        };
        Self {
            names: &NATIVE,
            channel: None,
            // The native form always names its endpoint types; a missing one is reported.
            to_type: Some(to_type.unwrap_or_default()),
            to,
            from_type: from.as_ref().map(|_| from_type.unwrap_or_default()),
            from,
            instance_id: r.instance_id,
            contact_flow_id: r.contact_flow_id,
            message: r
                .initial_system_message
                .map(|m| (m.content, m.content_type)),
            template: r.initial_templated_system_message.map(|t| {
                let has_attributes = t.template_attributes.is_some();
                let (custom, profile) = t.template_attributes.map_or((None, None), |a| {
                    (a.custom_attributes, a.customer_profile_attributes)
                });
                DraftTemplate {
                    knowledge_base_id: t.knowledge_base_id,
                    message_template_id: t.message_template_id,
                    has_attributes,
                    custom_attributes: custom,
                    customer_profile_attributes: profile.map(profile_document),
                }
            }),
            attributes: r.attributes,
            segment_attributes: r.segment_attributes,
            chat_duration: r.chat_duration_in_minutes,
            display_name: r.participant_details.map(|p| p.display_name),
            related_contact_id: r.related_contact_id,
            supported_content_types: r.supported_messaging_content_types,
            client_token: r.client_token,
            request_identifier: r.request_identifier,
            expires_at: r.expires_at,
        }
    }

    fn validate(self, defaults: &Defaults) -> Result<OutboundChat, ValidationError> {
        let n = self.names;
        let mut check = Check::default();

        // Channel: declared, or from segment attributes' connect:Subtype; they must agree.
        let declared = self
            .channel
            .as_deref()
            .and_then(|c| check.field(n.channel, Reason::Invalid, Channel::parse(c)));
        let mut segments = self.segment_attributes.unwrap_or_default();
        let subtype = segments.remove(SUBTYPE_KEY).and_then(|value| {
            let path = format!("{}.{SUBTYPE_KEY}", n.segment_attributes);
            let raw = match value.value_string {
                Some(s) => Ok(s),
                None => Err("must be a ValueString: connect:SMS or connect:WhatsApp".to_string()),
            };
            check.field(
                &path,
                Reason::Invalid,
                raw.and_then(|s| Channel::from_subtype(&s)),
            )
        });
        if let (Some(declared), Some(subtype)) = (declared, subtype) {
            if declared != subtype {
                check.push(
                    format!("{}.{SUBTYPE_KEY}", n.segment_attributes),
                    format!(
                        "{} contradicts channel {}",
                        subtype.subtype(),
                        declared.as_str()
                    ),
                    Reason::Invalid,
                );
            }
        }
        let channel_ok = self.channel.is_none() || declared.is_some();
        let channel = declared.or(subtype).unwrap_or(Channel::Sms);

        // Destination.
        if let Some(kind) = &self.to_type {
            if kind != "TELEPHONE_NUMBER" {
                check.push(
                    n.to_type,
                    "must be TELEPHONE_NUMBER",
                    Reason::InvalidCustomerEndpoint,
                );
            }
        }
        let destination = match &self.to {
            None => {
                check.push(
                    n.to,
                    "is required: the customer's phone number in E.164",
                    Reason::MissingCustomerEndpoint,
                );
                None
            }
            Some(to) => check.field(
                n.to,
                Reason::InvalidCustomerEndpoint,
                DestinationNumber::parse(to),
            ),
        };

        // Source, instance and flow: the request's, else the configured defaults.
        if let Some(kind) = &self.from_type {
            if kind != "CONNECT_PHONENUMBER_ARN" {
                check.push(
                    n.from_type,
                    "must be CONNECT_PHONENUMBER_ARN",
                    Reason::InvalidSystemEndpoint,
                );
            }
        }
        let source = match &self.from {
            Some(from) => check.field(
                n.from,
                Reason::InvalidSystemEndpoint,
                PhoneNumberArn::parse(from),
            ),
            None => {
                let (configured, variable) = match channel {
                    Channel::Sms => (&defaults.sms_source, "SMS_SOURCE_PHONE_NUMBER_ARN"),
                    Channel::WhatsApp => (
                        &defaults.whatsapp_source,
                        "WHATSAPP_SOURCE_PHONE_NUMBER_ARN",
                    ),
                };
                if configured.is_none() && channel_ok {
                    check.push(
                        n.from,
                        format!(
                            "is required: no {variable} is configured for {}",
                            channel.as_str()
                        ),
                        Reason::InvalidSystemEndpoint,
                    );
                }
                configured.clone()
            }
        };
        let instance_id = match &self.instance_id {
            Some(id) => check.field(n.instance_id, Reason::Invalid, InstanceId::parse(id)),
            None => {
                if defaults.instance_id.is_none() {
                    check.push(
                        n.instance_id,
                        "is required: no CONNECT_INSTANCE_ID is configured",
                        Reason::Invalid,
                    );
                }
                defaults.instance_id.clone()
            }
        };
        let contact_flow_id = match &self.contact_flow_id {
            Some(id) => check.field(n.contact_flow_id, Reason::Invalid, ContactFlowId::parse(id)),
            None => {
                if defaults.contact_flow_id.is_none() {
                    check.push(
                        n.contact_flow_id,
                        "is required: no CONNECT_CONTACT_FLOW_ID is configured",
                        Reason::Invalid,
                    );
                }
                defaults.contact_flow_id.clone()
            }
        };

        // The initial message.
        if self.message.is_some() && self.template.is_some() {
            check.push(
                n.template,
                format!(
                    "cannot be combined with {}: send one or the other",
                    n.message
                ),
                Reason::Invalid,
            );
        }
        if self.message.is_some() && channel == Channel::WhatsApp {
            check.push(
                n.message,
                format!(
                    "a business-initiated WhatsApp message must use a template: send {} instead",
                    n.template
                ),
                Reason::Invalid,
            );
        }
        let message = self.message.map(|(content, content_type)| {
            let content_type = match content_type {
                None if n.message == FRIENDLY.message => Some(MessageContentType::TextPlain),
                None => {
                    check.push(n.message_content_type, "is required", Reason::Invalid);
                    None
                }
                Some(t) => check.field(
                    n.message_content_type,
                    Reason::Invalid,
                    MessageContentType::parse(&t),
                ),
            };
            match (content, content_type) {
                (None, _) => {
                    check.push(n.message_content, "is required", Reason::Invalid);
                    None
                }
                (Some(content), Some(t)) => check.field(
                    n.message_content,
                    Reason::Invalid,
                    SystemMessage::new(t, content),
                ),
                (Some(_), None) => None,
            }
        });
        let template = self.template.map(|t| {
            let kb = required(
                &mut check,
                n.knowledge_base_id,
                t.knowledge_base_id.as_deref(),
                TemplateRef::parse,
            );
            let id = required(
                &mut check,
                n.message_template_id,
                t.message_template_id.as_deref(),
                TemplateRef::parse,
            );
            if !t.has_attributes {
                check.push(
                    n.template_attributes,
                    "is required (it may hold empty CustomAttributes)",
                    Reason::Invalid,
                );
            }
            let profile = t
                .customer_profile_attributes
                .and_then(|p| check.field(n.customer_profile_attributes, Reason::Invalid, p));
            match (kb, id) {
                (Some(kb), Some(id)) => Some(TemplatedMessage {
                    knowledge_base_id: kb.as_str().to_owned(),
                    message_template_id: id.as_str().to_owned(),
                    custom_attributes: t.custom_attributes.unwrap_or_default(),
                    customer_profile_attributes: profile,
                }),
                _ => None,
            }
        });
        let initial_message = match (message, template) {
            (Some(Some(m)), None) => Some(InitialMessage::System(m)),
            (None, Some(Some(t))) => Some(InitialMessage::Template(t)),
            _ => None,
        };
        let _ = n.custom_attributes; // custom attributes are free-form string maps

        // Attributes.
        let attributes = match ContactAttributes::new(self.attributes.unwrap_or_default()) {
            Ok(a) => Some(a),
            Err(problems) => {
                for (key, problem) in problems {
                    check.push(
                        format!("{}.{key}", n.attributes),
                        problem,
                        Reason::InvalidAttributeKey,
                    );
                }
                None
            }
        };
        let segment_attributes = {
            let mut converted = BTreeMap::new();
            for (key, dto) in segments {
                let path = format!("{}.{key}", n.segment_attributes);
                if let Some(value) = segment_value(&mut check, &path, dto) {
                    converted.insert(key, value);
                }
            }
            match SegmentAttributes::new(converted) {
                Ok(s) => Some(s),
                Err(problems) => {
                    for (key, problem) in problems {
                        check.push(
                            format!("{}.{key}", n.segment_attributes),
                            problem,
                            Reason::InvalidAttributeKey,
                        );
                    }
                    None
                }
            }
        };

        // The rest of the optional members.
        let chat_duration = match self.chat_duration {
            Some(minutes) => {
                check.field(n.chat_duration, Reason::Invalid, ChatDuration::new(minutes))
            }
            None => defaults.chat_duration,
        };
        let display_name = self.display_name.map(|name| match name {
            Some(name) => check.field(n.display_name, Reason::Invalid, DisplayName::parse(&name)),
            None => {
                check.push(
                    n.display_name,
                    "is required when ParticipantDetails is given",
                    Reason::Invalid,
                );
                None
            }
        });
        let related_contact_id = optional(
            &mut check,
            n.related_contact_id,
            self.related_contact_id,
            RelatedContactId::parse,
        );
        let supported_content_types = self.supported_content_types.map(|types| {
            let parsed: Vec<_> = types
                .iter()
                .filter_map(|t| {
                    check.field(
                        n.supported_content_types,
                        Reason::Invalid,
                        SupportedContentType::parse(t),
                    )
                })
                .collect();
            if !types.iter().any(|t| t == "text/plain") {
                check.push(
                    n.supported_content_types,
                    "must contain text/plain",
                    Reason::Invalid,
                );
            }
            parsed
        });
        let client_token = optional(
            &mut check,
            n.client_token,
            self.client_token,
            ClientToken::parse,
        );
        let request_identifier = optional(
            &mut check,
            n.request_identifier,
            self.request_identifier,
            RequestIdentifier::parse,
        );
        let expires_at = self.expires_at.and_then(|at| {
            let parsed = OffsetDateTime::parse(&at, &Rfc3339)
                .map_err(|_| "must be an RFC 3339 time such as 2026-11-23T09:00:00Z".to_string());
            check.field(n.expires_at, Reason::Invalid, parsed)
        });

        if !check.violations.is_empty() {
            return Err(ValidationError {
                violations: check.violations,
                channel: channel_ok.then_some(channel),
            });
        }
        // Every `None` below was recorded as a violation above, so these cannot fail.
        let (
            Some(destination),
            Some(source),
            Some(instance_id),
            Some(contact_flow_id),
            Some(attributes),
            Some(segment_attributes),
        ) = (
            destination,
            source,
            instance_id,
            contact_flow_id,
            attributes,
            segment_attributes,
        )
        else {
            unreachable!("a missing member is always a recorded violation");
        };
        Ok(OutboundChat {
            channel,
            destination,
            source,
            instance_id,
            contact_flow_id,
            initial_message,
            attributes,
            segment_attributes,
            chat_duration,
            display_name: display_name.flatten(),
            related_contact_id: related_contact_id.flatten(),
            supported_content_types,
            client_token: client_token.flatten(),
            request_identifier: request_identifier.flatten(),
            expires_at,
        })
    }
}

/// A customer-profile document given as a string must hold a JSON object.
fn profile_document(text: String) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        _ => Err("must be a JSON object (or a string holding one)".into()),
    }
}

/// Converts one `SegmentAttributeValue`, which must set exactly one member.
fn segment_value(check: &mut Check, path: &str, dto: SegmentValueDto) -> Option<SegmentValue> {
    let set = [
        dto.value_string.is_some(),
        dto.value_integer.is_some(),
        dto.value_map.is_some(),
        dto.value_list.is_some(),
        dto.value_arn.is_some(),
    ]
    .into_iter()
    .filter(|s| *s)
    .count();
    if set != 1 {
        check.push(
            path,
            "must set exactly one of ValueString, ValueInteger, ValueMap, ValueList, ValueArn",
            Reason::Invalid,
        );
        return None;
    }
    if let Some(s) = dto.value_string {
        Some(SegmentValue::String(s))
    } else if let Some(i) = dto.value_integer {
        let int = i32::try_from(i).map_err(|_| "ValueInteger must fit in 32 bits".to_string());
        check
            .field(path, Reason::Invalid, int)
            .map(SegmentValue::Integer)
    } else if let Some(map) = dto.value_map {
        let mut out = BTreeMap::new();
        for (key, inner) in map {
            let inner_path = format!("{path}.ValueMap.{key}");
            out.insert(key, segment_value(check, &inner_path, inner)?);
        }
        Some(SegmentValue::Map(out))
    } else if let Some(list) = dto.value_list {
        let items: Option<Vec<_>> = list
            .into_iter()
            .enumerate()
            .map(|(i, inner)| segment_value(check, &format!("{path}.ValueList[{i}]"), inner))
            .collect();
        items.map(SegmentValue::List)
    } else {
        dto.value_arn.map(SegmentValue::Arn)
    }
}

fn required<T>(
    check: &mut Check,
    path: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    match raw {
        None => {
            check.push(path, "is required", Reason::Invalid);
            None
        }
        Some(raw) => check.field(path, Reason::Invalid, parse(raw)),
    }
}

/// `None` when absent, `Some(None)` when present and invalid (recorded).
fn optional<T>(
    check: &mut Check,
    path: &str,
    raw: Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<Option<T>> {
    raw.map(|raw| check.field(path, Reason::Invalid, parse(&raw)))
}

/// Collects violations while the conversion goes on.
#[derive(Default)]
struct Check {
    violations: Vec<Violation>,
}

impl Check {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>, reason: Reason) {
        self.violations.push(Violation::new(field, message, reason));
    }

    fn field<T>(&mut self, field: &str, reason: Reason, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|message| self.push(field, message, reason))
            .ok()
    }
}
