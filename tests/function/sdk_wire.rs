//! The function against the local Connect over real HTTP with the real SDK: error
//! classification, each trigger's answer to each Connect error, retries that keep their
//! ClientToken, and a property test that Connect accepts everything the function accepts.

use std::time::Duration;

use connect_simulator::{ConnectErrorCode, Outcome, ScriptedReply, Simulator, SimulatorConfig};
use outbound_chat::OutboundChat;
use outbound_chat::adapters::SdkContactStarter;
use outbound_chat::testing::Intake;
use outbound_chat::{ContactStarter, Function, StartError};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::sdk::{sdk_function, sdk_starter};
use crate::support::*;

fn chat(request: Value) -> OutboundChat {
    Intake::from_config(&test_config())
        .admit_value(request, None)
        .unwrap()
        .with_token_fallback(outbound_chat::testing::ClientToken::parse("wire-test-token").unwrap())
}

fn sms() -> Value {
    json!({"to": "+14255550100", "message": {"content": "Your order shipped"}, "attributes": {"orderId": "A-1"}})
}

/// The SDK tries a retryable error three times: script it that often.
fn replies(code: ConnectErrorCode) -> Vec<ScriptedReply> {
    vec![ScriptedReply::Error(code); 3]
}

#[tokio::test]
async fn a_valid_request_starts_one_contact_with_what_the_function_sent() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let starter = sdk_starter(&simulator);
    let contact = starter.start_contact(&chat(sms())).await.unwrap();
    let contacts = simulator.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].contact_id, contact.as_str());
    assert_eq!(contacts[0].client_token.as_deref(), Some("wire-test-token"));
    let request = &contacts[0].request;
    assert_eq!(request["DestinationEndpoint"]["Address"], "+14255550100");
    assert_eq!(
        request["SegmentAttributes"]["connect:Subtype"]["ValueString"],
        "connect:SMS"
    );
    assert_eq!(request["InitialSystemMessage"]["ContentType"], "text/plain");
    assert_eq!(request["SourceEndpoint"]["Type"], "CONNECT_PHONENUMBER_ARN");
}

#[tokio::test]
async fn an_empty_segment_map_or_list_reaches_connect_as_one() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let starter = sdk_starter(&simulator);
    let mut request = sms();
    request["segmentAttributes"] = json!({
        "tier": {"ValueMap": {}},
        "connect:Tags": {"ValueList": []},
        "connect:Nested": {"ValueList": [{"ValueMap": {}}]},
    });
    let started = starter.start_contact(&chat(request)).await;
    let journal = simulator.journal();
    assert!(
        started.is_ok(),
        "{:?}",
        journal.last().map(|e| e.outcome.to_string())
    );
    let sent = &simulator.contacts()[0].request["SegmentAttributes"];
    assert_eq!(sent["tier"], json!({"ValueMap": {}}));
    assert_eq!(sent["connect:Tags"], json!({"ValueList": []}));
    assert_eq!(
        sent["connect:Nested"],
        json!({"ValueList": [{"ValueMap": {}}]})
    );
}

#[tokio::test]
async fn every_connect_error_maps_to_its_classification() {
    type Expected = fn(&StartError) -> bool;
    let cases: Vec<(ConnectErrorCode, Expected)> = vec![
        (
            ConnectErrorCode::InvalidRequest,
            |e| matches!(e, StartError::Rejected { code, .. } if code == "InvalidRequestException"),
        ),
        (
            ConnectErrorCode::AccessDenied,
            |e| matches!(e, StartError::Rejected { code, .. } if code == "AccessDeniedException"),
        ),
        (
            ConnectErrorCode::ResourceNotFound,
            |e| matches!(e, StartError::Rejected { code, .. } if code == "ResourceNotFoundException"),
        ),
        (ConnectErrorCode::Conflict, |e| {
            matches!(e, StartError::Conflict { .. })
        }),
        (ConnectErrorCode::Throttling, |e| {
            matches!(e, StartError::Throttled { .. })
        }),
        (ConnectErrorCode::LimitExceeded, |e| {
            matches!(e, StartError::QuotaExceeded { .. })
        }),
        (ConnectErrorCode::InternalService, |e| {
            matches!(e, StartError::Transient { .. })
        }),
        (ConnectErrorCode::Idempotency, |e| {
            matches!(e, StartError::Idempotency { .. })
        }),
        (ConnectErrorCode::ServiceQuotaExceeded, |e| {
            matches!(e, StartError::QuotaExceeded { .. })
        }),
        (ConnectErrorCode::RequestTimeout, |e| {
            matches!(e, StartError::Transient { .. })
        }),
        (ConnectErrorCode::TooManyRequests, |e| {
            matches!(e, StartError::Throttled { .. })
        }),
    ];
    assert_eq!(
        cases.len(),
        ConnectErrorCode::ALL.len(),
        "every code has a case"
    );
    for (code, expected) in cases {
        let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
        simulator.script(replies(code));
        let err = sdk_starter(&simulator)
            .start_contact(&chat(sms()))
            .await
            .unwrap_err();
        assert!(expected(&err), "{code:?} became {err:?}");
        assert!(simulator.contacts().is_empty());
    }
}

