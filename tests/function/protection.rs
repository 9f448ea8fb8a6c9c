//! Recipient protection against a real database (DynamoDB Local): the do-not-contact list on
//! every trigger, frequency caps counted exactly once under redelivery, refusal, expiry and
//! transient failure, the round trips each costs, and DynamoDB failing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use outbound_chat::adapters::DynamoRecipientState;
use outbound_chat::testing::capture_metrics;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::dynamodb::*;
use crate::support::records::{STANDARD_QUEUE, sqs_record};
use crate::support::*;

const LISTED: &str = "+14255550190";
const SMS_ONLY: &str = "+14255550191";
const FREE: &str = "+14255550192";

fn sqs(records: &[(&str, Value)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| sqs_record(STANDARD_QUEUE, id, &body.to_string(), 1, None))
        .collect();
    json!({ "Records": records })
}

fn sms(number: &str) -> Value {
    json!({"to": number, "message": {"content": "Your order shipped"}})
}

fn suppressed(reason: &str) -> Value {
    json!({"status": "SUPPRESSED", "reason": reason})
}

async fn change_list(function: &TestFunction, method: &str, body: Value) -> Value {
    let answer = invoke(function, http_request(method, "/suppressions", &body))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    http_body(&answer)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listed_recipient_is_suppressed_on_every_trigger_and_never_retried() {
    let state = State::start().await;
    let function = state.function(&[]);
    let added = change_list(
        &function,
        "PUT",
        json!({"suppressions": [{"to": LISTED}, {"to": SMS_ONLY, "channel": "SMS"}]}),
    )
    .await;
    assert_eq!(added, json!({"status": "ADDED", "count": 2}));
    state.calls.take();

    let batch = sqs(&[
        ("m-1", sms(LISTED)),
        ("m-2", sms(SMS_ONLY)),
        ("m-3", whatsapp_reminder(SMS_ONLY)),
        ("m-4", sms(FREE)),
    ]);
    let (answer, metrics) = capture_metrics(invoke(&function, batch)).await;
    assert_eq!(failed_ids(&answer.unwrap()), Vec::<String>::new());
    let mut called = function.connect().called_numbers();
    called.sort();
    assert_eq!(called, [SMS_ONLY, FREE]);
    assert_eq!(
        state.calls.take(),
        ["BatchGetItem"],
        "one look-up for the batch"
    );
    let sms_doc = metrics.iter().find(|d| d["Channel"] == "SMS").unwrap();
    assert_eq!(sms_doc["Suppressed.DO_NOT_CONTACT"], 2, "{sms_doc}");
    assert_eq!(sms_doc["RequestsSuppressed"], 2);
    assert_eq!(sms_doc["RequestsFailed"], 0);

    let routed = invoke(&function, eventbridge("e-1", sms(LISTED))).await;
    assert_eq!(routed.unwrap(), suppressed("DO_NOT_CONTACT"));
    let single = invoke(&function, http_request("POST", "/contacts", &sms(LISTED)))
        .await
        .unwrap();
    assert_eq!(single["statusCode"], 200);
    assert_eq!(http_body(&single), suppressed("DO_NOT_CONTACT"));
    let batch = json!({"requests": [sms(LISTED), sms(FREE)]});
    let answer = invoke(&function, http_request("POST", "/contacts/batch", &batch))
        .await
        .unwrap();
    let body = http_body(&answer);
    assert_eq!(
        body["SuppressedRequestList"],
        json!([{"RequestIdentifier": "0", "Reason": "DO_NOT_CONTACT"}])
    );
    assert_eq!(body["SuccessfulRequestList"][0]["RequestIdentifier"], "1");
    assert_eq!(body["FailedRequestList"], json!([]));

    let removed = change_list(&function, "DELETE", json!({"to": LISTED})).await;
    assert_eq!(removed, json!({"status": "REMOVED", "count": 1}));
    let routed = invoke(&function, eventbridge("e-2", sms(LISTED))).await;
    assert!(routed.unwrap()["contactId"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_list_change_is_refused_whole_and_an_unconfigured_list_is_not_found() {
    let state = State::start().await;
    let function = state.function(&[]);
    let body = json!({"suppressions": [{"to": FREE}, {"to": "4255550193", "channel": "FAX"}]});
    let answer = invoke(&function, http_request("PUT", "/suppressions", &body))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let fields: Vec<Value> = http_body(&answer)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, ["suppressions[1].to", "suppressions[1].channel"]);
    assert!(!answer.to_string().contains("4255550193"));
    assert!(state.calls.take().is_empty(), "nothing written");

    let off = function_without_state();
    let answer = invoke(
        &off,
        http_request("PUT", "/suppressions", &json!({"to": FREE})),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 404);
    assert_eq!(http_body(&answer)["code"], "NOT_CONFIGURED");
}

fn function_without_state() -> TestFunction {
    function()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_table_configured_no_state_is_read_or_written() {
    let state = State::start().await;
    let unconfigured = TestFunction::new(FakeConnect::default(), &test_config()).map(|f| {
        f.with_recipient_state(Arc::new(DynamoRecipientState::new(
            state.client.clone(),
            &state.table,
        )))
    });
    let answer = invoke(
        &unconfigured,
        sqs(&[("m-1", promotion(FREE)), ("m-2", sms(FREE))]),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(unconfigured.connect().calls().len(), 2);
    assert!(state.calls.take().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_request_counts_once_and_the_cap_suppresses_the_next() {
    let state = State::start().await;
    let function = state.function(&[("FREQUENCY_CAPS", "2/24h,5/7d")]);
    let first = sqs(&[("m-1", promotion(FREE))]);
    for _ in 0..3 {
        let answer = invoke(&function, first.clone()).await.unwrap();
        assert_eq!(failed_ids(&answer), Vec::<String>::new());
    }
    assert_eq!(
        state.taken(FREE).await,
        1,
        "one place in the recipient's SMS count"
    );
    state.calls.take();
    let answer = invoke(&function, sqs(&[("m-2", promotion(FREE))]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(
        state.calls.take(),
        ["BatchGetItem", "TransactWriteItems"],
        "one look-up for the batch, one round trip to check and reserve"
    );
    let (answer, metrics) =
        capture_metrics(invoke(&function, sqs(&[("m-3", promotion(FREE))]))).await;
    assert_eq!(
        failed_ids(&answer.unwrap()),
        Vec::<String>::new(),
        "suppressed is done"
    );
    assert_eq!(metrics[0]["Suppressed.FREQUENCY_CAP"], 1);
    assert_eq!(
        function.connect().calls().len(),
        4,
        "m-1 three times, m-2 once"
    );
    let counts = state.places(FREE).await;
    let held: Vec<usize> = counts.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(held, [2], "one count, m-1 and m-2");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (sk, _, expires) = &counts[0];
    assert_eq!(sk, "CAPS#SMS");
    let week = 7 * 86_400;
    assert!(
        (now + week - 60..=now + week).contains(expires),
        "{sk} expires with its newest send plus the longest window: {expires}"
    );
    // The full count still lets m-1's redelivery through: it finds its own place.
    let answer = invoke(&function, first).await.unwrap();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(function.connect().calls().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn caps_bind_only_the_configured_categories_and_a_request_without_one_takes_the_default() {
    let state = State::start().await;
    let caps = [("FREQUENCY_CAPS", "1/24h")];
    let transactional = state.function(&caps);
    for (n, request) in [sms(FREE), sms(FREE), whatsapp_reminder(FREE)]
        .into_iter()
        .enumerate()
    {
        let answer = invoke(&transactional, eventbridge(&format!("t-{n}"), request)).await;
        assert!(answer.unwrap()["contactId"].is_string());
    }
    assert_eq!(state.taken(FREE).await, 0);
    let promotional = state.function(&[caps[0], ("DEFAULT_CATEGORY", "PROMOTIONAL")]);
    let first = invoke(&promotional, eventbridge("p-1", sms(FREE))).await;
    assert!(first.unwrap()["contactId"].is_string());
    let second = invoke(&promotional, eventbridge("p-2", sms(FREE))).await;
    assert_eq!(second.unwrap(), suppressed("FREQUENCY_CAP"));
    // Per channel by default: WhatsApp has its own count.
    let mut whatsapp = whatsapp_reminder(FREE);
    whatsapp["category"] = json!("PROMOTIONAL");
    let third = invoke(&promotional, eventbridge("p-3", whatsapp.clone())).await;
    assert!(third.unwrap()["contactId"].is_string());
    // Across channels, the SMS already sent fills the recipient's one place.
    let across = state.function(&[caps[0], ("FREQUENCY_CAP_SCOPE", "recipient")]);
    let fourth = invoke(&across, eventbridge("p-4", promotion(FREE))).await;
    assert!(fourth.unwrap()["contactId"].is_string());
    let fifth = invoke(&across, eventbridge("p-5", whatsapp)).await;
    assert_eq!(fifth.unwrap(), suppressed("FREQUENCY_CAP"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_gives_its_place_back_and_a_transient_failure_keeps_it() {
    let state = State::start().await;
    let function = state.function(&[("FREQUENCY_CAPS", "1/24h")]);
    function.connect().script(FREE, Script::Nth(1, rejected()));
    let refused = invoke(&function, eventbridge("e-1", promotion(FREE))).await;
    assert_eq!(refused.unwrap_err().error_type(), "Rejected");
    assert_eq!(
        state.taken(FREE).await,
        0,
        "the refused request gave its place back"
    );
    let next = invoke(&function, eventbridge("e-2", promotion(FREE))).await;
    assert!(next.unwrap()["contactId"].is_string());
    assert_eq!(state.taken(FREE).await, 1);

    function
        .connect()
        .script(LISTED, Script::Nth(1, transient()));
    let failed = invoke(&function, sqs(&[("m-1", promotion(LISTED))]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&failed), ["m-1"]);
    assert_eq!(state.taken(LISTED).await, 1, "kept for the retry");
    let other = invoke(&function, sqs(&[("m-2", promotion(LISTED))]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&other), Vec::<String>::new());
    let retried = invoke(&function, sqs(&[("m-1", promotion(LISTED))]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&retried), Vec::<String>::new());
    assert_eq!(state.taken(LISTED).await, 1);
    assert_eq!(
        function
            .connect()
            .called_numbers()
            .iter()
            .filter(|n| *n == LISTED)
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_expires_while_it_waits_for_pacing_gives_its_place_back() {
    let state = State::start().await;
    let function = state.function(&[
        ("FREQUENCY_CAPS", "1/24h"),
        ("MAX_IN_FLIGHT", "1"),
        ("CONNECT_MAX_REQUESTS_PER_SECOND", "0.4"),
    ]);
    let soon = OffsetDateTime::now_utc() + Duration::from_millis(1500);
    let mut expiring = promotion(LISTED);
    expiring["expiresAt"] = json!(soon.format(&Rfc3339).unwrap());
    let batch = sqs(&[("m-1", sms(FREE)), ("m-2", expiring)]);
    let answer = invoke(&function, batch).await.unwrap();
    assert_eq!(failed_ids(&answer), ["m-2"], "reported expired");
    assert_eq!(function.connect().called_numbers(), [FREE]);
    assert_eq!(state.taken(LISTED).await, 0);
    let places = state.places(LISTED).await;
    assert_eq!(places.len(), 1, "it had taken its place before it expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_dynamodb_down_nothing_is_sent_unchecked_and_every_trigger_retries() {
    let state = State::start_alone().await;
    let function = state.function(&[("FREQUENCY_CAPS", "1/24h")]);
    let State { db, .. } = state;
    drop(db);
    let answer = invoke(
        &function,
        sqs(&[("m-1", sms(FREE)), ("m-2", promotion(FREE))]),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&answer), ["m-1", "m-2"]);
    let routed = invoke(&function, eventbridge("e-1", promotion(FREE))).await;
    assert_eq!(routed.unwrap_err().error_type(), "Unavailable");
    let single = invoke(&function, http_request("POST", "/contacts", &sms(FREE)))
        .await
        .unwrap();
    assert_eq!(single["statusCode"], 503);
    assert_eq!(http_body(&single)["code"], "STATE_UNAVAILABLE");
    assert!(single["headers"]["retry-after"].is_string());
    assert!(function.connect().calls().is_empty());
}

/// A DynamoDB endpoint that answers every request with `status` and the error `code`, and
/// counts the requests.
async fn failing_dynamodb(status: u16, code: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut read = Vec::new();
                let mut buffer = [0u8; 8192];
                loop {
                    let Ok(n) = stream.read(&mut buffer).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&read).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap_or(0));
                        if read.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = format!(
                    r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"failing on purpose"}}"#
                );
                let answer = format!(
                    "HTTP/1.1 {status} Error\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: r\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{address}"), requests)
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_throttling_or_a_5xx_is_retried_by_the_sdk_then_by_the_trigger_never_sent_unchecked()
 {
    for (status, code) in [
        (400, "ThrottlingException"),
        (400, "ProvisionedThroughputExceededException"),
        (500, "InternalServerError"),
    ] {
        let (endpoint, requests) = failing_dynamodb(status, code).await;
        let state = DynamoRecipientState::new(client(&endpoint, None), TABLE);
        let function = TestFunction::new(
            FakeConnect::default(),
            &config_with(&[
                ("STATE_TABLE_NAME", TABLE),
                ("RECIPIENT_HASH_KEY", HASH_KEY),
                ("FREQUENCY_CAPS", "1/24h"),
            ]),
        )
        .map(|f| f.with_recipient_state(Arc::new(state)));
        let routed = invoke(&function, eventbridge("e-1", promotion(FREE))).await;
        let err = routed.unwrap_err();
        assert_eq!(err.error_type(), "Unavailable", "{code}");
        assert!(err.to_string().contains(code), "{err}");
        assert_eq!(
            requests.load(Ordering::SeqCst),
            3,
            "{code}: the SDK's 3 attempts"
        );
        let answer = invoke(&function, sqs(&[("m-1", sms(FREE))])).await.unwrap();
        assert_eq!(failed_ids(&answer), ["m-1"], "{code}");
        assert!(function.connect().calls().is_empty(), "{code}");
    }
}

/// A request queue that takes every deferral and counts them.
#[derive(Default)]
struct CountingQueue(AtomicUsize);

impl outbound_chat::RequestQueue for CountingQueue {
    fn hide_message<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: u32,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), outbound_chat::QueueError>> + Send + 'a>,
    > {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }

    fn send_delayed<'a>(
        &'a self,
        _: &'a str,
        _: String,
        _: u32,
        _: Option<i64>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), outbound_chat::QueueError>> + Send + 'a>,
    > {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_send_window_comes_first_so_a_deferred_request_takes_no_cap_place_until_it_is_sent() {
    let state = State::start().await;
    // Monday 30 November 2026, 03:00 in Los Angeles (+1 425), then 08:00:01 there.
    let night: jiff::Timestamp = "2026-11-30T11:00:00Z".parse().unwrap();
    let morning: jiff::Timestamp = "2026-11-30T16:00:01Z".parse().unwrap();
    let clock = Arc::new(outbound_chat::testing::ManualClock::new(night));
    let queue = Arc::new(CountingQueue::default());
    let function = state
        .function(&[
            ("FREQUENCY_CAPS", "1/24h"),
            ("DEFAULT_CATEGORY", "PROMOTIONAL"),
            ("SEND_WINDOW", "Mon-Fri 08:00-21:00"),
            (
                "REQUEST_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/requests",
            ),
        ])
        .map(|f| {
            f.with_clock(Arc::clone(&clock) as _)
                .with_queue(Arc::clone(&queue) as _)
        });
    change_list(&function, "PUT", json!({"to": LISTED})).await;
    state.calls.take();

    // Outside the window: deferred, whether listed or not, and no state read or written.
    for (id, number) in [("e-1", FREE), ("e-2", LISTED)] {
        let answer = invoke(&function, eventbridge(id, sms(number)))
            .await
            .unwrap();
        assert_eq!(answer["status"], "DEFERRED", "{number}: {answer}");
    }
    let sqs_answer = invoke(&function, sqs(&[("m-1", sms(FREE))])).await.unwrap();
    assert_eq!(failed_ids(&sqs_answer), ["m-1"]);
    assert_eq!(queue.0.load(Ordering::SeqCst), 3);
    assert!(state.places(FREE).await.is_empty());
    assert!(
        state
            .calls
            .take()
            .iter()
            .all(|call| call != "TransactWriteItems"),
        "no cap place is reserved for a deferred request"
    );
    assert!(function.connect().calls().is_empty());

    // At the opening: the first one takes the place, the listed one is suppressed, the record
    // coming back is over the cap.
    clock.set(morning);
    let started = invoke(&function, eventbridge("e-1", sms(FREE)))
        .await
        .unwrap();
    assert!(started["contactId"].is_string(), "{started}");
    let listed = invoke(&function, eventbridge("e-2", sms(LISTED)))
        .await
        .unwrap();
    assert_eq!(listed, suppressed("DO_NOT_CONTACT"));
    let sqs_answer = invoke(&function, sqs(&[("m-1", sms(FREE))])).await.unwrap();
    assert_eq!(failed_ids(&sqs_answer), Vec::<String>::new());
    assert_eq!(function.connect().called_numbers(), [FREE]);
    let places: usize = state.places(FREE).await.iter().map(|(_, n, _)| n).sum();
    assert_eq!(places, 1);
}

/// A DynamoDB endpoint that accepts every connection and never answers.
async fn stalled_dynamodb() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dynamodb_that_never_answers_is_cut_at_the_deadline_and_every_trigger_answers_in_time() {
    let endpoint = stalled_dynamodb().await;
    // The client's own bounds (30 s a call) are far past the invocation's 2 s.
    let state = DynamoRecipientState::new(client(&endpoint, None), TABLE);
    let function = TestFunction::new(
        FakeConnect::default(),
        &config_with(&[
            ("STATE_TABLE_NAME", TABLE),
            ("RECIPIENT_HASH_KEY", HASH_KEY),
            ("FREQUENCY_CAPS", "1/24h"),
        ]),
    )
    .map(|f| f.with_recipient_state(Arc::new(state)));
    let events = [
        ("http", http_request("POST", "/contacts", &promotion(FREE))),
        (
            "list",
            http_request("PUT", "/suppressions", &json!({"to": FREE})),
        ),
        ("sqs", sqs(&[("m-1", sms(FREE)), ("m-2", promotion(FREE))])),
        ("eventbridge", eventbridge("e-1", promotion(FREE))),
    ];
    for (name, event) in events {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let answer = function.handle(event, name, deadline).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: answered after the deadline"
        );
        match name {
            "http" | "list" => {
                let answer = answer.unwrap();
                assert_eq!(answer["statusCode"], 503, "{name}: {answer}");
                assert_eq!(http_body(&answer)["code"], "STATE_UNAVAILABLE");
            }
            "sqs" => assert_eq!(failed_ids(&answer.unwrap()), ["m-1", "m-2"]),
            _ => assert_eq!(answer.unwrap_err().error_type(), "Unavailable"),
        }
    }
    assert!(function.connect().calls().is_empty());
}
