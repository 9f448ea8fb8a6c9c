//! The send window through the whole function: each trigger's deferral answer, a deferred SQS
//! record coming back at the opening and starting exactly one contact, expiry before the
//! opening, categories the window does not bind, and refusals. The SQS calls go to moto's SQS
//! (a real server on the wire); "now" comes from a manual clock.

use std::sync::Arc;
use std::time::Duration;

use outbound_chat::FunctionError;
use outbound_chat::adapters::SdkRequestQueue;
use outbound_chat::testing::ManualClock;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::sqs::{Sqs, sms, sqs_event};
use crate::support::*;

/// The window of these tests; +1 425 numbers are in Los Angeles (UTC-8 in November).
const WINDOW: (&str, &str) = ("SEND_WINDOW", "Mon-Fri 08:00-21:00");
/// Monday 30 November 2026, 03:00 in Los Angeles.
const NIGHT: &str = "2026-11-30T11:00:00Z";
/// Two seconds before the window opens that Monday (08:00 in Los Angeles).
const JUST_BEFORE: &str = "2026-11-30T15:59:58Z";
const OPENING: &str = "2026-11-30T16:00:00Z";
/// Half a second before the window closes that Monday (21:00 in Los Angeles), and just after.
const BEFORE_CLOSING: &str = "2026-12-01T04:59:59.5Z";
const AFTER_CLOSING: &str = "2026-12-01T05:00:01Z";
const AFTER_OPENING: &str = "2026-11-30T16:00:01Z";

fn at(rfc3339: &str) -> jiff::Timestamp {
    rfc3339.parse().unwrap()
}

/// A function with the window (and `extra` variables), its clock set to `now`, and the queue
/// port when given.
fn windowed(
    extra: &[(&str, &str)],
    now: &str,
    queue: Option<Arc<SdkRequestQueue>>,
) -> (TestFunction, Arc<ManualClock>) {
    let mut vars = vec![WINDOW];
    vars.extend_from_slice(extra);
    let clock = Arc::new(ManualClock::new(at(now)));
    let function = TestFunction::new(FakeConnect::default(), &config_with(&vars)).map(|f| {
        let f = f.with_clock(Arc::clone(&clock) as _);
        match queue {
            Some(queue) => f.with_queue(queue),
            None => f,
        }
    });
    (function, clock)
}

async fn invoke_as(
    function: &TestFunction,
    event: Value,
    request_id: &str,
) -> Result<Value, FunctionError> {
    function
        .handle(event, request_id, Instant::now() + Duration::from_secs(60))
        .await
}

fn tokens(function: &TestFunction) -> Vec<String> {
    function
        .connect()
        .calls()
        .iter()
        .map(|c| c.client_token().expect("a token").as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn a_deferred_sqs_record_reappears_at_the_opening_and_starts_exactly_one_contact() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    sqs.send(&url, &sms("+14255550100"), None).await;
    let received = sqs.receive(&url, 0).await;
    let (function, clock) = windowed(&[], JUST_BEFORE, Some(sqs.queue_port()));

    let answer = invoke(&function, sqs_event("requests", &received))
        .await
        .unwrap();
    let message_id = received[0].message_id.clone().unwrap();
    assert_eq!(failed_ids(&answer), std::slice::from_ref(&message_id));
    assert!(function.connect().calls().is_empty());
    // Hidden until the opening: not there now, there again two seconds later.
    assert!(sqs.receive(&url, 0).await.is_empty());
    let again = sqs.receive(&url, 5).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id.as_deref(), Some(message_id.as_str()));

    clock.set(at(AFTER_OPENING));
    let answer = invoke(&function, sqs_event("requests", &again))
        .await
        .unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    // The token the record would have had without a window.
    let unwindowed = self::function();
    invoke(&unwindowed, sqs_event("requests", &again))
        .await
        .unwrap();
    assert_eq!(tokens(&function), tokens(&unwindowed));
    assert_eq!(tokens(&function).len(), 1);
}

