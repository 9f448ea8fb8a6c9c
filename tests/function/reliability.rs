//! Delivery under load and faults: the in-flight bound, pacing, the stops after throttling and
//! after the chat quota, a long SQS run against a misbehaving Connect in which no request is
//! lost or started twice, and a run against a slow Connect in which throttled records go back to
//! the queue instead of toward the dead-letter queue.

use futures::future::BoxFuture;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_simulator::{Outcome, RateLimit, Simulator, SimulatorConfig};
use outbound_chat::OutboundChat;
use outbound_chat::{Config, ContactId, ContactStarter, Function, StartError};
use outbound_chat::{QueueError, QueueFuture, RequestQueue};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::support::records::*;
use crate::support::*;

fn with_in_flight(max: &str, rate: Option<&str>) -> Config {
    match rate {
        Some(rate) => config_with(&[
            ("MAX_IN_FLIGHT", max),
            ("CONNECT_MAX_REQUESTS_PER_SECOND", rate),
        ]),
        None => config_with(&[("MAX_IN_FLIGHT", max)]),
    }
}

async fn handle<C: ContactStarter>(function: &Function<C>, event: Value) -> Value {
    function
        .handle(
            event,
            "reliability",
            Instant::now() + Duration::from_secs(30),
        )
        .await
        .expect("an SQS batch is always answered")
}

/// A Connect that takes `latency` per call and counts how many calls overlap.
struct CountingConnect {
    latency: Duration,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    called: Mutex<Vec<String>>,
}

impl CountingConnect {
    fn new(latency: Duration) -> Self {
        Self {
            latency,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            called: Mutex::new(Vec::new()),
        }
    }

    fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    fn called(&self) -> Vec<String> {
        self.called.lock().unwrap().clone()
    }
}

impl ContactStarter for CountingConnect {
    fn start_contact<'a>(
        &'a self,
        chat: &'a OutboundChat,
    ) -> BoxFuture<'a, Result<ContactId, StartError>> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            let number = chat.destination().e164().to_owned();
            self.called.lock().unwrap().push(number.clone());
            tokio::time::sleep(self.latency).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(ContactId::new(format!("contact-{number}")))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_standard_batch_never_has_more_than_max_in_flight_calls_and_uses_them_all() {
    let latency = Duration::from_millis(50);
    let function = TestFunction::new(CountingConnect::new(latency), &with_in_flight("4", None));
    let started = Instant::now();
    let answer = handle(&function, standard_batch(40, |i| format!("+1425500{i:04}"))).await;
    assert!(failed_ids(&answer).is_empty(), "{answer}");
    let connect = function.connect();
    assert_eq!(connect.called().len(), 40);
    assert_eq!(connect.most_in_flight(), 4);
    // Forty calls four at a time: ten rounds of the latency, no idle slot in between.
    assert_eq!(started.elapsed(), latency * 10);
}

