//! Personal data never leaves the function: every sample event and every error path run with
//! the function's own log subscriber at TRACE (SDK and runtime internals included), and no
//! destination number in any spelling, no message text, no template or contact attribute value
//! and no display name from the input shows up in a log line, a metric document, an answer, or
//! the Display or Debug of an error. The compiled binary is checked the same way, through the
//! Runtime API emulator, since only it runs lambda_runtime's own layers.

use futures::future::BoxFuture;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use base64::Engine;
use connect_simulator::{ConnectErrorCode, ScriptedReply, Simulator, SimulatorConfig};
use lambda_testkit::RuntimeApi;
use outbound_chat::OutboundChat;
use outbound_chat::runtime::{self};
use outbound_chat::{ContactId, ContactStarter, Function, StartError};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::binary::{lambda_environment, run_binary};
use crate::support::logs::with_trace_logs;
use crate::support::*;

// ---------------------------------------------------------------------------------------------
// What counts as personal data, read from the inputs themselves.

/// The strings that must never come out: every personal value of every send request found
/// anywhere in `event` (SQS bodies, HTTP bodies plain or base64, batch items, EventBridge
/// details, direct requests).
fn needles(event: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    walk(event, &mut found);
    found
}

fn walk(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if REQUEST_KEYS.iter().any(|key| map.contains_key(*key)) {
                request_needles(map, found);
            }
            let base64 = map.get("isBase64Encoded") == Some(&Value::Bool(true));
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("body", Value::String(body)) if base64 => {
                        let decoded = base64::engine::general_purpose::STANDARD
                            .decode(body)
                            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                            .unwrap_or_default();
                        walk(&Value::String(decoded), found);
                    }
                    _ => walk(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
        Value::String(text) => {
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(text) {
                walk(&inner, found);
            }
        }
        _ => {}
    }
}

/// Keys that make an object a send request, in either form.
const REQUEST_KEYS: &[&str] = &[
    "to",
    "DestinationEndpoint",
    "message",
    "template",
    "InitialSystemMessage",
    "InitialTemplatedSystemMessage",
];

/// The personal fields of one request, by their path in either form.
fn request_needles(request: &serde_json::Map<String, Value>, found: &mut BTreeSet<String>) {
    let at = |path: &[&str]| {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(request.get(*first)?, |value, key| value.get(key))
    };
    for path in [&["to"][..], &["DestinationEndpoint", "Address"]] {
        match at(path) {
            Some(Value::String(number)) => number_needles(number, found),
            Some(Value::Number(number)) => number_needles(&number.to_string(), found),
            _ => {}
        }
    }
    for path in [
        &["message", "content"][..],
        &["InitialSystemMessage", "Content"],
        &["displayName"],
        &["ParticipantDetails", "DisplayName"],
        &["template", "customAttributes"],
        &["template", "customerProfileAttributes"],
        &["InitialTemplatedSystemMessage", "TemplateAttributes"],
        &["attributes"],
        &["Attributes"],
    ] {
        if let Some(value) = at(path) {
            leaf_needles(value, found);
        }
    }
    // A message given as a bare string (a type error) is still message text.
    for key in ["message", "InitialSystemMessage"] {
        if let Some(text @ Value::String(_)) = request.get(key) {
            leaf_needles(text, found);
        }
    }
}

/// A number as typed, compacted, as bare digits, and every run of seven of its digits (as
/// long as the runs `redact_phone_numbers` masks), so that a partial leak is caught too.
fn number_needles(number: &str, found: &mut BTreeSet<String>) {
    found.insert(number.to_owned());
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 7 {
        found.insert(format!("+{digits}"));
        for start in 0..=digits.len() - 7 {
            found.insert(digits[start..start + 7].to_owned());
        }
    }
}

/// Every string inside `value` (a template's or contact's attribute values, a profile
/// document, a text), and a string holding JSON read as that JSON too.
fn leaf_needles(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            if text.trim().chars().count() >= 3 {
                found.insert(text.clone());
            }
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(text) {
                leaf_needles(&inner, found);
            }
        }
        Value::Object(map) => map.values().for_each(|v| leaf_needles(v, found)),
        Value::Array(items) => items.iter().for_each(|v| leaf_needles(v, found)),
        _ => {}
    }
}

