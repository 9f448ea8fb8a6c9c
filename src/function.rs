//! The function: recognises the trigger, hands the event to its module, and returns that
//! trigger's answer or typed error. Holds what lives across invocations.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::bus::OutcomeBus;
use crate::config::Config;
use crate::connect::ContactStarter;
use crate::intake::Intake;
use crate::policy::Clock;
use crate::queue::RequestQueue;
use crate::send::Sender;
use crate::send::pipeline::Pipeline;
use crate::store::RecipientState;
use crate::store::ledger::Ledger;
use crate::telemetry;
use crate::triggers::contact_events::{self, NotRecorded};
use crate::triggers::http::HttpRequest;
use crate::triggers::invoke::RequestFailed;
use crate::triggers::recognise::{Trigger, UnrecognizedEvent, recognize};
use crate::triggers::{flow, http, invoke, sqs};

/// The Lambda function, generic over its Connect port.
pub struct Function<C> {
    intake: Intake,
    sender: Sender<C>,
    metrics_namespace: String,
    /// How long a contact flow waits for the answer (`FLOW_TIME_LIMIT_SECONDS`).
    flow_time_limit: Duration,
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
    #[error(transparent)]
    ContactEvent(#[from] NotRecorded),
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
            Self::ContactEvent(_) => "Unavailable",
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
            flow_time_limit: config.flow_time_limit(),
        }
    }

    /// Reads "now" from `clock` (tests, and the local run's `--now`) instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.sender = self.sender.with_clock(clock);
        self
    }

    /// Holds requests outside their send window in SQS through `queue`, and re-sends SQS
    /// records Connect throttled to their queue with a delay.
    pub fn with_queue(mut self, queue: Arc<dyn RequestQueue>) -> Self {
        self.sender = self.sender.with_queue(queue);
        self
    }

    /// Attaches the recipient state (the DynamoDB table) that the configured protection keeps;
    /// see [`Sender::with_recipient_state`].
    pub fn with_recipient_state(mut self, state: Arc<dyn RecipientState>) -> Self {
        self.sender = self.sender.with_recipient_state(state);
        self
    }

    /// Attaches the ledger (the same table as the recipient state) and, when
    /// `OUTCOME_EVENT_BUS` is set, the bus its changes are published to; see
    /// [`Sender::with_ledger`].
    pub fn with_ledger(
        mut self,
        ledger: Arc<dyn Ledger>,
        bus: Option<Arc<dyn OutcomeBus>>,
    ) -> Self {
        self.sender = self.sender.with_ledger(ledger, bus);
        self
    }

    /// The entry point the Lambda runtime calls.
    pub async fn handle_lambda(&self, event: LambdaEvent<Value>) -> Result<Value, FunctionError> {
        let remaining = time_left(event.context.deadline(), SystemTime::now());
        self.handle(
            event.payload,
            &event.context.request_id,
            Instant::now() + remaining,
        )
        .await
    }

    /// Handles one event that must be answered before `deadline` (a contact flow's before its
    /// block's time limit, when that comes first).
    pub async fn handle(
        &self,
        event: Value,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Value, FunctionError> {
        let received = Instant::now();
        let trigger = recognize(event).inspect_err(|err| {
            tracing::error!(request_id, error = %err, "event not handled");
        })?;
        let deadline = match &trigger {
            Trigger::Flow(_) => flow::deadline(deadline, self.flow_time_limit, received),
            _ => deadline,
        };
        let invocation = self.sender.invocation(trigger.name(), deadline);
        let pipeline = Pipeline::new(&self.intake, &self.sender, &invocation);
        // Every arm yields its result without returning early, so the summary and metrics
        // are published for failed invocations too.
        let answer = match trigger {
            Trigger::Sqs(event) => handle_sqs(&pipeline, event).await.and_then(to_value),
            Trigger::ContactEvent(event) => contact_events::handle_event(&pipeline, *event)
                .await
                .map_err(FunctionError::from)
                .and_then(to_value),
            Trigger::ContactEvents(event) => {
                to_value(contact_events::handle_records(&pipeline, event).await)
            }
            Trigger::EventBridge(event) => invoke::handle_eventbridge(&pipeline, event)
                .await
                .map_err(FunctionError::from)
                .and_then(to_value),
            Trigger::Direct(event) => invoke::handle_direct(&pipeline, request_id, event)
                .await
                .map_err(FunctionError::from)
                .and_then(to_value),
            Trigger::Flow(event) => to_value(flow::handle(&pipeline, *event).await),
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
        invocation.note_pacing_rate(self.sender.pacing_rate());
        telemetry::finish_invocation(&invocation, &self.metrics_namespace);
        answer
    }
}

/// An SQS batch: its send requests to the SQS trigger, and any contact events among them to
/// the contact-event trigger (a queue may carry both); the failures of both are reported.
async fn handle_sqs<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    event: aws_lambda_events::sqs::SqsEvent,
) -> Result<aws_lambda_events::sqs::SqsBatchResponse, FunctionError> {
    let (events, requests) = contact_events::split(event);
    if events.is_empty() {
        return Ok(sqs::handle(pipeline, requests).await?);
    }
    if let Some(index) = events.iter().position(|r| r.message_id.is_none()) {
        return Err(sqs::MissingMessageId { index }.into());
    }
    let (mut answer, failed) = futures::join!(
        sqs::handle(pipeline, requests),
        contact_events::failed_records(pipeline, &events)
    );
    if let Ok(answer) = &mut answer {
        let mut ids: Vec<String> = answer
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        ids.extend(failed);
        answer.set_failures(ids);
    }
    Ok(answer?)
}

/// Lambda's longest function timeout: no invocation's deadline lies further from now than this,
/// either way.
const MAX_FUNCTION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The time an invocation has when its deadline is no time Lambda would give: Lambda's default
/// function timeout.
const FALLBACK_BUDGET: Duration = Duration::from_secs(3);

/// The time left before `deadline`. A deadline further than Lambda's longest timeout from `now`
/// is an emulator's stand-in, not a time (`cargo lambda watch` sends `600000`, which reads as
/// 1970): the invocation then gets Lambda's default timeout, rather than refusing every send as
/// if the deadline had passed decades ago.
fn time_left(deadline: SystemTime, now: SystemTime) -> Duration {
    match deadline.duration_since(now) {
        Ok(left) if left <= MAX_FUNCTION_TIMEOUT => left,
        Err(past) if past.duration() <= MAX_FUNCTION_TIMEOUT => Duration::ZERO,
        _ => {
            tracing::warn!(
                budget_ms = FALLBACK_BUDGET.as_millis() as u64,
                "the invocation's deadline is not a time Lambda gives (a local emulator?): answering within Lambda's default timeout"
            );
            FALLBACK_BUDGET
        }
    }
}

fn to_value(answer: impl Serialize) -> Result<Value, FunctionError> {
    serde_json::to_value(answer).map_err(|err| FunctionError::Answer(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_is_the_deadlines_unless_it_is_no_time_lambda_gives() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let secs = Duration::from_secs;
        // (deadline, time left)
        let cases = [
            (now + secs(3), secs(3)),
            (now + secs(900), secs(900)),
            (now - secs(1), Duration::ZERO),
            (now - secs(900), Duration::ZERO),
            // `cargo lambda watch` sends 600000: ten minutes after the epoch.
            (SystemTime::UNIX_EPOCH + secs(600), FALLBACK_BUDGET),
            (now + secs(901), FALLBACK_BUDGET),
        ];
        for (deadline, left) in cases {
            assert_eq!(time_left(deadline, now), left, "{deadline:?}");
        }
    }
}
