//! The Connect port over aws-sdk-connect: builds `StartOutboundChatContact` from a validated
//! chat, and classifies every SDK error in this one place.

use aws_sdk_connect::Client;
use aws_sdk_connect::config::interceptors::InterceptorContext;
use aws_sdk_connect::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::operation::start_outbound_chat_contact::StartOutboundChatContactError as ApiError;
use aws_sdk_connect::operation::start_outbound_chat_contact::builders::StartOutboundChatContactFluentBuilder;
use aws_sdk_connect::types::{
    ChatMessage, Endpoint, EndpointType, ParticipantDetails, SegmentAttributeValue,
    TemplateAttributes, TemplatedMessageConfig,
};
use futures::future::BoxFuture;

use super::{ContactId, ContactStarter, StartError};
use crate::aws::client::{shared_config, timeout_config};
use crate::aws::settings::ClientSettings;
use crate::config::SendTimeouts;
use crate::domain::{
    InitialMessage, OutboundChat, SUBTYPE_KEY, SegmentValue, redact_phone_numbers,
};

/// Builds the Connect client the way the function runs it: region, credentials, endpoint and
/// retry settings from [`ClientSettings`] (`AWS_ENDPOINT_URL_CONNECT` points it at a local
/// Connect; retries in the SDK's standard mode with 3 attempts unless `AWS_RETRY_MODE` or
/// `AWS_MAX_ATTEMPTS` say otherwise); the shared HTTPS client; the timeouts of [`timeout_config`].
pub fn load_client(settings: &ClientSettings, timeouts: SendTimeouts) -> Client {
    Client::new(&shared_config(settings, timeout_config(timeouts)))
}

/// Starts contacts with the AWS SDK. Retries, timeouts and the endpoint come from the client's
/// configuration (see `main.rs`), plus [`QuotaIsNotRetried`].
#[derive(Clone, Debug)]
pub struct SdkContactStarter {
    client: Client,
}

impl SdkContactStarter {
    /// Wraps `client`, adding [`QuotaIsNotRetried`] to its retry classifiers. Added here, not in
    /// [`load_client`], so every client the function is given (tests build their own) keeps the
    /// same retry policy.
    pub fn new(client: Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_classifier(QuotaIsNotRetried)
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

/// Stops the SDK from retrying `LimitExceededException` and `ServiceQuotaExceededException`,
/// and throttles (`ThrottlingException`, `TooManyRequestsException`).
///
/// A throttle is the function's to retry: it lowers the instance's pacing rate and tries again
/// in a slot of the lowered rate (`send.rs`), so that every attempt Connect sees is paced. The
/// SDK's own retry would come after a jittered backoff, outside the pacing.
///
/// The SDK's standard (and adaptive) mode counts it among the throttling errors and retries it
/// with a backoff of at most a few seconds. For `StartOutboundChatContact` it means the
/// instance's concurrent active chats quota is reached: it drains as chats end, over minutes,
/// so quick retries only add load and burn the invocation's time. The function reports the
/// record at once and stops the invocation's other sends; the queue's visibility timeout (or
/// the caller's `Retry-After`) is the backoff.
#[derive(Debug)]
pub struct QuotaIsNotRetried;

impl ClassifyRetry for QuotaIsNotRetried {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let quota = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|err| err.as_operation_error())
            .and_then(|err| err.downcast_ref::<ApiError>())
            .and_then(ProvideErrorMetadata::code)
            .is_some_and(|code| is_quota_code(code) || is_throttling_code(code));
        if quota {
            // Forbidden wins over every other classifier's verdict, whatever their order.
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "quota errors are not retried"
    }
}

impl ContactStarter for SdkContactStarter {
    fn start_contact<'a>(
        &'a self,
        chat: &'a OutboundChat,
    ) -> BoxFuture<'a, Result<ContactId, StartError>> {
        Box::pin(async move {
            let call = with_message(self.request(chat)?, chat)?;
            let output = call.send().await.map_err(classify)?;
            output
                .contact_id()
                .map(ContactId::new)
                .ok_or_else(|| StartError::Transient {
                    message: "Connect answered without a ContactId".into(),
                })
        })
    }
}

