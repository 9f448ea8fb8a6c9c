//! The published JSON Schemas (`schema/`) kept in step with the function: the schema and the
//! function's intake agree on every request of every sample event, each invalid request of a
//! table is refused by both, and the rules a schema cannot express (docs/request.md lists them) are
//! exactly the ones where the schema accepts what the function refuses.

use std::path::PathBuf;

use base64::Engine;
use jsonschema::{Registry, Validator};
use outbound_chat::testing::Intake;
use serde_json::{Value, json};

use crate::support::*;

/// The two schemas, the batch one resolving its reference to the request one.
struct Schemas {
    request: Validator,
    batch: Validator,
}

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(schema_dir().join(name)).expect("a schema file");
    serde_json::from_str(&text).expect("a schema is JSON")
}

fn schemas() -> Schemas {
    let base = format!("file://{}/", schema_dir().display());
    let request = load("send-request.schema.json");
    let registry = Registry::new()
        .add(format!("{base}send-request.schema.json"), request.clone())
        .expect("register the request schema")
        .prepare()
        .expect("prepare the registry");
    let build = |schema: &Value, name: &str| {
        jsonschema::options()
            .with_registry(&registry)
            .with_base_uri(format!("{base}{name}"))
            .build(schema)
            .unwrap_or_else(|err| panic!("{name}: {err}"))
    };
    Schemas {
        request: build(&request, "send-request.schema.json"),
        batch: build(&load("batch.schema.json"), "batch.schema.json"),
    }
}

fn intake() -> Intake {
    Intake::from_config(&test_config())
}

/// What a sample event carries: single requests (`None` when a body is not even JSON) and
/// HTTP batch bodies.
#[derive(Default)]
struct Carried {
    requests: Vec<Option<Value>>,
    batches: Vec<Value>,
}

/// The requests inside an event: SQS bodies, an EventBridge `detail`, an HTTP body (single or
/// batch, base64 decoded), or the direct event itself.
fn carried(event: &Value) -> Carried {
    let mut carried = Carried::default();
    let parse = |text: &str| serde_json::from_str::<Value>(text).ok();
    if let Some(records) = event["Records"].as_array() {
        for record in records {
            carried
                .requests
                .push(record["body"].as_str().and_then(parse));
        }
    } else if event.get("detail").is_some() {
        carried.requests.push(Some(event["detail"].clone()));
    } else if event.get("requestContext").is_some() {
        let raw = event["body"].as_str().expect("an HTTP body");
        let text = if event["isBase64Encoded"] == json!(true) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .expect("base64 body");
            String::from_utf8(bytes).expect("UTF-8 body")
        } else {
            raw.to_owned()
        };
        let path = event["rawPath"].as_str().or(event["path"].as_str());
        if path.is_some_and(|p| p.ends_with("/batch")) {
            carried
                .batches
                .push(parse(&text).expect("a JSON batch body"));
        } else {
            carried.requests.push(parse(&text));
        }
    } else if event.get("Name") == Some(&json!("ContactFlowEvent")) {
        // A flow block's parameters are no request as written: the flow trigger makes one of
        // them with the contact's defaults (tests/function/flow.rs).
    } else {
        carried.requests.push(Some(event.clone()));
    }
    carried
}

#[test]
fn the_schema_and_the_function_agree_on_every_request_of_every_sample_event() {
    let (schemas, intake) = (schemas(), intake());
    let mut accepted = 0;
    for name in sample_event_names() {
        let carried = carried(&sample_event(&name));
        let batch_items = carried.batches.iter().flat_map(|b| {
            b["requests"]
                .as_array()
                .expect("requests")
                .iter()
                .cloned()
                .map(Some)
        });
        for (index, request) in carried
            .requests
            .iter()
            .cloned()
            .chain(batch_items)
            .enumerate()
        {
            let Some(request) = request else {
                continue; // Not JSON: neither a schema nor the intake can accept it.
            };
            let by_schema = schemas.request.is_valid(&request);
            let by_function = intake.admit_value(request.clone(), None).is_ok();
            assert_eq!(by_schema, by_function, "{name} request {index}: {request}");
            accepted += usize::from(by_function);
        }
        for batch in &carried.batches {
            let all_valid = batch["requests"]
                .as_array()
                .expect("requests")
                .iter()
                .all(|item| intake.admit_value(item.clone(), None).is_ok());
            assert_eq!(schemas.batch.is_valid(batch), all_valid, "{name}");
        }
    }
    // The samples are mostly valid requests: 15 contacts start from them.
    assert!(accepted >= 15, "only {accepted} sample requests are valid");
}

