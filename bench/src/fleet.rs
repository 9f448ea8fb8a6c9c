//! The fleet figures' events: what each busy instance of a scenario is fed. The scenarios, their
//! quota and the meter are testkit's (`lambda_testkit::fleet`), shared with
//! `tests/function/fleet.rs`, which asserts the same scenarios; the harness launches the
//! processes.

use serde_json::{Value, json};

pub use lambda_testkit::fleet::{
    BURST, Busy, Meter, QUOTA, RUN, SCENARIOS, Scenario, Shares, account_limit,
};

use crate::events::SqsEvents;

/// The events of instance `instance`: SQS batches of 10 or single HTTP API requests, each with
/// ids never used by another instance, so every request is a new contact.
pub fn events(instance: usize, busy: Busy) -> impl FnMut() -> Value {
    let first = (instance as u64 + 1) << 32;
    let mut sqs = SqsEvents::starting_at(first);
    let mut next = first;
    move || match busy {
        Busy::Sqs => sqs.batch_json(10),
        Busy::Http => {
            next += 1;
            http_api_request(next)
        }
    }
}

/// An HTTP API (v2) `POST /contacts` with idempotency key `n`.
fn http_api_request(n: u64) -> Value {
    let body = json!({
        "to": format!("+1425556{:04}", n % 10_000),
        "message": {"content": format!("Your table {n} is ready.")},
    });
    json!({
        "version": "2.0",
        "routeKey": "POST /contacts",
        "rawPath": "/contacts",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "idempotency-key": format!("bench-{n}")},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": "POST", "path": "/contacts", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "bench"},
            "requestId": format!("bench-{n}"),
            "routeKey": "POST /contacts",
            "stage": "$default",
            "time": "23/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1763888400000u64
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_halving_scenario_allows_three_quarters_of_the_full_quota() {
        let cases = [(0, 1200.0), (3, 900.0)];
        for (scenario, quota) in cases {
            assert_eq!(SCENARIOS[scenario].quota(), quota);
        }
    }

    #[test]
    fn instances_never_share_an_id() {
        let id = |event: &Value| match event.get("Records") {
            Some(records) => records[0]["messageId"].as_str().unwrap().to_owned(),
            None => event["headers"]["idempotency-key"]
                .as_str()
                .unwrap()
                .to_owned(),
        };
        let mut seen = std::collections::HashSet::new();
        for (instance, busy) in [(0, Busy::Sqs), (1, Busy::Sqs), (2, Busy::Http)] {
            let mut next = events(instance, busy);
            for _ in 0..3 {
                assert!(seen.insert(id(&next())));
            }
        }
    }
}
