//! The do-not-contact list's rules: an entry covers one channel or all of them, and why a
//! request was suppressed.

use std::collections::BTreeSet;
use std::fmt;

use crate::domain::Channel;

/// What one do-not-contact entry covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListScope {
    All,
    Channel(Channel),
}

impl ListScope {
    /// `ALL`, `SMS` or `WHATSAPP`, in any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.eq_ignore_ascii_case("ALL") {
            return Ok(Self::All);
        }
        Channel::parse(raw)
            .map(Self::Channel)
            .map_err(|_| "must be SMS, WHATSAPP or ALL".to_owned())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Channel(channel) => channel.as_str(),
        }
    }
}

/// A recipient's do-not-contact entries; empty when the recipient is not listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing(BTreeSet<ListScope>);

impl Listing {
    /// The entries read back from the store; unknown names are ignored.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            names
                .into_iter()
                .filter_map(|name| ListScope::parse(name).ok())
                .collect(),
        )
    }

    /// Whether a message on `channel` is refused.
    pub fn covers(&self, channel: Channel) -> bool {
        self.0.contains(&ListScope::All) || self.0.contains(&ListScope::Channel(channel))
    }
}

/// Why a policy said no: final, never retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SuppressReason {
    DoNotContact,
    FrequencyCap,
}

impl SuppressReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoNotContact => "DO_NOT_CONTACT",
            Self::FrequencyCap => "FREQUENCY_CAP",
        }
    }
}

impl fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DoNotContact => "not sent: the recipient is on the do-not-contact list",
            Self::FrequencyCap => "not sent: the recipient's frequency cap is reached",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_for_all_channels_or_for_the_channel_refuses_the_message() {
        let cases: &[(&[&str], Channel, bool)] = &[
            (&[], Channel::Sms, false),
            (&["ALL"], Channel::Sms, true),
            (&["ALL"], Channel::WhatsApp, true),
            (&["SMS"], Channel::Sms, true),
            (&["SMS"], Channel::WhatsApp, false),
            (&["WHATSAPP"], Channel::WhatsApp, true),
            (&["VOICE"], Channel::Sms, false),
        ];
        for (names, channel, covered) in cases {
            let listing = Listing::from_names(names.iter().copied());
            assert_eq!(listing.covers(*channel), *covered, "{names:?} {channel:?}");
        }
    }

    #[test]
    fn a_scope_is_a_channel_or_all_and_nothing_else() {
        assert_eq!(ListScope::parse("all"), Ok(ListScope::All));
        assert_eq!(
            ListScope::parse("WhatsApp"),
            Ok(ListScope::Channel(Channel::WhatsApp))
        );
        assert!(ListScope::parse("email").is_err());
    }
}
