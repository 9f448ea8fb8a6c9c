//! Connect's input constraints for `StartOutboundChatContact`, checked the way Connect would.
//!
//! The Rust SDK checks nothing for this operation (no lengths, enums or required members), so a
//! request that is wrong reaches Connect as it is and only Connect refuses it. This module is the
//! stand-in for that refusal. It collects every problem, each prefixed with the member's path
//! (`DestinationEndpoint.Address: ...`), so one answer tells the caller all that is wrong.
//! Messages never echo the destination address or attribute values: they may be personal data,
//! and the CLI prints messages.

use serde_json::{Map, Value};

/// Top-level members of the operation's input. Anything else is refused: a strict stand-in finds
/// a misspelt member that real Connect might silently ignore.
const MEMBERS: [&str; 13] = [
    "InstanceId",
    "ContactFlowId",
    "SourceEndpoint",
    "DestinationEndpoint",
    "SegmentAttributes",
    "Attributes",
    "ChatDurationInMinutes",
    "ParticipantDetails",
    "InitialSystemMessage",
    "InitialTemplatedSystemMessage",
    "RelatedContactId",
    "SupportedMessagingContentTypes",
    "ClientToken",
];

const SYSTEM_MESSAGE_TYPES: [(&str, usize); 4] = [
    ("text/plain", 1024),
    ("text/markdown", 1024),
    ("application/json", 12000),
    (
        "application/vnd.amazonaws.connect.message.interactive.response",
        12288,
    ),
];

const MESSAGING_CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/markdown",
    "application/json",
    "application/vnd.amazonaws.connect.message.interactive",
    "application/vnd.amazonaws.connect.message.interactive.response",
];

const SUBTYPES: [&str; 2] = ["connect:SMS", "connect:WhatsApp"];

const SEGMENT_VALUE_MEMBERS: [&str; 5] = [
    "ValueString",
    "ValueInteger",
    "ValueMap",
    "ValueList",
    "ValueArn",
];

/// Checks a parsed request body; `Err` holds every problem, joined with `"; "`.
pub(crate) fn validate(body: &Map<String, Value>) -> Result<(), String> {
    let mut p = Problems::default();
    for name in body.keys() {
        if !MEMBERS.contains(&name.as_str()) {
            p.add(name, "is not a member of StartOutboundChatContact's input");
        }
    }
    string(&mut p, body, "", "InstanceId", Presence::Required, 1, 100);
    string(
        &mut p,
        body,
        "",
        "ContactFlowId",
        Presence::Required,
        1,
        500,
    );
    source_endpoint(&mut p, body);
    destination_endpoint(&mut p, body);
    segment_attributes(&mut p, body);
    attributes(&mut p, body);
    chat_duration(&mut p, body);
    participant_details(&mut p, body);
    initial_system_message(&mut p, body);
    initial_templated_system_message(&mut p, body);
    if member(body, "InitialSystemMessage").is_some()
        && member(body, "InitialTemplatedSystemMessage").is_some()
    {
        p.add(
            "InitialSystemMessage",
            "cannot be combined with InitialTemplatedSystemMessage",
        );
    }
    string(
        &mut p,
        body,
        "",
        "RelatedContactId",
        Presence::Optional,
        1,
        256,
    );
    supported_content_types(&mut p, body);
    string(&mut p, body, "", "ClientToken", Presence::Optional, 0, 500);
    p.into_result()
}

#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, path: &str, problem: impl AsRef<str>) {
        self.0.push(format!("{path}: {}", problem.as_ref()));
    }

    fn into_result(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    Required,
    Optional,
}

/// A member's value; JSON `null` counts as absent, as restJson1 servers treat it.
fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// Length in characters (Unicode scalar values), as Connect counts.
fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_length(p: &mut Problems, path: &str, s: &str, min: usize, max: usize) -> bool {
    let n = chars(s);
    if (min..=max).contains(&n) {
        true
    } else {
        p.add(
            path,
            format!("must be between {min} and {max} characters long, got {n}"),
        );
        false
    }
}