/// A valid friendly request with `changes` merged in (a `null` removes a member).
fn friendly(changes: Value) -> Value {
    let mut request = json!({
        "channel": "SMS",
        "to": "+14255550100",
        "message": {"content": "Your table is ready."},
    });
    merge(&mut request, changes);
    request
}

/// A valid native request with `changes` merged in (a `null` removes a member).
fn native(changes: Value) -> Value {
    let mut request = json!({
        "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"},
        "InitialSystemMessage": {"ContentType": "text/plain", "Content": "Your table is ready."},
    });
    merge(&mut request, changes);
    request
}

fn merge(target: &mut Value, changes: Value) {
    let (Value::Object(target), Value::Object(changes)) = (target, changes) else {
        unreachable!("requests and changes are objects");
    };
    for (key, value) in changes {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            value => {
                target.insert(key, value);
            }
        }
    }
}

fn template() -> Value {
    json!({"knowledgeBaseId": "kb-1", "messageTemplateId": "reminder"})
}

const ARN: &str = connect_simulator::sample::SMS_SOURCE_ARN;

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn subtype(value: &str) -> Value {
    json!({"connect:Subtype": {"ValueString": value}})
}

/// Invalid requests, one rule each: (rule, request).
fn invalid_requests() -> Vec<(&'static str, Value)> {
    [
        invalid_endpoints_and_messages(),
        invalid_attributes(),
        invalid_options(),
        invalid_native_requests(),
    ]
    .concat()
}

fn invalid_endpoints_and_messages() -> Vec<(&'static str, Value)> {
    vec![
        ("an unknown field", friendly(json!({"temlate": template()}))),
        ("no destination", friendly(json!({"to": null}))),
        ("a number without +", friendly(json!({"to": "14255550100"}))),
        (
            "a country code of 0",
            friendly(json!({"to": "+04255550100"})),
        ),
        ("16 digits", friendly(json!({"to": "+1425555010012345"}))),
        (
            "letters in a number",
            friendly(json!({"to": "+1425CALLNOW"})),
        ),
        ("an unknown channel", friendly(json!({"channel": "EMAIL"}))),
        (
            "a source that is no ARN",
            friendly(json!({"from": "+14255550199"})),
        ),
        (
            "a legacy source ARN",
            friendly(
                json!({"from": "arn:aws:connect:us-east-1:123456789012:instance/i-1/phone-number/p-1"}),
            ),
        ),
        (
            "an instance id over 100",
            friendly(json!({"instanceId": long(101)})),
        ),
        (
            "a flow id over 500",
            friendly(json!({"contactFlowId": long(501)})),
        ),
        (
            "message and template",
            friendly(json!({"template": template()})),
        ),
        (
            "empty content",
            friendly(json!({"message": {"content": ""}})),
        ),
        (
            "no content",
            friendly(json!({"message": {"contentType": "text/plain"}})),
        ),
        (
            "plain text over 1024",
            friendly(json!({"message": {"content": long(1025)}})),
        ),
        (
            "markdown over 1024",
            friendly(json!({"message": {"content": long(1025), "contentType": "text/markdown"}})),
        ),
        (
            "JSON over 12000",
            friendly(
                json!({"message": {"content": long(12_001), "contentType": "application/json"}}),
            ),
        ),
        (
            "an unknown content type",
            friendly(json!({"message": {"content": "hi", "contentType": "text/html"}})),
        ),
        (
            "a template without its id",
            friendly(json!({"message": null, "template": {"knowledgeBaseId": "kb-1"}})),
        ),
        (
            "a profile document of the wrong type",
            friendly(
                json!({"message": null, "template": {"knowledgeBaseId": "kb-1", "messageTemplateId": "t", "customerProfileAttributes": 7}}),
            ),
        ),
        (
            "WhatsApp free text without a related contact",
            friendly(json!({"channel": "whatsapp"})),
        ),
        (
            "WhatsApp free text by subtype without a related contact",
            friendly(json!({"channel": null, "segmentAttributes": subtype("connect:WhatsApp")})),
        ),
    ]
}