/// Fails with every needle found in `output`, each shown in its context.
#[track_caller]
fn assert_private(output: &str, needles: &BTreeSet<String>) {
    let leaks: Vec<String> = needles
        .iter()
        .filter_map(|needle| {
            let at = output.find(needle.as_str())?;
            let context: String = output[..at]
                .chars()
                .rev()
                .take(120)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .chain(output[at..].chars().take(needle.chars().count() + 120))
                .collect();
            Some(format!("{needle:?} in …{context}…"))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "personal data leaked:\n{}",
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Capturing everything the function says.

/// Invokes `function` and renders everything it hands back: the answer, or the error's Display
/// and Debug, and its metric documents.
async fn invoke_rendered<C: ContactStarter>(
    function: &Function<C>,
    event: Value,
    deadline: Duration,
) -> String {
    let (result, documents) = outbound_chat::testing::capture_metrics(function.handle(
        event,
        "8e3f5a1c-0000-4000-8000-00000000beef",
        Instant::now() + deadline,
    ))
    .await;
    let mut rendered = match &result {
        Ok(answer) => format!("{answer}\n"),
        Err(err) => format!("{err}\n{} {err:?}\n", err.error_type()),
    };
    for document in documents {
        writeln!(rendered, "{document}").unwrap();
    }
    rendered
}

/// Real contact ids are UUIDs. The fake derives its ids from client tokens, which a caller may
/// build from an order number that is also a contact attribute (`order-A-1002-…`); ids are
/// hashed here so that a contact id never repeats an input.
struct OpaqueIds(FakeConnect);

impl ContactStarter for OpaqueIds {
    fn start_contact<'a>(
        &'a self,
        chat: &'a OutboundChat,
    ) -> BoxFuture<'a, Result<ContactId, StartError>> {
        Box::pin(async move {
            let id = self.0.start_contact(chat).await?;
            let mut hasher = DefaultHasher::new();
            id.as_str().hash(&mut hasher);
            Ok(ContactId::new(format!("{:016x}", hasher.finish())))
        })
    }
}

/// The Debug form of every chat the port was asked to start, client tokens blanked: a token is
/// the caller's idempotency key, not personal data, and a caller may well build it from an
/// order number that is also a contact attribute (`order-A-1002-out-for-delivery`).
fn calls_debug(function: &TestFunction<OpaqueIds>) -> String {
    let debug = format!("{:?}", function.connect().0.calls());
    let mut blanked = String::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("ClientToken(\"") {
        let (before, token) = rest.split_at(at + "ClientToken(\"".len());
        blanked += before;
        blanked += "…";
        rest = token.find("\")").map_or("", |end| &token[end..]);
    }
    blanked + rest
}

/// Runs each event through a fresh fake-backed function (failing every call to the events'
/// numbers with `failure`, if any), in text and in JSON, and checks everything said.
async fn assert_events_private(events: &[Value], failure: Option<StartError>, extra: &[&str]) {
    let mut all = BTreeSet::new();
    for event in events {
        all.extend(needles(event));
    }
    all.extend(extra.iter().map(|s| s.to_string()));
    for json in [false, true] {
        let (logs, output) = with_trace_logs(json, async {
            let mut output = String::new();
            for event in events {
                let function = TestFunction::new(OpaqueIds(FakeConnect::default()), &test_config());
                if let Some(failure) = &failure {
                    for needle in needles(event).iter().filter(|n| n.starts_with('+')) {
                        function
                            .connect()
                            .0
                            .script(needle, Script::Always(failure.clone()));
                    }
                }
                output += &invoke_rendered(&function, event.clone(), Duration::from_secs(60)).await;
                writeln!(output, "{}", calls_debug(&function)).unwrap();
            }
            output
        })
        .await;
        assert!(!logs.is_empty(), "nothing was captured");
        assert_private(&logs, &all);
        assert_private(&output, &all);
    }
}

// ---------------------------------------------------------------------------------------------
// Events built around a request, one per way a request can arrive.

fn sqs_with_bodies(bodies: &[String]) -> Value {
    let mut event = sample_event("sqs-mixed-batch.json");
    let template = event["Records"][0].clone();
    event["Records"] = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut record = template.clone();
            record["messageId"] = format!("privacy-{i}").into();
            record["body"] = body.clone().into();
            record
        })
        .collect();
    event
}

fn eventbridge_with(detail: &Value) -> Value {
    let mut event = sample_event("eventbridge.json");
    event["detail"] = detail.clone();
    event
}

fn http_single_with(body: &str) -> Value {
    let mut event = sample_event("apigw-http-single.json");
    event["body"] = body.into();
    event
}

