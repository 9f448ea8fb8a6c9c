//! Table-driven checks of Connect's input constraints over HTTP, at each constraint's boundary.
//!
//! For each constraint, a request on the valid side is started and one on the violating side gets
//! 400 InvalidRequestException with the member (or the exact problem) named in the message. Every
//! byte limit is also checked with multi-byte characters (`é` 2 bytes, `€` 3, `😀` 4).

mod common;

use common::{AUTHORIZATION, PATH, send, start_chat, valid_request};
use connect_simulator::{Outcome, Simulator, SimulatorConfig};
use serde_json::{Value, json};

/// A string of `n` characters; `é` is two bytes, so lengths prove to be counted in characters.
fn chars(n: usize) -> String {
    "é".repeat(n)
}

fn ascii(n: usize) -> String {
    "a".repeat(n)
}

/// `n` euro signs, 3 bytes each.
fn euro(n: usize) -> String {
    "€".repeat(n)
}

/// `n` emoji, 4 bytes each.
fn emoji(n: usize) -> String {
    "😀".repeat(n)
}

fn remove(body: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap()
        .remove(&key.replace("~1", "/"));
}

fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"))
        .insert(key.to_owned(), value);
}

fn segment(body: &mut Value, key: &str, value: Value) {
    set(body, &format!("/SegmentAttributes/{key}"), value);
}

fn templated() -> Value {
    json!({
        "KnowledgeBaseId": "kb-1",
        "MessageTemplateId": "template-1",
        "TemplateAttributes": {
            "CustomAttributes": {"firstName": "Ada"},
            "CustomerProfileAttributes": "{\"Address\":{\"City\":\"London\"}}"
        }
    })
}

fn system_message(kind: &str, len: usize) -> Value {
    json!({"ContentType": kind, "Content": ascii(len)})
}

const INTERACTIVE_RESPONSE: &str = "application/vnd.amazonaws.connect.message.interactive.response";

/// A change to the valid base request.
type Edit = fn(&mut Value);

/// Requests that respect every constraint, each at or near a boundary.
fn valid_cases() -> Vec<(&'static str, Edit)> {
    vec![
        ("the base request", |_| {}),
        ("InstanceId of 1 character", |b| {
            set(b, "/InstanceId", json!("i"))
        }),
        ("InstanceId of 100 characters", |b| {
            set(b, "/InstanceId", json!(chars(100)))
        }),
        ("ContactFlowId of 500 characters", |b| {
            set(b, "/ContactFlowId", json!(chars(500)))
        }),
        ("a source number in aws-cn", |b| {
            set(
                b,
                "/SourceEndpoint/Address",
                json!("arn:aws-cn:connect:cn-north-1:123456789012:phone-number/abc-123"),
            )
        }),
        ("the shortest E.164 number", |b| {
            set(b, "/DestinationEndpoint/Address", json!("+12"))
        }),
        ("the longest E.164 number", |b| {
            set(b, "/DestinationEndpoint/Address", json!("+123456789012345"))
        }),
        ("a WhatsApp subtype", |b| {
            segment(
                b,
                "connect:Subtype",
                json!({"ValueString": "connect:WhatsApp"}),
            )
        }),
        ("a user segment attribute of 1024 characters", |b| {
            segment(b, "my-key_1", json!({"ValueString": chars(1024)}))
        }),
        ("a segment key of 128 characters", |b| {
            segment(b, &ascii(128), json!({"ValueString": "x"}))
        }),
        ("a segment integer at i32::MAX", |b| {
            segment(b, "count", json!({"ValueInteger": i32::MAX}))
        }),
        ("a segment integer at i32::MIN", |b| {
            segment(b, "count", json!({"ValueInteger": i32::MIN}))
        }),
        ("a nested segment map", |b| {
            segment(
                b,
                "profile",
                json!({"ValueMap": {"tier": {"ValueString": "gold"}, "n": {"ValueInteger": 3}}}),
            )
        }),
        ("a list and an ARN under a system key", |b| {
            segment(
                b,
                "connect:Custom",
                json!({"ValueList": [
                    {"ValueArn": "arn:aws:connect:eu-west-2:123456789012:instance/abc"},
                    {"ValueString": "x"}
                ]}),
            )
        }),
        ("an empty attribute value and a 1-character key", |b| {
            set(b, "/Attributes", json!({"k": ""}))
        }),
        (
            "an attribute value of 32767 characters under a 1-character key",
            |b| set(b, "/Attributes", json!({"k": ascii(32767)})),
        ),
        ("a chat duration of 60 minutes", |b| {
            set(b, "/ChatDurationInMinutes", json!(60))
        }),
        ("a chat duration of 10080 minutes", |b| {
            set(b, "/ChatDurationInMinutes", json!(10080))
        }),
        ("a display name of 256 characters", |b| {
            set(b, "/ParticipantDetails", json!({"DisplayName": chars(256)}))
        }),
        ("a text/plain message of 1024 characters", |b| {
            set(
                b,
                "/InitialSystemMessage",
                system_message("text/plain", 1024),
            )
        }),
        ("a text/markdown message of 1024 characters", |b| {
            set(
                b,
                "/InitialSystemMessage",
                system_message("text/markdown", 1024),
            )
        }),
        ("an application/json message of 12000 characters", |b| {
            set(
                b,
                "/InitialSystemMessage",
                system_message("application/json", 12000),
            )
        }),
        ("an interactive response of 12288 characters", |b| {
            set(
                b,
                "/InitialSystemMessage",
                system_message(INTERACTIVE_RESPONSE, 12288),
            )
        }),
        ("a templated message", |b| {
            set(b, "/InitialTemplatedSystemMessage", templated())
        }),
        ("a templated message with only the required members", |b| {
            set(
                b,
                "/InitialTemplatedSystemMessage",
                json!({
                    "KnowledgeBaseId": chars(500), "MessageTemplateId": chars(500), "TemplateAttributes": {}
                }),
            )
        }),
        ("a related contact id of 256 characters", |b| {
            set(b, "/RelatedContactId", json!(chars(256)))
        }),
        ("every supported content type", |b| {
            set(
                b,
                "/SupportedMessagingContentTypes",
                json!([
                    "text/plain",
                    "text/markdown",
                    "application/json",
                    "application/vnd.amazonaws.connect.message.interactive",
                    INTERACTIVE_RESPONSE
                ]),
            )
        }),
        ("a client token of 500 characters", |b| {
            set(b, "/ClientToken", json!(chars(500)))
        }),
        ("an optional member set to null", |b| {
            set(b, "/Attributes", Value::Null)
        }),
    ]
}