#[tokio::test]
async fn a_window_that_closes_while_a_request_waits_for_its_slot_holds_it_instead_of_sending() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    sqs.send(&url, &sms("+14255550100"), None).await;
    sqs.send(&url, &sms("+14255550101"), None).await;
    let received = sqs.receive(&url, 0).await;
    assert_eq!(received.len(), 2);
    // One call a second: both pass the window at 20:59:59.5, the second waits a second for
    // its pacing slot, and quiet hours begin meanwhile.
    let pacing = [
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "1"),
        ("CONNECT_PACING", "fixed"),
    ];
    let (function, clock) = windowed(&pacing, BEFORE_CLOSING, Some(sqs.queue_port()));
    let closing = {
        let clock = Arc::clone(&clock);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            clock.set(at(AFTER_CLOSING));
        })
    };
    let answer = invoke(&function, sqs_event("requests", &received))
        .await
        .unwrap();
    closing.await.unwrap();
    assert_eq!(
        function.connect().calls().len(),
        1,
        "one text before 21:00 only"
    );
    let sent = function.connect().called_numbers()[0].clone();
    let held: Vec<String> = received
        .iter()
        .filter(|m| !m.body.as_deref().unwrap_or_default().contains(&sent))
        .map(|m| m.message_id.clone().unwrap())
        .collect();
    // Held in its queue until 08:00 (reported, hidden), not failed for good.
    assert_eq!(failed_ids(&answer), held);
    assert!(
        sqs.receive(&url, 1).await.is_empty(),
        "hidden until the opening"
    );
}

#[tokio::test]
async fn a_fifo_group_waits_behind_its_deferred_record_in_order() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests.fifo").await;
    sqs.send(&url, &sms("+14255550100"), Some("customer-a"))
        .await;
    sqs.send(&url, &sms("+14255550101"), Some("customer-a"))
        .await;
    let received = sqs.receive(&url, 0).await;
    assert_eq!(received.len(), 2);
    let (function, _) = windowed(&[], NIGHT, Some(sqs.queue_port()));
    let answer = invoke(&function, sqs_event("requests.fifo", &received))
        .await
        .unwrap();
    let ids: Vec<String> = received
        .iter()
        .filter_map(|m| m.message_id.clone())
        .collect();
    assert_eq!(failed_ids(&answer), ids);
    assert!(function.connect().calls().is_empty());
}

#[tokio::test]
async fn a_deferred_direct_invocation_waits_in_the_request_queue_with_its_token() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let queue_var = [("REQUEST_QUEUE_URL", url.as_str())];
    let (function, clock) = windowed(&queue_var, JUST_BEFORE, Some(sqs.queue_port()));
    let request_id = "0d6c4b1e-0000-4000-8000-0000000000d1";

    let answer = invoke_as(&function, sms("+14255550100"), request_id)
        .await
        .unwrap();
    assert_eq!(answer, json!({"status": "DEFERRED", "notBefore": OPENING}));
    assert!(
        sqs.receive(&url, 0).await.is_empty(),
        "delayed until the opening"
    );
    let queued = sqs.receive(&url, 5).await;
    assert_eq!(queued.len(), 1);

    clock.set(at(AFTER_OPENING));
    let answer = invoke(&function, sqs_event("requests", &queued))
        .await
        .unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    // The contact a direct send would have started: the same token.
    let unwindowed = self::function();
    invoke_as(&unwindowed, sms("+14255550100"), request_id)
        .await
        .unwrap();
    assert_eq!(tokens(&function), tokens(&unwindowed));
}

#[tokio::test]
async fn eventbridge_and_http_answers_say_deferred_with_the_opening() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let queue_var = [("REQUEST_QUEUE_URL", url.as_str())];
    let (function, _) = windowed(&queue_var, NIGHT, Some(sqs.queue_port()));

    let event = json!({"id": "e-1", "detail-type": "Outbound Chat Requested", "source": "app",
        "detail": sms("+14255550100")});
    let answer = invoke(&function, event).await.unwrap();
    assert_eq!(answer, json!({"status": "DEFERRED", "notBefore": OPENING}));

    let answer = invoke(&function, http_event("/contacts", &sms("+14255550100")))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 202);
    assert_eq!(
        http_body(&answer),
        json!({"status": "DEFERRED", "notBefore": OPENING})
    );
    assert!(function.connect().calls().is_empty());
    let attributes = sqs
        .client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed = attributes.attributes.unwrap_or_default();
    assert_eq!(
        delayed
            .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .map(String::as_str),
        Some("2")
    );
}

