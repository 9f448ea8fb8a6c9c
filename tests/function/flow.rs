//! The contact-flow trigger (contract §8): a flow's "Invoke AWS Lambda function" event through
//! the whole function: recognition beside every other trigger, the block's parameters as
//! strings and as JSON, the contact's defaults, the WhatsApp rule, Connect's retry of the block,
//! the block's time limit, and every status of the answer, against a fake Connect, the local
//! Connect, moto's SQS and DynamoDB Local, and as the compiled binary.

use std::sync::Arc;
use std::time::Duration;

use connect_simulator::{Simulator, SimulatorConfig};
use lambda_testkit::{Invocation, RuntimeApi};
use outbound_chat::testing::{Category, Channel, ManualClock};
use outbound_chat::{FunctionError, StartError};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::binary::{lambda_environment, spawn_bootstrap};
use crate::support::dynamodb::{State, http_request};
use crate::support::sdk::sdk_function;
use crate::support::sqs::Sqs;
use crate::support::*;

const CONTACT_ID: &str = "5f0b3c2a-8d1e-4f6a-9b7c-3e2d1a0f9c84";
const CALLER: &str = "+14255550100";
const INSTANCE_ID: &str = connect_simulator::sample::INSTANCE_ID;
const TEMPLATE: &str = r#"{"knowledgeBaseId":"kb-1234","messageTemplateId":"queue-callback","customAttributes":{"queueName":"Support"}}"#;

/// A voice call's contact data, as Amazon Connect sends it to the block.
fn voice_call() -> Value {
    json!({
        "Channel": "VOICE",
        "ContactId": CONTACT_ID,
        "InitialContactId": CONTACT_ID,
        "InitiationMethod": "INBOUND",
        "CustomerEndpoint": {"Address": CALLER, "Type": "TELEPHONE_NUMBER"},
        "SystemEndpoint": {"Address": "+18005550199", "Type": "TELEPHONE_NUMBER"},
        "InstanceARN": format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE_ID}"),
        "Queue": null,
        "Attributes": {}
    })
}

fn flow_event(contact: Value, parameters: Value) -> Value {
    json!({
        "Name": "ContactFlowEvent",
        "Details": {"ContactData": contact, "Parameters": parameters}
    })
}

fn sms_deflection() -> Value {
    flow_event(
        voice_call(),
        json!({"channel": "SMS", "message": "Book online: https://example.com/book"}),
    )
}

async fn answer_of(function: &TestFunction, event: Value) -> Value {
    invoke(function, event)
        .await
        .expect("a flow always answers")
}

/// Every member of the answer is a string: the block's STRING_MAP response type takes it.
fn assert_flat_strings(answer: &Value) {
    let members = answer.as_object().expect("an object");
    assert!(members.values().all(Value::is_string), "{answer}");
}

#[tokio::test]
async fn only_the_flow_samples_are_answered_as_flows_and_every_other_sample_as_before() {
    for name in sample_event_names() {
        let function = function();
        let answer = invoke(&function, sample_event(&name)).await;
        let status = answer.as_ref().ok().and_then(|a| a["status"].as_str());
        let status = status.map(str::to_owned);
        if name.starts_with("flow-") {
            let answer = answer.unwrap();
            assert_eq!(status.as_deref(), Some("SENT"), "{name}: {answer}");
            assert_flat_strings(&answer);
            assert_eq!(function.connect().calls().len(), 1, "{name}");
        } else {
            assert_ne!(
                status.as_deref(),
                Some("SENT"),
                "{name} was answered as a flow"
            );
        }
    }
}

#[tokio::test]
async fn a_flow_event_with_a_request_beside_it_is_read_as_a_flow_and_never_as_a_request() {
    let mut event = sms_deflection();
    event["to"] = json!("+14255550123");
    event["message"] = json!({"content": "not this"});
    let function = function();
    let answer = answer_of(&function, event).await;
    assert_eq!(answer["status"], "SENT");
    assert_eq!(function.connect().called_numbers(), [CALLER]);
}

