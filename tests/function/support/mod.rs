//! What the tests share, in one place: a scriptable fake Connect port, the sample events, a test
//! configuration and a function wired to the fake (here); the compiled binary under the Runtime
//! API emulator ([`binary`]); DynamoDB Local and the recipient state ([`dynamodb`]); moto's SQS
//! ([`sqs`]); SQS records built in memory ([`records`]); the real SDK against the local Connect
//! ([`sdk`]); the function's logs captured at TRACE ([`logs`]). No test file imports another.

pub mod binary;
pub mod dynamodb;
pub mod logs;
pub mod records;
pub mod sdk;
pub mod sqs;

use futures::future::BoxFuture;
use std::collections::HashMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outbound_chat::OutboundChat;
use outbound_chat::{Config, ContactId, ContactStarter, Function, FunctionError, StartError};
use serde_json::Value;
use tokio::time::Instant;

pub const SMS_ARN: &str = connect_simulator::sample::SMS_SOURCE_ARN;
pub const WHATSAPP_ARN: &str = connect_simulator::sample::WHATSAPP_SOURCE_ARN;

/// The variables the function requires, as the tests set them (in process and for the binary).
pub const FUNCTION_CONFIG: [(&str, &str); 4] = connect_simulator::sample::FUNCTION_VARIABLES;

/// The configuration the tests run with: every default set.
pub fn test_config() -> Config {
    config_with(&[])
}

/// The test configuration with some variables changed.
pub fn config_with(overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<&str, &str> = HashMap::from(FUNCTION_CONFIG);
    vars.extend(overrides.iter().copied());
    Config::from_lookup(|name| vars.get(name).map(|v| v.to_string())).expect("test configuration")
}

/// A sample event from `events/`.
pub fn sample_event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("sample event is JSON")
}

/// Every sample event file's name.
pub fn sample_event_names() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("events/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// What the fake answers for one destination number.
#[derive(Clone, Debug)]
pub enum Script {
    /// Fail every call to this number.
    Always(StartError),
    /// Fail only the n-th call (1-based) to this number.
    Nth(usize, StartError),
}

/// A Connect port that starts contacts in memory. Like Connect, it returns the same contact
/// for the same client token. Failures are scripted per destination number.
#[derive(Default)]
pub struct FakeConnect {
    scripts: Mutex<HashMap<String, Script>>,
    calls: Mutex<Vec<OutboundChat>>,
    per_number: Mutex<HashMap<String, usize>>,
    latency: Mutex<Duration>,
}

impl FakeConnect {
    pub fn script(&self, number: &str, script: Script) {
        self.scripts
            .lock()
            .unwrap()
            .insert(number.to_owned(), script);
    }

    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    /// Every chat the function asked Connect to start, in call order.
    pub fn calls(&self) -> Vec<OutboundChat> {
        self.calls.lock().unwrap().clone()
    }

    /// The destination numbers called, in call order.
    pub fn called_numbers(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| c.destination().e164().to_owned())
            .collect()
    }
}

impl ContactStarter for FakeConnect {
    fn start_contact<'a>(
        &'a self,
        chat: &'a OutboundChat,
    ) -> BoxFuture<'a, Result<ContactId, StartError>> {
        Box::pin(async move {
            let latency = *self.latency.lock().unwrap();
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let number = chat.destination().e164().to_owned();
            self.calls.lock().unwrap().push(chat.clone());
            let nth = {
                let mut counts = self.per_number.lock().unwrap();
                let count = counts.entry(number.clone()).or_default();
                *count += 1;
                *count
            };
            match self.scripts.lock().unwrap().get(&number) {
                Some(Script::Always(err)) => return Err(err.clone()),
                Some(Script::Nth(n, err)) if *n == nth => return Err(err.clone()),
                _ => {}
            }
            let token = chat
                .client_token()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default();
            Ok(ContactId::new(format!(
                "contact-{}",
                &token[..token.len().min(12)]
            )))
        })
    }
}

/// A function and the fake Connect port it calls, which the test keeps to read the calls.
pub struct TestFunction<C = FakeConnect> {
    function: Function<Arc<C>>,
    connect: Arc<C>,
}

impl<C: ContactStarter> TestFunction<C> {
    pub fn new(connect: C, config: &Config) -> Self {
        let connect = Arc::new(connect);
        Self {
            function: Function::new(Arc::clone(&connect), config),
            connect,
        }
    }

    /// The fake the function calls.
    pub fn connect(&self) -> &C {
        &self.connect
    }

    /// The function after a builder step (a clock, a queue).
    pub fn map(self, step: impl FnOnce(Function<Arc<C>>) -> Function<Arc<C>>) -> Self {
        Self {
            function: step(self.function),
            connect: self.connect,
        }
    }
}

impl<C> Deref for TestFunction<C> {
    type Target = Function<Arc<C>>;

    fn deref(&self) -> &Self::Target {
        &self.function
    }
}

/// A function wired to a fresh fake.
pub fn function() -> TestFunction {
    TestFunction::new(FakeConnect::default(), &test_config())
}

/// Invokes `function` with a generous deadline.
pub async fn invoke<C: ContactStarter>(
    function: &Function<C>,
    event: Value,
) -> Result<Value, FunctionError> {
    function
        .handle(
            event,
            "8e3f5a1c-0000-4000-8000-00000000beef",
            Instant::now() + Duration::from_secs(60),
        )
        .await
}

pub fn throttled() -> StartError {
    StartError::Throttled {
        message: "Rate exceeded".into(),
    }
}

pub fn transient() -> StartError {
    StartError::Transient {
        message: "InternalServiceException".into(),
    }
}

pub fn rejected() -> StartError {
    StartError::Rejected {
        code: "ResourceNotFoundException".into(),
        message: "Contact flow not found".into(),
    }
}

/// The message ids of an SQS answer's `batchItemFailures`, in order.
pub fn failed_ids(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("batchItemFailures in {answer}"))
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("itemIdentifier")
                .to_owned()
        })
        .collect()
}

/// The JSON body of an HTTP answer (API Gateway REST, HTTP API or Function URL).
pub fn http_body(answer: &Value) -> Value {
    let body = answer["body"].as_str().expect("a string body");
    serde_json::from_str(body).expect("a JSON body")
}
