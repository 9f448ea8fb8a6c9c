//! What the function reports to its operators: the CloudWatch EMF documents of each invocation
//! (envelope, counts by channel and reason, throttles, expiries, Connect latency), the outcome
//! and summary log lines with the fields the documented Logs Insights query reads, and the
//! flush on SIGTERM.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_simulator::{Simulator, SimulatorConfig};
use lambda_testkit::RuntimeApi;
use outbound_chat::runtime;
use outbound_chat::{Config, FunctionError};
use serde_json::{Value, json};

use crate::support::binary::{lambda_environment, run_binary};
use crate::support::logs::with_trace_logs;
use crate::support::*;

const MIXED_BATCH: [&str; 4] = [
    "0c5f3a52-0001-4d6b-9b1e-6f0a2c3b4d01",
    "0c5f3a52-0002-4d6b-9b1e-6f0a2c3b4d02",
    "0c5f3a52-0003-4d6b-9b1e-6f0a2c3b4d03",
    "0c5f3a52-0004-4d6b-9b1e-6f0a2c3b4d04",
];

/// Invokes `function` and returns its answer and the metric documents it published.
async fn invoke_with_metrics(
    function: &TestFunction,
    event: Value,
) -> (Result<Value, FunctionError>, Vec<Value>) {
    outbound_chat::testing::capture_metrics(invoke(function, event)).await
}

/// Checks one document against the EMF specification and this function's layout, and returns
/// its metric values by name.
#[track_caller]
fn metric_values(document: &Value, namespace: &str, trigger: &str) -> BTreeMap<String, Value> {
    let envelope = &document["_aws"];
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let timestamp = envelope["Timestamp"].as_u64().expect("a Timestamp in ms");
    assert!(
        now.as_millis().abs_diff(u128::from(timestamp)) < 60_000,
        "{document}"
    );
    let directives = envelope["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(directives.len(), 1, "{document}");
    let directive = &directives[0];
    assert_eq!(directive["Namespace"], namespace, "{document}");
    assert_eq!(
        directive["Dimensions"],
        json!([["Trigger", "Channel"]]),
        "{document}"
    );
    assert_eq!(document["Trigger"], trigger, "{document}");
    let channel = document["Channel"].as_str().expect("a Channel dimension");
    assert!(
        ["SMS", "WHATSAPP", "UNKNOWN"].contains(&channel),
        "{document}"
    );
    let declared = directive["Metrics"].as_array().unwrap();
    assert!(declared.len() <= 100, "{document}");
    declared
        .iter()
        .map(|metric| {
            let name = metric["Name"].as_str().expect("a metric Name");
            assert!(
                ["Count", "Milliseconds", "Count/Second"]
                    .contains(&metric["Unit"].as_str().unwrap()),
                "{document}"
            );
            let value = &document[name];
            let numbers = match value {
                Value::Array(values) => values.clone(),
                other => vec![other.clone()],
            };
            assert!(
                !numbers.is_empty() && numbers.len() <= 100 && numbers.iter().all(Value::is_number),
                "{name} has no valid value in {document}"
            );
            (name.to_owned(), value.clone())
        })
        .collect()
}

/// The documents of one invocation, checked, by channel. One document per channel.
#[track_caller]
fn by_channel(
    documents: &[Value],
    namespace: &str,
    trigger: &str,
) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut channels = BTreeMap::new();
    for document in documents {
        let values = metric_values(document, namespace, trigger);
        let channel = document["Channel"].as_str().unwrap().to_owned();
        assert!(
            channels.insert(channel, values).is_none(),
            "two documents for one channel: {documents:?}"
        );
    }
    channels
}

/// The count metrics of one document, latency left out.
fn counts(values: &BTreeMap<String, Value>) -> BTreeMap<&str, u64> {
    values
        .iter()
        .filter(|(name, _)| *name != "ConnectLatency")
        .map(|(name, value)| (name.as_str(), value.as_u64().unwrap()))
        .collect()
}

