//! What the customer receives first: a system message with a content type, or a Connect
//! message template (required for business-initiated WhatsApp), plus the content types the
//! chat supports.

use std::collections::BTreeMap;
use std::fmt;

/// Content types Connect accepts for `InitialSystemMessage`, each with its length limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageContentType {
    TextPlain,
    TextMarkdown,
    Json,
    InteractiveResponse,
}

impl MessageContentType {
    const ALL: [Self; 4] = [
        Self::TextPlain,
        Self::TextMarkdown,
        Self::Json,
        Self::InteractiveResponse,
    ];

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| format!("must be one of {}", Self::ALL.map(Self::as_str).join(", ")))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TextPlain => "text/plain",
            Self::TextMarkdown => "text/markdown",
            Self::Json => "application/json",
            Self::InteractiveResponse => {
                "application/vnd.amazonaws.connect.message.interactive.response"
            }
        }
    }

    /// Connect's maximum content length, in characters, for this type.
    pub fn max_len(self) -> usize {
        match self {
            Self::TextPlain | Self::TextMarkdown => 1024,
            Self::Json => 12_000,
            Self::InteractiveResponse => 12_288,
        }
    }
}

/// The initial system message. Its content is message text: personal data that `Debug` never
/// shows.
#[derive(Clone, PartialEq, Eq)]
pub struct SystemMessage {
    content_type: MessageContentType,
    content: String,
}

impl SystemMessage {
    /// Checks the content length against the limit of its content type.
    pub fn new(content_type: MessageContentType, content: String) -> Result<Self, String> {
        let len = content.chars().count();
        if len == 0 {
            return Err("must not be empty".into());
        }
        if len > content_type.max_len() {
            return Err(format!(
                "must be at most {} characters for {}, found {len}",
                content_type.max_len(),
                content_type.as_str()
            ));
        }
        Ok(Self {
            content_type,
            content,
        })
    }

    pub fn content_type(&self) -> MessageContentType {
        self.content_type
    }

    pub fn content(&self) -> &str {
        &self.content
    }
}

impl fmt::Debug for SystemMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemMessage")
            .field("content_type", &self.content_type)
            .field(
                "content",
                &format_args!("<{} chars>", self.content.chars().count()),
            )
            .finish()
    }
}

/// A Connect message template and the values to fill it with. The values are personal data
/// (names, times): `Debug` shows only their keys.
#[derive(Clone, PartialEq, Eq)]
pub struct TemplatedMessage {
    pub(crate) knowledge_base_id: String,
    pub(crate) message_template_id: String,
    pub(crate) custom_attributes: BTreeMap<String, String>,
    /// A JSON document, serialized, as Connect wants it.
    pub(crate) customer_profile_attributes: Option<String>,
}

impl TemplatedMessage {
    pub fn knowledge_base_id(&self) -> &str {
        &self.knowledge_base_id
    }

    pub fn message_template_id(&self) -> &str {
        &self.message_template_id
    }

    pub fn custom_attributes(&self) -> &BTreeMap<String, String> {
        &self.custom_attributes
    }

    pub fn customer_profile_attributes(&self) -> Option<&str> {
        self.customer_profile_attributes.as_deref()
    }
}

impl fmt::Debug for TemplatedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplatedMessage")
            .field("knowledge_base_id", &self.knowledge_base_id)
            .field("message_template_id", &self.message_template_id)
            .field(
                "custom_attributes",
                &self.custom_attributes.keys().collect::<Vec<_>>(),
            )
            .field(
                "customer_profile_attributes",
                &self
                    .customer_profile_attributes
                    .as_ref()
                    .map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The first message of the contact. Absent means the contact flow sends the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitialMessage {
    System(SystemMessage),
    Template(TemplatedMessage),
}

/// Content types a chat may declare in `SupportedMessagingContentTypes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupportedContentType {
    TextPlain,
    TextMarkdown,
    Json,
    Interactive,
    InteractiveResponse,
}

impl SupportedContentType {
    const ALL: [Self; 5] = [
        Self::TextPlain,
        Self::TextMarkdown,
        Self::Json,
        Self::Interactive,
        Self::InteractiveResponse,
    ];

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "each must be one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TextPlain => "text/plain",
            Self::TextMarkdown => "text/markdown",
            Self::Json => "application/json",
            Self::Interactive => "application/vnd.amazonaws.connect.message.interactive",
            Self::InteractiveResponse => {
                "application/vnd.amazonaws.connect.message.interactive.response"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_limits_depend_on_the_content_type() {
        use MessageContentType::*;
        let cases: &[(MessageContentType, usize, bool)] = &[
            (TextPlain, 1, true),
            (TextPlain, 1024, true),
            (TextPlain, 1025, false),
            (TextPlain, 0, false),
            (TextMarkdown, 1024, true),
            (TextMarkdown, 1025, false),
            (Json, 12_000, true),
            (Json, 12_001, false),
            (InteractiveResponse, 12_288, true),
            (InteractiveResponse, 12_289, false),
        ];
        for (content_type, len, ok) in cases {
            let result = SystemMessage::new(*content_type, "é".repeat(*len));
            assert_eq!(result.is_ok(), *ok, "{content_type:?} with {len} chars");
        }
    }

    #[test]
    fn content_types_are_the_documented_ones() {
        assert!(MessageContentType::parse("text/markdown").is_ok());
        assert!(MessageContentType::parse("text/html").is_err());
        assert!(
            MessageContentType::parse("application/vnd.amazonaws.connect.message.interactive")
                .is_err()
        );
        assert!(
            SupportedContentType::parse("application/vnd.amazonaws.connect.message.interactive")
                .is_ok()
        );
        assert!(SupportedContentType::parse("TEXT/PLAIN").is_err());
    }

    #[test]
    fn message_content_never_shows_in_debug() {
        let message =
            SystemMessage::new(MessageContentType::TextPlain, "secret text".into()).unwrap();
        assert!(!format!("{message:?}").contains("secret"));
        let template = TemplatedMessage {
            knowledge_base_id: "kb".into(),
            message_template_id: "t".into(),
            custom_attributes: [("firstName".to_string(), "Ana".to_string())].into(),
            customer_profile_attributes: Some("{\"FirstName\":\"Ana\"}".into()),
        };
        let shown = format!("{template:?}");
        assert!(
            shown.contains("firstName") && !shown.contains("Ana"),
            "{shown}"
        );
    }
}
