//! A local stand-in for Amazon Connect's `StartOutboundChatContact`, for tests and local runs.
//!
//! Point the real `aws-sdk-connect` client at [`RunningSimulator::endpoint_url`] and it answers
//! like Connect: the same validation, the same error wire format, idempotent `ClientToken`s. On
//! top, it can misbehave on purpose (latency, throttling, a cap on active chats, seeded 500s and
//! dropped connections, scripted replies) and it records every request for assertions.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use connect_simulator::{ConnectErrorCode, ScriptedReply, Simulator, SimulatorConfig};
//!
//! let sim = Simulator::start(SimulatorConfig::default()).await?;
//! sim.script(vec![ScriptedReply::Error(ConnectErrorCode::Throttling)]);
//! // ... point the SDK at sim.endpoint_url() and call StartOutboundChatContact ...
//! assert_eq!(sim.contacts().len(), 0);
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod contacts;
mod errors;
mod faults;
mod handler;
mod journal;
mod life;
mod reply;
mod rng;
mod running;
pub mod sample;
mod server;
mod validate;

pub use config::{RateLimit, SimulatorConfig};
pub use contacts::StartedContact;
pub use errors::ConnectErrorCode;
pub use faults::ScriptedReply;
pub use journal::{JournalEntry, Outcome, Summary};
pub use running::{RunningSimulator, Simulator};
