//! The wire forms of a send request, as producers write them: the friendly camelCase form and
//! Connect's own PascalCase form. Serde reads each (unknown fields refused), one mapping per
//! form turns it into the domain's [`RequestInput`], and each form's [`FieldNames`] table names
//! its fields in violations. The rules live in the domain.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::domain::{
    EndpointInput, EndpointNames, FieldNames, MessageInput, MessageNames, Reason, RequestInput,
    SegmentInput, TemplateInput, ValidationError, Violation, redact_phone_numbers,
};

/// A request read from either form: its raw members, the names its form gives them, and the
/// members refused before reading (unknown, or of the wrong JSON type), which were left out so
/// that the rest of the request is still read and every other violation reported with them.
#[derive(Debug)]
pub struct WireRequest {
    pub input: RequestInput,
    pub names: &'static FieldNames,
    pub refused: Vec<Violation>,
}

/// Reads a request from a JSON text (an SQS body, an HTTP body).
pub fn from_json(text: &str) -> Result<WireRequest, ValidationError> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        invalid(format!(
            "the request is not valid JSON: {}",
            redact_phone_numbers(&err.to_string())
        ))
    })?;
    from_value(value)
}

/// Reads a request from a JSON value. The native form is recognised by the presence of
/// `DestinationEndpoint`, as the contract says; everything else is read as the friendly form,
/// so that a misspelt friendly field is reported by name.
pub fn from_value(value: Value) -> Result<WireRequest, ValidationError> {
    let Value::Object(map) = &value else {
        return Err(invalid("the request must be a JSON object".into()));
    };
    refuse_lax_shapes(&value)?;
    if map.contains_key("DestinationEndpoint") {
        let (request, refused) = read::<NativeRequest>(value)?;
        Ok(WireRequest {
            input: request.into_input(),
            names: &NATIVE,
            refused,
        })
    } else {
        let (request, refused) = read::<FriendlyRequest>(value)?;
        Ok(WireRequest {
            input: request.into_input(),
            names: &FRIENDLY,
            refused,
        })
    }
}

/// Members whose value is written as a document of the caller's own (a profile document, which
/// Connect receives as it is): their insides are not the request's members.
const OPAQUE_MEMBERS: [&str; 1] = ["customerProfileAttributes"];

/// The only members of either form whose value is a list.
const LIST_MEMBERS: [&str; 3] = [
    "supportedMessagingContentTypes",
    "SupportedMessagingContentTypes",
    "ValueList",
];

/// Refuses, each under its path, the two shapes serde would read as something the caller did
/// not write: a member set to `null` (read as an absent one, so `{"category": null}` would
/// silently take the configured default) and a list where no list belongs (serde reads a
/// struct from a list by position, so `"message": ["Hi", "text/plain"]` would be a message).
/// The published JSON Schema allows neither.
fn refuse_lax_shapes(value: &Value) -> Result<(), ValidationError> {
    let mut found = Vec::new();
    lax_shapes(value, "", &mut found);
    if found.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::several(found))
    }
}

fn lax_shapes(value: &Value, path: &str, found: &mut Vec<Violation>) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, inner) in map {
        let member = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let problem = match inner {
            Value::Null => "must not be null: leave the member out instead",
            Value::Array(_) if !LIST_MEMBERS.contains(&key.as_str()) => {
                "has the wrong type: a list is not accepted here"
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    lax_shapes(item, &format!("{member}[{index}]"), found);
                }
                continue;
            }
            _ if OPAQUE_MEMBERS.contains(&key.as_str()) => continue,
            _ => {
                lax_shapes(inner, &member, found);
                continue;
            }
        };
        found.push(Violation::new(member, problem, Reason::Invalid));
    }
}

fn invalid(message: String) -> ValidationError {
    ValidationError::single(Violation::new("", message, Reason::Invalid))
}

/// Most members refused in one request before the reading gives up on the rest: a bound on the
/// work a hostile document can cause (each refusal reads the request once more).
const MAX_REFUSED_MEMBERS: usize = 32;

