//! End to end: the compiled `bootstrap` binary, run as Lambda runs it, against the Runtime API
//! emulator and the Connect simulator; every sample event, an unrecognized event, a bad
//! configuration.

use std::collections::{BTreeMap, HashSet};

use connect_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use lambda_testkit::{Extension, Invocation, Process, RuntimeApi};
use serde_json::{Value, json};

use crate::support::binary::{lambda_environment, spawn_bootstrap};
use crate::support::{failed_ids, http_body, sample_event, sample_event_names};

/// The function as the tests run it: JSON logs at INFO, pointed at `api` and at `sim`, with
/// the test configuration changed by `overrides`.
fn start_function(api: &RuntimeApi, sim: &RunningSimulator, overrides: &[(&str, &str)]) -> Process {
    let mut environment = lambda_environment(&api.address(), &sim.endpoint_url(), "JSON", "info");
    environment.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    spawn_bootstrap(environment)
}

/// What one sample event must be answered with, and how many contacts it starts.
struct Expected {
    contacts: usize,
    check: fn(&Value, &HashSet<String>),
}

/// The expected answer of every sample event, by file name.
fn expected_answers() -> BTreeMap<&'static str, Expected> {
    BTreeMap::from([
        (
            "sqs-mixed-batch.json",
            Expected {
                contacts: 3,
                check: |answer, _| {
                    assert_eq!(failed_ids(answer), ["0c5f3a52-0003-4d6b-9b1e-6f0a2c3b4d03"])
                },
            },
        ),
        (
            "sqs-fifo-two-groups.json",
            Expected {
                contacts: 5,
                check: |answer, _| assert_eq!(answer, &json!({"batchItemFailures": []})),
            },
        ),
        (
            "eventbridge.json",
            Expected {
                contacts: 1,
                check: |answer, contacts| assert_started(&answer["contactId"], contacts),
            },
        ),
        (
            "flow-sms-deflection.json",
            Expected {
                contacts: 1,
                check: check_flow,
            },
        ),
        (
            "flow-whatsapp-queue.json",
            Expected {
                contacts: 1,
                check: check_flow,
            },
        ),
        (
            "direct-invoke-native.json",
            Expected {
                contacts: 1,
                check: |answer, contacts| assert_started(&answer["contactId"], contacts),
            },
        ),
        (
            "apigw-rest-single.json",
            Expected {
                contacts: 1,
                check: check_single_http,
            },
        ),
        (
            "apigw-http-single.json",
            Expected {
                contacts: 1,
                check: check_single_http,
            },
        ),
        (
            "function-url-base64.json",
            Expected {
                contacts: 1,
                check: check_single_http,
            },
        ),
        (
            "apigw-http-batch.json",
            Expected {
                contacts: 2,
                check: |answer, contacts| {
                    assert_eq!(answer["statusCode"], 200);
                    let body = http_body(answer);
                    let ids = |list: &str| -> Vec<String> {
                        entries(&body, list)
                            .iter()
                            .map(|e| e["RequestIdentifier"].as_str().unwrap().to_owned())
                            .collect()
                    };
                    assert_eq!(ids("SuccessfulRequestList"), ["reminder-1", "reminder-2"]);
                    for success in entries(&body, "SuccessfulRequestList") {
                        assert_started(&success["ContactId"], contacts);
                    }
                    let failures: Vec<(&str, &str)> = entries(&body, "FailedRequestList")
                        .iter()
                        .map(|e| {
                            (
                                e["RequestIdentifier"].as_str().unwrap(),
                                e["FailureReasonCode"].as_str().unwrap(),
                            )
                        })
                        .collect();
                    assert_eq!(
                        failures,
                        [
                            ("reminder-3", "INVALID_CUSTOMER_ENDPOINT"),
                            ("reminder-4", "EXPIRED")
                        ]
                    );
                },
            },
        ),
    ])
}

fn check_flow(answer: &Value, contacts: &HashSet<String>) {
    assert_eq!(answer["status"], "SENT", "{answer}");
    assert_started(&answer["contactId"], contacts);
}

fn check_single_http(answer: &Value, contacts: &HashSet<String>) {
    assert_eq!(answer["statusCode"], 200);
    assert_started(&http_body(answer)["contactId"], contacts);
}

fn entries<'a>(body: &'a Value, list: &str) -> &'a Vec<Value> {
    body[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {body}"))
}

/// The id is one the simulator handed out.
fn assert_started(id: &Value, contacts: &HashSet<String>) {
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("a contact id, got {id}"));
    assert!(
        contacts.contains(id),
        "{id} is not a contact the simulator started"
    );
}

fn contact_ids(sim: &RunningSimulator) -> HashSet<String> {
    sim.contacts().into_iter().map(|c| c.contact_id).collect()
}

