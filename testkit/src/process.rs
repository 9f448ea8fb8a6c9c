//! The launcher: a binary started as Lambda starts it, with exactly the environment given and
//! its output drained and kept; invoked through a [`RuntimeApi`], stopped with SIGTERM (only
//! this process, by its id) or killed and reaped when dropped, and measured from `/proc`.

use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use crate::exchange::{FUNCTION_TIMEOUT, Invocation};
use crate::output::Captured;
use crate::procfs::{self, CpuSnapshot};
use crate::runtime_api::RuntimeApi;

/// How long [`Process::exit`] waits, and the output readers after an exit.
const WAIT: Duration = Duration::from_secs(20);
/// How long [`Process::terminate`] waits after SIGTERM.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);
/// How much of the end of each stream [`Process::output_tail`] shows.
const TAIL: usize = 4096;

/// A running child process with its output collected.
pub struct Process {
    child: Child,
    started: Instant,
    stdout: Captured,
    stderr: Captured,
}

/// What a [`run`] of a binary printed, and how it ended.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
    /// From SIGTERM to exit.
    pub shutdown_took: Duration,
}

/// Starts `program` with exactly `environment`, awaits `until_ready` (which returns once the
/// process did what the caller waits for), sends it SIGTERM and collects its output.
pub async fn run<K, V>(
    program: impl AsRef<Path>,
    environment: impl IntoIterator<Item = (K, V)>,
    until_ready: impl Future<Output = ()>,
) -> Run
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let program = program.as_ref();
    let mut process = Process::spawn(program, environment)
        .unwrap_or_else(|err| panic!("start {}: {err}", program.display()));
    until_ready.await;
    let (status, shutdown_took) = process.terminate().await;
    Run {
        stdout: process.stdout(),
        stderr: process.stderr(),
        status,
        shutdown_took,
    }
}

impl Process {
    /// Starts `program` with only `environment` (nothing inherited), stdin closed, stdout and
    /// stderr piped and drained.
    pub fn spawn<K, V>(
        program: impl AsRef<Path>,
        environment: impl IntoIterator<Item = (K, V)>,
    ) -> io::Result<Process>
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut command = Command::new(program.as_ref());
        command.env_clear().envs(environment).stdin(Stdio::null());
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn()?;
        let stdout = Captured::start(child.stdout.take());
        let stderr = Captured::start(child.stderr.take());
        Ok(Process {
            child,
            started,
            stdout,
            stderr,
        })
    }

    /// The instant just before the spawn call.
    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Invokes the function with `event` (named `name` in failures) through `api`, with a 30 s
    /// deadline; fails with the process's output when it exits or does not answer in time.
    pub async fn invoke(&mut self, api: &RuntimeApi, name: &str, event: Value) -> Invocation {
        let event = Bytes::from(event.to_string());
        tokio::select! {
            answer = api.invoke(event, FUNCTION_TIMEOUT) => match answer {
                Ok(answer) => answer.invocation(),
                Err(no) => panic!("{name}: {no}\n{}", self.output()),
            },
            status = self.wait_exit(None) => {
                self.drain().await;
                panic!("{name}: the process exited ({status:?}) mid-invocation\n{}", self.output())
            }
        }
    }

    /// Waits for the process to exit on its own; fails after 20 s.
    pub async fn exit(&mut self) -> ExitStatus {
        let Some(status) = self.wait_exit(Some(WAIT)).await else {
            panic!(
                "the process did not exit within {WAIT:?}\n{}",
                self.output()
            );
        };
        self.drain().await;
        status
    }

    /// Sends the process SIGTERM and waits up to 10 s for it to exit; returns how it exited and
    /// how long that took.
    pub async fn terminate(&mut self) -> (ExitStatus, Duration) {
        let pid = self.pid().to_string();
        let signalled = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(signalled.expect("kill runs").success(), "kill -TERM {pid}");
        let sent = Instant::now();
        let Some(status) = self.wait_exit(Some(SHUTDOWN_LIMIT)).await else {
            panic!(
                "no exit within {SHUTDOWN_LIMIT:?} of SIGTERM\n{}",
                self.output()
            );
        };
        let took = sent.elapsed();
        self.drain().await;
        (status, took)
    }

    /// Everything written to standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything written to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Both streams, labelled, for a failure message.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// The last 4 KiB of each stream, labelled, for a short failure message.
    pub fn output_tail(&self) -> String {
        let (out, err) = (self.stdout.tail(TAIL), self.stderr.tail(TAIL));
        format!("--- stdout (end) ---\n{out}--- stderr (end) ---\n{err}")
    }

    /// Its CPU time so far.
    pub fn cpu(&self) -> io::Result<CpuSnapshot> {
        procfs::cpu(self.pid())
    }

    /// A `/proc/PID/status` figure in KiB, such as `VmHWM` (peak resident set) or `VmRSS`.
    pub fn status_kib(&self, field: &str) -> io::Result<u64> {
        procfs::status_kib(self.pid(), field)
    }

    /// Waits, without blocking the caller's runtime, for the process to exit; gives up after
    /// `limit` if there is one.
    async fn wait_exit(&mut self, limit: Option<Duration>) -> Option<ExitStatus> {
        let give_up = limit.map(|limit| Instant::now() + limit);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the process") {
                return Some(status);
            }
            if give_up.is_some_and(|at| Instant::now() >= at) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Once the process has exited: waits for the readers to take in the rest of its output.
    async fn drain(&mut self) {
        for stream in [&mut self.stdout, &mut self.stderr] {
            assert!(
                stream.finish(WAIT).await,
                "the output ends with the process"
            );
        }
    }
}

impl Drop for Process {
    /// Kills the process (by its own handle, so only it) and reaps it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdout.join();
        self.stderr.join();
    }
}
