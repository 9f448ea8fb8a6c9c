//! The benchmark harness's parts: a TLS front for the Connect simulator, SQS event generation,
//! the fleet scenarios, Connect's contact events, and the report. The Runtime API emulator and the measured child process come from
//! `lambda-testkit`, shared with the function's tests.

pub mod contact_events;
pub mod events;
pub mod fleet;
pub mod report;
pub mod tls;
