//! The segment-attribute section of a request: Connect's typed values (string, integer, map,
//! list, ARN) under keys the caller chooses, besides `connect:Subtype`, which the function sets
//! from the channel.

use std::collections::BTreeMap;

use super::arn::parse_arn;
use super::channel::SUBTYPE_KEY;
use super::violation::{Check, Reason};

/// Keys with this prefix are Connect's system attributes.
const SYSTEM_PREFIX: &str = "connect:";

/// One segment attribute value, as Connect types it. Exactly one member is set on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentValue {
    String(String),
    Integer(i32),
    Map(BTreeMap<String, SegmentValue>),
    List(Vec<SegmentValue>),
    Arn(String),
}

/// The segment attributes sent besides `connect:Subtype`, which the function sets itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentAttributes(BTreeMap<String, SegmentValue>);

impl SegmentAttributes {
    /// Checks the keys (1..128 characters; user keys alphanumeric, `-` and `_`) and that list
    /// and ARN values appear only under system (`connect:`) keys. `connect:Subtype` must be
    /// left out: the channel decides it.
    pub fn new(map: BTreeMap<String, SegmentValue>) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        for (key, value) in &map {
            if key == SUBTYPE_KEY {
                problems.push((key.clone(), "is set from the channel".into()));
                continue;
            }
            let system = key.starts_with(SYSTEM_PREFIX);
            if let Err(problem) = check_key(key, system) {
                problems.push((key.clone(), problem));
            }
            check_value(key, value, system, &mut problems);
        }
        if problems.is_empty() {
            Ok(Self(map))
        } else {
            Err(problems)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &SegmentValue)> {
        self.0.iter()
    }
}

fn check_key(key: &str, system: bool) -> Result<(), String> {
    let len = key.chars().count();
    if !(1..=128).contains(&len) {
        return Err("keys must be 1 to 128 characters".into());
    }
    if !system
        && !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("user keys may contain only letters, digits, `-` and `_`".into());
    }
    Ok(())
}

fn check_value(
    path: &str,
    value: &SegmentValue,
    system: bool,
    problems: &mut Vec<(String, String)>,
) {
    match value {
        SegmentValue::String(s) if s.chars().count() > 1024 => {
            problems.push((
                path.into(),
                "ValueString must be at most 1024 characters".into(),
            ));
        }
        SegmentValue::Arn(_) | SegmentValue::List(_) if !system => problems.push((
            path.into(),
            "ValueArn and ValueList are allowed only in system (connect:) attributes".into(),
        )),
        SegmentValue::Arn(arn) if arn.chars().count() > 1024 || parse_arn(arn).is_none() => {
            problems.push((
                path.into(),
                "ValueArn must be an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) of at most 1024 characters".into(),
            ));
        }
        SegmentValue::Map(map) => {
            for (key, inner) in map {
                let inner_path = format!("{path}.ValueMap.{key}");
                if !(1..=128).contains(&key.chars().count()) {
                    problems.push((
                        inner_path.clone(),
                        "keys must be 1 to 128 characters".into(),
                    ));
                }
                check_value(&inner_path, inner, system, problems);
            }
        }
        SegmentValue::List(items) => {
            for (index, inner) in items.iter().enumerate() {
                check_value(
                    &format!("{path}.ValueList[{index}]"),
                    inner,
                    system,
                    problems,
                );
            }
        }
        _ => {}
    }
}

/// Connect's `SegmentAttributeValue`, raw and recursive: exactly one member must be set.
#[derive(Clone, Debug, Default)]
pub struct SegmentInput {
    pub value_string: Option<String>,
    pub value_integer: Option<i64>,
    pub value_map: Option<BTreeMap<String, SegmentInput>>,
    pub value_list: Option<Vec<SegmentInput>>,
    pub value_arn: Option<String>,
}