#[tokio::test]
async fn an_http_batch_lists_deferred_items_apart_and_the_window_spares_transactional_ones() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let vars = [
        ("REQUEST_QUEUE_URL", url.as_str()),
        ("SEND_WINDOW_CATEGORIES", "PROMOTIONAL"),
    ];
    let (function, _) = windowed(&vars, NIGHT, Some(sqs.queue_port()));
    let mut promotional = sms("+14255550100");
    promotional["category"] = "PROMOTIONAL".into();
    promotional["requestIdentifier"] = "promo".into();
    let mut transactional = sms("+14255550101");
    transactional["requestIdentifier"] = "reminder".into();
    let invalid = json!({"to": "+1", "requestIdentifier": "broken"});
    let batch = json!({"requests": [promotional, transactional, invalid]});

    let answer = invoke(&function, http_event("/contacts/batch", &batch))
        .await
        .unwrap();
    let body = http_body(&answer);
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(
        body["DeferredRequestList"],
        json!([{"RequestIdentifier": "promo", "NotBefore": OPENING}])
    );
    assert_eq!(
        body["SuccessfulRequestList"][0]["RequestIdentifier"],
        "reminder"
    );
    assert_eq!(body["FailedRequestList"][0]["RequestIdentifier"], "broken");
    assert_eq!(function.connect().called_numbers(), ["+14255550101"]);
}

#[tokio::test]
async fn without_a_request_queue_a_deferral_is_a_typed_error_naming_the_opening() {
    let (function, _) = windowed(&[], NIGHT, None);
    let err = invoke(&function, sms("+14255550100")).await.unwrap_err();
    assert_eq!(err.error_type(), "OutsideSendWindow");
    assert!(err.to_string().contains(OPENING), "{err}");

    let answer = invoke(&function, http_event("/contacts", &sms("+14255550100")))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 503);
    assert_eq!(http_body(&answer)["code"], "OUTSIDE_SEND_WINDOW");
    assert_eq!(answer["headers"]["retry-after"], "18000");
    assert!(function.connect().calls().is_empty());
}

#[tokio::test]
async fn a_request_that_expires_before_the_opening_is_expired_not_deferred() {
    let (function, _) = windowed(&[], NIGHT, None);
    let mut request = sms("+14255550100");
    request["expiresAt"] = "2026-11-30T15:00:00Z".into();
    let err = invoke(&function, request.clone()).await.unwrap_err();
    assert_eq!(err.error_type(), "Expired");
    // Expiring after the opening, it waits (here: for want of a queue, a typed error).
    request["expiresAt"] = "2026-11-30T17:00:00Z".into();
    let err = invoke(&function, request).await.unwrap_err();
    assert_eq!(err.error_type(), "OutsideSendWindow");
}

#[tokio::test]
async fn the_request_time_zone_wins_over_the_number_and_the_default_fills_in_for_an_unknown_one() {
    // 03:00 in Los Angeles is 11:00 in London: inside the window there.
    let (function, _) = windowed(&[], NIGHT, None);
    let mut request = sms("+14255550100");
    request["timeZone"] = "Europe/London".into();
    invoke(&function, request).await.unwrap();
    assert_eq!(function.connect().calls().len(), 1);

    // +800 numbers name no zone: refused, saying how to fix it, unless a default is set.
    let err = invoke(&function, sms("+80012345678")).await.unwrap_err();
    assert_eq!(err.error_type(), "ValidationError");
    assert!(err.to_string().contains("DEFAULT_TIME_ZONE"), "{err}");
    let (function, _) = windowed(&[("DEFAULT_TIME_ZONE", "Europe/Paris")], NIGHT, None);
    invoke(&function, sms("+80012345678")).await.unwrap();
    assert_eq!(function.connect().calls().len(), 1);
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_by_name_in_either_form() {
    let function = function();
    let mut request = sms("+14255550100");
    request["timeZone"] = "Mars/Olympus_Mons".into();
    let err = invoke(&function, request).await.unwrap_err();
    assert!(err.to_string().contains("timeZone"), "{err}");
    let native = json!({
        "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14255550100"},
        "TimeZone": "America/Nowhere",
    });
    let err = invoke(&function, native).await.unwrap_err();
    assert!(err.to_string().contains("TimeZone"), "{err}");
}

#[tokio::test]
async fn inside_the_window_a_request_is_sent_at_once_and_no_queue_is_needed() {
    let (function, _) = windowed(&[], AFTER_OPENING, None);
    let answer = invoke(&function, sms("+14255550100")).await.unwrap();
    assert!(answer["contactId"].is_string(), "{answer}");
}

