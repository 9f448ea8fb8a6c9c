//! API Gateway REST (v1), HTTP API (v2) and Function URL requests: `POST /contacts` for one
//! request and `POST /contacts/batch` for up to 25, answered with JSON bodies and the statuses
//! of contract §2; `PUT` and `DELETE /suppressions` change the do-not-contact list; `GET
//! /requests/{clientToken}` and `GET /contacts/{contactId}` read the ledger. All three
//! event types are read into one [`HttpRequest`] and answered from one [`HttpAnswer`].

pub mod status;
pub mod suppressions;

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::connect::ContactStarter;
use crate::domain::{OutboundChat, Reason, RequestIdentifier, ValidationError, Violation};
use crate::intake::MAX_REQUEST_BYTES;
use crate::intake::token::DeliveryIdentity;
use crate::outcome::{Failure, Outcome, Requeue};
use crate::send::deferral::{RequestCopy, Route};
use crate::send::pipeline::Pipeline;

/// Largest accepted body of `POST /contacts` (decoded): the largest request.
pub const MAX_SINGLE_BODY_BYTES: usize = MAX_REQUEST_BYTES;
/// Largest accepted body of `POST /contacts/batch` (decoded).
pub const MAX_BATCH_BODY_BYTES: usize = 1024 * 1024;
/// Most requests in one batch, as in BatchPutContact.
pub const MAX_BATCH_ITEMS: usize = 25;

/// The parts of an HTTP event the routes need, whichever trigger brought it.
#[derive(Debug)]
pub struct HttpRequest {
    pub method: Method,
    /// The path after any stage prefix.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
    pub request_id: String,
}

impl HttpRequest {
    pub fn from_rest(event: ApiGatewayProxyRequest) -> Self {
        // A REST API's `path` carries no stage; a custom domain's base path may stand in front,
        // which `resource` does not have.
        let path = event.path.or(event.resource).unwrap_or_default();
        Self {
            method: event.http_method,
            path,
            headers: event.headers,
            body: event.body,
            is_base64_encoded: event.is_base64_encoded,
            request_id: event.request_context.request_id.unwrap_or_default(),
        }
    }

    pub fn from_http_api(event: ApiGatewayV2httpRequest) -> Self {
        let context = event.request_context;
        let path = strip_stage(
            event.raw_path.or(context.http.path).unwrap_or_default(),
            context.stage.as_deref(),
        );
        Self {
            method: context.http.method,
            path,
            headers: event.headers,
            body: event.body,
            is_base64_encoded: event.is_base64_encoded,
            request_id: context.request_id.unwrap_or_default(),
        }
    }

    pub fn from_function_url(event: LambdaFunctionUrlRequest) -> Self {
        let context = event.request_context;
        Self {
            method: context
                .http
                .method
                .as_deref()
                .and_then(|m| m.parse().ok())
                .unwrap_or(Method::GET),
            path: event.raw_path.or(context.http.path).unwrap_or_default(),
            headers: event.headers,
            body: event.body,
            is_base64_encoded: event.is_base64_encoded,
            request_id: context.request_id.unwrap_or_default(),
        }
    }
}

/// An HTTP API's named stage appears at the front of `rawPath`; `$default` does not.
fn strip_stage(path: String, stage: Option<&str>) -> String {
    match stage {
        Some(stage) if stage != "$default" && !stage.is_empty() => {
            let prefix = format!("/{stage}");
            match path.strip_prefix(&prefix) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
                _ => path,
            }
        }
        _ => path,
    }
}

/// A status, headers and a JSON body, before it is shaped for its trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl HttpAnswer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(status, json!({"message": message.into(), "code": code}))
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert("content-type", HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(*name, value);
            }
        }
        map
    }

    pub fn into_rest(self) -> ApiGatewayProxyResponse {
        let mut response = ApiGatewayProxyResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = self.header_map();
        response.body = Some(Body::Text(self.body.to_string()));
        response
    }

    pub fn into_http_api(self) -> ApiGatewayV2httpResponse {
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = self.header_map();
        response.body = Some(Body::Text(self.body.to_string()));
        response
    }

    pub fn into_function_url(self) -> LambdaFunctionUrlResponse {
        let mut response = LambdaFunctionUrlResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = self.header_map();
        response.body = Some(self.body.to_string());
        response
    }
}

