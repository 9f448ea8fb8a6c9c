//! The message section of a request: what the customer receives first (a system message with a
//! content type, or a Connect message template, required for business-initiated WhatsApp), and
//! the content types the chat supports.

use std::collections::BTreeMap;
use std::fmt;

use super::attributes::length_problems;
use super::channel::Channel;
use super::defaults::SmsRules;
use super::ids::TemplateRef;
use super::sms::{SmsCost, smart_encode, sms_cost as sms_cost_of};
use super::violation::{Check, Reason};

/// Connect's limit on `InitialSystemMessage.Content` in UTF-8 bytes, for every content type (the
/// current service model), on top of each type's character limit.
pub const MAX_CONTENT_BYTES: usize = 16_384;

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
    /// Checks the content length against the character limit of its content type and the
    /// byte limit of every type.
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
        if content.len() > MAX_CONTENT_BYTES {
            return Err(format!(
                "must be at most {MAX_CONTENT_BYTES} bytes in UTF-8, found {}",
                content.len()
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

impl InitialMessage {
    /// The text of a system message, as it is sent; `None` for a template.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::System(message) => Some(message.content()),
            Self::Template(_) => None,
        }
    }
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

/// Where the message members sit in the caller's form.
#[derive(Debug)]
pub struct MessageNames {
    pub message: &'static str,
    pub message_content: &'static str,
    pub message_content_type: &'static str,
    pub template: &'static str,
    pub knowledge_base_id: &'static str,
    pub message_template_id: &'static str,
    pub template_attributes: &'static str,
    pub custom_attributes: &'static str,
    pub customer_profile_attributes: &'static str,
    pub related_contact_id: &'static str,
    pub supported_content_types: &'static str,
}

/// The initial system message, raw. A form with a default content type fills it in.
#[derive(Debug, Default)]
pub struct MessageInput {
    pub content: Option<String>,
    pub content_type: Option<String>,
}

/// The template part, raw.
#[derive(Debug, Default)]
pub struct TemplateInput {
    pub knowledge_base_id: Option<String>,
    pub message_template_id: Option<String>,
    /// `false` only for a native template without its required `TemplateAttributes`.
    pub has_attributes: bool,
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// A JSON document as text (checked here), or the wire side's sentence for a value of the
    /// wrong JSON type.
    pub customer_profile_attributes: Option<Result<String, String>>,
}

/// Reads the initial message: a system message or a template, not both. A system message on
/// WhatsApp is refused unless the request follows up a contact the customer is already in
/// (`related`): WhatsApp lets a business send free text only inside the customer's 24-hour
/// service window; a business-initiated message must be an approved template.
pub(super) fn initial_message(
    check: &mut Check,
    names: &MessageNames,
    message: Option<MessageInput>,
    template: Option<TemplateInput>,
    channel: Channel,
    related: bool,
    sms: SmsRules,
) -> (Option<InitialMessage>, Option<SmsCost>) {
    if message.is_some() && template.is_some() {
        let sentence = format!(
            "cannot be combined with {}: send one or the other",
            names.message
        );
        check.push(names.template, sentence, Reason::Invalid);
    }
    if message.is_some() && channel == Channel::WhatsApp && !related {
        let sentence = format!(
            "a business-initiated WhatsApp message must use a template: send {} instead (free text is allowed only as a follow-up, with {})",
            names.template, names.related_contact_id
        );
        check.push(names.message, sentence, Reason::Invalid);
    }
    let smart = channel == Channel::Sms && sms.smart_encoding;
    let message = message.map(|m| system_message(check, names, m, smart));
    let template = template.map(|t| templated_message(check, names, t));
    let initial = match (message, template) {
        (Some(Some(m)), None) => Some(InitialMessage::System(m)),
        (None, Some(Some(t))) => Some(InitialMessage::Template(t)),
        _ => None,
    };
    let cost = sms_cost(check, names, initial.as_ref(), channel, sms);
    (initial, cost)
}

fn system_message(
    check: &mut Check,
    names: &MessageNames,
    message: MessageInput,
    smart: bool,
) -> Option<SystemMessage> {
    let content_type = match message.content_type {
        None => {
            check.push(names.message_content_type, "is required", Reason::Invalid);
            None
        }
        Some(t) => check.field(
            names.message_content_type,
            Reason::Invalid,
            MessageContentType::parse(&t),
        ),
    };
    match (message.content, content_type) {
        (None, _) => {
            check.push(names.message_content, "is required", Reason::Invalid);
            None
        }
        (Some(content), Some(t)) => {
            // Before every length rule: what is checked is what is sent.
            let content = match smart {
                true => smart_encode(&content).into_owned(),
                false => content,
            };
            check.field(
                names.message_content,
                Reason::Invalid,
                SystemMessage::new(t, content),
            )
        }
        (Some(_), None) => None,
    }
}

/// What a system message sent as SMS costs (a template's text lives in Connect, so its cost is
/// not known here), refused past `rules.max_segments` with the count in the sentence.
fn sms_cost(
    check: &mut Check,
    names: &MessageNames,
    message: Option<&InitialMessage>,
    channel: Channel,
    rules: SmsRules,
) -> Option<SmsCost> {
    let Some(InitialMessage::System(message)) = message else {
        return None;
    };
    if channel != Channel::Sms {
        return None;
    }
    let cost = sms_cost_of(message.content());
    if let Some(most) = rules.max_segments.filter(|most| cost.segments > *most) {
        let sentence = format!(
            "takes {} SMS segments in {}; SMS_MAX_SEGMENTS allows at most {most}",
            cost.segments, cost.encoding
        );
        check.push(names.message_content, sentence, Reason::TooManySegments);
    }
    Some(cost)
}

fn templated_message(
    check: &mut Check,
    names: &MessageNames,
    template: TemplateInput,
) -> Option<TemplatedMessage> {
    let kb = check.required(
        names.knowledge_base_id,
        template.knowledge_base_id.as_deref(),
        TemplateRef::parse,
    );
    let id = check.required(
        names.message_template_id,
        template.message_template_id.as_deref(),
        TemplateRef::parse,
    );
    if !template.has_attributes {
        check.push(
            names.template_attributes,
            "is required (it may hold empty CustomAttributes)",
            Reason::Invalid,
        );
    }
    let custom_attributes = template.custom_attributes.unwrap_or_default();
    let problems = length_problems(&custom_attributes);
    let custom_ok = problems.is_empty();
    check.keyed(
        names.custom_attributes,
        problems,
        Reason::InvalidAttributeKey,
    );
    let profile = template.customer_profile_attributes.map(|p| {
        check.field(
            names.customer_profile_attributes,
            Reason::Invalid,
            p.and_then(profile_document),
        )
    });
    let profile_ok = !matches!(profile, Some(None));
    match (kb, id) {
        (Some(kb), Some(id)) if custom_ok && profile_ok => Some(TemplatedMessage {
            knowledge_base_id: kb.as_str().to_owned(),
            message_template_id: id.as_str().to_owned(),
            custom_attributes,
            customer_profile_attributes: profile.flatten(),
        }),
        _ => None,
    }
}

/// A customer-profile document given as text must hold a JSON object.
fn profile_document(text: String) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        _ => Err("must be a JSON object (or a string holding one)".into()),
    }
}