/// An HTTP API (v2) `POST` of `body` to `path`.
fn http_event(path: &str, body: &Value) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.1", "userAgent": "test"}, "requestId": "r-http",
            "stage": "$default", "routeKey": "$default", "accountId": "123456789012",
            "apiId": "api", "domainName": "example.com", "domainPrefix": "example",
            "time": "30/Nov/2026:11:00:00 +0000", "timeEpoch": 1796036400000u64},
        "body": body.to_string(), "isBase64Encoded": false,
    })
}

#[tokio::test]
async fn a_deferral_is_logged_with_its_opening_but_not_the_number_and_counted_as_deferred() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let queue_var = [("REQUEST_QUEUE_URL", url.as_str())];
    let (function, _) = windowed(&queue_var, NIGHT, Some(sqs.queue_port()));
    let ((logs, _), documents) = outbound_chat::testing::capture_metrics(
        crate::support::logs::with_trace_logs(true, async {
            let _ = invoke(&function, sms("+14255550100")).await;
            String::new()
        }),
    )
    .await;
    let deferred: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["outcome"] == "deferred")
        .collect();
    assert_eq!(deferred.len(), 1, "{logs}");
    assert_eq!(deferred[0]["fields"]["not_before"], OPENING);
    assert!(!logs.contains("4255550100"), "{logs}");
    let counted: Vec<&Value> = documents.iter().map(|d| &d["Deferred"]).collect();
    assert_eq!(counted, [&json!(1)]);
}

/// A window open only on the day after tomorrow (UTC), so that it is closed now.
fn window_closed_now() -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday();
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let day = names[(today.to_monday_zero_offset() as usize + 2) % 7];
    format!("{day} 00:00-24:00")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_hands_a_request_outside_its_window_to_the_request_queue() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let api = lambda_testkit::RuntimeApi::start().await;
    let mut request = sms("+14255550100");
    request["timeZone"] = "UTC".into();
    api.queue([request]);
    let mut environment = crate::support::binary::lambda_environment(
        &api.address(),
        "http://127.0.0.1:9",
        "JSON",
        "INFO",
    );
    environment.extend(
        [
            ("SEND_WINDOW", window_closed_now()),
            ("REQUEST_QUEUE_URL", url.clone()),
            ("AWS_ENDPOINT_URL_SQS", sqs.server.endpoint().to_owned()),
        ]
        .map(|(name, value)| (name.to_owned(), value)),
    );
    let run = crate::support::binary::run_binary(environment, api.wait_for_answers(1)).await;
    let answer: Value = serde_json::from_str(&api.answers()[0].body).unwrap();
    assert_eq!(answer["status"], "DEFERRED", "{}", run.stdout);
    assert!(
        answer["notBefore"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z"),
        "{answer}"
    );
    let attributes = sqs
        .client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    assert_eq!(
        attributes
            .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .map(String::as_str),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_send_window_fails_the_init_phase_naming_the_variable() {
    let api = lambda_testkit::RuntimeApi::start().await;
    let mut environment = crate::support::binary::lambda_environment(
        &api.address(),
        "http://127.0.0.1:9",
        "JSON",
        "INFO",
    );
    environment.insert("SEND_WINDOW_SMS".into(), "weekdays 9 to 5".into());
    let mut process = crate::support::binary::spawn_bootstrap(environment);
    let status = tokio::time::timeout(Duration::from_secs(30), process.exit())
        .await
        .expect("the binary exits at init");
    assert!(!status.success());
    let output = process.output();
    assert!(
        output.contains("invalid configuration") && output.contains("SEND_WINDOW_SMS"),
        "{output}"
    );
}

#[tokio::test]
async fn a_deferral_sqs_refuses_is_reported_so_the_request_comes_back() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    let missing = url.replace("/requests", "/no-such-queue");
    let queue_var = [("REQUEST_QUEUE_URL", missing.as_str())];
    let (function, _) = windowed(&queue_var, NIGHT, Some(sqs.queue_port()));
    let err = invoke(&function, sms("+14255550100")).await.unwrap_err();
    assert_eq!(err.error_type(), "Unavailable");
    assert!(err.to_string().contains("could not be held"), "{err}");

    // A record whose receipt handle SQS does not know stays reported, to come back.
    sqs.send(&url, &sms("+14255550100"), None).await;
    let mut received = sqs.receive(&url, 0).await;
    received[0].receipt_handle = Some("not-a-receipt-handle".into());
    let answer = invoke(&function, sqs_event("requests", &received))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer).len(), 1);
    assert!(function.connect().calls().is_empty());
}