#[tokio::test(start_paused = true)]
async fn fifo_groups_share_the_in_flight_bound_and_each_group_keeps_its_order() {
    let (groups, per_group) = (12, 3);
    let number = |g: usize, k: usize| format!("+14256{g:03}{k:03}");
    let mut records = Vec::new();
    // Interleaved, as SQS hands out a FIFO batch with many groups.
    for k in 0..per_group {
        for g in 0..groups {
            let id = format!("g{g}-m{k}");
            let body = sms_body(&number(g, k), k);
            records.push(sqs_record(
                FIFO_QUEUE,
                &id,
                &body,
                1,
                Some(&format!("g{g}")),
            ));
        }
    }
    let connect = CountingConnect::new(Duration::from_millis(50));
    let function = TestFunction::new(connect, &with_in_flight("4", None));
    let answer = handle(&function, json!({ "Records": records })).await;
    assert!(failed_ids(&answer).is_empty(), "{answer}");

    let connect = function.connect();
    assert_eq!(connect.most_in_flight(), 4);
    let called = connect.called();
    assert_eq!(called.len(), groups * per_group);
    for g in 0..groups {
        let order: Vec<&String> = called
            .iter()
            .filter(|n| n.starts_with(&format!("+14256{g:03}")))
            .collect();
        let expected: Vec<String> = (0..per_group).map(|k| number(g, k)).collect();
        assert_eq!(order, expected.iter().collect::<Vec<_>>(), "group {g}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_paced_instance_tries_a_throttled_request_again_in_a_later_slot_and_an_unpaced_one_does_not()
 {
    let number = "+14255070000";
    const PACED: &[(&str, &str)] = &[("CONNECT_MAX_REQUESTS_PER_SECOND", "10")];
    /// (pacing, throttled calls, Connect calls, the record failed)
    type Case = (&'static [(&'static str, &'static str)], Script, usize, bool);
    let cases: [Case; 4] = [
        (PACED, Script::Nth(1, throttled()), 2, false),
        (PACED, Script::Nth(3, throttled()), 1, false),
        (PACED, Script::Always(throttled()), 3, true),
        (&[], Script::Nth(1, throttled()), 1, true),
    ];
    for (pacing, script, calls, failed) in cases {
        let function = TestFunction::new(FakeConnect::default(), &config_with(pacing));
        function.connect().script(number, script.clone());
        let answer = handle(&function, standard_batch(1, |_| number.to_owned())).await;
        assert_eq!(
            function.connect().calls().len(),
            calls,
            "{pacing:?} {script:?}"
        );
        assert_eq!(
            !failed_ids(&answer).is_empty(),
            failed,
            "{pacing:?} {script:?}"
        );
    }
    assert_eq!(outbound_chat::testing::THROTTLED_ATTEMPTS, 3);
}

/// Connect's own limit for these tests: 20 requests a second, a burst of 5 (Connect's default
/// burst), so that 20 calls at once are mostly throttled.
fn connect_rate_limit() -> SimulatorConfig {
    SimulatorConfig {
        rate_limit: Some(RateLimit {
            per_second: 20.0,
            burst: 5,
        }),
        ..SimulatorConfig::default()
    }
}

#[tokio::test]
async fn paced_at_connects_own_rate_a_batch_is_sent_without_a_single_throttle() {
    let simulator = Simulator::start(connect_rate_limit()).await.unwrap();
    let function = crate::support::sdk::sdk_function(&simulator, &with_in_flight("10", Some("20")));
    let started = Instant::now();
    let answer = handle(&function, standard_batch(20, |i| format!("+1425501{i:04}"))).await;
    assert!(failed_ids(&answer).is_empty(), "{answer}");
    let summary = simulator.summary();
    assert_eq!(summary.throttled, 0, "{summary}");
    assert_eq!(summary.contacts_created, 20, "{summary}");
    // One call every 50 ms after the first.
    assert!(started.elapsed() >= Duration::from_millis(19 * 50));
}

#[tokio::test]
async fn without_pacing_the_same_batch_is_throttled_which_the_paced_test_relies_on() {
    let simulator = Simulator::start(connect_rate_limit()).await.unwrap();
    let function = crate::support::sdk::sdk_function(&simulator, &with_in_flight("10", None));
    let answer = handle(&function, standard_batch(20, |i| format!("+1425502{i:04}"))).await;
    assert!(simulator.summary().throttled > 0);
    assert!(!failed_ids(&answer).is_empty());
}

#[tokio::test]
async fn when_connect_throttles_everything_the_invocation_stops_and_reports_every_record() {
    let fifo: Vec<Value> = (0..30)
        .map(|i| {
            let body = sms_body(&format!("+1425503{i:04}"), i);
            let group = format!("g{}", i % 10);
            sqs_record(FIFO_QUEUE, &format!("f-{i}"), &body, 1, Some(&group))
        })
        .collect();
    let batches = [
        standard_batch(30, |i| format!("+1425504{i:04}")),
        json!({ "Records": fifo }),
    ];
    for event in batches {
        let simulator = Simulator::start(SimulatorConfig {
            rate_limit: Some(RateLimit {
                per_second: 0.0,
                burst: 0,
            }),
            ..SimulatorConfig::default()
        })
        .await
        .unwrap();
        let function = crate::support::sdk::sdk_function(&simulator, &with_in_flight("3", None));
        let answer = handle(&function, event).await;
        assert_eq!(failed_ids(&answer).len(), 30);
        let journal = simulator.journal();
        let tokens: HashSet<_> = journal.iter().map(|e| e.client_token.clone()).collect();
        // Only the first calls in flight reached Connect (each tried by the SDK 3 times).
        assert!(
            tokens.len() <= 3,
            "{} records reached Connect",
            tokens.len()
        );
        assert!(journal.len() <= 9, "{} requests", journal.len());
        assert!(simulator.contacts().is_empty());
    }
}

#[tokio::test]
async fn at_the_chat_quota_connect_sees_each_record_once_and_the_instance_pauses_until_chats_end() {
    let simulator = Simulator::start(SimulatorConfig {
        max_active_chats: Some(3),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let pause = Duration::from_millis(300);
    let config = with_in_flight("2", None).with_quota_pause(pause);
    let function = crate::support::sdk::sdk_function(&simulator, &config);
    let event = standard_batch(12, |i| format!("+1425505{i:04}"));
    let answer = handle(&function, event.clone()).await;

    let failed = failed_ids(&answer);
    assert_eq!(failed.len(), 9, "{answer}");
    let summary = simulator.summary();
    assert_eq!(summary.contacts_created, 3, "{summary}");
    // LimitExceededException is not retried, and no send starts after it: besides the three
    // started, only the calls already in flight met the quota, once each.
    assert!((1..=2).contains(&summary.limit_exceeded), "{summary}");
    assert_eq!(summary.requests, 3 + summary.limit_exceeded, "{summary}");
    let mut per_token: HashMap<Option<String>, usize> = HashMap::new();
    for entry in simulator.journal() {
        *per_token.entry(entry.client_token).or_default() += 1;
    }
    assert!(per_token.values().all(|n| *n == 1), "{per_token:?}");

    let redelivery = |pending: &[String]| {
        let records: Vec<Value> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| pending.iter().any(|id| r["messageId"] == id.as_str()))
            .cloned()
            .collect();
        json!({ "Records": records })
    };
    // Within the pause a new invocation of the instance sends nothing, even with chats free.
    simulator.end_all_chats();
    let requests = simulator.journal().len();
    let answer = handle(&function, redelivery(&failed)).await;
    assert_eq!(failed_ids(&answer), failed);
    assert_eq!(simulator.journal().len(), requests, "sent during the pause");

    // After each pause, the queue redelivers the failed records until all started.
    let mut pending = failed;
    for _round in 0..3 {
        tokio::time::sleep(pause).await;
        simulator.end_all_chats();
        let answer = handle(&function, redelivery(&pending)).await;
        pending = failed_ids(&answer);
    }
    assert!(pending.is_empty(), "{pending:?}");
    let contacts = simulator.contacts();
    let numbers: HashSet<String> = contacts.iter().map(|c| destination(&c.request)).collect();
    assert_eq!((contacts.len(), numbers.len()), (12, 12));
    assert!(simulator.journal().len() <= 12 + 4 * 2);
}

/// A queue message and how often it was received.
struct Message {
    id: String,
    body: String,
    receives: u32,
}

/// A standard SQS queue with a redrive policy, reduced to what the function sees: batches of up
/// to 10, a failed record comes back with the same message id, and a record received
/// `max_receives` times without success moves to the dead-letter list. Messages the function
/// re-sends (through [`QueuePort`]) join it as new messages once their delay has passed.
struct Queue {
    state: Mutex<QueueState>,
    changed: Notify,
}

struct QueueState {
    visible: VecDeque<Message>,
    /// Re-sent messages and when they become visible.
    delayed: Vec<(Instant, Message)>,
    in_flight: usize,
    deleted: Vec<String>,
    dead: Vec<(String, u32)>,
    receives: u32,
    max_receives: u32,
    /// The delay (in seconds) of each message the function re-sent.
    resent: Vec<u32>,
}

const BATCH_SIZE: usize = 10;

impl Queue {
    /// An empty queue whose redrive policy dead-letters after `max_receives`.
    fn new(max_receives: u32) -> Self {
        Self {
            state: Mutex::new(QueueState {
                visible: VecDeque::new(),
                delayed: Vec::new(),
                in_flight: 0,
                deleted: Vec::new(),
                dead: Vec::new(),
                receives: 0,
                max_receives,
                resent: Vec::new(),
            }),
            changed: Notify::new(),
        }
    }

    /// The next batch, or `None` once every message is deleted or dead.
    async fn receive(&self) -> Option<Vec<Message>> {
        loop {
            let changed = self.changed.notified();
            let next_due = {
                let mut state = self.state.lock().unwrap();
                let now = Instant::now();
                let (due, waiting) = std::mem::take(&mut state.delayed)
                    .into_iter()
                    .partition(|(at, _)| *at <= now);
                state.delayed = waiting;
                state
                    .visible
                    .extend(due.into_iter().map(|(_, message)| message));
                let take = state.visible.len().min(BATCH_SIZE);
                if take > 0 {
                    let mut batch: Vec<Message> = state.visible.drain(..take).collect();
                    for message in &mut batch {
                        message.receives += 1;
                    }
                    state.in_flight += batch.len();
                    state.receives += u32::try_from(batch.len()).unwrap();
                    return Some(batch);
                }
                if state.in_flight == 0 && state.delayed.is_empty() {
                    return None;
                }
                state.delayed.iter().map(|(at, _)| *at).min()
            };
            // Another consumer's batch may yet come back, or a re-sent message become visible.
            match next_due {
                Some(at) => {
                    tokio::select! {
                        () = changed => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Deletes the batch's successes; returns its failures, or dead-letters them.
    fn settle(&self, batch: Vec<Message>, failed: &HashSet<String>) {
        let mut state = self.state.lock().unwrap();
        state.in_flight -= batch.len();
        for message in batch {
            if !failed.contains(&message.id) {
                state.deleted.push(message.id);
            } else if message.receives >= state.max_receives {
                state.dead.push((message.id, message.receives));
            } else {
                state.visible.push_back(message);
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }
}

/// The simulated time of one second of SQS delay: the re-sends' delays keep their proportions
/// while the test stays short.
const SIMULATED_SECOND: Duration = Duration::from_millis(20);

/// The function's queue port over the simulated queue: SendMessage appends a new message (a
/// new id, as SQS gives) that becomes visible after its delay.
struct QueuePort(Arc<Queue>);

impl RequestQueue for QueuePort {
    fn hide_message<'a>(&'a self, _: &'a str, _: &'a str, _: u32) -> QueueFuture<'a> {
        Box::pin(async {
            Err(QueueError {
                code: "NotSimulated".into(),
                message: "no send window is configured in this test".into(),
            })
        })
    }

    fn send_delayed<'a>(
        &'a self,
        url: &'a str,
        body: String,
        delay: u32,
        _: Option<i64>,
    ) -> QueueFuture<'a> {
        Box::pin(async move {
            assert_eq!(url, STANDARD_QUEUE_URL);
            let mut state = self.0.state.lock().unwrap();
            let id = format!("resent-{}", state.resent.len());
            state.resent.push(delay);
            let at = Instant::now() + SIMULATED_SECOND * delay;
            let message = Message {
                id,
                body,
                receives: 0,
            };
            state.delayed.push((at, message));
            drop(state);
            self.0.changed.notify_waiters();
            Ok(())
        })
    }
}

const STANDARD_QUEUE_URL: &str =
    "https://sqs.us-east-1.amazonaws.com/123456789012/outbound-chat-requests";

/// One function instance consuming the queue until it is drained.
async fn consume<C: ContactStarter>(function: Function<C>, queue: &Queue) -> usize {
    let mut invocations = 0;
    while let Some(batch) = queue.receive().await {
        let records: Vec<Value> = batch
            .iter()
            .map(|m| sqs_record(STANDARD_QUEUE, &m.id, &m.body, m.receives, None))
            .collect();
        let answer = handle(&function, json!({ "Records": records })).await;
        let failed: HashSet<String> = failed_ids(&answer).into_iter().collect();
        queue.settle(batch, &failed);
        invocations += 1;
    }
    invocations
}

/// The queue holding `count` requests, request `i` as message `id(i)`, and the valid
/// requests' numbers.
fn filled_queue(count: usize, max_receives: u32) -> (Queue, HashMap<String, usize>) {
    let queue = Queue::new(max_receives);
    let mut numbers: HashMap<String, usize> = HashMap::new();
    {
        let mut state = queue.state.lock().unwrap();
        for i in 0..count {
            let (body, number) = request(i);
            numbers.extend(number.map(|n| (n, i)));
            state.visible.push_back(Message {
                id: id(i),
                body,
                receives: 0,
            });
        }
    }
    (queue, numbers)
}

/// The message id of request `i`.
fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

const REQUESTS: usize = 2_000;
const INSTANCES: usize = 4;

/// Request `i`: valid with its own number, except every 33rd (about 3 %), which the function
/// must refuse (a number without `+`, or a body that is not JSON).
fn request(i: usize) -> (String, Option<String>) {
    let number = format!("+1425{i:07}");
    match i % 66 {
        0 => (sms_body(&format!("1425{i:07}"), i), None),
        33 => ("not json".to_owned(), None),
        _ => (sms_body(&number, i), Some(number)),
    }
}

fn faulty_connect() -> SimulatorConfig {
    SimulatorConfig {
        seed: 2024,
        latency: Duration::from_millis(1),
        latency_jitter: Some(Duration::from_millis(2)),
        rate_limit: Some(RateLimit {
            per_second: 350.0,
            burst: 20,
        }),
        internal_error_before_start: 0.05,
        internal_error_after_start: 0.05,
        drop_before_start: 0.05,
        drop_after_start: 0.05,
        ..SimulatorConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_requests_through_faults_end_each_as_one_contact_or_dead_lettered() {
    let simulator = Simulator::start(faulty_connect()).await.unwrap();
    let (queue, numbers) = filled_queue(REQUESTS, 5);
    // Several instances at once, as Lambda scales an SQS consumer: each paced adaptively under a
    // ceiling of 100/s, together above Connect's 350/s at first, so that throttling happens.
    let started = Instant::now();
    let consumers = (0..INSTANCES).map(|_| {
        let function =
            crate::support::sdk::sdk_function(&simulator, &with_in_flight("10", Some("100")));
        consume(function, &queue)
    });
    let invocations: usize = tokio::time::timeout(
        Duration::from_secs(50),
        futures::future::join_all(consumers),
    )
    .await
    .expect("the queue drains in time")
    .into_iter()
    .sum();
    let elapsed = started.elapsed();

    let state = queue.state.lock().unwrap();
    let contacts = simulator.contacts();
    let summary = simulator.summary();
    let journal = simulator.journal();
    report(&state, &contacts, &summary, invocations, elapsed);
    check(&state, &numbers, &contacts, &journal, &summary);
}

fn report(
    state: &QueueState,
    contacts: &[connect_simulator::StartedContact],
    summary: &connect_simulator::Summary,
    invocations: usize,
    elapsed: Duration,
) {
    println!(
        "reliability: {REQUESTS} requests, {} receives in {invocations} invocations, {} deleted, \
         {} dead-lettered, {} contacts, {elapsed:.2?}; simulator: {summary}",
        state.receives,
        state.deleted.len(),
        state.dead.len(),
        contacts.len(),
    );
}

fn check(
    state: &QueueState,
    numbers: &HashMap<String, usize>,
    contacts: &[connect_simulator::StartedContact],
    journal: &[connect_simulator::JournalEntry],
    summary: &connect_simulator::Summary,
) {
    assert_eq!(state.deleted.len() + state.dead.len(), REQUESTS);
    assert!(state.visible.is_empty() && state.in_flight == 0);

    let mut contacts_per_request: HashMap<usize, usize> = HashMap::new();
    for contact in contacts {
        let number = destination(&contact.request);
        let i = *numbers
            .get(&number)
            .unwrap_or_else(|| panic!("a contact for no valid request: {contact:?}"));
        *contacts_per_request.entry(i).or_default() += 1;
        assert_eq!(contact.request["Attributes"]["requestNo"], i.to_string());
    }
    let deleted: HashSet<&String> = state.deleted.iter().collect();
    for i in 0..REQUESTS {
        let count = contacts_per_request.get(&i).copied().unwrap_or(0);
        assert!(count <= 1, "request {i} started {count} contacts");
        let valid = request(i).1.is_some();
        if deleted.contains(&id(i)) {
            assert!(valid, "invalid request {i} was reported sent");
            assert_eq!(
                count, 1,
                "request {i} was reported sent but started no contact"
            );
        } else {
            assert!(valid || count == 0, "invalid request {i} started a contact");
        }
    }
    let invalid = (0..REQUESTS).filter(|i| request(*i).1.is_none()).count();
    assert!(state.dead.len() >= invalid);

    let refused: Vec<String> = journal
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Invalid { .. }))
        .map(|e| e.outcome.to_string())
        .collect();
    assert!(refused.is_empty(), "Connect refused {refused:?}");
    assert_eq!(summary.refused(), 0);
    // The faults did happen, each kind, and retries met contacts already started.
    assert!(summary.internal_errors > 0 && summary.dropped > 0 && summary.replayed > 0);
    assert!(summary.throttled > 0, "{summary}");
}

const THROTTLED_REQUESTS: usize = 1_000;

/// A Connect whose rate is a small part of what the instances press on it: 40 requests a
/// second, a burst of 5, against four instances of ten calls each.
fn slow_connect() -> SimulatorConfig {
    SimulatorConfig {
        seed: 15,
        latency: Duration::from_millis(1),
        rate_limit: Some(RateLimit {
            per_second: 40.0,
            burst: 5,
        }),
        ..SimulatorConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_records_go_back_to_the_queue_and_never_reach_the_dead_letter_queue() {
    let simulator = Simulator::start(slow_connect()).await.unwrap();
    let queue = Arc::new(filled_queue(THROTTLED_REQUESTS, 3).0);
    let numbers: HashMap<String, usize> = (0..THROTTLED_REQUESTS)
        .filter_map(|i| request(i).1.map(|number| (number, i)))
        .collect();
    let started = Instant::now();
    let consumers = (0..INSTANCES).map(|_| {
        let function = crate::support::sdk::sdk_function(&simulator, &with_in_flight("10", None))
            .with_queue(Arc::new(QueuePort(Arc::clone(&queue))));
        consume(function, &queue)
    });
    let invocations: usize = tokio::time::timeout(
        Duration::from_secs(90),
        futures::future::join_all(consumers),
    )
    .await
    .expect("the queue drains in time")
    .into_iter()
    .sum();
    let elapsed = started.elapsed();

    let state = queue.state.lock().unwrap();
    let summary = simulator.summary();
    println!(
        "requeue: {THROTTLED_REQUESTS} requests, {} re-sent, {} receives in {invocations} \
         invocations, {} dead-lettered, {elapsed:.2?}; simulator: {summary}",
        state.resent.len(),
        state.receives,
        state.dead.len(),
    );
    // Every valid request started exactly one contact, and nothing else did.
    let mut contacts_per_request: HashMap<usize, usize> = HashMap::new();
    for contact in simulator.contacts() {
        let number = destination(&contact.request);
        let i = *numbers
            .get(&number)
            .unwrap_or_else(|| panic!("a contact for no valid request: {number}"));
        *contacts_per_request.entry(i).or_default() += 1;
    }
    let twice: Vec<_> = contacts_per_request
        .iter()
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(
        twice.is_empty(),
        "requests with several contacts: {twice:?}"
    );
    assert_eq!(contacts_per_request.len(), numbers.len());
    // Only the invalid requests were dead-lettered, each after its third receive.
    let mut dead: Vec<(String, u32)> = state.dead.clone();
    dead.sort();
    let invalid: Vec<(String, u32)> = (0..THROTTLED_REQUESTS)
        .filter(|i| request(*i).1.is_none())
        .map(|i| (id(i), 3))
        .collect();
    assert_eq!(dead, invalid);
    // Connect did throttle, the throttled records were re-sent after a few seconds, and the
    // queue settled every message, original or copy.
    assert!(summary.throttled > 0, "{summary}");
    assert!(!state.resent.is_empty());
    assert!(
        state.resent.iter().all(|s| (2..=6).contains(s)),
        "{:?}",
        state.resent
    );
    assert_eq!(
        state.deleted.len() + state.dead.len(),
        THROTTLED_REQUESTS + state.resent.len()
    );
    assert!(state.visible.is_empty() && state.delayed.is_empty() && state.in_flight == 0);
    assert_eq!(summary.refused(), 0, "{summary}");
}
