//! A local AWS-compatible server for tests: moto's server mode (`moto_server`, installed into
//! the project's `.venv` by `scripts/test`) on a free port, stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long moto may take to start answering.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `moto_server`; killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    endpoint: String,
}

impl MotoServer {
    /// Starts `moto_server` on a free local port and waits until it accepts connections.
    /// Panics, saying to run `scripts/test`, when `moto_server` is found neither on `PATH` nor
    /// in the workspace's `.venv/bin`.
    pub fn start() -> Self {
        let program = find_moto_server().unwrap_or_else(|| {
            panic!(
                "moto_server was found neither on PATH nor in .venv/bin: run scripts/test once, \
                 which installs tests/requirements.txt (moto[server]) into .venv"
            )
        });
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < STARTUP,
                "moto_server did not listen on port {port} within {STARTUP:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The server's endpoint, e.g. `http://127.0.0.1:40123` (for `AWS_ENDPOINT_URL_SQS`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` on `PATH`, else in `<workspace>/.venv/bin`.
fn find_moto_server() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("moto_server"))
            .find(|candidate| candidate.is_file())
    });
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    on_path.or_else(|| {
        Some(workspace.join(".venv/bin/moto_server")).filter(|candidate| candidate.is_file())
    })
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free local port")
}
