//! Throttled SQS records on the wire: a standard-queue record Connect throttled goes back to
//! moto's SQS as a new message, delayed, carrying the client token its first attempt used; a
//! FIFO record is reported instead, and its queue gets nothing; the log line and metrics; and
//! the binary, which has its SQS client with no send window configured.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use outbound_chat::{ContactStarter, Function};
use serde_json::{Value, json};

use crate::support::sqs::{Sqs, sms, sqs_event};
use crate::support::*;

/// A function whose Connect throttles `throttled_number`, re-sending through `sqs`.
fn throttling(sqs: &Sqs, throttled_number: &str) -> TestFunction {
    let function = function().map(|f| f.with_queue(sqs.queue_port()));
    function
        .connect()
        .script(throttled_number, Script::Always(throttled()));
    function
}

async fn delayed_count(sqs: &Sqs, url: &str) -> String {
    let name = QueueAttributeName::ApproximateNumberOfMessagesDelayed;
    let attributes = sqs
        .client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attributes.get(&name).cloned().unwrap_or_default()
}

async fn run<C: ContactStarter>(function: &Function<C>, event: Value) -> Value {
    invoke(function, event)
        .await
        .expect("an SQS batch is answered")
}

#[tokio::test]
async fn a_throttled_record_is_re_sent_delayed_with_its_token_and_reported_done() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    sqs.send(&url, &sms("+14255550100"), None).await;
    sqs.send(&url, &sms("+14255550199"), None).await;
    let received = sqs.receive(&url, 0).await;
    assert_eq!(received.len(), 2);
    let function = throttling(&sqs, "+14255550100");

    let answer = run(&function, sqs_event("requests", &received)).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let first_token = function
        .connect()
        .calls()
        .iter()
        .find(|c| c.destination().e164() == "+14255550100")
        .and_then(|c| c.client_token().map(|t| t.as_str().to_owned()))
        .expect("the throttled call's token");
    // Connect throttled the first record; the invocation halted, so the second was not tried
    // (one call) or was sent before the halt (two). Either way each throttled record is back.
    let calls = function.connect().calls().len();
    let throttled_records = 1 + usize::from(calls == 1);
    assert_eq!(
        delayed_count(&sqs, &url).await,
        throttled_records.to_string()
    );
    assert!(
        sqs.receive(&url, 0).await.is_empty(),
        "delayed, not visible"
    );

    // Each copy has its own jittered delay (2 to 6 s): receive until the throttled record's copy
    // is there (a receive returns as soon as any message is; each waits less than the client's
    // 4 s attempt timeout).
    let is_copy = |m: &aws_sdk_sqs::types::Message| {
        m.body
            .as_deref()
            .unwrap_or_default()
            .contains("+14255550100")
    };
    let mut copies = Vec::new();
    for _ in 0..6 {
        if copies.iter().any(is_copy) {
            break;
        }
        copies.extend(sqs.receive(&url, 3).await);
    }
    let original_ids: Vec<_> = received.iter().map(|m| m.message_id.clone()).collect();
    let copy = copies
        .iter()
        .find(|m| is_copy(m))
        .expect("the throttled record's copy");
    assert!(!original_ids.contains(&copy.message_id), "a new message");
    let body: Value = serde_json::from_str(copy.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["clientToken"], first_token.as_str());
    assert_eq!(body["to"], "+14255550100");

    // Received again, the copy starts its contact with the first attempt's token.
    let again = crate::support::function().map(|f| f.with_queue(sqs.queue_port()));
    let answer = run(&again, sqs_event("requests", &copies)).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let tokens: Vec<String> = again
        .connect()
        .calls()
        .iter()
        .filter(|c| c.destination().e164() == "+14255550100")
        .map(|c| c.client_token().unwrap().as_str().to_owned())
        .collect();
    assert_eq!(tokens, [first_token]);
}

/// Receives until the copy of the record to `number` is there (each copy has its own jittered
/// delay of 2 to 6 s).
async fn copy_of(sqs: &Sqs, url: &str, number: &str) -> aws_sdk_sqs::types::Message {
    for _ in 0..6 {
        let received = sqs.receive(url, 3).await;
        let body = |m: &aws_sdk_sqs::types::Message| m.body.clone().unwrap_or_default();
        if let Some(copy) = received.into_iter().find(|m| body(m).contains(number)) {
            return copy;
        }
    }
    panic!("no copy of the record to {number} came back");
}

