//! The invocation deadline: a batch that cannot finish is answered in time with the rest
//! reported, a send starts whenever its shortest call still fits (so Lambda's default 3 s
//! timeout sends), and a call cut by the deadline is reported without risking a second contact
//! on redelivery.

use std::collections::HashSet;
use std::time::Duration;

use connect_simulator::{Outcome, RunningSimulator, Simulator, SimulatorConfig};
use outbound_chat::SendTimeouts;
use outbound_chat::adapters::{ClientSettings, SdkContactStarter, load_client};
use outbound_chat::{Config, ContactStarter, Function};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::records::{STANDARD_QUEUE, destination, sms_body, sqs_record, standard_batch};
use crate::support::*;

/// Timeouts shrunk to fit a one-second invocation: no send starts in its last 500 ms (a call
/// gets at least 400 ms), and calls still running are cut 100 ms before it ends.
fn one_second_budget(max_in_flight: &str, rate: Option<&str>) -> Config {
    let mut vars = vec![("MAX_IN_FLIGHT", max_in_flight)];
    // A fixed rate: these tests are about the deadline, not about how the rate adapts.
    vars.extend(rate.map(|r| ("CONNECT_MAX_REQUESTS_PER_SECOND", r)));
    vars.extend(rate.map(|_| ("CONNECT_PACING", "fixed")));
    config_with(&vars).with_timeouts(SendTimeouts {
        connect: Duration::from_millis(100),
        attempt: Duration::from_millis(400),
        operation: Duration::from_millis(900),
        answer_reserve: Duration::from_millis(100),
        min_call: Duration::from_millis(400),
    })
}

async fn handle_by<C: ContactStarter>(
    function: &Function<C>,
    event: Value,
    deadline: Instant,
) -> Value {
    function
        .handle(event, "deadline", deadline)
        .await
        .expect("an SQS batch is always answered")
}

