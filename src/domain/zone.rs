//! The recipient's time zone as a request names it (`timeZone`): an IANA name the bundled tz
//! database knows, kept with its rules.

use std::fmt;

use jiff::tz::TimeZone;

/// A known IANA time zone, such as `America/New_York`.
#[derive(Clone)]
pub struct RecipientTimeZone {
    name: String,
    zone: TimeZone,
}

impl RecipientTimeZone {
    /// An IANA zone name, looked up in the bundled tz database (names are matched without
    /// regard to case, as the database does; the canonical spelling is kept).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let zone = jiff::tz::db().get(raw.trim()).map_err(|_| {
            "must be an IANA time zone name such as America/New_York or Europe/London".to_string()
        })?;
        let name = zone.iana_name().unwrap_or(raw.trim()).to_owned();
        Ok(Self { name, zone })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The zone's rules (offsets and daylight saving time).
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl PartialEq for RecipientTimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for RecipientTimeZone {}

impl fmt::Debug for RecipientTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RecipientTimeZone")
            .field(&self.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_iana_name_is_accepted_and_anything_else_refused() {
        let cases = [
            ("America/New_York", Some("America/New_York")),
            ("europe/london", Some("Europe/London")),
            ("UTC", Some("UTC")),
            ("America/Springfield", None),
            ("EST5EDT/x", None),
            ("", None),
        ];
        for (raw, canonical) in cases {
            let parsed = RecipientTimeZone::parse(raw).ok();
            assert_eq!(
                parsed.as_ref().map(RecipientTimeZone::as_str),
                canonical,
                "{raw:?}"
            );
        }
    }
}