/// Deserializes one form. A structural error (an unknown member, a wrong JSON type) becomes a
/// violation with the member's path, the member is left out, and the reading starts again, so
/// that a misspelt `temlate` is reported together with every other violation of the request
/// rather than alone. An error that names no member stops the reading.
fn read<T: for<'de> Deserialize<'de>>(
    mut value: Value,
) -> Result<(T, Vec<Violation>), ValidationError> {
    let mut refused = Vec::new();
    loop {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(request) => return Ok((request, refused)),
            Err(err) => err,
        };
        let path: Vec<Segment> = err.path().iter().cloned().collect();
        let shown = err.path().to_string();
        let shown = if shown == "." { String::new() } else { shown };
        let message = describe_structural_error(&err.into_inner().to_string());
        refused.push(Violation::new(shown, message, Reason::Invalid));
        if refused.len() >= MAX_REFUSED_MEMBERS || !leave_out(&mut value, &path) {
            return Err(ValidationError::several(refused));
        }
    }
}

/// Removes the member at `path` from `value`; false when `path` names no member of an object.
fn leave_out(value: &mut Value, path: &[Segment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut at = value;
    for segment in parents {
        let next = match (segment, at) {
            (Segment::Map { key }, Value::Object(map)) => map.get_mut(key),
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return false };
        at = next;
    }
    match (last, at) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key).is_some(),
        _ => false,
    }
}

/// Serde quotes the offending value in type errors (`invalid type: string "Hi Ana", expected
/// ...`); that value may be a message or a phone number, so only the expectation is kept.
pub fn describe_structural_error(message: &str) -> String {
    let value_error = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .or_else(|| message.strip_prefix("invalid length "));
    match value_error {
        Some(rest) => match rest.rfind(", expected ") {
            Some(at) => format!("has the wrong type or value: expected {}", &rest[at + 11..]),
            None => "has the wrong type or value".into(),
        },
        None => redact_phone_numbers(message),
    }
}

/// The friendly form (contract §1a).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FriendlyRequest {
    channel: Option<String>,
    to: Option<String>,
    from: Option<String>,
    instance_id: Option<String>,
    contact_flow_id: Option<String>,
    message: Option<FriendlyMessage>,
    template: Option<FriendlyTemplate>,
    attributes: Option<BTreeMap<String, String>>,
    segment_attributes: Option<BTreeMap<String, SegmentValueDto>>,
    chat_duration_in_minutes: Option<i64>,
    display_name: Option<String>,
    related_contact_id: Option<String>,
    supported_messaging_content_types: Option<Vec<String>>,
    client_token: Option<String>,
    request_identifier: Option<String>,
    expires_at: Option<String>,
    category: Option<String>,
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FriendlyMessage {
    content: Option<String>,
    content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FriendlyTemplate {
    knowledge_base_id: Option<String>,
    message_template_id: Option<String>,
    custom_attributes: Option<BTreeMap<String, String>>,
    /// A JSON object, or a string holding one.
    customer_profile_attributes: Option<Value>,
}

/// Connect's `SegmentAttributeValue`, recursive.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct SegmentValueDto {
    value_string: Option<String>,
    value_integer: Option<i64>,
    value_map: Option<BTreeMap<String, SegmentValueDto>>,
    value_list: Option<Vec<SegmentValueDto>>,
    value_arn: Option<String>,
}