#[tokio::test]
async fn a_dropped_connection_is_transient() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    simulator.script(vec![ScriptedReply::Drop; 3]);
    let err = sdk_starter(&simulator)
        .start_contact(&chat(sms()))
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Transient { .. }), "{err:?}");
}

#[tokio::test]
async fn sdk_retries_resend_the_same_client_token() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    simulator.script(vec![
        ScriptedReply::Error(ConnectErrorCode::InternalService),
        ScriptedReply::Drop,
    ]);
    sdk_starter(&simulator)
        .start_contact(&chat(sms()))
        .await
        .unwrap();
    let tokens: Vec<Option<String>> = simulator
        .journal()
        .iter()
        .map(|e| e.client_token.clone())
        .collect();
    assert_eq!(tokens, vec![Some("wire-test-token".to_string()); 3]);
    assert_eq!(simulator.contacts().len(), 1);
}

#[tokio::test]
async fn a_failure_after_the_contact_started_does_not_start_a_second_one() {
    for config in [
        SimulatorConfig {
            internal_error_after_start: 1.0,
            ..Default::default()
        },
        SimulatorConfig {
            drop_after_start: 1.0,
            ..Default::default()
        },
    ] {
        let simulator = Simulator::start(config).await.unwrap();
        // Every attempt fails after starting; the retries replay the first contact.
        let _ = sdk_starter(&simulator).start_contact(&chat(sms())).await;
        assert_eq!(simulator.contacts().len(), 1);
        assert!(simulator.journal().len() >= 2, "the SDK retried");
    }
}

async fn run(
    function: &Function<SdkContactStarter>,
    event: Value,
) -> Result<Value, outbound_chat::FunctionError> {
    function
        .handle(
            event,
            "wire-request-1",
            Instant::now() + Duration::from_secs(30),
        )
        .await
}

#[tokio::test]
async fn each_connect_error_gets_the_right_answer_from_each_trigger() {
    use ConnectErrorCode::*;
    // (code, EventBridge / direct error type, HTTP status, batch failure code)
    let cases = [
        (InvalidRequest, "Rejected", 502, "REJECTED"),
        (AccessDenied, "Rejected", 502, "REJECTED"),
        (ResourceNotFound, "Rejected", 502, "REJECTED"),
        (Conflict, "Rejected", 409, "CONFLICT"),
        (Idempotency, "Rejected", 409, "IDEMPOTENCY_EXCEPTION"),
        (Throttling, "Throttled", 429, "REQUEST_THROTTLED"),
        (TooManyRequests, "Throttled", 429, "REQUEST_THROTTLED"),
        (LimitExceeded, "Throttled", 429, "REQUEST_THROTTLED"),
        (ServiceQuotaExceeded, "Throttled", 429, "REQUEST_THROTTLED"),
        (InternalService, "Unavailable", 503, "INTERNAL_ERROR"),
        (RequestTimeout, "Unavailable", 503, "INTERNAL_ERROR"),
    ];
    assert_eq!(
        cases.len(),
        ConnectErrorCode::ALL.len(),
        "every code has a case"
    );
    for (code, kind, status, batch_code) in cases {
        let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
        let function = sdk_function(&simulator, &test_config());

        simulator.script(replies(code));
        let mut sqs = sample_event("sqs-mixed-batch.json");
        sqs["Records"] = json!([sqs["Records"][0].clone()]);
        let answer = run(&function, sqs).await.unwrap();
        assert_eq!(
            answer["batchItemFailures"][0]["itemIdentifier"],
            "0c5f3a52-0001-4d6b-9b1e-6f0a2c3b4d01",
            "{code:?}"
        );

        simulator.script(replies(code));
        let err = run(&function, sample_event("eventbridge.json"))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), kind, "{code:?}");

        simulator.script(replies(code));
        let err = run(&function, sample_event("direct-invoke-native.json"))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), kind, "{code:?}");

        simulator.script(replies(code));
        let answer = run(&function, sample_event("apigw-http-single.json"))
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], status, "{code:?}");

        simulator.script(replies(code));
        let mut batch = sample_event("apigw-http-batch.json");
        batch["body"] = json!(json!({"requests": [{"to": "+14255550100"}]}).to_string());
        let answer = run(&function, batch).await.unwrap();
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body["FailedRequestList"][0]["FailureReasonCode"], batch_code,
            "{code:?}"
        );
        assert!(simulator.contacts().is_empty());
    }
}