#[tokio::test]
async fn a_batch_too_large_for_the_time_left_is_answered_in_time_with_the_rest_reported() {
    let simulator = Simulator::start(SimulatorConfig {
        latency: Duration::from_millis(200),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    // The SDK client's own timeouts (2 s per attempt, as in `wire::sdk_starter`) are longer
    // than the invocation: the function's budget alone must keep it in time.
    let function = crate::support::sdk::sdk_function(&simulator, &one_second_budget("2", None));
    let event = standard_batch(10, |i| format!("+1425600{i:04}"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(1);
    let answer = handle_by(&function, event.clone(), deadline).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "answered after {elapsed:?}"
    );

    let failed: HashSet<String> = failed_ids(&answer).into_iter().collect();
    let sent: HashSet<String> = simulator
        .contacts()
        .iter()
        .map(|c| destination(&c.request))
        .collect();
    // Two calls at a time, 200 ms each, none started after 500 ms: three rounds at most.
    assert!((2..=6).contains(&sent.len()), "{} started", sent.len());
    for (i, record) in event["Records"].as_array().unwrap().iter().enumerate() {
        let id = record["messageId"].as_str().unwrap();
        let number = format!("+1425600{i:04}");
        // Both only if a call was cut by the deadline after Connect started the contact (the
        // redelivery below then replays it): that needs a round 200 ms late on a loaded machine.
        assert!(
            sent.contains(&number) || failed.contains(id),
            "record {i} is neither started nor reported"
        );
    }

    // The queue redelivers the reported records; this time there is time for all of them.
    let retried: Vec<Value> = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| failed.contains(r["messageId"].as_str().unwrap()))
        .cloned()
        .collect();
    let later = Instant::now() + Duration::from_secs(10);
    let answer = handle_by(&function, json!({ "Records": retried }), later).await;
    assert!(failed_ids(&answer).is_empty(), "{answer}");
    let contacts = simulator.contacts();
    let numbers: HashSet<String> = contacts.iter().map(|c| destination(&c.request)).collect();
    assert_eq!((contacts.len(), numbers.len()), (10, 10));
}

#[tokio::test(start_paused = true)]
async fn a_record_whose_pacing_slot_comes_after_the_last_start_is_reported_without_waiting() {
    // Four calls a second; with a two-second deadline the last start is at 1.5 s: slots at
    // 0, 0.25, ..., 1.5 s make seven calls.
    let function = TestFunction::new(FakeConnect::default(), &one_second_budget("10", Some("4")));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(2);
    let event = standard_batch(10, |i| format!("+1425601{i:04}"));
    let answer = handle_by(&function, event, deadline).await;
    assert_eq!(function.connect().calls().len(), 7);
    assert_eq!(failed_ids(&answer).len(), 3);
    // The refused records did not sleep towards the deadline: the answer comes with the last call.
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
}

#[tokio::test]
async fn a_call_cut_by_the_deadline_is_reported_and_its_redelivery_starts_no_second_contact() {
    // Connect creates the contact, then takes 1.5 s to answer: longer than the invocation.
    let simulator = Simulator::start(SimulatorConfig {
        latency: Duration::from_millis(1500),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let function = crate::support::sdk::sdk_function(&simulator, &one_second_budget("10", None));
    let body = sms_body("+14256020000", 0);
    let delivery =
        |receives| json!({"Records": [sqs_record(STANDARD_QUEUE, "cut-1", &body, receives, None)]});

    let started = Instant::now();
    let answer = handle_by(&function, delivery(1), started + Duration::from_secs(1)).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(1),
        "answered after {elapsed:?}"
    );
    assert_eq!(failed_ids(&answer), ["cut-1"]);
    let contacts = simulator.contacts();
    assert_eq!(
        contacts.len(),
        1,
        "Connect started it before the call was cut"
    );

    // Redelivered with the same message id: the same client token finds the same contact.
    let later = Instant::now() + Duration::from_secs(5);
    let answer = handle_by(&function, delivery(2), later).await;
    assert!(failed_ids(&answer).is_empty(), "{answer}");
    assert_eq!(simulator.contacts(), contacts);
    let replayed = simulator.journal().iter().any(|e| {
        e.outcome
            == Outcome::Replayed {
                contact_id: contacts[0].contact_id.clone(),
            }
    });
    assert!(replayed, "{:?}", simulator.journal());
}

/// The function as `main.rs` wires it, with its own client and default timeouts (4 s attempt,
/// 250 ms answer reserve), pointed at `simulator`.
fn function_as_deployed(simulator: &RunningSimulator) -> Function<SdkContactStarter> {
    let endpoint = simulator.endpoint_url();
    let settings = ClientSettings::from_lookup(|name| match name {
        "AWS_REGION" => Some("us-east-1".into()),
        "AWS_ACCESS_KEY_ID" => Some("AKIDTEST".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("test-secret".into()),
        "AWS_ENDPOINT_URL_CONNECT" => Some(endpoint.clone()),
        _ => None,
    })
    .expect("client settings");
    let config = test_config();
    let client = load_client(&settings, config.timeouts());
    Function::new(SdkContactStarter::new(client), &config)
}

/// Lambda's default function timeout, which `cargo lambda watch` also applies.
const LAMBDA_DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn under_lambdas_default_three_second_timeout_each_sample_event_starts_what_it_starts_with_thirty()
 {
    for name in sample_event_names() {
        let mut started = Vec::new();
        for budget in [Duration::from_secs(30), LAMBDA_DEFAULT_TIMEOUT] {
            let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
            let function = function_as_deployed(&simulator);
            let deadline = Instant::now() + budget;
            let answer = function
                .handle(sample_event(&name), "deadline", deadline)
                .await;
            assert!(
                Instant::now() < deadline,
                "{name}: answered after the deadline"
            );
            let text = format!("{answer:?}");
            assert!(!text.contains("NOT_ATTEMPTED"), "{name}: {text}");
            assert!(!text.contains("too little time"), "{name}: {text}");
            started.push(simulator.contacts().len());
        }
        assert!(started[0] > 0, "{name} starts no contact at all");
        assert_eq!(started[0], started[1], "{name}: 30 s then 3 s");
    }
}

#[tokio::test]
async fn a_call_slower_than_a_three_second_invocation_is_cut_in_time_and_reported() {
    let simulator = Simulator::start(SimulatorConfig {
        latency: Duration::from_secs(4),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let function = function_as_deployed(&simulator);
    let body = sms_body("+14256030000", 0);
    let event = json!({"Records": [sqs_record(STANDARD_QUEUE, "slow-1", &body, 1, None)]});
    let started = Instant::now();
    let answer = handle_by(&function, event, started + LAMBDA_DEFAULT_TIMEOUT).await;
    let elapsed = started.elapsed();
    // Cut at the answer reserve (250 ms before the deadline), not at the 4 s attempt timeout.
    assert!(
        elapsed >= Duration::from_millis(2700) && elapsed < LAMBDA_DEFAULT_TIMEOUT,
        "answered after {elapsed:?}"
    );
    assert_eq!(failed_ids(&answer), ["slow-1"]);
}

#[tokio::test]
async fn a_send_starts_while_its_shortest_call_fits_before_the_answer_reserve() {
    // Default timeouts: a call gets at least 500 ms, and 250 ms are kept for the answer.
    // (time left, started)
    let cases = [
        (Duration::from_millis(2_000), true),
        (Duration::from_millis(900), true),
        (Duration::from_millis(600), false),
        (Duration::from_millis(100), false),
    ];
    for (left, sends) in cases {
        let function = function();
        let event = standard_batch(1, |_| "+14256040000".into());
        let answer = handle_by(&function, event, Instant::now() + left).await;
        assert_eq!(
            function.connect().calls().len(),
            usize::from(sends),
            "{left:?}"
        );
        assert_eq!(failed_ids(&answer).is_empty(), sends, "{left:?}: {answer}");
    }
}

#[tokio::test]
async fn under_cargo_lambdas_constant_deadline_the_request_is_sent_within_lambdas_default_timeout()
{
    // `cargo lambda watch` answers every invocation with `Lambda-Runtime-Deadline-Ms: 600000`.
    // (deadline in ms since the epoch, sent)
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let cases = [
        (600_000, true),
        (now_ms + 3_000, true),
        (now_ms - 1_000, false),
    ];
    for (deadline, sends) in cases {
        let function = function();
        let mut context = lambda_runtime::Context::default();
        context.request_id = "cargo-lambda-1".into();
        context.deadline = deadline;
        let event = standard_batch(1, |_| "+14256050000".into());
        let started = Instant::now();
        let answer = function
            .handle_lambda(lambda_runtime::LambdaEvent::new(event, context))
            .await
            .expect("an SQS answer");
        assert!(started.elapsed() < LAMBDA_DEFAULT_TIMEOUT, "{deadline}");
        assert_eq!(
            function.connect().calls().len(),
            usize::from(sends),
            "{deadline}"
        );
        assert_eq!(
            failed_ids(&answer).is_empty(),
            sends,
            "{deadline}: {answer}"
        );
    }
}
