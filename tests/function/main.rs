//! The function's test suite, one binary: validation rules, every trigger through a fake
//! Connect port, and the privacy of what is logged.

mod helpers;
mod http;
mod invoke;
mod sqs;
mod validation;
mod wire;