impl SdkContactStarter {
    /// `StartOutboundChatContact`'s input from a validated chat, all but its initial message.
    fn request(&self, chat: &OutboundChat) -> Result<Call, StartError> {
        let mut call = self
            .client
            .start_outbound_chat_contact()
            .instance_id(chat.instance_id().as_str())
            .contact_flow_id(chat.contact_flow_id().as_str())
            .source_endpoint(
                Endpoint::builder()
                    .r#type(EndpointType::ConnectPhonenumberArn)
                    .address(chat.source().as_str())
                    .build(),
            )
            .destination_endpoint(
                Endpoint::builder()
                    .r#type(EndpointType::TelephoneNumber)
                    .address(chat.destination().e164())
                    .build(),
            )
            .segment_attributes(
                SUBTYPE_KEY,
                SegmentAttributeValue::builder()
                    .value_string(chat.channel().subtype())
                    .build(),
            )
            .set_chat_duration_in_minutes(chat.chat_duration().map(|d| d.minutes()))
            .set_related_contact_id(chat.related_contact_id().map(|id| id.as_str().to_owned()))
            .set_client_token(chat.client_token().map(|t| t.as_str().to_owned()))
            .set_supported_messaging_content_types(
                chat.supported_content_types()
                    .map(|types| types.iter().map(|t| t.as_str().to_owned()).collect()),
            );
        for (key, value) in chat.segment_attributes().iter() {
            call = call.segment_attributes(key, segment_value(value));
        }
        for (key, value) in chat.attributes().iter() {
            call = call.attributes(key, value);
        }
        if let Some(name) = chat.display_name() {
            call = call.participant_details(
                ParticipantDetails::builder()
                    .display_name(name.as_str())
                    .build()
                    .map_err(construction)?,
            );
        }
        Ok(call)
    }
}

/// A `StartOutboundChatContact` call being built.
type Call = StartOutboundChatContactFluentBuilder;

/// The chat's initial message, a system message or a template, added to `call`.
fn with_message(call: Call, chat: &OutboundChat) -> Result<Call, StartError> {
    Ok(match chat.initial_message() {
        Some(InitialMessage::System(message)) => call.initial_system_message(
            ChatMessage::builder()
                .content_type(message.content_type().as_str())
                .content(message.content())
                .build()
                .map_err(construction)?,
        ),
        Some(InitialMessage::Template(template)) => {
            let attributes = TemplateAttributes::builder()
                .set_custom_attributes(Some(
                    template.custom_attributes().clone().into_iter().collect(),
                ))
                .set_customer_profile_attributes(
                    template.customer_profile_attributes().map(str::to_owned),
                )
                .build();
            call.initial_templated_system_message(
                TemplatedMessageConfig::builder()
                    .knowledge_base_id(template.knowledge_base_id())
                    .message_template_id(template.message_template_id())
                    .template_attributes(attributes)
                    .build()
                    .map_err(construction)?,
            )
        }
        None => call,
    })
}

fn segment_value(value: &SegmentValue) -> SegmentAttributeValue {
    let builder = SegmentAttributeValue::builder();
    match value {
        SegmentValue::String(s) => builder.value_string(s),
        SegmentValue::Integer(i) => builder.value_integer(*i),
        SegmentValue::Arn(arn) => builder.value_arn(arn),
        // Set as a whole, so that an empty map or list is sent as one (adding entries one by
        // one would leave it out, and Connect would get a value with no member at all).
        SegmentValue::Map(map) => builder.set_value_map(Some(
            map.iter()
                .map(|(k, v)| (k.clone(), segment_value(v)))
                .collect(),
        )),
        SegmentValue::List(items) => {
            builder.set_value_list(Some(items.iter().map(segment_value).collect()))
        }
    }
    .build()
}

/// A request the SDK could not even build: a bug of ours, never worth a retry.
fn construction(err: aws_smithy_types::error::operation::BuildError) -> StartError {
    StartError::Rejected {
        code: "ClientBuildError".into(),
        message: err.to_string(),
    }
}

/// Maps every SDK error to its class. The service's error code decides, never its message;
/// the HTTP status only for a code this table does not know.
pub fn classify(err: SdkError<ApiError>) -> StartError {
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let err = context.into_err();
            let message = redact_phone_numbers(err.message().unwrap_or("no message"));
            classify_code(err.code(), status, message)
        }
        SdkError::TimeoutError(_) => StartError::Transient {
            message: "the call to Connect timed out".into(),
        },
        SdkError::DispatchFailure(failure) => StartError::Transient {
            message: format!(
                "the request could not be sent or its answer was lost ({})",
                if failure.is_timeout() {
                    "timeout"
                } else if failure.is_io() {
                    "connection error"
                } else {
                    "dispatch failure"
                }
            ),
        },
        SdkError::ResponseError(_) => StartError::Transient {
            message: "Connect's answer could not be read".into(),
        },
        // Construction failures include credentials that could not be loaded: a
        // configuration fault that may be fixed without changing the request.
        other => StartError::Transient {
            message: redact_phone_numbers(&format!("the request could not be made: {other}")),
        },
    }
}

