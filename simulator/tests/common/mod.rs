//! Test support: a raw HTTP/1.1 client with a fake SigV4 header, and a valid request to vary.
//!
//! A hand-written client keeps the dev-dependencies to tokio alone and shows exactly what is on
//! the wire, including a connection closed with no answer.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=AKIDEXAMPLE/20250101/eu-west-2/connect/aws4_request, \
    SignedHeaders=content-type;host;x-amz-date, \
    Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub const PATH: &str = "/contact/outbound-chat";

/// What came back.
#[derive(Debug)]
pub enum Answer {
    Response(Response),
    /// The connection closed before any byte of a response.
    Closed,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Asserts the Connect error wire form and returns the message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("x-amzn-errortype"), Some(code), "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert!(
            self.header("x-amzn-requestid")
                .is_some_and(|v| !v.is_empty())
        );
        let body = self.json();
        assert_eq!(body["__type"], code, "{self:?}");
        body["Message"].as_str().expect("a Message").to_owned()
    }

    pub fn contact_id(&self) -> String {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert!(self.header("x-amzn-requestid").is_some());
        self.json()["ContactId"]
            .as_str()
            .expect("a ContactId")
            .to_owned()
    }
}

impl Answer {
    pub fn response(self) -> Response {
        match self {
            Answer::Response(r) => r,
            Answer::Closed => panic!("the connection was closed with no response"),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self, Answer::Closed)
    }
}

/// Sends one request on a fresh connection and reads until the server closes it.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-Amz-Date: 20250101T000000Z\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(authorization) = authorization {
        head.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body.as_bytes()).await.expect("write body");
    let mut raw = Vec::new();
    // A reset counts as closed too: either way the client got no answer.
    let _ = stream.read_to_end(&mut raw).await;
    if raw.is_empty() {
        return Answer::Closed;
    }
    parse(&String::from_utf8(raw).expect("utf-8 response"))
}

fn parse(raw: &str) -> Answer {
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Answer::Response(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Sends a signed `PUT /contact/outbound-chat` with this JSON body.
pub async fn start_chat(addr: SocketAddr, body: &Value) -> Answer {
    send(addr, "PUT", PATH, Some(AUTHORIZATION), &body.to_string()).await
}

/// A request that passes every constraint: an SMS to a UK test number.
pub fn valid_request() -> Value {
    json!({
        "InstanceId": "11111111-2222-4333-8444-555555555555",
        "ContactFlowId": "66666666-7777-4888-9999-000000000000",
        "SourceEndpoint": {
            "Type": "CONNECT_PHONENUMBER_ARN",
            "Address": "arn:aws:connect:eu-west-2:123456789012:phone-number/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
        },
        "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+447700900123"},
        "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}},
    })
}

/// The valid request with a `ClientToken`.
pub fn request_with_token(token: &str) -> Value {
    let mut body = valid_request();
    body["ClientToken"] = json!(token);
    body
}
