//! Who a recipient is at rest: the HMAC-SHA256 of the E.164 number under a secret key, so that
//! no phone number is ever stored, and the hash of a client token that marks a reservation.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::domain::DestinationNumber;

/// Fewest bytes a recipient hash key may have: as many as the hash's output.
pub const MIN_KEY_BYTES: usize = 32;

/// The secret key of the recipient hash. Its `Debug` never shows it.
#[derive(Clone)]
pub struct RecipientKey(Vec<u8>);

impl RecipientKey {
    /// Reads a base64 key (standard alphabet, padding optional) of at least 32 bytes.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(raw))
            .map_err(|_| "must be base64 (standard alphabet)".to_owned())?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "must decode to at least {MIN_KEY_BYTES} bytes, found {}",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    /// The recipient's keyed hash.
    pub fn recipient(&self, number: &DestinationNumber) -> RecipientId {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(number.e164().as_bytes());
        RecipientId(hex(&mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecipientKey(<secret>)")
    }
}

/// A recipient as stored: 64 lowercase hex characters of HMAC-SHA256. Not a secret, but not
/// logged either: with the key it would confirm a guessed number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecipientId(String);

impl RecipientId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored id read back; `None` if it is not one this function writes.
    pub fn from_stored(raw: &str) -> Option<Self> {
        (raw.len() == 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Self(raw.to_owned()))
    }
}

/// The mark a reservation leaves in its count: the first 128 bits of the SHA-256 of its client
/// token, in hex. The same request redelivered leaves the same mark, so it is counted once.
pub fn holder_of(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes())[..16])
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bytes: &[u8]) -> RecipientKey {
        RecipientKey::parse(&base64::engine::general_purpose::STANDARD.encode(bytes)).unwrap()
    }

    #[test]
    fn the_recipient_id_is_the_hmac_sha256_of_the_e164_number() {
        // Computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'k'*32, b'+14255550100', hashlib.sha256).hexdigest())"
        let number = DestinationNumber::parse("+1 425-555-0100").unwrap();
        assert_eq!(
            key(&[b'k'; 32]).recipient(&number).as_str(),
            "d1021b7878d7ddc49b1de00defe379f0a25a1954b4fb246cb02451d4fda93451"
        );
    }

    #[test]
    fn another_key_gives_another_id_for_the_same_number() {
        let number = DestinationNumber::parse("+14255550100").unwrap();
        assert_ne!(
            key(&[1; 32]).recipient(&number),
            key(&[2; 32]).recipient(&number)
        );
    }

    #[test]
    fn a_key_needs_base64_and_at_least_32_bytes() {
        let encode = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
        for (raw, accepted) in [
            (encode(32), true),
            (encode(31), false),
            (encode(48).trim_end_matches('=').to_owned(), true),
            ("not base64!".to_owned(), false),
            ("A".repeat(64), true),
        ] {
            assert_eq!(RecipientKey::parse(&raw).is_ok(), accepted, "{raw}");
        }
    }

    #[test]
    fn the_key_is_never_shown() {
        assert_eq!(format!("{:?}", key(&[9; 32])), "RecipientKey(<secret>)");
    }

    #[test]
    fn a_holder_mark_is_stable_and_32_hex_characters() {
        assert_eq!(holder_of("t-1"), holder_of("t-1"));
        assert_ne!(holder_of("t-1"), holder_of("t-2"));
        assert_eq!(holder_of("t-1").len(), 32);
    }
}