/// Requests that break one constraint, and the member the message must name.
fn invalid_cases() -> Vec<(&'static str, &'static str, Edit)> {
    vec![
        ("an unknown top-level member", "Foo", |b| {
            set(b, "/Foo", json!(1))
        }),
        ("a lower-case member name", "instanceId", |b| {
            set(b, "/instanceId", json!("x"))
        }),
        ("no InstanceId", "InstanceId", |b| remove(b, "/InstanceId")),
        ("an empty InstanceId", "InstanceId", |b| {
            set(b, "/InstanceId", json!(""))
        }),
        ("an InstanceId of 101 characters", "InstanceId", |b| {
            set(b, "/InstanceId", json!(chars(101)))
        }),
        ("a numeric InstanceId", "InstanceId", |b| {
            set(b, "/InstanceId", json!(7))
        }),
        ("no ContactFlowId", "ContactFlowId", |b| {
            remove(b, "/ContactFlowId")
        }),
        ("an empty ContactFlowId", "ContactFlowId", |b| {
            set(b, "/ContactFlowId", json!(""))
        }),
        ("a ContactFlowId of 501 characters", "ContactFlowId", |b| {
            set(b, "/ContactFlowId", json!(chars(501)))
        }),
        ("no SourceEndpoint", "SourceEndpoint", |b| {
            remove(b, "/SourceEndpoint")
        }),
        ("a SourceEndpoint that is a string", "SourceEndpoint", |b| {
            set(
                b,
                "/SourceEndpoint",
                json!("arn:aws:connect:eu-west-2:123456789012:phone-number/a"),
            )
        }),
        (
            "a source Type other than CONNECT_PHONENUMBER_ARN",
            "SourceEndpoint.Type",
            |b| set(b, "/SourceEndpoint/Type", json!("TELEPHONE_NUMBER")),
        ),
        ("no source Type", "SourceEndpoint.Type", |b| {
            remove(b, "/SourceEndpoint/Type")
        }),
        ("no source Address", "SourceEndpoint.Address", |b| {
            remove(b, "/SourceEndpoint/Address")
        }),
        (
            "a source Address of 257 characters",
            "SourceEndpoint.Address",
            |b| {
                let address = format!(
                    "arn:aws:connect:eu-west-2:123456789012:phone-number/{}",
                    ascii(205)
                );
                set(b, "/SourceEndpoint/Address", json!(address))
            },
        ),
        (
            "a legacy instance-scoped number ARN",
            "SourceEndpoint.Address",
            |b| {
                set(
                    b,
                    "/SourceEndpoint/Address",
                    json!("arn:aws:connect:eu-west-2:123456789012:instance/i-1/phone-number/abc"),
                )
            },
        ),
        (
            "a phone number as the source",
            "SourceEndpoint.Address",
            |b| set(b, "/SourceEndpoint/Address", json!("+447700900000")),
        ),
        ("no DestinationEndpoint", "DestinationEndpoint", |b| {
            remove(b, "/DestinationEndpoint")
        }),
        (
            "a destination Type other than TELEPHONE_NUMBER",
            "DestinationEndpoint.Type",
            |b| {
                set(
                    b,
                    "/DestinationEndpoint/Type",
                    json!("CONNECT_PHONENUMBER_ARN"),
                )
            },
        ),
        (
            "no destination Address",
            "DestinationEndpoint.Address",
            |b| remove(b, "/DestinationEndpoint/Address"),
        ),
        ("a number without +", "DestinationEndpoint.Address", |b| {
            set(b, "/DestinationEndpoint/Address", json!("447700900123"))
        }),
        (
            "a number starting with +0",
            "DestinationEndpoint.Address",
            |b| set(b, "/DestinationEndpoint/Address", json!("+0447700900")),
        ),
        (
            "a number of one digit",
            "DestinationEndpoint.Address",
            |b| set(b, "/DestinationEndpoint/Address", json!("+1")),
        ),
        (
            "a number of 16 digits",
            "DestinationEndpoint.Address",
            |b| {
                set(
                    b,
                    "/DestinationEndpoint/Address",
                    json!("+1234567890123456"),
                )
            },
        ),
        ("a number with spaces", "DestinationEndpoint.Address", |b| {
            set(b, "/DestinationEndpoint/Address", json!("+44 7700 900123"))
        }),
        ("no SegmentAttributes", "SegmentAttributes", |b| {
            remove(b, "/SegmentAttributes")
        }),
        (
            "SegmentAttributes without connect:Subtype",
            "SegmentAttributes",
            |b| set(b, "/SegmentAttributes", json!({})),
        ),
        ("an email subtype", "connect:Subtype", |b| {
            segment(
                b,
                "connect:Subtype",
                json!({"ValueString": "connect:Email"}),
            )
        }),
        ("a subtype without ValueString", "connect:Subtype", |b| {
            segment(b, "connect:Subtype", json!({"ValueInteger": 1}))
        }),
        (
            "a segment key of 129 characters",
            "SegmentAttributes.aaaa",
            |b| segment(b, &ascii(129), json!({"ValueString": "x"})),
        ),
        (
            "a user segment key with a space",
            "SegmentAttributes.my key",
            |b| segment(b, "my key", json!({"ValueString": "x"})),
        ),
        (
            "a user segment key with a colon",
            "SegmentAttributes.my:key",
            |b| segment(b, "my:key", json!({"ValueString": "x"})),
        ),
        (
            "a ValueString of 1025 characters",
            "SegmentAttributes.note.ValueString",
            |b| segment(b, "note", json!({"ValueString": chars(1025)})),
        ),
        (
            "a ValueInteger above i32::MAX",
            "SegmentAttributes.count.ValueInteger",
            |b| segment(b, "count", json!({"ValueInteger": 2_147_483_648_i64})),
        ),
        (
            "a fractional ValueInteger",
            "SegmentAttributes.count.ValueInteger",
            |b| segment(b, "count", json!({"ValueInteger": 1.5})),
        ),
        (
            "a ValueList under a user key",
            "SegmentAttributes.tags.ValueList",
            |b| segment(b, "tags", json!({"ValueList": [{"ValueString": "x"}]})),
        ),
        (
            "a ValueArn under a user key",
            "SegmentAttributes.link.ValueArn",
            |b| {
                segment(
                    b,
                    "link",
                    json!({"ValueArn": "arn:aws:connect:eu-west-2:123456789012:instance/abc"}),
                )
            },
        ),
        (
            "a ValueArn that is no ARN",
            "SegmentAttributes.connect:Custom.ValueArn",
            |b| segment(b, "connect:Custom", json!({"ValueArn": "not-an-arn"})),
        ),
        (
            "a ValueArn of 1025 characters",
            "SegmentAttributes.connect:Custom.ValueArn",
            |b| {
                let arn = format!("arn:aws:s3:::{}", ascii(1012));
                segment(b, "connect:Custom", json!({"ValueArn": arn}))
            },
        ),
        (
            "a segment value with two members",
            "SegmentAttributes.both",
            |b| segment(b, "both", json!({"ValueString": "x", "ValueInteger": 1})),
        ),
        ("an empty segment value", "SegmentAttributes.none", |b| {
            segment(b, "none", json!({}))
        }),
        (
            "an unknown segment value member",
            "SegmentAttributes.flag.ValueBool",
            |b| segment(b, "flag", json!({"ValueString": "x", "ValueBool": true})),
        ),
        (
            "an empty key in a ValueMap",
            "SegmentAttributes.profile.ValueMap.",
            |b| {
                segment(
                    b,
                    "profile",
                    json!({"ValueMap": {"": {"ValueString": "x"}}}),
                )
            },
        ),
        (
            "a too long string inside a ValueMap",
            "SegmentAttributes.profile.ValueMap.tier.ValueString",
            |b| {
                segment(
                    b,
                    "profile",
                    json!({"ValueMap": {"tier": {"ValueString": chars(1025)}}}),
                )
            },
        ),
        (
            "a list item that breaks a rule",
            "SegmentAttributes.connect:Custom.ValueList[1]",
            |b| {
                segment(
                    b,
                    "connect:Custom",
                    json!({"ValueList": [{"ValueString": "x"}, {}]}),
                )
            },
        ),
        ("an empty attribute key", "Attributes.", |b| {
            set(b, "/Attributes", json!({"": "x"}))
        }),
        ("a numeric attribute value", "Attributes.n", |b| {
            set(b, "/Attributes", json!({"n": 1}))
        }),
        ("Attributes as a list", "Attributes", |b| {
            set(b, "/Attributes", json!(["a"]))
        }),
        (
            "a chat duration of 59 minutes",
            "ChatDurationInMinutes",
            |b| set(b, "/ChatDurationInMinutes", json!(59)),
        ),
        (
            "a chat duration of 10081 minutes",
            "ChatDurationInMinutes",
            |b| set(b, "/ChatDurationInMinutes", json!(10081)),
        ),
        (
            "a chat duration as a string",
            "ChatDurationInMinutes",
            |b| set(b, "/ChatDurationInMinutes", json!("60")),
        ),
        ("a fractional chat duration", "ChatDurationInMinutes", |b| {
            set(b, "/ChatDurationInMinutes", json!(60.5))
        }),
        (
            "ParticipantDetails without DisplayName",
            "ParticipantDetails.DisplayName",
            |b| set(b, "/ParticipantDetails", json!({})),
        ),
        (
            "an empty DisplayName",
            "ParticipantDetails.DisplayName",
            |b| set(b, "/ParticipantDetails", json!({"DisplayName": ""})),
        ),
        (
            "a DisplayName of 257 characters",
            "ParticipantDetails.DisplayName",
            |b| set(b, "/ParticipantDetails", json!({"DisplayName": chars(257)})),
        ),
        (
            "a system message of an unknown type",
            "InitialSystemMessage.ContentType",
            |b| set(b, "/InitialSystemMessage", system_message("text/html", 5)),
        ),
        (
            "a system message without ContentType",
            "InitialSystemMessage.ContentType",
            |b| set(b, "/InitialSystemMessage", json!({"Content": "hi"})),
        ),
        (
            "a system message without Content",
            "InitialSystemMessage.Content",
            |b| {
                set(
                    b,
                    "/InitialSystemMessage",
                    json!({"ContentType": "text/plain"}),
                )
            },
        ),
        (
            "an empty system message",
            "InitialSystemMessage.Content",
            |b| set(b, "/InitialSystemMessage", system_message("text/plain", 0)),
        ),
        (
            "a text/plain message of 1025 characters",
            "InitialSystemMessage.Content",
            |b| {
                set(
                    b,
                    "/InitialSystemMessage",
                    system_message("text/plain", 1025),
                )
            },
        ),
        (
            "a text/markdown message of 1025 characters",
            "InitialSystemMessage.Content",
            |b| {
                set(
                    b,
                    "/InitialSystemMessage",
                    system_message("text/markdown", 1025),
                )
            },
        ),
        (
            "an application/json message of 12001 characters",
            "InitialSystemMessage.Content",
            |b| {
                set(
                    b,
                    "/InitialSystemMessage",
                    system_message("application/json", 12001),
                )
            },
        ),
        (
            "an interactive response of 12289 characters",
            "InitialSystemMessage.Content",
            |b| {
                set(
                    b,
                    "/InitialSystemMessage",
                    system_message(INTERACTIVE_RESPONSE, 12289),
                )
            },
        ),
        (
            "both a system and a templated message",
            "InitialSystemMessage",
            |b| {
                set(b, "/InitialSystemMessage", system_message("text/plain", 5));
                set(b, "/InitialTemplatedSystemMessage", templated());
            },
        ),
        (
            "a templated message without KnowledgeBaseId",
            "InitialTemplatedSystemMessage.KnowledgeBaseId",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                remove(b, "/InitialTemplatedSystemMessage/KnowledgeBaseId");
            },
        ),
        (
            "a KnowledgeBaseId of 501 characters",
            "InitialTemplatedSystemMessage.KnowledgeBaseId",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                set(
                    b,
                    "/InitialTemplatedSystemMessage/KnowledgeBaseId",
                    json!(chars(501)),
                );
            },
        ),
        (
            "a templated message without MessageTemplateId",
            "InitialTemplatedSystemMessage.MessageTemplateId",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                remove(b, "/InitialTemplatedSystemMessage/MessageTemplateId");
            },
        ),
        (
            "an empty MessageTemplateId",
            "InitialTemplatedSystemMessage.MessageTemplateId",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                set(
                    b,
                    "/InitialTemplatedSystemMessage/MessageTemplateId",
                    json!(""),
                );
            },
        ),
        (
            "a MessageTemplateId of 501 characters",
            "InitialTemplatedSystemMessage.MessageTemplateId",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                set(
                    b,
                    "/InitialTemplatedSystemMessage/MessageTemplateId",
                    json!(chars(501)),
                );
            },
        ),
        (
            "a templated message without TemplateAttributes",
            "InitialTemplatedSystemMessage.TemplateAttributes",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                remove(b, "/InitialTemplatedSystemMessage/TemplateAttributes");
            },
        ),
        (
            "profile attributes that are not JSON",
            "TemplateAttributes.CustomerProfileAttributes",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                set(
                    b,
                    "/InitialTemplatedSystemMessage/TemplateAttributes/CustomerProfileAttributes",
                    json!("{oops"),
                );
            },
        ),
        (
            "a numeric custom attribute",
            "TemplateAttributes.CustomAttributes.age",
            |b| {
                set(b, "/InitialTemplatedSystemMessage", templated());
                set(
                    b,
                    "/InitialTemplatedSystemMessage/TemplateAttributes/CustomAttributes",
                    json!({"age": 3}),
                );
            },
        ),
        ("an empty RelatedContactId", "RelatedContactId", |b| {
            set(b, "/RelatedContactId", json!(""))
        }),
        (
            "a RelatedContactId of 257 characters",
            "RelatedContactId",
            |b| set(b, "/RelatedContactId", json!(chars(257))),
        ),
        (
            "content types without text/plain",
            "SupportedMessagingContentTypes",
            |b| {
                set(
                    b,
                    "/SupportedMessagingContentTypes",
                    json!(["text/markdown"]),
                )
            },
        ),
        (
            "an unsupported content type",
            "SupportedMessagingContentTypes[1]",
            |b| {
                set(
                    b,
                    "/SupportedMessagingContentTypes",
                    json!(["text/plain", "image/png"]),
                )
            },
        ),
        (
            "content types as a string",
            "SupportedMessagingContentTypes",
            |b| set(b, "/SupportedMessagingContentTypes", json!("text/plain")),
        ),
        ("a client token of 501 characters", "ClientToken", |b| {
            set(b, "/ClientToken", json!(chars(501)))
        }),
        ("a numeric client token", "ClientToken", |b| {
            set(b, "/ClientToken", json!(42))
        }),
    ]
}

