//! A send request in the domain: [`RequestInput`], its raw members as either wire form brought
//! them (with the [`FieldNames`] of that form, which the wire side owns), [`OutboundChat`], the
//! validated request, and the one conversion between them, collecting every violation with its
//! field path. Adding a member touches this file, the wire forms, the Connect mapping (when it
//! is sent to Connect) and the tests.
//!
//! Where each member's rule lives:
//!
//! | member | rule in |
//! |---|---|
//! | channel, to, from, instanceId, contactFlowId | `endpoints.rs` (numbers in `phone.rs`, ARNs in `arn.rs`) |
//! | message, template, supportedMessagingContentTypes | `message.rs` |
//! | attributes, template custom attributes | `attributes.rs` |
//! | segmentAttributes | `segments.rs` |
//! | chatDurationInMinutes, displayName, relatedContactId, clientToken, requestIdentifier | `ids.rs` |
//! | expiresAt, category | here |
//! | timeZone | `zone.rs` |

use std::collections::BTreeMap;
use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::attributes::{self, ContactAttributes};
use super::channel::Channel;
use super::defaults::Defaults;
use super::endpoints::{self, EndpointInput, EndpointNames};
use super::ids::{
    ChatDuration, ClientToken, ContactFlowId, DisplayName, InstanceId, RelatedContactId,
    RequestIdentifier,
};
use super::message::{
    self, InitialMessage, MessageInput, MessageNames, SupportedContentType, TemplateInput,
};
use super::phone::{DestinationNumber, PhoneNumberArn};
use super::segments::{self, SegmentAttributes, SegmentInput};
use super::sms::SmsCost;
use super::violation::{Check, Reason, ValidationError};
use super::zone::RecipientTimeZone;

/// Where each member of a request sits in the caller's form (`template.messageTemplateId` or
/// `InitialTemplatedSystemMessage.MessageTemplateId`). The wire side owns one table per form.
#[derive(Debug)]
pub struct FieldNames {
    pub endpoints: EndpointNames,
    pub message: MessageNames,
    pub attributes: &'static str,
    pub segment_attributes: &'static str,
    pub chat_duration: &'static str,
    pub display_name: &'static str,
    pub client_token: &'static str,
    pub request_identifier: &'static str,
    pub expires_at: &'static str,
    pub category: &'static str,
    pub time_zone: &'static str,
}

/// One request's raw members, as either wire form brought them. `None` is an absent member.
#[derive(Debug, Default)]
pub struct RequestInput {
    pub endpoints: EndpointInput,
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
    pub category: Option<String>,
    pub time_zone: Option<String>,
}

/// What a message is for, which decides the recipient protections that bind it (send windows,
/// frequency caps): a transactional message (an appointment reminder, an order update) or a
/// promotional one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Transactional,
    Promotional,
}

impl Category {
    /// `TRANSACTIONAL` or `PROMOTIONAL`, in any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_uppercase().as_str() {
            "TRANSACTIONAL" => Ok(Self::Transactional),
            "PROMOTIONAL" => Ok(Self::Promotional),
            _ => Err("must be TRANSACTIONAL or PROMOTIONAL".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transactional => "TRANSACTIONAL",
            Self::Promotional => "PROMOTIONAL",
        }
    }
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
    /// What the message costs as SMS, when it is an SMS with text of its own.
    sms_cost: Option<SmsCost>,
    attributes: ContactAttributes,
    segment_attributes: SegmentAttributes,
    options: Options,
}