/// The class of a service error, by its code: the codes `StartOutboundChatContact` declares and
/// those its sibling operations declare, which the same service may answer with.
fn classify_code(code: Option<&str>, status: u16, message: String) -> StartError {
    match code.unwrap_or_default() {
        "ThrottlingException" | "TooManyRequestsException" => StartError::Throttled { message },
        code if is_quota_code(code) => StartError::QuotaExceeded { message },
        "InternalServiceException" | "RequestTimeoutException" | "ServiceUnavailableException" => {
            StartError::Transient { message }
        }
        "ConflictException" => StartError::Conflict { message },
        "IdempotencyException" => StartError::Idempotency { message },
        "InvalidRequestException"
        | "InvalidParameterException"
        | "ResourceNotFoundException"
        | "AccessDeniedException" => StartError::Rejected {
            code: code.unwrap_or_default().to_owned(),
            message,
        },
        other => match status {
            429 => StartError::Throttled { message },
            408 | 500.. => StartError::Transient { message },
            _ => StartError::Rejected {
                code: if other.is_empty() { "Unknown" } else { other }.to_owned(),
                message,
            },
        },
    }
}

/// The API rate: retried by the function through its pacer, not by the SDK.
fn is_throttling_code(code: &str) -> bool {
    matches!(code, "ThrottlingException" | "TooManyRequestsException")
}

/// A quota, not a rate: it drains over minutes, so it is never retried in a tight loop.
fn is_quota_code(code: &str) -> bool {
    matches!(
        code,
        "LimitExceededException" | "ServiceQuotaExceededException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_gets_the_settings_retries_and_timeouts_it_was_given() {
        let settings = ClientSettings::from_lookup(|name| {
            let value = match name {
                "AWS_REGION" => "eu-west-2",
                "AWS_ACCESS_KEY_ID" => "ASIAEXAMPLE",
                "AWS_SECRET_ACCESS_KEY" => "secret",
                "AWS_MAX_ATTEMPTS" => "5",
                "AWS_RETRY_MODE" => "adaptive",
                "AWS_SDK_UA_APP_ID" => "reminders",
                _ => return None,
            };
            Some(value.to_owned())
        })
        .unwrap();
        let defaults = SendTimeouts::default();
        let client = load_client(&settings, defaults);
        let config = SdkContactStarter::new(client).client.config().clone();
        assert_eq!(
            config.region().map(aws_sdk_connect::config::Region::as_ref),
            Some("eu-west-2")
        );
        let retry = config.retry_config().expect("retry config");
        assert_eq!(
            format!("{:?} {}", retry.mode(), retry.max_attempts()),
            "Adaptive 5"
        );
        let timeouts = config.timeout_config().expect("timeout config");
        assert_eq!(timeouts.connect_timeout(), Some(defaults.connect));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(defaults.attempt));
        assert_eq!(timeouts.operation_timeout(), Some(defaults.operation));
        assert_eq!(
            config.app_name().map(ToString::to_string).as_deref(),
            Some("reminders")
        );
    }

    #[test]
    fn every_service_error_code_has_its_class() {
        type Class = fn(&StartError) -> bool;
        let throttled: Class = |e| matches!(e, StartError::Throttled { .. });
        let quota: Class = |e| matches!(e, StartError::QuotaExceeded { .. });
        let transient: Class = |e| matches!(e, StartError::Transient { .. });
        let conflict: Class = |e| matches!(e, StartError::Conflict { .. });
        let idempotency: Class = |e| matches!(e, StartError::Idempotency { .. });
        let rejected: Class = |e| matches!(e, StartError::Rejected { .. });
        let cases: &[(Option<&str>, u16, Class)] = &[
            (Some("ThrottlingException"), 429, throttled),
            (Some("TooManyRequestsException"), 429, throttled),
            (Some("LimitExceededException"), 429, quota),
            (Some("ServiceQuotaExceededException"), 402, quota),
            (Some("InternalServiceException"), 500, transient),
            (Some("RequestTimeoutException"), 408, transient),
            (Some("ConflictException"), 409, conflict),
            (Some("IdempotencyException"), 409, idempotency),
            (Some("InvalidRequestException"), 400, rejected),
            (Some("AccessDeniedException"), 403, rejected),
            (Some("ResourceNotFoundException"), 404, rejected),
            (Some("SomethingNewException"), 429, throttled),
            (Some("SomethingNewException"), 503, transient),
            (Some("SomethingNewException"), 400, rejected),
            (None, 502, transient),
        ];
        for (code, status, class) in cases {
            let err = classify_code(*code, *status, "m".into());
            assert!(class(&err), "{code:?} {status}: {err:?}");
        }
    }
}
