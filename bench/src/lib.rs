//! The benchmark harness's parts: a TLS front for the Connect simulator, SQS event generation,
//! and the report. The Runtime API emulator and the measured child process come from
//! `lambda-testkit`, shared with the function's tests.

pub mod events;
pub mod report;
pub mod tls;
