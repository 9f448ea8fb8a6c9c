//! The problem list and the typed member accessors every validation rule is written with.
//!
//! Lengths are counted in characters (Unicode scalar values) and sizes in UTF-8 bytes, as Connect
//! counts them. A leaf module: it knows nothing about the operation's members.

use serde_json::{Map, Value};

/// Every problem found in one request, each as `Member.Path: problem`.
#[derive(Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn add(&mut self, path: &str, problem: impl AsRef<str>) {
        self.0.push(format!("{path}: {}", problem.as_ref()));
    }

    /// `Err` holds every problem, joined with `"; "`.
    pub(super) fn into_result(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Presence {
    Required,
    Optional,
}

/// A member's value; JSON `null` counts as absent, as restJson1 servers treat it.
pub(super) fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// `Parent.Name`, or `Name` at the top level.
pub(super) fn path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// Length in characters (Unicode scalar values), as Connect counts.
pub(super) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Size in UTF-8 bytes, as Connect counts its byte limits (`é` is 2, `€` 3, `😀` 4).
pub(super) fn utf8_bytes(s: &str) -> usize {
    s.len()
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

/// A byte limit: `what` names the measured thing ("must", "keys and values together must").
pub(super) fn check_bytes(p: &mut Problems, path: &str, what: &str, bytes: usize, max: usize) {
    if bytes > max {
        p.add(
            path,
            format!("{what} be at most {max} bytes (UTF-8), got {bytes}"),
        );
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
pub(super) fn string<'a>(
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
pub(super) fn object<'a>(
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
pub(super) fn one_of(p: &mut Problems, path: &str, value: &str, allowed: &[&str]) -> bool {
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
