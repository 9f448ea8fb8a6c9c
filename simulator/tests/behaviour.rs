//! The simulator's behaviour over HTTP, everything but input validation.
//!
//! Authentication, routing, idempotency, throttling, the active-chat cap, injected faults,
//! scripted replies (every error code), determinism and lifecycle.

mod common;

use std::time::{Duration, Instant};

use common::{AUTHORIZATION, Answer, PATH, request_with_token, send, start_chat, valid_request};
use connect_simulator::{
    ConnectErrorCode, Outcome, RateLimit, ScriptedReply, Simulator, SimulatorConfig,
};

fn is_uuid_shaped(id: &str) -> bool {
    let lengths: Vec<usize> = id.split('-').map(str::len).collect();
    lengths == [8, 4, 4, 4, 12] && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn outcomes(sim: &connect_simulator::RunningSimulator) -> Vec<Outcome> {
    sim.journal().into_iter().map(|e| e.outcome).collect()
}

#[tokio::test]
async fn a_valid_request_starts_a_contact_and_answers_like_connect() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    assert_eq!(sim.endpoint_url(), format!("http://{}", sim.local_addr()));
    let response = start_chat(sim.local_addr(), &request_with_token("t-1"))
        .await
        .response();
    let contact_id = response.contact_id();
    assert!(is_uuid_shaped(&contact_id), "{contact_id}");

    let contacts = sim.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].contact_id, contact_id);
    assert_eq!(contacts[0].client_token.as_deref(), Some("t-1"));
    assert_eq!(contacts[0].request, request_with_token("t-1"));

    let journal = sim.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].sequence, 1);
    assert_eq!(journal[0].client_token.as_deref(), Some("t-1"));
    assert_eq!(
        Some(journal[0].request_id.as_str()),
        response.header("x-amzn-requestid")
    );
    assert_eq!(journal[0].outcome, Outcome::Started { contact_id });
}

#[tokio::test]
async fn a_request_without_signature_is_refused() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let body = valid_request().to_string();
    let response = send(sim.local_addr(), "PUT", PATH, None, &body)
        .await
        .response();
    let message = response.assert_error(403, "MissingAuthenticationTokenException");
    assert_eq!(message, "Missing Authentication Token");
    assert_eq!(outcomes(&sim), [Outcome::Unauthenticated]);
    assert!(sim.contacts().is_empty());
}

#[tokio::test]
async fn a_request_signed_for_another_service_or_malformed_is_refused() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let body = valid_request().to_string();
    let wrong_service = AUTHORIZATION.replace("/connect/", "/s3/");
    for header in [
        wrong_service.as_str(),
        "Bearer token",
        "AWS4-HMAC-SHA256 Credential=x",
    ] {
        let response = send(sim.local_addr(), "PUT", PATH, Some(header), &body)
            .await
            .response();
        response.assert_error(403, "InvalidSignatureException");
    }
    assert_eq!(sim.summary().unauthenticated, 3);
    assert!(sim.contacts().is_empty());
}

#[tokio::test]
async fn another_path_or_method_is_an_unknown_operation() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let body = valid_request().to_string();
    for (method, path) in [
        ("GET", PATH),
        ("POST", PATH),
        ("PUT", "/contact/chat"),
        ("GET", "/"),
    ] {
        let response = send(sim.local_addr(), method, path, Some(AUTHORIZATION), &body)
            .await
            .response();
        let message = response.assert_error(404, "UnknownOperationException");
        assert!(message.contains(path), "{message}");
    }
    assert!(outcomes(&sim).iter().all(|o| *o == Outcome::NotFound));
}

#[tokio::test]
async fn the_same_client_token_replays_the_same_contact_and_starts_only_one() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let first = start_chat(sim.local_addr(), &request_with_token("order-1"))
        .await
        .response();
    let second = start_chat(sim.local_addr(), &request_with_token("order-1"))
        .await
        .response();
    let contact_id = first.contact_id();
    assert_eq!(second.contact_id(), contact_id);
    assert_eq!(sim.contacts().len(), 1);
    assert_eq!(
        outcomes(&sim),
        [
            Outcome::Started {
                contact_id: contact_id.clone()
            },
            Outcome::Replayed { contact_id },
        ]
    );
}

