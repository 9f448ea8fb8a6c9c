//! EventBridge events and direct invocations: the contact id, or a typed error per kind.

use outbound_chat::StartError;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_eventbridge_event_answers_its_contact_id() {
    let function = function();
    let answer = invoke(&function, sample_event("eventbridge.json"))
        .await
        .unwrap();
    assert!(
        answer["contactId"]
            .as_str()
            .unwrap()
            .starts_with("contact-")
    );
    let calls = function.connect().calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].channel(),
        outbound_chat::testing::Channel::WhatsApp
    );
}

#[tokio::test]
async fn eventbridge_failures_return_each_typed_error_kind() {
    let cases: Vec<(&str, Option<StartError>, serde_json::Value)> = vec![
        ("ValidationError", None, json!({"to": "not a number"})),
        (
            "Expired",
            None,
            json!({"to": "+14255550100", "expiresAt": "2020-01-01T00:00:00Z"}),
        ),
        (
            "Throttled",
            Some(throttled()),
            json!({"to": "+14255550100"}),
        ),
        (
            "Throttled",
            Some(StartError::QuotaExceeded {
                message: "chats".into(),
            }),
            json!({"to": "+14255550100"}),
        ),
        ("Rejected", Some(rejected()), json!({"to": "+14255550100"})),
        (
            "Rejected",
            Some(StartError::Conflict {
                message: "state".into(),
            }),
            json!({"to": "+14255550100"}),
        ),
        (
            "Unavailable",
            Some(transient()),
            json!({"to": "+14255550100"}),
        ),
    ];
    for (kind, script, detail) in cases {
        let function = function();
        if let Some(err) = script {
            function
                .connect()
                .script("+14255550100", Script::Always(err));
        }
        let mut event = sample_event("eventbridge.json");
        event["detail"] = detail.clone();
        let err = invoke(&function, event).await.unwrap_err();
        assert_eq!(err.error_type(), kind, "{detail}: {err}");
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, kind);
    }
}

#[tokio::test]
async fn eventbridge_tokens_derive_from_the_event_id() {
    let token_for = |id: &'static str| async move {
        let function = function();
        let mut event = sample_event("eventbridge.json");
        event["id"] = json!(id);
        invoke(&function, event).await.unwrap();
        function.connect().calls()[0]
            .client_token()
            .unwrap()
            .clone()
    };
    assert_eq!(token_for("event-1").await, token_for("event-1").await);
    assert_ne!(token_for("event-1").await, token_for("event-2").await);
}

#[tokio::test]
async fn a_direct_invocation_in_the_native_form_starts_the_contact_it_describes() {
    let function = function();
    let answer = invoke(&function, sample_event("direct-invoke-native.json"))
        .await
        .unwrap();
    assert!(answer["contactId"].is_string());
    let chat = &function.connect().calls()[0];
    assert_eq!(
        chat.client_token().unwrap().as_str(),
        "order-A-1002-out-for-delivery"
    );
    assert_eq!(chat.chat_duration().unwrap().minutes(), 180);
    assert_eq!(chat.destination().e164(), "+14255550104");
}

#[tokio::test]
async fn a_direct_invocation_without_a_token_derives_one_from_the_request_id() {
    let function = function();
    invoke(&function, json!({"to": "+14255550100"}))
        .await
        .unwrap();
    let again = helpers_function_token().await;
    assert_eq!(
        function.connect().calls()[0].client_token().unwrap(),
        &again
    );
}

async fn helpers_function_token() -> outbound_chat::testing::ClientToken {
    let function = function();
    invoke(&function, json!({"to": "+14255550100"}))
        .await
        .unwrap();
    function.connect().calls()[0]
        .client_token()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_unrecognized_event_gets_an_error_naming_the_accepted_shapes() {
    let function = function();
    let err = invoke(&function, json!({"Records": [{"eventSource": "aws:s3"}]}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "UnrecognizedEvent");
    let message = err.to_string();
    for shape in [
        "SQS",
        "EventBridge",
        "REST",
        "HTTP API",
        "Function URL",
        "DestinationEndpoint",
    ] {
        assert!(message.contains(shape), "{message} names {shape}");
    }
}
