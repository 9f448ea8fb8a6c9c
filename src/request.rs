//! The wire forms of a send request, as producers write them: the friendly camelCase form and
//! Connect's own PascalCase form. Serde only, unknown fields refused; the rules live in
//! [`crate::domain::outbound`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::phone::redact_phone_numbers;
use crate::domain::{Reason, ValidationError, Violation};

/// A send request in either form, before validation.
#[derive(Debug)]
pub enum SendRequest {
    Friendly(Box<FriendlyRequest>),
    Native(Box<NativeRequest>),
}

impl SendRequest {
    /// Reads a request from a JSON text (an SQS body, an HTTP body).
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let value: Value = serde_json::from_str(text).map_err(|err| {
            ValidationError::single(Violation::new(
                "",
                format!(
                    "the request is not valid JSON: {}",
                    redact_phone_numbers(&err.to_string())
                ),
                Reason::Invalid,
            ))
        })?;
        Self::from_value(value)
    }

    /// Reads a request from a JSON value. The native form is recognised by the presence of
    /// `DestinationEndpoint`, as the contract says; everything else is read as the friendly
    /// form, so that a misspelt friendly field is reported by name.
    pub fn from_value(value: Value) -> Result<Self, ValidationError> {
        let Value::Object(map) = &value else {
            return Err(ValidationError::single(Violation::new(
                "",
                "the request must be a JSON object",
                Reason::Invalid,
            )));
        };
        if map.contains_key("DestinationEndpoint") {
            read(value).map(|r| Self::Native(Box::new(r)))
        } else {
            read(value).map(|r| Self::Friendly(Box::new(r)))
        }
    }
}

/// Deserializes one form, turning serde's first structural error (an unknown field, a wrong
/// JSON type) into a violation with the path of the field. Such an error stops the reading:
/// the rest of the document cannot be interpreted, so it is reported alone.
fn read<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = describe_structural_error(&err.into_inner().to_string());
        ValidationError::single(Violation::new(path, message, Reason::Invalid))
    })
}

/// Serde quotes the offending value in type errors (`invalid type: string "Hi Ana", expected
/// ...`); that value may be a message or a phone number, so only the expectation is kept.
pub(crate) fn describe_structural_error(message: &str) -> String {
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
pub struct FriendlyRequest {
    pub channel: Option<String>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub instance_id: Option<String>,
    pub contact_flow_id: Option<String>,
    pub message: Option<FriendlyMessage>,
    pub template: Option<FriendlyTemplate>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub segment_attributes: Option<BTreeMap<String, SegmentValueDto>>,
    pub chat_duration_in_minutes: Option<i64>,
    pub display_name: Option<String>,
    pub related_contact_id: Option<String>,
    pub supported_messaging_content_types: Option<Vec<String>>,
    pub client_token: Option<String>,
    pub request_identifier: Option<String>,
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FriendlyMessage {
    pub content: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FriendlyTemplate {
    pub knowledge_base_id: Option<String>,
    pub message_template_id: Option<String>,
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// A JSON object, or a string holding one.
    pub customer_profile_attributes: Option<Value>,
}

/// Connect's `SegmentAttributeValue`, recursive.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SegmentValueDto {
    pub value_string: Option<String>,
    pub value_integer: Option<i64>,
    pub value_map: Option<BTreeMap<String, SegmentValueDto>>,
    pub value_list: Option<Vec<SegmentValueDto>>,
    pub value_arn: Option<String>,
}

/// The native form (contract §1b): `StartOutboundChatContact`'s input as the API documents it,
/// plus `RequestIdentifier` and `ExpiresAt`, the two fields the contract adds to every request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NativeRequest {
    pub instance_id: Option<String>,
    pub contact_flow_id: Option<String>,
    pub source_endpoint: Option<EndpointDto>,
    pub destination_endpoint: Option<EndpointDto>,
    pub segment_attributes: Option<BTreeMap<String, SegmentValueDto>>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub chat_duration_in_minutes: Option<i64>,
    pub participant_details: Option<ParticipantDetailsDto>,
    pub initial_system_message: Option<SystemMessageDto>,
    pub initial_templated_system_message: Option<TemplatedMessageDto>,
    pub related_contact_id: Option<String>,
    pub supported_messaging_content_types: Option<Vec<String>>,
    pub client_token: Option<String>,
    pub request_identifier: Option<String>,
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct EndpointDto {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ParticipantDetailsDto {
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SystemMessageDto {
    pub content_type: Option<String>,
    pub content: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TemplatedMessageDto {
    pub knowledge_base_id: Option<String>,
    pub message_template_id: Option<String>,
    pub template_attributes: Option<TemplateAttributesDto>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TemplateAttributesDto {
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// Connect wants a JSON document serialized into a string.
    pub customer_profile_attributes: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_native_form_is_recognised_by_its_destination_endpoint() {
        let native = SendRequest::from_value(
            json!({"DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"}}),
        );
        assert!(matches!(native, Ok(SendRequest::Native(_))));
        let friendly = SendRequest::from_value(json!({"to": "+14255550100"}));
        assert!(matches!(friendly, Ok(SendRequest::Friendly(_))));
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_name() {
        let err =
            SendRequest::from_value(json!({"to": "+14255550100", "temlate": {}})).unwrap_err();
        assert!(err.violations()[0].message.contains("temlate"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_reported_at_its_path_without_echoing_a_phone_number() {
        let err = SendRequest::from_value(
            json!({"to": "+14255550100", "template": {"customAttributes": {"time": 1030}}}),
        )
        .unwrap_err();
        assert_eq!(err.violations()[0].field, "template.customAttributes.time");
        let err =
            SendRequest::from_value(json!({"chatDurationInMinutes": "+14255550100"})).unwrap_err();
        assert_eq!(err.violations()[0].field, "chatDurationInMinutes");
        assert!(!err.to_string().contains("4255550100"), "{err}");
    }

    #[test]
    fn a_wrong_type_error_never_quotes_the_value() {
        let err = SendRequest::from_value(
            json!({"to": "+14255550100", "message": "Hi Ana, see you at 10:30"}),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("Ana"), "{text}");
        assert!(
            text.contains("message") && text.contains("expected"),
            "{text}"
        );
    }

    #[test]
    fn non_objects_and_broken_json_are_refused() {
        assert!(SendRequest::from_value(json!(["to"])).is_err());
        assert!(SendRequest::from_json("{\"to\": ").is_err());
        assert!(SendRequest::from_json("{\"to\": \"+1425\"}").is_ok());
    }
}
