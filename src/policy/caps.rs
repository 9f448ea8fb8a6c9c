//! Frequency caps: rules like `1/24h,3/7d` (at most N messages per window), the scope they
//! count in (one channel, or every channel of the recipient together), the categories they
//! bind, and whether one more send fits.
//!
//! A rule `N/W` holds over every window of length W (a sliding window): a send at `now` fits
//! when fewer than N sends were taken in the W seconds before it (`now - W`, exclusive, to
//! `now`). So `1/24h` means never two within 24 hours, across midnight or not.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::{Category, Channel};

/// Most messages one rule may allow per window.
pub const MAX_COUNT: u32 = 1000;
/// Longest window, in hours (366 days).
pub const MAX_WINDOW_HOURS: u32 = 366 * 24;
/// Most rules a configuration may hold.
pub const MAX_RULES: usize = 10;

/// At most `count` messages per window of `window_hours`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapRule {
    count: u32,
    window_hours: u32,
}

impl CapRule {
    /// `N/Wh` or `N/Wd`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let shape = || format!("{raw:?} is not a rule like 1/24h or 3/7d (count/window in h or d)");
        let (count, window) = raw.trim().split_once('/').ok_or_else(shape)?;
        let count: u32 = count.trim().parse().map_err(|_| shape())?;
        let window = window.trim();
        let (amount, hours_per_unit) = match window.char_indices().last() {
            Some((at, 'h' | 'H')) => (&window[..at], 1),
            Some((at, 'd' | 'D')) => (&window[..at], 24),
            _ => return Err(shape()),
        };
        let amount: u32 = amount.parse().map_err(|_| shape())?;
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(format!("{raw:?}: the count must be 1 to {MAX_COUNT}"));
        }
        let window_hours = amount.saturating_mul(hours_per_unit);
        if !(1..=MAX_WINDOW_HOURS).contains(&window_hours) {
            return Err(format!("{raw:?}: the window must be 1h to 366d"));
        }
        Ok(Self {
            count,
            window_hours,
        })
    }

    fn seconds(self) -> i64 {
        i64::from(self.window_hours) * 3600
    }

    /// Whether one more send at `now` fits: fewer than `count` sends after `now - window`.
    pub fn has_room(self, sends: &Sends, now: i64) -> bool {
        let since = now - self.seconds();
        let counted = sends.values().filter(|at| **at > since).count();
        counted < self.count as usize
    }

    #[cfg(test)]
    pub fn count(self) -> u32 {
        self.count
    }

    #[cfg(test)]
    pub fn window_hours(self) -> u32 {
        self.window_hours
    }
}

/// One or more rules with distinct windows; a request must fit in every one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapRules(Vec<CapRule>);

impl CapRules {
    /// Comma-separated rules: `1/24h,3/7d`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rules = raw
            .split(',')
            .map(CapRule::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if rules.len() > MAX_RULES {
            return Err(format!("at most {MAX_RULES} rules, found {}", rules.len()));
        }
        let windows: BTreeSet<u32> = rules.iter().map(|r| r.window_hours).collect();
        if windows.len() != rules.len() {
            return Err("two rules have the same window: keep the stricter one".into());
        }
        Ok(Self(rules))
    }

    pub fn rules(&self) -> &[CapRule] {
        &self.0
    }
}

/// What a cap counts: one channel of a recipient, or all of them together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CapScope {
    #[default]
    Channel,
    Recipient,
}

impl CapScope {
    /// `channel` or `recipient`, in any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "channel" => Ok(Self::Channel),
            "recipient" => Ok(Self::Recipient),
            _ => Err("must be channel or recipient".into()),
        }
    }
}

/// The caps as configured: the rules, their scope, and the categories they bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapPolicy {
    pub rules: CapRules,
    pub scope: CapScope,
    pub categories: BTreeSet<Category>,
}

/// Where a capped request is counted: with the recipient's other messages on its channel, or
/// with every message to the recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CountedIn {
    Channel(Channel),
    AllChannels,
}

impl CountedIn {
    /// `SMS`, `WHATSAPP` or `ALL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Channel(channel) => channel.as_str(),
            Self::AllChannels => "ALL",
        }
    }
}

/// The places taken in one count: the mark of each request holding one (see
/// [`holder_of`](super::holder_of)) and when it took it (Unix seconds).
pub type Sends = BTreeMap<String, i64>;

/// What a request found in its count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Its own mark was there already: an earlier delivery of the same request took the place.
    Found,
    /// It fitted in every rule: its mark is added.
    Taken,
    /// A rule is full: nothing added.
    Full,
}

