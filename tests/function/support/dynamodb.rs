//! Test support for recipient protection: DynamoDB Local with the function's table, a client
//! that logs the operations it calls, a function wired to both, and the events the tests send.
//! Nothing is mocked at the DynamoDB layer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use lambda_testkit::DynamoDbLocal;
use outbound_chat::adapters::{
    CONTACT_INDEX, ClientSettings, DynamoRecipientState, StateTimeouts, load_state_client,
};
use outbound_chat::testing::DestinationNumber;
use outbound_chat::testing::RecipientKey;
use serde_json::{Value, json};

use crate::support::{FakeConnect, TestFunction, config_with};

/// The recipient hash key of the tests: 32 bytes, base64.
pub const HASH_KEY: &str = "dGVzdC1yZWNpcGllbnQtaGFzaC1rZXktMzItYnl0ZXM=";
/// The prefix of the tests' tables: each test has its own.
pub const TABLE: &str = "outbound-chat-state";

/// The operations a client called (`BatchGetItem`, `TransactWriteItems`, ...), every attempt.
#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// The calls so far, and a fresh start.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "operation log"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        self.0.lock().unwrap().push(operation);
        Ok(())
    }
}

/// The DynamoDB Local the tests running at the same time share (one JVM, not one per test): it
/// stops when the last of them drops it.
static SHARED: tokio::sync::Mutex<Weak<DynamoDbLocal>> = tokio::sync::Mutex::const_new(Weak::new());

async fn shared() -> Arc<DynamoDbLocal> {
    let mut shared = SHARED.lock().await;
    if let Some(db) = shared.upgrade() {
        return db;
    }
    let db = Arc::new(DynamoDbLocal::start().await);
    *shared = Arc::downgrade(&db);
    db
}

/// DynamoDB Local holding a table of the test's own (as template.yaml declares it), and a
/// client to it.
pub struct State {
    pub db: Arc<DynamoDbLocal>,
    pub table: String,
    pub client: Client,
    pub calls: CallLog,
}

impl State {
    /// A fresh table in the shared DynamoDB Local.
    pub async fn start() -> State {
        Self::on(shared().await).await
    }

    /// A fresh table in a DynamoDB Local of this test's own, which it may stop.
    pub async fn start_alone() -> State {
        Self::on(Arc::new(DynamoDbLocal::start().await)).await
    }

    async fn on(db: Arc<DynamoDbLocal>) -> State {
        static TABLES: AtomicUsize = AtomicUsize::new(0);
        let table = format!("{TABLE}-{}", TABLES.fetch_add(1, Ordering::SeqCst));
        let calls = CallLog::default();
        let client = client(&db.endpoint_url(), Some(calls.clone()));
        create_table(&client, &table).await;
        calls.take();
        State {
            db,
            table,
            client,
            calls,
        }
    }

    /// The test configuration with the table, the key and `overrides`.
    pub fn function(&self, overrides: &[(&str, &str)]) -> TestFunction {
        let mut vars = vec![
            ("STATE_TABLE_NAME", self.table.as_str()),
            ("RECIPIENT_HASH_KEY", HASH_KEY),
        ];
        vars.extend_from_slice(overrides);
        let state = DynamoRecipientState::new(self.client.clone(), &self.table);
        TestFunction::new(FakeConnect::default(), &config_with(&vars))
            .map(|f| f.with_recipient_state(Arc::new(state)))
    }

    /// Each count of `number`'s recipient (`CAPS#<scope>`): its places taken and its expiry.
    pub async fn places(&self, number: &str) -> Vec<(String, usize, i64)> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :cap)")
            .expression_attribute_values(":pk", s(&recipient_hash(number)))
            .expression_attribute_values(":cap", s("CAPS#"))
            .consistent_read(true)
            .send()
            .await
            .expect("query the counters");
        output
            .items()
            .iter()
            .map(|item| {
                let sk = item["sk"].as_s().unwrap().clone();
                let held = item.get("sends").map_or(0, |h| h.as_m().unwrap().len());
                let expires = item["expiresAt"].as_n().unwrap().parse().unwrap();
                (sk, held, expires)
            })
            .collect()
    }

    /// Places taken over every count of `number`.
    pub async fn taken(&self, number: &str) -> usize {
        self.places(number).await.iter().map(|(_, n, _)| n).sum()
    }
}