fn invalid_attributes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "an attribute key with a space",
            friendly(json!({"attributes": {"order id": "1"}})),
        ),
        (
            "an empty attribute key",
            friendly(json!({"attributes": {"": "1"}})),
        ),
        (
            "an attribute value over 32767",
            friendly(json!({"attributes": {"k": long(32_768)}})),
        ),
        (
            "an attribute value not a string",
            friendly(json!({"attributes": {"k": 1}})),
        ),
        (
            "a template attribute value over 32767",
            friendly(
                json!({"message": null, "template": {"knowledgeBaseId": "kb", "messageTemplateId": "t", "customAttributes": {"k": long(32_768)}}}),
            ),
        ),
        (
            "a subtype that contradicts the channel",
            friendly(json!({"segmentAttributes": subtype("connect:WhatsApp")})),
        ),
        (
            "an unknown subtype",
            friendly(json!({"segmentAttributes": subtype("connect:Email")})),
        ),
        (
            "a segment value with two members",
            friendly(
                json!({"segmentAttributes": {"tier": {"ValueString": "a", "ValueInteger": 1}}}),
            ),
        ),
        (
            "a segment value with none",
            friendly(json!({"segmentAttributes": {"tier": {}}})),
        ),
        (
            "an ARN under a user key",
            friendly(json!({"segmentAttributes": {"tier": {"ValueArn": ARN}}})),
        ),
        (
            "a list under a user key",
            friendly(json!({"segmentAttributes": {"tier": {"ValueList": [{"ValueString": "a"}]}}})),
        ),
        (
            "a user key with a space",
            friendly(json!({"segmentAttributes": {"the tier": {"ValueString": "a"}}})),
        ),
        (
            "an integer beyond 32 bits",
            friendly(json!({"segmentAttributes": {"tier": {"ValueInteger": 2_147_483_648_i64}}})),
        ),
        (
            "a system ARN that is no ARN",
            friendly(json!({"segmentAttributes": {"connect:Thing": {"ValueArn": "not-an-arn"}}})),
        ),
    ]
}

fn invalid_options() -> Vec<(&'static str, Value)> {
    vec![
        (
            "a duration under 60",
            friendly(json!({"chatDurationInMinutes": 59})),
        ),
        (
            "a duration over 10080",
            friendly(json!({"chatDurationInMinutes": 10_081})),
        ),
        (
            "an empty display name",
            friendly(json!({"displayName": ""})),
        ),
        (
            "a related contact over 256",
            friendly(json!({"relatedContactId": long(257)})),
        ),
        (
            "content types without text/plain",
            friendly(json!({"supportedMessagingContentTypes": ["text/markdown"]})),
        ),
        (
            "an unknown supported content type",
            friendly(json!({"supportedMessagingContentTypes": ["text/plain", "image/png"]})),
        ),
        (
            "a client token over 500",
            friendly(json!({"clientToken": long(501)})),
        ),
        (
            "a request identifier over 80",
            friendly(json!({"requestIdentifier": long(81)})),
        ),
        (
            "an expiry that is no time",
            friendly(json!({"expiresAt": "tomorrow 9am"})),
        ),
        (
            "an expiry without offset",
            friendly(json!({"expiresAt": "2026-11-23T09:00:00"})),
        ),
        (
            "an unknown category",
            friendly(json!({"category": "URGENT"})),
        ),
        (
            "a member set to null",
            json!({"to": "+10", "category": null}),
        ),
        (
            "a segment member set to null",
            friendly(
                json!({"segmentAttributes": {"tier": {"ValueString": null, "ValueInteger": 1}}}),
            ),
        ),
        (
            "a message given as a list",
            friendly(json!({"message": ["Your table is ready.", "text/plain"]})),
        ),
        (
            "native template attributes given as a list",
            native(
                json!({"InitialSystemMessage": null, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t", "TemplateAttributes": [null, null]}}),
            ),
        ),
        ("not an object", json!(["to", "+14255550100"])),
    ]
}

fn invalid_native_requests() -> Vec<(&'static str, Value)> {
    vec![
        ("a native unknown field", native(json!({"Temlate": {}}))),
        (
            "a native destination without type",
            native(json!({"DestinationEndpoint": {"Address": "+14255550100"}})),
        ),
        (
            "a native destination of the wrong type",
            native(json!({"DestinationEndpoint": {"Type": "EMAIL", "Address": "+14255550100"}})),
        ),
        (
            "a native source of the wrong type",
            native(json!({"SourceEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": ARN}})),
        ),
        (
            "a native source without type",
            native(json!({"SourceEndpoint": {"Address": ARN}})),
        ),
        (
            "a native message without content type",
            native(json!({"InitialSystemMessage": {"Content": "hi"}})),
        ),
        (
            "a native template without TemplateAttributes",
            native(
                json!({"InitialSystemMessage": null, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "kb", "MessageTemplateId": "t"}}),
            ),
        ),
        (
            "native participant details without a name",
            native(json!({"ParticipantDetails": {}})),
        ),
        (
            "native WhatsApp free text without a related contact",
            native(json!({"SegmentAttributes": subtype("connect:WhatsApp")})),
        ),
        (
            "a native duration of the wrong type",
            native(json!({"ChatDurationInMinutes": "60"})),
        ),
    ]
}

