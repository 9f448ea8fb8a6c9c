//! Frequency caps: rules like `1/24h,3/7d` (at most N messages per window), the scope they
//! count in (one channel, or every channel of the recipient together), the categories they
//! bind, and the counters a request must take a place in.
//!
//! A window is a fixed bucket aligned on the Unix epoch (`24h` and `1d`: UTC days; `7d`: the
//! weeks counted from 1970-01-01): one counter per bucket takes one conditional write, where a
//! sliding window would need a read first.

use std::collections::BTreeSet;

use crate::domain::{Category, Channel};

/// Most messages one rule may allow per window.
pub const MAX_COUNT: u32 = 1000;
/// Longest window, in hours (366 days).
pub const MAX_WINDOW_HOURS: u32 = 366 * 24;
/// Most rules: each is one item of the reservation's transaction.
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

/// One counter a request must take a place in: a rule's bucket, for one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapCounter {
    /// The channel counted, or `None` for every channel of the recipient.
    pub channel: Option<Channel>,
    pub window_hours: u32,
    /// The bucket's index: whole windows since the Unix epoch.
    pub bucket: i64,
    /// Most places the counter holds.
    pub limit: u32,
    /// When the bucket ends (Unix seconds): the counter is spent after it.
    pub ends_at: i64,
}

impl CapPolicy {
    /// Parses the category list of `FREQUENCY_CAP_CATEGORIES`: comma-separated, at least one.
    pub fn parse_categories(raw: &str) -> Result<BTreeSet<Category>, String> {
        raw.split(',')
            .map(|c| Category::parse(c.trim()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|_| "must list TRANSACTIONAL and/or PROMOTIONAL, comma-separated".into())
    }

    /// The counters a message of `category` on `channel` sent at `now` (Unix seconds) must
    /// take a place in; none when the caps do not bind the category.
    pub fn counters(&self, channel: Channel, category: Category, now: i64) -> Vec<CapCounter> {
        if !self.categories.contains(&category) {
            return Vec::new();
        }
        let channel = match self.scope {
            CapScope::Channel => Some(channel),
            CapScope::Recipient => None,
        };
        self.rules
            .rules()
            .iter()
            .map(|rule| {
                let seconds = i64::from(rule.window_hours) * 3600;
                let bucket = now.div_euclid(seconds);
                CapCounter {
                    channel,
                    window_hours: rule.window_hours,
                    bucket,
                    limit: rule.count,
                    ends_at: (bucket + 1) * seconds,
                }
            })
            .collect()
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
    fn caps_bind_only_the_configured_categories() {
        let caps = policy(CapScope::Channel);
        assert_eq!(
            caps.counters(Channel::Sms, Category::Promotional, 0).len(),
            2
        );
        assert!(
            caps.counters(Channel::Sms, Category::Transactional, 0)
                .is_empty()
        );
        assert!(CapPolicy::parse_categories("PROMOTIONAL, transactional").is_ok());
        assert!(CapPolicy::parse_categories("MARKETING").is_err());
    }

    #[test]
    fn a_counter_is_the_epoch_aligned_bucket_of_its_window_and_scope() {
        let day = 86_400;
        let last_second_of_day_two = 2 * day - 1;
        for (now, bucket) in [(0, 0), (day - 1, 0), (day, 1), (last_second_of_day_two, 1)] {
            let counters =
                policy(CapScope::Channel).counters(Channel::Sms, Category::Promotional, now);
            assert_eq!(counters[0].bucket, bucket, "{now}");
            assert_eq!(counters[0].ends_at, (bucket + 1) * day);
            assert_eq!(counters[0].channel, Some(Channel::Sms));
            assert_eq!((counters[1].window_hours, counters[1].limit), (168, 3));
        }
        let across =
            policy(CapScope::Recipient).counters(Channel::WhatsApp, Category::Promotional, 0);
        assert_eq!(across[0].channel, None);
    }
}
