//! The compiled `bootstrap` binary as Lambda runs it, for the end-to-end, privacy and metrics
//! tests: its environment, the running process with its output collected, and a run that ends
//! with SIGTERM.

use std::collections::BTreeMap;
use std::future::Future;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::helpers::FUNCTION_CONFIG;
use crate::runtime_api::{Invocation, RuntimeApi};

/// Every wait for the function: a hang fails instead of blocking the suite.
const WAIT: Duration = Duration::from_secs(20);

/// The binary's whole environment as Lambda sets it, pointed at `runtime_api` (`host:port`) and
/// at `connect_url`, logging in `format` at `level`. Nothing else reaches the process: no
/// value from the developer's shell (AWS profile, credentials, region, endpoints, proxies,
/// `RUST_LOG`, the function's own variables) changes what is tested.
pub(crate) fn lambda_environment(
    runtime_api: &str,
    connect_url: &str,
    format: &str,
    level: &str,
) -> BTreeMap<String, String> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "outbound-chat"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", format),
        ("AWS_LAMBDA_LOG_LEVEL", level),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_CONNECT", connect_url),
        // The SDK must reach the simulator on loopback directly.
        ("NO_PROXY", "127.0.0.1,localhost"),
    ]
    .into_iter()
    .chain(FUNCTION_CONFIG)
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// What a run of the binary printed, and how it ended.
pub(crate) struct BinaryRun {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
    /// From SIGTERM to exit.
    pub shutdown_took: Duration,
}

/// Starts the binary with exactly `environment`, calls `until_ready` (which returns once the
/// binary did what the test waits for), sends it SIGTERM and collects its output.
pub(crate) async fn run_binary<F: Future<Output = ()>>(
    environment: BTreeMap<String, String>,
    until_ready: F,
) -> BinaryRun {
    let mut function = RunningFunction::spawn(environment);
    until_ready.await;
    let (status, shutdown_took) = function.terminate().await;
    BinaryRun {
        stdout: function.stdout(),
        stderr: function.stderr(),
        status,
        shutdown_took,
    }
}

/// The compiled function, running as a child process, with its output collected.
pub(crate) struct RunningFunction {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl RunningFunction {
    /// Starts `bootstrap` with exactly `environment` (see [`lambda_environment`]).
    pub(crate) fn spawn(environment: BTreeMap<String, String>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
            .env_clear()
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the bootstrap binary");
        let (stdout, stdout_reader) = collect(child.stdout.take().expect("piped stdout"));
        let (stderr, stderr_reader) = collect(child.stderr.take().expect("piped stderr"));
        RunningFunction {
            child,
            stdout,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// Invokes the function through `api`; fails with the function's output when it exits or
    /// does not answer in time.
    pub(crate) async fn invoke(
        &mut self,
        api: &RuntimeApi,
        name: &str,
        event: Value,
    ) -> Invocation {
        tokio::select! {
            answer = api.try_invoke(event, WAIT) => match answer {
                Ok(invocation) => invocation,
                Err(no) => panic!(
                    "{name}: no answer to {} within {:?}\n{}",
                    no.request_id,
                    no.waited,
                    self.output()
                ),
            },
            status = self.child.wait() => {
                self.drain().await;
                panic!("{name}: the function exited ({status:?}) mid-invocation\n{}", self.output())
            }
        }
    }

    /// Waits for the process to exit on its own.
    pub(crate) async fn exit(&mut self) -> ExitStatus {
        let status = match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.expect("wait for the function"),
            Err(_) => panic!(
                "the function did not exit within {WAIT:?}\n{}",
                self.output()
            ),
        };
        self.drain().await;
        status
    }

    /// Sends the process SIGTERM (only this process, by its id) and waits for it to exit;
    /// returns how it exited and how long that took.
    pub(crate) async fn terminate(&mut self) -> (ExitStatus, Duration) {
        let pid = self.child.id().expect("the binary is running");
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(signalled.success());
        let sent = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("the binary exits within 10 s of SIGTERM")
            .expect("wait for the function");
        let took = sent.elapsed();
        self.drain().await;
        (status, took)
    }

    /// Once the process has exited: waits for the readers to take in the rest of its output.
    async fn drain(&mut self) {
        for reader in self.readers.drain(..) {
            tokio::time::timeout(WAIT, reader)
                .await
                .expect("the function's output ends with it")
                .expect("the output reader");
        }
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub(crate) fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }
}

/// Reads `pipe` to its end into a shared buffer while the process runs, so the child never
/// blocks on a full pipe.
fn collect(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let reader = tokio::spawn(async move {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buffer, reader)
}