#[tokio::test]
async fn a_copy_carries_its_first_receive_and_past_requeue_max_hours_is_reported_for_the_dead_letter_queue()
 {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    sqs.send(&url, &sms("+14255550100"), None).await;
    let received = sqs.receive(&url, 0).await;
    let first_receive = received[0]
        .attributes
        .as_ref()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateFirstReceiveTimestamp)
        })
        .cloned()
        .expect("moto gives the first receive");
    let function = throttling(&sqs, "+14255550100");
    let answer = run(&function, sqs_event("requests", &received)).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));

    // The copy carries the original's first receive, whatever receive it is itself.
    let copy = copy_of(&sqs, &url, "+14255550100").await;
    let carried = copy
        .message_attributes
        .as_ref()
        .and_then(|a| a.get("firstReceivedAt"))
        .and_then(|v| v.string_value.clone());
    assert_eq!(carried.as_deref(), Some(first_receive.as_str()));

    // Throttled again 24 h after that first receive: reported, not re-sent, counted.
    let mut event = sqs_event("requests", std::slice::from_ref(&copy));
    let day_ago = first_receive.parse::<i64>().unwrap() - 24 * 3600 * 1000;
    event["Records"][0]["messageAttributes"]["firstReceivedAt"]["stringValue"] =
        day_ago.to_string().into();
    let throttled_again = throttling(&sqs, "+14255550100");
    let (answer, documents) =
        outbound_chat::testing::capture_metrics(invoke(&throttled_again, event)).await;
    let answer = answer.unwrap();
    assert_eq!(failed_ids(&answer), [copy.message_id.clone().unwrap()]);
    assert_eq!(delayed_count(&sqs, &url).await, "0");
    let limit_reached: u64 = documents
        .iter()
        .filter_map(|d| d["RequeueLimitReached"].as_u64())
        .sum();
    assert_eq!(limit_reached, 1);
}

#[tokio::test]
async fn a_throttled_fifo_record_is_reported_and_nothing_is_re_sent() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests.fifo").await;
    sqs.send(&url, &sms("+14255550100"), Some("customer-a"))
        .await;
    sqs.send(&url, &sms("+14255550101"), Some("customer-a"))
        .await;
    let received = sqs.receive(&url, 0).await;
    let function = throttling(&sqs, "+14255550100");

    let answer = run(&function, sqs_event("requests.fifo", &received)).await;
    let ids: Vec<String> = received
        .iter()
        .filter_map(|m| m.message_id.clone())
        .collect();
    assert_eq!(failed_ids(&answer), ids);
    assert_eq!(delayed_count(&sqs, &url).await, "0");
    // Nothing new becomes visible: the originals are in flight, and no copy was made.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sqs.receive(&url, 0).await.is_empty());
}

#[tokio::test]
async fn a_requeue_is_logged_as_requeued_without_the_number_and_counted_as_requeued_and_throttled()
{
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    sqs.send(&url, &sms("+14255550100"), None).await;
    let received = sqs.receive(&url, 0).await;
    let function = throttling(&sqs, "+14255550100");
    let ((logs, _), documents) = outbound_chat::testing::capture_metrics(
        crate::support::logs::with_trace_logs(true, async {
            run(&function, sqs_event("requests", &received)).await;
            String::new()
        }),
    )
    .await;
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["outcome"].is_string())
        .collect();
    let outcomes: Vec<&Value> = lines.iter().map(|l| &l["fields"]["outcome"]).collect();
    assert_eq!(outcomes, [&json!("requeued")], "{logs}");
    assert_eq!(lines[0]["fields"]["code"], "REQUEST_THROTTLED");
    assert!(lines[0]["fields"]["not_before"].is_string(), "{logs}");
    assert!(!logs.contains("4255550100"), "{logs}");
    let counts: Vec<(&Value, &Value, &Value)> = documents
        .iter()
        .map(|d| (&d["Requeued"], &d["Throttles"], &d["RequestsFailed"]))
        .collect();
    assert_eq!(counts, [(&json!(1), &json!(1), &json!(0))]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_re_sends_a_throttled_record_with_no_send_window_configured() {
    let sqs = Sqs::start();
    let url = sqs.queue("requests").await;
    sqs.send(&url, &sms("+14255550100"), None).await;
    let received = sqs.receive(&url, 0).await;
    let simulator = connect_simulator::Simulator::start(connect_simulator::SimulatorConfig {
        rate_limit: Some(connect_simulator::RateLimit {
            per_second: 0.0,
            burst: 0,
        }),
        ..connect_simulator::SimulatorConfig::default()
    })
    .await
    .unwrap();
    let api = lambda_testkit::RuntimeApi::start().await;
    api.queue([sqs_event("requests", &received)]);
    let mut environment = crate::support::binary::lambda_environment(
        &api.address(),
        &simulator.endpoint_url(),
        "JSON",
        "INFO",
    );
    environment.insert(
        "AWS_ENDPOINT_URL_SQS".into(),
        sqs.server.endpoint().to_owned(),
    );
    let run = crate::support::binary::run_binary(environment, api.wait_for_answers(1)).await;
    let answer: Value = serde_json::from_str(&api.answers()[0].body).unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}), "{}", run.stdout);
    assert_eq!(delayed_count(&sqs, &url).await, "1", "{}", run.stdout);
    assert!(simulator.contacts().is_empty());
}