impl CapPolicy {
    /// Parses the category list of `FREQUENCY_CAP_CATEGORIES`: comma-separated, at least one.
    pub fn parse_categories(raw: &str) -> Result<BTreeSet<Category>, String> {
        raw.split(',')
            .map(|c| Category::parse(c.trim()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|_| "must list TRANSACTIONAL and/or PROMOTIONAL, comma-separated".into())
    }

    /// Where a message of `category` on `channel` is counted; `None` when the caps do not bind
    /// the category.
    pub fn counted_in(&self, channel: Channel, category: Category) -> Option<CountedIn> {
        self.categories
            .contains(&category)
            .then_some(match self.scope {
                CapScope::Channel => CountedIn::Channel(channel),
                CapScope::Recipient => CountedIn::AllChannels,
            })
    }

    /// The longest window, in seconds: a send older than that counts in no rule.
    pub fn longest_window(&self) -> i64 {
        self.rules
            .rules()
            .iter()
            .map(|rule| rule.seconds())
            .max()
            .unwrap_or(0)
    }

    /// Drops the sends no rule counts any more at `now`.
    pub fn prune(&self, sends: &mut Sends, now: i64) {
        let since = now - self.longest_window();
        sends.retain(|_, at| *at > since);
    }

    /// Takes a place for `holder` at `now` if every rule has room over the window that ends
    /// now, or finds the place it took before (a redelivery). Prunes what no rule counts.
    pub fn admit(&self, sends: &mut Sends, holder: &str, now: i64) -> Admission {
        self.prune(sends, now);
        if sends.contains_key(holder) {
            return Admission::Found;
        }
        if self
            .rules
            .rules()
            .iter()
            .all(|rule| rule.has_room(sends, now))
        {
            sends.insert(holder.to_owned(), now);
            Admission::Taken
        } else {
            Admission::Full
        }
    }

    /// When nothing of `sends` counts any more (Unix seconds); `now` for no sends.
    pub fn expires_at(&self, sends: &Sends, now: i64) -> i64 {
        sends
            .values()
            .max()
            .map_or(now, |newest| newest + self.longest_window())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_a_count_and_a_window_within_their_bounds() {
        let cases: &[(&str, Option<(u32, u32)>)] = &[
            ("1/24h", Some((1, 24))),
            ("3/7d", Some((3, 168))),
            (" 2 / 1D ", Some((2, 24))),
            ("1/1h", Some((1, 1))),
            ("1/0h", None),
            ("1000/1h", Some((1000, 1))),
            ("1001/1h", None),
            ("0/1h", None),
            ("1/366d", Some((1, 8784))),
            ("1/367d", None),
            ("1/24", None),
            ("1/24m", None),
            ("one/24h", None),
            ("1-24h", None),
            ("-1/24h", None),
        ];
        for (raw, expected) in cases {
            let parsed = CapRule::parse(raw)
                .ok()
                .map(|r| (r.count(), r.window_hours()));
            assert_eq!(parsed, *expected, "{raw}");
        }
    }

    #[test]
    fn rules_are_a_comma_list_with_distinct_windows_and_at_most_ten() {
        assert_eq!(CapRules::parse("1/24h,3/7d").unwrap().rules().len(), 2);
        assert!(CapRules::parse("1/24h,2/1d").is_err());
        assert!(CapRules::parse("1/24h,").is_err());
        let ten: Vec<String> = (1..=10).map(|h| format!("1/{h}h")).collect();
        assert!(CapRules::parse(&ten.join(",")).is_ok());
        let eleven: Vec<String> = (1..=11).map(|h| format!("1/{h}h")).collect();
        assert!(CapRules::parse(&eleven.join(",")).is_err());
    }

    #[test]
    fn the_scope_is_channel_or_recipient() {
        assert_eq!(CapScope::parse("Channel"), Ok(CapScope::Channel));
        assert_eq!(CapScope::parse("recipient"), Ok(CapScope::Recipient));
        assert!(CapScope::parse("account").is_err());
    }

    fn policy(scope: CapScope) -> CapPolicy {
        CapPolicy {
            rules: CapRules::parse("1/24h,3/7d").unwrap(),
            scope,
            categories: CapPolicy::parse_categories("PROMOTIONAL").unwrap(),
        }
    }

    #[test]
    fn caps_bind_only_the_configured_categories_counted_by_channel_or_together() {
        let by_channel = policy(CapScope::Channel);
        let cases = [
            (
                Category::Promotional,
                CapScope::Channel,
                Some(CountedIn::Channel(Channel::Sms)),
            ),
            (
                Category::Promotional,
                CapScope::Recipient,
                Some(CountedIn::AllChannels),
            ),
            (Category::Transactional, CapScope::Channel, None),
        ];
        for (category, scope, expected) in cases {
            let caps = CapPolicy {
                scope,
                ..by_channel.clone()
            };
            assert_eq!(
                caps.counted_in(Channel::Sms, category),
                expected,
                "{category:?} {scope:?}"
            );
        }
        assert_eq!(CountedIn::AllChannels.as_str(), "ALL");
        assert!(CapPolicy::parse_categories("PROMOTIONAL, transactional").is_ok());
        assert!(CapPolicy::parse_categories("MARKETING").is_err());
    }

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn sends(at: &[(&str, i64)]) -> Sends {
        at.iter().map(|(h, t)| ((*h).to_owned(), *t)).collect()
    }

    /// What a request marked `me` finds at `now` in `earlier`, and that its mark is added only
    /// when it takes a place.
    fn admission(rules: &str, earlier: &[(&str, i64)], now: i64) -> Admission {
        let caps = CapPolicy {
            rules: CapRules::parse(rules).unwrap(),
            ..policy(CapScope::Channel)
        };
        let mut counted = sends(earlier);
        let admission = caps.admit(&mut counted, "me", now);
        assert_eq!(
            counted.get("me") == Some(&now),
            admission == Admission::Taken,
            "{rules} at {now}: the mark is added only when taken"
        );
        admission
    }

    #[test]
    fn a_rule_holds_over_every_window_of_its_length_not_over_calendar_buckets() {
        // Midnight UTC of 2026-11-30, and of Thursday 2026-12-03, where 7-day buckets counted
        // from 1970-01-01 turn (20 790 days, a multiple of 7).
        let midnight = 20_787 * DAY;
        let week_edge = 20_790 * DAY;
        assert_eq!(week_edge % (7 * DAY), 0);
        let before_midnight = [("a", midnight - 60)];
        let before_edge = [("a", week_edge - HOUR)];
        // (rule, earlier sends, now, what the request finds)
        let cases = [
            ("1/24h", &before_midnight, midnight + 60, Admission::Full),
            (
                "1/24h",
                &before_midnight,
                midnight - 60 + DAY - 1,
                Admission::Full,
            ),
            (
                "1/24h",
                &before_midnight,
                midnight - 60 + DAY,
                Admission::Taken,
            ),
            ("1/7d", &before_edge, week_edge + HOUR, Admission::Full),
            (
                "1/7d",
                &before_edge,
                week_edge - HOUR + 7 * DAY - 1,
                Admission::Full,
            ),
            (
                "1/7d",
                &before_edge,
                week_edge - HOUR + 7 * DAY,
                Admission::Taken,
            ),
        ];
        for (rules, earlier, now, expected) in cases {
            assert_eq!(admission(rules, earlier, now), expected, "{rules} at {now}");
        }
    }

    #[test]
    fn a_request_must_fit_every_rule_and_a_redelivery_finds_its_own_place() {
        let (one, two) = ([("a", DAY)], [("a", DAY), ("b", DAY + 1)]);
        let week = [("a", 0), ("b", DAY), ("c", 2 * DAY)];
        let mine = [("me", DAY)];
        // (rules, earlier sends, now, what the request finds)
        type Case<'a> = (&'a str, &'a [(&'a str, i64)], i64, Admission);
        let cases: [Case<'_>; 6] = [
            ("2/24h", &one, DAY + 1, Admission::Taken),
            ("2/24h", &two, DAY + 2, Admission::Full),
            ("1/24h,3/7d", &week, 3 * DAY, Admission::Full),
            ("1/24h,3/7d", &week, 7 * DAY, Admission::Taken),
            ("1/24h", &mine, DAY + 60, Admission::Found),
            ("1/1h", &mine, DAY + HOUR, Admission::Taken),
        ];
        for (rules, earlier, now, expected) in cases {
            assert_eq!(admission(rules, earlier, now), expected, "{rules} at {now}");
        }
    }

    #[test]
    fn what_no_rule_counts_is_pruned_and_the_item_expires_with_its_newest_send() {
        let caps = policy(CapScope::Channel); // 1/24h,3/7d: the longest window is 7 days
        let mut counted = sends(&[("old", 0), ("edge", DAY), ("new", 7 * DAY)]);
        caps.prune(&mut counted, 8 * DAY);
        assert_eq!(
            counted,
            sends(&[("new", 7 * DAY)]),
            "a send at now - 7d is out"
        );
        assert_eq!(caps.expires_at(&counted, 8 * DAY), 14 * DAY);
        assert_eq!(caps.expires_at(&Sends::new(), 5), 5);
    }
}
