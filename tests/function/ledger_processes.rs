//! The ledger across function processes: the compiled binary, run as Lambda runs it, against
//! DynamoDB Local and the Connect simulator. A request delivered again after Connect forgot its
//! token (7 days), two processes racing on one request, and a process killed after Connect
//! started the contact but before the ledger heard of it.

use std::collections::HashSet;
use std::time::Duration;

use connect_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use lambda_testkit::{Invocation, Process, RuntimeApi};
use serde_json::{Value, json};

use crate::ledger::status_of;
use crate::support::binary::{lambda_environment, spawn_bootstrap};
use crate::support::dynamodb::*;
use crate::support::failed_ids;
use crate::support::records::{STANDARD_QUEUE, sqs_record};

/// The function pointed at `api`, `sim` and `state`, its ledger on (the default with a table).
fn start(api: &RuntimeApi, sim: &RunningSimulator, state: &State) -> Process {
    let mut environment = lambda_environment(&api.address(), &sim.endpoint_url(), "JSON", "info");
    for (name, value) in [
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            state.db.endpoint_url().as_str(),
        ),
        ("STATE_TABLE_NAME", state.table.as_str()),
        ("RECIPIENT_HASH_KEY", HASH_KEY),
    ] {
        environment.insert(name.to_owned(), value.to_owned());
    }
    spawn_bootstrap(environment)
}

/// A one-record SQS event for `number`.
fn record_event(id: &str, number: &str) -> Value {
    let body = json!({"to": number, "message": {"content": "Your parcel arrives today"}});
    json!({"Records": [sqs_record(STANDARD_QUEUE, id, &body.to_string(), 1, None)]})
}

/// The contacts the simulator started for `number`, each once.
fn contacts_to(sim: &RunningSimulator, number: &str) -> HashSet<String> {
    sim.contacts()
        .into_iter()
        .filter(|c| c.request["DestinationEndpoint"]["Address"] == number)
        .map(|c| c.contact_id)
        .collect()
}

/// The ledger's document of the request the simulator's contact `contact_id` came from.
async fn document_of(state: &State, contact_id: &str) -> Value {
    let function = crate::ledger::ledger_function(state, &[]);
    let (status, document) = status_of(&function, &format!("/contacts/{contact_id}")).await;
    assert_eq!(status, 200, "{document}");
    document
}

/// Invokes `process` and expects an answer with no failed record.
async fn invoke_ok(process: &mut Process, api: &RuntimeApi, name: &str, event: Value) {
    match process.invoke(api, name, event).await {
        Invocation::Response(answer) => {
            assert_eq!(
                failed_ids(&answer),
                Vec::<String>::new(),
                "{}",
                process.output()
            )
        }
        other => panic!("{name}: {other:?}\n{}", process.output()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_delivered_again_after_connect_forgot_its_token_starts_no_second_contact() {
    let state = State::start().await;
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let api = RuntimeApi::start().await;
    let mut function = start(&api, &sim, &state);
    let number = "+14255550141";
    let event = record_event("m-week", number);
    invoke_ok(&mut function, &api, "first", event.clone()).await;
    let started = contacts_to(&sim, number);
    assert_eq!(started.len(), 1);
    // Eight days on: Connect no longer knows the token, and would start a second contact.
    sim.forget_tokens();
    let calls = sim.journal().len();
    invoke_ok(&mut function, &api, "redelivery", event).await;
    assert_eq!(sim.journal().len(), calls, "Connect was called again");
    assert_eq!(contacts_to(&sim, number), started);
    let contact_id = started.into_iter().next().unwrap();
    let document = document_of(&state, &contact_id).await;
    assert_eq!(document["state"], "SENT");
    assert_eq!(document["contactId"], contact_id.as_str());
    assert!(function.output().contains("\"outcome\":\"started\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_racing_on_one_request_leave_one_contact_and_one_sent_entry() {
    let state = State::start().await;
    let sim = Simulator::start(SimulatorConfig {
        latency: Duration::from_millis(200),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let (api_a, api_b) = (RuntimeApi::start().await, RuntimeApi::start().await);
    let (mut a, mut b) = (start(&api_a, &sim, &state), start(&api_b, &sim, &state));
    for round in 0..4 {
        let number = format!("+1425555015{round}");
        // The same message delivered to both (a visibility timeout ran out under the first).
        let event = record_event(&format!("m-race-{round}"), &number);
        let (left, right) = tokio::join!(
            a.invoke(&api_a, "a", event.clone()),
            b.invoke(&api_b, "b", event)
        );
        for answer in [left, right] {
            let Invocation::Response(answer) = answer else {
                panic!("{answer:?}\n{}{}", a.output(), b.output());
            };
            assert!(failed_ids(&answer).is_empty(), "{answer}");
        }
        let started = contacts_to(&sim, &number);
        assert_eq!(started.len(), 1, "round {round}");
        let document = document_of(&state, started.iter().next().unwrap()).await;
        assert_eq!(document["state"], "SENT");
        let sent = document["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|step| step["state"] == "SENT")
            .count();
        assert_eq!(sent, 1, "one process's write was refused: {document}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_after_connect_started_the_contact_leaves_one_contact_once_redelivered() {
    let state = State::start().await;
    // Connect starts the contact at once and answers 3 s later: the process dies in between,
    // before it could write the ledger.
    let sim = Simulator::start(SimulatorConfig {
        latency: Duration::from_secs(3),
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let number = "+14255550161";
    let event = record_event("m-killed", number);
    let first_api = RuntimeApi::start().await;
    let first = start(&first_api, &sim, &state);
    first_api.queue([event.clone()]);
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while contacts_to(&sim, number).is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(started.is_ok(), "no contact\n{}", first.output());
    drop(first); // SIGKILL: no answer, no ledger write; the record comes back.
    assert!(first_api.answers().is_empty());
    let api = RuntimeApi::start().await;
    let mut second = start(&api, &sim, &state);
    invoke_ok(&mut second, &api, "redelivery", event).await;
    let contacts = contacts_to(&sim, number);
    assert_eq!(contacts.len(), 1);
    let document = document_of(&state, contacts.iter().next().unwrap()).await;
    assert_eq!(document["state"], "SENT");
}
