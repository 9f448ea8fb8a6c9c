//! Every validation rule of the contract and of Connect's API, each with a passing and a
//! failing case, in both request forms.

use outbound_chat::OutboundChat;
use outbound_chat::testing::Intake;
use outbound_chat::testing::ValidationError;
use serde_json::{Value, json};

use crate::support::*;

fn validate(request: Value) -> Result<OutboundChat, ValidationError> {
    validate_with(request, &test_config())
}

fn validate_with(
    request: Value,
    config: &outbound_chat::Config,
) -> Result<OutboundChat, ValidationError> {
    Intake::from_config(config).admit_value(request, None)
}

/// Merges `patch` into a copy of `base` (JSON merge patch: `null` removes a key).
fn patched(base: &Value, patch: &Value) -> Value {
    let mut out = base.clone();
    merge(&mut out, patch);
    out
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn friendly_sms() -> Value {
    json!({"channel": "SMS", "to": "+14255550100", "message": {"content": "Your order shipped"}})
}

fn friendly_whatsapp() -> Value {
    json!({"channel": "WHATSAPP", "to": "+14255550100", "template": {"knowledgeBaseId": "kb-1", "messageTemplateId": "reminder", "customAttributes": {"firstName": "Ana"}}})
}

fn native_sms() -> Value {
    json!({
        "InstanceId": "instance-1",
        "ContactFlowId": "flow-1",
        "SourceEndpoint": {"Type": "CONNECT_PHONENUMBER_ARN", "Address": SMS_ARN},
        "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"},
        "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}},
        "InitialSystemMessage": {"ContentType": "text/plain", "Content": "Your order shipped"}
    })
}

/// (rule, base, patch that keeps it valid, patch that breaks it, field named by the violation)
type Rule = (&'static str, fn() -> Value, Value, Value, &'static str);