/// A member of one JSON type, picked out by `as_type`; reports it when required and missing,
/// or present with another type (`expected` names the type: "a string").
fn typed_member<'a, T>(
    p: &mut Problems,
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
    presence: Presence,
    expected: &str,
    as_type: fn(&'a Value) -> Option<T>,
) -> Option<T> {
    match member(obj, name) {
        None => {
            if presence == Presence::Required {
                p.add(path, "is required");
            }
            None
        }
        Some(value) => {
            let typed = as_type(value);
            if typed.is_none() {
                p.add(path, format!("must be {expected}"));
            }
            typed
        }
    }
}

/// A string member with a length range; returns it when present, a string, and of valid length.
fn string<'a>(
    p: &mut Problems,
    obj: &'a Map<String, Value>,
    parent: &str,
    name: &str,
    presence: Presence,
    min: usize,
    max: usize,
) -> Option<&'a str> {
    let path = path(parent, name);
    let s = typed_member(p, obj, &path, name, presence, "a string", Value::as_str)?;
    check_length(p, &path, s, min, max).then_some(s)
}

/// An object member; returns it when present and an object.
fn object<'a>(
    p: &mut Problems,
    obj: &'a Map<String, Value>,
    parent: &str,
    name: &str,
    presence: Presence,
) -> Option<&'a Map<String, Value>> {
    let path = path(parent, name);
    typed_member(p, obj, &path, name, presence, "an object", Value::as_object)
}

/// An enum-valued string member; names the allowed values but echoes the bad one only when short
/// (an enum member is never personal data, but it may be a pasted blob).
fn one_of(p: &mut Problems, path: &str, value: &str, allowed: &[&str]) -> bool {
    if allowed.contains(&value) {
        return true;
    }
    let shown = if chars(value) <= 64 {
        format!(", got '{value}'")
    } else {
        String::new()
    };
    p.add(
        path,
        format!("must be one of {}{shown}", allowed.join(", ")),
    );
    false
}

fn source_endpoint(p: &mut Problems, body: &Map<String, Value>) {
    let Some(endpoint) = object(p, body, "", "SourceEndpoint", Presence::Required) else {
        return;
    };
    if let Some(kind) = string(
        p,
        endpoint,
        "SourceEndpoint",
        "Type",
        Presence::Required,
        1,
        64,
    ) {
        one_of(p, "SourceEndpoint.Type", kind, &["CONNECT_PHONENUMBER_ARN"]);
    }
    let address = string(
        p,
        endpoint,
        "SourceEndpoint",
        "Address",
        Presence::Required,
        1,
        256,
    );
    if let Some(address) = address {
        if !is_phone_number_arn(address) {
            p.add(
                "SourceEndpoint.Address",
                "must be a phone number ARN, arn:<partition>:connect:<region>:<account>:phone-number/<id>",
            );
        }
    }
}

fn destination_endpoint(p: &mut Problems, body: &Map<String, Value>) {
    let Some(endpoint) = object(p, body, "", "DestinationEndpoint", Presence::Required) else {
        return;
    };
    let kind = string(
        p,
        endpoint,
        "DestinationEndpoint",
        "Type",
        Presence::Required,
        1,
        64,
    );
    if let Some(kind) = kind {
        one_of(p, "DestinationEndpoint.Type", kind, &["TELEPHONE_NUMBER"]);
    }
    // Deliberately no length echo here: the address is a customer's phone number.
    match member(endpoint, "Address") {
        None => p.add("DestinationEndpoint.Address", "is required"),
        Some(Value::String(address)) if is_e164(address) => {}
        Some(Value::String(_)) => p.add(
            "DestinationEndpoint.Address",
            r"must be an E.164 phone number matching ^\+[1-9]\d{1,14}$",
        ),
        Some(_) => p.add("DestinationEndpoint.Address", "must be a string"),
    }
}

