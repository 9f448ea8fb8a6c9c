//! The body of the do-not-contact routes (`PUT` and `DELETE /suppressions`): one entry
//! `{"to", "channel"?}` or a batch `{"suppressions": [1..25 entries]}`, every number validated
//! like a request's `to`, every violation reported with its field path, no number echoed.

use serde_json::{Map, Value};

use crate::domain::{DestinationNumber, Reason, ValidationError, Violation};
use crate::policy::ListScope;

/// Most entries in one change, as in a batch of send requests.
pub const MAX_ENTRIES: usize = 25;

/// One entry: a number and the channel it covers (`None`: every channel).
pub type Entry = (DestinationNumber, Option<ListScope>);

/// Reads the body of a list change.
pub fn entries(body: &str) -> Result<Vec<Entry>, ValidationError> {
    let invalid = |field: &str, message: &str, reason| {
        ValidationError::single(Violation::new(field, message, reason))
    };
    let value: Value = serde_json::from_str(body)
        .map_err(|_| invalid("", "the body is not valid JSON", Reason::Invalid))?;
    let Value::Object(map) = value else {
        return Err(invalid(
            "",
            "the body must be {\"to\": ..., \"channel\": ...} or {\"suppressions\": [...]}",
            Reason::Invalid,
        ));
    };
    if !map.contains_key("suppressions") {
        return read_all(&[(String::new(), map)]);
    }
    if let Some(extra) = map.keys().find(|k| *k != "suppressions") {
        return Err(invalid(
            extra,
            "unknown field: a batch holds only \"suppressions\"",
            Reason::Invalid,
        ));
    }
    match map.get("suppressions") {
        Some(Value::Array(items)) if (1..=MAX_ENTRIES).contains(&items.len()) => {
            let mut objects = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let prefix = format!("suppressions[{index}].");
                match item {
                    Value::Object(entry) => objects.push((prefix, entry.clone())),
                    _ => {
                        return Err(invalid(
                            &format!("suppressions[{index}]"),
                            "must be an object {\"to\": ..., \"channel\": ...}",
                            Reason::Invalid,
                        ));
                    }
                }
            }
            read_all(&objects)
        }
        _ => Err(invalid(
            "suppressions",
            &format!("must hold 1 to {MAX_ENTRIES} entries"),
            Reason::Invalid,
        )),
    }
}

/// Reads every entry, collecting every violation (each field named with its prefix).
fn read_all(objects: &[(String, Map<String, Value>)]) -> Result<Vec<Entry>, ValidationError> {
    let mut entries = Vec::new();
    let mut violations = Vec::new();
    for (prefix, object) in objects {
        let field = |name: &str| format!("{prefix}{name}");
        for extra in object.keys().filter(|k| *k != "to" && *k != "channel") {
            violations.push(Violation::new(
                field(extra),
                "unknown field: an entry holds \"to\" and \"channel\"",
                Reason::Invalid,
            ));
        }
        let number = match object.get("to") {
            None => Err(Violation::new(
                field("to"),
                "is required: the E.164 number",
                Reason::MissingCustomerEndpoint,
            )),
            Some(Value::String(raw)) => DestinationNumber::parse(raw).map_err(|problem| {
                Violation::new(field("to"), problem, Reason::InvalidCustomerEndpoint)
            }),
            Some(_) => Err(Violation::new(
                field("to"),
                "must be a string",
                Reason::InvalidCustomerEndpoint,
            )),
        };
        let scope = match object.get("channel") {
            None => Ok(None),
            Some(Value::String(raw)) => ListScope::parse(raw)
                .map(Some)
                .map_err(|problem| Violation::new(field("channel"), problem, Reason::Invalid)),
            // `null` is refused like everywhere else: leave the member out instead.
            Some(Value::Null) => Err(Violation::new(
                field("channel"),
                "must not be null: leave the member out instead",
                Reason::Invalid,
            )),
            Some(_) => Err(Violation::new(
                field("channel"),
                "must be SMS, WHATSAPP or ALL",
                Reason::Invalid,
            )),
        };
        match (number, scope) {
            (Ok(number), Ok(scope)) => entries.push((number, scope)),
            (number, scope) => violations.extend(number.err().into_iter().chain(scope.err())),
        }
    }
    if violations.is_empty() {
        Ok(entries)
    } else {
        Err(ValidationError::several(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_or_a_batch_of_one_to_twenty_five_is_read() {
        let one = entries(r#"{"to": "+1 425 555 0100", "channel": "sms"}"#).unwrap();
        assert_eq!(one[0].0.e164(), "+14255550100");
        assert_eq!(
            one[0].1,
            Some(ListScope::Channel(crate::domain::Channel::Sms))
        );
        assert_eq!(entries(r#"{"to": "+14255550100"}"#).unwrap()[0].1, None);
        assert!(entries(r#"{"to": "+14255550100", "channel": null}"#).is_err());
        let batch = |n: usize| {
            let items = vec![r#"{"to": "+14255550100", "channel": "ALL"}"#; n].join(",");
            entries(&format!(r#"{{"suppressions": [{items}]}}"#))
        };
        assert_eq!(batch(25).unwrap().len(), 25);
        assert!(batch(26).is_err());
        assert!(batch(0).is_err());
    }

    #[test]
    fn every_bad_entry_is_reported_with_its_path_and_no_number() {
        let err = entries(
            r#"{"suppressions": [{"to": "+14255550100"}, {"to": "14255550199", "channel": "fax"}, {"too": 1}]}"#,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "suppressions[1].to",
                "suppressions[1].channel",
                "suppressions[2].too",
                "suppressions[2].to"
            ]
        );
        assert!(!err.to_string().contains("14255550199"), "{err}");
    }

    #[test]
    fn the_published_schema_and_the_reader_agree_on_every_body() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/suppressions.schema.json"
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let entry = |channel: Value| {
            let mut entry = serde_json::json!({"to": "+1 (425) 555-0100"});
            if !channel.is_null() {
                entry["channel"] = channel;
            }
            entry
        };
        let valid = [
            entry(Value::Null),
            entry("sms".into()),
            entry("WhatsApp".into()),
            entry("ALL".into()),
            serde_json::json!({"suppressions": vec![entry("SMS".into()); 25]}),
        ];
        let invalid = [
            serde_json::json!({"to": "+14255550100", "channel": null}),
            serde_json::json!({"to": "+14255550100", "channel": "fax"}),
            serde_json::json!({"to": "14255550100"}),
            serde_json::json!({"to": 14255550100_u64}),
            serde_json::json!({"channel": "SMS"}),
            serde_json::json!({"to": "+14255550100", "extra": 1}),
            serde_json::json!({"suppressions": []}),
            serde_json::json!({"suppressions": vec![entry(Value::Null); 26]}),
            serde_json::json!({"suppressions": [entry(Value::Null)], "to": "+14255550100"}),
            serde_json::json!({"suppressions": ["+14255550100"]}),
            serde_json::json!(["+14255550100"]),
        ];
        for body in valid {
            assert!(validator.is_valid(&body), "schema refuses {body}");
            assert!(entries(&body.to_string()).is_ok(), "reader refuses {body}");
        }
        for body in invalid {
            assert!(!validator.is_valid(&body), "schema accepts {body}");
            assert!(entries(&body.to_string()).is_err(), "reader accepts {body}");
        }
    }
}
