//! Outcome events (contract §7) against moto's EventBridge: a rule on the function's bus sends
//! every event to an SQS queue the test reads. Each change of a request's state and of its
//! contact's status is published; a publish that fails brings the SQS record back, and its
//! redelivery publishes again without a second contact.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use outbound_chat::adapters::{
    ClientSettings, DynamoLedger, DynamoRecipientState, SdkOutcomeBus, load_eventbridge_client,
};
use serde_json::{Value, json};

use crate::ledger::contact_event;
use crate::support::dynamodb::{HASH_KEY, State};
use crate::support::records::{STANDARD_QUEUE, sqs_record};
use crate::support::sqs::Sqs;
use crate::support::*;

const BUS: &str = "outcomes";

fn eventbridge_settings(endpoint: &str) -> ClientSettings {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL_EVENTBRIDGE", endpoint),
    ]);
    let lookup = |name: &str| vars.get(name).map(|v| v.to_string());
    ClientSettings::from_lookup(lookup)
        .and_then(|s| s.for_service("AWS_ENDPOINT_URL_EVENTBRIDGE", lookup))
        .expect("settings")
}

/// A function with the ledger in `state` publishing to the bus at `endpoint`.
fn publishing_function(state: &State, endpoint: &str) -> TestFunction {
    let config = config_with(&[
        ("STATE_TABLE_NAME", state.table.as_str()),
        ("RECIPIENT_HASH_KEY", HASH_KEY),
        ("OUTCOME_EVENT_BUS", BUS),
    ]);
    let recipients = DynamoRecipientState::new(state.client.clone(), &state.table);
    let ledger = DynamoLedger::new(state.client.clone(), &state.table);
    let bus = SdkOutcomeBus::new(
        load_eventbridge_client(&eventbridge_settings(endpoint)),
        BUS,
    );
    TestFunction::new(FakeConnect::default(), &config).map(|f| {
        f.with_recipient_state(Arc::new(recipients))
            .with_ledger(Arc::new(ledger), Some(Arc::new(bus)))
    })
}

/// The bus, and a queue that a rule on it fills with every outcome event.
async fn bus_to_queue(sqs: &Sqs) -> String {
    let events = load_eventbridge_client(&eventbridge_settings(sqs.server.endpoint()));
    events
        .create_event_bus()
        .name(BUS)
        .send()
        .await
        .expect("bus");
    let queue_url = sqs.queue("outcome-events").await;
    let attributes = sqs
        .client
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes");
    let arn = attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    events
        .put_rule()
        .name("every-outcome")
        .event_bus_name(BUS)
        .event_pattern(
            r#"{"source": ["outbound-chat"], "detail-type": ["Outbound Chat Request Updated"]}"#,
        )
        .send()
        .await
        .expect("rule");
    let target = Target::builder().id("queue").arn(arn).build().unwrap();
    events
        .put_targets()
        .rule("every-outcome")
        .event_bus_name(BUS)
        .targets(target)
        .send()
        .await
        .expect("target");
    queue_url
}

/// The events on the queue, waiting up to a few seconds for `count` of them.
async fn read_events(sqs: &Sqs, queue_url: &str, count: usize) -> Vec<Value> {
    let mut events = Vec::new();
    for _ in 0..10 {
        for message in sqs.receive(queue_url, 1).await {
            events.push(serde_json::from_str(message.body().unwrap()).unwrap());
        }
        if events.len() >= count {
            break;
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_published_and_a_failed_publish_brings_its_record_back() {
    let state = State::start().await;
    let sqs = Sqs::start();
    let queue_url = bus_to_queue(&sqs).await;
    let body = json!({"to": "+14255550171", "message": {"content": "Your table is ready"},
        "clientToken": "table-7"});
    let event = json!({"Records": [sqs_record(STANDARD_QUEUE, "m-1", &body.to_string(), 1, None)]});

    // EventBridge out of reach: the contact is started and recorded, the record comes back.
    let unreachable = publishing_function(&state, "http://127.0.0.1:9");
    let answer = invoke(&unreachable, event.clone()).await.unwrap();
    assert_eq!(failed_ids(&answer), ["m-1"]);
    assert_eq!(unreachable.connect().calls().len(), 1);

    // Its redelivery finds the entry: published, and no second contact.
    let function = publishing_function(&state, sqs.server.endpoint());
    let answer = invoke(&function, event).await.unwrap();
    assert!(failed_ids(&answer).is_empty(), "{answer}");
    assert!(function.connect().calls().is_empty());
    let contact_id = "contact-table-7";
    invoke(&function, contact_event(contact_id, "DISCONNECTED", 0))
        .await
        .unwrap();
    // Repeated: nothing moves, nothing is published.
    invoke(&function, contact_event(contact_id, "DISCONNECTED", 1))
        .await
        .unwrap();

    let events = read_events(&sqs, &queue_url, 2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for event in &events {
        assert_eq!(event["source"], "outbound-chat");
        assert_eq!(event["detail-type"], "Outbound Chat Request Updated");
        assert_eq!(event["detail"]["clientToken"], "table-7");
        assert_eq!(event["detail"]["state"], "SENT");
        assert_eq!(event["detail"]["contactId"], contact_id);
    }
    let statuses: Vec<Value> = events
        .iter()
        .map(|e| e["detail"]["contact"]["status"].clone())
        .collect();
    assert!(
        statuses.contains(&Value::Null),
        "the SENT entry, published again: {events:?}"
    );
    assert!(statuses.contains(&json!("ENDED")), "{events:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sqs.receive(&queue_url, 0).await.is_empty());
}
