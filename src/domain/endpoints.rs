//! The endpoint section of a request: its channel, the customer's number, the number it is sent
//! from, and the Connect instance and flow, each the request's own or the configured default.

use std::collections::BTreeMap;

use super::channel::{Channel, SUBTYPE_KEY};
use super::defaults::Defaults;
use super::ids::{ContactFlowId, InstanceId};
use super::phone::{DestinationNumber, PhoneNumberArn};
use super::segments::SegmentInput;
use super::violation::{Check, Reason};

/// The only endpoint types Connect accepts for this operation.
const DESTINATION_TYPE: &str = "TELEPHONE_NUMBER";
const SOURCE_TYPE: &str = "CONNECT_PHONENUMBER_ARN";

/// Where the endpoint members sit in the caller's form.
#[derive(Debug)]
pub struct EndpointNames {
    pub channel: &'static str,
    /// `connect:Subtype` among the segment attributes.
    pub subtype: &'static str,
    pub to: &'static str,
    pub to_type: &'static str,
    pub from: &'static str,
    pub from_type: &'static str,
    pub instance_id: &'static str,
    pub contact_flow_id: &'static str,
}

/// The endpoint members, raw. `None` is an absent member.
#[derive(Debug, Default)]
pub struct EndpointInput {
    pub channel: Option<String>,
    pub to: Option<String>,
    /// The destination's endpoint type, where the form names one (native only).
    pub to_type: Option<String>,
    pub from: Option<String>,
    /// The source's endpoint type, where the form names one (native only).
    pub from_type: Option<String>,
    pub instance_id: Option<String>,
    pub contact_flow_id: Option<String>,
}

/// The channel of a request, and whether it could be read without a violation.
#[derive(Clone, Copy, Debug)]
pub(super) struct ChannelChoice {
    pub channel: Channel,
    pub readable: bool,
}

/// Reads the channel: declared (friendly `channel`), or from the segment attributes'
/// `connect:Subtype` (which is taken out of `segments`: the function sets it); when both are
/// given they must agree. SMS when neither is.
pub(super) fn channel(
    check: &mut Check,
    names: &EndpointNames,
    declared: Option<&str>,
    segments: &mut BTreeMap<String, SegmentInput>,
) -> ChannelChoice {
    let declared_channel =
        declared.and_then(|c| check.field(names.channel, Reason::Invalid, Channel::parse(c)));
    let path = names.subtype;
    let subtype = segments.remove(SUBTYPE_KEY).and_then(|value| {
        let raw = value
            .value_string
            .ok_or_else(|| "must be a ValueString: connect:SMS or connect:WhatsApp".to_string());
        check.field(
            path,
            Reason::Invalid,
            raw.and_then(|s| Channel::from_subtype(&s)),
        )
    });
    if let (Some(declared), Some(subtype)) = (declared_channel, subtype) {
        if declared != subtype {
            let message = format!(
                "{} contradicts channel {}",
                subtype.subtype(),
                declared.as_str()
            );
            check.push(path, message, Reason::Invalid);
        }
    }
    ChannelChoice {
        channel: declared_channel.or(subtype).unwrap_or(Channel::Sms),
        readable: declared.is_none() || declared_channel.is_some(),
    }
}

/// The customer's number: required, E.164, of type `TELEPHONE_NUMBER` where the form names it.
pub(super) fn destination(
    check: &mut Check,
    names: &EndpointNames,
    input: &EndpointInput,
) -> Option<DestinationNumber> {
    if input
        .to_type
        .as_deref()
        .is_some_and(|t| t != DESTINATION_TYPE)
    {
        check.push(
            names.to_type,
            format!("must be {DESTINATION_TYPE}"),
            Reason::InvalidCustomerEndpoint,
        );
    }
    match &input.to {
        None => {
            check.push(
                names.to,
                "is required: the customer's phone number in E.164",
                Reason::MissingCustomerEndpoint,
            );
            None
        }
        Some(to) => check.field(
            names.to,
            Reason::InvalidCustomerEndpoint,
            DestinationNumber::parse(to),
        ),
    }
}

/// The number the message is sent from: the request's, else the channel's configured one. A
/// named endpoint type must be `CONNECT_PHONENUMBER_ARN`, with or without an address: a
/// request that asks for another kind of source must not silently get the configured one.
pub(super) fn source(
    check: &mut Check,
    names: &EndpointNames,
    input: &EndpointInput,
    choice: ChannelChoice,
    defaults: &Defaults,
) -> Option<PhoneNumberArn> {
    if input.from_type.as_deref().is_some_and(|t| t != SOURCE_TYPE) {
        check.push(
            names.from_type,
            format!("must be {SOURCE_TYPE}"),
            Reason::InvalidSystemEndpoint,
        );
    }
    if let Some(from) = &input.from {
        return check.field(
            names.from,
            Reason::InvalidSystemEndpoint,
            PhoneNumberArn::parse(from),
        );
    }
    let (configured, variable) = match choice.channel {
        Channel::Sms => (&defaults.sms_source, "SMS_SOURCE_PHONE_NUMBER_ARN"),
        Channel::WhatsApp => (
            &defaults.whatsapp_source,
            "WHATSAPP_SOURCE_PHONE_NUMBER_ARN",
        ),
    };
    if configured.is_none() && choice.readable {
        let message = format!(
            "is required: no {variable} is configured for {}",
            choice.channel.as_str()
        );
        check.push(names.from, message, Reason::InvalidSystemEndpoint);
    }
    configured.clone()
}

/// The Connect instance: the request's, else `CONNECT_INSTANCE_ID`.
pub(super) fn instance_id(
    check: &mut Check,
    names: &EndpointNames,
    raw: Option<&str>,
    defaults: &Defaults,
) -> Option<InstanceId> {
    or_default(
        check,
        names.instance_id,
        raw,
        InstanceId::parse,
        defaults.instance_id.as_ref(),
        "CONNECT_INSTANCE_ID",
    )
}

/// The contact flow: the request's, else `CONNECT_CONTACT_FLOW_ID`.
pub(super) fn contact_flow_id(
    check: &mut Check,
    names: &EndpointNames,
    raw: Option<&str>,
    defaults: &Defaults,
) -> Option<ContactFlowId> {
    or_default(
        check,
        names.contact_flow_id,
        raw,
        ContactFlowId::parse,
        defaults.contact_flow_id.as_ref(),
        "CONNECT_CONTACT_FLOW_ID",
    )
}

fn or_default<T: Clone>(
    check: &mut Check,
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, String>,
    configured: Option<&T>,
    variable: &str,
) -> Option<T> {
    match raw {
        Some(raw) => check.field(field, Reason::Invalid, parse(raw)),
        None => {
            if configured.is_none() {
                let message = format!("is required: no {variable} is configured");
                check.push(field, message, Reason::Invalid);
            }
            configured.cloned()
        }
    }
}