/// Routes and answers one HTTP request.
pub async fn handle<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    request: HttpRequest,
) -> HttpAnswer {
    if let Some(answer) = status::answer(pipeline, &request).await {
        return answer;
    }
    let route = request.path.trim_end_matches('/');
    let (batch, limit) = match route {
        "/contacts" => (false, MAX_SINGLE_BODY_BYTES),
        "/contacts/batch" => (true, MAX_BATCH_BODY_BYTES),
        "/suppressions" => return handle_suppressions(pipeline, &request).await,
        _ => {
            return HttpAnswer::error(
                404,
                "NOT_FOUND",
                "no such route: use POST /contacts, POST /contacts/batch, PUT or DELETE /suppressions, GET /requests/{clientToken}, GET /contacts/{contactId}",
            );
        }
    };
    if request.method != Method::POST {
        return HttpAnswer::error(
            405,
            "METHOD_NOT_ALLOWED",
            format!("{route} accepts POST only"),
        )
        .with_header("allow", "POST");
    }
    if let Some(answer) = unsupported_media(&request) {
        return answer;
    }
    let body = match decode_body(&request, limit) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let idempotency_key = match idempotency_key(&request.headers) {
        Ok(key) => key,
        Err(answer) => return answer,
    };
    if batch {
        handle_batch(pipeline, &request, &body, idempotency_key.as_deref()).await
    } else {
        handle_single(pipeline, &request, &body, idempotency_key.as_deref()).await
    }
}

/// A 415 answer for a body that is declared as something other than JSON.
fn unsupported_media(request: &HttpRequest) -> Option<HttpAnswer> {
    if let Some(content_type) = request.headers.get("content-type") {
        let media = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && !media.ends_with("+json") {
            return Some(HttpAnswer::error(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
    }
    None
}

/// `PUT /suppressions` adds entries to the do-not-contact list, `DELETE /suppressions`
/// removes them: `200 {"status": "ADDED" | "REMOVED", "count": n}`.
async fn handle_suppressions<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    request: &HttpRequest,
) -> HttpAnswer {
    let adding = match request.method {
        Method::PUT => true,
        Method::DELETE => false,
        _ => {
            return HttpAnswer::error(
                405,
                "METHOD_NOT_ALLOWED",
                "/suppressions accepts PUT (add) and DELETE (remove)",
            )
            .with_header("allow", "PUT, DELETE");
        }
    };
    let Some(protection) = pipeline.protection() else {
        return HttpAnswer::error(
            404,
            "NOT_CONFIGURED",
            "the do-not-contact list is off: the function has no STATE_TABLE_NAME",
        );
    };
    if let Some(answer) = unsupported_media(request) {
        return answer;
    }
    let entries = match decode_body(request, MAX_SINGLE_BODY_BYTES)
        .and_then(|body| suppressions::entries(&body).map_err(|err| invalid_answer(&err)))
    {
        Ok(entries) => entries,
        Err(answer) => return answer,
    };
    let changed = if adding {
        protection.add(&entries, pipeline.state_cutoff()).await
    } else {
        protection.remove(&entries, pipeline.state_cutoff()).await
    };
    let status = if adding { "ADDED" } else { "REMOVED" };
    match changed {
        Ok(()) => {
            tracing::info!(
                request_id = request.request_id,
                status,
                count = entries.len(),
                "do-not-contact list changed"
            );
            HttpAnswer::json(200, json!({"status": status, "count": entries.len()}))
        }
        Err(err) => {
            let failure = Failure::State(err);
            tracing::warn!(request_id = request.request_id, error = %failure, "do-not-contact list not changed");
            HttpAnswer::error(
                failure.http_status(),
                failure.reason_code(),
                failure.to_string(),
            )
            .with_header("retry-after", "5")
        }
    }
}

/// The body as text: base64 decoded when flagged, within `limit` bytes, valid UTF-8.
fn decode_body(request: &HttpRequest, limit: usize) -> Result<String, HttpAnswer> {
    let too_large = || {
        HttpAnswer::error(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("the body must be at most {limit} bytes"),
        )
    };
    let raw = request.body.as_deref().unwrap_or_default();
    if !request.is_base64_encoded {
        return if raw.len() > limit {
            Err(too_large())
        } else {
            Ok(raw.to_owned())
        };
    }
    // Base64 grows data by 4/3: refuse before decoding anything that cannot fit.
    if raw.len() > limit.div_ceil(3) * 4 + 4 {
        return Err(too_large());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| {
            HttpAnswer::error(
                400,
                "INVALID_REQUEST",
                "the body is flagged base64 but is not valid base64",
            )
        })?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| {
        HttpAnswer::error(415, "UNSUPPORTED_MEDIA_TYPE", "the body must be UTF-8 JSON")
    })
}

/// The `Idempotency-Key` header, when sent: 1..255 visible characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, HttpAnswer> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() && key.len() <= 255 => Ok(Some(key.to_owned())),
        _ => Err(invalid_answer(&ValidationError::single(Violation::new(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
            Reason::Invalid,
        )))),
    }
}