/// A DynamoDB client for `endpoint`, built as the function builds its own, logging its calls.
pub fn client(endpoint: &str, log: Option<CallLog>) -> Client {
    let settings = ClientSettings::from_lookup(|name| {
        let value = match name {
            "AWS_REGION" => "us-east-1",
            "AWS_ACCESS_KEY_ID" => "AKIDTEST",
            "AWS_SECRET_ACCESS_KEY" => "test-secret",
            "AWS_ENDPOINT_URL_DYNAMODB" => endpoint,
            _ => return None,
        };
        Some(value.to_owned())
    })
    .and_then(|s| {
        s.for_service("AWS_ENDPOINT_URL_DYNAMODB", |name| {
            (name == "AWS_ENDPOINT_URL_DYNAMODB").then(|| endpoint.to_owned())
        })
    })
    .expect("client settings");
    // Generous bounds: DynamoDB Local (a JVM on a busy test machine) is no SLA service, and a
    // retried CreateTable would find its own table.
    let timeouts = StateTimeouts {
        connect: Duration::from_secs(5),
        attempt: Duration::from_secs(20),
        operation: Duration::from_secs(30),
    };
    let client = load_state_client(&settings, timeouts);
    match log {
        Some(log) => Client::from_conf(client.config().to_builder().interceptor(log).build()),
        None => client,
    }
}

/// The table of template.yaml: `pk`/`sk` strings, on demand, TTL on `expiresAt`, the ledger's
/// index on `contactId`.
async fn create_table(client: &Client, table: &str) {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    // The ledger's index on the contact id (keys only), as template.yaml declares it.
    let contact_index = GlobalSecondaryIndex::builder()
        .index_name(CONTACT_INDEX)
        .key_schema(key("contactId", KeyType::Hash))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .unwrap();
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute("contactId"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(contact_index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the table");
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiresAt")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
}

/// The stored form of a recipient: the keyed hash of its number.
pub fn recipient_hash(number: &str) -> String {
    let key = RecipientKey::parse(HASH_KEY).unwrap();
    key.recipient(&DestinationNumber::parse(number).unwrap())
        .as_str()
        .to_owned()
}

fn s(value: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(value.to_owned())
}

/// A promotional SMS to `number`.
pub fn promotion(number: &str) -> Value {
    json!({"to": number, "message": {"content": "20% off this week"}, "category": "PROMOTIONAL"})
}

/// A transactional WhatsApp template message to `number`.
pub fn whatsapp_reminder(number: &str) -> Value {
    json!({"channel": "WHATSAPP", "to": number, "category": "TRANSACTIONAL", "template": {
        "knowledgeBaseId": "kb-1234", "messageTemplateId": "appointment-reminder"}})
}

/// An EventBridge event with `id` carrying `detail`.
pub fn eventbridge(id: &str, detail: Value) -> Value {
    json!({"version": "0", "id": id, "detail-type": "Outbound Chat Requested",
        "source": "com.example.tests", "account": "123456789012",
        "time": "2026-11-23T08:00:00Z", "region": "us-east-1", "resources": [],
        "detail": detail})
}

/// An HTTP API (payload 2.0) request.
pub fn http_request(method: &str, path: &str, body: &Value) -> Value {
    json!({"version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path,
        "rawQueryString": "", "headers": {"content-type": "application/json"},
        "requestContext": {"accountId": "123456789012", "apiId": "api", "http": {
            "method": method, "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.10", "userAgent": "tests"},
            "requestId": format!("req-{method}-{path}"), "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "23/Nov/2026:08:00:00 +0000", "timeEpoch": 1763888400000u64},
        "body": body.to_string(), "isBase64Encoded": false})
}