fn latencies(values: &BTreeMap<String, Value>) -> Vec<f64> {
    values.get("ConnectLatency").map_or_else(Vec::new, |v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_f64().unwrap())
            .collect()
    })
}

#[tokio::test]
async fn every_sample_event_publishes_one_valid_document_per_channel_under_the_configured_namespace()
 {
    // (configuration, namespace)
    let configurations: [(Config, &str); 2] = [
        (test_config(), "OutboundChat"),
        (
            config_with(&[("METRICS_NAMESPACE", "Reminders/Prod")]),
            "Reminders/Prod",
        ),
    ];
    // (sample event, trigger, channels seen)
    let cases: &[(&str, &str, &[&str])] = &[
        ("apigw-http-batch.json", "apigw-http", &["SMS", "WHATSAPP"]),
        ("apigw-http-single.json", "apigw-http", &["SMS"]),
        ("apigw-rest-single.json", "apigw-rest", &["SMS"]),
        ("direct-invoke-native.json", "invoke", &["SMS"]),
        ("eventbridge.json", "eventbridge", &["WHATSAPP"]),
        ("flow-sms-deflection.json", "flow", &["SMS"]),
        ("flow-whatsapp-queue.json", "flow", &["WHATSAPP"]),
        ("function-url-base64.json", "function-url", &["SMS"]),
        ("sqs-fifo-two-groups.json", "sqs", &["SMS"]),
        ("sqs-mixed-batch.json", "sqs", &["SMS", "WHATSAPP"]),
        // A request too broken to name its channel.
        ("sqs-unreadable-body", "sqs", &["UNKNOWN"]),
    ];
    let names: Vec<&str> = cases
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert_eq!(names, sample_event_names(), "a sample event has no case");
    for (config, namespace) in configurations {
        for (name, trigger, channels) in cases {
            let function = TestFunction::new(FakeConnect::default(), &config);
            let event = if name.ends_with(".json") {
                sample_event(name)
            } else {
                let mut event = sample_event("sqs-mixed-batch.json");
                event["Records"][0]["body"] = "not JSON".into();
                event["Records"] = json!([event["Records"][0]]);
                event
            };
            let (_, documents) = invoke_with_metrics(&function, event).await;
            let seen: Vec<String> = by_channel(&documents, namespace, trigger)
                .into_keys()
                .collect();
            assert_eq!(seen, *channels, "{name}");
        }
    }
}

#[tokio::test]
async fn the_mixed_sqs_batch_is_counted_by_channel_and_reason() {
    let function = function();
    let (_, documents) = invoke_with_metrics(&function, sample_event("sqs-mixed-batch.json")).await;
    let channels = by_channel(&documents, "OutboundChat", "sqs");
    /// (channel, counts, Connect calls)
    type Expected = (&'static str, Vec<(&'static str, u64)>, usize);
    let expected: [Expected; 2] = [
        (
            "SMS",
            vec![
                ("ContactsStarted", 2),
                ("RequestsSuppressed", 0),
                ("RequestsFailed", 0),
                ("Throttles", 0),
                ("ExpiredRequests", 0),
                ("Deferred", 0),
                ("Requeued", 0),
                ("RequeueLimitReached", 0),
                // Two one-part GSM-7 texts.
                ("SmsSegments", 2),
            ],
            2,
        ),
        (
            // The refused record asked for WhatsApp: it counts there, without a call.
            "WHATSAPP",
            vec![
                ("ContactsStarted", 1),
                ("RequestsSuppressed", 0),
                ("RequestsFailed", 1),
                ("Throttles", 0),
                ("ExpiredRequests", 0),
                ("Deferred", 0),
                ("Requeued", 0),
                ("RequeueLimitReached", 0),
                ("SmsSegments", 0),
                ("Failures.INVALID_CUSTOMER_ENDPOINT", 1),
            ],
            1,
        ),
    ];
    for (channel, expected_counts, calls) in expected {
        let values = &channels[channel];
        assert_eq!(
            counts(values),
            expected_counts.into_iter().collect(),
            "{channel}"
        );
        assert_eq!(latencies(values).len(), calls, "{channel}");
    }
}