fn rules() -> Vec<Rule> {
    let long = |n: usize| "x".repeat(n);
    vec![
        (
            "channel is SMS or WHATSAPP, any case",
            friendly_sms,
            json!({"channel": "sms"}),
            json!({"channel": "VOICE"}),
            "channel",
        ),
        (
            "to is required",
            friendly_sms,
            json!({}),
            json!({"to": null}),
            "to",
        ),
        (
            "to is E.164 after separators",
            friendly_sms,
            json!({"to": "+1 425-555.0100"}),
            json!({"to": "4255550100"}),
            "to",
        ),
        (
            "to has at most 15 digits",
            friendly_sms,
            json!({"to": "+123456789012345"}),
            json!({"to": "+1234567890123456"}),
            "to",
        ),
        (
            "from is a phone-number ARN",
            friendly_sms,
            json!({"from": SMS_ARN}),
            json!({"from": "arn:aws:connect:us-east-1:123456789012:instance/i/phone-number/p"}),
            "from",
        ),
        (
            "instanceId is 1..100",
            friendly_sms,
            json!({"instanceId": long(100)}),
            json!({"instanceId": long(101)}),
            "instanceId",
        ),
        (
            "contactFlowId is 1..500",
            friendly_sms,
            json!({"contactFlowId": long(500)}),
            json!({"contactFlowId": ""}),
            "contactFlowId",
        ),
        (
            "message content is 1..1024 for text/plain",
            friendly_sms,
            json!({"message": {"content": long(1024)}}),
            json!({"message": {"content": long(1025)}}),
            "message.content",
        ),
        (
            "message content is 1..1024 for text/markdown",
            friendly_sms,
            json!({"message": {"content": long(1024), "contentType": "text/markdown"}}),
            json!({"message": {"content": long(1025), "contentType": "text/markdown"}}),
            "message.content",
        ),
        (
            "message content is 1..12000 for application/json",
            friendly_sms,
            json!({"message": {"content": long(12_000), "contentType": "application/json"}}),
            json!({"message": {"content": long(12_001), "contentType": "application/json"}}),
            "message.content",
        ),
        (
            "message content is 1..12288 for interactive responses",
            friendly_sms,
            json!({"message": {"content": long(12_288), "contentType": "application/vnd.amazonaws.connect.message.interactive.response"}}),
            json!({"message": {"content": long(12_289), "contentType": "application/vnd.amazonaws.connect.message.interactive.response"}}),
            "message.content",
        ),
        (
            "message content is not empty",
            friendly_sms,
            json!({"message": {"content": "x"}}),
            json!({"message": {"content": ""}}),
            "message.content",
        ),
        (
            "message content type is documented",
            friendly_sms,
            json!({"message": {"content": "x", "contentType": "text/plain"}}),
            json!({"message": {"content": "x", "contentType": "text/html"}}),
            "message.contentType",
        ),
        (
            "message content is required",
            friendly_sms,
            json!({"message": {"content": "x"}}),
            json!({"message": {"content": null, "contentType": "text/plain"}}),
            "message.content",
        ),
        (
            "message and template are exclusive",
            friendly_sms,
            json!({}),
            json!({"template": {"knowledgeBaseId": "kb", "messageTemplateId": "t"}}),
            "template",
        ),
        (
            "neither message nor template is allowed",
            friendly_sms,
            json!({"message": null}),
            json!({"template": {"knowledgeBaseId": "kb"}, "message": null}),
            "template.messageTemplateId",
        ),
        (
            "WhatsApp free text is refused",
            friendly_whatsapp,
            json!({}),
            json!({"template": null, "message": {"content": "hi"}}),
            "message",
        ),
        (
            "template knowledgeBaseId is 1..500",
            friendly_whatsapp,
            json!({"template": {"knowledgeBaseId": long(500)}}),
            json!({"template": {"knowledgeBaseId": long(501)}}),
            "template.knowledgeBaseId",
        ),
        (
            "template messageTemplateId is required",
            friendly_whatsapp,
            json!({"template": {"messageTemplateId": "t"}}),
            json!({"template": {"messageTemplateId": null}}),
            "template.messageTemplateId",
        ),
        (
            "customerProfileAttributes is an object",
            friendly_whatsapp,
            json!({"template": {"customerProfileAttributes": {"profile": {"FirstName": "Ana"}}}}),
            json!({"template": {"customerProfileAttributes": 5}}),
            "template.customerProfileAttributes",
        ),
        (
            "customerProfileAttributes string holds an object",
            friendly_whatsapp,
            json!({"template": {"customerProfileAttributes": "{\"profile\":{}}"}}),
            json!({"template": {"customerProfileAttributes": "not json"}}),
            "template.customerProfileAttributes",
        ),
        (
            "attribute keys are not empty",
            friendly_sms,
            json!({"attributes": {"orderId": ""}}),
            json!({"attributes": {"": "x"}}),
            "attributes.",
        ),
        (
            "attribute values are at most 32767",
            friendly_sms,
            json!({"attributes": {"k": long(32_767)}}),
            json!({"attributes": {"k": long(32_768)}}),
            "attributes.k",
        ),
        (
            "segment attribute user keys are alphanumeric",
            friendly_sms,
            json!({"segmentAttributes": {"campaign_id": {"ValueString": "c"}}}),
            json!({"segmentAttributes": {"campaign id": {"ValueString": "c"}}}),
            "segmentAttributes.campaign id",
        ),
        (
            "segment attribute values set one member",
            friendly_sms,
            json!({"segmentAttributes": {"k": {"ValueInteger": 3}}}),
            json!({"segmentAttributes": {"k": {"ValueInteger": 3, "ValueString": "x"}}}),
            "segmentAttributes.k",
        ),
        (
            "segment ValueString is at most 1024",
            friendly_sms,
            json!({"segmentAttributes": {"k": {"ValueString": long(1024)}}}),
            json!({"segmentAttributes": {"k": {"ValueString": long(1025)}}}),
            "segmentAttributes.k",
        ),
        (
            "segment ValueInteger fits 32 bits",
            friendly_sms,
            json!({"segmentAttributes": {"k": {"ValueInteger": 2_147_483_647i64}}}),
            json!({"segmentAttributes": {"k": {"ValueInteger": 2_147_483_648i64}}}),
            "segmentAttributes.k",
        ),
        (
            "segment ValueArn only in system attributes",
            friendly_sms,
            json!({"segmentAttributes": {"connect:Ref": {"ValueArn": "arn:aws:connect:us-east-1:123456789012:instance/i-1"}}}),
            json!({"segmentAttributes": {"ref": {"ValueArn": "arn:aws:connect:us-east-1:123456789012:instance/i-1"}}}),
            "segmentAttributes.ref",
        ),
        (
            "connect:Subtype agrees with the channel",
            friendly_sms,
            json!({"segmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}}}),
            json!({"segmentAttributes": {"connect:Subtype": {"ValueString": "connect:WhatsApp"}}}),
            "segmentAttributes.connect:Subtype",
        ),
        (
            "chatDurationInMinutes is 60..10080",
            friendly_sms,
            json!({"chatDurationInMinutes": 10_080}),
            json!({"chatDurationInMinutes": 59}),
            "chatDurationInMinutes",
        ),
        (
            "displayName is 1..256",
            friendly_sms,
            json!({"displayName": long(256)}),
            json!({"displayName": long(257)}),
            "displayName",
        ),
        (
            "relatedContactId is 1..256",
            friendly_sms,
            json!({"relatedContactId": long(256)}),
            json!({"relatedContactId": long(257)}),
            "relatedContactId",
        ),
        (
            "supported content types contain text/plain",
            friendly_sms,
            json!({"supportedMessagingContentTypes": ["text/plain", "text/markdown"]}),
            json!({"supportedMessagingContentTypes": ["text/markdown"]}),
            "supportedMessagingContentTypes",
        ),
        (
            "supported content types are documented",
            friendly_sms,
            json!({"supportedMessagingContentTypes": ["text/plain", "application/vnd.amazonaws.connect.message.interactive"]}),
            json!({"supportedMessagingContentTypes": ["text/plain", "image/png"]}),
            "supportedMessagingContentTypes",
        ),
        (
            "clientToken is at most 500",
            friendly_sms,
            json!({"clientToken": long(500)}),
            json!({"clientToken": long(501)}),
            "clientToken",
        ),
        (
            "requestIdentifier is at most 80",
            friendly_sms,
            json!({"requestIdentifier": long(80)}),
            json!({"requestIdentifier": long(81)}),
            "requestIdentifier",
        ),
        (
            "expiresAt is RFC 3339",
            friendly_sms,
            json!({"expiresAt": "2099-01-01T10:00:00+02:00"}),
            json!({"expiresAt": "tomorrow"}),
            "expiresAt",
        ),
        (
            "unknown fields are refused",
            friendly_sms,
            json!({}),
            json!({"temlate": {}}),
            "",
        ),
        (
            "unknown nested fields are refused",
            friendly_sms,
            json!({}),
            json!({"message": {"content": "x", "contnet": "y"}}),
            "message",
        ),
        (
            "native destination type is TELEPHONE_NUMBER",
            native_sms,
            json!({}),
            json!({"DestinationEndpoint": {"Type": "EMAIL"}}),
            "DestinationEndpoint.Type",
        ),
        (
            "native destination address is E.164",
            native_sms,
            json!({"DestinationEndpoint": {"Address": "+442079460958"}}),
            json!({"DestinationEndpoint": {"Address": "+0"}}),
            "DestinationEndpoint.Address",
        ),
        (
            "native source type is CONNECT_PHONENUMBER_ARN",
            native_sms,
            json!({}),
            json!({"SourceEndpoint": {"Type": "TELEPHONE_NUMBER"}}),
            "SourceEndpoint.Type",
        ),
        (
            "native source may come from configuration",
            native_sms,
            json!({"SourceEndpoint": null}),
            json!({"SourceEndpoint": {"Address": "x"}}),
            "SourceEndpoint.Address",
        ),
        (
            "native subtype is SMS or WhatsApp",
            native_sms,
            json!({"SegmentAttributes": null}),
            json!({"SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:Email"}}}),
            "SegmentAttributes.connect:Subtype",
        ),
        (
            "native message needs a content type",
            native_sms,
            json!({}),
            json!({"InitialSystemMessage": {"ContentType": null}}),
            "InitialSystemMessage.ContentType",
        ),
        (
            "native template needs TemplateAttributes",
            native_sms,
            json!({"InitialSystemMessage": null, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t", "TemplateAttributes": {}}}),
            json!({"InitialSystemMessage": null, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t"}}),
            "InitialTemplatedSystemMessage.TemplateAttributes",
        ),
        (
            "native ParticipantDetails needs DisplayName",
            native_sms,
            json!({"ParticipantDetails": {"DisplayName": "Shop"}}),
            json!({"ParticipantDetails": {}}),
            "ParticipantDetails.DisplayName",
        ),
        (
            "native WhatsApp free text is refused",
            native_sms,
            json!({}),
            json!({"SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:WhatsApp"}}}),
            "InitialSystemMessage",
        ),
        (
            "WhatsApp free text is sent as a follow-up of a related contact",
            friendly_whatsapp,
            json!({"template": null, "message": {"content": "See you at 10:30"}, "relatedContactId": "c-1"}),
            json!({"template": null, "message": {"content": "See you at 10:30"}}),
            "message",
        ),
        (
            "native WhatsApp free text is sent as a follow-up of a related contact",
            native_sms,
            json!({"SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:WhatsApp"}}, "RelatedContactId": "c-1"}),
            json!({"SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:WhatsApp"}}}),
            "InitialSystemMessage",
        ),
        (
            "message content is at most 16384 bytes for application/json",
            friendly_sms,
            json!({"message": {"contentType": "application/json", "content": "é".repeat(8_192)}}),
            json!({"message": {"contentType": "application/json", "content": "é".repeat(8_193)}}),
            "message.content",
        ),
        (
            "native message content is at most 16384 bytes for interactive responses",
            native_sms,
            json!({"InitialSystemMessage": {"ContentType": "application/vnd.amazonaws.connect.message.interactive.response", "Content": "€".repeat(5_461)}}),
            json!({"InitialSystemMessage": {"ContentType": "application/vnd.amazonaws.connect.message.interactive.response", "Content": "€".repeat(5_462)}}),
            "InitialSystemMessage.Content",
        ),
        (
            "template custom attribute keys are 1..32767",
            friendly_whatsapp,
            json!({"template": {"customAttributes": {long(32_767): ""}}}),
            json!({"template": {"customAttributes": {"": "Ana"}}}),
            "template.customAttributes",
        ),
        (
            "template custom attribute values are at most 32767 characters",
            friendly_whatsapp,
            json!({"template": {"customAttributes": {"firstName": "é".repeat(32_767)}}}),
            json!({"template": {"customAttributes": {"firstName": "é".repeat(32_768)}}}),
            "template.customAttributes.firstName",
        ),
        (
            "native template custom attribute keys are not empty",
            native_sms,
            json!({"InitialSystemMessage": null, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t", "TemplateAttributes": {"CustomAttributes": {"k": "v"}}}}),
            json!({"InitialSystemMessage": null, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t", "TemplateAttributes": {"CustomAttributes": {"": "v"}}}}),
            "InitialTemplatedSystemMessage.TemplateAttributes.CustomAttributes",
        ),
        (
            "attribute keys are letters, digits, - and _",
            friendly_sms,
            json!({"attributes": {"order_id-2": "x"}}),
            json!({"attributes": {"order id": "x"}}),
            "attributes.order id",
        ),
        (
            "native attribute keys are letters, digits, - and _",
            native_sms,
            json!({"Attributes": {"orderId": "x"}}),
            json!({"Attributes": {"order.id": "x"}}),
            "Attributes.order.id",
        ),
        (
            "attributes hold at most 32768 bytes together",
            friendly_sms,
            json!({"attributes": {"k": format!("{}a", "é".repeat(16_383))}}),
            json!({"attributes": {"k": format!("{}ab", "é".repeat(16_383))}}),
            "attributes",
        ),
        (
            "segment ValueArn is an ARN",
            friendly_sms,
            json!({"segmentAttributes": {"connect:Thing": {"ValueArn": "arn:aws:connect:us-east-1:123456789012:instance/i-1"}}}),
            json!({"segmentAttributes": {"connect:Thing": {"ValueArn": "arn:aws:connect"}}}),
            "segmentAttributes.connect:Thing",
        ),
        (
            "from may name a phone-number id with _",
            friendly_sms,
            json!({"from": "arn:aws:connect:us-east-1:123456789012:phone-number/a_b-1"}),
            json!({"from": "arn:aws:connect:us-east-1:123456789012:phone-number/a.b"}),
            "from",
        ),
        (
            "category is TRANSACTIONAL or PROMOTIONAL, any case",
            friendly_sms,
            json!({"category": "promotional"}),
            json!({"category": "MARKETING"}),
            "category",
        ),
        (
            "native category is TRANSACTIONAL or PROMOTIONAL",
            native_sms,
            json!({"Category": "TRANSACTIONAL"}),
            json!({"Category": "URGENT"}),
            "Category",
        ),
        (
            "native source type is checked without an address",
            native_sms,
            json!({"SourceEndpoint": {"Address": null}}),
            json!({"SourceEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": null}}),
            "SourceEndpoint.Type",
        ),
    ]
}

#[test]
fn every_rule_accepts_its_passing_case_and_refuses_its_failing_case() {
    for (rule, base, pass, fail, field) in rules() {
        let base = base();
        let accepted = validate(patched(&base, &pass));
        assert!(
            accepted.is_ok(),
            "{rule}: the passing case was refused: {accepted:?}"
        );
        let refused = validate(patched(&base, &fail)).expect_err(rule);
        assert!(
            refused
                .violations()
                .iter()
                .any(|v| v.field.starts_with(field)),
            "{rule}: expected a violation at {field:?}, got {refused}"
        );
    }
}

#[test]
fn every_violation_of_a_request_is_reported_not_only_the_first() {
    let err = validate(json!({
        "channel": "WHATSAPP",
        "to": "12345",
        "message": {"content": "free text"},
        "chatDurationInMinutes": 5,
        "displayName": "",
        "supportedMessagingContentTypes": ["text/markdown"],
        "expiresAt": "soon"
    }))
    .unwrap_err();
    let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
    for field in [
        "to",
        "message",
        "chatDurationInMinutes",
        "displayName",
        "supportedMessagingContentTypes",
        "expiresAt",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
}

#[test]
fn an_unknown_or_mistyped_member_is_reported_together_with_every_other_violation() {
    // (request, the fields every violation names, in order)
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"channel": "WHATSAPP", "to": "14255550100", "message": {"content": "free text"},
                   "temlate": {"knowledgeBaseId": "kb", "messageTemplateId": "t"}}),
            vec!["temlate", "to", "message"],
        ),
        (
            json!({"to": "+14255550100", "message": {"content": "hi", "contentTyp": "text/plain"},
                   "chatDurationInMinutes": 5, "displayName": 7}),
            vec!["displayName", "message.contentTyp", "chatDurationInMinutes"],
        ),
        (
            patched(
                &native_sms(),
                &json!({
                "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "14255550100"},
                "InitialSystemMessage": {"ContentType": "text/plain", "Content": "hi", "Extra": 1},
                "ChatDurationInMinutes": 5}),
            ),
            vec![
                "InitialSystemMessage.Extra",
                "DestinationEndpoint.Address",
                "ChatDurationInMinutes",
            ],
        ),
        // Alone, it is still refused: no member is ever dropped silently.
        (
            patched(&friendly_sms(), &json!({"temlate": {}})),
            vec!["temlate"],
        ),
        // A wrongly typed member is reported once, not again as missing.
        (
            json!({"to": 14255550100_i64, "message": {"content": "hi"}}),
            vec!["to"],
        ),
    ];
    for (request, expected) in cases {
        let err = validate(request.clone()).unwrap_err();
        let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, expected, "{request}");
    }
}

