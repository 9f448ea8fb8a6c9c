//! What the function tells its operators: one structured log line per request outcome, a span
//! per request that names it on every line logged for it, a summary line per invocation, CloudWatch Embedded Metric Format documents, the log
//! subscriber that writes them, and the line that marks a shutdown. Nothing here ever sees a
//! full phone number or message text: outcomes carry masked data only, and the subscriber keeps
//! the libraries that log payloads below the level at which they do. It reads an invocation's
//! tally; it never changes it.

mod json;
mod lines;
mod logging;
mod metrics;
pub mod output;
pub mod shutdown;
mod span;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub use lines::{finish_invocation, log_outcome};
pub use logging::{LogSettings, log_subscriber};
pub use metrics::capture_metrics;
pub use span::request_span;

/// The message of the line logged when the function shuts down.
pub const SHUTDOWN_MESSAGE: &str = "function shutting down: logs and metrics flushed";

/// Logs the shutdown line once and flushes standard output and standard error, so that nothing
/// a writer still buffers is lost when the process exits right after.
pub fn shut_down(signal: &str) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if !DONE.swap(true, Ordering::SeqCst) {
        tracing::info!(signal, "{SHUTDOWN_MESSAGE}");
    }
    output::STDOUT.flush();
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}