#[tokio::test]
async fn a_throttle_counts_itself_and_every_request_it_held_back() {
    let function = TestFunction::new(
        FakeConnect::default(),
        &config_with(&[("MAX_IN_FLIGHT", "1")]),
    );
    function
        .connect()
        .script("+14255550100", Script::Always(throttled()));
    let (_, documents) = invoke_with_metrics(&function, sample_event("sqs-mixed-batch.json")).await;
    let channels = by_channel(&documents, "OutboundChat", "sqs");
    // The first record is throttled by Connect; the two valid ones after it are not sent.
    let sms = &channels["SMS"];
    assert_eq!(counts(sms)["Throttles"], 2);
    assert_eq!(counts(sms)["Failures.REQUEST_THROTTLED"], 2);
    assert_eq!(counts(sms)["ContactsStarted"], 0);
    assert_eq!(
        latencies(sms).len(),
        1,
        "only the throttled call reached Connect"
    );
    let whatsapp = &channels["WHATSAPP"];
    assert_eq!(counts(whatsapp)["Throttles"], 1);
    assert!(latencies(whatsapp).is_empty());
}

#[tokio::test]
async fn an_expired_request_counts_as_expired_and_never_reaches_connect() {
    let mut event = sample_event("sqs-mixed-batch.json");
    let mut record = event["Records"][1].clone();
    record["body"] = record["body"]
        .as_str()
        .unwrap()
        .replace("2099-11-23T09:00:00Z", "2020-01-01T00:00:00Z")
        .into();
    event["Records"] = json!([record]);
    let function = function();
    let (_, documents) = invoke_with_metrics(&function, event).await;
    let channels = by_channel(&documents, "OutboundChat", "sqs");
    let whatsapp = &channels["WHATSAPP"];
    let expected: BTreeMap<&str, u64> = [
        ("ContactsStarted", 0),
        ("RequestsSuppressed", 0),
        ("RequestsFailed", 1),
        ("Throttles", 0),
        ("ExpiredRequests", 1),
        ("Deferred", 0),
        ("Requeued", 0),
        ("RequeueLimitReached", 0),
        ("SmsSegments", 0),
        ("Failures.EXPIRED", 1),
    ]
    .into();
    assert_eq!(counts(whatsapp), expected);
    assert!(!whatsapp.contains_key("ConnectLatency"));
}