/// What a rule must do with one request.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Accepted,
    /// 400 with exactly one problem, whose text contains this.
    Refused(&'static str),
}

use Expect::{Accepted, Refused};

/// One request at a rule's boundary: a change to the valid base request and what must happen.
type Case = (&'static str, Edit, Expect);

/// A one-entry map, for keys built at run time.
fn pair(key: String, value: String) -> Value {
    json!({ key: value })
}

fn attributes(body: &mut Value, map: Value) {
    set(body, "/Attributes", map);
}

fn custom_attributes(body: &mut Value, map: Value) {
    set(body, "/InitialTemplatedSystemMessage", templated());
    set(
        body,
        "/InitialTemplatedSystemMessage/TemplateAttributes/CustomAttributes",
        map,
    );
}

fn content(body: &mut Value, kind: &str, text: String) {
    set(
        body,
        "/InitialSystemMessage",
        json!({"ContentType": kind, "Content": text}),
    );
}

fn value_arn(body: &mut Value, arn: String) {
    segment(body, "connect:Custom", json!({ "ValueArn": arn }));
}

fn source(body: &mut Value, address: String) {
    set(body, "/SourceEndpoint/Address", json!(address));
}

fn whatsapp_message(body: &mut Value) {
    segment(
        body,
        "connect:Subtype",
        json!({"ValueString": "connect:WhatsApp"}),
    );
    content(body, "text/plain", "Your order shipped".into());
}

const TOTAL: &str = "Attributes: keys and values together must be at most 32768 bytes (UTF-8)";
const ATTRIBUTE_KEY: &str = "key must contain only ASCII letters, digits, '-' and '_'";

/// Contact attributes: 32,768 UTF-8 bytes for all keys and values together.
fn contact_attribute_size_cases() -> Vec<Case> {
    vec![
        (
            "attributes of 32768 ASCII bytes",
            |b| attributes(b, json!({"k": ascii(32767)})),
            Accepted,
        ),
        (
            "attributes of 32769 ASCII bytes",
            |b| attributes(b, json!({"kk": ascii(32767)})),
            Refused(TOTAL),
        ),
        (
            "attributes of 32768 bytes over two pairs",
            |b| attributes(b, json!({"a": ascii(16383), "b": ascii(16383)})),
            Accepted,
        ),
        (
            "attributes of 32769 bytes over two pairs",
            |b| attributes(b, json!({"a": ascii(16383), "bb": ascii(16383)})),
            Refused(TOTAL),
        ),
        (
            "attributes of 32768 bytes in 'é'",
            |b| attributes(b, json!({"k": chars(16383) + "a"})),
            Accepted,
        ),
        (
            "attributes of 32769 bytes in 'é'",
            |b| attributes(b, json!({"k": chars(16384)})),
            Refused(TOTAL),
        ),
        (
            "attributes of 32768 bytes in '€'",
            |b| attributes(b, json!({"kk": euro(10922)})),
            Accepted,
        ),
        (
            "attributes of 32769 bytes in '€'",
            |b| attributes(b, json!({"kk": euro(10922) + "a"})),
            Refused(TOTAL),
        ),
        (
            "attributes of 32768 bytes in emoji",
            |b| attributes(b, json!({"kkkk": emoji(8191)})),
            Accepted,
        ),
        (
            "attributes of 32769 bytes in emoji",
            |b| attributes(b, json!({"kkkk": emoji(8191) + "a"})),
            Refused(TOTAL),
        ),
    ]
}

/// Contact attribute keys: 1..32767 characters of ASCII letters, digits, `-` and `_`.
fn attribute_key_cases() -> Vec<Case> {
    vec![
        (
            "an attribute key of 32767 characters",
            |b| attributes(b, pair(ascii(32767), String::new())),
            Accepted,
        ),
        (
            "an attribute key of 32768 characters, 32768 bytes in all",
            |b| attributes(b, pair(ascii(32768), String::new())),
            Refused("key must be between 1 and 32767 characters long, got 32768"),
        ),
        (
            "an attribute key of letters, digits, '-' and '_'",
            |b| attributes(b, json!({"Order-id_9": "x"})),
            Accepted,
        ),
        (
            "an attribute key with a dot",
            |b| attributes(b, json!({"order.id": "x"})),
            Refused(ATTRIBUTE_KEY),
        ),
        (
            "an attribute key with a space",
            |b| attributes(b, json!({"order id": "x"})),
            Refused(ATTRIBUTE_KEY),
        ),
        (
            "an attribute key with a colon",
            |b| attributes(b, json!({"connect:x": "x"})),
            Refused(ATTRIBUTE_KEY),
        ),
        (
            "an attribute key with a non-ASCII letter",
            |b| attributes(b, json!({"orderé": "x"})),
            Refused(ATTRIBUTE_KEY),
        ),
    ]
}

/// A template's custom attributes: keys of 1..32767 characters, values of 0..32767.
fn custom_attribute_cases() -> Vec<Case> {
    vec![
        (
            "a custom attribute with a 1-character key and an empty value",
            |b| custom_attributes(b, json!({"k": ""})),
            Accepted,
        ),
        (
            "a custom attribute key of 32767 characters",
            |b| custom_attributes(b, pair(chars(32767), "x".into())),
            Accepted,
        ),
        (
            "a custom attribute value of 32767 characters",
            |b| custom_attributes(b, json!({"k": chars(32767)})),
            Accepted,
        ),
        (
            "an empty custom attribute key",
            |b| custom_attributes(b, json!({"": "x"})),
            Refused("CustomAttributes.: key must be between 1 and 32767 characters long, got 0"),
        ),
        (
            "a custom attribute key of 32768 characters",
            |b| custom_attributes(b, pair(chars(32768), "x".into())),
            Refused("key must be between 1 and 32767 characters long, got 32768"),
        ),
        (
            "a custom attribute value of 32768 characters",
            |b| custom_attributes(b, json!({"k": chars(32768)})),
            Refused("CustomAttributes.k: value must be at most 32767 characters long, got 32768"),
        ),
    ]
}

const CONTENT_BYTES: &str = "InitialSystemMessage.Content: must be at most 16384 bytes (UTF-8)";

/// A system message's content: at most 16,384 UTF-8 bytes whatever its type. Only the two long
/// types can reach it under their character limits (1024 emoji are 4096 bytes).
fn content_byte_cases() -> Vec<Case> {
    vec![
        (
            "an application/json message of 16384 bytes in '€'",
            |b| content(b, "application/json", euro(5461) + "a"),
            Accepted,
        ),
        (
            "an application/json message of 16385 bytes in '€'",
            |b| content(b, "application/json", euro(5461) + "é"),
            Refused(CONTENT_BYTES),
        ),
        (
            "an interactive response of 16384 bytes in emoji",
            |b| content(b, INTERACTIVE_RESPONSE, emoji(4096)),
            Accepted,
        ),
        (
            "an interactive response of 16385 bytes in emoji",
            |b| content(b, INTERACTIVE_RESPONSE, emoji(4096) + "a"),
            Refused(CONTENT_BYTES),
        ),
        (
            "an interactive response of 16384 bytes in 'é'",
            |b| content(b, INTERACTIVE_RESPONSE, chars(8192)),
            Accepted,
        ),
        (
            "an interactive response of 16386 bytes in 'é'",
            |b| content(b, INTERACTIVE_RESPONSE, chars(8193)),
            Refused(CONTENT_BYTES),
        ),
        (
            "a text/plain message of 1024 emoji",
            |b| content(b, "text/plain", emoji(1024)),
            Accepted,
        ),
        (
            "a text/markdown message of 1024 '€'",
            |b| content(b, "text/markdown", euro(1024)),
            Accepted,
        ),
    ]
}

const NUMBER: &str = "arn:aws:connect:eu-west-2:123456789012:phone-number/";
const NOT_A_NUMBER: &str = "SourceEndpoint.Address: must be a phone number ARN";
const NOT_AN_ARN: &str = "SegmentAttributes.connect:Custom.ValueArn: must be an ARN";

/// `ValueArn`: any ARN by the function's rule, at most 1024 characters.
fn value_arn_cases() -> Vec<Case> {
    vec![
        (
            "a ValueArn of 1024 characters",
            |b| value_arn(b, format!("arn:aws:s3:::{}", ascii(1011))),
            Accepted,
        ),
        (
            "a ValueArn with no region and no account",
            |b| value_arn(b, "arn:aws:s3:::bucket".into()),
            Accepted,
        ),
        (
            "a ValueArn with a 12-digit account",
            |b| value_arn(b, "arn:aws:iam::123456789012:role/r".into()),
            Accepted,
        ),
        (
            "a ValueArn with an 11-digit account",
            |b| value_arn(b, "arn:aws:iam::12345678901:role/r".into()),
            Refused(NOT_AN_ARN),
        ),
        (
            "a ValueArn with a 13-digit account",
            |b| value_arn(b, "arn:aws:iam::1234567890123:role/r".into()),
            Refused(NOT_AN_ARN),
        ),
        (
            "a ValueArn with an upper-case region",
            |b| value_arn(b, "arn:aws:sqs:EU-west-2:123456789012:q".into()),
            Refused(NOT_AN_ARN),
        ),
        (
            "a ValueArn with an empty service",
            |b| value_arn(b, "arn:aws::eu-west-2:123456789012:q".into()),
            Refused(NOT_AN_ARN),
        ),
        (
            "a ValueArn with an empty resource",
            |b| value_arn(b, "arn:aws:s3:::".into()),
            Refused(NOT_AN_ARN),
        ),
        (
            "a ValueArn in a partition not starting with aws",
            |b| value_arn(b, "arn:azure:s3:::bucket".into()),
            Refused(NOT_AN_ARN),
        ),
    ]
}

/// The source: a phone-number ARN of at most 256 characters, and only that endpoint type.
fn source_number_cases() -> Vec<Case> {
    vec![
        (
            "a source address of 256 characters",
            |b| source(b, format!("{NUMBER}{}", ascii(256 - NUMBER.len()))),
            Accepted,
        ),
        (
            "a source number id with '_'",
            |b| source(b, format!("{NUMBER}ab_12-CD")),
            Accepted,
        ),
        (
            "a source number id with '.'",
            |b| source(b, format!("{NUMBER}ab.12")),
            Refused(NOT_A_NUMBER),
        ),
        (
            "a source number id with '/'",
            |b| source(b, format!("{NUMBER}ab/12")),
            Refused(NOT_A_NUMBER),
        ),
        (
            "a source number in an 11-digit account",
            |b| {
                source(
                    b,
                    "arn:aws:connect:eu-west-2:12345678901:phone-number/a".into(),
                )
            },
            Refused(NOT_A_NUMBER),
        ),
        (
            "a source number in a 13-digit account",
            |b| {
                source(
                    b,
                    "arn:aws:connect:eu-west-2:1234567890123:phone-number/a".into(),
                )
            },
            Refused(NOT_A_NUMBER),
        ),
        (
            "a source number without a region",
            |b| source(b, "arn:aws:connect::123456789012:phone-number/a".into()),
            Refused(NOT_A_NUMBER),
        ),
        (
            "a source Type in lower case",
            |b| set(b, "/SourceEndpoint/Type", json!("connect_phonenumber_arn")),
            Refused("SourceEndpoint.Type: must be one of CONNECT_PHONENUMBER_ARN"),
        ),
        (
            "an empty source Type",
            |b| set(b, "/SourceEndpoint/Type", json!("")),
            Refused("SourceEndpoint.Type: must be one of CONNECT_PHONENUMBER_ARN"),
        ),
    ]
}

const WHATSAPP_FREE_FORM: &str =
    "InitialSystemMessage: is not allowed on connect:WhatsApp without RelatedContactId";

/// A free-form first message on WhatsApp only as a follow-up in a conversation.
fn whatsapp_cases() -> Vec<Case> {
    vec![
        (
            "a WhatsApp free-form message with a related contact",
            |b| {
                whatsapp_message(b);
                set(b, "/RelatedContactId", json!("c-1"));
            },
            Accepted,
        ),
        (
            "a WhatsApp template without a related contact",
            |b| {
                segment(
                    b,
                    "connect:Subtype",
                    json!({"ValueString": "connect:WhatsApp"}),
                );
                set(b, "/InitialTemplatedSystemMessage", templated());
            },
            Accepted,
        ),
        (
            "an SMS free-form message without a related contact",
            |b| content(b, "text/plain", "hi".into()),
            Accepted,
        ),
        (
            "a WhatsApp free-form message without a related contact",
            whatsapp_message,
            Refused(WHATSAPP_FREE_FORM),
        ),
        (
            "a WhatsApp free-form message with a null related contact",
            |b| {
                whatsapp_message(b);
                set(b, "/RelatedContactId", Value::Null);
            },
            Refused(WHATSAPP_FREE_FORM),
        ),
    ]
}

/// Requests past two limits at once, and every problem the message must name.
fn two_problem_cases() -> Vec<(&'static str, Edit, [&'static str; 2])> {
    vec![
        (
            "an attribute value of 32768 characters",
            |b| attributes(b, json!({"k": ascii(32768)})),
            [
                "Attributes.k: value must be at most 32767 characters long, got 32768",
                TOTAL,
            ],
        ),
        (
            "a source Type other than CONNECT_PHONENUMBER_ARN and no source Address",
            |b| set(b, "/SourceEndpoint", json!({"Type": "TELEPHONE_NUMBER"})),
            [
                "SourceEndpoint.Type: must be one of CONNECT_PHONENUMBER_ARN",
                "SourceEndpoint.Address: is required",
            ],
        ),
    ]
}

