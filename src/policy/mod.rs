//! What may be sent now, decided without any I/O: the send window in the recipient's local
//! time and the expiry that comes before a deferred opening; the recipient's keyed hash, the
//! do-not-contact list's scopes, and the frequency caps a request must fit in. Pure decisions
//! over a validated chat and the time a [`Clock`] gives; acting on them (sending, handing to a
//! queue, reserving in the state table) is for others.

mod caps;
mod clock;
mod opening;
mod recipient;
mod suppression;
mod time_zone;
mod window;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::domain::{Category, Channel, OutboundChat, RecipientTimeZone};

pub use caps::{Admission, CapPolicy, CapRules, CapScope, CountedIn, Sends};
pub use clock::{Clock, ManualClock, ShiftedClock, SystemClock};
pub use recipient::{RecipientId, RecipientKey, holder_of};
pub use suppression::{ListScope, Listing, SuppressReason};
pub use window::SendWindow;

/// The configured send windows and what they bind.
#[derive(Clone, Debug)]
pub struct WindowPolicy {
    /// The window of each channel (SMS, WhatsApp); `None`: that channel has none.
    pub sms: Option<SendWindow>,
    pub whatsapp: Option<SendWindow>,
    /// The categories the windows bind.
    pub categories: Vec<Category>,
    /// The category of a request that names none.
    pub default_category: Category,
    /// The zone used when neither the request nor its number gives one.
    pub default_time_zone: Option<RecipientTimeZone>,
}

/// What the window says about one request now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Inside the window, or not bound by one.
    SendNow,
    /// Outside the window: hold it until `not_before`.
    Defer { not_before: Timestamp },
    /// Its `expiresAt` comes before the window opens.
    ExpiresFirst,
    /// It can never be placed in a window.
    Refused(Refusal),
}

/// Why a request can never be placed in its window.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the recipient's time zone is unknown: the number's prefix names no time zone and no default is set; give the request a timeZone (an IANA name such as America/New_York) or set DEFAULT_TIME_ZONE"
    )]
    NoTimeZone,
    #[error(
        "the send window never opens in all of the {zones} time zones the number may be in at once; give the request a timeZone (an IANA name) to name the recipient's own"
    )]
    WindowsNeverMeet { zones: usize },
}

impl Refusal {
    /// The documented code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoTimeZone => "TIME_ZONE_UNKNOWN",
            Self::WindowsNeverMeet { .. } => "SEND_WINDOW_NEVER_OPEN",
        }
    }
}

impl WindowPolicy {
    /// Whether `chat` may be sent at `now`, and if not, until when it waits.
    pub fn decide(&self, chat: &OutboundChat, now: Timestamp) -> Verdict {
        let window = match chat.channel() {
            Channel::Sms => self.sms.as_ref(),
            Channel::WhatsApp => self.whatsapp.as_ref(),
        };
        let category = chat.category().unwrap_or(self.default_category);
        let Some(window) = window.filter(|_| self.categories.contains(&category)) else {
            return Verdict::SendNow;
        };
        let zones = self.zones_of(chat);
        if zones.is_empty() {
            return Verdict::Refused(Refusal::NoTimeZone);
        }
        match opening::next_opening(window, &zones, now) {
            None => Verdict::Refused(Refusal::WindowsNeverMeet { zones: zones.len() }),
            Some(at) if at <= now => Verdict::SendNow,
            Some(at) if expires_by(chat, at) => Verdict::ExpiresFirst,
            Some(at) => Verdict::Defer { not_before: at },
        }
    }

    /// The recipient's zones: the request's own, else its number's, else the default.
    fn zones_of(&self, chat: &OutboundChat) -> Vec<TimeZone> {
        if let Some(zone) = chat.time_zone() {
            return vec![zone.zone().clone()];
        }
        let zones = time_zone::zones_of_number(chat.destination().e164());
        if !zones.is_empty() {
            return zones;
        }
        self.default_time_zone
            .iter()
            .map(|zone| zone.zone().clone())
            .collect()
    }
}

