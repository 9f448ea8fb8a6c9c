//! The chat's first message, its WhatsApp rule, and `SupportedMessagingContentTypes`.
//!
//! The first message is `InitialSystemMessage` (free-form) or `InitialTemplatedSystemMessage`
//! (an approved template), never both.

use serde_json::{Map, Value};

use super::attributes::string_map;
use super::check::{Presence, Problems, check_bytes, member, object, one_of, string, utf8_bytes};
use super::segments::{WHATSAPP, subtype};

/// Each system-message content type and its longest `Content`, in characters.
const SYSTEM_MESSAGE_TYPES: [(&str, usize); 4] = [
    ("text/plain", 1024),
    ("text/markdown", 1024),
    ("application/json", 12000),
    (
        "application/vnd.amazonaws.connect.message.interactive.response",
        12288,
    ),
];

/// The most UTF-8 bytes a system message's `Content` may take, whatever its type.
pub(super) const MAX_CONTENT_BYTES: usize = 16384;

const MESSAGING_CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/markdown",
    "application/json",
    "application/vnd.amazonaws.connect.message.interactive",
    "application/vnd.amazonaws.connect.message.interactive.response",
];

/// Both message members, then how they combine with each other and with the channel.
pub(super) fn initial_messages(p: &mut Problems, body: &Map<String, Value>) {
    initial_system_message(p, body);
    initial_templated_system_message(p, body);
    let free_form = member(body, "InitialSystemMessage").is_some();
    if free_form && member(body, "InitialTemplatedSystemMessage").is_some() {
        p.add(
            "InitialSystemMessage",
            "cannot be combined with InitialTemplatedSystemMessage",
        );
    }
    // WhatsApp's rule, which the function holds too: outside the customer's 24-hour window a
    // business may only send an approved template. A related contact marks a follow-up in a
    // conversation the customer is already in.
    if free_form && subtype(body) == Some(WHATSAPP) && member(body, "RelatedContactId").is_none() {
        p.add(
            "InitialSystemMessage",
            "is not allowed on connect:WhatsApp without RelatedContactId: a business-initiated \
             WhatsApp message must be an approved template (InitialTemplatedSystemMessage)",
        );
    }
}

/// `ContentType` one of four; `Content` within its type's character limit and 16,384 bytes.
fn initial_system_message(p: &mut Problems, body: &Map<String, Value>) {
    let parent = "InitialSystemMessage";
    let Some(message) = object(p, body, "", parent, Presence::Optional) else {
        return;
    };
    let types: Vec<&str> = SYSTEM_MESSAGE_TYPES.iter().map(|(t, _)| *t).collect();
    let max = string(
        p,
        message,
        parent,
        "ContentType",
        Presence::Required,
        1,
        256,
    )
    .filter(|kind| one_of(p, "InitialSystemMessage.ContentType", kind, &types))
    .and_then(|kind| SYSTEM_MESSAGE_TYPES.iter().find(|(t, _)| *t == kind))
    .map_or(12288, |(_, max)| *max);
    string(p, message, parent, "Content", Presence::Required, 1, max);
    if let Some(content) = member(message, "Content").and_then(Value::as_str) {
        check_bytes(
            p,
            "InitialSystemMessage.Content",
            "must",
            utf8_bytes(content),
            MAX_CONTENT_BYTES,
        );
    }
}

fn initial_templated_system_message(p: &mut Problems, body: &Map<String, Value>) {
    let parent = "InitialTemplatedSystemMessage";
    let Some(message) = object(p, body, "", parent, Presence::Optional) else {
        return;
    };
    for name in ["KnowledgeBaseId", "MessageTemplateId"] {
        string(p, message, parent, name, Presence::Required, 1, 500);
    }
    let attributes_path = "InitialTemplatedSystemMessage.TemplateAttributes";
    let Some(attributes) = object(p, message, parent, "TemplateAttributes", Presence::Required)
    else {
        return;
    };
    let custom_path = format!("{attributes_path}.CustomAttributes");
    if let Some(custom) = object(
        p,
        attributes,
        attributes_path,
        "CustomAttributes",
        Presence::Optional,
    ) {
        string_map(p, &custom_path, custom);
    }
    let profile = string(
        p,
        attributes,
        attributes_path,
        "CustomerProfileAttributes",
        Presence::Optional,
        0,
        usize::MAX,
    );
    if profile.is_some_and(|profile| serde_json::from_str::<Value>(profile).is_err()) {
        p.add(
            &format!("{attributes_path}.CustomerProfileAttributes"),
            "must be a JSON document serialized into a string",
        );
    }
}

/// Each one of the five types, and `text/plain` among them.
pub(super) fn supported_content_types(p: &mut Problems, body: &Map<String, Value>) {
    let name = "SupportedMessagingContentTypes";
    let Some(value) = member(body, name) else {
        return;
    };
    let Value::Array(items) = value else {
        p.add(name, "must be a list of strings");
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("{name}[{i}]");
        match item {
            Value::String(s) => {
                one_of(p, &path, s, &MESSAGING_CONTENT_TYPES);
            }
            _ => p.add(&path, "must be a string"),
        }
    }
    if !items.iter().any(|item| item == "text/plain") {
        p.add(name, "must contain text/plain");
    }
}
