//! The function's test suite, one binary: validation rules, every trigger through a fake
//! Connect port, and the privacy of what is logged.

mod caps;
mod deadline;
mod e2e;
mod exactly_once;
mod fleet;
mod flow;
mod http;
mod invoke;
mod layout;
mod ledger;
mod ledger_processes;
mod local_run;
mod metrics;
mod outcome_events;
mod privacy;
mod protection;
mod reliability;
mod requeue;
mod schema;
mod sdk_wire;
mod sms_cost;
mod sqs;
mod support;
mod validation;
mod window;
