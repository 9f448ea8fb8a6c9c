//! API Gateway REST, HTTP API and Function URL requests: routes, statuses, batch answers.

use outbound_chat::StartError;
use serde_json::{Value, json};

use crate::support::*;

fn status(answer: &Value) -> i64 {
    answer["statusCode"].as_i64().unwrap()
}

#[tokio::test]
async fn a_rest_api_request_answers_200_with_the_contact_id() {
    let function = function();
    let answer = invoke(&function, sample_event("apigw-rest-single.json"))
        .await
        .unwrap();
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(http_body(&answer)["contactId"].is_string());
    assert_eq!(answer["headers"]["content-type"], "application/json");
    // The request's own clientToken wins over the Idempotency-Key header.
    assert_eq!(
        function.connect().calls()[0]
            .client_token()
            .unwrap()
            .as_str(),
        "visit-2026-11-24-0105"
    );
}

#[tokio::test]
async fn an_http_api_request_answers_200_and_derives_its_token_from_the_idempotency_key() {
    let first = function();
    let answer = invoke(&first, sample_event("apigw-http-single.json"))
        .await
        .unwrap();
    assert_eq!(status(&answer), 200, "{answer}");
    let second = function();
    invoke(&second, sample_event("apigw-http-single.json"))
        .await
        .unwrap();
    let token = |f: &TestFunction| f.connect().calls()[0].client_token().cloned();
    assert_eq!(token(&first), token(&second));
    assert!(token(&first).is_some());
}

#[tokio::test]
async fn a_function_url_request_with_a_base64_body_is_decoded_and_sent() {
    let function = function();
    let answer = invoke(&function, sample_event("function-url-base64.json"))
        .await
        .unwrap();
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(function.connect().called_numbers(), ["+14255550112"]);
}

