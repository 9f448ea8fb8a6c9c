//! Frequency caps over sliding windows against DynamoDB Local with the clock set by the test:
//! a rule holds over every window of its length (across a UTC midnight, across where 7-day
//! buckets used to turn), a batch costs one read and one write, and a place is given back only
//! by the delivery that took it, or when its request ends expired or deferred.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use outbound_chat::testing::ManualClock;
use serde_json::{Value, json};

use crate::support::dynamodb::*;
use crate::support::records::{FIFO_QUEUE, STANDARD_QUEUE, sqs_record};
use crate::support::*;

const ONE: &str = "+14255550160";
const TWO: &str = "+14255550161";

fn at(rfc3339: &str) -> jiff::Timestamp {
    rfc3339.parse().unwrap()
}

/// A function with `caps` reading the time from the returned clock, set to `start`.
fn clocked(state: &State, vars: &[(&str, &str)], start: &str) -> (TestFunction, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(start)));
    let function = state
        .function(vars)
        .map(|f| f.with_clock(Arc::clone(&clock) as _));
    (function, clock)
}

fn sqs(queue: &str, records: &[(&str, Value)], group: Option<&str>) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| sqs_record(queue, id, &body.to_string(), 1, group))
        .collect();
    json!({ "Records": records })
}

/// Whether an EventBridge promotion to `number` with event id `id` is sent at the clock's time.
async fn sent(function: &TestFunction, id: &str, number: &str) -> bool {
    let answer = invoke(function, eventbridge(id, promotion(number)))
        .await
        .unwrap();
    match answer["contactId"].as_str() {
        Some(_) => true,
        None => {
            assert_eq!(
                answer,
                json!({"status": "SUPPRESSED", "reason": "FREQUENCY_CAP"})
            );
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_promotions_a_few_minutes_apart_across_utc_midnight_are_one_too_many_under_1_per_24h() {
    let state = State::start().await;
    let caps = [("FREQUENCY_CAPS", "1/24h")];
    let (function, clock) = clocked(&state, &caps, "2026-11-29T23:59:00Z");
    assert!(sent(&function, "e-1", ONE).await);
    // (time, sent): the window is the 24 hours before each send, whatever the date.
    for (time, expected) in [
        ("2026-11-30T00:01:00Z", false),
        ("2026-11-30T23:58:59Z", false),
        ("2026-11-30T23:59:00Z", true),
    ] {
        clock.set(at(time));
        assert_eq!(sent(&function, time, ONE).await, expected, "{time}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_7_day_rule_holds_across_the_edge_where_epoch_aligned_weeks_turned() {
    let state = State::start().await;
    // 7-day buckets counted from 1970-01-01 turn on Thursday 2026-12-03 at 00:00 UTC.
    let caps = [("FREQUENCY_CAPS", "1/7d")];
    let (function, clock) = clocked(&state, &caps, "2026-12-02T23:00:00Z");
    assert!(sent(&function, "e-1", ONE).await);
    for (time, expected) in [
        ("2026-12-03T01:00:00Z", false),
        ("2026-12-09T22:59:59Z", false),
        ("2026-12-09T23:00:00Z", true),
    ] {
        clock.set(at(time));
        assert_eq!(sent(&function, time, ONE).await, expected, "{time}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_capped_requests_costs_one_read_and_one_write_decided_in_batch_order() {
    let state = State::start().await;
    let function = state.function(&[("FREQUENCY_CAPS", "1/24h")]);
    let mut records: Vec<(String, Value)> = (0..8)
        .map(|n| (format!("m-{n}"), promotion(&format!("+1425555017{n}"))))
        .collect();
    records.push(("m-8".into(), promotion(ONE)));
    records.push(("m-9".into(), promotion(ONE)));
    let records: Vec<(&str, Value)> = records
        .iter()
        .map(|(i, b)| (i.as_str(), b.clone()))
        .collect();
    let answer = invoke(&function, sqs(STANDARD_QUEUE, &records, None))
        .await
        .unwrap();
    assert_eq!(failed_ids(&answer), Vec::<String>::new());
    assert_eq!(state.calls.take(), ["BatchGetItem", "TransactWriteItems"]);
    assert_eq!(function.connect().calls().len(), 9, "m-9 is over the cap");
    assert_eq!(state.taken(ONE).await, 1);
    state.calls.take();
    // The batch again (every record redelivered): each finds its place, nothing is written.
    let again = invoke(&function, sqs(STANDARD_QUEUE, &records, None))
        .await
        .unwrap();
    assert_eq!(failed_ids(&again), Vec::<String>::new());
    assert_eq!(state.calls.take(), ["BatchGetItem"]);
    let m8 = function
        .connect()
        .calls()
        .iter()
        .filter(|c| c.destination().e164() == ONE)
        .map(|c| c.client_token().unwrap().as_str().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(m8.len(), 2);
    assert_eq!(
        m8[0], m8[1],
        "the redelivery of m-8 is sent again with its token, not m-9"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivery_found_expired_gives_back_the_place_its_earlier_delivery_took() {
    let state = State::start().await;
    let caps = [("FREQUENCY_CAPS", "1/24h")];
    let (function, clock) = clocked(&state, &caps, "2026-11-30T16:00:00Z");
    function.connect().script(ONE, Script::Nth(1, transient()));
    let mut expiring = promotion(ONE);
    expiring["expiresAt"] = json!("2026-11-30T16:10:00Z");
    let first = sqs(STANDARD_QUEUE, &[("m-1", expiring)], None);
    let answer = invoke(&function, first.clone()).await.unwrap();
    assert_eq!(failed_ids(&answer), ["m-1"]);
    assert_eq!(state.taken(ONE).await, 1, "kept for the retry");
    clock.set(at("2026-11-30T16:20:00Z"));
    invoke(&function, first).await.unwrap();
    assert_eq!(
        state.taken(ONE).await,
        0,
        "expired: never sent, its place is free"
    );
    assert!(sent(&function, "e-2", ONE).await);
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
    ) -> outbound_chat::QueueFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }

    fn send_delayed<'a>(
        &'a self,
        _: &'a str,
        _: String,
        _: u32,
        _: Option<i64>,
    ) -> outbound_chat::QueueFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivery_deferred_gives_back_the_place_and_takes_one_when_it_is_sent() {
    let state = State::start().await;
    // Monday 30 November 2026 in Los Angeles (+1 425): 20:59, then 21:01, then 08:00 next day.
    let vars = [
        ("FREQUENCY_CAPS", "1/24h"),
        ("SEND_WINDOW", "Mon-Fri 08:00-21:00"),
    ];
    let (function, clock) = clocked(&state, &vars, "2026-12-01T04:59:00Z");
    let queue = Arc::new(CountingQueue::default());
    let function = function.map(|f| f.with_queue(Arc::clone(&queue) as _));
    function.connect().script(ONE, Script::Nth(1, transient()));
    let first = sqs(STANDARD_QUEUE, &[("m-1", promotion(ONE))], None);
    assert_eq!(
        failed_ids(&invoke(&function, first.clone()).await.unwrap()),
        ["m-1"]
    );
    assert_eq!(state.taken(ONE).await, 1, "kept for the retry");
    clock.set(at("2026-12-01T05:01:00Z"));
    assert_eq!(
        failed_ids(&invoke(&function, first.clone()).await.unwrap()),
        ["m-1"]
    );
    assert_eq!(queue.0.load(Ordering::SeqCst), 1, "deferred");
    assert_eq!(
        state.taken(ONE).await,
        0,
        "the deferred request holds no place overnight"
    );
    // At the opening, 11 hours after the first try, another promotion may go: the window is
    // counted from the sends, and the deferred one was not sent.
    clock.set(at("2026-12-01T16:00:00Z"));
    assert!(sent(&function, "e-2", ONE).await);
    let later = invoke(&function, first).await.unwrap();
    assert_eq!(failed_ids(&later), Vec::<String>::new(), "suppressed: done");
    assert_eq!(function.connect().called_numbers(), [ONE, ONE]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_that_found_its_place_keeps_it_through_a_permanent_failure() {
    let state = State::start().await;
    let function = state.function(&[("FREQUENCY_CAPS", "1/24h")]);
    function.connect().script(ONE, Script::Nth(1, transient()));
    let first = sqs(STANDARD_QUEUE, &[("m-1", promotion(ONE))], None);
    assert_eq!(
        failed_ids(&invoke(&function, first.clone()).await.unwrap()),
        ["m-1"]
    );
    // The first call may have started the contact: the redelivery refused for good must not
    // un-count it.
    function.connect().script(ONE, Script::Nth(2, rejected()));
    invoke(&function, first).await.unwrap();
    assert_eq!(state.taken(ONE).await, 1);
    assert!(!sent(&function, "e-2", ONE).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_record_skipped_after_its_group_failed_gives_back_the_place_it_took() {
    let state = State::start().await;
    let function = state.function(&[("FREQUENCY_CAPS", "1/24h")]);
    function.connect().script(ONE, Script::Always(transient()));
    let batch = sqs(
        FIFO_QUEUE,
        &[("m-1", promotion(ONE)), ("m-2", promotion(TWO))],
        Some("g"),
    );
    let answer = invoke(&function, batch).await.unwrap();
    assert_eq!(failed_ids(&answer), ["m-1", "m-2"]);
    assert_eq!(
        state.calls.take(),
        ["BatchGetItem", "TransactWriteItems", "UpdateItem"]
    );
    assert_eq!(function.connect().called_numbers(), [ONE]);
    assert_eq!(
        state.taken(ONE).await,
        1,
        "m-1 may have reached Connect: kept"
    );
    assert_eq!(state.taken(TWO).await, 0, "m-2 was never sent: given back");
}