#[tokio::test]
async fn every_constraint_accepts_a_value_on_its_valid_side() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let mut failures = Vec::new();
    let cases = valid_cases();
    for (what, edit) in &cases {
        let mut body = valid_request();
        edit(&mut body);
        let response = start_chat(sim.local_addr(), &body).await.response();
        if response.status != 200 {
            failures.push(format!("{what}: {} {}", response.status, response.body));
        }
    }
    assert!(
        failures.is_empty(),
        "refused valid requests:\n{}",
        failures.join("\n")
    );
    assert_eq!(sim.contacts().len(), cases.len());
}

#[tokio::test]
async fn every_constraint_refuses_a_violating_value_naming_the_member() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let mut failures = Vec::new();
    let cases = invalid_cases();
    for (what, member, edit) in &cases {
        let mut body = valid_request();
        edit(&mut body);
        let response = start_chat(sim.local_addr(), &body).await.response();
        if response.status != 400
            || response.header("x-amzn-errortype") != Some("InvalidRequestException")
        {
            failures.push(format!("{what}: {} {}", response.status, response.body));
            continue;
        }
        let message = response.assert_error(400, "InvalidRequestException");
        if !message.contains(member) {
            failures.push(format!("{what}: message does not name {member}: {message}"));
        } else if message.contains("; ") {
            failures.push(format!(
                "{what}: more than the one problem reported: {message}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        sim.contacts().is_empty(),
        "an invalid request started a contact"
    );
    let journal = sim.journal();
    assert_eq!(journal.len(), cases.len());
    assert!(
        journal
            .iter()
            .all(|e| matches!(e.outcome, Outcome::Invalid { .. }))
    );
}

#[tokio::test]
async fn every_problem_of_a_request_is_named_in_one_message() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let mut body = valid_request();
    remove(&mut body, "/InstanceId");
    set(&mut body, "/ChatDurationInMinutes", json!(5));
    let message = start_chat(sim.local_addr(), &body)
        .await
        .response()
        .assert_error(400, "InvalidRequestException");
    assert!(
        message.contains("InstanceId") && message.contains("ChatDurationInMinutes"),
        "{message}"
    );
}

#[tokio::test]
async fn an_invalid_destination_is_refused_without_echoing_the_number() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let mut body = valid_request();
    set(
        &mut body,
        "/DestinationEndpoint/Address",
        json!("07700900123"),
    );
    let message = start_chat(sim.local_addr(), &body)
        .await
        .response()
        .assert_error(400, "InvalidRequestException");
    assert!(!message.contains("07700900123"), "{message}");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_an_invalid_request_journaled_as_text() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let response = send(
        sim.local_addr(),
        "PUT",
        PATH,
        Some(AUTHORIZATION),
        "not json {",
    )
    .await
    .response();
    response.assert_error(400, "InvalidRequestException");
    let journal = sim.journal();
    assert_eq!(journal[0].request, json!("not json {"));
    assert!(matches!(journal[0].outcome, Outcome::Invalid { .. }));
}