fn invalid_answer(err: &ValidationError) -> HttpAnswer {
    let errors: Vec<Value> = err
        .violations()
        .iter()
        .map(|v| json!({"field": v.field, "message": v.message}))
        .collect();
    HttpAnswer::json(
        400,
        json!({"message": err.to_string(), "code": Failure::Invalid(err.clone()).reason_code(), "errors": errors}),
    )
}

async fn handle_single<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    request: &HttpRequest,
    body: &str,
    idempotency_key: Option<&str>,
) -> HttpAnswer {
    let delivery = idempotency_key.map(|key| DeliveryIdentity::Http {
        idempotency_key: key,
        item: None,
    });
    let chat = pipeline.admit_json(body, delivery);
    let copy = pipeline.keeps_requests().then_some(RequestCopy::Text(body));
    let outcome = pipeline
        .send(&request.request_id, chat, Route::RequestQueue(copy))
        .await;
    // The answer stands; a ledger change not recorded or published is logged and counted.
    pipeline.settle().await;
    match outcome {
        Outcome::Started(contact_id, cost) => {
            let mut body = json!({"contactId": contact_id.as_str()});
            if let Some(cost) = cost {
                body["encoding"] = cost.encoding.as_str().into();
                body["segments"] = cost.segments.into();
            }
            HttpAnswer::json(200, body)
        }
        // Only SQS records are requeued; were one here, it too waits in the queue.
        Outcome::Deferred { not_before } | Outcome::Requeued(Requeue { not_before, .. }) => {
            HttpAnswer::json(
                202,
                json!({"status": "DEFERRED", "notBefore": not_before.to_string()}),
            )
        }
        // Final and not the caller's fault: a 200 that says what happened, never retried.
        Outcome::Suppressed(reason) => HttpAnswer::json(
            200,
            json!({"status": "SUPPRESSED", "reason": reason.as_str()}),
        ),
        Outcome::Failed(Failure::Invalid(err)) => invalid_answer(&err),
        Outcome::Failed(failure) => {
            let answer = HttpAnswer::error(
                failure.http_status(),
                failure.reason_code(),
                failure.to_string(),
            );
            match failure.retry_after_seconds() {
                Some(seconds) => answer.with_header("retry-after", seconds.to_string()),
                None => answer,
            }
        }
    }
}

/// Decides protection for a batch's admitted items at once; gives each item's label (the
/// request id and its identifier), under which it is sent and logged.
async fn screen_batch<C: ContactStarter, T>(
    pipeline: &Pipeline<'_, C>,
    request_id: &str,
    identifiers: &[String],
    admitted: &[(T, Result<OutboundChat, ValidationError>)],
) -> Vec<String> {
    let labels: Vec<String> = identifiers
        .iter()
        .map(|id| format!("{request_id}#{id}"))
        .collect();
    let screened: Vec<(&str, &OutboundChat)> = labels
        .iter()
        .zip(admitted)
        .filter_map(|(label, (_, chat))| Some((label.as_str(), chat.as_ref().ok()?)))
        .collect();
    pipeline.screen(&screened).await;
    labels
}

async fn handle_batch<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    request: &HttpRequest,
    body: &str,
    idempotency_key: Option<&str>,
) -> HttpAnswer {
    let items = match batch_items(body) {
        Ok(items) => items,
        Err(err) => return invalid_answer(&err),
    };
    let identifiers = match item_identifiers(&items) {
        Ok(identifiers) => identifiers,
        Err(err) => return invalid_answer(&err),
    };
    let admitted: Vec<_> = items
        .into_iter()
        .zip(&identifiers)
        .map(|(item, id)| {
            let delivery = idempotency_key.map(|key| DeliveryIdentity::Http {
                idempotency_key: key,
                item: Some(id),
            });
            let copy = pipeline
                .keeps_requests()
                .then(|| RequestCopy::Value(item.clone()));
            (copy, pipeline.admit_value(item, delivery))
        })
        .collect();
    let labels = screen_batch(pipeline, &request.request_id, &identifiers, &admitted).await;
    let runs = admitted
        .into_iter()
        .zip(identifiers.iter().zip(&labels))
        .map(|((copy, chat), (id, label))| async move {
            (
                id,
                pipeline.send(label, chat, Route::RequestQueue(copy)).await,
            )
        });
    let outcomes = join_all(runs).await;
    // The answer stands; a ledger change not recorded or published is logged and counted.
    pipeline.settle().await;
    batch_answer(pipeline, outcomes)
}

