//! Frequency caps counted exactly once across function processes: the compiled binary, run as
//! Lambda runs it, against DynamoDB Local and the Connect simulator. Two processes racing for
//! one recipient's last place, and a process killed between its reservation and Connect's
//! answer.

use std::time::Duration;

use connect_simulator::{RunningSimulator, ScriptedReply, Simulator, SimulatorConfig};
use lambda_testkit::{Invocation, Process, RuntimeApi};
use serde_json::{Value, json};

use crate::support::binary::{lambda_environment, spawn_bootstrap};
use crate::support::dynamodb::*;
use crate::support::failed_ids;
use crate::support::records::{STANDARD_QUEUE, sqs_record};

/// The function pointed at `api`, `sim` and `state`, with caps of 1 a day.
fn start(api: &RuntimeApi, sim: &RunningSimulator, state: &State) -> Process {
    let mut environment = lambda_environment(&api.address(), &sim.endpoint_url(), "JSON", "debug");
    for (name, value) in [
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            state.db.endpoint_url().as_str(),
        ),
        ("STATE_TABLE_NAME", state.table.as_str()),
        ("RECIPIENT_HASH_KEY", HASH_KEY),
        ("FREQUENCY_CAPS", "1/24h"),
    ] {
        environment.insert(name.to_owned(), value.to_owned());
    }
    spawn_bootstrap(environment)
}

/// Contacts the simulator started for `number`.
fn contacts_to(sim: &RunningSimulator, number: &str) -> usize {
    sim.contacts()
        .iter()
        .filter(|c| c.request["DestinationEndpoint"]["Address"] == number)
        .count()
}

/// Neither a number nor the key nor a recipient's hash in what the processes printed.
fn assert_private(output: &str, numbers: &[String]) {
    for number in numbers {
        assert!(!output.contains(number.as_str()), "a number was logged");
        assert!(
            !output.contains(&recipient_hash(number)),
            "a recipient hash was logged"
        );
    }
    assert!(!output.contains(HASH_KEY), "the hash key was logged");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_racing_for_a_cap_of_one_never_both_send() {
    let state = State::start().await;
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let (api_a, api_b) = (RuntimeApi::start().await, RuntimeApi::start().await);
    let (mut a, mut b) = (start(&api_a, &sim, &state), start(&api_b, &sim, &state));
    let mut numbers: Vec<String> = (0..8).map(|i| format!("+1425555017{i}")).collect();
    // The list, changed through one process, binds the other, and neither logs the number.
    let listed = "+14255550189";
    let entry = json!({"to": listed});
    let Invocation::Response(added) = a
        .invoke(&api_a, "list", http_request("PUT", "/suppressions", &entry))
        .await
    else {
        panic!("PUT /suppressions failed\n{}", a.output());
    };
    assert_eq!(added["statusCode"], 200, "{added}");
    let event = eventbridge("listed", promotion(listed));
    let Invocation::Response(answer) = b.invoke(&api_b, "listed", event).await else {
        panic!("the listed request failed\n{}", b.output());
    };
    assert_eq!(
        answer,
        json!({"status": "SUPPRESSED", "reason": "DO_NOT_CONTACT"})
    );
    numbers.push(listed.to_owned());
    for (round, number) in numbers.iter().take(8).enumerate() {
        let event = |side: &str| eventbridge(&format!("{side}-{round}"), promotion(number));
        let (left, right) = tokio::join!(
            a.invoke(&api_a, "a", event("a")),
            b.invoke(&api_b, "b", event("b"))
        );
        let mut started = 0;
        for answer in [left, right] {
            match answer {
                Invocation::Response(answer) if answer["contactId"].is_string() => started += 1,
                Invocation::Response(answer) => {
                    assert_eq!(
                        answer,
                        json!({"status": "SUPPRESSED", "reason": "FREQUENCY_CAP"})
                    )
                }
                // A transaction that met the other one's is cancelled: retried later, unsent.
                Invocation::Error { error_type, .. } => assert_eq!(error_type, "Unavailable"),
            }
        }
        assert!(started <= 1, "round {round}: both processes sent");
        assert_eq!(contacts_to(&sim, number), started, "round {round}");
        assert_eq!(state.taken(number).await, started, "round {round}");
    }
    let output = format!("{}{}", a.output(), b.output());
    assert!(output.contains("\"outcome\":\"suppressed\""), "{output}");
    assert_private(&output, &numbers);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_after_reserving_sends_once_when_its_record_comes_back() {
    let state = State::start().await;
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    // Connect holds the first call long enough for the process to be killed inside it.
    sim.script(vec![ScriptedReply::Delay(Duration::from_secs(3))]);
    let number = "+14255550180";
    let body = promotion(number).to_string();
    let record = sqs_record(STANDARD_QUEUE, "m-killed", &body, 1, None);
    let event: Value = json!({ "Records": [record] });

    let first_api = RuntimeApi::start().await;
    let first = start(&first_api, &sim, &state);
    first_api.queue([event.clone()]);
    let reserved = tokio::time::timeout(Duration::from_secs(30), async {
        while state.taken(number).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(reserved.is_ok(), "no reservation\n{}", first.output());
    let first_output = first.output();
    drop(first); // SIGKILL: no answer, the record comes back after its visibility timeout.
    assert!(first_api.answers().is_empty());

    let api = RuntimeApi::start().await;
    let mut second = start(&api, &sim, &state);
    let Invocation::Response(answer) = second.invoke(&api, "redelivery", event).await else {
        panic!("the redelivery failed\n{}", second.output());
    };
    assert_eq!(
        failed_ids(&answer),
        Vec::<String>::new(),
        "{}",
        second.output()
    );
    // The killed call may still reach Connect; its token is the redelivery's: one contact.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let distinct: std::collections::HashSet<String> = sim
        .contacts()
        .into_iter()
        .filter(|c| c.request["DestinationEndpoint"]["Address"] == number)
        .map(|c| c.contact_id)
        .collect();
    assert_eq!(distinct.len(), 1);
    let places = state.places(number).await;
    assert_eq!(places.len(), 1);
    let (_, held, expires) = &places[0];
    assert_eq!(*held, 1, "the redelivery found its own place");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now + 86_400 - 120..=now + 86_400).contains(expires),
        "the count expires a window after its send: {expires}"
    );
    assert_private(
        &format!("{first_output}{}", second.output()),
        &[number.to_owned()],
    );
}
