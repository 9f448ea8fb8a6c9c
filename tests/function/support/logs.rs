//! The function's own log subscriber at TRACE, captured: what a test reads to check what the
//! function logs (and that it logs nothing personal).

use std::future::Future;
use std::sync::{Arc, Mutex};

use outbound_chat::runtime::{self, LogSettings};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// A log destination in memory, shared by every line of one scenario.
#[derive(Clone, Default)]
pub(crate) struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'w self) -> LogBuffer {
        self.clone()
    }
}

/// The test binary's global subscriber: it logs nothing and asks to be consulted for every
/// callsite. Tracing caches, per callsite, whether any subscriber wants it; a callsite first hit
/// on another test's thread while no capturing subscriber exists could be cached as "never",
/// and a capture running at that moment would silently miss its lines. With this subscriber
/// always present, no callsite is ever cached as "never".
struct AskEveryTime;

impl tracing::Subscriber for AskEveryTime {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs `scenario` with the function's own subscriber at TRACE, in JSON or text lines, as this
/// thread's default (tests run on a current-thread runtime, so every task of the scenario,
/// the SDK's connections included, logs into it). Returns the log text and the scenario's own
/// output.
pub(crate) async fn with_trace_logs<F: Future<Output = String>>(
    json: bool,
    scenario: F,
) -> (String, String) {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        // Fails only if another test set one first; captures then rely on the per-callsite
        // cache as before.
        let _ = tracing::subscriber::set_global_default(AskEveryTime);
    });
    let buffer = LogBuffer::default();
    let settings = LogSettings {
        json,
        level: LevelFilter::TRACE,
        directives: String::new(),
    };
    let _default =
        tracing::subscriber::set_default(runtime::log_subscriber(&settings, buffer.clone()));
    let output = scenario.await;
    (buffer.text(), output)
}