impl OutboundChat {
    /// The one conversion from a raw request: fills configured defaults and reports every
    /// violation at once, each under its name in `names` (the caller's form).
    pub fn from_input(
        mut input: RequestInput,
        names: &FieldNames,
        defaults: &Defaults,
    ) -> Result<Self, ValidationError> {
        let mut check = Check::default();
        let mut segments = input.segment_attributes.take().unwrap_or_default();
        let (ends, end_names) = (&input.endpoints, &names.endpoints);
        let choice = endpoints::channel(
            &mut check,
            end_names,
            ends.channel.as_deref(),
            &mut segments,
        );
        let destination = endpoints::destination(&mut check, end_names, ends);
        let source = endpoints::source(&mut check, end_names, ends, choice, defaults);
        let instance_id =
            endpoints::instance_id(&mut check, end_names, ends.instance_id.as_deref(), defaults);
        let contact_flow_id = endpoints::contact_flow_id(
            &mut check,
            end_names,
            ends.contact_flow_id.as_deref(),
            defaults,
        );
        let (initial_message, sms_cost) = message::initial_message(
            &mut check,
            &names.message,
            input.message.take(),
            input.template.take(),
            choice.channel,
            input.related_contact_id.is_some(),
            defaults.sms,
        );
        let attributes =
            attributes::contact_attributes(&mut check, names.attributes, input.attributes.take());
        let segment_attributes =
            segments::segment_attributes(&mut check, names.segment_attributes, segments);
        let options = Options::read(&mut check, names, input, defaults);
        let required = (
            destination,
            source,
            instance_id,
            contact_flow_id,
            attributes,
            segment_attributes,
        );
        let refused =
            |check| ValidationError::from_check(check, choice.readable.then_some(choice.channel));
        // A `None` among the required members is always a recorded violation.
        let (
            Some(destination),
            Some(source),
            Some(instance_id),
            Some(contact_flow_id),
            Some(attributes),
            Some(segment_attributes),
        ) = required
        else {
            return Err(refused(check));
        };
        if !check.is_clean() {
            return Err(refused(check));
        }
        Ok(Self {
            channel: choice.channel,
            destination,
            source,
            instance_id,
            contact_flow_id,
            initial_message,
            sms_cost,
            attributes,
            segment_attributes,
            options,
        })
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
    /// The encoding and segments of an SMS with text of its own; `None` for WhatsApp and for
    /// a template or no message (their text is Connect's).
    pub fn sms_cost(&self) -> Option<SmsCost> {
        self.sms_cost
    }
    pub fn attributes(&self) -> &ContactAttributes {
        &self.attributes
    }
    /// Segment attributes besides `connect:Subtype`, which [`Channel::subtype`] gives.
    pub fn segment_attributes(&self) -> &SegmentAttributes {
        &self.segment_attributes
    }
    pub fn chat_duration(&self) -> Option<ChatDuration> {
        self.options.chat_duration
    }
    pub fn display_name(&self) -> Option<&DisplayName> {
        self.options.display_name.as_ref()
    }
    pub fn related_contact_id(&self) -> Option<&RelatedContactId> {
        self.options.related_contact_id.as_ref()
    }
    pub fn supported_content_types(&self) -> Option<&[SupportedContentType]> {
        self.options.supported_content_types.as_deref()
    }
    pub fn client_token(&self) -> Option<&ClientToken> {
        self.options.client_token.as_ref()
    }
    pub fn request_identifier(&self) -> Option<&RequestIdentifier> {
        self.options.request_identifier.as_ref()
    }
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.options.expires_at
    }

    /// The category the request declared; the configured default applies when it is `None`.
    pub fn category(&self) -> Option<Category> {
        self.options.category
    }

    /// The recipient's time zone, when the request names one.
    pub fn time_zone(&self) -> Option<&RecipientTimeZone> {
        self.options.time_zone.as_ref()
    }

    /// Whether the request's `expiresAt` has passed at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.options
            .expires_at
            .is_some_and(|at| OffsetDateTime::from(now) >= at)
    }

    /// Uses `token` as the idempotency key unless the request brought its own, which wins
    /// (contract §3).
    pub fn with_token_fallback(mut self, token: ClientToken) -> Self {
        self.options.client_token.get_or_insert(token);
        self
    }
}

/// The optional members, each absent, valid, or recorded as a violation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Options {
    chat_duration: Option<ChatDuration>,
    display_name: Option<DisplayName>,
    related_contact_id: Option<RelatedContactId>,
    supported_content_types: Option<Vec<SupportedContentType>>,
    client_token: Option<ClientToken>,
    request_identifier: Option<RequestIdentifier>,
    expires_at: Option<OffsetDateTime>,
    category: Option<Category>,
    time_zone: Option<RecipientTimeZone>,
}

impl Options {
    fn read(
        check: &mut Check,
        names: &FieldNames,
        input: RequestInput,
        defaults: &Defaults,
    ) -> Self {
        let chat_duration = match input.chat_duration {
            Some(minutes) => check.field(
                names.chat_duration,
                Reason::Invalid,
                ChatDuration::new(minutes),
            ),
            None => defaults.chat_duration,
        };
        let display_name = input.display_name.and_then(|name| match name {
            Some(name) => check.field(
                names.display_name,
                Reason::Invalid,
                DisplayName::parse(&name),
            ),
            None => {
                check.push(
                    names.display_name,
                    "is required when ParticipantDetails is given",
                    Reason::Invalid,
                );
                None
            }
        });
        let expires_at = input.expires_at.and_then(|at| {
            let parsed = OffsetDateTime::parse(&at, &Rfc3339)
                .map_err(|_| "must be an RFC 3339 time such as 2026-11-23T09:00:00Z".to_string());
            check.field(names.expires_at, Reason::Invalid, parsed)
        });
        Self {
            chat_duration,
            display_name,
            related_contact_id: check
                .optional(
                    names.message.related_contact_id,
                    input.related_contact_id.as_deref(),
                    RelatedContactId::parse,
                )
                .flatten(),
            supported_content_types: message::supported_content_types(
                check,
                &names.message,
                input.supported_content_types,
            ),
            client_token: check
                .optional(
                    names.client_token,
                    input.client_token.as_deref(),
                    ClientToken::parse,
                )
                .flatten(),
            request_identifier: check
                .optional(
                    names.request_identifier,
                    input.request_identifier.as_deref(),
                    RequestIdentifier::parse,
                )
                .flatten(),
            expires_at,
            category: check
                .optional(names.category, input.category.as_deref(), Category::parse)
                .flatten(),
            time_zone: check
                .optional(
                    names.time_zone,
                    input.time_zone.as_deref(),
                    RecipientTimeZone::parse,
                )
                .flatten(),
        }
    }
}
