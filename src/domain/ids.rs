//! Identifiers and bounded values of a request: Connect ids, the idempotency token, the batch
//! item identifier, the chat duration and the display name, each checked against its API bounds.

use std::fmt;

/// Checks that `raw` has `min..=max` characters (Unicode scalar values, as Connect counts).
fn bounded(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let len = raw.chars().count();
    if len < min {
        Err(if min == 1 {
            "must not be empty".into()
        } else {
            format!("must be at least {min} characters")
        })
    } else if len > max {
        Err(format!("must be at most {max} characters, found {len}"))
    } else {
        Ok(raw.to_owned())
    }
}

/// Declares a string newtype bounded to `min..=max` characters.
macro_rules! bounded_string {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                bounded(raw, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_string!(
    /// The Connect instance id (1..100 characters).
    InstanceId, 1, 100
);
bounded_string!(
    /// The contact flow id: the last part of the flow's ARN (1..500 characters).
    ContactFlowId, 1, 500
);
bounded_string!(
    /// An existing contact to link the new one to (1..256 characters).
    RelatedContactId, 1, 256
);
bounded_string!(
    /// Connect's idempotency key (1..500 characters): the same token within 7 days returns the
    /// contact already started instead of messaging the customer again.
    ClientToken, 1, 500
);
bounded_string!(
    /// The caller's id for one item of an HTTP batch (1..80 characters, as in BatchPutContact).
    RequestIdentifier, 1, 80
);
bounded_string!(
    /// An id of a knowledge base or message template (1..500 characters).
    TemplateRef, 1, 500
);

/// The customer's display name (1..256 characters). Personal data: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        bounded(raw, 1, 256).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(<redacted>)")
    }
}

/// How long the chat stays open: 60..10080 minutes (Connect's default, when absent, is 25 h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatDuration(i32);

impl ChatDuration {
    pub const MIN: i64 = 60;
    pub const MAX: i64 = 10_080;

    pub fn new(minutes: i64) -> Result<Self, String> {
        if (Self::MIN..=Self::MAX).contains(&minutes) {
            Ok(Self(minutes as i32))
        } else {
            Err(format!(
                "must be between {} and {} minutes, found {minutes}",
                Self::MIN,
                Self::MAX
            ))
        }
    }

    pub fn minutes(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_identifiers_accept_their_range_and_refuse_outside_it() {
        type Check = fn(&str) -> bool;
        let cases: &[(&str, Check, usize, usize)] = &[
            ("InstanceId", |s| InstanceId::parse(s).is_ok(), 1, 100),
            ("ContactFlowId", |s| ContactFlowId::parse(s).is_ok(), 1, 500),
            (
                "RelatedContactId",
                |s| RelatedContactId::parse(s).is_ok(),
                1,
                256,
            ),
            ("ClientToken", |s| ClientToken::parse(s).is_ok(), 1, 500),
            (
                "RequestIdentifier",
                |s| RequestIdentifier::parse(s).is_ok(),
                1,
                80,
            ),
            ("TemplateRef", |s| TemplateRef::parse(s).is_ok(), 1, 500),
            ("DisplayName", |s| DisplayName::parse(s).is_ok(), 1, 256),
        ];
        for (name, check, min, max) in cases {
            assert!(check(&"a".repeat(*min)), "{name} at its minimum");
            assert!(
                check(&"ß".repeat(*max)),
                "{name} at its maximum, counted in characters"
            );
            assert!(!check(&"a".repeat(max + 1)), "{name} over its maximum");
            assert!(!check(""), "{name} empty");
        }
    }

    #[test]
    fn chat_duration_is_between_one_hour_and_seven_days() {
        for (minutes, ok) in [
            (60, true),
            (10_080, true),
            (59, false),
            (10_081, false),
            (-1, false),
        ] {
            assert_eq!(ChatDuration::new(minutes).is_ok(), ok, "{minutes}");
        }
    }

    #[test]
    fn display_names_are_hidden_in_debug() {
        assert!(!format!("{:?}", DisplayName::parse("Ana").unwrap()).contains("Ana"));
    }
}