#[tokio::test]
async fn an_unreadable_flow_event_is_the_only_error() {
    let cases = [
        json!({"Name": "ContactFlowEvent", "Details": "{}"}),
        json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {"Channel": "VOICE"}}}),
        json!({"Name": "ContactFlowEvent", "Details": {"ContactData": voice_call(), "Parameters": "x"}}),
    ];
    for event in cases {
        let err = invoke(&function(), event.clone()).await.unwrap_err();
        assert!(
            matches!(err, FunctionError::Unrecognized(_)),
            "{event}: {err}"
        );
        assert_eq!(err.error_type(), "MalformedEvent", "{event}");
    }
}

#[tokio::test]
async fn parameters_given_as_strings_make_the_same_request_as_parameters_given_as_json() {
    let as_json = json!({
        "channel": "WHATSAPP",
        "template": serde_json::from_str::<Value>(TEMPLATE).unwrap(),
        "attributes": {"offer": "whatsapp"},
        "chatDurationInMinutes": 120,
        "supportedMessagingContentTypes": ["text/plain", "text/markdown"]
    });
    let as_strings = json!({
        "channel": "WHATSAPP",
        "template": TEMPLATE,
        "attributes": "{\"offer\":\"whatsapp\"}",
        "chatDurationInMinutes": "120",
        "supportedMessagingContentTypes": "text/plain, text/markdown"
    });
    let function = function();
    for parameters in [as_json, as_strings] {
        let answer = answer_of(&function, flow_event(voice_call(), parameters.clone())).await;
        assert_eq!(answer["status"], "SENT", "{parameters}: {answer}");
    }
    let calls = function.connect().calls();
    let (a, b) = (&calls[0], &calls[1]);
    assert_eq!(a.channel(), Channel::WhatsApp);
    assert_eq!(a.initial_message(), b.initial_message());
    assert_eq!(a.attributes(), b.attributes());
    assert_eq!(a.chat_duration(), b.chat_duration());
    assert_eq!(a.supported_content_types(), b.supported_content_types());
    assert!(a.initial_message().is_some());
}

#[tokio::test]
async fn each_default_comes_from_the_contact_and_a_given_parameter_overrides_it() {
    let function = function();
    answer_of(&function, sms_deflection()).await;
    let overrides = json!({
        "message": "Hi",
        "to": "+14255550123",
        "relatedContactId": "b7e2d4c1-0a9f-4b3e-8d2c-6f1a5e9b3c08",
        "instanceId": "f1e2d3c4-0000-4000-8000-000000000001",
        "category": "PROMOTIONAL"
    });
    answer_of(&function, flow_event(voice_call(), overrides)).await;
    let calls = function.connect().calls();
    let defaulted = &calls[0];
    assert_eq!(defaulted.destination().e164(), CALLER);
    let related = defaulted.related_contact_id().map(|r| r.as_str());
    assert_eq!(related, Some(CONTACT_ID));
    assert_eq!(defaulted.instance_id().as_str(), INSTANCE_ID);
    assert_eq!(defaulted.category(), Some(Category::Transactional));
    let given = &calls[1];
    assert_eq!(given.destination().e164(), "+14255550123");
    let related = given.related_contact_id().map(|r| r.as_str());
    assert_eq!(related, Some("b7e2d4c1-0a9f-4b3e-8d2c-6f1a5e9b3c08"));
    assert_eq!(
        given.instance_id().as_str(),
        "f1e2d3c4-0000-4000-8000-000000000001"
    );
    assert_eq!(given.category(), Some(Category::Promotional));
}

#[tokio::test]
async fn without_the_callers_number_the_request_is_refused_naming_to() {
    let mut contact = voice_call();
    contact.as_object_mut().unwrap().remove("CustomerEndpoint");
    let function = function();
    let event = flow_event(contact.clone(), json!({"message": "Hi"}));
    let answer = answer_of(&function, event).await;
    assert_eq!(answer["status"], "REFUSED", "{answer}");
    assert_eq!(answer["code"], "MISSING_CUSTOMER_ENDPOINT");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("to: the caller's number is not known"),
        "{message}"
    );
    assert_flat_strings(&answer);
    let given = flow_event(contact, json!({"message": "Hi", "to": "+14255550123"}));
    assert_eq!(answer_of(&function, given).await["status"], "SENT");
    assert_eq!(function.connect().called_numbers(), ["+14255550123"]);
}