#[tokio::test]
async fn a_body_that_is_a_json_array_is_an_invalid_request() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let response = send(sim.local_addr(), "PUT", PATH, Some(AUTHORIZATION), "[1]")
        .await
        .response();
    let message = response.assert_error(400, "InvalidRequestException");
    assert!(message.contains("JSON object"), "{message}");
}

#[tokio::test]
async fn every_rule_accepts_its_boundary_and_refuses_one_step_past_it() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let cases = [
        contact_attribute_size_cases(),
        attribute_key_cases(),
        custom_attribute_cases(),
        content_byte_cases(),
        value_arn_cases(),
        source_number_cases(),
        whatsapp_cases(),
    ]
    .concat();
    let mut failures = Vec::new();
    for (what, edit, expect) in &cases {
        let mut body = valid_request();
        edit(&mut body);
        let response = start_chat(sim.local_addr(), &body).await.response();
        let ok = match expect {
            Accepted => response.status == 200,
            Refused(problem) => {
                response.status == 400
                    && response.header("x-amzn-errortype") == Some("InvalidRequestException")
                    && response.json()["Message"]
                        .as_str()
                        .is_some_and(|m| m.contains(problem) && !m.contains("; "))
            }
        };
        if !ok {
            let body = response.body.chars().take(300).collect::<String>();
            failures.push(format!(
                "{what}: expected {expect:?}, got {} {body}",
                response.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let accepted = cases
        .iter()
        .filter(|(_, _, e)| matches!(e, Accepted))
        .count();
    assert_eq!(sim.contacts().len(), accepted);
}

#[tokio::test]
async fn a_request_past_two_limits_is_refused_naming_both() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    for (what, edit, problems) in two_problem_cases() {
        let mut body = valid_request();
        edit(&mut body);
        let message = start_chat(sim.local_addr(), &body)
            .await
            .response()
            .assert_error(400, "InvalidRequestException");
        assert_eq!(message.split("; ").count(), 2, "{what}: {message:.300}");
        for problem in problems {
            assert!(message.contains(problem), "{what}: {message:.300}");
        }
    }
    assert!(sim.contacts().is_empty());
}