/// Every destination number in the sample events, as written (for the log privacy check).
fn e164_numbers_in(text: &str) -> Vec<String> {
    let mut numbers = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices("+1425555") {
        let end = (i + 1..bytes.len())
            .find(|&j| !bytes[j].is_ascii_digit())
            .unwrap_or(bytes.len());
        numbers.push(text[i..end].to_owned());
    }
    numbers
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_gets_its_answer_from_the_compiled_function() {
    let sim = Simulator::start(SimulatorConfig::default())
        .await
        .expect("start the Connect simulator");
    let api = RuntimeApi::start().await;
    let mut function = start_function(&api, &sim, &[]);
    let expected = expected_answers();
    let names = sample_event_names();
    assert!(!names.is_empty(), "no sample events in events/");
    let stale: Vec<&&str> = expected
        .keys()
        .filter(|k| !names.iter().any(|n| n == *k))
        .collect();
    assert!(
        stale.is_empty(),
        "expected answers for missing events: {stale:?}"
    );

    let mut total = 0;
    let mut numbers = Vec::new();
    for name in &names {
        let expect = expected
            .get(name.as_str())
            .unwrap_or_else(|| panic!("events/{name} has no expected answer in e2e.rs"));
        let event = sample_event(name);
        numbers.extend(e164_numbers_in(&event.to_string()));
        let before = sim.contacts().len();
        let answer = match function.invoke(&api, name, event).await {
            Invocation::Response(answer) => answer,
            Invocation::Error {
                error_type,
                message,
            } => panic!(
                "{name}: error {error_type}: {message}\n{}",
                function.output()
            ),
        };
        let started = sim.contacts().len() - before;
        assert_eq!(started, expect.contacts, "{name}: contacts started");
        (expect.check)(&answer, &contact_ids(&sim));
        total += expect.contacts;
    }

    let summary = sim.summary();
    assert_eq!(summary.contacts_created, total, "{summary}");
    assert_eq!(summary.started, total, "{summary}");
    assert_eq!(
        summary.requests, total,
        "every Connect call reached the simulator: {summary}"
    );
    assert_eq!(summary.refused(), 0, "{summary}");
    assert_eq!(summary.invalid, 0, "{summary}");
    assert!(api.error_headers().is_empty());
    assert_eq!(api.init_error(), None);
    // The graceful-shutdown extension registers before the runtime's first poll, subscribes to
    // nothing, and polls its events (Lambda ends the init phase only then).
    let extensions = api.extensions();
    assert_eq!(
        extensions,
        vec![Extension {
            name: outbound_chat::runtime::EXTENSION_NAME.to_owned(),
            events: vec![],
            before_first_poll: true,
            polls_events: true,
        }]
    );

    assert_eq!(function.stderr(), "", "nothing is written to stderr");
    // With JSON logging every line the function writes to stdout is a JSON object, and no
    // full destination number is in any of them.
    let stdout = function.stdout();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "a log line that is not a JSON object: {line}"
        );
    }
    numbers.sort();
    numbers.dedup();
    let output = function.output();
    for number in numbers.iter().filter(|n| n.len() >= 12) {
        assert!(
            !output.contains(number.as_str()),
            "{number} was logged\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unrecognized_event_comes_back_through_the_error_endpoint_and_the_function_keeps_serving()
 {
    let sim = Simulator::start(SimulatorConfig::default())
        .await
        .expect("start the Connect simulator");
    let api = RuntimeApi::start().await;
    let mut function = start_function(&api, &sim, &[]);

    let answer = function
        .invoke(&api, "unrecognized", json!({"hello": "world"}))
        .await;
    let Invocation::Error {
        error_type,
        message,
    } = answer
    else {
        panic!("an answer instead of an error: {answer:?}");
    };
    assert_eq!(error_type, "UnrecognizedEvent", "{message}");
    assert!(!message.is_empty());
    assert_eq!(api.error_headers(), [Some("unhandled".to_owned())]);
    assert!(sim.journal().is_empty(), "nothing was sent to Connect");

    // The next invocation is served as usual, and a redelivery replays the same contact.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let event = sample_event("direct-invoke-native.json");
        match function
            .invoke(&api, "direct-invoke-native.json", event)
            .await
        {
            Invocation::Response(answer) => ids.push(answer["contactId"].clone()),
            other => panic!("{other:?}\n{}", function.output()),
        }
    }
    assert_eq!(ids[0], ids[1]);
    assert_started(&ids[0], &contact_ids(&sim));
    let summary = sim.summary();
    assert_eq!((summary.started, summary.replayed), (1, 1), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_configuration_value_stops_the_function_at_init_naming_the_variable() {
    let sim = Simulator::start(SimulatorConfig::default())
        .await
        .expect("start the Connect simulator");
    let api = RuntimeApi::start().await;
    let mut function = start_function(&api, &sim, &[("MAX_IN_FLIGHT", "0")]);

    let status = function.exit().await;
    assert!(
        !status.success(),
        "exit status {status}\n{}",
        function.output()
    );
    // The configuration is read before the runtime starts: the process exits with the error
    // on stderr, without posting to /init/error or polling for an event.
    let stderr = function.stderr();
    assert!(
        stderr.contains("MAX_IN_FLIGHT"),
        "stderr does not name the variable\n{}",
        function.output()
    );
    // It is also logged as an ERROR line in the configured (JSON) log format.
    let logged = function.stdout().lines().any(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|v| v["level"] == "ERROR" && v.to_string().contains("MAX_IN_FLIGHT"))
    });
    assert!(
        logged,
        "no JSON ERROR line names the variable\n{}",
        function.output()
    );
    assert_eq!(api.init_error(), None);
    assert_eq!(api.polls(), 0);
    assert!(sim.journal().is_empty());
}