fn segment_attributes(p: &mut Problems, body: &Map<String, Value>) {
    let Some(attributes) = object(p, body, "", "SegmentAttributes", Presence::Required) else {
        return;
    };
    for (key, value) in attributes {
        let path = format!("SegmentAttributes.{key}");
        let n = chars(key);
        if !(1..=128).contains(&n) {
            p.add(
                &path,
                format!("key must be between 1 and 128 characters long, got {n}"),
            );
        }
        let system = key.starts_with("connect:");
        if !system
            && !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            p.add(
                &path,
                "key must contain only letters, digits, '-' and '_' (system keys start with connect:)",
            );
        }
        segment_value(p, &path, value, system);
    }
    match attributes.get("connect:Subtype") {
        None => p.add(
            "SegmentAttributes",
            "must contain connect:Subtype with ValueString connect:SMS or connect:WhatsApp",
        ),
        Some(subtype) => match subtype.get("ValueString") {
            Some(Value::String(s)) => {
                one_of(
                    p,
                    "SegmentAttributes.connect:Subtype.ValueString",
                    s,
                    &SUBTYPES,
                );
            }
            _ => p.add(
                "SegmentAttributes.connect:Subtype",
                "must have ValueString connect:SMS or connect:WhatsApp",
            ),
        },
    }
}

/// A SegmentAttributeValue: exactly one of its members set; lists and ARNs only under system keys.
fn segment_value(p: &mut Problems, path: &str, value: &Value, system: bool) {
    let Value::Object(obj) = value else {
        p.add(path, "must be a SegmentAttributeValue object");
        return;
    };
    for name in obj.keys() {
        if !SEGMENT_VALUE_MEMBERS.contains(&name.as_str()) {
            p.add(
                &format!("{path}.{name}"),
                "is not a member of SegmentAttributeValue",
            );
        }
    }
    let set = SEGMENT_VALUE_MEMBERS
        .iter()
        .filter(|name| member(obj, name).is_some())
        .count();
    if set != 1 {
        p.add(
            path,
            format!(
                "must set exactly one of {}, got {set}",
                SEGMENT_VALUE_MEMBERS.join(", ")
            ),
        );
    }
    string(p, obj, path, "ValueString", Presence::Optional, 0, 1024);
    if let Some(integer) = member(obj, "ValueInteger") {
        let fits = integer.as_i64().is_some_and(|i| i32::try_from(i).is_ok());
        if !fits {
            p.add(
                &format!("{path}.ValueInteger"),
                "must be an integer that fits in 32 bits",
            );
        }
    }
    if let Some(map) = object(p, obj, path, "ValueMap", Presence::Optional) {
        for (key, inner) in map {
            let inner_path = format!("{path}.ValueMap.{key}");
            let n = chars(key);
            if !(1..=128).contains(&n) {
                p.add(
                    &inner_path,
                    format!("key must be between 1 and 128 characters long, got {n}"),
                );
            }
            segment_value(p, &inner_path, inner, system);
        }
    }
    if let Some(list) = member(obj, "ValueList") {
        let list_path = format!("{path}.ValueList");
        if !system {
            p.add(
                &list_path,
                "is only allowed for system attributes (keys starting with connect:)",
            );
        }
        match list {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    segment_value(p, &format!("{list_path}[{i}]"), item, system);
                }
            }
            _ => p.add(&list_path, "must be a list"),
        }
    }
    if member(obj, "ValueArn").is_some() && !system {
        p.add(
            &format!("{path}.ValueArn"),
            "is only allowed for system attributes (keys starting with connect:)",
        );
    }
    if let Some(arn) = string(p, obj, path, "ValueArn", Presence::Optional, 1, 1024) {
        if !is_arn(arn) {
            p.add(&format!("{path}.ValueArn"), "must be a valid ARN");
        }
    }
}

fn attributes(p: &mut Problems, body: &Map<String, Value>) {
    let Some(attributes) = object(p, body, "", "Attributes", Presence::Optional) else {
        return;
    };
    string_map(p, "Attributes", attributes, 32767);
}