#[tokio::test]
async fn a_client_token_reused_with_a_different_request_is_an_idempotency_exception() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let first = start_chat(sim.local_addr(), &request_with_token("order-1"))
        .await
        .response()
        .contact_id();
    let mut different = request_with_token("order-1");
    different["DestinationEndpoint"]["Address"] = "+447700900999".into();
    let message = start_chat(sim.local_addr(), &different)
        .await
        .response()
        .assert_error(409, "IdempotencyException");
    assert!(message.contains("ClientToken"), "{message}");
    assert!(!message.contains("447700900"), "{message}");
    // The first request, repeated with its members in another order, still replays.
    let reordered = reorder(&request_with_token("order-1"));
    let again = send(
        sim.local_addr(),
        "PUT",
        PATH,
        Some(AUTHORIZATION),
        &reordered,
    )
    .await
    .response();
    assert_eq!(again.contact_id(), first);
    assert_eq!(sim.contacts().len(), 1);
    assert_eq!(
        outcomes(&sim),
        [
            Outcome::Started {
                contact_id: first.clone()
            },
            Outcome::IdempotencyMismatch,
            Outcome::Replayed { contact_id: first },
        ]
    );
    let summary = sim.summary();
    assert_eq!((summary.idempotency_mismatches, summary.replayed), (1, 1));
    assert!(summary.to_string().contains("idempotency mismatches: 1"));
}

/// The body's JSON text with its top-level members in reverse order.
fn reorder(body: &serde_json::Value) -> String {
    let members: Vec<String> = body
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", members.join(","))
}

#[tokio::test]
async fn requests_without_a_token_each_start_a_new_contact() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let a = start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .contact_id();
    let b = start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .contact_id();
    assert_ne!(a, b);
    assert_eq!(sim.contacts().len(), 2);
}

#[tokio::test]
async fn the_token_bucket_throttles_requests_past_the_burst() {
    let config = SimulatorConfig {
        rate_limit: Some(RateLimit {
            per_second: 0.001,
            burst: 2,
        }),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    for _ in 0..2 {
        start_chat(sim.local_addr(), &valid_request())
            .await
            .response()
            .contact_id();
    }
    let message = start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .assert_error(429, "ThrottlingException");
    assert_eq!(message, "Rate exceeded");
    assert_eq!(sim.contacts().len(), 2);
    assert_eq!(outcomes(&sim)[2], Outcome::Throttled);
}

#[tokio::test]
async fn the_token_bucket_refills_at_its_rate() {
    let config = SimulatorConfig {
        rate_limit: Some(RateLimit {
            per_second: 20.0,
            burst: 1,
        }),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    assert_eq!(
        start_chat(sim.local_addr(), &valid_request())
            .await
            .response()
            .status,
        200
    );
    assert_eq!(
        start_chat(sim.local_addr(), &valid_request())
            .await
            .response()
            .status,
        429
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        start_chat(sim.local_addr(), &valid_request())
            .await
            .response()
            .status,
        200
    );
}

#[tokio::test]
async fn a_rate_limit_changed_at_run_time_applies_to_the_next_requests() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let status = || async {
        start_chat(sim.local_addr(), &valid_request())
            .await
            .response()
            .status
    };
    // (the limit set, the statuses of the next three requests)
    let limit = |per_second, burst| Some(RateLimit { per_second, burst });
    let cases = [
        (limit(0.001, 2), [200, 200, 429]),
        (None, [200, 200, 200]),
        (limit(0.001, 1), [200, 429, 429]),
    ];
    for (rate_limit, expected) in cases {
        sim.set_rate_limit(rate_limit);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(status().await);
        }
        assert_eq!(got, expected, "{rate_limit:?}");
    }
}

