//! The contact-flow trigger's reading (contract §8): an Amazon Connect flow's "Invoke AWS Lambda
//! function" event, its block's `Parameters` turned into a friendly-form request (§1a) with the
//! defaults the contact gives, the token source that makes Connect's retries of the block safe,
//! and the facts about the contact that the flow rules need.
//!
//! This module only shapes the request: the friendly form's validator reads the object it makes
//! and reports the request's violations by member path. What is refused here is what only a flow
//! can get wrong (a member that cannot be read from the block's text, `requestIdentifier`, an
//! unknown caller number, free-text WhatsApp outside a WhatsApp chat).
//!
//! How the block's parameters are read, member by member:
//!
//! | member | accepted |
//! |---|---|
//! | `template`, `attributes`, `segmentAttributes` | a JSON object, or a string holding one |
//! | `template.customAttributes` | the same |
//! | `template.customerProfileAttributes` | as given (the friendly form takes a string too) |
//! | `message` | a JSON object, a string holding one, or plain text: see below |
//! | `chatDurationInMinutes` | a whole number (`60`, `60.0`), or a string of digits (`"60"`) |
//! | `supportedMessagingContentTypes` | a JSON array, a string holding one, or `"a, b"` |
//! | `requestIdentifier` | refused: it belongs to an item of an HTTP batch |
//! | the friendly form's text members | a string; a number or a boolean becomes its text |
//! | an unknown member | unchanged |
//!
//! `message` as plain text is a flow convenience: `"Book online: https://..."` is read as
//! `{"content": "Book online: https://..."}`. A string whose first non-blank character is `{` is
//! read as JSON (and refused when it is not a JSON object, rather than sent as it is); any other
//! string is plain text.
//!
//! A `null` member is passed on as it is (the validator refuses it by name), and so is a value
//! of an unexpected type for a text member and an unknown member (the validator refuses it by
//! name: a misspelt `temlate` must not be dropped silently).

use crate::domain::parse_arn;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::domain::SUBTYPE_KEY;

/// The `Name` Amazon Connect gives a flow's Lambda event.
pub const FLOW_EVENT_NAME: &str = "ContactFlowEvent";

/// The `category` a flow's request takes when its block names none.
pub const FLOW_DEFAULT_CATEGORY: &str = "TRANSACTIONAL";

/// The friendly form's members whose value is text: a number or a boolean from a flow is turned
/// into its text. Unknown members are passed on unchanged.
const TEXT_MEMBERS: [&str; 11] = [
    "channel",
    "to",
    "from",
    "instanceId",
    "contactFlowId",
    "displayName",
    "relatedContactId",
    "clientToken",
    "expiresAt",
    "category",
    "timeZone",
];

const TELEPHONE_NUMBER: &str = "TELEPHONE_NUMBER";
const WHATSAPP_SUBTYPE: &str = "connect:WhatsApp";

const NOT_AN_OBJECT: &str = "must be a JSON object, or a string holding one";
const NOT_A_MESSAGE: &str = "must be a JSON object, a string holding one, or plain text \
    (a text that starts with `{` is read as JSON)";
const NOT_A_DURATION: &str = "must be a whole number of minutes: a number, or a string of digits";
const NOT_A_LIST: &str = "must be a list of content types: a JSON array, a string holding one, \
    or a comma-separated string";
const BATCH_ONLY: &str =
    "is accepted only inside an HTTP batch: leave it out of the block's parameters";
const UNKNOWN_CALLER: &str = "the caller's number is not known (the contact has no \
    TELEPHONE_NUMBER customer endpoint): pass `to` as a parameter";
const WHATSAPP_NEEDS_TEMPLATE: &str = "a WhatsApp message from a flow must be a template unless \
    the contact is a WhatsApp chat: pass `template`";

/// True when the event is a flow event: `"Name": "ContactFlowEvent"` with a `Details` member.
/// Explicit keys, no trial deserialization; a `Details` that is not an object makes the event a
/// malformed flow event ([`read_flow_event`] says so), not an unknown one.
pub fn is_flow_event(event: &Map<String, Value>) -> bool {
    event.get("Name").and_then(Value::as_str) == Some(FLOW_EVENT_NAME)
        && event.contains_key("Details")
}

/// The id of an Amazon Connect instance from an ARN of it or of one of its resources:
/// `arn:<partition>:connect:<region>:<account>:instance/<id>[/...]`.
pub fn instance_id_from_arn(arn: &str) -> Option<&str> {
    let parts = parse_arn(arn).filter(|parts| parts.service == "connect")?;
    let id = parts
        .resource
        .strip_prefix("instance/")?
        .split('/')
        .next()?;
    (!id.is_empty()).then_some(id)
}

/// Why an event could not be read as a flow event at all. Anything else in an event is tolerated
/// (missing, `null` or unexpected contact data is read as absent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowEventError {
    #[error("the flow event must be a JSON object")]
    NotAnObject,
    #[error("the flow event's `Details` must be a JSON object")]
    DetailsNotAnObject,
    #[error("the flow event has no `Details.ContactData.ContactId` (a non-empty string)")]
    NoContactId,
    #[error("the flow event's `Details.Parameters` must be a JSON object")]
    ParametersNotAnObject,
}

/// A flow event, read tolerantly.
#[derive(Clone, PartialEq)]
pub struct FlowEvent {
    contact: ContactData,
    contact_id: String,
    parameters: Map<String, Value>,
}

