//! String-to-string attribute maps: contact `Attributes` and a template's `CustomAttributes`.
//!
//! Both take keys of 1..32767 characters and values of 0..32767. Contact attributes also hold
//! Connect's rules for every attribute of a contact (documented by the sibling Start*Contact
//! operations and UpdateContactAttributes): keys only ASCII letters, digits, `-` and `_`, and at
//! most 32,768 UTF-8 bytes for all keys and values together.

use serde_json::{Map, Value};

use super::check::{Presence, Problems, chars, check_bytes, object, utf8_bytes};
use super::formats::is_plain_key;

/// The longest attribute key, and the longest value.
pub(super) const MAX_ATTRIBUTE_CHARS: usize = 32767;

/// The most bytes a contact's attribute keys and values may take together.
pub(super) const MAX_CONTACT_ATTRIBUTE_BYTES: usize = 32768;

/// `Attributes`: a string map with plain keys and a total size.
pub(super) fn contact_attributes(p: &mut Problems, body: &Map<String, Value>) {
    let Some(attributes) = object(p, body, "", "Attributes", Presence::Optional) else {
        return;
    };
    string_map(p, "Attributes", attributes);
    for key in attributes.keys() {
        // An empty key is already refused by its length.
        if !key.is_empty() && !is_plain_key(key) {
            p.add(
                &format!("Attributes.{key}"),
                "key must contain only ASCII letters, digits, '-' and '_'",
            );
        }
    }
    let total: usize = attributes
        .iter()
        .map(|(key, value)| utf8_bytes(key) + value.as_str().map_or(0, utf8_bytes))
        .sum();
    check_bytes(
        p,
        "Attributes",
        "keys and values together must",
        total,
        MAX_CONTACT_ATTRIBUTE_BYTES,
    );
}

/// A map of string to string; keys 1..=32767 characters, values 0..=32767. Never echoes a value.
pub(super) fn string_map(p: &mut Problems, parent: &str, map: &Map<String, Value>) {
    for (key, value) in map {
        let path = format!("{parent}.{key}");
        let n = chars(key);
        if !(1..=MAX_ATTRIBUTE_CHARS).contains(&n) {
            p.add(
                &path,
                format!("key must be between 1 and {MAX_ATTRIBUTE_CHARS} characters long, got {n}"),
            );
        }
        match value {
            Value::String(s) => {
                let n = chars(s);
                if n > MAX_ATTRIBUTE_CHARS {
                    p.add(
                        &path,
                        format!(
                            "value must be at most {MAX_ATTRIBUTE_CHARS} characters long, got {n}"
                        ),
                    );
                }
            }
            _ => p.add(&path, "value must be a string"),
        }
    }
}
