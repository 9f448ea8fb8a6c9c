//! The local run's ledger (`--ledger`): DynamoDB Local with the function's table, the function
//! wired to it as in Lambda, and the simulator's contact events handed to the function, so a
//! request can be seen going `SENT` → `CONNECTED` → `ENDED` without an AWS account.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use connect_simulator::RunningSimulator;
use lambda_runtime::{Context, LambdaEvent};
use lambda_testkit::DynamoDbLocal;
use outbound_chat::Function;
use outbound_chat::adapters::{CONTACT_INDEX, SdkContactStarter};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// The local table's name.
pub const TABLE: &str = "outbound-chat-local";
/// A fixed recipient hash key for local runs only (32 bytes, base64).
pub const LOCAL_HASH_KEY: &str = "bG9jYWwtcnVuLXJlY2lwaWVudC1oYXNoLWtleS0zMmI=";

/// DynamoDB Local, started for this run, with the function's table (as template.yaml declares
/// it), and a client to it.
pub async fn start(
    shared: &aws_types::SdkConfig,
) -> Result<(DynamoDbLocal, aws_sdk_dynamodb::Client), Box<dyn std::error::Error>> {
    let local = DynamoDbLocal::start().await;
    let config = aws_sdk_dynamodb::config::Builder::from(shared)
        .endpoint_url(local.endpoint_url())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name(CONTACT_INDEX)
        .key_schema(key("contactId", KeyType::Hash)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()?;
    client
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("contactId")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await?;
    println!("DynamoDB Local on {} (table {TABLE})", local.endpoint_url());
    Ok((local, client))
}

/// Hands the function every contact event until none has come for `quiet` (the chats ended),
/// then prints each started contact's request status.
pub async fn follow(
    function: &Function<SdkContactStarter>,
    events: &mut broadcast::Receiver<Value>,
    simulator: &RunningSimulator,
    quiet: Duration,
) {
    let mut n = 0;
    // The statuses each contact was moved to, in the order the events moved it.
    let mut lives: std::collections::HashMap<String, Vec<&str>> = Default::default();
    while let Ok(Ok(event)) = tokio::time::timeout(quiet, events.recv()).await {
        n += 1;
        let kind = event["detail"]["eventType"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        let contact = event["detail"]["contactId"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        let answer = function
            .handle_lambda(LambdaEvent::new(
                event,
                context(&format!("contact-event-{n}")),
            ))
            .await;
        let effect = match answer {
            Ok(answer) => answer["status"].as_str().unwrap_or("?").to_owned(),
            Err(err) => format!("error {}", err.error_type()),
        };
        println!("contact event {kind} for {contact}: {effect}");
        let status = match kind.as_str() {
            "INITIATED" => Some("STARTED"),
            "CONNECTED_TO_SYSTEM" => Some("CONNECTED"),
            "DISCONNECTED" => Some("ENDED"),
            _ => None,
        };
        if let (Some(status), "MOVED") = (status, effect.as_str()) {
            lives.entry(contact).or_default().push(status);
        }
    }
    println!("\n=== Request status, from the ledger");
    for contact in simulator.contacts() {
        let path = format!("/contacts/{}", contact.contact_id);
        let answer = function
            .handle_lambda(LambdaEvent::new(status_request(&path), context("status")))
            .await;
        let document: Value = answer
            .ok()
            .and_then(|a| {
                a["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok())
            })
            .unwrap_or_default();
        let steps: Vec<&str> = document["history"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|step| step["state"].as_str())
            .collect();
        let life = lives.remove(&contact.contact_id).unwrap_or_default();
        println!(
            "{}: {} → {} (now {}, customer replied: {})",
            contact.contact_id,
            steps.join(" → "),
            life.join(" → "),
            document["contact"]["status"].as_str().unwrap_or("not told"),
            document["contact"]["customerReplied"]
        );
    }
}

/// `GET path` as an HTTP API (payload 2.0) event.
fn status_request(path: &str) -> Value {
    json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {}, "isBase64Encoded": false,
        "requestContext": {"accountId": "123456789012", "apiId": "local", "stage": "$default",
            "requestId": "local-status", "http": {"method": "GET", "path": path,
            "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "local"}}})
}

fn context(request_id: &str) -> Context {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    let deadline = SystemTime::now() + Duration::from_secs(30);
    context.deadline = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    context
}
