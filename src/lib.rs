//! Outbound SMS and WhatsApp through Amazon Connect, as one AWS Lambda function.
//!
//! A request travels one way through the crate, and the folders of `src/` are its stages:
//!
//! ```text
//! function ──► triggers/ (recognise, then sqs | invoke | flow/ | contact_events | http/:
//!                 │        envelope in, answer out)
//!                 │ the request's text or JSON, and its delivery identity
//!                 ▼
//!              intake/ (size ─► wire form ─► domain/ rules ─► token)
//!                 │ domain::OutboundChat (validated, every violation collected)
//!                 ▼
//!              send/ (pipeline: the batch's one read ─► store/ (do-not-contact, cap counts,
//!                 │   ledger entries) and one caps write; expiry, policy/'s send window (defer
//!                 │   ─► queue/), the budget, pacing, re-sending; the ledger's write and
//!                 │   outcome events ─► bus/)
//!                 ▼
//!              connect/ ──► StartOutboundChatContact
//!                 │
//!                 ▼
//!              outcome ──► telemetry/ (log line, tally, metrics) and the trigger's answer
//! ```
//!
//! Imports run down that picture only: `domain/` imports nothing else of the crate, `policy/`
//! only `domain/`, configuration no stage, no port's adapter (`connect/`, `queue/`, `store/`,
//! `bus/`) another (what they share is in `aws/`), and no folder imports one that imports it back
//! (`tests/function/layout.rs` checks it). `main.rs` only wires: logging, shutdown handling,
//! configuration, the SDK clients, the runtime.

mod aws;
mod bus;
mod config;
mod connect;
mod domain;
mod function;
mod intake;
mod invocation;
mod outcome;
mod policy;
mod queue;
mod send;
mod store;
mod telemetry;
mod triggers;

pub use config::{Config, ConfigError, SendTimeouts};
pub use connect::{ContactId, ContactStarter, StartError};
pub use domain::OutboundChat;
pub use function::{Function, FunctionError};
pub use policy::{Clock, ShiftedClock};
pub use queue::{QueueError, QueueFuture, RequestQueue};

/// The AWS SDK adapters of the ports and how their clients are built: the binary and the local
/// run wire the function with these.
pub mod adapters {
    pub use crate::aws::client::{https_client, timeout_config};
    pub use crate::aws::settings::ClientSettings;
    pub use crate::bus::sdk::{SdkOutcomeBus, load_eventbridge_client};
    pub use crate::connect::sdk::{SdkContactStarter, load_client};
    pub use crate::queue::sdk::{SdkRequestQueue, load_sqs_client};
    pub use crate::store::client::{StateTimeouts, load_state_client};
    pub use crate::store::dynamodb::DynamoRecipientState;
    pub use crate::store::ledger_dynamodb::{CONTACT_INDEX, DynamoLedger};
}

/// The function's logging and shutdown, for the binary and for local runs.
pub mod runtime {
    pub use crate::telemetry::output::{CoalescedStdout, STDOUT, flush_on_panic};
    pub use crate::telemetry::shutdown::{
        EXTENSION_NAME, REGISTRATION_WAIT, listen, register_with_lambda,
    };
    pub use crate::telemetry::{LogSettings, SHUTDOWN_MESSAGE, log_subscriber};
}

/// What tests reach of the inside: the intake on its own, a clock they set, the recipient hash,
/// a few domain values to build and compare with, and the metric documents an invocation
/// writes. Nothing the function needs in production.
pub mod testing {
    pub use crate::domain::{Category, Channel, ClientToken, DestinationNumber, ValidationError};
    pub use crate::intake::Intake;
    pub use crate::policy::{ManualClock, RecipientKey};
    pub use crate::send::THROTTLED_ATTEMPTS;
    pub use crate::telemetry::capture_metrics;
}