#[test]
fn missing_configuration_is_reported_with_the_variable_to_set() {
    let bare = outbound_chat::Config::from_lookup(|_| None).unwrap();
    let err = validate_with(friendly_sms(), &bare).unwrap_err();
    let text = err.to_string();
    for variable in [
        "CONNECT_INSTANCE_ID",
        "CONNECT_CONTACT_FLOW_ID",
        "SMS_SOURCE_PHONE_NUMBER_ARN",
    ] {
        assert!(text.contains(variable), "{text}");
    }
}

#[test]
fn defaults_fill_what_the_request_leaves_out_and_the_channel_picks_the_source() {
    let config = config_with(&[("DEFAULT_CHAT_DURATION_MINUTES", "90")]);
    let sms = validate_with(friendly_sms(), &config).unwrap();
    assert_eq!(sms.source().as_str(), SMS_ARN);
    assert_eq!(sms.chat_duration().unwrap().minutes(), 90);
    assert_eq!(
        sms.instance_id().as_str(),
        "8f4a2c1e-0000-4000-8000-000000000001"
    );
    let whatsapp = validate_with(friendly_whatsapp(), &config).unwrap();
    assert_eq!(whatsapp.source().as_str(), WHATSAPP_ARN);
    let default_channel = validate(json!({"to": "+14255550100"})).unwrap();
    assert_eq!(
        default_channel.channel(),
        outbound_chat::testing::Channel::Sms
    );
}