#[tokio::test]
async fn a_failed_eventbridge_or_direct_invocation_still_publishes_its_metrics() {
    let mut eventbridge = sample_event("eventbridge.json");
    eventbridge["detail"]["expiresAt"] = "2020-01-01T00:00:00Z".into();
    let mut direct = sample_event("direct-invoke-native.json");
    direct["DestinationEndpoint"]["Address"] = "not a number".into();
    // (event, trigger, channel, reason)
    let cases = [
        (eventbridge, "eventbridge", "WHATSAPP", "Failures.EXPIRED"),
        (
            direct,
            "invoke",
            "SMS",
            "Failures.INVALID_CUSTOMER_ENDPOINT",
        ),
    ];
    for (event, trigger, channel, reason) in cases {
        let function = function();
        let (answer, documents) = invoke_with_metrics(&function, event).await;
        assert!(answer.is_err());
        let channels = by_channel(&documents, "OutboundChat", trigger);
        assert_eq!(counts(&channels[channel])[reason], 1, "{trigger}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_paced_instance_reports_its_rate_its_waits_and_its_throttled_attempts_once() {
    /// (pacing variables, throttled calls, expected rate range, expected throttled attempts)
    type Case = (
        &'static [(&'static str, &'static str)],
        bool,
        Option<(f64, f64)>,
        u64,
    );
    let cases: [Case; 3] = [
        (&[], true, None, 0),
        (
            &[
                ("CONNECT_MAX_REQUESTS_PER_SECOND", "4"),
                ("CONNECT_PACING", "fixed"),
            ],
            false,
            Some((4.0, 4.0)),
            0,
        ),
        // Adaptive, a new instance: half the ceiling, cut by 35 % by the throttle of its first
        // call, and climbing back since.
        (
            &[("CONNECT_MAX_REQUESTS_PER_SECOND", "4")],
            true,
            Some((2.0 * 0.65, 2.0)),
            1,
        ),
    ];
    for (pacing, throttle_once, rate, throttled_attempts) in cases {
        let mut vars = vec![("MAX_IN_FLIGHT", "1")];
        vars.extend_from_slice(pacing);
        let function = TestFunction::new(FakeConnect::default(), &config_with(&vars));
        if throttle_once {
            function
                .connect()
                .script("+14255550100", Script::Nth(1, throttled()));
        }
        let (_, documents) =
            invoke_with_metrics(&function, sample_event("sqs-mixed-batch.json")).await;
        let with_rate: Vec<&Value> = documents
            .iter()
            .filter(|d| d.get("PacingRate").is_some())
            .collect();
        let Some((least, most)) = rate else {
            assert!(with_rate.is_empty(), "{documents:?}");
            continue;
        };
        assert_eq!(with_rate.len(), 1, "once per invocation: {documents:?}");
        let document = with_rate[0];
        let reported = document["PacingRate"].as_f64().unwrap();
        assert!(
            (least - 1e-9..=most).contains(&reported),
            "{reported} outside {least}..={most}"
        );
        assert_eq!(document["ThrottledAttempts"], throttled_attempts);
        // Four calls (one tried again when throttled) spaced at the rate: they waited.
        assert!(document["PacingWait"].as_f64().unwrap() > 0.0, "{document}");
    }
}

// The clock is paused: the fake's delay is the exact latency observed.
#[tokio::test(start_paused = true)]
async fn connect_latency_is_each_calls_duration_in_milliseconds() {
    let function = function();
    function.connect().set_latency(Duration::from_millis(40));
    function
        .connect()
        .script("+14255550103", Script::Always(transient()));
    let (_, documents) = invoke_with_metrics(&function, sample_event("sqs-mixed-batch.json")).await;
    let channels = by_channel(&documents, "OutboundChat", "sqs");
    // A failed call has a latency too.
    assert_eq!(latencies(&channels["SMS"]), [40.0, 40.0]);
    assert_eq!(latencies(&channels["WHATSAPP"]), [40.0]);
}

#[tokio::test]
async fn each_request_gets_one_outcome_line_and_each_invocation_one_summary() {
    let function = function();
    function
        .connect()
        .script("+14255550103", Script::Always(transient()));
    let (logs, _) = with_trace_logs(true, async {
        let _ = invoke_with_metrics(&function, sample_event("sqs-mixed-batch.json")).await;
        String::new()
    })
    .await;
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    let outcomes: BTreeMap<&str, &Value> = lines
        .iter()
        .filter(|line| line["fields"]["outcome"].is_string())
        .map(|line| {
            (
                line["fields"]["request_id"].as_str().unwrap(),
                &line["fields"],
            )
        })
        .collect();
    assert_eq!(outcomes.keys().copied().collect::<Vec<_>>(), MIXED_BATCH);
    let started = outcomes[MIXED_BATCH[0]];
    assert_eq!(started["message"], "contact started");
    assert_eq!(started["trigger"], "sqs");
    assert_eq!(started["channel"], "SMS");
    assert!(
        started["contact_id"]
            .as_str()
            .unwrap()
            .starts_with("contact-")
    );
    assert!(started["latency_ms"].is_u64());
    let invalid = outcomes[MIXED_BATCH[2]];
    assert_eq!(invalid["message"], "request not started");
    assert_eq!(invalid["code"], "INVALID_CUSTOMER_ENDPOINT");
    assert_eq!(invalid["error_kind"], "ValidationError");
    assert!(
        invalid["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid request: ")
    );
    assert!(
        invalid.get("latency_ms").is_none(),
        "Connect was not called"
    );
    let failed = outcomes[MIXED_BATCH[3]];
    assert_eq!(failed["code"], "INTERNAL_ERROR");
    assert!(failed["latency_ms"].is_u64());

    let summaries: Vec<&Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "invocation summary")
        .collect();
    assert_eq!(summaries.len(), 1, "{logs}");
    let summary = &summaries[0]["fields"];
    assert_eq!(summary["trigger"], "sqs");
    assert_eq!(summary["started"], 2);
    assert_eq!(summary["failed"], 2);
    assert_eq!(
        summary["failures"],
        "INTERNAL_ERROR=1,INVALID_CUSTOMER_ENDPOINT=1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_writes_json_lines_with_the_fields_the_documented_query_reads() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let api = RuntimeApi::start().await;
    api.queue([sample_event("sqs-mixed-batch.json")]);
    let environment = lambda_environment(&api.address(), &simulator.endpoint_url(), "JSON", "INFO");
    let run = run_binary(environment, api.wait_for_answers(1)).await;
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let invocation_id = &api.answers()[0].request_id;

    // Outcome lines: the event's fields under `fields`, the invocation under `span`.
    let outcome = lines
        .iter()
        .find(|line| line["fields"]["request_id"] == MIXED_BATCH[0])
        .expect("the first record's outcome line");
    assert_eq!(outcome["level"], "INFO");
    assert_eq!(outcome["fields"]["message"], "contact started");
    assert_eq!(outcome["fields"]["outcome"], "started");
    assert!(outcome["fields"]["contact_id"].is_string());
    assert_eq!(outcome["span"]["requestId"], *invocation_id);
    let failed = lines
        .iter()
        .find(|line| line["fields"]["request_id"] == MIXED_BATCH[2])
        .expect("the invalid record's outcome line");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["fields"]["code"], "INVALID_CUSTOMER_ENDPOINT");

    // The EMF documents reach standard output as lines of their own.
    let documents: Vec<&Value> = lines
        .iter()
        .filter(|line| line.get("_aws").is_some())
        .collect();
    assert_eq!(documents.len(), 2, "{}", run.stdout);

    assert!(run.status.success(), "{}", run.stderr);
    let shutdown = lines
        .iter()
        .find(|line| line["fields"]["message"] == runtime::SHUTDOWN_MESSAGE)
        .expect("the shutdown line");
    assert_eq!(shutdown["fields"]["signal"], "SIGTERM");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_outside_lambda_flushes_and_exits_at_once() {
    // A Runtime API that accepts connections and never answers: the binary is left waiting on
    // its extension registration, as under an emulator without the Extensions API.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (connected, mut first_connection) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            let _ = connected.try_send(());
        }
    });
    let environment = lambda_environment(&addr.to_string(), "http://127.0.0.1:9", "TEXT", "INFO");
    let run = run_binary(environment, async {
        // The binary handles signals before it first connects.
        tokio::time::timeout(Duration::from_secs(30), first_connection.recv())
            .await
            .expect("the binary connects to the Runtime API");
    })
    .await;
    assert!(run.status.success(), "{:?}: {}", run.status, run.stderr);
    assert!(
        run.shutdown_took < Duration::from_secs(2),
        "{:?}",
        run.shutdown_took
    );
    assert!(
        run.stdout.contains(runtime::SHUTDOWN_MESSAGE) && run.stdout.contains("SIGTERM"),
        "{}",
        run.stdout
    );
}
