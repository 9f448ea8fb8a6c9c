//! What an SMS costs: every answer that carries a started SMS's contact id carries its encoding
//! and segments, `SMS_MAX_SEGMENTS` refuses a longer text before Connect is called, and
//! `SMS_SMART_ENCODING` sends typographic characters as their GSM-7 look-alikes.

use serde_json::{Value, json};

use crate::support::*;

fn sms(content: &str) -> Value {
    json!({"to": "+14255550100", "message": {"content": content}})
}

#[tokio::test]
async fn a_direct_answer_gives_the_encoding_and_the_segments_at_each_boundary() {
    let gsm = |n: usize| "a".repeat(n);
    let ucs = |n: usize| format!("ç{}", "a".repeat(n - 1));
    // (request, encoding, segments)
    let cases = [
        (sms(&gsm(160)), Some("GSM-7"), Some(1)),
        (sms(&gsm(161)), Some("GSM-7"), Some(2)),
        (sms(&gsm(306)), Some("GSM-7"), Some(2)),
        (sms(&gsm(307)), Some("GSM-7"), Some(3)),
        (sms(&format!("{}{{", gsm(158))), Some("GSM-7"), Some(1)),
        (sms(&format!("{}{{", gsm(159))), Some("GSM-7"), Some(2)),
        (sms(&ucs(70)), Some("UCS-2"), Some(1)),
        (sms(&ucs(71)), Some("UCS-2"), Some(2)),
        (sms(&ucs(134)), Some("UCS-2"), Some(2)),
        (sms(&ucs(135)), Some("UCS-2"), Some(3)),
        (sms("Your table is ready 🍽"), Some("UCS-2"), Some(1)),
        // A template's text is Connect's: its cost is not known here.
        (
            json!({"to": "+14255550100", "template": {"knowledgeBaseId": "kb", "messageTemplateId": "t"}}),
            None,
            None,
        ),
        (
            json!({"channel": "WHATSAPP", "to": "+14255550100", "message": {"content": "hi"}, "relatedContactId": "c-1"}),
            None,
            None,
        ),
    ];
    let function = function();
    for (request, encoding, segments) in cases {
        let answer = invoke(&function, request.clone()).await.unwrap();
        assert!(answer["contactId"].is_string(), "{answer}");
        assert_eq!(answer["encoding"].as_str(), encoding, "{request}");
        assert_eq!(answer["segments"].as_u64(), segments, "{request}");
    }
}

#[tokio::test]
async fn sms_max_segments_refuses_a_longer_text_with_its_count_and_sends_one_at_the_limit() {
    let function = TestFunction::new(
        FakeConnect::default(),
        &config_with(&[("SMS_MAX_SEGMENTS", "2")]),
    );
    let at_limit = invoke(&function, sms(&"a".repeat(306))).await.unwrap();
    assert_eq!(at_limit["segments"], 2);
    let err = invoke(&function, sms(&"a".repeat(307))).await.unwrap_err();
    assert_eq!(err.error_type(), "ValidationError");
    let text = err.to_string();
    assert!(text.contains("takes 3 SMS segments in GSM-7"), "{text}");
    assert!(text.contains("at most 2"), "{text}");
    assert_eq!(function.connect().calls().len(), 1);
    // WhatsApp text is no SMS: the limit does not bind it.
    let whatsapp = json!({"channel": "WHATSAPP", "to": "+14255550100",
        "message": {"content": "a".repeat(400)}, "relatedContactId": "c-1"});
    assert!(invoke(&function, whatsapp).await.is_ok());
}

