//! The ledger (contract §7) against DynamoDB Local: one entry per request with its state and
//! nothing personal, a request sent before answered without Connect, contact events in any
//! order moving a contact forward only, the status routes, and the cost in DynamoDB calls.

use std::sync::Arc;

use outbound_chat::adapters::{DynamoLedger, DynamoRecipientState};
use outbound_chat::{ContactStarter, Function};
use serde_json::{Value, json};

use crate::support::dynamodb::*;
use crate::support::records::{STANDARD_QUEUE, sqs_record};
use crate::support::*;

/// A function over `state`'s table with the ledger attached (and `overrides`).
pub fn ledger_function(state: &State, overrides: &[(&str, &str)]) -> TestFunction {
    let mut vars = vec![
        ("STATE_TABLE_NAME", state.table.as_str()),
        ("RECIPIENT_HASH_KEY", HASH_KEY),
    ];
    vars.extend_from_slice(overrides);
    let recipients = DynamoRecipientState::new(state.client.clone(), &state.table);
    let ledger = DynamoLedger::new(state.client.clone(), &state.table);
    TestFunction::new(FakeConnect::default(), &config_with(&vars)).map(|f| {
        f.with_recipient_state(Arc::new(recipients))
            .with_ledger(Arc::new(ledger), None)
    })
}

/// The status document of `token` (`GET /requests/{token}`): status code and body.
pub async fn status_of<C: ContactStarter>(function: &Function<C>, path: &str) -> (u16, Value) {
    let answer = invoke(function, http_request("GET", path, &Value::Null))
        .await
        .expect("an HTTP answer");
    let status = answer["statusCode"].as_u64().expect("a status") as u16;
    (status, http_body(&answer))
}

/// An SQS batch of `bodies`, each record named after its index.
fn batch(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            sqs_record(
                STANDARD_QUEUE,
                &format!("m-{i}"),
                &body.to_string(),
                1,
                None,
            )
        })
        .collect();
    json!({ "Records": records })
}

/// A promotional SMS to `number` with its own client token and an attribute.
fn request(number: &str, token: &str) -> Value {
    json!({"to": number, "message": {"content": "20% off this week"}, "clientToken": token,
        "attributes": {"orderId": "A-1001"}})
}

#[tokio::test]
async fn every_decision_leaves_one_entry_with_its_state_and_nothing_personal() {
    let state = State::start().await;
    let function = ledger_function(&state, &[]);
    let numbers = [
        "+14255550101",
        "+14255550102",
        "+14255550103",
        "+14255550104",
        "+14255550105",
        "+14255550106",
    ];
    let listed = json!({"to": numbers[1]});
    invoke(&function, http_request("PUT", "/suppressions", &listed))
        .await
        .unwrap();
    function
        .connect()
        .script(numbers[4], Script::Always(transient()));
    function
        .connect()
        .script(numbers[5], Script::Always(rejected()));
    let mut expired = request(numbers[2], "t-expired");
    expired["expiresAt"] = json!("2020-01-01T00:00:00Z");
    let invalid = json!({"channel": "WHATSAPP", "to": numbers[3], "clientToken": "t-invalid",
        "message": {"content": "20% off this week"}});
    let bodies = [
        request(numbers[0], "t-sent"),
        request(numbers[1], "t-listed"),
        expired,
        invalid,
        request(numbers[4], "t-retrying"),
        request(numbers[5], "t-rejected"),
    ];
    state.calls.take();
    let answer = invoke(&function, batch(&bodies)).await.unwrap();
    // One look-up of the list and the ledger together, one write of the ledger: the ledger's
    // cost per batch is that one write.
    let mut calls = state.calls.take();
    calls.sort();
    assert_eq!(calls, ["BatchGetItem", "TransactWriteItems"]);
    assert_eq!(failed_ids(&answer), ["m-2", "m-3", "m-4", "m-5"]);
    let expected = [
        ("t-sent", "SENT", Some(("contactId", "contact-t-sent"))),
        ("t-listed", "SUPPRESSED", Some(("reason", "DO_NOT_CONTACT"))),
        ("t-expired", "EXPIRED", None),
        ("t-invalid", "REJECTED", Some(("code", "INVALID_REQUEST"))),
        ("t-retrying", "RETRYING", Some(("code", "INTERNAL_ERROR"))),
        ("t-rejected", "REJECTED", Some(("code", "REJECTED"))),
    ];
    for (token, name, detail) in expected {
        let (status, document) = status_of(&function, &format!("/requests/{token}")).await;
        assert_eq!(status, 200, "{token}: {document}");
        assert_eq!(document["state"], name, "{document}");
        assert_eq!(document["trigger"], "sqs", "{document}");
        assert_eq!(
            document["history"].as_array().unwrap().len(),
            1,
            "{document}"
        );
        if let Some((member, value)) = detail {
            assert_eq!(document[member], value, "{document}");
        }
    }
    assert_nothing_personal(&state, &numbers).await;
}

