//! `OutboundChat`, the validated request, and the one conversion that builds it from a
//! [`RequestInput`], collecting every violation with its field path.
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
//! | expiresAt | here |

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::attributes::{self, ContactAttributes};
use super::channel::Channel;
use super::defaults::Defaults;
use super::endpoints;
use super::ids::{
    ChatDuration, ClientToken, ContactFlowId, DisplayName, InstanceId, RelatedContactId,
    RequestIdentifier,
};
use super::input::{FieldNames, RequestInput};
use super::message::{self, InitialMessage, SupportedContentType};
use super::phone::{DestinationNumber, PhoneNumberArn};
use super::segments::{self, SegmentAttributes};
use super::violation::{Check, Reason, ValidationError};

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
    /// The one conversion from a raw request: fills configured defaults and reports every
    /// violation at once, each under its name in `names` (the caller's form).
    pub fn from_input(
        mut input: RequestInput,
        names: &FieldNames,
        defaults: &Defaults,
    ) -> Result<Self, ValidationError> {
        let mut check = Check::default();
        let mut segments = input.segment_attributes.take().unwrap_or_default();
        let choice = endpoints::channel(&mut check, names, input.channel.as_deref(), &mut segments);
        let destination = endpoints::destination(&mut check, names, &input);
        let source = endpoints::source(&mut check, names, &input, choice, defaults);
        let instance_id =
            endpoints::instance_id(&mut check, names, input.instance_id.as_deref(), defaults);
        let contact_flow_id = endpoints::contact_flow_id(
            &mut check,
            names,
            input.contact_flow_id.as_deref(),
            defaults,
        );
        let initial_message = message::initial_message(
            &mut check,
            names,
            input.message.take(),
            input.template.take(),
            choice.channel,
            input.related_contact_id.is_some(),
        );
        let attributes = attributes::contact_attributes(&mut check, names, input.attributes.take());
        let segment_attributes = segments::segment_attributes(&mut check, names, segments);
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
            attributes,
            segment_attributes,
            chat_duration: options.chat_duration,
            display_name: options.display_name,
            related_contact_id: options.related_contact_id,
            supported_content_types: options.supported_content_types,
            client_token: options.client_token,
            request_identifier: options.request_identifier,
            expires_at: options.expires_at,
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

/// The optional members, each absent, valid, or recorded as a violation.
struct Options {
    chat_duration: Option<ChatDuration>,
    display_name: Option<DisplayName>,
    related_contact_id: Option<RelatedContactId>,
    supported_content_types: Option<Vec<SupportedContentType>>,
    client_token: Option<ClientToken>,
    request_identifier: Option<RequestIdentifier>,
    expires_at: Option<OffsetDateTime>,
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
                    names.related_contact_id,
                    input.related_contact_id.as_deref(),
                    RelatedContactId::parse,
                )
                .flatten(),
            supported_content_types: message::supported_content_types(
                check,
                names,
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
        }
    }
}
