//! Outbound SMS and WhatsApp through Amazon Connect, as one AWS Lambda function.
//!
//! A request travels one way through the crate:
//!
//! ```text
//! trigger event ──► dispatch ──► triggers::{sqs, invoke, http}
//!                                   │ request (wire DTO, either form)
//!                                   ▼
//!                               domain::OutboundChat (validated, every violation collected)
//!                                   │
//!                                   ▼
//!                               send::Sender (expiry, deadline, concurrency, pacing)
//!                                   │
//!                                   ▼
//!                               connect::ContactStarter ──► StartOutboundChatContact
//!                                   │
//!                                   ▼
//!                               outcome::Outcome ──► the trigger's answer
//! ```
//!
//! `main.rs` only wires: logging, shutdown handling, configuration, the SDK client, the runtime.

pub mod config;
pub mod connect;
pub mod dispatch;
pub mod domain;
pub mod handler;
pub mod idempotency;
pub mod log_output;
pub mod outcome;
pub mod pacing;
pub mod request;
pub mod send;
pub mod shutdown;
pub mod telemetry;
pub mod triggers;

pub use config::Config;
pub use connect::sdk::SdkContactStarter;
pub use connect::{ContactId, ContactStarter, StartError};
pub use handler::{Function, FunctionError};
