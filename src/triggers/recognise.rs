//! Recognises which trigger sent an event, by explicit keys, then reads that one shape with
//! its aws_lambda_events type. No trial deserialization: an event that matches no shape gets
//! an error that names the shapes accepted.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::sqs::SqsEvent;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::contact_events::{self, ContactEvent};
use super::flow::event::{FlowEvent, is_flow_event, read_flow_event};

/// The keys a direct invocation's request may start with (either form).
const REQUEST_KEYS: &[&str] = &[
    "to",
    "channel",
    "message",
    "template",
    "DestinationEndpoint",
];

/// The accepted shapes, named in the error for anything else.
pub const ACCEPTED_SHAPES: &str = "an SQS event (Records[].eventSource = \"aws:sqs\"), an EventBridge event \
(detail-type, source, detail; Amazon Connect's contact events too), an API Gateway REST (v1) proxy event (requestContext + httpMethod), \
an HTTP API (v2) or Function URL event (requestContext.http + version 2.0), an Amazon Connect \
contact flow event (\"Name\": \"ContactFlowEvent\" + Details), or a send request (friendly form \
with \"to\", or native form with \"DestinationEndpoint\")";

/// A recognised event.
#[derive(Debug)]
pub enum Trigger {
    Sqs(SqsEvent),
    EventBridge(EventBridgeEvent),
    RestApi(Box<ApiGatewayProxyRequest>),
    HttpApi(Box<ApiGatewayV2httpRequest>),
    FunctionUrl(Box<LambdaFunctionUrlRequest>),
    Flow(Box<FlowEvent>),
    Direct(Value),
    /// One of Amazon Connect's contact events, from an EventBridge rule.
    ContactEvent(Box<ContactEvent>),
    /// An SQS batch whose every record's body is a contact event. (A batch that mixes them
    /// with send requests is an [`Trigger::Sqs`]; the function splits it.)
    ContactEvents(SqsEvent),
}

impl Trigger {
    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqs(_) => "sqs",
            Self::EventBridge(_) => "eventbridge",
            Self::RestApi(_) => "apigw-rest",
            Self::HttpApi(_) => "apigw-http",
            Self::FunctionUrl(_) => "function-url",
            Self::Flow(_) => "flow",
            Self::Direct(_) => "invoke",
            Self::ContactEvent(_) | Self::ContactEvents(_) => "contact-event",
        }
    }
}

/// The event matched no accepted shape, or matched one but could not be read as it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnrecognizedEvent {
    #[error("unrecognized event: expected {ACCEPTED_SHAPES}")]
    UnknownShape,
    #[error("malformed {shape} event: {problem}")]
    Malformed {
        shape: &'static str,
        problem: String,
    },
}

/// Recognises `event` by its keys.
pub fn recognize(event: Value) -> Result<Trigger, UnrecognizedEvent> {
    let Value::Object(map) = &event else {
        return Err(UnrecognizedEvent::UnknownShape);
    };
    let has = |key: &str| map.contains_key(key);

    if let Some(Value::Array(records)) = map.get("Records") {
        let all_sqs = !records.is_empty()
            && records
                .iter()
                .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"));
        return if all_sqs {
            let contact_events = records.iter().all(|r| {
                r.get("body")
                    .and_then(Value::as_str)
                    .is_some_and(contact_events::is_contact_event_body)
            });
            let batch = read(event, "SQS");
            if contact_events {
                batch.map(Trigger::ContactEvents)
            } else {
                batch.map(Trigger::Sqs)
            }
        } else {
            Err(UnrecognizedEvent::UnknownShape)
        };
    }
    if contact_events::is_contact_event(&event) {
        let contact_event = read(event, "Amazon Connect contact");
        return contact_event.map(|e| Trigger::ContactEvent(Box::new(e)));
    }
    if has("detail-type") && has("source") && has("detail") {
        return read(event, "EventBridge").map(Trigger::EventBridge);
    }
    if let Some(Value::Object(context)) = map.get("requestContext") {
        if has("httpMethod") {
            return read(event, "API Gateway REST").map(|e| Trigger::RestApi(Box::new(e)));
        }
        if context.contains_key("http") {
            let url_domain = context
                .get("domainName")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains(".lambda-url."));
            return if url_domain {
                read(event, "Function URL").map(|e| Trigger::FunctionUrl(Box::new(e)))
            } else {
                read(event, "HTTP API").map(|e| Trigger::HttpApi(Box::new(e)))
            };
        }
        return Err(UnrecognizedEvent::UnknownShape);
    }
    // Before the direct invocation's keys: a flow event is never read as a request.
    if is_flow_event(map) {
        return read_flow_event(event)
            .map(|flow| Trigger::Flow(Box::new(flow)))
            .map_err(|err| UnrecognizedEvent::Malformed {
                shape: "contact flow",
                problem: err.to_string(),
            });
    }
    if REQUEST_KEYS.iter().any(|key| has(key)) {
        return Ok(Trigger::Direct(event));
    }
    Err(UnrecognizedEvent::UnknownShape)
}