/// The part of `Details.ContactData` this function uses, plus what helps to log a contact.
/// Every member may be missing, `null` or of an unexpected type (then it reads as `None`);
/// unknown members (`MediaStreams`, `References`, `LanguageCode`, ...) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactData {
    #[serde(default, deserialize_with = "lenient")]
    pub contact_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub initial_contact_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub previous_contact_id: Option<String>,
    /// `VOICE`, `CHAT`, `TASK`, `EMAIL`.
    #[serde(default, deserialize_with = "lenient")]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub initiation_method: Option<String>,
    #[serde(default, rename = "InstanceARN", deserialize_with = "lenient")]
    pub instance_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_struct")]
    pub customer_endpoint: Option<Endpoint>,
    #[serde(default, deserialize_with = "lenient_struct")]
    pub system_endpoint: Option<Endpoint>,
    /// The contact's queue: `{"ARN", "Name", "OutboundCallerId"}` today, a queue name in older
    /// events; `null` outside a queue. Kept as it came.
    #[serde(default, deserialize_with = "lenient")]
    pub queue: Option<Value>,
    /// Segment attributes in Connect's value form (`{"connect:Subtype": {"ValueString": ...}}`).
    #[serde(default, deserialize_with = "lenient")]
    pub segment_attributes: Option<Map<String, Value>>,
    /// The contact's user-defined attributes (strings in practice).
    #[serde(default, deserialize_with = "lenient")]
    pub attributes: Option<Map<String, Value>>,
}

/// A `CustomerEndpoint` or `SystemEndpoint`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    #[serde(default, deserialize_with = "lenient")]
    pub address: Option<String>,
    /// `TELEPHONE_NUMBER`, `EMAIL_ADDRESS`, ...
    #[serde(default, rename = "Type", deserialize_with = "lenient")]
    pub kind: Option<String>,
}

/// An endpoint's address is a phone number: it stays out of logs.
impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address.as_ref().map(|_| "<redacted>"))
            .field("kind", &self.kind)
            .finish()
    }
}

/// Reads a member that may be missing, `null` or of another type as `None` instead of failing.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(if value.is_null() {
        None
    } else {
        T::deserialize(value).ok()
    })
}

/// As [`lenient`], for a struct: only an object is read (serde would read a struct from a list by
/// position, so `["+1...", "TELEPHONE_NUMBER"]` would become an endpoint).
fn lenient_struct<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(value
        .is_object()
        .then(|| T::deserialize(value).ok())
        .flatten())
}

/// Reads a flow event. Only an event that cannot be a flow's is an error: not an object,
/// `Details` not an object, no `ContactData.ContactId`, or `Parameters` present but not an
/// object (a block without parameters may leave `Parameters` out: it reads as `{}`). The `Name`
/// is not checked here: [`is_flow_event`] recognises the event.
pub fn read_flow_event(event: Value) -> Result<FlowEvent, FlowEventError> {
    let Value::Object(mut event) = event else {
        return Err(FlowEventError::NotAnObject);
    };
    let Some(Value::Object(mut details)) = event.remove("Details") else {
        return Err(FlowEventError::DetailsNotAnObject);
    };
    let contact = details
        .remove("ContactData")
        .filter(Value::is_object)
        .and_then(|data| ContactData::deserialize(data).ok())
        .unwrap_or_default();
    let contact_id = match &contact.contact_id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => return Err(FlowEventError::NoContactId),
    };
    let parameters = match details.remove("Parameters") {
        None => Map::new(),
        Some(Value::Object(parameters)) => parameters,
        Some(_) => return Err(FlowEventError::ParametersNotAnObject),
    };
    Ok(FlowEvent {
        contact,
        contact_id,
        parameters,
    })
}

/// A flow's request, ready for the friendly form's validator.
#[derive(Clone, PartialEq)]
pub struct FlowRequest {
    /// The friendly-form object (§1a).
    pub request: Value,
    /// The block's parameters as received, as compact JSON with every object's keys sorted:
    /// with the contact id, the source of the derived client token (§3,
    /// `DeliveryIdentity::Flow`), the same for every retry of the same block on the same contact.
    pub parameters: String,
    pub contact_id: String,
}

/// A block parameter the function cannot use, by name (`template`, `template.customAttributes`).
/// The message never quotes the parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterProblem {
    pub parameter: String,
    pub message: String,
}

impl ParameterProblem {
    fn new(parameter: &str, message: &str) -> Self {
        Self {
            parameter: parameter.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl fmt::Display for ParameterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.parameter, self.message)
    }
}

/// The parameters and the request carry a phone number and message content: their debug output
/// names the members only.
impl fmt::Debug for FlowEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowEvent")
            .field("contact_id", &self.contact_id)
            .field("channel", &self.contact.channel)
            .field("parameters", &self.parameters.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members = self
            .request
            .as_object()
            .map(|m| m.keys().collect::<Vec<_>>());
        f.debug_struct("FlowRequest")
            .field("members", &members)
            .field("contact_id", &self.contact_id)
            .finish_non_exhaustive()
    }
}

impl FlowEvent {
    #[cfg(test)]
    pub fn contact(&self) -> &ContactData {
        &self.contact
    }

    /// True when the contact is itself a WhatsApp chat: `Channel` `CHAT` with the segment
    /// attribute `connect:Subtype` = `connect:WhatsApp`.
    pub fn contact_is_whatsapp_chat(&self) -> bool {
        let subtype = self
            .contact
            .segment_attributes
            .as_ref()
            .and_then(|attributes| attributes.get(SUBTYPE_KEY))
            .and_then(|value| value.get("ValueString"))
            .and_then(Value::as_str);
        self.contact.channel.as_deref() == Some("CHAT") && subtype == Some(WHATSAPP_SUBTYPE)
    }

    /// The caller's number: the customer endpoint's address when it is a telephone number.
    fn caller_number(&self) -> Option<&str> {
        let endpoint = self.contact.customer_endpoint.as_ref()?;
        let address = endpoint.address.as_deref().filter(|a| !a.is_empty())?;
        (endpoint.kind.as_deref() == Some(TELEPHONE_NUMBER)).then_some(address)
    }

