//! SQS batches through the fake Connect: exact batchItemFailures, FIFO group order, tokens.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn the_mixed_batch_reports_exactly_the_invalid_record() {
    let function = function();
    let answer = invoke(&function, sample_event("sqs-mixed-batch.json"))
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&answer),
        ["0c5f3a52-0003-4d6b-9b1e-6f0a2c3b4d03"]
    );
    let mut numbers = function.connect().called_numbers();
    numbers.sort();
    assert_eq!(numbers, ["+14255550100", "+14255550101", "+14255550103"]);
}

#[tokio::test]
async fn a_batch_that_all_succeeds_answers_an_empty_failure_list() {
    let function = function();
    let mut event = sample_event("sqs-mixed-batch.json");
    event["Records"].as_array_mut().unwrap().remove(2);
    let answer = invoke(&function, event).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn a_connect_failure_fails_only_its_own_record() {
    let function = function();
    function
        .connect()
        .script("+14255550103", Script::Always(transient()));
    let answer = invoke(&function, sample_event("sqs-mixed-batch.json"))
        .await
        .unwrap();
    let mut failed = failed_ids(&answer);
    failed.sort();
    assert_eq!(
        failed,
        [
            "0c5f3a52-0003-4d6b-9b1e-6f0a2c3b4d03",
            "0c5f3a52-0004-4d6b-9b1e-6f0a2c3b4d04"
        ]
    );
}

#[tokio::test]
async fn the_fifo_batch_skips_the_rest_of_a_failed_group_only() {
    let function = function();
    // The second message of group customer-a fails.
    function
        .connect()
        .script("+14255550110", Script::Nth(2, transient()));
    let answer = invoke(&function, sample_event("sqs-fifo-two-groups.json"))
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&answer),
        [
            "f1f0a000-0000-4000-8000-00000000a002",
            "f1f0a000-0000-4000-8000-00000000a003"
        ]
    );
    let calls = function.connect().called_numbers();
    // Group a: two calls (the third record is never sent); group b: both sent.
    assert_eq!(calls.iter().filter(|n| *n == "+14255550110").count(), 2);
    assert_eq!(calls.iter().filter(|n| *n == "+14255550120").count(), 2);
}

#[tokio::test]
async fn fifo_records_of_one_group_are_sent_in_order() {
    let function = function();
    invoke(&function, sample_event("sqs-fifo-two-groups.json"))
        .await
        .unwrap();
    let tokens_a: Vec<String> = function
        .connect()
        .calls()
        .iter()
        .filter(|c| c.destination().e164() == "+14255550110")
        .map(|c| c.client_token().unwrap().as_str().to_owned())
        .collect();
    // Resend each record alone to learn its token, in record order.
    let event = sample_event("sqs-fifo-two-groups.json");
    let mut expected = Vec::new();
    for id in ["a001", "a002", "a003"] {
        let record = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["messageId"].as_str().unwrap().ends_with(id))
            .unwrap()
            .clone();
        let single = function_for_one(record).await;
        expected.push(single);
    }
    assert_eq!(tokens_a, expected);
}

async fn function_for_one(record: Value) -> String {
    let function = function();
    invoke(&function, json!({"Records": [record]}))
        .await
        .unwrap();
    function.connect().calls()[0]
        .client_token()
        .unwrap()
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn a_redelivered_record_gets_the_same_token_and_records_get_different_ones() {
    let first = function();
    invoke(&first, sample_event("sqs-mixed-batch.json"))
        .await
        .unwrap();
    let again = function();
    invoke(&again, sample_event("sqs-mixed-batch.json"))
        .await
        .unwrap();
    let tokens = |f: &TestFunction| {
        let mut calls: Vec<(String, String)> = f
            .connect()
            .calls()
            .iter()
            .map(|c| {
                (
                    c.destination().e164().to_owned(),
                    c.client_token().unwrap().as_str().to_owned(),
                )
            })
            .collect();
        calls.sort();
        calls
    };
    let first_tokens = tokens(&first);
    assert_eq!(first_tokens, tokens(&again));
    let mut distinct: Vec<&String> = first_tokens.iter().map(|(_, t)| t).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), first_tokens.len());
}

#[tokio::test]
async fn a_request_with_its_own_client_token_keeps_it() {
    let function = function();
    let body = json!({"to": "+14255550100", "message": {"content": "hi"}, "clientToken": "mine-1"});
    let mut event = sample_event("sqs-mixed-batch.json");
    let record = event["Records"][0].clone();
    event["Records"] = json!([record]);
    event["Records"][0]["body"] = Value::String(body.to_string());
    invoke(&function, event).await.unwrap();
    assert_eq!(
        function.connect().calls()[0]
            .client_token()
            .unwrap()
            .as_str(),
        "mine-1"
    );
}

#[tokio::test]
async fn throttling_stops_the_batch_and_reports_every_unsent_record() {
    let function = TestFunction::new(
        FakeConnect::default(),
        &config_with(&[("MAX_IN_FLIGHT", "1")]),
    );
    function
        .connect()
        .script("+14255550100", Script::Always(throttled()));
    let answer = invoke(&function, sample_event("sqs-mixed-batch.json"))
        .await
        .unwrap();
    // Records run one at a time in batch order: the first is throttled, the rest are not sent.
    let mut failed = failed_ids(&answer);
    failed.sort();
    assert_eq!(failed.len(), 4);
    assert_eq!(function.connect().calls().len(), 1);
}

#[tokio::test]
async fn an_sqs_record_without_a_message_id_fails_the_whole_batch() {
    let function = function();
    let mut event = sample_event("sqs-mixed-batch.json");
    event["Records"][1]
        .as_object_mut()
        .unwrap()
        .remove("messageId");
    let err = invoke(&function, event).await.unwrap_err();
    assert_eq!(err.error_type(), "MalformedEvent");
    assert!(function.connect().calls().is_empty());
}