fn http_batch_with(body: &str) -> Value {
    let mut event = sample_event("apigw-http-batch.json");
    event["body"] = body.into();
    event
}

/// `request` as every trigger delivers it.
fn every_delivery(request: &Value) -> Vec<Value> {
    let text = request.to_string();
    let mut events = every_text_delivery(&text);
    events.push(eventbridge_with(request));
    events.push(http_batch_with(&json!({"requests": [request]}).to_string()));
    events.push(request.clone());
    events
}

/// `text` as the body of an SQS record, of `POST /contacts` and of `POST /contacts/batch`.
fn every_text_delivery(text: &str) -> Vec<Value> {
    vec![
        sqs_with_bodies(&[text.to_owned()]),
        http_single_with(text),
        http_batch_with(text),
    ]
}

/// A valid request of each form and channel, with distinctive personal data.
fn valid_requests() -> Vec<Value> {
    vec![
        json!({
            "to": "+44 (20) 7946-0958", "message": {"content": "Quillon, your parcel is at the depot"},
            "attributes": {"accountRef": "ZK-99812"}, "displayName": "Quillon Marsh",
        }),
        json!({
            "channel": "WHATSAPP", "to": "+447946095811",
            "template": {
                "knowledgeBaseId": "kb-1234", "messageTemplateId": "appointment-reminder",
                "customAttributes": {"firstName": "Peregrine", "slot": "quarter past four"},
                "customerProfileAttributes": {"profile": {"LastName": "Featherstonehaugh"}},
            },
            "attributes": {"visit": "VX-31337"},
        }),
        json!({
            "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+447946095812"},
            "InitialSystemMessage": {"ContentType": "text/plain", "Content": "Cornelius, native text"},
            "Attributes": {"ref": "NV-4410"},
            "ParticipantDetails": {"DisplayName": "Cornelius Vane"},
        }),
        json!({
            "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+447946095813"},
            "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:WhatsApp"}},
            "InitialTemplatedSystemMessage": {
                "KnowledgeBaseId": "kb-1234", "MessageTemplateId": "appointment-reminder",
                "TemplateAttributes": {
                    "CustomAttributes": {"name": "Leocadia"},
                    "CustomerProfileAttributes": "{\"profile\":{\"FirstName\":\"Leocadia Brook\"}}",
                },
            },
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The checks.

#[test]
fn the_leak_check_knows_a_number_in_every_spelling_and_each_personal_field() {
    // (request, needles it must yield)
    let cases = [
        (
            json!({
                "to": "+1 (425) 555-0100", "message": {"content": "Hello Ana"},
                "template": {"customAttributes": {"first": "Ana B"}, "customerProfileAttributes": "{\"p\":{\"n\":\"Zed Q\"}}"},
                "attributes": {"order": "A-1001"}, "displayName": "Ana Bell",
            }),
            &[
                "+1 (425) 555-0100",
                "+14255550100",
                "4255550",
                "5550100",
                "Hello Ana",
                "Ana B",
                "Zed Q",
                "A-1001",
                "Ana Bell",
            ][..],
        ),
        (
            json!({
                "DestinationEndpoint": {"Address": "+442079460958"},
                "InitialSystemMessage": {"Content": "Native text"},
                "InitialTemplatedSystemMessage": {"TemplateAttributes": {"CustomAttributes": {"n": "Tess"}, "CustomerProfileAttributes": "{\"n\":\"Ruth\"}"}},
                "Attributes": {"ref": "NV-1"}, "ParticipantDetails": {"DisplayName": "Nat Vale"},
            }),
            &[
                "+442079460958",
                "2079460",
                "Native text",
                "Tess",
                "Ruth",
                "NV-1",
                "Nat Vale",
            ],
        ),
        (
            json!({"to": 442079460958_i64, "message": "A bare string"}),
            &["442079460958", "+442079460958", "A bare string"],
        ),
    ];
    for (request, expected) in cases {
        let found = needles(&sqs_with_bodies(&[request.to_string()]));
        for needle in expected {
            assert!(found.contains(*needle), "{needle} missing from {found:?}");
        }
    }
    let found = needles(&sqs_with_bodies(&[
        json!({"to": "+14255550100"}).to_string()
    ]));
    let leaked = std::panic::catch_unwind(|| assert_private("to 14255550100 now", &found));
    assert!(leaked.is_err(), "the bare digits must count as a leak");
    assert_private("to +*********00, contact 8e3f5a1c", &found);
}