#[test]
fn both_forms_of_the_same_request_give_the_same_chat() {
    let friendly = validate(json!({
        "channel": "SMS", "to": "+14255550100", "from": SMS_ARN,
        "instanceId": "instance-1", "contactFlowId": "flow-1",
        "message": {"content": "Your order shipped"}, "attributes": {"orderId": "A-1"},
        "chatDurationInMinutes": 120, "displayName": "Shop", "clientToken": "t-1"
    }))
    .unwrap();
    let native = validate(patched(
        &native_sms(),
        &json!({
            "Attributes": {"orderId": "A-1"}, "ChatDurationInMinutes": 120,
            "ParticipantDetails": {"DisplayName": "Shop"}, "ClientToken": "t-1"
        }),
    ))
    .unwrap();
    assert_eq!(friendly, native);
}

#[test]
fn no_error_message_echoes_a_full_phone_number() {
    let requests = [
        json!({"to": "+14255550100", "chatDurationInMinutes": "+14255550100"}),
        json!({"to": "14255550100"}),
        json!({"to": "+14255550100", "from": "+14255550100"}),
        json!({"to": "+1425555010012345678"}),
    ];
    for request in requests {
        let err = validate(request.clone()).unwrap_err();
        assert!(!err.to_string().contains("4255550100"), "{request}: {err}");
    }
}

#[test]
fn expiry_is_judged_at_processing_time() {
    let past =
        validate(json!({"to": "+14255550100", "expiresAt": "2020-01-01T00:00:00Z"})).unwrap();
    assert!(past.is_expired_at(std::time::SystemTime::now()));
    let future =
        validate(json!({"to": "+14255550100", "expiresAt": "2099-01-01T00:00:00Z"})).unwrap();
    assert!(!future.is_expired_at(std::time::SystemTime::now()));
}

#[test]
fn a_declared_category_is_kept_and_an_absent_one_is_left_to_configuration() {
    let promotional = validate(patched(
        &friendly_sms(),
        &json!({"category": "Promotional"}),
    ));
    assert_eq!(
        promotional.unwrap().category(),
        Some(outbound_chat::testing::Category::Promotional)
    );
    assert_eq!(validate(friendly_sms()).unwrap().category(), None);
}
