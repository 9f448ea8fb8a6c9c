//! Test support for a Lambda function's compiled binary: a Runtime API emulator
//! ([`RuntimeApi`]) and a launcher that starts the binary as Lambda does ([`Process`], [`run`]).
//!
//! The emulator serves what `lambda_runtime` 1.5 calls (`invocation/next` with Lambda's
//! headers, `response`, `error`, `init/error`) and the Extensions API's `register` and
//! `event/next`. The launcher gives the process exactly the environment asked for, drains and
//! keeps its output, stops it with SIGTERM or kills it when dropped, and reads its CPU time and
//! memory from `/proc`. [`DynamoDbLocal`] runs AWS's DynamoDB Local on a free port for a test;
//! [`MotoServer`] runs a local AWS-compatible server (moto) for tests; [`keep_busy`] invokes one
//! instance back to back, for fleet runs.

mod busy;
mod dynamodb_local;
mod exchange;
pub mod fleet;
mod moto;
mod output;
mod process;
mod procfs;
mod routes;
mod runtime_api;

pub use busy::keep_busy;
pub use dynamodb_local::DynamoDbLocal;
pub use moto::MotoServer;
pub use process::{Process, Run, run};
pub use procfs::CpuSnapshot;
pub use runtime_api::{Answer, Extension, InitError, Invocation, NoAnswer, RuntimeApi};