/// The table holds six ledger entries, each kept 90 days, and none of `numbers`, the content
/// or the attributes of the requests.
async fn assert_nothing_personal(state: &State, numbers: &[&str]) {
    let items = state
        .client
        .scan()
        .table_name(&state.table)
        .send()
        .await
        .unwrap();
    let stored = format!("{:?}", items.items());
    for personal in numbers
        .iter()
        .copied()
        .chain(["4255550101", "20% off", "orderId", "A-1001"])
    {
        assert!(!stored.contains(personal), "{personal} is stored: {stored}");
    }
    let entries: Vec<_> = items
        .items()
        .iter()
        .filter(|item| item["pk"].as_s().unwrap().starts_with("REQUEST#"))
        .collect();
    assert_eq!(entries.len(), 6);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for item in entries {
        let ttl: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
        assert!((ttl - now - 90 * 86_400).abs() < 120, "90 days by default");
    }
}

#[tokio::test]
async fn a_state_never_goes_back_and_a_request_sent_before_is_answered_without_connect() {
    let state = State::start().await;
    let function = ledger_function(&state, &[]);
    let number = "+14255550111";
    function
        .connect()
        .script(number, Script::Nth(1, throttled()));
    let event = batch(&[request(number, "t-later")]);
    let first = invoke(&function, event.clone()).await.unwrap();
    assert_eq!(failed_ids(&first), ["m-0"]);
    let second = invoke(&function, event.clone()).await.unwrap();
    assert!(failed_ids(&second).is_empty());
    // Delivered again and again, by any trigger: the recorded contact, and no call.
    let direct = invoke(&function, request(number, "t-later")).await.unwrap();
    assert_eq!(direct["contactId"], "contact-t-later");
    invoke(&function, event).await.unwrap();
    assert_eq!(function.connect().calls().len(), 2);
    let (_, document) = status_of(&function, "/requests/t-later").await;
    assert_eq!(document["state"], "SENT");
    let steps: Vec<&str> = document["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["RETRYING", "SENT"]);
}

/// A contact event of `contact_id`, as Connect publishes it to EventBridge.
pub fn contact_event(contact_id: &str, event_type: &str, n: usize) -> Value {
    let mut detail = json!({"eventType": event_type, "contactId": contact_id, "channel": "CHAT",
        "initiationMethod": "API",
        "instanceArn": "arn:aws:connect:us-east-1:123456789012:instance/f1e2d3c4-0000-4000-8000-000000000001",
        "initiationTimestamp": "2026-11-23T08:00:00.000Z",
        "segmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}},
        "someFieldConnectAddsLater": {"x": [1]}});
    match event_type {
        "DISCONNECTED" => {
            detail["disconnectTimestamp"] = json!("2026-11-23T08:10:00.000Z");
            detail["disconnectReason"] = json!("CUSTOMER_DISCONNECT");
        }
        "CONTACT_DATA_UPDATED" => {
            detail["chatMetrics"] = json!({"participantMetrics": [
                {"participantType": "AGENT", "messagesSent": 2},
                {"participantType": "CUSTOMER", "messagesSent": 1}]});
        }
        _ => {}
    }
    json!({"version": "0", "id": format!("ev-{contact_id}-{event_type}-{n}"),
        "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
        "account": "123456789012", "time": "2026-11-23T08:00:00Z", "region": "us-east-1",
        "resources": [], "detail": detail})
}

/// The events of one contact's life, each twice, in an order drawn from `seed`.
fn shuffled_life(contact_id: &str, seed: u64) -> Vec<Value> {
    let types = [
        "INITIATED",
        "CONNECTED_TO_SYSTEM",
        "CONTACT_DATA_UPDATED",
        "DISCONNECTED",
    ];
    let mut events: Vec<Value> = (0..2)
        .flat_map(|n| types.iter().map(move |t| contact_event(contact_id, t, n)))
        .collect();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in (1..events.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        events.swap(i, (x >> 33) as usize % (i + 1));
    }
    events
}

#[tokio::test]
async fn contact_events_in_any_order_and_repeated_move_a_contact_forward_only() {
    let state = State::start().await;
    let function = ledger_function(&state, &[]);
    for seed in 0..6u64 {
        let token = format!("life-{seed}");
        let number = format!("+1425555012{seed}");
        let sent = invoke(&function, request(&number, &token)).await.unwrap();
        let contact_id = sent["contactId"].as_str().unwrap().to_owned();
        let events = shuffled_life(&contact_id, seed);
        if seed % 2 == 0 {
            for event in events {
                invoke(&function, event).await.unwrap();
            }
        } else {
            // As SQS record bodies, in two batches, one with a send request among them.
            let mut bodies: Vec<Value> = events;
            bodies.insert(3, request(&number, &token));
            let (first, second) = bodies.split_at(4);
            for half in [first, second] {
                let answer = invoke(&function, batch(half)).await.unwrap();
                assert!(failed_ids(&answer).is_empty(), "{answer}");
            }
        }
        // A late event after the end moves nothing back.
        invoke(
            &function,
            contact_event(&contact_id, "CONNECTED_TO_SYSTEM", 9),
        )
        .await
        .unwrap();
        for path in [
            format!("/requests/{token}"),
            format!("/contacts/{contact_id}"),
        ] {
            let (status, document) = status_of(&function, &path).await;
            assert_eq!(status, 200, "{document}");
            assert_eq!(document["state"], "SENT");
            assert_eq!(
                document["contact"],
                json!({"status": "ENDED", "endedAt": "2026-11-23T08:10:00Z",
                    "disconnectReason": "CUSTOMER_DISCONNECT", "customerReplied": true}),
                "seed {seed}"
            );
        }
    }
    assert_eq!(function.connect().calls().len(), 6);
}

#[tokio::test]
async fn an_event_for_an_unknown_contact_is_ignored_and_counted() {
    let state = State::start().await;
    let function = ledger_function(&state, &[]);
    let (answer, metrics) = outbound_chat::testing::capture_metrics(invoke(
        &function,
        contact_event("not-ours", "DISCONNECTED", 0),
    ))
    .await;
    assert_eq!(
        answer.unwrap(),
        json!({"status": "UNKNOWN", "contactId": "not-ours"})
    );
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(metrics[0]["Trigger"], "contact-event");
    assert_eq!(metrics[0]["Channel"], "SMS");
    assert_eq!(metrics[0]["ContactEventsUnknown"], 1);
    assert_eq!(metrics[0]["ContactsEnded"], 0);
    assert!(
        metrics[0].get("ContactsStarted").is_none(),
        "{}",
        metrics[0]
    );
}

#[tokio::test]
async fn the_status_routes_answer_not_found_and_not_configured() {
    let state = State::start().await;
    let function = ledger_function(&state, &[]);
    for path in [
        "/requests/nobody%20sent%20this",
        "/contacts/no-such-contact",
    ] {
        let (status, body) = status_of(&function, path).await;
        assert_eq!(
            (status, &body["code"]),
            (404, &json!("NOT_FOUND")),
            "{path}"
        );
    }
    let (status, body) = status_of(&function, "/requests/t-1").await;
    assert_eq!(status, 404, "{body}");
    let plain = crate::support::function();
    let (status, body) = status_of(&plain, "/requests/t-1").await;
    assert_eq!((status, &body["code"]), (404, &json!("NOT_CONFIGURED")));
    let off = ledger_function(&state, &[("LEDGER", "off")]);
    let (status, body) = status_of(&off, "/contacts/c-1").await;
    assert_eq!((status, &body["code"]), (404, &json!("NOT_CONFIGURED")));
    let answer = invoke(&off, request("+14255550131", "t-off"))
        .await
        .unwrap();
    assert!(answer["contactId"].is_string());
    let (_, body) = status_of(&function, "/requests/t-off").await;
    assert_eq!(body["code"], "NOT_FOUND", "LEDGER=off writes nothing");
}
