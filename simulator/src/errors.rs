//! Connect-shaped error responses: the codes, their HTTP statuses and the restJson1 wire form.
//!
//! The AWS SDK picks the error variant from the `X-Amzn-ErrorType` header (then the body's
//! `__type`), never from the status, so both must carry the exact code string for a client's
//! error classification to be tested against the simulator.

use std::fmt;

use crate::reply::HttpReply;

/// The errors `StartOutboundChatContact` can answer with, as Connect names them on the wire: the
/// seven the operation declares, then four that sibling operations declare and the same service
/// answers with, so a caller must classify them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectErrorCode {
    /// `InvalidRequestException`, HTTP 400: the request breaks a constraint. Not retryable.
    InvalidRequest,
    /// `AccessDeniedException`, HTTP 403: the caller lacks a permission. Not retryable.
    AccessDenied,
    /// `ResourceNotFoundException`, HTTP 404: instance, flow or number not found. Not retryable.
    ResourceNotFound,
    /// `ConflictException`, HTTP 409: conflicts with another operation or with the contact's
    /// state. Not an idempotency clash (that is [`Self::Idempotency`]). Not retryable.
    Conflict,
    /// `ThrottlingException`, HTTP 429: API rate exceeded. Retry with backoff.
    Throttling,
    /// `LimitExceededException`, HTTP 429: a quota (concurrent active chats) is exhausted.
    LimitExceeded,
    /// `InternalServiceException`, HTTP 500: a service fault. Retryable.
    InternalService,
    /// `IdempotencyException`, HTTP 409: the `ClientToken` was already used with a different
    /// request. Not retryable.
    Idempotency,
    /// `ServiceQuotaExceededException`, HTTP 402: a service quota is exhausted. Like
    /// `LimitExceededException`: retry later, not in a tight loop.
    ServiceQuotaExceeded,
    /// `RequestTimeoutException`, HTTP 408: the request timed out. Transient, retryable.
    RequestTimeout,
    /// `TooManyRequestsException`, HTTP 429: throttling under another name. Retry with backoff.
    TooManyRequests,
}

impl ConnectErrorCode {
    /// Every code, for tests that walk all of them: the operation's own seven in their original
    /// order, then the four declared by sibling operations.
    pub const ALL: [ConnectErrorCode; 11] = [
        Self::InvalidRequest,
        Self::AccessDenied,
        Self::ResourceNotFound,
        Self::Conflict,
        Self::Throttling,
        Self::LimitExceeded,
        Self::InternalService,
        Self::Idempotency,
        Self::ServiceQuotaExceeded,
        Self::RequestTimeout,
        Self::TooManyRequests,
    ];

    /// The code string sent in `X-Amzn-ErrorType` and `__type`.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "InvalidRequestException",
            Self::AccessDenied => "AccessDeniedException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::Conflict => "ConflictException",
            Self::Throttling => "ThrottlingException",
            Self::LimitExceeded => "LimitExceededException",
            Self::InternalService => "InternalServiceException",
            Self::Idempotency => "IdempotencyException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::RequestTimeout => "RequestTimeoutException",
            Self::TooManyRequests => "TooManyRequestsException",
        }
    }

    /// The HTTP status Connect answers this code with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::ServiceQuotaExceeded => 402,
            Self::AccessDenied => 403,
            Self::ResourceNotFound => 404,
            Self::RequestTimeout => 408,
            Self::Conflict | Self::Idempotency => 409,
            Self::Throttling | Self::LimitExceeded | Self::TooManyRequests => 429,
            Self::InternalService => 500,
        }
    }

    /// A plausible message, used when the simulator has nothing more specific to say.
    pub(crate) fn default_message(self) -> &'static str {
        match self {
            Self::InvalidRequest => "The request is not valid.",
            Self::AccessDenied => "You do not have sufficient access to perform this action.",
            Self::ResourceNotFound => "The specified resource was not found.",
            Self::Conflict => {
                "The request conflicts with another operation in progress or with the current \
                 state of the contact."
            }
            Self::Throttling => "Rate exceeded",
            Self::LimitExceeded => "The allowed limit for the resource has been exceeded.",
            Self::InternalService => "Request processing failed because of an internal error.",
            Self::Idempotency => {
                "The ClientToken was already used with a different request; an idempotent \
                 retry must repeat the same request."
            }
            Self::ServiceQuotaExceeded => "The service quota has been exceeded.",
            Self::RequestTimeout => "The request timed out.",
            Self::TooManyRequests => "Too many requests; the request was throttled.",
        }
    }

    /// This code's reply with a specific message.
    pub(crate) fn reply_with(self, message: &str, request_id: &str) -> HttpReply {
        error_reply(self.status(), self.code(), message, request_id)
    }
}

impl fmt::Display for ConnectErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Any error in the restJson1 form, including codes outside [`ConnectErrorCode`] that the AWS
/// front door answers with (`MissingAuthenticationTokenException`, `UnknownOperationException`).
pub(crate) fn error_reply(status: u16, code: &str, message: &str, request_id: &str) -> HttpReply {
    let body = serde_json::json!({ "__type": code, "Message": message });
    HttpReply {
        status,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("x-amzn-errortype", code.to_owned()),
            ("x-amzn-requestid", request_id.to_owned()),
        ],
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_ends_in_exception_and_has_a_client_or_server_status() {
        for code in ConnectErrorCode::ALL {
            assert!(code.code().ends_with("Exception"));
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn every_code_has_its_status_and_a_default_message() {
        let expected = [
            (ConnectErrorCode::InvalidRequest, 400),
            (ConnectErrorCode::AccessDenied, 403),
            (ConnectErrorCode::ResourceNotFound, 404),
            (ConnectErrorCode::Conflict, 409),
            (ConnectErrorCode::Throttling, 429),
            (ConnectErrorCode::LimitExceeded, 429),
            (ConnectErrorCode::InternalService, 500),
            (ConnectErrorCode::Idempotency, 409),
            (ConnectErrorCode::ServiceQuotaExceeded, 402),
            (ConnectErrorCode::RequestTimeout, 408),
            (ConnectErrorCode::TooManyRequests, 429),
        ];
        let all: Vec<_> = expected.iter().map(|(code, _)| *code).collect();
        assert_eq!(all, ConnectErrorCode::ALL);
        for (code, status) in expected {
            assert_eq!(code.status(), status, "{code}");
            assert!(!code.default_message().is_empty(), "{code}");
        }
    }

    #[test]
    fn a_conflict_is_not_described_as_an_idempotency_clash() {
        let conflict = ConnectErrorCode::Conflict.default_message();
        assert!(conflict.contains("another operation"), "{conflict}");
        assert!(!conflict.contains("ClientToken") && !conflict.contains("idempot"));
        let idempotency = ConnectErrorCode::Idempotency.default_message();
        assert!(idempotency.contains("ClientToken"), "{idempotency}");
    }

    #[test]
    fn an_error_reply_carries_the_code_in_header_and_body() {
        let code = ConnectErrorCode::Throttling;
        let reply = code.reply_with(code.default_message(), "req-1");
        assert_eq!(reply.status, 429);
        assert!(
            reply
                .headers
                .contains(&("x-amzn-errortype", "ThrottlingException".to_owned()))
        );
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["__type"], "ThrottlingException");
        assert_eq!(body["Message"], "Rate exceeded");
    }
}