#[tokio::test]
async fn the_batch_route_answers_in_the_batch_put_contact_shape() {
    let function = function();
    let answer = invoke(&function, sample_event("apigw-http-batch.json"))
        .await
        .unwrap();
    assert_eq!(status(&answer), 200, "{answer}");
    let body = http_body(&answer);
    let ids = |list: &str| -> Vec<String> {
        body[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["RequestIdentifier"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("SuccessfulRequestList"), ["reminder-1", "reminder-2"]);
    assert_eq!(ids("FailedRequestList"), ["reminder-3", "reminder-4"]);
    let codes: Vec<&str> = body["FailedRequestList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["FailureReasonCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["INVALID_CUSTOMER_ENDPOINT", "EXPIRED"]);
    assert!(body["SuccessfulRequestList"][0]["ContactId"].is_string());
}

#[tokio::test]
async fn batch_items_without_identifiers_are_named_by_their_index() {
    let function = function();
    let mut event = sample_event("apigw-http-batch.json");
    event["body"] = json!(json!({"requests": [{"to": "+14255550100"}, {"to": "bad"}]}).to_string());
    let body = http_body(&invoke(&function, event).await.unwrap());
    assert_eq!(body["SuccessfulRequestList"][0]["RequestIdentifier"], "0");
    assert_eq!(body["FailedRequestList"][0]["RequestIdentifier"], "1");
}

#[tokio::test]
async fn batch_item_failure_codes_follow_batch_put_contact() {
    let function = function();
    let connect = function.connect();
    connect.script("+14255550201", Script::Always(throttled()));
    connect.script("+14255550202", Script::Always(transient()));
    connect.script(
        "+14255550203",
        Script::Always(StartError::Conflict {
            message: "c".into(),
        }),
    );
    connect.script("+14255550204", Script::Always(rejected()));
    let requests = json!({"requests": [
        {"requestIdentifier": "no-to"},
        {"requestIdentifier": "bad-from", "to": "+14255550200", "from": "arn:nope"},
        {"requestIdentifier": "bad-key", "to": "+14255550200", "attributes": {"": "x"}},
        {"requestIdentifier": "bad-other", "to": "+14255550200", "chatDurationInMinutes": 5},
        {"requestIdentifier": "throttled", "to": "+14255550201"},
        {"requestIdentifier": "transient", "to": "+14255550202"},
        {"requestIdentifier": "conflict", "to": "+14255550203"},
        {"requestIdentifier": "rejected", "to": "+14255550204"},
    ]});
    let mut event = sample_event("apigw-http-batch.json");
    event["body"] = json!(requests.to_string());
    let body = http_body(&invoke(&function, event).await.unwrap());
    let codes: Vec<(String, String)> = body["FailedRequestList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["RequestIdentifier"].as_str().unwrap().into(),
                e["FailureReasonCode"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("no-to", "MISSING_CUSTOMER_ENDPOINT"),
        ("bad-from", "INVALID_SYSTEM_ENDPOINT"),
        ("bad-key", "INVALID_ATTRIBUTE_KEY"),
        ("bad-other", "INVALID_REQUEST"),
        ("throttled", "REQUEST_THROTTLED"),
        ("transient", "INTERNAL_ERROR"),
        ("conflict", "IDEMPOTENCY_EXCEPTION"),
        ("rejected", "REJECTED"),
    ];
    // A throttled item halts the invocation, so items after it may be reported
    // REQUEST_THROTTLED instead of reaching Connect; compare the ones that did not race.
    for (id, code) in expected {
        let got = codes.iter().find(|(i, _)| i == id).map(|(_, c)| c.as_str());
        if id == "throttled" || !["transient", "conflict", "rejected"].contains(&id) {
            assert_eq!(got, Some(code), "{id}");
        } else {
            assert!(
                got == Some(code) || got == Some("REQUEST_THROTTLED"),
                "{id}: {got:?}"
            );
        }
    }
}

/// An HTTP API event for `POST /contacts` with `body`, changed by `edit`.
fn http_event(body: Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut event = sample_event("apigw-http-single.json");
    event["body"] = json!(body.to_string());
    edit(&mut event);
    event
}

#[tokio::test]
async fn each_failure_has_its_http_status() {
    let cases: Vec<(Option<StartError>, Value, i64, Option<&str>)> = vec![
        (None, json!({"to": "+1"}), 400, None),
        (
            None,
            json!({"to": "+14255550100", "expiresAt": "2020-01-01T00:00:00Z"}),
            400,
            None,
        ),
        (
            Some(throttled()),
            json!({"to": "+14255550100"}),
            429,
            Some("1"),
        ),
        (
            Some(StartError::QuotaExceeded {
                message: "q".into(),
            }),
            json!({"to": "+14255550100"}),
            429,
            Some("60"),
        ),
        (Some(rejected()), json!({"to": "+14255550100"}), 502, None),
        (
            Some(transient()),
            json!({"to": "+14255550100"}),
            503,
            Some("5"),
        ),
        (
            Some(StartError::Conflict {
                message: "c".into(),
            }),
            json!({"to": "+14255550100"}),
            409,
            None,
        ),
    ];
    for (script, request, expected, retry_after) in cases {
        let function = function();
        if let Some(err) = script {
            function
                .connect()
                .script("+14255550100", Script::Always(err));
        }
        let answer = invoke(&function, http_event(request.clone(), |_| {}))
            .await
            .unwrap();
        assert_eq!(status(&answer), expected, "{request}: {answer}");
        assert_eq!(
            answer["headers"]["retry-after"].as_str(),
            retry_after,
            "{request}"
        );
        assert!(http_body(&answer)["message"].is_string());
    }
}

#[tokio::test]
async fn an_invalid_request_lists_every_violation_with_its_field() {
    let function = function();
    let request =
        json!({"to": "0100", "chatDurationInMinutes": 1, "template": {"knowledgeBaseId": ""}});
    let answer = invoke(&function, http_event(request, |_| {}))
        .await
        .unwrap();
    assert_eq!(status(&answer), 400);
    let fields: Vec<String> = http_body(&answer)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for field in [
        "to",
        "chatDurationInMinutes",
        "template.knowledgeBaseId",
        "template.messageTemplateId",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
}

#[tokio::test]
async fn routes_methods_media_types_and_sizes_get_their_statuses() {
    let ok = json!({"to": "+14255550100"});
    let cases: Vec<(&str, Value, i64)> = vec![
        (
            "other route",
            http_event(ok.clone(), |e| e["rawPath"] = json!("/messages")),
            404,
        ),
        (
            "GET",
            http_event(ok.clone(), |e| {
                e["requestContext"]["http"]["method"] = json!("GET")
            }),
            405,
        ),
        (
            "form body",
            http_event(ok.clone(), |e| {
                e["headers"]["content-type"] = json!("application/x-www-form-urlencoded")
            }),
            415,
        ),
        (
            "json with charset",
            http_event(ok.clone(), |e| {
                e["headers"]["content-type"] = json!("application/json; charset=utf-8")
            }),
            200,
        ),
        (
            "too large",
            http_event(
                json!({"to": "+14255550100", "attributes": {"k": "v".repeat(300 * 1024)}}),
                |_| {},
            ),
            413,
        ),
        (
            "not json",
            http_event(ok.clone(), |e| e["body"] = json!("to=+14255550100")),
            400,
        ),
        (
            "named stage",
            http_event(ok.clone(), |e| {
                e["rawPath"] = json!("/prod/contacts");
                e["requestContext"]["stage"] = json!("prod");
            }),
            200,
        ),
        (
            "bad base64",
            http_event(ok.clone(), |e| e["isBase64Encoded"] = json!(true)),
            400,
        ),
    ];
    for (name, event, expected) in cases {
        let function = function();
        let answer = invoke(&function, event).await.unwrap();
        assert_eq!(status(&answer), expected, "{name}: {answer}");
        assert!(http_body(&answer).is_object(), "{name}: the body is JSON");
        if expected == 405 {
            assert_eq!(answer["headers"]["allow"], "POST");
        }
        if expected != 200 {
            assert!(
                function.connect().calls().is_empty(),
                "{name} touched Connect"
            );
        }
    }
}

#[tokio::test]
async fn a_batch_over_twenty_five_items_is_refused_whole() {
    let function = function();
    let items: Vec<Value> = (0..26).map(|_| json!({"to": "+14255550100"})).collect();
    let mut event = sample_event("apigw-http-batch.json");
    event["body"] = json!(json!({"requests": items}).to_string());
    let answer = invoke(&function, event).await.unwrap();
    assert_eq!(status(&answer), 400);
    assert_eq!(http_body(&answer)["errors"][0]["field"], "requests");
    assert!(function.connect().calls().is_empty());
}

#[tokio::test]
async fn batch_items_with_the_same_identifier_are_refused() {
    let function = function();
    let mut event = sample_event("apigw-http-batch.json");
    event["body"] = json!(json!({"requests": [{"requestIdentifier": "a", "to": "+14255550100"}, {"requestIdentifier": "a", "to": "+14255550101"}]}).to_string());
    let answer = invoke(&function, event).await.unwrap();
    assert_eq!(status(&answer), 400);
    assert!(function.connect().calls().is_empty());
}

#[tokio::test]
async fn a_rest_api_answer_for_an_unknown_route_is_404() {
    let function = function();
    let mut event = sample_event("apigw-rest-single.json");
    event["path"] = json!("/unknown");
    let answer = invoke(&function, event).await.unwrap();
    assert_eq!(status(&answer), 404);
}