/// Whether the chat's `expiresAt` is at or before `at`.
fn expires_by(chat: &OutboundChat, at: Timestamp) -> bool {
    chat.expires_at().is_some_and(|expires| {
        Timestamp::from_nanosecond(expires.unix_timestamp_nanos()).is_ok_and(|e| e <= at)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::config::Config;
    use crate::intake::Intake;

    fn chat(request: Value) -> OutboundChat {
        let config = Config::from_lookup(|name| {
            connect_simulator::sample::FUNCTION_VARIABLES
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.to_string())
        })
        .unwrap();
        Intake::from_config(&config)
            .admit_value(request, None)
            .unwrap()
    }

    fn policy(window: &str, categories: &[Category]) -> WindowPolicy {
        WindowPolicy {
            sms: SendWindow::parse(window).ok(),
            whatsapp: None,
            categories: categories.to_vec(),
            default_category: Category::Transactional,
            default_time_zone: None,
        }
    }

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().unwrap()
    }

    const ALL: &[Category] = &[Category::Transactional, Category::Promotional];

    #[test]
    fn a_number_in_several_zones_waits_for_the_window_in_the_latest_of_them() {
        // +1 907 (Alaska) is America/Anchorage (UTC-9) or America/Adak (UTC-10) in November:
        // 08:00 in Anchorage is 07:00 in Adak, so the window opens at 08:00 in Adak.
        let policy = policy("Mon-Fri 08:00-21:00", ALL);
        let request = chat(json!({"to": "+19075550100"}));
        assert_eq!(
            policy.decide(&request, at("2026-11-30T17:00:00Z")),
            Verdict::Defer {
                not_before: at("2026-11-30T18:00:00Z")
            }
        );
        assert_eq!(
            policy.decide(&request, at("2026-11-30T18:00:00Z")),
            Verdict::SendNow
        );
    }

    #[test]
    fn the_window_binds_only_its_categories_with_the_default_category_filling_in() {
        let night = at("2026-11-30T11:00:00Z"); // 03:00 in Los Angeles
        let promotional_only = policy("Mon-Fri 08:00-21:00", &[Category::Promotional]);
        let cases = [
            (
                json!({"to": "+14255550100"}),
                Category::Transactional,
                false,
            ),
            (json!({"to": "+14255550100"}), Category::Promotional, true),
            (
                json!({"to": "+14255550100", "category": "PROMOTIONAL"}),
                Category::Transactional,
                true,
            ),
            (
                json!({"to": "+14255550100", "category": "transactional"}),
                Category::Promotional,
                false,
            ),
        ];
        for (request, default_category, held) in cases {
            let policy = WindowPolicy {
                default_category,
                ..promotional_only.clone()
            };
            let verdict = policy.decide(&chat(request.clone()), night);
            assert_eq!(
                verdict != Verdict::SendNow,
                held,
                "{request} {default_category:?}"
            );
        }
    }

    #[test]
    fn a_request_the_window_can_never_hold_is_refused_and_one_without_a_zone_says_how_to_fix_it() {
        // +1 800 may be anywhere from Honolulu to St John's: one hour a week never holds in all.
        let monday = at("2026-11-30T15:00:00Z");
        let narrow = policy("Mon 09:00-10:00", ALL);
        let verdict = narrow.decide(&chat(json!({"to": "+18005550100"})), monday);
        assert!(
            matches!(verdict, Verdict::Refused(Refusal::WindowsNeverMeet { zones }) if zones > 20),
            "{verdict:?}"
        );
        // +800 (international freephone) names no zone; a default fills in.
        let unknown = chat(json!({"to": "+80012345678"}));
        let mut wide = policy("Mon-Sun 00:00-24:00", ALL);
        let refused = wide.decide(&unknown, monday);
        assert_eq!(refused, Verdict::Refused(Refusal::NoTimeZone));
        assert!(
            Refusal::NoTimeZone
                .to_string()
                .contains("DEFAULT_TIME_ZONE")
        );
        wide.default_time_zone = RecipientTimeZone::parse("Europe/Paris").ok();
        assert_eq!(wide.decide(&unknown, monday), Verdict::SendNow);
    }

    #[test]
    fn a_channel_without_a_window_is_never_held() {
        let policy = policy("Mon-Fri 08:00-21:00", ALL);
        let whatsapp = chat(json!({"to": "+14255550100", "channel": "WHATSAPP",
            "template": {"knowledgeBaseId": "kb", "messageTemplateId": "t"}}));
        assert_eq!(
            policy.decide(&whatsapp, at("2026-11-30T11:00:00Z")),
            Verdict::SendNow
        );
    }
}
