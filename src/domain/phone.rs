//! Phone numbers: the customer's E.164 destination (always masked when shown) and the
//! Connect phone-number ARN the message is sent from.

use std::fmt;

use super::arn::parse_arn;

/// A customer's phone number in E.164 form (`+` then 2 to 15 digits, no leading zero).
///
/// It is personal data: `Display` and `Debug` show it masked (all but the last two digits), so
/// it cannot leak into a log line or an error message by accident. Only the Connect adapter
/// reads the full number, through [`DestinationNumber::e164`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DestinationNumber(String);

impl DestinationNumber {
    /// Parses a number after stripping the visual separators people type (spaces, `-`, `.`,
    /// `(`, `)`). The error sentence never repeats the number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
            .collect();
        let Some(digits) = compact.strip_prefix('+') else {
            return Err("must be an E.164 number starting with `+` and the country code".into());
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(
                "must contain only digits after the `+` (separators allowed: space - . ( ))".into(),
            );
        }
        if digits.starts_with('0') {
            return Err("the country code cannot start with 0".into());
        }
        if !(2..=15).contains(&digits.len()) {
            return Err(format!(
                "must have 2 to 15 digits after the `+`, found {}",
                digits.len()
            ));
        }
        Ok(Self(compact))
    }

    /// The full number, for the request to Connect only.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The number with every digit but the last two replaced by `*`: `+**********00`.
    pub fn masked(&self) -> String {
        mask_digits(&self.0)
    }
}

impl fmt::Display for DestinationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for DestinationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DestinationNumber({})", self.masked())
    }
}

/// Masks every digit of `number` except the last two.
fn mask_digits(number: &str) -> String {
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    number
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + 2 <= digits { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

/// Masks anything that looks like a phone number (a run of seven or more digits, with an
/// optional `+`) in text that did not come from us: an error message from Connect or from the
/// JSON parser may quote the caller's input, and that input may hold a phone number.
pub fn redact_phone_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 7 {
            out.push_str(&mask_digits(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '+' && run.is_empty()) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The Amazon Connect phone-number ARN a message is sent from:
/// `arn:<partition>:connect:<region>:<account>:phone-number/<id>`.
///
/// The legacy form with `instance/<id>/` in the path is refused: the API reference says to
/// use the phone-number form, and an imported WhatsApp number only has that form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneNumberArn(String);

impl PhoneNumberArn {
    /// At most 256 characters; a well-formed ARN (see [`parse_arn`]) of the `connect` service
    /// with a region, a 12-digit account, and the resource `phone-number/ID`, ID being letters,
    /// digits, `-` and `_`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        const SHAPE: &str = "must be a Connect phone-number ARN: arn:<partition>:connect:<region>:<account>:phone-number/<id>";
        if raw.chars().count() > 256 {
            return Err("must be at most 256 characters".into());
        }
        let Some(parts) = parse_arn(raw) else {
            return Err(SHAPE.into());
        };
        if parts.service != "connect" || parts.region.is_empty() || parts.account.is_empty() {
            return Err(SHAPE.into());
        }
        if parts.resource.starts_with("instance/") {
            return Err(format!(
                "{SHAPE} (the legacy instance/<id>/phone-number form is not accepted)"
            ));
        }
        let id_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        match parts.resource.strip_prefix("phone-number/") {
            Some(id) if !id.is_empty() && id.chars().all(id_char) => Ok(Self(raw.to_owned())),
            _ => Err(SHAPE.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_numbers_follow_e164_after_separators_are_stripped() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+14255550100", Some("+14255550100")),
            ("+1 (425) 555-0100", Some("+14255550100")),
            ("+44.20.7946.0958", Some("+442079460958")),
            ("+12", Some("+12")),
            ("+123456789012345", Some("+123456789012345")),
            ("14255550100", None),
            ("+1", None),
            ("+1234567890123456", None),
            ("+04255550100", None),
            ("+1425555010a", None),
            ("+", None),
            ("", None),
            ("++14255550100", None),
        ];
        for (raw, expected) in cases {
            let parsed = DestinationNumber::parse(raw);
            assert_eq!(
                parsed.as_ref().ok().map(DestinationNumber::e164),
                *expected,
                "{raw:?}: {parsed:?}"
            );
        }
    }

    #[test]
    fn a_destination_number_is_masked_in_display_and_debug() {
        let number = DestinationNumber::parse("+14255550100").unwrap();
        assert_eq!(number.to_string(), "+*********00");
        assert!(!format!("{number:?}").contains("4255550"));
    }

    #[test]
    fn an_invalid_number_error_does_not_repeat_the_number() {
        let err = DestinationNumber::parse("14255550100").unwrap_err();
        assert!(!err.contains("4255550100"), "{err}");
    }

    #[test]
    fn phone_numbers_in_foreign_text_are_redacted() {
        assert_eq!(
            redact_phone_numbers("bad number +14255550100 here"),
            "bad number +*********00 here"
        );
        assert_eq!(
            redact_phone_numbers("code 400, 12 items"),
            "code 400, 12 items"
        );
        assert_eq!(redact_phone_numbers("4255550100"), "********00");
    }

    #[test]
    fn phone_number_arns_must_use_the_phone_number_form() {
        let cases: &[(&str, bool)] = &[
            (
                "arn:aws:connect:us-east-1:123456789012:phone-number/0b6b3f0e-1e2d-4b7a-9f3c-5a6b7c8d9e0f",
                true,
            ),
            (
                "arn:aws-us-gov:connect:us-gov-west-1:123456789012:phone-number/abc",
                true,
            ),
            (
                "arn:aws:connect:us-east-1:123456789012:instance/abc/phone-number/def",
                false,
            ),
            ("arn:aws:sns:us-east-1:123456789012:phone-number/abc", false),
            ("arn:aws:connect:us-east-1:1234:phone-number/abc", false),
            (
                "arn:aws:connect:us-east-1:123456789012:phone-number/a_b-9",
                true,
            ),
            (
                "arn:aws:connect:us-east-1:123456789012:phone-number/a.b",
                false,
            ),
            ("arn:aws:connect::123456789012:phone-number/abc", false),
            (
                "arn:gcp:connect:us-east-1:123456789012:phone-number/abc",
                false,
            ),
            (
                "arn:aws-cn:connect:cn-north-1:123456789012:phone-number/abc",
                true,
            ),
            (
                "arn:aws:connect:us-east-1:123456789012:phone-number/",
                false,
            ),
            ("+14255550100", false),
            ("", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(PhoneNumberArn::parse(raw).is_ok(), *ok, "{raw}");
        }
        let long = format!(
            "arn:aws:connect:us-east-1:123456789012:phone-number/{}",
            "a".repeat(250)
        );
        assert!(PhoneNumberArn::parse(&long).is_err());
    }
}
