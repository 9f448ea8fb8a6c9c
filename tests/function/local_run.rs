//! The local run (`examples/local`) as a developer starts it: region, credentials and endpoint
//! from a profile in `HOME` (the SDK's standard chain, no keys in the environment), and the
//! serve mode answering real HTTP requests as the HTTP API would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use connect_simulator::{Simulator, SimulatorConfig};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::*;

/// The example binary, which `cargo test` builds beside the test binaries.
fn local_run() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join("local");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it (or `cargo build --example local`)",
        path.display()
    );
    path
}

/// A fresh directory for `HOME`, removed when dropped.
struct TempHome(PathBuf);

impl TempHome {
    fn new(name: &str) -> Self {
        let unique = format!("outbound-chat-{name}-{}", std::process::id());
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join(".aws")).expect("create HOME/.aws");
        Self(path)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.0.join(".aws").join(file), text).expect("write a profile file");
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The local run's command with only `HOME`, the function's variables and `extra` set: no
/// credentials, region or endpoint from the developer's shell.
fn command(home: &TempHome, extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(local_run());
    command
        .env_clear()
        .env("HOME", &home.0)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .envs(FUNCTION_CONFIG)
        .envs(extra.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn with_real_connect_the_local_run_signs_with_the_profile_that_aws_profile_names() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let home = TempHome::new("profile");
    home.write(
        "config",
        &format!(
            "[profile sim]\nregion = eu-west-1\nendpoint_url = {}\n",
            simulator.endpoint_url()
        ),
    );
    home.write(
        "credentials",
        "[sim]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n",
    );
    // (AWS_PROFILE, contacts started, the run succeeds)
    let cases = [("sim", 1, true), ("default", 0, false)];
    let mut started = 0;
    for (profile, contacts, succeeds) in cases {
        let output = command(&home, &[("AWS_PROFILE", profile)])
            .args(["--real-connect", "events/eventbridge.json"])
            .output()
            .await
            .expect("run the local run");
        let text =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.success(),
            succeeds,
            "AWS_PROFILE={profile}:\n{text}"
        );
        started += contacts;
        assert_eq!(
            simulator.contacts().len(),
            started,
            "AWS_PROFILE={profile}:\n{text}"
        );
        if succeeds {
            assert!(text.contains("\"contactId\""), "{text}");
        } else {
            assert!(text.contains("no AWS"), "{text}");
        }
    }
}

/// The serve mode on a free port, once it says where it listens.
async fn serve(home: &TempHome) -> (Child, SocketAddr) {
    let mut child = command(home, &[])
        .args(["--serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the serve mode");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let wait = async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(address) = line.strip_prefix("listening on http://") {
                return address.parse().expect("an address");
            }
        }
        panic!("the serve mode ended before it listened");
    };
    let address = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the serve mode listens within 30 s");
    // Keep draining its output so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, address)
}

/// Sends one HTTP/1.1 request and reads the status, one header and the JSON body.
async fn send(
    address: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", address.to_string())
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_serve_mode_answers_the_http_apis_routes_as_api_gateway_would() {
    let home = TempHome::new("serve");
    let (mut child, address) = serve(&home).await;
    let single = sample_event("apigw-http-single.json")["body"].clone();
    let batch = sample_event("apigw-http-batch.json")["body"].clone();
    let json_type = "application/json";
    // (method, path, content type, body, status, a member the answer has)
    let cases = [
        (
            "POST",
            "/contacts",
            json_type,
            single.as_str().unwrap(),
            200,
            "contactId",
        ),
        (
            "POST",
            "/contacts/batch",
            json_type,
            batch.as_str().unwrap(),
            200,
            "SuccessfulRequestList",
        ),
        (
            "POST",
            "/contacts",
            json_type,
            r#"{"to": "555-0100"}"#,
            400,
            "errors",
        ),
        ("POST", "/contacts", "text/plain", "hello", 415, "code"),
        ("POST", "/contacts", json_type, "{\"to\": ", 400, "errors"),
        ("GET", "/contacts", json_type, "", 404, "message"),
        ("POST", "/contacts/", json_type, "{}", 404, "message"),
        ("POST", "/prod/contacts", json_type, "{}", 404, "message"),
        ("DELETE", "/", json_type, "", 404, "message"),
    ];
    for (method, path, content_type, body, status, member) in cases {
        let answer = send(address, method, path, content_type, body).await;
        assert_eq!(answer.0, status, "{method} {path}: {}", answer.1);
        assert!(
            answer.1.get(member).is_some(),
            "{method} {path}: {}",
            answer.1
        );
        if status == 404 {
            assert_eq!(
                answer.1,
                json!({"message": "Not Found"}),
                "API Gateway's own"
            );
        }
    }
    let (_, batch) = send(
        address,
        "POST",
        "/contacts/batch",
        json_type,
        batch.as_str().unwrap(),
    )
    .await;
    let ids = |list: &str| batch[list].as_array().map_or(0, Vec::len);
    assert_eq!(
        (ids("SuccessfulRequestList"), ids("FailedRequestList")),
        (2, 2),
        "{batch}"
    );
    child.kill().await.expect("stop the serve mode");
}
