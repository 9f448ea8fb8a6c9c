//! The benchmark harness's parts: a Lambda Runtime API emulator, a TLS front for the Connect
//! simulator, SQS event generation, child-process measurement from `/proc`, and the report.

pub mod child;
pub mod events;
pub mod report;
pub mod runtime_api;
pub mod tls;