fn read<T: DeserializeOwned>(event: Value, shape: &'static str) -> Result<T, UnrecognizedEvent> {
    serde_json::from_value(event).map_err(|err| UnrecognizedEvent::Malformed {
        shape,
        problem: crate::intake::wire::describe_structural_error(&err.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_shape_is_recognized_by_its_keys() {
        let cases = [
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "1", "body": "{}"}]}),
                "sqs",
            ),
            (
                json!({"detail-type": "Outbound Chat Requested", "source": "app", "detail": {}}),
                "eventbridge",
            ),
            (
                json!({"httpMethod": "POST", "path": "/contacts", "requestContext": {"httpMethod": "POST"}, "headers": {}}),
                "apigw-rest",
            ),
            (
                json!({"version": "2.0", "rawPath": "/contacts", "requestContext": {"http": {"method": "POST"}, "domainName": "abc.execute-api.us-east-1.amazonaws.com"}}),
                "apigw-http",
            ),
            (
                json!({"version": "2.0", "rawPath": "/contacts", "isBase64Encoded": false, "requestContext": {"http": {"method": "POST"}, "domainName": "abc.lambda-url.us-east-1.on.aws", "timeEpoch": 0}}),
                "function-url",
            ),
            (
                json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {"ContactId": "c-1"}}}),
                "flow",
            ),
            (
                json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {"ContactId": "c-1"}, "Parameters": {"to": "+14255550100"}}, "to": "+14255550100"}),
                "flow",
            ),
            (json!({"to": "+14255550100"}), "invoke"),
            (contact_events::sample("c-1", "INITIATED"), "contact-event"),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "1",
                    "body": contact_events::sample("c-1", "INITIATED").to_string()}]}),
                "contact-event",
            ),
            (
                json!({"Records": [
                    {"eventSource": "aws:sqs", "messageId": "1",
                        "body": contact_events::sample("c-1", "INITIATED").to_string()},
                    {"eventSource": "aws:sqs", "messageId": "2", "body": "{}"}]}),
                "sqs",
            ),
            (json!({"DestinationEndpoint": {}}), "invoke"),
        ];
        for (event, name) in cases {
            let trigger = recognize(event.clone()).unwrap_or_else(|e| panic!("{event}: {e}"));
            assert_eq!(trigger.name(), name);
        }
    }

    #[test]
    fn other_events_get_an_error_naming_the_accepted_shapes() {
        for event in [
            json!({"Records": [{"eventSource": "aws:s3"}]}),
            json!({"Records": []}),
            json!({"hello": "world"}),
            json!([1, 2]),
            json!("text"),
            json!({"requestContext": {}}),
            json!({"Name": "ContactFlowEvent"}),
            json!({"Name": "OtherEvent", "Details": {"ContactData": {"ContactId": "c-1"}}}),
        ] {
            let err = recognize(event.clone()).unwrap_err();
            assert_eq!(err, UnrecognizedEvent::UnknownShape, "{event}");
            assert!(err.to_string().contains("EventBridge"));
        }
    }

    #[test]
    fn a_recognized_but_broken_event_is_reported_as_malformed() {
        let err =
            recognize(json!({"Records": [{"eventSource": "aws:sqs", "body": 5}]})).unwrap_err();
        assert!(
            matches!(err, UnrecognizedEvent::Malformed { shape: "SQS", .. }),
            "{err}"
        );
        for broken in [
            json!({"Name": "ContactFlowEvent", "Details": "{}"}),
            json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {}}}),
            json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {"ContactId": "c-1"}, "Parameters": []}}),
        ] {
            let err = recognize(broken.clone()).unwrap_err();
            let flow = matches!(
                err,
                UnrecognizedEvent::Malformed {
                    shape: "contact flow",
                    ..
                }
            );
            assert!(flow, "{broken}: {err}");
        }
    }

    #[test]
    fn every_sample_event_is_its_own_trigger_and_only_the_flow_samples_are_flow_events() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
        let mut flows = 0;
        for entry in std::fs::read_dir(dir).expect("events/") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a sample");
            let event: Value = serde_json::from_str(&text).expect("JSON");
            let name = recognize(event).expect("a recognised sample").name();
            let flow_sample = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("flow-");
            assert_eq!(name == "flow", flow_sample, "{}", path.display());
            flows += usize::from(flow_sample);
        }
        assert_eq!(flows, 2);
    }
}