    /// The block's parameters as a friendly-form request, with the contact's defaults, or every
    /// problem found in them.
    #[cfg(test)]
    pub fn to_request(&self) -> Result<FlowRequest, Vec<ParameterProblem>> {
        let (request, problems) = self.read_request();
        if problems.is_empty() {
            Ok(request)
        } else {
            Err(problems)
        }
    }

    /// The request made of the parameters that could be read (with the contact's defaults),
    /// beside the problems found: the friendly form's validator can then report the rest of the
    /// request's violations together with the parameters' own.
    pub fn read_request(&self) -> (FlowRequest, Vec<ParameterProblem>) {
        let mut problems = Vec::new();
        let mut request = Map::new();
        for (name, value) in &self.parameters {
            match read_member(name, value) {
                Ok(member) => {
                    request.insert(name.clone(), member);
                }
                Err(problem) => problems.push(problem),
            }
        }
        self.apply_defaults(&mut request, &mut problems);
        self.check_whatsapp(&request, &mut problems);
        let made = FlowRequest {
            request: Value::Object(request),
            parameters: self.canonical_parameters(),
            contact_id: self.contact_id.clone(),
        };
        (made, problems)
    }

    /// Fills the members the block left out (and only those) from the contact.
    fn apply_defaults(
        &self,
        request: &mut Map<String, Value>,
        problems: &mut Vec<ParameterProblem>,
    ) {
        if !request.contains_key("to") {
            match self.caller_number() {
                Some(number) => set(request, "to", number),
                None => problems.push(ParameterProblem::new("to", UNKNOWN_CALLER)),
            }
        }
        if !request.contains_key("relatedContactId") {
            set(request, "relatedContactId", &self.contact_id);
        }
        let instance = self
            .contact
            .instance_arn
            .as_deref()
            .and_then(instance_id_from_arn);
        if let (false, Some(instance)) = (request.contains_key("instanceId"), instance) {
            set(request, "instanceId", instance);
        }
        if !request.contains_key("category") {
            set(request, "category", FLOW_DEFAULT_CATEGORY);
        }
    }

    /// A business-initiated WhatsApp message must be a template; a flow's request always has a
    /// `relatedContactId`, so the friendly form's follow-up exception cannot be the test here:
    /// the contact itself must be a WhatsApp chat.
    fn check_whatsapp(&self, request: &Map<String, Value>, problems: &mut Vec<ParameterProblem>) {
        let whatsapp = request
            .get("channel")
            .and_then(Value::as_str)
            .is_some_and(|channel| channel.eq_ignore_ascii_case("WHATSAPP"));
        let given = |name| self.parameters.contains_key(name);
        let free_text = given("message") && !given("template");
        if whatsapp && free_text && !self.contact_is_whatsapp_chat() {
            problems.push(ParameterProblem::new("message", WHATSAPP_NEEDS_TEMPLATE));
        }
    }

    fn canonical_parameters(&self) -> String {
        let mut canonical = String::new();
        write_canonical_object(&self.parameters, &mut canonical);
        canonical
    }
}

fn set(request: &mut Map<String, Value>, name: &str, value: &str) {
    request.insert(name.to_owned(), Value::String(value.to_owned()));
}

/// One block parameter as its friendly-form member.
fn read_member(name: &str, value: &Value) -> Result<Value, ParameterProblem> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let problem = |message| ParameterProblem::new(name, message);
    match name {
        "requestIdentifier" => Err(problem(BATCH_ONLY)),
        "template" => read_template(value),
        "attributes" | "segmentAttributes" => {
            read_object(value).ok_or_else(|| problem(NOT_AN_OBJECT))
        }
        "message" => read_message(value).ok_or_else(|| problem(NOT_A_MESSAGE)),
        "chatDurationInMinutes" => read_minutes(value).ok_or_else(|| problem(NOT_A_DURATION)),
        "supportedMessagingContentTypes" => read_list(value).ok_or_else(|| problem(NOT_A_LIST)),
        _ if TEXT_MEMBERS.contains(&name) => Ok(read_text(value)),
        _ => Ok(value.clone()),
    }
}

/// `template`, whose `customAttributes` may itself be a string holding JSON.
fn read_template(value: &Value) -> Result<Value, ParameterProblem> {
    let Some(Value::Object(mut template)) = read_object(value) else {
        return Err(ParameterProblem::new("template", NOT_AN_OBJECT));
    };
    let attributes = template
        .get_mut("customAttributes")
        .filter(|a| !a.is_null());
    if let Some(attributes) = attributes {
        *attributes = read_object(attributes)
            .ok_or_else(|| ParameterProblem::new("template.customAttributes", NOT_AN_OBJECT))?;
    }
    Ok(Value::Object(template))
}

/// A JSON object, or a string holding one.
fn read_object(value: &Value) -> Option<Value> {
    match value {
        Value::Object(_) => Some(value.clone()),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(parsed @ Value::Object(_)) => Some(parsed),
            _ => None,
        },
        _ => None,
    }
}

/// `message`: an object, a string holding one, or plain text (the flow convenience). A text
/// whose first non-blank character is `{` is meant as JSON: a broken one is refused rather than
/// sent to the customer as it is.
fn read_message(value: &Value) -> Option<Value> {
    match value {
        Value::String(text) if !text.trim_start().starts_with('{') => {
            let mut message = Map::new();
            message.insert("content".into(), Value::String(text.clone()));
            Some(Value::Object(message))
        }
        _ => read_object(value),
    }
}

/// `chatDurationInMinutes`: a whole number (`60` or `60.0`), or a string of digits.
fn read_minutes(value: &Value) -> Option<Value> {
    let minutes = match value {
        Value::Number(number) => number.as_i64().or_else(|| whole(number.as_f64()?))?,
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse::<i64>().ok()?
        }
        _ => return None,
    };
    Some(Value::from(minutes))
}