/// A map of string to string; keys 1..=32767 characters, values 0..=`max_value`.
fn string_map(p: &mut Problems, parent: &str, map: &Map<String, Value>, max_value: usize) {
    for (key, value) in map {
        let path = format!("{parent}.{key}");
        let n = chars(key);
        if !(1..=32767).contains(&n) {
            p.add(
                &path,
                format!("key must be between 1 and 32767 characters long, got {n}"),
            );
        }
        match value {
            Value::String(s) => {
                let n = chars(s);
                if n > max_value {
                    p.add(
                        &path,
                        format!("value must be at most {max_value} characters long, got {n}"),
                    );
                }
            }
            _ => p.add(&path, "value must be a string"),
        }
    }
}

fn chat_duration(p: &mut Problems, body: &Map<String, Value>) {
    let Some(value) = member(body, "ChatDurationInMinutes") else {
        return;
    };
    let in_range = value.as_i64().is_some_and(|m| (60..=10080).contains(&m));
    if !in_range {
        p.add(
            "ChatDurationInMinutes",
            format!("must be an integer between 60 and 10080, got {value}"),
        );
    }
}

fn participant_details(p: &mut Problems, body: &Map<String, Value>) {
    if let Some(details) = object(p, body, "", "ParticipantDetails", Presence::Optional) {
        string(
            p,
            details,
            "ParticipantDetails",
            "DisplayName",
            Presence::Required,
            1,
            256,
        );
    }
}

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
        string_map(p, &custom_path, custom, 32767);
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
    if let Some(profile) = profile {
        if serde_json::from_str::<Value>(profile).is_err() {
            p.add(
                &format!("{attributes_path}.CustomerProfileAttributes"),
                "must be a JSON document serialized into a string",
            );
        }
    }
}

fn supported_content_types(p: &mut Problems, body: &Map<String, Value>) {
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

/// `^\+[1-9]\d{1,14}$`.
fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...
fn is_partition(s: &str) -> bool {
    s.starts_with("aws") && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `arn:<partition>:connect:<region>:<12-digit account>:phone-number/<id>`. The legacy form with
/// `instance/<id>/` in the resource is refused: the project must not use it.
fn is_phone_number_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let id_ok = resource.strip_prefix("phone-number/").is_some_and(|id| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    arn == "arn"
        && is_partition(partition)
        && service == "connect"
        && is_region(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && id_ok
}

/// Any ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`; region and account may be
/// empty (global resources), the resource may contain `:` and `/`.
fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn == "arn"
        && is_partition(partition)
        && !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && (region.is_empty() || is_region(region))
        && account.bytes().all(|b| b.is_ascii_digit())
        && !resource.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_are_recognised() {
        for ok in ["+447700900123", "+12", "+123456789012345"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "447700900123",
            "+0447700900",
            "+1",
            "+1234567890123456",
            "+44 7700 900123",
            "+٤٤٧٧",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn phone_number_arns_are_recognised() {
        let ok = "arn:aws:connect:eu-west-2:123456789012:phone-number/1a2b3c4d-0000-4000-8000-000000000000";
        assert!(is_phone_number_arn(ok));
        assert!(is_phone_number_arn(
            "arn:aws-us-gov:connect:us-gov-west-1:123456789012:phone-number/abc"
        ));
        for bad in [
            "arn:aws:connect:eu-west-2:123456789012:instance/i-1/phone-number/abc",
            "arn:aws:sms-voice:eu-west-2:123456789012:phone-number/abc",
            "arn:aws:connect:eu-west-2:1234:phone-number/abc",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/",
            "+447700900123",
        ] {
            assert!(!is_phone_number_arn(bad), "{bad}");
        }
    }

    #[test]
    fn generic_arns_are_recognised() {
        assert!(is_arn("arn:aws:s3:::bucket/key"));
        assert!(is_arn(
            "arn:aws:connect:eu-west-2:123456789012:instance/abc/contact/def"
        ));
        assert!(!is_arn("arn:aws:s3::"));
        assert!(!is_arn("not-an-arn"));
    }
}