#[tokio::test]
async fn the_active_chat_cap_answers_limit_exceeded_until_chats_end() {
    let config = SimulatorConfig {
        max_active_chats: Some(2),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let first = start_chat(sim.local_addr(), &request_with_token("a"))
        .await
        .response()
        .contact_id();
    start_chat(sim.local_addr(), &request_with_token("b"))
        .await
        .response()
        .contact_id();
    start_chat(sim.local_addr(), &request_with_token("c"))
        .await
        .response()
        .assert_error(429, "LimitExceededException");
    // A replay starts nothing, so the cap does not apply to it.
    let replayed = start_chat(sim.local_addr(), &request_with_token("a"))
        .await
        .response();
    assert_eq!(replayed.contact_id(), first);

    sim.end_all_chats();
    start_chat(sim.local_addr(), &request_with_token("c"))
        .await
        .response()
        .contact_id();
    assert_eq!(sim.contacts().len(), 3);
    assert_eq!(sim.summary().limit_exceeded, 1);
}

#[tokio::test]
async fn an_internal_error_before_start_creates_no_contact() {
    let config = SimulatorConfig {
        internal_error_before_start: 1.0,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    start_chat(sim.local_addr(), &request_with_token("t"))
        .await
        .response()
        .assert_error(500, "InternalServiceException");
    assert!(sim.contacts().is_empty());
    assert_eq!(
        outcomes(&sim),
        [Outcome::InternalError { contact_id: None }]
    );
}

#[tokio::test]
async fn an_internal_error_after_start_creates_one_contact_that_a_retry_replays() {
    let config = SimulatorConfig {
        internal_error_after_start: 1.0,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    start_chat(sim.local_addr(), &request_with_token("t"))
        .await
        .response()
        .assert_error(500, "InternalServiceException");
    let contacts = sim.contacts();
    assert_eq!(contacts.len(), 1);
    let contact_id = contacts[0].contact_id.clone();

    // The SDK's retry reuses the token: the contact already exists, so it is replayed.
    let retry = start_chat(sim.local_addr(), &request_with_token("t"))
        .await
        .response();
    assert_eq!(retry.contact_id(), contact_id);
    assert_eq!(sim.contacts().len(), 1);
    assert_eq!(
        outcomes(&sim),
        [
            Outcome::InternalError {
                contact_id: Some(contact_id.clone())
            },
            Outcome::Replayed { contact_id },
        ]
    );
}

#[tokio::test]
async fn a_drop_before_start_closes_the_connection_without_a_contact() {
    let config = SimulatorConfig {
        drop_before_start: 1.0,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    assert!(
        start_chat(sim.local_addr(), &request_with_token("t"))
            .await
            .is_closed()
    );
    assert!(sim.contacts().is_empty());
    assert_eq!(outcomes(&sim), [Outcome::Dropped { contact_id: None }]);
}

#[tokio::test]
async fn a_drop_after_start_closes_the_connection_after_creating_one_contact() {
    let config = SimulatorConfig {
        drop_after_start: 1.0,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    assert!(
        start_chat(sim.local_addr(), &request_with_token("t"))
            .await
            .is_closed()
    );
    let contacts = sim.contacts();
    assert_eq!(contacts.len(), 1);
    let contact_id = contacts[0].contact_id.clone();
    assert_eq!(
        outcomes(&sim),
        [Outcome::Dropped {
            contact_id: Some(contact_id.clone())
        }]
    );
    let retry = start_chat(sim.local_addr(), &request_with_token("t"))
        .await
        .response();
    assert_eq!(retry.contact_id(), contact_id);
    assert_eq!(sim.contacts().len(), 1);
}

#[tokio::test]
async fn scripted_errors_answer_with_each_connect_code_then_normal_service_resumes() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    sim.script(
        ConnectErrorCode::ALL
            .iter()
            .map(|c| ScriptedReply::Error(*c))
            .collect(),
    );
    let expected = [
        (400, "InvalidRequestException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (409, "ConflictException"),
        (429, "ThrottlingException"),
        (429, "LimitExceededException"),
        (500, "InternalServiceException"),
        (409, "IdempotencyException"),
        (402, "ServiceQuotaExceededException"),
        (408, "RequestTimeoutException"),
        (429, "TooManyRequestsException"),
    ];
    assert_eq!(expected.len(), ConnectErrorCode::ALL.len());
    for (code, (status, name)) in ConnectErrorCode::ALL.iter().zip(expected) {
        assert_eq!((code.status(), code.code()), (status, name));
        let response = start_chat(sim.local_addr(), &valid_request())
            .await
            .response();
        response.assert_error(status, name);
    }
    start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .contact_id();
    let journal = outcomes(&sim);
    for (outcome, code) in journal.iter().zip(ConnectErrorCode::ALL) {
        assert_eq!(*outcome, Outcome::Scripted(ScriptedReply::Error(code)));
    }
    assert_eq!(sim.contacts().len(), 1);
    assert_eq!(sim.summary().scripted, ConnectErrorCode::ALL.len());
}

#[tokio::test]
async fn a_scripted_reply_waits_for_an_authenticated_parsable_request() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    sim.script(vec![ScriptedReply::Error(ConnectErrorCode::Conflict)]);
    let body = valid_request().to_string();
    send(sim.local_addr(), "PUT", PATH, None, &body)
        .await
        .response()
        .assert_error(403, "MissingAuthenticationTokenException");
    send(sim.local_addr(), "PUT", PATH, Some(AUTHORIZATION), "{")
        .await
        .response()
        .assert_error(400, "InvalidRequestException");
    start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .assert_error(409, "ConflictException");
}

#[tokio::test]
async fn a_scripted_drop_closes_the_connection_once() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    sim.script(vec![ScriptedReply::Drop]);
    assert!(
        start_chat(sim.local_addr(), &request_with_token("t"))
            .await
            .is_closed()
    );
    assert!(sim.contacts().is_empty());
    start_chat(sim.local_addr(), &request_with_token("t"))
        .await
        .response()
        .contact_id();
    assert_eq!(outcomes(&sim)[0], Outcome::Scripted(ScriptedReply::Drop));
}

#[tokio::test]
async fn a_scripted_delay_answers_normally_after_the_delay() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    sim.script(vec![ScriptedReply::Delay(Duration::from_millis(80))]);
    let started = Instant::now();
    start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .contact_id();
    assert!(started.elapsed() >= Duration::from_millis(80));
    assert!(matches!(outcomes(&sim)[0], Outcome::Started { .. }));
}

#[tokio::test]
async fn the_journal_keeps_arrival_order_when_a_later_request_finishes_first() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    sim.script(vec![ScriptedReply::Delay(Duration::from_millis(100))]);
    let addr = sim.local_addr();
    let slow = tokio::spawn(async move { start_chat(addr, &request_with_token("slow")).await });
    tokio::time::sleep(Duration::from_millis(30)).await;
    start_chat(addr, &request_with_token("fast"))
        .await
        .response()
        .contact_id();
    slow.await.unwrap().response().contact_id();
    let tokens: Vec<_> = sim
        .journal()
        .into_iter()
        .map(|e| (e.sequence, e.client_token.unwrap()))
        .collect();
    assert_eq!(tokens, [(1, "slow".to_owned()), (2, "fast".to_owned())]);
}

#[tokio::test]
async fn latency_and_jitter_delay_a_new_contact() {
    let config = SimulatorConfig {
        latency: Duration::from_millis(60),
        latency_jitter: Some(Duration::from_millis(20)),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let started = Instant::now();
    start_chat(sim.local_addr(), &valid_request())
        .await
        .response()
        .contact_id();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(60), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
}

/// Runs the same request sequence against a simulator with a mix of faults.
async fn run_with_seed(seed: u64) -> Vec<Outcome> {
    let config = SimulatorConfig {
        seed,
        internal_error_before_start: 0.2,
        internal_error_after_start: 0.2,
        drop_before_start: 0.1,
        drop_after_start: 0.1,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    for i in 0..24 {
        let _: Answer = start_chat(sim.local_addr(), &request_with_token(&format!("t-{i}"))).await;
    }
    outcomes(&sim)
}

#[tokio::test]
async fn the_same_seed_makes_the_same_decisions_and_ids() {
    let first = run_with_seed(42).await;
    let again = run_with_seed(42).await;
    assert_eq!(first, again);
    let kinds: std::collections::HashSet<_> = first.iter().map(std::mem::discriminant).collect();
    assert!(
        kinds.len() >= 3,
        "the mix should show several outcomes: {first:?}"
    );
    assert_ne!(first, run_with_seed(43).await);
}

#[tokio::test]
async fn the_summary_counts_every_outcome() {
    let config = SimulatorConfig {
        max_active_chats: Some(1),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    start_chat(sim.local_addr(), &request_with_token("a")).await;
    start_chat(sim.local_addr(), &request_with_token("a")).await;
    start_chat(sim.local_addr(), &request_with_token("b")).await;
    send(sim.local_addr(), "PUT", PATH, None, "{}").await;
    send(sim.local_addr(), "PUT", PATH, Some(AUTHORIZATION), "{}").await;
    let summary = sim.summary();
    assert_eq!(
        (
            summary.requests,
            summary.contacts_created,
            summary.started,
            summary.replayed
        ),
        (5, 1, 1, 1)
    );
    assert_eq!(
        (
            summary.limit_exceeded,
            summary.unauthenticated,
            summary.invalid
        ),
        (1, 1, 1)
    );
    assert_eq!(summary.refused(), 2);
    let text = summary.to_string();
    assert!(
        text.contains("started: 1, replayed: 1, refused: 2"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_a_multi_thread_runtime_start_one_contact_per_token() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let addr = sim.local_addr();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            // Ten distinct tokens, each sent twice at once.
            let body = request_with_token(&format!("t-{}", i % 10));
            tokio::spawn(async move { start_chat(addr, &body).await.response().contact_id() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(sim.contacts().len(), 10);
    let summary = sim.summary();
    assert_eq!((summary.started, summary.replayed), (10, 10));
    let sequences: Vec<u64> = sim.journal().iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=20).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_simulator_that_is_shut_down_refuses_connections() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let addr = sim.local_addr();
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_dropped_simulator_stops_serving() {
    let sim = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let addr = sim.local_addr();
    drop(sim);
    let deadline = Instant::now() + Duration::from_secs(2);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after drop");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_config_with_an_impossible_probability_does_not_start() {
    let config = SimulatorConfig {
        internal_error_after_start: 2.0,
        ..SimulatorConfig::default()
    };
    let error = Simulator::start(config).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