#[tokio::test]
async fn every_sample_event_leaks_nothing_whatever_connect_answers() {
    let events: Vec<Value> = sample_event_names()
        .iter()
        .map(|name| sample_event(name))
        .collect();
    let failures = [
        None,
        Some(throttled()),
        Some(StartError::QuotaExceeded {
            message: "Too many active chats".into(),
        }),
        Some(transient()),
        Some(rejected()),
        Some(StartError::Conflict {
            message: "Conflicting contact state".into(),
        }),
    ];
    for failure in failures {
        assert_events_private(&events, failure, &[]).await;
    }
}

#[tokio::test]
async fn capture_works_and_shows_numbers_masked() {
    let event = sample_event("sqs-mixed-batch.json");
    let (logs, output) = with_trace_logs(false, async {
        let function = TestFunction::new(OpaqueIds(FakeConnect::default()), &test_config());
        let mut output = invoke_rendered(&function, event.clone(), Duration::from_secs(60)).await;
        writeln!(output, "{}", calls_debug(&function)).unwrap();
        output
    })
    .await;
    assert!(logs.contains("contact started"), "{logs}");
    assert!(logs.contains("invocation summary"), "{logs}");
    assert!(output.contains("\"_aws\""), "{output}");
    assert!(
        output.contains("DestinationNumber(+*********00)"),
        "{output}"
    );
    assert_private(&(logs + &output), &needles(&event));
}

#[tokio::test]
async fn invalid_requests_of_both_forms_leak_nothing_from_any_trigger() {
    let invalid = [
        json!({"to": "+44 (20) 7946-0958x", "message": {"content": "Quarterly invoice for Hildegard"}, "attributes": {"accountRef": "ZK-55120"}}),
        json!({"channel": "WHATSAPP", "to": "+447946095821", "message": {"content": "Marisol, free text"}, "displayName": "Marisol Quenby"}),
        json!({"to": "+447946095822", "temlate": {"customAttributes": {"name": "Thaddeus"}}, "message": {"content": "Thaddeus, misspelt"}}),
        json!({"to": 447946095823_i64, "message": {"content": "Beatrix, numeric number"}}),
        json!({"to": "+447946095824", "message": "Ottoline, a bare string"}),
        json!({"to": "+447946095825", "message": {"content": "Wilhelmina, bad attribute"}, "attributes": {"k": {"nested": "Wilhelmina Drake"}}}),
        json!({"to": "+447946095826", "message": {"content": 7_946_095_826_i64}}),
        json!({"channel": "WHATSAPP", "to": "+447946095827", "template": {"knowledgeBaseId": "", "messageTemplateId": "", "customAttributes": {"first": "Evangeline", "slot": "half past nine"}, "customerProfileAttributes": "Evangeline, not JSON"}}),
        json!({"to": "+447946095828", "message": {"content": "Both forms, Araminta"}, "template": {"knowledgeBaseId": "kb", "messageTemplateId": "t", "customAttributes": {"n": "Araminta"}}}),
        json!({"to": "+447946095829", "message": {"content": "Sebastian ".repeat(400)}}),
        json!({"to": "+447946095830", "message": {"content": "Expired for Ignatius"}, "expiresAt": "2020-01-01T00:00:00Z"}),
        json!({"to": "+447946095831", "message": {"content": "Bad expiry for Florian"}, "expiresAt": "tomorrow at Florian's"}),
        json!({"DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+44 7946 0958 32 ext"}, "InitialSystemMessage": {"ContentType": "text/plain", "Content": "Rosalind, native"}, "Attributes": {"ref": "NV-7781"}, "ParticipantDetails": {"DisplayName": "Rosalind Keel"}}),
        json!({"DestinationEndpoint": {"Type": "EMAIL", "Address": 447946095833_i64}, "InitialSystemMessage": {"Content": "Cressida, wrong type"}}),
        json!({"DestinationEndpoint": {"Address": "+447946095834"}, "InitialTemplatedSystemMessage": {"KnowledgeBaseId": "", "MessageTemplateId": "", "TemplateAttributes": {"CustomAttributes": {"name": "Leopoldine"}, "CustomerProfileAttributes": "{\"profile\":{\"FirstName\":\"Leopoldine\"}}"}}}),
        json!({"DestinationEndpoint": {"Address": "+447946095835"}, "InitialSystemMessage": {"Content": "Gwendolyn, extra field"}, "Extra": "Gwendolyn Pryce"}),
    ];
    let mut events: Vec<Value> = invalid.iter().flat_map(every_delivery).collect();
    let texts = [
        r#"{"to": "+447946095836", "message": {"content": "Truncated for Isadora"#,
        r#""+447946095837 Araminta as a string""#,
        r#"["+447946095838", "Philippa in a list"]"#,
    ];
    events.extend(texts.iter().flat_map(|text| every_text_delivery(text)));
    let extra = [
        "Ottoline",
        "Isadora",
        "+447946095837",
        "Araminta as a string",
        "+447946095838",
        "Philippa",
        "Gwendolyn Pryce",
    ];
    assert_events_private(&events, None, &extra).await;
}

