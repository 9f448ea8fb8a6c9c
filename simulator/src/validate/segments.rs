//! `SegmentAttributes`: the channel (`connect:Subtype`) and the recursive attribute values.
//!
//! A SegmentAttributeValue's lists and ARNs only system keys (`connect:...`) may carry.

use serde_json::{Map, Value};

use super::check::{Presence, Problems, chars, member, object, one_of, string};
use super::formats::{MAX_ARN_CHARS, is_arn, is_plain_key};

/// The two channels this project sends on.
pub(super) const SUBTYPES: [&str; 2] = ["connect:SMS", "connect:WhatsApp"];

/// The WhatsApp channel's subtype.
pub(super) const WHATSAPP: &str = "connect:WhatsApp";

const SEGMENT_VALUE_MEMBERS: [&str; 5] = [
    "ValueString",
    "ValueInteger",
    "ValueMap",
    "ValueList",
    "ValueArn",
];

const ONLY_SYSTEM: &str = "is only allowed for system attributes (keys starting with connect:)";

/// The request's `connect:Subtype` value, when it has a string one.
pub(super) fn subtype(body: &Map<String, Value>) -> Option<&str> {
    body.get("SegmentAttributes")?
        .get("connect:Subtype")?
        .get("ValueString")?
        .as_str()
}

pub(super) fn segment_attributes(p: &mut Problems, body: &Map<String, Value>) {
    let Some(attributes) = object(p, body, "", "SegmentAttributes", Presence::Required) else {
        return;
    };
    for (key, value) in attributes {
        let path = format!("SegmentAttributes.{key}");
        segment_key(p, &path, key);
        let system = key.starts_with("connect:");
        if !system && !is_plain_key(key) {
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

/// A segment key, at the top or inside a `ValueMap`: 1..128 characters.
fn segment_key(p: &mut Problems, path: &str, key: &str) {
    let n = chars(key);
    if !(1..=128).contains(&n) {
        p.add(
            path,
            format!("key must be between 1 and 128 characters long, got {n}"),
        );
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
            segment_key(p, &inner_path, key);
            segment_value(p, &inner_path, inner, system);
        }
    }
    value_list(p, path, obj, system);
    value_arn(p, path, obj, system);
}

fn value_list(p: &mut Problems, path: &str, obj: &Map<String, Value>, system: bool) {
    let Some(list) = member(obj, "ValueList") else {
        return;
    };
    let list_path = format!("{path}.ValueList");
    if !system {
        p.add(&list_path, ONLY_SYSTEM);
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

/// `ValueArn`: at most 1024 characters and an ARN by [`is_arn`]'s rules.
fn value_arn(p: &mut Problems, path: &str, obj: &Map<String, Value>, system: bool) {
    if member(obj, "ValueArn").is_some() && !system {
        p.add(&format!("{path}.ValueArn"), ONLY_SYSTEM);
    }
    let arn = string(
        p,
        obj,
        path,
        "ValueArn",
        Presence::Optional,
        1,
        MAX_ARN_CHARS,
    );
    if arn.is_some_and(|arn| !is_arn(arn)) {
        p.add(
            &format!("{path}.ValueArn"),
            "must be an ARN, arn:<partition>:<service>:<region>:<account>:<resource> (region \
             empty or lowercase, account empty or 12 digits, resource non-empty)",
        );
    }
}
