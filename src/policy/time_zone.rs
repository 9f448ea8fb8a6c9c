//! The time zones a phone number may be in, from libphonenumber's phone-prefix → time-zone map
//! (`data/libphonenumber-timezones.txt`, bundled into the binary), by longest-prefix match.

use std::sync::OnceLock;

use jiff::tz::TimeZone;

/// libphonenumber's `resources/timezones/map_data.txt`, release v9.0.35 (Apache-2.0).
const MAP_DATA: &str = include_str!("../../data/libphonenumber-timezones.txt");

/// Prefixes (country code and leading digits, no `+`) sorted, each with its zone names.
struct PrefixTable {
    entries: Vec<(&'static str, Vec<&'static str>)>,
}

impl PrefixTable {
    /// Reads `prefix|Zone&Zone` lines, skipping comments and blanks. The data is bundled and
    /// checked by the tests, so a line that does not read is a build mistake, not input.
    fn parse(data: &'static str) -> Self {
        let mut entries: Vec<(&str, Vec<&str>)> = data
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('|'))
            .map(|(prefix, zones)| (prefix, zones.split('&').collect()))
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Self { entries }
    }

    /// The zone names of the longest prefix of `digits` in the table.
    fn lookup(&self, digits: &str) -> Option<&[&'static str]> {
        (1..=digits.len()).rev().find_map(|len| {
            let prefix = &digits[..len];
            self.entries
                .binary_search_by(|(p, _)| (*p).cmp(prefix))
                .ok()
                .map(|at| self.entries[at].1.as_slice())
        })
    }
}

fn table() -> &'static PrefixTable {
    static TABLE: OnceLock<PrefixTable> = OnceLock::new();
    TABLE.get_or_init(|| PrefixTable::parse(MAP_DATA))
}

/// The zones of an E.164 number (`+` and digits). Empty when the map knows none, or knows
/// only names the bundled tz database lacks.
pub fn zones_of_number(e164: &str) -> Vec<TimeZone> {
    let digits = e164.trim_start_matches('+');
    table()
        .lookup(digits)
        .unwrap_or_default()
        .iter()
        .filter_map(|name| jiff::tz::db().get(name).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(e164: &str) -> Vec<String> {
        zones_of_number(e164)
            .iter()
            .map(|tz| tz.iana_name().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn known_numbers_map_to_their_zones() {
        let cases: &[(&str, &[&str])] = &[
            ("+12125550100", &["America/New_York"]),
            ("+12135550100", &["America/Los_Angeles"]),
            ("+14255550100", &["America/Los_Angeles"]),
            ("+442079460000", &["Europe/London"]),
            (
                "+447700900000",
                &["Europe/Guernsey", "Europe/Isle_of_Man", "Europe/London"],
            ),
            ("+61255550100", &["Australia/Sydney"]),
            ("+19075550100", &["America/Adak", "America/Anchorage"]),
        ];
        for (number, zones) in cases {
            assert_eq!(names(number), *zones, "{number}");
        }
    }

    #[test]
    fn a_prefix_the_map_spans_several_zones_gives_every_one() {
        // +1 800 is toll-free: the whole North American plan, from Honolulu to St John's.
        let zones = names("+18005550100");
        assert!(zones.len() > 20, "{zones:?}");
        for zone in ["America/New_York", "Pacific/Honolulu", "America/St_Johns"] {
            assert!(zones.iter().any(|z| z == zone), "{zone} in {zones:?}");
        }
    }

    #[test]
    fn every_zone_named_in_the_map_is_in_the_bundled_tz_database() {
        let missing: Vec<&str> = table()
            .entries
            .iter()
            .flat_map(|(_, zones)| zones.iter().copied())
            .filter(|name| jiff::tz::db().get(name).is_err())
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn a_number_the_map_does_not_know_has_no_zone() {
        assert!(names("+999").is_empty());
    }
}