#[tokio::test]
async fn unrecognized_and_malformed_events_leak_nothing() {
    let request = json!({"to": "+447946095840", "message": {"content": "Leontyne, misrouted"}});
    let body = request.to_string();
    let events = [
        json!({"hello": "+447946095840", "note": "Leontyne, misrouted"}),
        json!(["+447946095840", "Leontyne, misrouted"]),
        json!("+447946095840 Leontyne, misrouted"),
        json!({"Records": [{"eventSource": "aws:s3", "body": body}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": 7, "body": body}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": request}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "body": body}]}),
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": body, "attributes": "+447946095840"}]}),
        json!({"detail-type": 5, "source": "app", "detail": request}),
        json!({"detail-type": "x", "source": "app", "detail": request, "time": "Leontyne, misrouted"}),
        json!({"version": "2.0", "rawPath": "/contacts", "requestContext": {"http": {"method": "P O S T"}}, "body": body}),
        json!({"httpMethod": 5, "requestContext": {"requestId": "r"}, "body": body}),
        json!({"httpMethod": "POST", "requestContext": {"requestId": "r"}, "headers": "+447946095840", "body": body}),
        json!({"requestContext": {"note": "+447946095840"}, "body": body}),
    ];
    assert_events_private(&events, None, &["+447946095840", "Leontyne, misrouted"]).await;
}

#[tokio::test]
async fn http_rejections_leak_nothing() {
    let request =
        json!({"to": "+447946095850", "message": {"content": "Florentina, rejected at the door"}});
    let body = request.to_string();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut event = http_single_with(&body);
        change(&mut event);
        event
    };
    let big = {
        let mut request = request.clone();
        request["attributes"] = json!({"pad": "x".repeat(300 * 1024)});
        request.to_string()
    };
    let twenty_six = json!({"requests": vec![request.clone(); 26]}).to_string();
    let events = [
        with(&|e| e["rawPath"] = "/contacts/+447946095850".into()),
        with(&|e| e["requestContext"]["http"]["method"] = "GET".into()),
        with(&|e| e["headers"]["content-type"] = "text/plain".into()),
        with(&|e| e["body"] = big.clone().into()),
        with(&|e| {
            e["isBase64Encoded"] = true.into();
            e["body"] = "not base64: +447946095850 Florentina".into();
        }),
        with(&|e| {
            e["isBase64Encoded"] = true.into();
            e["body"] = base64::engine::general_purpose::STANDARD
                .encode(b"\xff\xfe +447946095850 Florentina")
                .into();
        }),
        with(&|e| e["headers"]["idempotency-key"] = "".into()),
        http_batch_with(&big),
        http_batch_with(&twenty_six),
        http_batch_with(&json!({"requests": [request], "note": "Florentina"}).to_string()),
        http_batch_with(&json!({"requests": request}).to_string()),
        http_batch_with(
            &json!({"requests": [
                {"requestIdentifier": "same", "to": "+447946095851", "message": {"content": "Florentina one"}},
                {"requestIdentifier": "same", "to": "+447946095852", "message": {"content": "Florentina two"}},
            ]})
            .to_string(),
        ),
    ];
    assert_events_private(&events, None, &["+447946095850", "Florentina"]).await;
}

#[tokio::test]
async fn a_request_past_its_deadline_leaks_nothing() {
    let requests = valid_requests();
    let (logs, output) = with_trace_logs(true, async {
        let function = TestFunction::new(OpaqueIds(FakeConnect::default()), &test_config());
        let mut output = String::new();
        for request in &requests {
            output += &invoke_rendered(&function, request.clone(), Duration::ZERO).await;
        }
        output
    })
    .await;
    assert!(logs.contains("NOT_ATTEMPTED"), "{logs}");
    let all: BTreeSet<String> = requests.iter().flat_map(needles).collect();
    assert_private(&(logs + &output), &all);
}