/// Reads `SupportedMessagingContentTypes`: each a known type, `text/plain` among them.
pub(super) fn supported_content_types(
    check: &mut Check,
    names: &MessageNames,
    raw: Option<Vec<String>>,
) -> Option<Vec<SupportedContentType>> {
    let types = raw?;
    let parsed = types
        .iter()
        .filter_map(|t| {
            check.field(
                names.supported_content_types,
                Reason::Invalid,
                SupportedContentType::parse(t),
            )
        })
        .collect();
    if !types.iter().any(|t| t == "text/plain") {
        check.push(
            names.supported_content_types,
            "must contain text/plain",
            Reason::Invalid,
        );
    }
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_limits_depend_on_the_content_type_and_bytes_bind_every_type() {
        use MessageContentType::*;
        // (type, repeated text, times, accepted). "é" is 2 bytes, "€" 3 bytes in UTF-8.
        let cases: &[(MessageContentType, &str, usize, bool)] = &[
            (TextPlain, "a", 1, true),
            (TextPlain, "é", 1024, true),
            (TextPlain, "a", 1025, false),
            (TextPlain, "a", 0, false),
            (TextMarkdown, "€", 1024, true),
            (TextMarkdown, "a", 1025, false),
            (Json, "a", 12_000, true),
            (Json, "a", 12_001, false),
            (Json, "é", 8_192, true),
            (Json, "é", 8_193, false),
            (InteractiveResponse, "a", 12_288, true),
            (InteractiveResponse, "a", 12_289, false),
            (InteractiveResponse, "€", 5_461, true),
            (InteractiveResponse, "€", 5_462, false),
        ];
        for (content_type, text, times, ok) in cases {
            let result = SystemMessage::new(*content_type, text.repeat(*times));
            assert_eq!(
                result.is_ok(),
                *ok,
                "{content_type:?} with {times} × {text:?}: {result:?}"
            );
        }
        let err = SystemMessage::new(Json, "é".repeat(8_193)).unwrap_err();
        assert!(err.contains("16384 bytes"), "{err}");
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
