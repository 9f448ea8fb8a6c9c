//! The status routes (contract §7): `GET /requests/{clientToken}` (the token URL-encoded) and
//! `GET /contacts/{contactId}` answer a request's status document from the ledger, `404
//! NOT_FOUND` for one it does not know, `404 NOT_CONFIGURED` without a ledger.

use aws_lambda_events::http::Method;
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::{HttpAnswer, HttpRequest};
use crate::connect::ContactStarter;
use crate::domain::ClientToken;
use crate::send::pipeline::Pipeline;
use crate::store::ledger::{LedgerEntry, LedgerError};

/// What a status route asks for.
#[derive(Debug, PartialEq, Eq)]
enum Query {
    Request(String),
    Contact(String),
}

/// The status route `request` names, if it names one: `/requests/{token}`, and
/// `/contacts/{id}` except a `POST /contacts/batch`.
fn query_of(request: &HttpRequest) -> Option<Query> {
    let path = request.path.trim_end_matches('/');
    let decode = |raw: &str| percent_decode_str(raw).decode_utf8_lossy().into_owned();
    if let Some(token) = path.strip_prefix("/requests/") {
        return Some(Query::Request(decode(token)));
    }
    let contact = path.strip_prefix("/contacts/")?;
    if contact == "batch" && request.method != Method::GET {
        return None;
    }
    Some(Query::Contact(decode(contact)))
}

/// Answers a status route, or `None` when `request` is for another route.
pub async fn answer<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    request: &HttpRequest,
) -> Option<HttpAnswer> {
    let query = query_of(request)?;
    if request.method != Method::GET {
        let answer =
            HttpAnswer::error(405, "METHOD_NOT_ALLOWED", "a status route accepts GET only");
        return Some(answer.with_header("allow", "GET"));
    }
    let Some(recorder) = pipeline.ledger() else {
        return Some(HttpAnswer::error(
            404,
            "NOT_CONFIGURED",
            "the ledger is off: the function has no STATE_TABLE_NAME, or LEDGER is off",
        ));
    };
    let cutoff = pipeline.cutoff();
    let ledger = recorder.ledger();
    let found = tokio::time::timeout_at(cutoff, async {
        let token = match &query {
            Query::Request(token) => Some(token.clone()),
            Query::Contact(contact_id) => ledger.token_of_contact(contact_id).await?,
        };
        let Some(token) = token.and_then(|t| ClientToken::parse(&t).ok()) else {
            return Ok(None);
        };
        let mut entries = ledger.entries(std::slice::from_ref(&token)).await?;
        Ok::<Option<LedgerEntry>, LedgerError>(entries.remove(token.as_str()))
    })
    .await
    .unwrap_or_else(|_| {
        Err(LedgerError {
            message: "the call to DynamoDB did not finish before the invocation deadline".into(),
        })
    });
    Some(match found {
        Ok(Some(entry)) => HttpAnswer::json(200, entry.document()),
        Ok(None) => {
            let what = match query {
                Query::Request(_) => "no request with this client token is in the ledger",
                Query::Contact(_) => "no request that started this contact is in the ledger",
            };
            HttpAnswer::json(404, json!({"code": "NOT_FOUND", "message": what}))
        }
        Err(err) => {
            tracing::warn!(request_id = request.request_id, error = %err, "a status was not read");
            HttpAnswer::error(503, "STATE_UNAVAILABLE", err.to_string())
                .with_header("retry-after", "5")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::http::HeaderMap;

    fn request(method: Method, path: &str) -> HttpRequest {
        HttpRequest {
            method,
            path: path.into(),
            headers: HeaderMap::new(),
            body: None,
            is_base64_encoded: false,
            request_id: "r".into(),
        }
    }

    #[test]
    fn the_routes_name_a_decoded_token_or_a_contact_and_leave_the_batch_route_alone() {
        let cases = [
            (
                Method::GET,
                "/requests/reminder%2FA%201001",
                Some(Query::Request("reminder/A 1001".into())),
            ),
            (
                Method::GET,
                "/contacts/c-1/",
                Some(Query::Contact("c-1".into())),
            ),
            (
                Method::GET,
                "/contacts/batch",
                Some(Query::Contact("batch".into())),
            ),
            (Method::POST, "/contacts/batch", None),
            (Method::POST, "/contacts", None),
            (Method::GET, "/requests", None),
        ];
        for (method, path, query) in cases {
            assert_eq!(
                query_of(&request(method.clone(), path)),
                query,
                "{method} {path}"
            );
        }
    }
}
