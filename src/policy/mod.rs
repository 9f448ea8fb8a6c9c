//! What may be sent now: the send window in the recipient's local time, and the expiry that
//! comes before a deferred opening. Pure decisions over a validated chat and the time a
//! [`Clock`] gives; acting on them (sending, handing to a queue) is for others.

mod clock;
mod opening;
mod time_zone;
mod window;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::domain::{Category, Channel, OutboundChat, RecipientTimeZone};

pub use clock::{Clock, ManualClock, ShiftedClock, SystemClock};
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
