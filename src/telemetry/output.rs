//! Standard output for log lines and metric documents: the lines of one scheduler turn leave in
//! one `write`, and every line an invocation wrote has left before its answer does.
//!
//! One `write` per line costs a system call and a wake-up of Lambda's log reader for each: for
//! an SQS batch of 10 that was 12 or more writes, about a tenth of the function's CPU time per
//! record (BENCHMARKS.md). Lines are instead gathered and written by a task that runs as soon
//! as the task that logged them yields, which is microseconds later, so a process killed
//! mid-invocation loses at most the lines of the turn it was in. ERROR lines, lines logged
//! outside a tokio runtime, and a gathering past [`MAX_PENDING`] are written at once;
//! [`Coalescer::flush`] runs at the end of every invocation (before its answer: Lambda may
//! freeze the environment right after), at shutdown, before a panic's message, and in `main`
//! once the runtime is gone (a task spawned while it shuts down never runs).

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use tracing::{Level, Metadata};

/// The most bytes held before they are written regardless of the turn.
pub const MAX_PENDING: usize = 64 * 1024;

/// The function's standard output.
pub static STDOUT: Coalescer = Coalescer::new(write_to_stdout);

fn write_to_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    // Nothing useful can be done about a closed standard output; the answer still matters.
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Gathers lines and writes them in one piece to `sink`.
pub struct Coalescer {
    pending: Mutex<Vec<u8>>,
    /// Held from taking the pending lines to writing them, so that two flushes on two threads
    /// cannot write their lines out of order. (The sink must not log.)
    writing: Mutex<()>,
    flush_scheduled: AtomicBool,
    sink: fn(&[u8]),
}

impl Coalescer {
    pub const fn new(sink: fn(&[u8])) -> Self {
        Self {
            pending: Mutex::new(Vec::new()),
            writing: Mutex::new(()),
            flush_scheduled: AtomicBool::new(false),
            sink,
        }
    }

    /// Adds whole lines. `urgent` ones are written at once, with everything before them.
    pub fn append(&'static self, lines: &[u8], urgent: bool) {
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend_from_slice(lines);
            pending.len() >= MAX_PENDING
        };
        if urgent || full {
            return self.flush();
        }
        if self.flush_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { self.flush() })),
            Err(_) => self.flush(),
        }
    }

    /// Writes everything gathered so far.
    pub fn flush(&self) {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.flush_scheduled.store(false, Ordering::Release);
        let lines = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if !lines.is_empty() {
            (self.sink)(&lines);
        }
    }
}

/// Writes the gathered lines before a panic's message, so that the lines that led to the panic
/// come first, and none is lost should the panic end the process (a panic in `main` drops the
/// runtime, and with it the task that would have written them).
pub fn flush_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        STDOUT.flush();
        report(info);
    }));
}

/// The log subscriber's writer over [`STDOUT`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CoalescedStdout;

/// One log line on its way to [`STDOUT`]: the formatter writes a whole line at a time.
pub struct Line {
    urgent: bool,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        STDOUT.append(bytes, self.urgent);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        STDOUT.flush();
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CoalescedStdout {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { urgent: false }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        Line {
            urgent: *meta.level() == Level::ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test has its own coalescer and records what reached its sink, write by write.
    macro_rules! recorded_coalescer {
        ($name:ident, $writes:ident) => {
            static $writes: Mutex<Vec<String>> = Mutex::new(Vec::new());
            static $name: Coalescer = Coalescer::new(|bytes| {
                $writes
                    .lock()
                    .unwrap()
                    .push(String::from_utf8(bytes.to_vec()).unwrap())
            });
        };
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lines_of_one_turn_leave_in_one_write_once_the_task_yields() {
        recorded_coalescer!(OUT, WRITES);
        OUT.append(b"one\n", false);
        OUT.append(b"two\n", false);
        assert!(
            WRITES.lock().unwrap().is_empty(),
            "nothing before the yield"
        );
        tokio::task::yield_now().await;
        OUT.append(b"three\n", false);
        tokio::task::yield_now().await;
        assert_eq!(*WRITES.lock().unwrap(), ["one\ntwo\n", "three\n"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_urgent_line_is_written_at_once_with_the_lines_before_it() {
        recorded_coalescer!(OUT, WRITES);
        OUT.append(b"info\n", false);
        OUT.append(b"error\n", true);
        assert_eq!(*WRITES.lock().unwrap(), ["info\nerror\n"]);
        tokio::task::yield_now().await;
        assert_eq!(
            WRITES.lock().unwrap().len(),
            1,
            "the scheduled flush found nothing"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn flush_writes_what_is_gathered_without_waiting_for_the_turn() {
        recorded_coalescer!(OUT, WRITES);
        OUT.append(b"summary\n", false);
        OUT.flush();
        assert_eq!(*WRITES.lock().unwrap(), ["summary\n"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_gathering_is_written_without_waiting() {
        recorded_coalescer!(OUT, WRITES);
        let line = vec![b'x'; MAX_PENDING];
        OUT.append(&line, false);
        assert_eq!(WRITES.lock().unwrap().len(), 1);
    }

    #[test]
    fn outside_a_runtime_a_line_is_written_at_once() {
        recorded_coalescer!(OUT, WRITES);
        OUT.append(b"init\n", false);
        assert_eq!(*WRITES.lock().unwrap(), ["init\n"]);
    }
}
