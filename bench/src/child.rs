//! A measured child process: spawned with exactly the environment given, its output drained
//! (as Lambda's log collector would) with the last lines kept for error reports, its CPU time
//! and peak memory read from `/proc`, and killed by its own id when done.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// How much of the end of each output stream is kept.
const TAIL: usize = 4096;

/// A running process started by the harness.
pub struct Child {
    process: std::process::Child,
    output: Arc<Mutex<Vec<u8>>>,
    drains: Vec<JoinHandle<()>>,
}

/// CPU time per thread, in nanoseconds (`/proc/PID/task/TID/schedstat`, time on CPU in user
/// and kernel mode), and the process's `utime + stime` in clock ticks (`/proc/PID/stat`).
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    threads: HashMap<u32, u64>,
    pub ticks: u64,
}

impl CpuSnapshot {
    /// CPU nanoseconds spent between `earlier` and `self`: every thread alive now, less what
    /// it had then (a thread that ended in between loses its share, which only matters for
    /// threads that come and go, as tokio's blocking pool threads do).
    pub fn since(&self, earlier: &CpuSnapshot) -> u64 {
        self.threads
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(earlier.threads.get(tid).copied().unwrap_or(0)))
            .sum()
    }
}

impl Child {
    /// Spawns `program` with only `env`. Returns the process and the instant just before the
    /// spawn call.
    pub fn spawn(program: &Path, env: &[(String, String)]) -> std::io::Result<(Self, Instant)> {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut process = command.spawn()?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut drains = Vec::new();
        if let Some(stdout) = process.stdout.take() {
            drains.push(drain(stdout, Arc::clone(&output)));
        }
        if let Some(stderr) = process.stderr.take() {
            drains.push(drain(stderr, Arc::clone(&output)));
        }
        Ok((
            Self {
                process,
                output,
                drains,
            },
            started,
        ))
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(None))
    }

    /// The end of its standard output and error, interleaved as they came.
    pub fn output_tail(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output lock")).into_owned()
    }

    /// Its CPU time so far.
    pub fn cpu(&self) -> std::io::Result<CpuSnapshot> {
        let mut threads = HashMap::new();
        for entry in std::fs::read_dir(format!("/proc/{}/task", self.process.id()))? {
            let entry = entry?;
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A thread may end between the listing and the read.
            if let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat"))
                && let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok())
            {
                threads.insert(tid, ns);
            }
        }
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.process.id()))?;
        // Fields after the command name, which is in parentheses and may hold spaces:
        // state is field 3, utime 14 and stime 15.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(CpuSnapshot {
            threads,
            ticks: tick(11) + tick(12),
        })
    }

    /// A `/proc/PID/status` figure in KiB, such as `VmHWM` (peak resident set) or `VmRSS`.
    pub fn status_kib(&self, field: &str) -> std::io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id()))?;
        status
            .lines()
            .find_map(|line| {
                let rest = line.strip_prefix(field)?.strip_prefix(':')?;
                rest.trim().trim_end_matches("kB").trim().parse().ok()
            })
            .ok_or_else(|| std::io::Error::other(format!("no {field} in /proc/PID/status")))
    }

    /// Kills the process (it is ours: by its id, through the handle that started it) and
    /// reaps it. Dropping a `Child` does this.
    fn kill_and_reap(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        for drain in self.drains.drain(..) {
            let _ = drain.join();
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

fn drain(mut stream: impl Read + Send + 'static, tail: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut kept = tail.lock().expect("output lock");
            kept.extend_from_slice(&buffer[..n]);
            if kept.len() > 2 * TAIL {
                let cut = kept.len() - TAIL;
                kept.drain(..cut);
            }
        }
    })
}
