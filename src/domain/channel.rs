//! The messaging channel of an outbound chat, and how Connect names it (`connect:Subtype`).

/// The key that carries the channel in `SegmentAttributes`.
pub const SUBTYPE_KEY: &str = "connect:Subtype";

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
}
