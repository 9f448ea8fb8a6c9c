//! Outbound SMS and WhatsApp through Amazon Connect, as one AWS Lambda function.
//!
//! A request travels one way through the crate:
//!
//! ```text
//! trigger event ──► dispatch ──► triggers::{sqs, invoke, http}   (envelope in, answer out)
//!                                   │ the request's text or JSON, and its delivery identity
//!                                   ▼
//!                               intake: size ─► wire (either form) ─► domain rules ─► token
//!                                   │ domain::OutboundChat (validated, every violation collected)
//!                                   ▼
//!                               send: expiry, then policy (send window: now, or defer ─► queue),
//!                                   │  the invocation's budget, then
//!                                   │  protect: policy (hash, caps) ──► store::RecipientState
//!                                   │           (do-not-contact list, cap counters: DynamoDB),
//!                                   │  pacing
//!                                   ▼
//!                               connect::ContactStarter ──► StartOutboundChatContact
//!                                   │
//!                                   ▼
//!                               outcome ──► telemetry (log line, tally) and the trigger's answer
//! ```
//!
//! `domain` depends on nothing else in the crate; `wire` maps the two request forms into the
//! domain's input; `invocation` owns an invocation's budget and tally, which `telemetry` only
//! reads. `main.rs` only wires: logging, shutdown handling, configuration, the SDK clients
//! (Connect; SQS with a send window; DynamoDB with recipient protection), the runtime.

mod config;
mod connect;
mod deferral;
mod dispatch;
mod domain;
mod handler;
mod idempotency;
mod intake;
mod invocation;
mod log_output;
mod outcome;
mod pacing;
mod pipeline;
mod policy;
mod protect;
mod queue;
mod requeue;
mod send;
mod shutdown;
mod store;
mod suppressions;
mod telemetry;
mod triggers;
mod wire;

pub use config::{Config, ConfigError, QUOTA_PAUSE, SendTimeouts};
pub use connect::client_settings::ClientSettings;
pub use connect::sdk::{SdkContactStarter, https_client, load_client, timeout_config};
pub use connect::{ContactId, ContactStarter, StartError};
pub use domain::{
    Category, Channel, ClientToken, OutboundChat, RecipientTimeZone, ValidationError, Violation,
};
pub use handler::{Function, FunctionError};
pub use intake::Intake;
pub use pacing::Pacing;
pub use policy::RecipientKey;
pub use policy::{Clock, ManualClock, SendWindow, ShiftedClock, SystemClock};
pub use queue::sdk::{SdkRequestQueue, load_sqs_client};
pub use queue::{QueueError, QueueFuture, RequestQueue};
pub use send::THROTTLED_ATTEMPTS;
pub use store::client::{StateTimeouts, load_state_client};
pub use store::dynamodb::DynamoRecipientState;
pub use store::{RecipientState, StateError};

/// The parts of a validated [`OutboundChat`], as a Connect port reads them.
pub mod chat {
    pub use crate::domain::{
        ChatDuration, ContactAttributes, ContactFlowId, DestinationNumber, DisplayName,
        InitialMessage, InstanceId, MAX_ATTRIBUTES_BYTES, MAX_CONTENT_BYTES, MessageContentType,
        PhoneNumberArn, Reason, RelatedContactId, RequestIdentifier, SUBTYPE_KEY,
        SegmentAttributes, SegmentValue, SupportedContentType, SystemMessage, TemplatedMessage,
    };
}

/// The function's logging, metrics and shutdown, for the binary and for local runs.
pub mod runtime {
    pub use crate::log_output::{CoalescedStdout, STDOUT, flush_on_panic};
    pub use crate::shutdown::{EXTENSION_NAME, REGISTRATION_WAIT, listen, register_with_lambda};
    pub use crate::telemetry::{LogSettings, SHUTDOWN_MESSAGE, capture_metrics, log_subscriber};
}