#[tokio::test]
async fn every_problem_is_named_by_its_parameter_together_with_the_rules_violations() {
    let parameters = json!({
        "attributes": "not json",
        "chatDurationInMinutes": "soon",
        "displayName": "x".repeat(300),
        "message": "Hi"
    });
    let answer = answer_of(&function(), flow_event(voice_call(), parameters)).await;
    assert_eq!(answer["status"], "REFUSED");
    assert_eq!(answer["code"], "INVALID_REQUEST");
    let message = answer["message"].as_str().unwrap();
    for parameter in ["attributes:", "chatDurationInMinutes:", "displayName:"] {
        assert!(message.contains(parameter), "{parameter} in {message}");
    }
}

#[tokio::test]
async fn a_misspelt_parameter_is_named_together_with_every_other_violation() {
    let parameters = json!({"temlate": TEMPLATE, "to": "4255550100", "chatDurationInMinutes": "5"});
    let answer = answer_of(&function(), flow_event(voice_call(), parameters)).await;
    assert_eq!(answer["status"], "REFUSED");
    let message = answer["message"].as_str().unwrap();
    for parameter in ["temlate:", "to:", "chatDurationInMinutes:"] {
        assert!(message.contains(parameter), "{parameter} in {message}");
    }
}

#[tokio::test]
async fn a_sent_sms_is_answered_with_its_encoding_and_segments_as_strings() {
    let answer = answer_of(&function(), sms_deflection()).await;
    assert_flat_strings(&answer);
    assert_eq!(answer["status"], "SENT");
    assert_eq!(
        (answer["encoding"].as_str(), answer["segments"].as_str()),
        (Some("GSM-7"), Some("1"))
    );
    let long = flow_event(
        voice_call(),
        json!({"channel": "SMS", "message": "é".repeat(71)}),
    );
    let answer = answer_of(&function(), long).await;
    assert_eq!(
        (answer["encoding"].as_str(), answer["segments"].as_str()),
        (Some("GSM-7"), Some("1"))
    );
    let ucs = flow_event(
        voice_call(),
        json!({"channel": "SMS", "message": "ç".repeat(71)}),
    );
    let answer = answer_of(&function(), ucs).await;
    assert_eq!(
        (answer["encoding"].as_str(), answer["segments"].as_str()),
        (Some("UCS-2"), Some("2"))
    );
}

#[tokio::test]
async fn whatsapp_from_a_call_must_be_a_template_but_a_whatsapp_chat_may_get_free_text() {
    let free_text = json!({"channel": "WHATSAPP", "message": "Hi"});
    let mut whatsapp_chat = voice_call();
    whatsapp_chat["Channel"] = json!("CHAT");
    whatsapp_chat["SegmentAttributes"] =
        json!({"connect:Subtype": {"ValueString": "connect:WhatsApp"}});
    let template = json!({"channel": "WHATSAPP", "template": TEMPLATE});
    // (contact, parameters, status)
    let cases = [
        (voice_call(), free_text.clone(), "REFUSED"),
        (voice_call(), template, "SENT"),
        (whatsapp_chat, free_text, "SENT"),
    ];
    for (contact, parameters, status) in cases {
        let function = function();
        let answer = answer_of(&function, flow_event(contact, parameters.clone())).await;
        assert_eq!(answer["status"], status, "{parameters}: {answer}");
        if status == "REFUSED" {
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains("message: a WhatsApp message from a flow must be a template"));
            assert!(function.connect().calls().is_empty());
        }
    }
}

#[tokio::test]
async fn connect_retrying_the_block_never_starts_a_second_contact() {
    let function = function();
    let first = answer_of(&function, sms_deflection()).await;
    let retry = answer_of(&function, sms_deflection()).await;
    assert_eq!(first, retry, "the same contact, answered again");
    let calls = function.connect().calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].client_token(), calls[1].client_token());
    // Another caller, or another message from the same block, is another contact.
    let mut other_call = sms_deflection();
    other_call["Details"]["ContactData"]["ContactId"] =
        json!("b7e2d4c1-0a9f-4b3e-8d2c-6f1a5e9b3c08");
    let mut other_message = sms_deflection();
    other_message["Details"]["Parameters"]["message"] = json!("Call us back");
    for event in [other_call, other_message] {
        assert_ne!(answer_of(&function, event).await, first);
    }
}

