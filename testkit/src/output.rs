//! One output stream of a child process, read to its end by a thread of its own (as Lambda's
//! log capture does, so the child never blocks on a full pipe and the caller's runtime does no
//! reading) and kept whole.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A pipe being read into a buffer.
pub(crate) struct Captured {
    buffer: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Captured {
    /// Starts reading `pipe`; nothing to read when there is no pipe.
    pub(crate) fn start(pipe: Option<impl Read + Send + 'static>) -> Captured {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let reader = pipe.map(|mut pipe| {
            std::thread::spawn(move || {
                let mut chunk = [0u8; 16 * 1024];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            })
        });
        Captured { buffer, reader }
    }

    /// Everything read so far (lossy UTF-8).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    /// At most the last `max` bytes read so far (lossy UTF-8).
    pub(crate) fn tail(&self, max: usize) -> String {
        let buffer = self.buffer.lock().unwrap();
        let from = buffer.len().saturating_sub(max);
        String::from_utf8_lossy(&buffer[from..]).into_owned()
    }

    /// Once the process has exited: waits up to `limit`, without blocking the caller's
    /// runtime, for the reader to take in the rest of the output. Whether it did.
    pub(crate) async fn finish(&mut self, limit: Duration) -> bool {
        let give_up = Instant::now() + limit;
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
            if Instant::now() >= give_up {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.join();
        true
    }

    /// Once the process has exited: waits for the reader to end, blocking.
    pub(crate) fn join(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