#[tokio::test]
async fn every_sample_event_runs_through_the_real_sdk_without_a_refusal() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let function = sdk_function(&simulator, &test_config());
    for name in sample_event_names() {
        let _ = run(&function, sample_event(&name)).await;
    }
    let refused: Vec<String> = simulator
        .journal()
        .iter()
        .filter(|e| {
            !matches!(
                e.outcome,
                Outcome::Started { .. } | Outcome::Replayed { .. }
            )
        })
        .map(|e| e.outcome.to_string())
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(simulator.contacts().len() >= 10);
}

mod property {
    //! Generated requests in both forms: whatever the function accepts, Connect accepts.

    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;

    fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('a'),
                Just('Z'),
                Just('7'),
                Just('é'),
                Just(' '),
                Just('-')
            ],
            min..=max,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    /// Attribute keys: mostly the letters, digits, `-` and `_` Connect allows, sometimes not.
    fn key(min: usize, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                8 => Just('a'),
                4 => Just('Z'),
                4 => Just('7'),
                4 => Just('_'),
                4 => Just('-'),
                1 => Just('é'),
                1 => Just(' ')
            ],
            min..=max,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn number() -> impl Strategy<Value = String> {
        (
            1u8..=9,
            proptest::collection::vec(0u8..=9, 1..=14),
            prop::bool::ANY,
        )
            .prop_map(|(first, rest, spaced)| {
                let digits: String = std::iter::once(first)
                    .chain(rest)
                    .map(|d| char::from(b'0' + d))
                    .collect();
                if spaced && digits.len() > 4 {
                    format!("+{} {}-{}", &digits[..1], &digits[1..3], &digits[3..])
                } else {
                    format!("+{digits}")
                }
            })
    }

    fn content() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            ("text/plain", 1usize..=1024),
            ("text/markdown", 1usize..=1024),
            ("application/json", 1usize..=12_000),
            (
                "application/vnd.amazonaws.connect.message.interactive.response",
                1usize..=12_288
            ),
        ]
        .prop_flat_map(|(t, max)| {
            (
                Just(t.to_string()),
                text(1, max.min(64)),
                prop::bool::ANY,
                Just(max),
            )
        })
        .prop_map(|(t, body, at_max, max)| {
            // At the limit: the character limit in ASCII, or the byte limit in "€" (3 bytes).
            let full = if max > 5_461 {
                "€".repeat(5_461)
            } else {
                "x".repeat(max)
            };
            (t, if at_max { full } else { body })
        })
    }

    /// A request in the friendly form, valid or slightly off.
    fn friendly() -> impl Strategy<Value = Value> {
        (
            prop::bool::ANY,
            number(),
            prop::option::of(content()),
            prop::option::of((text(1, 20), text(1, 20), proptest::collection::btree_map(text(1, 10), text(0, 20), 0..3))),
            proptest::collection::btree_map(key(0, 12), text(0, 30), 0..3),
            prop::option::of(50i64..=10_100),
            prop::option::of(text(0, 260)),
            prop::option::of(text(1, 40)),
            prop::option::of(key(0, 40)),
            prop::option::of(prop::sample::subsequence(
                vec!["text/plain", "text/markdown", "application/json", "application/vnd.amazonaws.connect.message.interactive"],
                1..=4,
            )),
        )
            .prop_map(|(whatsapp, to, message, template, attributes, duration, display, token, related, types)| {
                let mut r = Map::new();
                r.insert("channel".into(), json!(if whatsapp { "WHATSAPP" } else { "sms" }));
                r.insert("to".into(), json!(to));
                if let Some((content_type, content)) = message {
                    r.insert("message".into(), json!({"content": content, "contentType": content_type}));
                }
                if let Some((kb, id, custom)) = template {
                    r.insert("template".into(), json!({"knowledgeBaseId": kb, "messageTemplateId": id, "customAttributes": custom, "customerProfileAttributes": {"profile": {"FirstName": "Ana"}}}));
                }
                r.insert("attributes".into(), json!(attributes));
                if let Some(d) = duration {
                    r.insert("chatDurationInMinutes".into(), json!(d));
                }
                if let Some(d) = display {
                    r.insert("displayName".into(), json!(d));
                }
                if let Some(t) = token {
                    r.insert("clientToken".into(), json!(t));
                }
                if let Some(related) = related {
                    r.insert("relatedContactId".into(), json!(related));
                }
                if let Some(types) = types {
                    r.insert("supportedMessagingContentTypes".into(), json!(types));
                }
                Value::Object(r)
            })
    }

    /// The same space in the native form.
    fn native() -> impl Strategy<Value = Value> {
        friendly().prop_map(|f| {
            let whatsapp = f["channel"] == "WHATSAPP";
            let mut r = json!({
                "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": f["to"]},
                "SegmentAttributes": {"connect:Subtype": {"ValueString": if whatsapp { "connect:WhatsApp" } else { "connect:SMS" }},
                                      "campaign_id": {"ValueString": "c-1"}},
                "Attributes": f["attributes"],
            });
            if let Some(m) = f.get("message") {
                r["InitialSystemMessage"] = json!({"ContentType": m["contentType"], "Content": m["content"]});
            }
            if let Some(t) = f.get("template") {
                r["InitialTemplatedSystemMessage"] = json!({
                    "KnowledgeBaseId": t["knowledgeBaseId"], "MessageTemplateId": t["messageTemplateId"],
                    "TemplateAttributes": {"CustomAttributes": t["customAttributes"], "CustomerProfileAttributes": "{\"profile\":{}}"}
                });
            }
            for (from, to) in [("chatDurationInMinutes", "ChatDurationInMinutes"), ("clientToken", "ClientToken"), ("relatedContactId", "RelatedContactId"), ("supportedMessagingContentTypes", "SupportedMessagingContentTypes")] {
                if let Some(v) = f.get(from) {
                    r[to] = v.clone();
                }
            }
            if let Some(d) = f.get("displayName") {
                r["ParticipantDetails"] = json!({"DisplayName": d});
            }
            r
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn connect_accepts_every_request_the_function_accepts(request in prop_oneof![friendly(), native()]) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let parsed = Intake::from_config(&test_config()).admit_value(request.clone(), None);
                let Ok(chat) = parsed else { return Ok(()) };
                let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
                let result = sdk_starter(&simulator).start_contact(&chat).await;
                let journal = simulator.journal();
                prop_assert!(result.is_ok(), "refused: {:?} for {}", journal.last().map(|e| e.outcome.to_string()), request);
                Ok(())
            })?;
        }
    }

    #[test]
    fn the_generators_produce_requests_the_function_accepts() {
        // Guards the property above against testing nothing: most generated requests must pass.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut accepted = 0;
        for _ in 0..200 {
            let request = prop_oneof![friendly(), native()]
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let ok = Intake::from_config(&test_config())
                .admit_value(request, None)
                .is_ok();
            accepted += usize::from(ok);
        }
        assert!(
            accepted >= 40,
            "only {accepted} of 200 generated requests were valid"
        );
    }

    use proptest::strategy::ValueTree;
}
