//! The function: recognises the trigger, hands the event to its module, and returns that
//! trigger's answer or typed error. Holds what lives across invocations.

use std::time::{Duration, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::Config;
use crate::connect::ContactStarter;
use crate::dispatch::{Trigger, UnrecognizedEvent, recognize};
use crate::intake::Intake;
use crate::pipeline::Pipeline;
use crate::send::Sender;
use crate::store::RecipientState;
use crate::telemetry;
use crate::triggers::http::HttpRequest;
use crate::triggers::invoke::RequestFailed;
use crate::triggers::{http, invoke, sqs};

/// The Lambda function, generic over its Connect port.
pub struct Function<C> {
    intake: Intake,
    sender: Sender<C>,
    metrics_namespace: String,
}

/// Why an invocation returns an error instead of an answer. Its type is the Lambda error type,
/// so an on-failure destination or DLQ consumer can tell the kinds apart.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error(transparent)]
    Request(#[from] RequestFailed),
    #[error(transparent)]
    Unrecognized(#[from] UnrecognizedEvent),
    #[error(transparent)]
    IncompleteSqsRecord(#[from] sqs::MissingMessageId),
    #[error("the answer could not be serialized: {0}")]
    Answer(String),
}

impl FunctionError {
    /// The Lambda error type: `ValidationError`, `Throttled`, `Rejected`, `Unavailable`,
    /// `Expired` for a request; `UnrecognizedEvent` or `MalformedEvent` for an event.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Request(failed) => failed.kind.as_str(),
            Self::Unrecognized(UnrecognizedEvent::UnknownShape) => "UnrecognizedEvent",
            Self::Unrecognized(UnrecognizedEvent::Malformed { .. }) => "MalformedEvent",
            Self::IncompleteSqsRecord(_) => "MalformedEvent",
            Self::Answer(_) => "InternalError",
        }
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(err: FunctionError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

impl<C: ContactStarter> Function<C> {
    pub fn new(connect: C, config: &Config) -> Self {
        Self {
            intake: Intake::new(config.defaults.clone()),
            sender: Sender::new(connect, config),
            metrics_namespace: config.metrics_namespace.clone(),
        }
    }

    /// Attaches the recipient state (the DynamoDB table) that the configured protection keeps;
    /// see [`Sender::with_recipient_state`].
    pub fn with_recipient_state(mut self, state: std::sync::Arc<dyn RecipientState>) -> Self {
        self.sender = self.sender.with_recipient_state(state);
        self
    }

    /// The Connect port, for wiring checks in tests.
    pub fn connect(&self) -> &C {
        self.sender.connect()
    }

    /// The entry point the Lambda runtime calls.
    pub async fn handle_lambda(&self, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
        let remaining = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        self.handle(
            event.payload,
            &event.context.request_id,
            Instant::now() + remaining,
        )
        .await
    }

    /// Handles one event that must be answered before `deadline`.
    pub async fn handle(
        &self,
        event: Value,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Value, FunctionError> {
        let trigger = recognize(event).inspect_err(|err| {
            tracing::error!(request_id, error = %err, "event not handled");
        })?;
        let invocation = self.sender.invocation(trigger.name(), deadline);
        let pipeline = Pipeline::new(&self.intake, &self.sender, &invocation);
        // Every arm yields its result without returning early, so the summary and metrics
        // are published for failed invocations too.
        let answer = match trigger {
            Trigger::Sqs(event) => sqs::handle(&pipeline, event)
                .await
                .map_err(FunctionError::from)
                .and_then(to_value),
            Trigger::EventBridge(event) => invoke::handle_eventbridge(&pipeline, event)
                .await
                .map_err(FunctionError::from)
                .and_then(to_value),
            Trigger::Direct(event) => invoke::handle_direct(&pipeline, request_id, event)
                .await
                .map_err(FunctionError::from)
                .and_then(to_value),
            Trigger::RestApi(event) => {
                let answer = http::handle(&pipeline, HttpRequest::from_rest(*event)).await;
                to_value(answer.into_rest())
            }
            Trigger::HttpApi(event) => {
                let answer = http::handle(&pipeline, HttpRequest::from_http_api(*event)).await;
                to_value(answer.into_http_api())
            }
            Trigger::FunctionUrl(event) => {
                let answer = http::handle(&pipeline, HttpRequest::from_function_url(*event)).await;
                to_value(answer.into_function_url())
            }
        };
        telemetry::finish_invocation(&invocation, &self.metrics_namespace);
        answer
    }
}

fn to_value(answer: impl Serialize) -> Result<Value, FunctionError> {
    serde_json::to_value(answer).map_err(|err| FunctionError::Answer(err.to_string()))
}
