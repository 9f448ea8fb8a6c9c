//! A process's CPU time and memory figures, read from Linux's `/proc`.

use std::collections::HashMap;
use std::io;

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
        let spent = |(tid, ns): (&u32, &u64)| {
            ns.saturating_sub(earlier.threads.get(tid).copied().unwrap_or(0))
        };
        self.threads.iter().map(spent).sum()
    }
}

/// Process `pid`'s CPU time so far.
pub(crate) fn cpu(pid: u32) -> io::Result<CpuSnapshot> {
    Ok(CpuSnapshot {
        threads: thread_times(pid)?,
        ticks: ticks(pid)?,
    })
}

/// Every thread's time on CPU, in nanoseconds, by thread id.
fn thread_times(pid: u32) -> io::Result<HashMap<u32, u64>> {
    let mut threads = HashMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let entry = entry?;
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok()) {
            threads.insert(tid, ns);
        }
    }
    Ok(threads)
}

/// The process's `utime + stime`, in clock ticks.
fn ticks(pid: u32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime 14 and stime 15.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    Ok(tick(11).unwrap_or(0) + tick(12).unwrap_or(0))
}

/// A `/proc/PID/status` figure in KiB, such as `VmHWM` (peak resident set) or `VmRSS`.
pub(crate) fn status_kib(pid: u32, field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let figure = status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    });
    figure.ok_or_else(|| io::Error::other(format!("no {field} in /proc/PID/status")))
}