/// Each item's identifier: its own `requestIdentifier`, else its index; two items with the same
/// one are refused, since the answer could not tell them apart.
fn item_identifiers(items: &[Value]) -> Result<Vec<String>, ValidationError> {
    let identifiers: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            ["requestIdentifier", "RequestIdentifier"]
                .iter()
                .find_map(|key| item.get(*key).and_then(Value::as_str))
                .and_then(|id| RequestIdentifier::parse(id).ok())
                .map_or_else(|| index.to_string(), |id| id.as_str().to_owned())
        })
        .collect();
    for (index, id) in identifiers.iter().enumerate() {
        if identifiers[..index].contains(id) {
            return Err(ValidationError::single(Violation::new(
                format!("requests[{index}].requestIdentifier"),
                format!("repeats the identifier {id:?}: each item needs its own"),
                Reason::Invalid,
            )));
        }
    }
    Ok(identifiers)
}

/// The batch answer, BatchPutContact's lists: each item's outcome under its identifier.
fn batch_answer<C: ContactStarter>(
    pipeline: &Pipeline<'_, C>,
    outcomes: Vec<(&String, Outcome)>,
) -> HttpAnswer {
    let mut successful = Vec::new();
    let mut deferred = Vec::new();
    let mut suppressed = Vec::new();
    let mut failed = Vec::new();
    for (id, outcome) in outcomes {
        match outcome {
            Outcome::Started(contact_id, cost) => {
                let mut entry = json!({"RequestIdentifier": id, "ContactId": contact_id.as_str()});
                if let Some(cost) = cost {
                    entry["Encoding"] = cost.encoding.as_str().into();
                    entry["Segments"] = cost.segments.into();
                }
                successful.push(entry);
            }
            Outcome::Deferred { not_before } | Outcome::Requeued(Requeue { not_before, .. }) => {
                deferred
                    .push(json!({"RequestIdentifier": id, "NotBefore": not_before.to_string()}));
            }
            Outcome::Suppressed(reason) => {
                suppressed.push(json!({"RequestIdentifier": id, "Reason": reason.as_str()}));
            }
            Outcome::Failed(failure) => failed.push(json!({
                "RequestIdentifier": id,
                "FailureReasonCode": failure.reason_code(),
                "FailureReasonMessage": failure.to_string(),
            })),
        }
    }
    let mut lists = json!({"SuccessfulRequestList": successful, "FailedRequestList": failed});
    // Each list beyond BatchPutContact's own is given only when what fills it is configured, so
    // that the answer is BatchPutContact's own shape otherwise.
    if pipeline.keeps_requests() {
        lists["DeferredRequestList"] = deferred.into();
    }
    if pipeline.protection().is_some() {
        lists["SuppressedRequestList"] = suppressed.into();
    }
    HttpAnswer::json(200, lists)
}

/// The batch envelope: `{"requests": [1..25 items]}` and nothing else.
fn batch_items(body: &str) -> Result<Vec<Value>, ValidationError> {
    let invalid = |field: &str, message: &str| {
        ValidationError::single(Violation::new(field, message, Reason::Invalid))
    };
    let value: Value =
        serde_json::from_str(body).map_err(|_| invalid("", "the body is not valid JSON"))?;
    let Value::Object(mut map) = value else {
        return Err(invalid(
            "",
            "the body must be a JSON object {\"requests\": [...]}",
        ));
    };
    if let Some(extra) = map.keys().find(|k| *k != "requests") {
        return Err(invalid(
            extra,
            "unknown field: the body holds only \"requests\"",
        ));
    }
    match map.remove("requests") {
        Some(Value::Array(items)) if (1..=MAX_BATCH_ITEMS).contains(&items.len()) => Ok(items),
        Some(Value::Array(items)) => Err(invalid(
            "requests",
            &format!(
                "must hold 1 to {MAX_BATCH_ITEMS} requests, found {}",
                items.len()
            ),
        )),
        _ => Err(invalid(
            "requests",
            "is required: a list of 1 to 25 send requests",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_stage_is_stripped_from_the_path_and_default_is_not() {
        assert_eq!(
            strip_stage("/prod/contacts".into(), Some("prod")),
            "/contacts"
        );
        assert_eq!(
            strip_stage("/contacts".into(), Some("$default")),
            "/contacts"
        );
        assert_eq!(
            strip_stage("/production/contacts".into(), Some("prod")),
            "/production/contacts"
        );
        assert_eq!(strip_stage("/contacts".into(), None), "/contacts");
    }

    #[test]
    fn the_batch_envelope_holds_one_to_twenty_five_requests_and_nothing_else() {
        assert!(batch_items(r#"{"requests": [{}]}"#).is_ok());
        assert!(batch_items(r#"{"requests": []}"#).is_err());
        let many = format!("{{\"requests\": [{}]}}", vec!["{}"; 26].join(","));
        assert!(batch_items(&many).is_err());
        assert!(batch_items(r#"{"requests": [{}], "extra": 1}"#).is_err());
        assert!(batch_items(r#"[{}]"#).is_err());
    }
}