#[tokio::test]
async fn an_http_answer_gives_the_cost_and_a_batch_refuses_with_too_many_segments() {
    let function = TestFunction::new(
        FakeConnect::default(),
        &config_with(&[("SMS_MAX_SEGMENTS", "1")]),
    );
    let mut single = sample_event("apigw-http-single.json");
    single["body"] = sms("Your order has shipped.").to_string().into();
    let answer = invoke(&function, single.clone()).await.unwrap();
    let body = http_body(&answer);
    assert_eq!(
        (body["encoding"].as_str(), body["segments"].as_u64()),
        (Some("GSM-7"), Some(1))
    );

    single["body"] = sms(&"a".repeat(161)).to_string().into();
    let answer = invoke(&function, single).await.unwrap();
    assert_eq!(answer["statusCode"], 400);
    let body = http_body(&answer);
    assert_eq!(body["errors"][0]["field"], "message.content");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("takes 2 SMS segments")
    );

    let mut batch = sample_event("apigw-http-batch.json");
    batch["body"] = json!({"requests": [
        {"requestIdentifier": "short", "to": "+14255550101", "message": {"content": "Hi"}},
        {"requestIdentifier": "long", "to": "+14255550102", "message": {"content": "a".repeat(161)}},
    ]})
    .to_string()
    .into();
    let body = http_body(&invoke(&function, batch).await.unwrap());
    assert_eq!(body["SuccessfulRequestList"][0]["Encoding"], "GSM-7");
    assert_eq!(body["SuccessfulRequestList"][0]["Segments"], 1);
    assert_eq!(body["FailedRequestList"][0]["RequestIdentifier"], "long");
    assert_eq!(
        body["FailedRequestList"][0]["FailureReasonCode"],
        "TOO_MANY_SEGMENTS"
    );
}

#[tokio::test]
async fn smart_encoding_sends_typographic_characters_as_their_gsm_look_alikes() {
    let typographic = "“Hi” – it’s ready…";
    // (SMS_SMART_ENCODING, text sent, encoding)
    let cases = [
        ("true", "\"Hi\" - it's ready...", "GSM-7"),
        ("false", typographic, "UCS-2"),
    ];
    for (smart, sent, encoding) in cases {
        let function = TestFunction::new(
            FakeConnect::default(),
            &config_with(&[("SMS_SMART_ENCODING", smart)]),
        );
        let answer = invoke(&function, sms(typographic)).await.unwrap();
        assert_eq!(answer["encoding"], encoding, "{smart}");
        let calls = function.connect().calls();
        let text = calls[0].initial_message().and_then(|m| m.text());
        assert_eq!(text, Some(sent), "{smart}");
    }
    // WhatsApp text is never rewritten.
    let function = TestFunction::new(
        FakeConnect::default(),
        &config_with(&[("SMS_SMART_ENCODING", "true")]),
    );
    let whatsapp = json!({"channel": "WHATSAPP", "to": "+14255550100",
        "message": {"content": typographic}, "relatedContactId": "c-1"});
    invoke(&function, whatsapp).await.unwrap();
    let calls = function.connect().calls();
    assert_eq!(
        calls[0].initial_message().and_then(|m| m.text()),
        Some(typographic)
    );
}

#[tokio::test]
async fn the_cost_rules_are_checked_at_cold_start() {
    for (name, value) in [
        ("SMS_MAX_SEGMENTS", "0"),
        ("SMS_MAX_SEGMENTS", "21"),
        ("SMS_MAX_SEGMENTS", "two"),
        ("SMS_SMART_ENCODING", "yes"),
        ("REQUEUE_MAX_HOURS", "0"),
        ("REQUEUE_MAX_HOURS", "337"),
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "0.009"),
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "1e-300"),
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "100001"),
    ] {
        let err = outbound_chat::Config::from_lookup(|n| (n == name).then(|| value.to_owned()))
            .unwrap_err();
        assert_eq!(err.variable, name, "{name}={value}");
    }
    for (name, value) in [
        ("SMS_MAX_SEGMENTS", "1"),
        ("SMS_MAX_SEGMENTS", "20"),
        ("SMS_SMART_ENCODING", "TRUE"),
        ("REQUEUE_MAX_HOURS", "1"),
        ("REQUEUE_MAX_HOURS", "336"),
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "0.01"),
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "100000"),
    ] {
        let config = outbound_chat::Config::from_lookup(|n| (n == name).then(|| value.to_owned()));
        assert!(config.is_ok(), "{name}={value}: {config:?}");
    }
}
