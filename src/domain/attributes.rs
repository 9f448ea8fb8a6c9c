//! Contact attributes (string → string, shown to the contact flow) and segment attributes
//! (Connect's typed values; the channel travels here as `connect:Subtype`).

use std::collections::BTreeMap;
use std::fmt;

/// The key that carries the channel in `SegmentAttributes`.
pub const SUBTYPE_KEY: &str = "connect:Subtype";
/// Keys with this prefix are Connect's system attributes.
const SYSTEM_PREFIX: &str = "connect:";

/// The messaging channel of the outbound chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Sms,
    WhatsApp,
}

impl Channel {
    /// The friendly form's `channel` value, case-insensitive.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_uppercase().as_str() {
            "SMS" => Ok(Self::Sms),
            "WHATSAPP" => Ok(Self::WhatsApp),
            _ => Err("must be SMS or WHATSAPP".into()),
        }
    }

    /// The `connect:Subtype` value of this channel.
    pub fn subtype(self) -> &'static str {
        match self {
            Self::Sms => "connect:SMS",
            Self::WhatsApp => "connect:WhatsApp",
        }
    }

    pub fn from_subtype(raw: &str) -> Result<Self, String> {
        match raw {
            "connect:SMS" => Ok(Self::Sms),
            "connect:WhatsApp" => Ok(Self::WhatsApp),
            _ => Err("must be connect:SMS or connect:WhatsApp".into()),
        }
    }

    /// A short label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::WhatsApp => "WHATSAPP",
        }
    }
}

/// Contact attributes. Values may be personal data: `Debug` shows only the keys.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ContactAttributes(BTreeMap<String, String>);

impl ContactAttributes {
    /// Checks each key (1..32767 characters) and value (at most 32767); returns every problem
    /// as `(key, sentence)`.
    pub fn new(map: BTreeMap<String, String>) -> Result<Self, Vec<(String, String)>> {
        let problems: Vec<(String, String)> = map
            .iter()
            .filter_map(|(key, value)| {
                if key.is_empty() {
                    Some((key.clone(), "attribute keys must not be empty".into()))
                } else if key.chars().count() > 32_767 {
                    Some((
                        key.clone(),
                        "attribute keys must be at most 32767 characters".into(),
                    ))
                } else if value.chars().count() > 32_767 {
                    Some((
                        key.clone(),
                        "attribute values must be at most 32767 characters".into(),
                    ))
                } else {
                    None
                }
            })
            .collect();
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
        SegmentValue::Arn(arn) if arn.chars().count() > 1024 || !arn.starts_with("arn:") => {
            problems.push((
                path.into(),
                "ValueArn must be an ARN of at most 1024 characters".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_parse_case_insensitively_and_map_to_subtypes() {
        assert_eq!(Channel::parse("whatsapp"), Ok(Channel::WhatsApp));
        assert_eq!(Channel::parse("Sms"), Ok(Channel::Sms));
        assert!(Channel::parse("voice").is_err());
        assert_eq!(
            Channel::from_subtype("connect:WhatsApp"),
            Ok(Channel::WhatsApp)
        );
        assert!(Channel::from_subtype("connect:Email").is_err());
    }

    #[test]
    fn contact_attribute_keys_and_values_have_bounds() {
        let ok = |k: &str, v: &str| {
            ContactAttributes::new([(k.to_string(), v.to_string())].into()).is_ok()
        };
        assert!(ok("orderId", ""));
        assert!(!ok("", "x"));
        assert!(ok(&"k".repeat(32_767), "x"));
        assert!(!ok(&"k".repeat(32_768), "x"));
        assert!(ok("k", &"v".repeat(32_767)));
        assert!(!ok("k", &"v".repeat(32_768)));
    }

    #[test]
    fn contact_attribute_values_never_show_in_debug() {
        let attributes =
            ContactAttributes::new([("name".to_string(), "Ana".to_string())].into()).unwrap();
        assert_eq!(format!("{attributes:?}"), "{\"name\"}");
    }

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
                true,
            ),
            (
                "connect:Thing",
                SegmentValue::Arn("not-an-arn".into()),
                false,
            ),
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
