//! One module per trigger: decode its envelope, run the sends through [`crate::send::Sender`],
//! and build the answer that trigger expects.

pub mod http;
pub mod invoke;
pub mod sqs;