/// Reads the segment attributes left after the channel took `connect:Subtype`; `field` is
/// where they sit in the caller's form.
pub(super) fn segment_attributes(
    check: &mut Check,
    field: &str,
    raw: BTreeMap<String, SegmentInput>,
) -> Option<SegmentAttributes> {
    let mut converted = BTreeMap::new();
    for (key, input) in raw {
        let path = format!("{field}.{key}");
        if let Some(value) = segment_value(check, &path, input) {
            converted.insert(key, value);
        }
    }
    match SegmentAttributes::new(converted) {
        Ok(attributes) => Some(attributes),
        Err(problems) => {
            check.keyed(field, problems, Reason::InvalidAttributeKey);
            None
        }
    }
}

/// Converts one raw `SegmentAttributeValue`, which must set exactly one member.
fn segment_value(check: &mut Check, path: &str, input: SegmentInput) -> Option<SegmentValue> {
    let set = [
        input.value_string.is_some(),
        input.value_integer.is_some(),
        input.value_map.is_some(),
        input.value_list.is_some(),
        input.value_arn.is_some(),
    ]
    .into_iter()
    .filter(|s| *s)
    .count();
    if set != 1 {
        check.push(
            path,
            "must set exactly one of ValueString, ValueInteger, ValueMap, ValueList, ValueArn",
            Reason::Invalid,
        );
        return None;
    }
    if let Some(s) = input.value_string {
        Some(SegmentValue::String(s))
    } else if let Some(i) = input.value_integer {
        let int = i32::try_from(i).map_err(|_| "ValueInteger must fit in 32 bits".to_string());
        check
            .field(path, Reason::Invalid, int)
            .map(SegmentValue::Integer)
    } else if let Some(map) = input.value_map {
        let mut out = BTreeMap::new();
        for (key, inner) in map {
            let inner_path = format!("{path}.ValueMap.{key}");
            out.insert(key, segment_value(check, &inner_path, inner)?);
        }
        Some(SegmentValue::Map(out))
    } else if let Some(list) = input.value_list {
        let items: Option<Vec<_>> = list
            .into_iter()
            .enumerate()
            .map(|(i, inner)| segment_value(check, &format!("{path}.ValueList[{i}]"), inner))
            .collect();
        items.map(SegmentValue::List)
    } else {
        input.value_arn.map(SegmentValue::Arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_attribute_rules_each_pass_and_fail() {
        let s = |v: &str| SegmentValue::String(v.into());
        let cases: Vec<(&str, SegmentValue, bool)> = vec![
            ("campaign_id-1", s("x"), true),
            ("campaign id", s("x"), false),
            ("", s("x"), false),
            ("k", s(&"v".repeat(1024)), true),
            ("k", s(&"v".repeat(1025)), false),
            ("connect:Custom.Key", s("x"), true),
            ("connect:Subtype", s("connect:SMS"), false),
            ("k", SegmentValue::Integer(7), true),
            ("k", SegmentValue::Arn("arn:aws:connect:x".into()), false),
            (
                "connect:Thing",
                SegmentValue::Arn("arn:aws:connect:x".into()),
                false,
            ),
            (
                "connect:Thing",
                SegmentValue::Arn("not-an-arn".into()),
                false,
            ),
            (
                "connect:Thing",
                SegmentValue::Arn("arn:aws:connect:us-east-1:123456789012:instance/i".into()),
                true,
            ),
            (
                "connect:Thing",
                SegmentValue::Arn("arn:aws:connect:us-east-1:1234:instance/i".into()),
                false,
            ),
            ("connect:Thing", SegmentValue::Arn("arn:".into()), false),
            ("k", SegmentValue::List(vec![s("a")]), false),
            ("connect:List", SegmentValue::List(vec![s("a")]), true),
            (
                "k",
                SegmentValue::Map([("inner".to_string(), s("v"))].into()),
                true,
            ),
            (
                "k",
                SegmentValue::Map([("inner".to_string(), s(&"v".repeat(1025)))].into()),
                false,
            ),
            (
                "k",
                SegmentValue::Map([(String::new(), s("v"))].into()),
                false,
            ),
        ];
        for (key, value, ok) in cases {
            let result = SegmentAttributes::new([(key.to_string(), value.clone())].into());
            assert_eq!(result.is_ok(), ok, "{key:?} = {value:?}: {result:?}");
        }
        let long_key = "k".repeat(129);
        assert!(SegmentAttributes::new([(long_key, s("x"))].into()).is_err());
    }
}