/// The native form (contract §1b): `StartOutboundChatContact`'s input as the API documents it,
/// plus the fields the contract adds to every request: `RequestIdentifier`, `ExpiresAt`,
/// `Category`, `TimeZone`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct NativeRequest {
    instance_id: Option<String>,
    contact_flow_id: Option<String>,
    source_endpoint: Option<EndpointDto>,
    destination_endpoint: Option<EndpointDto>,
    segment_attributes: Option<BTreeMap<String, SegmentValueDto>>,
    attributes: Option<BTreeMap<String, String>>,
    chat_duration_in_minutes: Option<i64>,
    participant_details: Option<ParticipantDetailsDto>,
    initial_system_message: Option<SystemMessageDto>,
    initial_templated_system_message: Option<TemplatedMessageDto>,
    related_contact_id: Option<String>,
    supported_messaging_content_types: Option<Vec<String>>,
    client_token: Option<String>,
    request_identifier: Option<String>,
    expires_at: Option<String>,
    category: Option<String>,
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct EndpointDto {
    #[serde(rename = "Type")]
    kind: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct ParticipantDetailsDto {
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct SystemMessageDto {
    content_type: Option<String>,
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TemplatedMessageDto {
    knowledge_base_id: Option<String>,
    message_template_id: Option<String>,
    template_attributes: Option<TemplateAttributesDto>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TemplateAttributesDto {
    custom_attributes: Option<BTreeMap<String, String>>,
    /// Connect wants a JSON document serialized into a string.
    customer_profile_attributes: Option<String>,
}

impl SegmentValueDto {
    fn into_input(self) -> SegmentInput {
        SegmentInput {
            value_string: self.value_string,
            value_integer: self.value_integer,
            value_map: self.value_map.map(segment_inputs),
            value_list: self
                .value_list
                .map(|list| list.into_iter().map(Self::into_input).collect()),
            value_arn: self.value_arn,
        }
    }
}

fn segment_inputs(map: BTreeMap<String, SegmentValueDto>) -> BTreeMap<String, SegmentInput> {
    map.into_iter().map(|(k, v)| (k, v.into_input())).collect()
}

/// The friendly form's content type when a message leaves it out.
const DEFAULT_CONTENT_TYPE: &str = "text/plain";

impl FriendlyRequest {
    fn into_input(self) -> RequestInput {
        RequestInput {
            endpoints: EndpointInput {
                channel: self.channel,
                to: self.to,
                to_type: None,
                from: self.from,
                from_type: None,
                instance_id: self.instance_id,
                contact_flow_id: self.contact_flow_id,
            },
            message: self.message.map(|m| MessageInput {
                content: m.content,
                content_type: Some(
                    m.content_type
                        .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into()),
                ),
            }),
            template: self.template.map(|t| TemplateInput {
                knowledge_base_id: t.knowledge_base_id,
                message_template_id: t.message_template_id,
                has_attributes: true,
                custom_attributes: t.custom_attributes,
                customer_profile_attributes: t.customer_profile_attributes.map(|v| match v {
                    Value::Object(_) => Ok(v.to_string()),
                    Value::String(s) => Ok(s),
                    _ => Err("must be a JSON object, or a string holding one".into()),
                }),
            }),
            attributes: self.attributes,
            segment_attributes: self.segment_attributes.map(segment_inputs),
            chat_duration: self.chat_duration_in_minutes,
            display_name: self.display_name.map(Some),
            related_contact_id: self.related_contact_id,
            supported_content_types: self.supported_messaging_content_types,
            client_token: self.client_token,
            request_identifier: self.request_identifier,
            expires_at: self.expires_at,
            category: self.category,
            time_zone: self.time_zone,
        }
    }
}

impl NativeRequest {
    fn into_input(self) -> RequestInput {
        let (to_type, to) = self
            .destination_endpoint
            .map_or((None, None), |e| (e.kind, e.address));
        let (from_type, from) = self
            .source_endpoint
            .map_or((None, None), |e| (e.kind, e.address));
        RequestInput {
            endpoints: EndpointInput {
                channel: None,
                // The native form always names its destination type; a missing one is reported.
                to_type: Some(to_type.unwrap_or_default()),
                to,
                // A source type is checked whenever it is given, and required with an address.
                from_type: from_type.or_else(|| from.as_ref().map(|_| String::new())),
                from,
                instance_id: self.instance_id,
                contact_flow_id: self.contact_flow_id,
            },
            message: self.initial_system_message.map(|m| MessageInput {
                content: m.content,
                content_type: m.content_type,
            }),
            template: self.initial_templated_system_message.map(|t| {
                let has_attributes = t.template_attributes.is_some();
                let (custom, profile) = t.template_attributes.map_or((None, None), |a| {
                    (a.custom_attributes, a.customer_profile_attributes)
                });
                TemplateInput {
                    knowledge_base_id: t.knowledge_base_id,
                    message_template_id: t.message_template_id,
                    has_attributes,
                    custom_attributes: custom,
                    customer_profile_attributes: profile.map(Ok),
                }
            }),
            attributes: self.attributes,
            segment_attributes: self.segment_attributes.map(segment_inputs),
            chat_duration: self.chat_duration_in_minutes,
            display_name: self.participant_details.map(|p| p.display_name),
            related_contact_id: self.related_contact_id,
            supported_content_types: self.supported_messaging_content_types,
            client_token: self.client_token,
            request_identifier: self.request_identifier,
            expires_at: self.expires_at,
            category: self.category,
            time_zone: self.time_zone,
        }
    }
}

/// The friendly form's field names.
pub static FRIENDLY: FieldNames = FieldNames {
    endpoints: EndpointNames {
        channel: "channel",
        subtype: "segmentAttributes.connect:Subtype",
        to: "to",
        to_type: "to",
        from: "from",
        from_type: "from",
        instance_id: "instanceId",
        contact_flow_id: "contactFlowId",
    },
    message: MessageNames {
        message: "message",
        message_content: "message.content",
        message_content_type: "message.contentType",
        template: "template",
        knowledge_base_id: "template.knowledgeBaseId",
        message_template_id: "template.messageTemplateId",
        template_attributes: "template",
        custom_attributes: "template.customAttributes",
        customer_profile_attributes: "template.customerProfileAttributes",
        related_contact_id: "relatedContactId",
        supported_content_types: "supportedMessagingContentTypes",
    },
    attributes: "attributes",
    segment_attributes: "segmentAttributes",
    chat_duration: "chatDurationInMinutes",
    display_name: "displayName",
    client_token: "clientToken",
    request_identifier: "requestIdentifier",
    expires_at: "expiresAt",
    category: "category",
    time_zone: "timeZone",
};

/// The native form's field names.
pub static NATIVE: FieldNames = FieldNames {
    endpoints: EndpointNames {
        channel: "SegmentAttributes.connect:Subtype",
        subtype: "SegmentAttributes.connect:Subtype",
        to: "DestinationEndpoint.Address",
        to_type: "DestinationEndpoint.Type",
        from: "SourceEndpoint.Address",
        from_type: "SourceEndpoint.Type",
        instance_id: "InstanceId",
        contact_flow_id: "ContactFlowId",
    },
    message: MessageNames {
        message: "InitialSystemMessage",
        message_content: "InitialSystemMessage.Content",
        message_content_type: "InitialSystemMessage.ContentType",
        template: "InitialTemplatedSystemMessage",
        knowledge_base_id: "InitialTemplatedSystemMessage.KnowledgeBaseId",
        message_template_id: "InitialTemplatedSystemMessage.MessageTemplateId",
        template_attributes: "InitialTemplatedSystemMessage.TemplateAttributes",
        custom_attributes: "InitialTemplatedSystemMessage.TemplateAttributes.CustomAttributes",
        customer_profile_attributes: "InitialTemplatedSystemMessage.TemplateAttributes.CustomerProfileAttributes",
        related_contact_id: "RelatedContactId",
        supported_content_types: "SupportedMessagingContentTypes",
    },
    attributes: "Attributes",
    segment_attributes: "SegmentAttributes",
    chat_duration: "ChatDurationInMinutes",
    display_name: "ParticipantDetails.DisplayName",
    client_token: "ClientToken",
    request_identifier: "RequestIdentifier",
    expires_at: "ExpiresAt",
    category: "Category",
    time_zone: "TimeZone",
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_native_form_is_recognised_by_its_destination_endpoint() {
        let native = from_value(
            json!({"DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"}}),
        );
        assert!(std::ptr::eq(native.unwrap().names, &NATIVE));
        let friendly = from_value(json!({"to": "+14255550100"}));
        assert!(std::ptr::eq(friendly.unwrap().names, &FRIENDLY));
    }

    /// What the wire side refused of `value`: the members left out of the reading, or the
    /// violations that stopped it.
    fn refused(value: Value) -> ValidationError {
        match from_value(value) {
            Ok(request) => ValidationError::several(request.refused),
            Err(err) => err,
        }
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_name() {
        let err = refused(json!({"to": "+14255550100", "temlate": {}}));
        assert!(err.violations()[0].message.contains("temlate"), "{err}");
    }

    #[test]
    fn the_reading_goes_on_past_every_refused_member_and_keeps_the_rest() {
        let request = from_value(
            json!({"to": "+14255550100", "temlate": {}, "displayName": 7,
            "message": {"content": "hi", "x": 1}}),
        )
        .unwrap();
        let fields: Vec<&str> = request.refused.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["displayName", "message.x", "temlate"]);
        assert_eq!(request.input.endpoints.to.as_deref(), Some("+14255550100"));
        assert!(request.input.message.is_some());
        let clean = from_value(json!({"to": "+14255550100"})).unwrap();
        assert!(clean.refused.is_empty());
    }

    #[test]
    fn a_hostile_document_is_read_again_at_most_a_bounded_number_of_times() {
        let many: serde_json::Map<String, Value> = (0..100)
            .map(|i| (format!("x{i:03}"), Value::from(1)))
            .collect();
        let err = from_value(Value::Object(many)).unwrap_err();
        assert_eq!(err.violations().len(), MAX_REFUSED_MEMBERS);
    }

    #[test]
    fn a_wrong_type_is_reported_at_its_path_without_echoing_a_phone_number() {
        let err = refused(
            json!({"to": "+14255550100", "template": {"customAttributes": {"time": 1030}}}),
        );
        assert_eq!(err.violations()[0].field, "template.customAttributes.time");
        let err = refused(json!({"chatDurationInMinutes": "+14255550100"}));
        assert_eq!(err.violations()[0].field, "chatDurationInMinutes");
        assert!(!err.to_string().contains("4255550100"), "{err}");
    }

    #[test]
    fn a_wrong_type_error_never_quotes_the_value() {
        let err = refused(json!({"to": "+14255550100", "message": "Hi Ana, see you at 10:30"}));
        let text = err.to_string();
        assert!(!text.contains("Ana"), "{text}");
        assert!(
            text.contains("message") && text.contains("expected"),
            "{text}"
        );
    }

    #[test]
    fn every_null_member_and_misplaced_list_is_refused_under_its_path_except_in_a_profile_document()
    {
        // (request, the paths refused)
        let cases = [
            (
                json!({"to": "+14255550100", "category": null}),
                vec!["category"],
            ),
            (
                json!({"to": null, "message": {"content": "hi", "contentType": null}}),
                vec!["message.contentType", "to"],
            ),
            (
                json!({"to": "+14255550100", "segmentAttributes": {"tier": {"ValueString": null, "ValueInteger": 1}}}),
                vec!["segmentAttributes.tier.ValueString"],
            ),
            (
                json!({"DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"}, "ClientToken": null}),
                vec!["ClientToken"],
            ),
            (
                json!({"to": "+14255550100", "template": {"customerProfileAttributes": {"Nickname": null, "Tags": [1]}}}),
                vec![],
            ),
            (
                json!({"to": "+14255550100", "message": ["Hi", "text/plain"]}),
                vec!["message"],
            ),
            (
                json!({"DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"},
                       "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t", "TemplateAttributes": [{}, "{}"]},
                       "SegmentAttributes": {"connect:List": {"ValueList": [{"ValueString": null}]}},
                       "SupportedMessagingContentTypes": ["text/plain"]}),
                vec![
                    "InitialTemplatedSystemMessage.TemplateAttributes",
                    "SegmentAttributes.connect:List.ValueList[0].ValueString",
                ],
            ),
        ];
        for (request, paths) in cases {
            let refused: Vec<String> = match from_value(request.clone()) {
                Ok(_) => Vec::new(),
                Err(err) => err.violations().iter().map(|v| v.field.clone()).collect(),
            };
            assert_eq!(refused, paths, "{request}");
        }
    }

    #[test]
    fn non_objects_and_broken_json_are_refused() {
        assert!(from_value(json!(["to"])).is_err());
        assert!(from_json("{\"to\": ").is_err());
        assert!(from_json("{\"to\": \"+1425\"}").is_ok());
    }
}