/// The replies the simulator gives each request of a scenario, three times over (the SDK
/// tries a retryable error three times).
fn sdk_scenarios() -> Vec<(&'static str, Vec<ScriptedReply>)> {
    use ConnectErrorCode::*;
    let thrice = |reply: ScriptedReply| vec![reply; 3 * 12];
    vec![
        ("success", Vec::new()),
        (
            "invalid request",
            thrice(ScriptedReply::Error(InvalidRequest)),
        ),
        ("throttling", thrice(ScriptedReply::Error(Throttling))),
        ("quota", thrice(ScriptedReply::Error(LimitExceeded))),
        (
            "internal error",
            thrice(ScriptedReply::Error(InternalService)),
        ),
        ("conflict", thrice(ScriptedReply::Error(Conflict))),
        ("not found", thrice(ScriptedReply::Error(ResourceNotFound))),
        ("dropped connection", thrice(ScriptedReply::Drop)),
    ]
}

#[tokio::test]
async fn the_real_sdk_path_leaks_nothing_whatever_connect_answers() {
    let requests = valid_requests();
    let mut events: Vec<Value> = requests.clone();
    events.push(sqs_with_bodies(
        &requests.iter().map(Value::to_string).collect::<Vec<_>>(),
    ));
    events.push(http_batch_with(&json!({"requests": requests}).to_string()));
    let all: BTreeSet<String> = events.iter().flat_map(needles).collect();
    for (name, replies) in sdk_scenarios() {
        for json in [false, true] {
            let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
            simulator.script(replies.clone());
            let (logs, output) = with_trace_logs(json, async {
                let function = crate::support::sdk::sdk_function(&simulator, &test_config());
                let mut output = String::new();
                for event in &events {
                    output +=
                        &invoke_rendered(&function, event.clone(), Duration::from_secs(30)).await;
                }
                output
            })
            .await;
            assert!(
                logs.contains("aws_smithy_runtime") || logs.contains("beginning attempt"),
                "{name}: the SDK's own DEBUG lines were not captured:\n{logs}"
            );
            assert_private(&logs, &all);
            assert_private(&output, &all);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The compiled binary, through the Runtime API emulator.

/// Events of every trigger around the valid requests, and a few invalid ones.
fn binary_events() -> Vec<Value> {
    let requests = valid_requests();
    let mut events = vec![
        sqs_with_bodies(&requests.iter().map(Value::to_string).collect::<Vec<_>>()),
        eventbridge_with(&requests[1]),
        requests[2].clone(),
        http_single_with(&requests[0].to_string()),
        http_batch_with(&json!({"requests": requests}).to_string()),
    ];
    events.push(json!({"to": "+44 7946 0958 60 ext", "message": {"content": "Octavia, invalid"}}));
    events.push(sqs_with_bodies(&[
        r#"{"to": "+447946095861", "message": {"content": "Truncated for Benedikta"#.into(),
    ]));
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_at_trace_level_logs_no_personal_data() {
    let events = binary_events();
    let mut all: BTreeSet<String> = events.iter().flat_map(needles).collect();
    all.extend(["Benedikta", "+447946095861"].map(String::from));
    for format in ["TEXT", "JSON"] {
        let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
        let api = RuntimeApi::start().await;
        api.queue(events.clone());
        let environment =
            lambda_environment(&api.address(), &simulator.endpoint_url(), format, "TRACE");
        let run = run_binary(environment, api.wait_for_answers(events.len())).await;
        let answers: String = api
            .answers()
            .iter()
            .map(|a| format!("{} {} {}\n", a.request_id, a.kind, a.body))
            .collect();
        assert!(
            run.stdout.contains("beginning attempt"),
            "{format}: the SDK's DEBUG lines are missing:\n{}",
            run.stdout
        );
        assert!(run.stdout.contains("contact started"), "{}", run.stdout);
        assert!(
            run.stdout.contains(runtime::SHUTDOWN_MESSAGE),
            "{}",
            run.stdout
        );
        assert!(run.status.success(), "{:?}: {}", run.status, run.stderr);
        for output in [&run.stdout, &run.stderr, &answers] {
            assert_private(output, &all);
        }
    }
}
