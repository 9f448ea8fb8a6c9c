//! The benchmark's floor: the least a Rust Lambda function that calls Connect must do. At init
//! it loads aws-config and builds the Connect client on it (the SDK crates and features of
//! `bootstrap`, its HTTPS client on rustls and ring, its timeouts), then polls the Runtime API;
//! for each event it makes one bare `StartOutboundChatContact` call per SQS record (a fixed
//! valid request, at most 10 in flight) and answers `{}`. (`bootstrap` itself reads its client
//! settings from the environment without aws-config.)
//!
//! `floor --probe` instead times, in a fresh process, the one-time costs of the SDK's TLS stack
//! (the crypto library's first random bytes, and loading the trust store named by
//! `SSL_CERT_FILE`) and prints them as JSON.

// The runtime's service stack nests deeply, as in `bootstrap`.
#![recursion_limit = "256"]

use std::time::Instant;

use aws_config::BehaviorVersion;
use aws_sdk_connect::Client;
use aws_sdk_connect::types::{ChatMessage, Endpoint, EndpointType, SegmentAttributeValue};
use futures::StreamExt;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use outbound_chat::SendTimeouts;
use outbound_chat::adapters::{https_client, timeout_config};
use ring::rand::SecureRandom;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

/// At most this many calls in flight, as the function's default `MAX_IN_FLIGHT`.
const IN_FLIGHT: usize = 10;

/// The SDK client as the standard way builds it: aws-config's default sources, with the
/// function's HTTPS client and timeouts.
async fn load_client(timeouts: SendTimeouts) -> Client {
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeout_config(timeouts))
        .load()
        .await;
    Client::new(&sdk_config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::args().nth(1).as_deref() == Some("--probe") {
        println!("{}", probe());
        return Ok(());
    }
    let client = load_client(SendTimeouts::default()).await;
    // Both live as long as the process; leaked so the handler can borrow them.
    let client: &'static Client = Box::leak(Box::new(client));
    let request: &'static Request = Box::leak(Box::new(Request::from_env()));
    lambda_runtime::run(service_fn(|event: LambdaEvent<RecordCount>| async move {
        let failures = futures::stream::iter(0..event.payload.records.len())
            .map(|_| request.send(client))
            .buffer_unordered(IN_FLIGHT)
            .filter(|ok| std::future::ready(!ok))
            .count()
            .await;
        if failures == 0 {
            Ok(json!({}))
        } else {
            Err(Diagnostic {
                error_type: "BareCallFailed".into(),
                error_message: format!(
                    "{failures} of {} calls failed",
                    event.payload.records.len()
                ),
            })
        }
    }))
    .await
}

/// The fixed request, with the function's configured defaults.
struct Request {
    instance_id: String,
    contact_flow_id: String,
    source: String,
}

impl Request {
    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Self {
            instance_id: var("CONNECT_INSTANCE_ID"),
            contact_flow_id: var("CONNECT_CONTACT_FLOW_ID"),
            source: var("SMS_SOURCE_PHONE_NUMBER_ARN"),
        }
    }

    /// One bare call; the SDK makes up the `ClientToken`. True when Connect started a contact.
    async fn send(&self, client: &Client) -> bool {
        let message = ChatMessage::builder()
            .content_type("text/plain")
            .content("Your order A-1001 has shipped.")
            .build()
            .expect("a complete message");
        client
            .start_outbound_chat_contact()
            .instance_id(&self.instance_id)
            .contact_flow_id(&self.contact_flow_id)
            .source_endpoint(
                Endpoint::builder()
                    .r#type(EndpointType::ConnectPhonenumberArn)
                    .address(&self.source)
                    .build(),
            )
            .destination_endpoint(
                Endpoint::builder()
                    .r#type(EndpointType::TelephoneNumber)
                    .address("+14255550100")
                    .build(),
            )
            .segment_attributes(
                "connect:Subtype",
                SegmentAttributeValue::builder()
                    .value_string("connect:SMS")
                    .build(),
            )
            .initial_system_message(message)
            .send()
            .await
            .is_ok()
    }
}

/// The event's `Records`, each skipped without being built (`IgnoredAny` is zero-sized, so the
/// vector never allocates); no `Records`, no records.
#[derive(Deserialize)]
struct RecordCount {
    #[serde(rename = "Records", default)]
    records: Vec<IgnoredAny>,
}

/// Times the TLS stack's one-time costs in this fresh process.
fn probe() -> Value {
    let mut bytes = [0u8; 32];
    let random = ring::rand::SystemRandom::new();
    let started = Instant::now();
    let first = random.fill(&mut bytes).is_ok();
    let entropy_first = started.elapsed();
    let started = Instant::now();
    let second = random.fill(&mut bytes).is_ok();
    let entropy_second = started.elapsed();

    let started = Instant::now();
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    let trust_store = started.elapsed();

    json!({
        "entropy_first_us": entropy_first.as_micros() as u64,
        "entropy_second_us": entropy_second.as_micros() as u64,
        "random_ok": first && second,
        "trust_store_us": trust_store.as_micros() as u64,
        "trust_store_certs": added,
        "trust_store_ignored": ignored,
    })
}