fn whole(number: f64) -> Option<i64> {
    let in_range = number.fract() == 0.0 && number.abs() < 9.0e15;
    in_range.then_some(number as i64)
}

/// `supportedMessagingContentTypes`: an array, a string holding one, or a comma-separated list.
fn read_list(value: &Value) -> Option<Value> {
    match value {
        Value::Array(_) => Some(value.clone()),
        Value::String(text) if text.trim_start().starts_with('[') => {
            serde_json::from_str::<Value>(text)
                .ok()
                .filter(Value::is_array)
        }
        Value::String(text) => Some(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        )),
        _ => None,
    }
}

/// A text member: numbers and booleans as their text; everything else as it is.
fn read_text(value: &Value) -> Value {
    match value {
        Value::Number(number) => Value::String(number.to_string()),
        Value::Bool(flag) => Value::String(flag.to_string()),
        _ => value.clone(),
    }
}

/// Writes `value` as compact JSON with every object's keys in sorted order, whatever order the
/// map keeps (serde_json's `preserve_order` feature, if anything in the build turns it on, would
/// keep the event's own order and make the token depend on it).
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => write_canonical_object(map, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_canonical_object(map: &Map<String, Value>, out: &mut String) {
    let sorted: BTreeMap<&String, &Value> = map.iter().collect();
    out.push('{');
    for (index, (key, value)) in sorted.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        write_canonical(value, out);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::intake::token::DeliveryIdentity;

    const CONTACT_ID: &str = "3f1c9a2e-7b4d-4e8a-9c61-2d5b8e0f4a17";
    const OTHER_CONTACT_ID: &str = "b7e2d4c1-0a9f-4b3e-8d2c-6f1a5e9b3c08";
    const INSTANCE_ID: &str = "12345678-1234-1234-1234-123456789012";
    const INSTANCE_ARN: &str =
        "arn:aws:connect:us-east-1:123456789012:instance/12345678-1234-1234-1234-123456789012";
    const CALLER: &str = "+14255550100";

    fn voice_contact() -> Value {
        json!({
            "Attributes": {},
            "Channel": "VOICE",
            "ContactId": CONTACT_ID,
            "CustomerEndpoint": {"Address": CALLER, "Type": "TELEPHONE_NUMBER"},
            "InitialContactId": CONTACT_ID,
            "InitiationMethod": "INBOUND",
            "InstanceARN": INSTANCE_ARN,
            "Queue": null,
            "SystemEndpoint": {"Address": "+18005550199", "Type": "TELEPHONE_NUMBER"}
        })
    }

    /// The voice contact with one member replaced (`Value::Null` included).
    fn patched(key: &str, value: Value) -> Value {
        let mut contact = voice_contact();
        contact[key] = value;
        contact
    }

    fn without(key: &str) -> Value {
        let mut contact = voice_contact();
        contact.as_object_mut().unwrap().remove(key);
        contact
    }

    fn chat_contact(subtype: &str) -> Value {
        let mut contact = patched("Channel", json!("CHAT"));
        contact["SegmentAttributes"] = json!({"connect:Subtype": {"ValueString": subtype}});
        contact
    }

    fn event(contact: Value, parameters: Value) -> Value {
        json!({
            "Name": "ContactFlowEvent",
            "Details": {"ContactData": contact, "Parameters": parameters}
        })
    }

    fn request(contact: Value, parameters: Value) -> Result<FlowRequest, Vec<ParameterProblem>> {
        read_flow_event(event(contact, parameters))
            .expect("a readable event")
            .to_request()
    }

    fn problems(contact: Value, parameters: Value) -> Vec<(String, String)> {
        match request(contact, parameters) {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|p| (p.parameter, p.message))
                .collect(),
        }
    }

    /// One parameter on a voice call: its member in the request, or the parameter named by the
    /// one problem found (whose message must be `message`).
    fn read_one(name: &str, value: Value, message: &str) -> Result<Value, String> {
        let parameters = Value::Object(Map::from_iter([(name.to_owned(), value)]));
        match request(voice_contact(), parameters) {
            Ok(made) => Ok(made.request[name].clone()),
            Err(found) => {
                assert_eq!(found.len(), 1, "one problem: {found:?}");
                assert_eq!(found[0].message, message);
                Err(found[0].parameter.clone())
            }
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_flow_event_is_recognised_by_its_name_and_a_details_member_only() {
        let cases = [
            (event(voice_contact(), json!({})), true),
            (json!({"Name": "ContactFlowEvent", "Details": {}}), true),
            (
                json!({"Records": [{"messageId": "1", "body": "{}"}]}),
                false,
            ),
            (
                json!({"detail-type": "Send", "source": "app", "detail": {}}),
                false,
            ),
            (
                json!({"requestContext": {"stage": "prod"}, "body": "{}"}),
                false,
            ),
            (
                json!({"version": "2.0", "requestContext": {}, "rawPath": "/contacts"}),
                false,
            ),
            (json!({"to": CALLER, "message": {"content": "Hi"}}), false),
            (json!({"DestinationEndpoint": {"Address": CALLER}}), false),
            (json!({"Name": "ContactFlowEvent"}), false),
            (json!({"Name": "ContactFlowEvent", "Details": "{}"}), true),
            (json!({"Name": "ContactFlowEvent", "Details": null}), true),
            (json!({"Name": "Other", "Details": {}}), false),
            (json!({"Name": "contactflowevent", "Details": {}}), false),
            (json!({"Details": {"ContactData": {}}}), false),
        ];
        for (value, expected) in cases {
            assert_eq!(is_flow_event(&object(value.clone())), expected, "{value}");
        }
    }

    #[test]
    fn an_event_is_unreadable_only_without_details_a_contact_id_or_object_parameters() {
        use FlowEventError::*;
        let details = |d: Value| json!({"Name": "ContactFlowEvent", "Details": d});
        let id = json!({"ContactId": CONTACT_ID});
        let cases = [
            (
                details(json!({"ContactData": id, "Parameters": {}})),
                Ok(()),
            ),
            (details(json!({"ContactData": id})), Ok(())),
            (json!({"Details": {"ContactData": id}}), Ok(())),
            (json!([1]), Err(NotAnObject)),
            (json!({"Name": "ContactFlowEvent"}), Err(DetailsNotAnObject)),
            (details(json!("{}")), Err(DetailsNotAnObject)),
            (details(json!({"Parameters": {}})), Err(NoContactId)),
            (
                details(json!({"ContactData": [CONTACT_ID]})),
                Err(NoContactId),
            ),
            (
                details(json!({"ContactData": {"Channel": "VOICE"}})),
                Err(NoContactId),
            ),
            (
                details(json!({"ContactData": {"ContactId": ""}})),
                Err(NoContactId),
            ),
            (
                details(json!({"ContactData": {"ContactId": 7}})),
                Err(NoContactId),
            ),
            (
                details(json!({"ContactData": id, "Parameters": "{}"})),
                Err(ParametersNotAnObject),
            ),
            (
                details(json!({"ContactData": id, "Parameters": null})),
                Err(ParametersNotAnObject),
            ),
            (
                details(json!({"ContactData": id, "Parameters": []})),
                Err(ParametersNotAnObject),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                read_flow_event(value.clone()).map(|_| ()),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn unknown_null_and_oddly_typed_contact_members_are_read_as_absent() {
        let cases = [
            (
                patched("MediaStreams", json!({"Customer": {"Audio": null}})),
                Some(CALLER),
            ),
            (patched("LanguageCode", json!("en-US")), Some(CALLER)),
            (
                patched(
                    "Queue",
                    json!({"ARN": "arn:aws:connect:x", "Name": "Support"}),
                ),
                Some(CALLER),
            ),
            (patched("Queue", json!("Support")), Some(CALLER)),
            (without("SystemEndpoint"), Some(CALLER)),
            (patched("SystemEndpoint", Value::Null), Some(CALLER)),
            (patched("Attributes", json!({"visits": 3})), Some(CALLER)),
            (patched("Attributes", json!("x")), Some(CALLER)),
            (patched("Channel", json!(1)), Some(CALLER)),
            (patched("CustomerEndpoint", json!(CALLER)), None),
            (
                patched("CustomerEndpoint", json!([CALLER, "TELEPHONE_NUMBER"])),
                None,
            ),
            (json!({"ContactId": CONTACT_ID}), None),
        ];
        for (contact, caller) in cases {
            let read = read_flow_event(event(contact.clone(), json!({}))).expect("readable");
            assert_eq!(read.contact_id, CONTACT_ID, "{contact}");
            assert_eq!(read.caller_number(), caller, "{contact}");
        }
    }

    #[test]
    fn object_members_are_json_objects_or_strings_holding_one() {
        let bad = |name: &str| Err(name.to_owned());
        let cases = [
            (
                "template",
                json!({"messageTemplateId": "r"}),
                Ok(json!({"messageTemplateId": "r"})),
            ),
            (
                "template",
                json!("{\"messageTemplateId\":\"r\"}"),
                Ok(json!({"messageTemplateId": "r"})),
            ),
            ("template", json!("queue-callback"), bad("template")),
            (
                "template",
                json!("{\"messageTemplateId\":"),
                bad("template"),
            ),
            ("template", json!("[1]"), bad("template")),
            ("template", json!(5), bad("template")),
            (
                "attributes",
                json!({"orderId": "A-1"}),
                Ok(json!({"orderId": "A-1"})),
            ),
            (
                "attributes",
                json!(" {\"orderId\":\"A-1\"} "),
                Ok(json!({"orderId": "A-1"})),
            ),
            ("attributes", json!("orderId=A-1"), bad("attributes")),
            ("attributes", json!(""), bad("attributes")),
            (
                "segmentAttributes",
                json!("{\"k\":{\"ValueString\":\"v\"}}"),
                Ok(json!({"k": {"ValueString": "v"}})),
            ),
            ("segmentAttributes", json!([]), bad("segmentAttributes")),
        ];
        for (name, value, expected) in cases {
            assert_eq!(
                read_one(name, value.clone(), NOT_AN_OBJECT),
                expected,
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn custom_attributes_may_be_held_in_a_string_and_profile_attributes_stay_as_given() {
        let bad = Err("template.customAttributes".to_owned());
        let cases = [
            (
                json!({"customAttributes": "{\"t\":\"10:30\"}"}),
                Ok(json!({"customAttributes": {"t": "10:30"}})),
            ),
            (
                json!("{\"customAttributes\":\"{\\\"t\\\":\\\"1\\\"}\"}"),
                Ok(json!({"customAttributes": {"t": "1"}})),
            ),
            (
                json!({"customAttributes": {"t": "10:30"}}),
                Ok(json!({"customAttributes": {"t": "10:30"}})),
            ),
            (
                json!({"customAttributes": null}),
                Ok(json!({"customAttributes": null})),
            ),
            (json!({"customAttributes": "t=10:30"}), bad.clone()),
            (json!({"customAttributes": ["t"]}), bad),
            (
                json!({"customerProfileAttributes": "{\"a\":1}"}),
                Ok(json!({"customerProfileAttributes": "{\"a\":1}"})),
            ),
            (
                json!({"customerProfileAttributes": "x"}),
                Ok(json!({"customerProfileAttributes": "x"})),
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(
                read_one("template", template.clone(), NOT_AN_OBJECT),
                expected,
                "{template}"
            );
        }
    }

    #[test]
    fn a_message_is_an_object_a_string_holding_one_or_plain_text_content() {
        let text = |t: &str| Ok(json!({ "content": t }));
        let bad = Err("message".to_owned());
        let cases = [
            (
                json!("Book online: https://example.com/book"),
                text("Book online: https://example.com/book"),
            ),
            (json!("Hi {name}"), text("Hi {name}")),
            (json!("[Reminder] Hi"), text("[Reminder] Hi")),
            (json!(""), text("")),
            (json!({"content": "Hi"}), Ok(json!({"content": "Hi"}))),
            (
                json!("{\"content\":\"Hi\",\"contentType\":\"text/markdown\"}"),
                Ok(json!({"content": "Hi", "contentType": "text/markdown"})),
            ),
            (
                json!(" \n{\"content\":\"Hi\"}"),
                Ok(json!({"content": "Hi"})),
            ),
            (json!("{name}, your table is ready"), bad.clone()),
            (json!("{\"content\":"), bad.clone()),
            (json!(42), bad.clone()),
            (json!(["Hi"]), bad),
        ];
        for (value, expected) in cases {
            assert_eq!(
                read_one("message", value.clone(), NOT_A_MESSAGE),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn a_chat_duration_is_a_whole_number_or_a_string_of_digits() {
        let bad = Err("chatDurationInMinutes".to_owned());
        let cases = [
            (json!("120"), Ok(json!(120))),
            (json!(" 90 "), Ok(json!(90))),
            (json!("0060"), Ok(json!(60))),
            (json!(120), Ok(json!(120))),
            (json!(120.0), Ok(json!(120))),
            (json!(-5), Ok(json!(-5))),
            (json!("two hours"), bad.clone()),
            (json!("-5"), bad.clone()),
            (json!("+5"), bad.clone()),
            (json!("1.5"), bad.clone()),
            (json!(""), bad.clone()),
            (json!(1.5), bad.clone()),
            (json!(true), bad.clone()),
            (json!("99999999999999999999"), bad.clone()),
            (json!(1e300), bad),
        ];
        for (value, expected) in cases {
            let read = read_one("chatDurationInMinutes", value.clone(), NOT_A_DURATION);
            assert_eq!(read, expected, "{value}");
        }
    }

    #[test]
    fn content_types_are_a_list_a_string_holding_one_or_a_comma_separated_string() {
        let bad = Err("supportedMessagingContentTypes".to_owned());
        let cases = [
            (json!(["text/plain"]), Ok(json!(["text/plain"]))),
            (
                json!("[\"text/plain\",\"text/markdown\"]"),
                Ok(json!(["text/plain", "text/markdown"])),
            ),
            (
                json!("text/plain, text/markdown,"),
                Ok(json!(["text/plain", "text/markdown"])),
            ),
            (json!("text/plain"), Ok(json!(["text/plain"]))),
            (json!(""), Ok(json!([]))),
            (json!("[\"text/plain\""), bad.clone()),
            (json!(1), bad.clone()),
            (json!({"a": 1}), bad),
        ];
        for (value, expected) in cases {
            let read = read_one("supportedMessagingContentTypes", value.clone(), NOT_A_LIST);
            assert_eq!(read, expected, "{value}");
        }
    }

    #[test]
    fn text_members_turn_numbers_and_booleans_into_text_and_unknown_members_stay_unchanged() {
        let cases = [
            ("channel", json!("sms"), json!("sms")),
            ("displayName", json!(42), json!("42")),
            ("displayName", json!(4.5), json!("4.5")),
            ("timeZone", json!(true), json!("true")),
            ("from", json!({"a": 1}), json!({"a": 1})),
            ("displayName", json!(["a"]), json!(["a"])),
            ("clientToken", json!("deflect-1"), json!("deflect-1")),
            ("template", Value::Null, Value::Null),
            ("to", Value::Null, Value::Null),
            ("temlate", json!("{\"a\":1}"), json!("{\"a\":1}")),
            ("Channel", json!(1), json!(1)),
            ("requestId", json!(true), json!(true)),
        ];
        for (name, value, expected) in cases {
            assert_eq!(
                read_one(name, value.clone(), ""),
                Ok(expected),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn a_request_identifier_is_refused_as_it_belongs_to_a_batch_item() {
        let read = read_one("requestIdentifier", json!("item-1"), BATCH_ONLY);
        assert_eq!(read, Err("requestIdentifier".to_owned()));
    }

    #[test]
    fn every_problem_is_reported_not_only_the_first() {
        let parameters = json!({
            "channel": "WHATSAPP",
            "message": "Hi",
            "attributes": "not json",
            "requestIdentifier": "1",
            "chatDurationInMinutes": "soon"
        });
        let found = problems(without("CustomerEndpoint"), parameters);
        let mut named: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        named.sort_unstable();
        let expected = [
            "attributes",
            "chatDurationInMinutes",
            "message",
            "requestIdentifier",
            "to",
        ];
        assert_eq!(named, expected);
    }

    #[test]
    fn each_default_fills_a_member_the_block_left_out() {
        let made = request(voice_contact(), json!({"message": "Hi"}))
            .unwrap()
            .request;
        let expected = json!({
            "message": {"content": "Hi"},
            "to": CALLER,
            "relatedContactId": CONTACT_ID,
            "instanceId": INSTANCE_ID,
            "category": "TRANSACTIONAL"
        });
        assert_eq!(
            made, expected,
            "and no channel: the validator's default (SMS) applies"
        );
    }

    #[test]
    fn a_member_given_by_the_block_is_never_replaced_by_a_default() {
        let given = json!({
            "to": "+14255550123",
            "relatedContactId": OTHER_CONTACT_ID,
            "instanceId": "other-instance",
            "category": "PROMOTIONAL"
        });
        let made = request(voice_contact(), given.clone()).unwrap().request;
        assert_eq!(made, given);
        let made = request(voice_contact(), json!({"category": null}))
            .unwrap()
            .request;
        assert_eq!(made["category"], Value::Null, "null is given, not absent");
    }

    #[test]
    fn the_instance_id_stays_out_when_the_instance_arn_is_missing_or_unreadable() {
        let cases = [
            without("InstanceARN"),
            patched("InstanceARN", Value::Null),
            patched("InstanceARN", json!("not-an-arn")),
        ];
        for contact in cases {
            let made = object(request(contact.clone(), json!({})).unwrap().request);
            assert!(!made.contains_key("instanceId"), "{contact}");
        }
    }

    #[test]
    fn an_unknown_caller_number_is_a_problem_on_to_that_never_shows_a_number() {
        let endpoint = |e: Value| patched("CustomerEndpoint", e);
        let cases = [
            without("CustomerEndpoint"),
            endpoint(Value::Null),
            endpoint(json!({"Address": "ana@example.com", "Type": "EMAIL_ADDRESS"})),
            endpoint(json!({"Address": CALLER, "Type": "CONNECT_PHONENUMBER_ARN"})),
            endpoint(json!({"Address": CALLER, "Type": "telephone_number"})),
            endpoint(json!({"Address": CALLER})),
            endpoint(json!({"Type": "TELEPHONE_NUMBER"})),
            endpoint(json!({"Address": "", "Type": "TELEPHONE_NUMBER"})),
            endpoint(json!({"Address": null, "Type": "TELEPHONE_NUMBER"})),
        ];
        for contact in cases {
            let found = problems(contact.clone(), json!({"message": "Hi"}));
            assert_eq!(
                found,
                [("to".to_owned(), UNKNOWN_CALLER.to_owned())],
                "{contact}"
            );
            assert!(!found[0].1.contains("4255550100"));
            let given = request(contact.clone(), json!({"to": "+14255550123"}));
            assert_eq!(given.unwrap().request["to"], "+14255550123", "{contact}");
        }
    }

    #[test]
    fn whatsapp_free_text_needs_a_template_unless_the_contact_is_a_whatsapp_chat() {
        let template = json!({"knowledgeBaseId": "kb-1234", "messageTemplateId": "queue-callback"});
        let text = json!({"channel": "WHATSAPP", "message": "Hi"});
        let chat = chat_contact(WHATSAPP_SUBTYPE);
        let mut voice_tagged_whatsapp = chat.clone();
        voice_tagged_whatsapp["Channel"] = json!("VOICE");
        let cases = [
            (voice_contact(), text.clone(), true),
            (
                voice_contact(),
                json!({"channel": "whatsapp", "message": "Hi"}),
                true,
            ),
            (
                voice_contact(),
                json!({"channel": "WHATSAPP", "message": {"content": "Hi"}}),
                true,
            ),
            (
                voice_contact(),
                json!({"channel": "WHATSAPP", "message": "Hi", "relatedContactId": "x"}),
                true,
            ),
            (chat_contact("connect:SMS"), text.clone(), true),
            (patched("Channel", json!("CHAT")), text.clone(), true),
            (voice_tagged_whatsapp, text.clone(), true),
            (
                voice_contact(),
                json!({"channel": "WHATSAPP", "template": template}),
                false,
            ),
            (
                voice_contact(),
                json!({"channel": "WHATSAPP", "template": template.to_string()}),
                false,
            ),
            (chat, text, false),
            (
                voice_contact(),
                json!({"channel": "SMS", "message": "Hi"}),
                false,
            ),
            (voice_contact(), json!({"message": "Hi"}), false),
            (voice_contact(), json!({"channel": "WHATSAPP"}), false),
            (
                voice_contact(),
                json!({"channel": "WHATSAPP", "template": null, "message": "Hi"}),
                false,
            ),
        ];
        for (contact, parameters, refused) in cases {
            let expected = ("message".to_owned(), WHATSAPP_NEEDS_TEMPLATE.to_owned());
            let found = problems(contact.clone(), parameters.clone());
            assert_eq!(found == [expected], refused, "{parameters} on {contact}");
            assert!(refused || found.is_empty(), "{found:?}");
        }
    }

    #[test]
    fn an_unreadable_template_is_reported_alone_not_as_missing() {
        let parameters = json!({"channel": "WHATSAPP", "message": "Hi", "template": "kb-1234"});
        let found = problems(voice_contact(), parameters);
        assert_eq!(found, [("template".to_owned(), NOT_AN_OBJECT.to_owned())]);
    }

    #[test]
    fn a_contact_is_a_whatsapp_chat_only_as_a_chat_with_the_whatsapp_subtype() {
        let mut flat_subtype = chat_contact("x");
        flat_subtype["SegmentAttributes"] = json!({"connect:Subtype": WHATSAPP_SUBTYPE});
        let mut null_segments = chat_contact("x");
        null_segments["SegmentAttributes"] = Value::Null;
        let cases = [
            (chat_contact(WHATSAPP_SUBTYPE), true),
            (chat_contact("connect:SMS"), false),
            (patched("Channel", json!("CHAT")), false),
            (voice_contact(), false),
            (flat_subtype, false),
            (null_segments, false),
        ];
        for (contact, expected) in cases {
            let read = read_flow_event(event(contact.clone(), json!({}))).unwrap();
            assert_eq!(read.contact_is_whatsapp_chat(), expected, "{contact}");
        }
    }

    /// The client token a flow's request derives (`DeliveryIdentity::Flow`).
    fn token(contact_id: &str, parameters: Value) -> String {
        let contact = patched("ContactId", json!(contact_id));
        let made = request(contact, parameters).expect("a usable request");
        let identity = DeliveryIdentity::Flow {
            contact_id: &made.contact_id,
            parameters: &made.parameters,
        };
        identity.client_token().as_str().to_owned()
    }

    fn canonical(parameters: Value) -> String {
        request(voice_contact(), parameters)
            .expect("a usable request")
            .parameters
    }

    #[test]
    fn the_token_source_is_the_contact_id_and_the_parameters_as_received_in_canonical_form() {
        let parameters =
            json!({"message": "Hi", "channel": "SMS", "attributes": {"b": "2", "a": "1"}});
        let expected = r#"{"attributes":{"a":"1","b":"2"},"channel":"SMS","message":"Hi"}"#;
        assert_eq!(canonical(parameters), expected);
        assert_eq!(canonical(json!({})), "{}");
        let made = request(voice_contact(), json!({})).unwrap();
        assert_eq!(made.contact_id, CONTACT_ID);
        let received = token(CONTACT_ID, json!({"chatDurationInMinutes": 60}));
        let as_text = token(CONTACT_ID, json!({"chatDurationInMinutes": "60"}));
        assert_ne!(
            received, as_text,
            "the parameters as received, not as converted"
        );
    }

    #[test]
    fn the_token_source_is_stable_for_a_retry_and_changes_with_the_contact_or_any_parameter() {
        let base = json!({"channel": "SMS", "message": "Book", "attributes": {"why": "deflect"}});
        let same = token(CONTACT_ID, base.clone());
        let changed = |key: &str, value: Value| {
            let mut parameters = base.clone();
            parameters[key] = value;
            parameters
        };
        let cases = [
            (CONTACT_ID, base.clone(), true),
            (OTHER_CONTACT_ID, base.clone(), false),
            (CONTACT_ID, changed("message", json!("Book now")), false),
            (
                CONTACT_ID,
                changed("attributes", json!({"why": "queue"})),
                false,
            ),
            (
                CONTACT_ID,
                changed("category", json!("TRANSACTIONAL")),
                false,
            ),
            (CONTACT_ID, changed("clientToken", json!("t-1")), false),
        ];
        for (contact_id, parameters, equal) in cases {
            assert_eq!(
                token(contact_id, parameters.clone()) == same,
                equal,
                "{parameters}"
            );
        }
    }

    #[test]
    fn the_token_source_does_not_depend_on_the_key_order_of_the_event_text() {
        let ordered = r#"{"Name":"ContactFlowEvent","Details":{
            "ContactData":{"ContactId":"c-1",
                "CustomerEndpoint":{"Address":"+14255550100","Type":"TELEPHONE_NUMBER"}},
            "Parameters":{"attributes":{"a":"1","b":"2"},"channel":"SMS","message":"Hi"}}}"#;
        let shuffled = r#"{"Details":{
            "Parameters":{"message":"Hi","channel":"SMS","attributes":{"b":"2","a":"1"}},
            "ContactData":{
                "CustomerEndpoint":{"Type":"TELEPHONE_NUMBER","Address":"+14255550100"},
                "ContactId":"c-1"}},
            "Name":"ContactFlowEvent"}"#;
        let source = |text: &str| {
            let event = read_flow_event(serde_json::from_str(text).unwrap()).unwrap();
            event.to_request().unwrap().parameters
        };
        assert_eq!(source(ordered), source(shuffled));
    }

    #[test]
    fn serde_json_writes_object_keys_sorted_in_this_build_as_the_canonical_writer_does() {
        let text = r#"{"z":1,"a":{"y":[{"d":1,"c":2}],"b":"é\"\n"},"m":null,"n":1.5}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let sorted = r#"{"a":{"b":"é\"\n","y":[{"c":2,"d":1}]},"m":null,"n":1.5,"z":1}"#;
        assert_eq!(
            value.to_string(),
            sorted,
            "serde_json without preserve_order"
        );
        let mut canonical = String::new();
        write_canonical(&value, &mut canonical);
        assert_eq!(canonical, sorted);
    }

    #[test]
    fn instance_ids_are_read_from_connect_instance_arns_only() {
        let cases = [
            (INSTANCE_ARN, Some(INSTANCE_ID)),
            (
                "arn:aws-cn:connect:cn-north-1:123456789012:instance/abc",
                Some("abc"),
            ),
            (
                "arn:aws:connect:us-east-1:123456789012:instance/abc/queue/def",
                Some("abc"),
            ),
            ("arn:aws:lambda:us-east-1:123456789012:instance/abc", None),
            (
                "arn:aws:connect:us-east-1:123456789012:phone-number/abc",
                None,
            ),
            ("arn:aws:connect:us-east-1:123456789012:instance/", None),
            ("arn::connect:us-east-1:123456789012:instance/abc", None),
            ("arn:aws:connect:instance/abc", None),
            ("12345678-1234-1234-1234-123456789012", None),
            ("", None),
        ];
        for (arn, expected) in cases {
            assert_eq!(instance_id_from_arn(arn), expected, "{arn}");
        }
    }

    #[test]
    fn debug_output_names_members_but_never_shows_the_callers_number_or_content() {
        let read = read_flow_event(event(voice_contact(), json!({"message": "secret"}))).unwrap();
        let made = read.to_request().unwrap();
        for shown in [
            format!("{read:?}"),
            format!("{made:?}"),
            format!("{:?}", read.contact()),
        ] {
            assert!(
                !shown.contains("4255550100") && !shown.contains("secret"),
                "{shown}"
            );
        }
        assert!(format!("{made:?}").contains("\"to\""));
    }

    #[test]
    fn problems_and_errors_read_as_sentences() {
        let problem = ParameterProblem::new("template", NOT_AN_OBJECT);
        let expected = "template: must be a JSON object, or a string holding one";
        assert_eq!(problem.to_string(), expected);
        let error = FlowEventError::NoContactId.to_string();
        assert_eq!(
            error,
            "the flow event has no `Details.ContactData.ContactId` (a non-empty string)"
        );
    }
}