#[tokio::test]
async fn connect_retrying_the_block_starts_one_contact_on_the_local_connect() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let function = sdk_function(&simulator, &test_config());
    let deadline = || Instant::now() + Duration::from_secs(30);
    let mut answers = Vec::new();
    for attempt in ["r-1", "r-2", "r-3"] {
        let answer = function.handle(sms_deflection(), attempt, deadline()).await;
        answers.push(answer.unwrap());
    }
    assert_eq!(answers[0]["status"], "SENT");
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(simulator.contacts().len(), 1);
}

#[tokio::test]
async fn a_connect_slower_than_the_blocks_limit_is_answered_timeout_within_the_limit() {
    let config = config_with(&[("FLOW_TIME_LIMIT_SECONDS", "1")]);
    let function = TestFunction::new(FakeConnect::default(), &config);
    function.connect().set_latency(Duration::from_secs(3));
    let started = Instant::now();
    // Lambda's own timeout is far longer: the block's limit is what counts.
    let answer = function
        .handle(sms_deflection(), "r-1", started + Duration::from_secs(60))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(answer, json!({"status": "FAILED", "code": "TIMEOUT"}));
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    assert_eq!(function.connect().calls().len(), 0, "the call was cut");
}

#[tokio::test]
async fn a_connect_within_the_blocks_limit_is_waited_for() {
    let config = config_with(&[("FLOW_TIME_LIMIT_SECONDS", "1")]);
    let function = TestFunction::new(FakeConnect::default(), &config);
    function.connect().set_latency(Duration::from_millis(300));
    let answer = answer_of(&function, sms_deflection()).await;
    assert_eq!(answer["status"], "SENT", "{answer}");
}

#[tokio::test]
async fn each_failure_of_connect_is_refused_or_failed_with_its_code() {
    // (Connect's answer, status, code)
    let cases = [
        (throttled(), "FAILED", "REQUEST_THROTTLED"),
        (
            StartError::QuotaExceeded {
                message: "chats".into(),
            },
            "FAILED",
            "REQUEST_THROTTLED",
        ),
        (transient(), "FAILED", "INTERNAL_ERROR"),
        (rejected(), "REFUSED", "REJECTED"),
        (
            StartError::Conflict {
                message: "state".into(),
            },
            "REFUSED",
            "CONFLICT",
        ),
    ];
    for (error, status, code) in cases {
        let function = function();
        function
            .connect()
            .script(CALLER, Script::Always(error.clone()));
        let answer = answer_of(&function, sms_deflection()).await;
        assert_eq!(answer["status"], status, "{error:?}: {answer}");
        assert_eq!(answer["code"], code, "{error:?}");
        assert_flat_strings(&answer);
        let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
        let expected: &[&str] = match status {
            "REFUSED" => &["code", "message", "status"],
            _ => &["code", "status"],
        };
        assert_eq!(keys, expected, "{answer}");
    }
}

#[tokio::test]
async fn an_expired_request_is_refused() {
    let parameters = json!({"message": "Hi", "expiresAt": "2020-01-01T00:00:00Z"});
    let answer = answer_of(&function(), flow_event(voice_call(), parameters)).await;
    assert_eq!(answer["status"], "REFUSED");
    assert_eq!(answer["code"], "EXPIRED");
}

/// Monday 30 November 2026, 03:00 in Los Angeles (+1 425): outside `Mon-Fri 08:00-21:00`.
const NIGHT: &str = "2026-11-30T11:00:00Z";
/// Two seconds before the window opens that Monday (08:00 in Los Angeles).
const JUST_BEFORE: &str = "2026-11-30T15:59:58Z";

/// A function with the window, its clock at `now`.
fn windowed(now: &str, extra: &[(&str, &str)]) -> TestFunction {
    let mut vars = vec![("SEND_WINDOW", "Mon-Fri 08:00-21:00")];
    vars.extend_from_slice(extra);
    let clock = Arc::new(ManualClock::new(now.parse().unwrap()));
    TestFunction::new(FakeConnect::default(), &config_with(&vars)).map(|f| f.with_clock(clock as _))
}

