//! A real SQS on the wire for tests: moto's server with a client that reads it, the function's
//! own queue port pointed at it, and SQS events built from what it delivers, as Lambda builds
//! them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use lambda_testkit::MotoServer;
use outbound_chat::SendTimeouts;
use outbound_chat::adapters::{ClientSettings, SdkRequestQueue, load_sqs_client};
use serde_json::{Value, json};

/// A local SQS with a client that reads it.
pub(crate) struct Sqs {
    pub(crate) server: MotoServer,
    pub(crate) client: Client,
}

impl Sqs {
    pub(crate) fn start() -> Self {
        let server = MotoServer::start();
        // Longer than the function's: a test's receive long-polls for up to several seconds.
        let timeouts = SendTimeouts {
            attempt: Duration::from_secs(20),
            operation: Duration::from_secs(30),
            ..SendTimeouts::default()
        };
        let client = load_sqs_client(&sqs_settings(server.endpoint()), timeouts);
        Self { server, client }
    }

    pub(crate) async fn queue(&self, name: &str) -> String {
        let mut create = self.client.create_queue().queue_name(name);
        if name.ends_with(".fifo") {
            create = create
                .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::ContentBasedDeduplication,
                    "true",
                );
        }
        let created = create.send().await.expect("create queue");
        created.queue_url.expect("queue url")
    }

    pub(crate) async fn send(&self, queue_url: &str, body: &Value, group: Option<&str>) {
        self.client
            .send_message()
            .queue_url(queue_url)
            .message_body(body.to_string())
            .set_message_group_id(group.map(str::to_owned))
            .send()
            .await
            .expect("send message");
    }

    /// The messages visible now, or after waiting up to `wait_seconds` for one.
    pub(crate) async fn receive(&self, queue_url: &str, wait_seconds: i32) -> Vec<Message> {
        self.client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
    }

    /// The function's SQS client, pointed at this server.
    pub(crate) fn queue_port(&self) -> Arc<SdkRequestQueue> {
        let client = load_sqs_client(
            &sqs_settings(self.server.endpoint()),
            SendTimeouts::default(),
        );
        Arc::new(SdkRequestQueue::new(client))
    }
}

fn sqs_settings(endpoint: &str) -> ClientSettings {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL_SQS", endpoint),
    ]);
    ClientSettings::for_sqs(|name| vars.get(name).map(|v| v.to_string())).expect("settings")
}

pub(crate) fn sms(to: &str) -> Value {
    json!({"to": to, "message": {"content": "Your parcel arrives tomorrow"}})
}

/// An SQS event of `messages` received from the queue named `queue_name`.
pub(crate) fn sqs_event(queue_name: &str, messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let group = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned();
            let mut attributes = json!({});
            if let Some(group) = group {
                attributes["MessageGroupId"] = group.into();
            }
            let first_receive = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp));
            if let Some(first_receive) = first_receive {
                attributes["ApproximateFirstReceiveTimestamp"] = first_receive.clone().into();
            }
            // As Lambda gives them: camelCase keys, each value with its data type.
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(name, v)| {
                    let value = json!({"stringValue": v.string_value, "dataType": v.data_type,
                        "stringListValues": [], "binaryListValues": []});
                    (name.clone(), value)
                })
                .collect();
            json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                "eventSource": "aws:sqs", "attributes": attributes,
                "messageAttributes": message_attributes,
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue_name}"),
            })
        })
        .collect();
    json!({"Records": records})
}