#[test]
fn each_invalid_request_of_the_table_is_refused_by_both_the_schema_and_the_function() {
    let (schemas, intake) = (schemas(), intake());
    assert!(schemas.request.is_valid(&friendly(json!({}))));
    assert!(schemas.request.is_valid(&native(json!({}))));
    assert!(intake.admit_value(friendly(json!({})), None).is_ok());
    assert!(intake.admit_value(native(json!({})), None).is_ok());
    for (rule, request) in invalid_requests() {
        assert!(
            !schemas.request.is_valid(&request),
            "the schema accepts {rule}"
        );
        let refused = intake.admit_value(request, None);
        assert!(refused.is_err(), "the function accepts {rule}");
    }
}

#[test]
fn each_invalid_batch_body_is_refused_by_the_batch_schema() {
    let schemas = schemas();
    let item = friendly(json!({}));
    assert!(schemas.batch.is_valid(&json!({"requests": [item.clone()]})));
    assert!(
        schemas
            .batch
            .is_valid(&json!({"requests": vec![item.clone(); 25]}))
    );
    let cases = [
        ("no requests", json!({})),
        ("an empty list", json!({"requests": []})),
        ("26 requests", json!({"requests": vec![item.clone(); 26]})),
        (
            "an extra member",
            json!({"requests": [item.clone()], "dryRun": true}),
        ),
        (
            "an invalid item",
            json!({"requests": [friendly(json!({"to": "555-0100"}))]}),
        ),
        ("a list body", json!([item])),
    ];
    for (rule, body) in cases {
        assert!(
            !schemas.batch.is_valid(&body),
            "the batch schema accepts {rule}"
        );
    }
}

/// Requests the schema accepts and the function refuses: only the rules no JSON Schema can
/// express, each listed in docs/request.md under "JSON Schema".
fn beyond_the_schema() -> Vec<(&'static str, Value)> {
    let four_bytes = "😀";
    vec![
        (
            "contact attributes over 32,768 UTF-8 bytes in all",
            friendly(json!({"attributes": {"a": "x".repeat(20_000), "b": "x".repeat(20_000)}})),
        ),
        (
            "content over 16,384 UTF-8 bytes",
            friendly(
                json!({"message": {"content": four_bytes.repeat(5_000), "contentType": "application/json"}}),
            ),
        ),
        (
            "a profile document text that is not a JSON object",
            friendly(
                json!({"message": null, "template": {"knowledgeBaseId": "kb", "messageTemplateId": "t", "customerProfileAttributes": "[1, 2]"}}),
            ),
        ),
        (
            "a calendar date that does not exist",
            friendly(json!({"expiresAt": "2026-02-30T09:00:00Z"})),
        ),
        (
            "a whole number written with a fraction",
            friendly(json!({"chatDurationInMinutes": 60.0})),
        ),
        (
            "a request over 256 KiB",
            friendly(
                json!({"message": null, "template": {"knowledgeBaseId": "kb", "messageTemplateId": "t",
                "customAttributes": (0..10).map(|i| (format!("p{i}"), json!("x".repeat(30_000)))).collect::<serde_json::Map<_, _>>()}}),
            ),
        ),
    ]
}

#[test]
fn the_schema_accepts_what_the_function_refuses_only_for_rules_it_cannot_express() {
    let (schemas, intake) = (schemas(), intake());
    for (rule, request) in beyond_the_schema() {
        assert!(
            schemas.request.is_valid(&request),
            "the schema refuses {rule}"
        );
        let refused = intake.admit_value(request, None);
        assert!(refused.is_err(), "the function accepts {rule}");
    }
    // Defaults come from configuration: without CONNECT_INSTANCE_ID and the rest, a request
    // that names no instance, flow or source is refused, and the schema cannot know.
    let unconfigured = Intake::from_config(&outbound_chat::Config::from_lookup(|_| None).unwrap());
    let request = friendly(json!({}));
    assert!(schemas.request.is_valid(&request));
    assert!(unconfigured.admit_value(request, None).is_err());
}
