//! The attribute section of a request: contact attributes (string → string, shown to the
//! contact flow) and the length rules they share with a template's custom attributes.

use std::collections::BTreeMap;
use std::fmt;

use super::violation::{Check, Reason};

/// Longest key or value of a contact or template attribute, in characters.
const MAX_ATTRIBUTE_CHARS: usize = 32_767;
/// Most UTF-8 bytes of all keys and values of one contact's attributes together.
pub const MAX_ATTRIBUTES_BYTES: usize = 32_768;

/// Contact attributes. Values may be personal data: `Debug` shows only the keys.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ContactAttributes(BTreeMap<String, String>);

impl ContactAttributes {
    /// Checks each key (1..32767 characters, only letters, digits, `-` and `_`, as every
    /// sibling Start*Contact operation documents), each value (at most 32767 characters) and
    /// the size of all of them together (at most 32,768 UTF-8 bytes); returns every problem as
    /// `(key, sentence)`, the total's under no key.
    pub fn new(map: BTreeMap<String, String>) -> Result<Self, Vec<(Option<String>, String)>> {
        let mut problems: Vec<(Option<String>, String)> = length_problems(&map)
            .into_iter()
            .map(|(key, problem)| (Some(key), problem))
            .collect();
        for key in map.keys() {
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            if !key.is_empty() && !key.chars().all(allowed) {
                problems.push((
                    Some(key.clone()),
                    "attribute keys may contain only letters, digits, `-` and `_`".into(),
                ));
            }
        }
        let bytes: usize = map.iter().map(|(k, v)| k.len() + v.len()).sum();
        if bytes > MAX_ATTRIBUTES_BYTES {
            problems.push((
                None,
                format!(
                    "all keys and values together must be at most {MAX_ATTRIBUTES_BYTES} bytes in UTF-8, found {bytes}"
                ),
            ));
        }
        if problems.is_empty() {
            Ok(Self(map))
        } else {
            Err(problems)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ContactAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The length rules of a string map of attributes: keys 1..32767 characters, values at most
/// 32767. Each problem as `(key, sentence)`; a sentence never quotes a value.
pub(super) fn length_problems(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter()
        .filter_map(|(key, value)| {
            let problem = if key.is_empty() {
                "attribute keys must not be empty"
            } else if key.chars().count() > MAX_ATTRIBUTE_CHARS {
                "attribute keys must be at most 32767 characters"
            } else if value.chars().count() > MAX_ATTRIBUTE_CHARS {
                "attribute values must be at most 32767 characters"
            } else {
                return None;
            };
            Some((key.clone(), problem.to_owned()))
        })
        .collect()
}

/// Reads the contact attributes (none when absent); `field` is where they sit in the caller's
/// form.
pub(super) fn contact_attributes(
    check: &mut Check,
    field: &str,
    raw: Option<BTreeMap<String, String>>,
) -> Option<ContactAttributes> {
    match ContactAttributes::new(raw.unwrap_or_default()) {
        Ok(attributes) => Some(attributes),
        Err(problems) => {
            for (key, problem) in problems {
                let path = match key {
                    Some(key) => format!("{field}.{key}"),
                    None => field.to_owned(),
                };
                check.push(path, problem, Reason::InvalidAttributeKey);
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_attribute_rules_each_pass_and_fail_at_their_boundary() {
        let one = |k: &str, v: &str| {
            ContactAttributes::new([(k.to_string(), v.to_string())].into()).is_ok()
        };
        // (key, value, accepted)
        let cases: Vec<(String, String, bool)> = vec![
            ("orderId".into(), "".into(), true),
            ("".into(), "x".into(), false),
            ("k".repeat(32_767), "".into(), true),
            ("k".repeat(32_768), "".into(), false),
            ("k".into(), "v".repeat(32_767), true),
            ("k".into(), "v".repeat(32_768), false),
            ("order_id-2".into(), "x".into(), true),
            ("order id".into(), "x".into(), false),
            ("order.id".into(), "x".into(), false),
            ("commandé".into(), "x".into(), false),
            // Total bytes: key "k" (1 byte) + value.
            ("k".into(), "é".repeat(16_383), true),
            ("k".into(), "é".repeat(16_384), false),
            ("k".into(), format!("{}a", "€".repeat(10_922)), true),
            ("k".into(), format!("{}ab", "€".repeat(10_922)), false),
        ];
        for (key, value, ok) in cases {
            assert_eq!(
                one(&key, &value),
                ok,
                "{} chars of key, {} bytes of value",
                key.chars().count(),
                value.len()
            );
        }
    }

    #[test]
    fn the_byte_total_counts_every_key_and_value() {
        let map = |n: usize| -> BTreeMap<String, String> {
            (0..n)
                .map(|i| (format!("k{i:04}"), "x".repeat(27)))
                .collect()
        };
        // 32 bytes per entry: 1024 entries are exactly 32,768 bytes.
        assert!(ContactAttributes::new(map(1024)).is_ok());
        let err = ContactAttributes::new(map(1025)).unwrap_err();
        assert_eq!(err[0].0, None);
        assert!(err[0].1.contains("32768 bytes"), "{}", err[0].1);
    }

    #[test]
    fn contact_attribute_values_never_show_in_debug() {
        let attributes =
            ContactAttributes::new([("name".to_string(), "Ana".to_string())].into()).unwrap();
        assert_eq!(format!("{attributes:?}"), "{\"name\"}");
    }

    #[test]
    fn template_attribute_lengths_pass_and_fail_at_their_boundary() {
        let ok = |k: String, v: String| length_problems(&[(k, v)].into()).is_empty();
        assert!(ok("k".repeat(32_767), String::new()));
        assert!(!ok("k".repeat(32_768), String::new()));
        assert!(!ok(String::new(), "v".into()));
        assert!(ok("first name".into(), "é".repeat(32_767)));
        assert!(!ok("k".into(), "é".repeat(32_768)));
    }
}