#[tokio::test]
async fn outside_the_send_window_the_request_is_deferred_to_the_request_queue() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let function = windowed(JUST_BEFORE, &[("REQUEST_QUEUE_URL", &url)])
        .map(|f| f.with_queue(sqs.queue_port()));
    let answer = answer_of(&function, sms_deflection()).await;
    assert_eq!(
        answer,
        json!({"status": "DEFERRED", "notBefore": "2026-11-30T16:00:00Z"})
    );
    assert!(function.connect().calls().is_empty());
    // Handed to the request queue until the opening, two seconds later.
    let held = sqs.receive(&url, 5).await;
    assert_eq!(held.len(), 1);
    let body: Value = serde_json::from_str(held[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["to"], CALLER, "the request with its defaults");
    assert_eq!(body["relatedContactId"], CONTACT_ID);
    assert!(body["clientToken"].is_string(), "carrying its token");
}

#[tokio::test]
async fn outside_the_send_window_with_no_queue_the_request_is_refused_with_the_opening() {
    let function = windowed(NIGHT, &[]);
    let answer = answer_of(&function, sms_deflection()).await;
    assert_eq!(answer["status"], "REFUSED", "{answer}");
    assert_eq!(answer["code"], "OUTSIDE_SEND_WINDOW");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("2026-11-30T16:00:00Z"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_on_the_do_not_contact_list_is_suppressed() {
    let state = State::start().await;
    let function = state.function(&[]);
    let listing = json!({"suppressions": [{"to": CALLER}]});
    let added = invoke(&function, http_request("PUT", "/suppressions", &listing))
        .await
        .unwrap();
    assert_eq!(added["statusCode"], 200, "{added}");
    let answer = answer_of(&function, sms_deflection()).await;
    assert_eq!(
        answer,
        json!({"status": "SUPPRESSED", "reason": "DO_NOT_CONTACT"})
    );
    assert!(function.connect().calls().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_compiled_function_deflects_each_sample_call_and_answers_a_slow_connect_in_time() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let api = RuntimeApi::start().await;
    let environment = lambda_environment(&api.address(), &sim.endpoint_url(), "JSON", "info");
    let mut function = spawn_bootstrap(environment);
    for name in ["flow-sms-deflection.json", "flow-whatsapp-queue.json"] {
        let answer = match function.invoke(&api, name, sample_event(name)).await {
            Invocation::Response(answer) => answer,
            other => panic!("{name}: {other:?}\n{}", function.output()),
        };
        assert_eq!(answer["status"], "SENT", "{name}: {answer}");
        let id = answer["contactId"].as_str().unwrap();
        assert!(sim.contacts().iter().any(|c| c.contact_id == id), "{name}");
    }
    let retried = function
        .invoke(&api, "retry", sample_event("flow-sms-deflection.json"))
        .await;
    assert!(matches!(retried, Invocation::Response(ref a) if a["status"] == "SENT"));
    assert_eq!(
        sim.contacts().len(),
        2,
        "the retried block started no contact"
    );
    assert!(
        !function.output().contains(CALLER),
        "no number in a log line"
    );
    function.terminate().await;

    let slow = Simulator::start(SimulatorConfig {
        latency: Duration::from_secs(3),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let api = RuntimeApi::start().await;
    let mut environment = lambda_environment(&api.address(), &slow.endpoint_url(), "JSON", "info");
    environment.insert("FLOW_TIME_LIMIT_SECONDS".into(), "2".into());
    let mut function = spawn_bootstrap(environment);
    let polled = api.wait_first_poll(Duration::from_secs(20), || function.alive());
    polled.await.expect("the function starts");
    let event = bytes::Bytes::from(sample_event("flow-sms-deflection.json").to_string());
    let answer = api.invoke(event, Duration::from_secs(30)).await.unwrap();
    assert!(
        answer.wall() < Duration::from_secs(2),
        "{:?}",
        answer.wall()
    );
    match answer.invocation() {
        Invocation::Response(answer) => {
            assert_eq!(answer, json!({"status": "FAILED", "code": "TIMEOUT"}))
        }
        other => panic!("{other:?}\n{}", function.output()),
    }
}
