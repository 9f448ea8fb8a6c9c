//! SMS cost: the encoding a text needs (GSM-7 or UCS-2) and the number of parts
//! (segments) a carrier bills for it, plus an optional "smart encoding" pass that
//! swaps typographic look-alikes for GSM-7 characters so a message stays cheap.
//!
//! Why this matters: one character outside the GSM 03.38 alphabet (a curly quote
//! pasted from a word processor, an emoji, a `ç`) switches the *whole* message to
//! UCS-2, which cuts a segment from 160 characters to 70, so the same text can
//! cost two or three times as much.
//!
//! The numbers follow 3GPP TS 23.038 (alphabet) and TS 23.040 (concatenation):
//!
//! | encoding | one segment | each part of a longer message | unit                |
//! |----------|-------------|-------------------------------|---------------------|
//! | GSM-7    | 160         | 153                           | septet              |
//! | UCS-2    | 70          | 67                            | UTF-16 code unit    |
//!
//! A longer message loses room in every part to the 6-byte concatenation header
//! (UDH). Handsets and carriers never split one character across two parts: a
//! GSM-7 extension character (escape + character, 2 septets) and a UTF-16
//! surrogate pair (an emoji, 2 units) always travel whole, so a part may end one
//! unit short of its limit. The counting below simulates that packing.

use std::borrow::Cow;
use std::fmt;

/// The most septets a single-part GSM-7 message can carry (140 bytes × 8 / 7).
const GSM7_SINGLE_LIMIT: usize = 160;
/// The most septets in each part of a concatenated GSM-7 message (the UDH takes 7).
const GSM7_PART_LIMIT: usize = 153;
/// The most UTF-16 code units a single-part UCS-2 message can carry (140 bytes / 2).
const UCS2_SINGLE_LIMIT: usize = 70;
/// The most UTF-16 code units in each part of a concatenated UCS-2 message.
const UCS2_PART_LIMIT: usize = 67;

/// The character set a message is sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmsEncoding {
    /// GSM 03.38 default alphabet and its basic extension table, 7 bits a character.
    Gsm7,
    /// UCS-2 as carriers actually send it: UTF-16, so characters outside the
    /// Basic Multilingual Plane (emoji) take a surrogate pair of two units.
    Ucs2,
}

impl SmsEncoding {
    /// The name used in logs and API responses: `"GSM-7"` or `"UCS-2"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "GSM-7",
            SmsEncoding::Ucs2 => "UCS-2",
        }
    }
}

impl fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a text costs to send: its encoding and how many segments are billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmsCost {
    /// The encoding the whole message must use.
    pub encoding: SmsEncoding,
    /// Billed segments (parts); at least 1.
    pub segments: u32,
}

/// The encoding and number of segments a carrier needs for `text`.
///
/// GSM-7 is chosen when every character is in the GSM 03.38 default alphabet or
/// its basic extension table; otherwise the whole message is UCS-2.
///
/// The empty text costs 1 GSM-7 segment: an empty message is never sent (content
/// must not be empty), so 0 would only ever reach a caller as a surprise, while
/// "1" keeps `segments >= 1` true for every input.
pub fn sms_cost(text: &str) -> SmsCost {
    if text.chars().all(|c| gsm7_septets(c).is_some()) {
        let sizes = text.chars().map(|c| gsm7_septets(c).unwrap_or(1));
        SmsCost {
            encoding: SmsEncoding::Gsm7,
            segments: count_segments(sizes, GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT),
        }
    } else {
        let sizes = text.chars().map(char::len_utf16);
        SmsCost {
            encoding: SmsEncoding::Ucs2,
            segments: count_segments(sizes, UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT),
        }
    }
}

/// Packs characters of the given sizes (in septets or code units) into parts and
/// counts them.
///
/// A text within `single_limit` is one segment. A longer one is filled greedily
/// into parts of at most `part_limit`; a character that does not fit in what is
/// left of a part starts the next one whole, which is how the escape sequence and
/// surrogate-pair rules come out. Greedy filling is also the fewest parts possible.
fn count_segments<I>(sizes: I, single_limit: usize, part_limit: usize) -> u32
where
    I: Iterator<Item = usize> + Clone,
{
    let total: usize = sizes.clone().sum();
    if total <= single_limit {
        return 1;
    }
    let mut parts: u32 = 1;
    let mut used = 0;
    for size in sizes {
        if used + size > part_limit {
            parts += 1;
            used = 0;
        }
        used += size;
    }
    parts
}

/// How many septets `c` takes in GSM-7: 1 in the default alphabet, 2 in the
/// basic extension table (escape 0x1B + character), `None` when GSM-7 cannot
/// carry it.
///
/// The default alphabet has 128 positions; 0x1B is the escape itself, not a
/// character, so U+001B in a text is not GSM-7. Only `Ç` (capital) is in the
/// table; lowercase `ç`, the backtick and the tab are not.
fn gsm7_septets(c: char) -> Option<usize> {
    match c {
        // ASCII: everything printable except ` and the extension characters.
        '\n' | '\r' | ' '..='#' | '$' | '%'..='?' | '@' | 'A'..='Z' | '_' | 'a'..='z' => Some(1),
        // Latin-1 letters and symbols of the default alphabet.
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Æ' | 'æ' | 'ß'
        | 'É' | '¤' | '¡' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => {
            Some(1)
        }
        // Greek capitals that have no Latin look-alike in the table.
        'Δ' | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' => Some(1),
        // Basic extension table: escape + character.
        '\u{C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        _ => None,
    }
}

/// The smart-encoding table: typographic characters and the GSM-7 text that
/// replaces each one, as `(from, to)` pairs, for docs and tests to print or check.
///
/// Kept conservative on purpose: every entry is a character that word
/// processors, phones and web forms insert in place of a plain one the writer
/// meant (quotes, dashes, spaces), and every replacement is made of GSM-7
/// default-alphabet characters only (never extension characters, which cost 2
/// septets). Characters that carry meaning of their own (letters with accents,
/// ideographic space, zero-width joiners inside emoji) are left alone.
pub const SMART_REPLACEMENTS: &[(char, &str)] = &[
    ('\u{2018}', "'"),   // ‘ left single quotation mark
    ('\u{2019}', "'"),   // ’ right single quotation mark, apostrophe
    ('\u{201A}', "'"),   // ‚ single low-9 quotation mark
    ('\u{201B}', "'"),   // ‛ single high-reversed-9 quotation mark
    ('\u{2032}', "'"),   // ′ prime
    ('\u{201C}', "\""),  // “ left double quotation mark
    ('\u{201D}', "\""),  // ” right double quotation mark
    ('\u{201E}', "\""),  // „ double low-9 quotation mark
    ('\u{201F}', "\""),  // ‟ double high-reversed-9 quotation mark
    ('\u{2033}', "\""),  // ″ double prime
    ('\u{00AB}', "\""),  // « left-pointing double angle quotation mark
    ('\u{00BB}', "\""),  // » right-pointing double angle quotation mark
    ('\u{2010}', "-"),   // ‐ hyphen
    ('\u{2011}', "-"),   // ‑ non-breaking hyphen
    ('\u{2013}', "-"),   // – en dash
    ('\u{2014}', "-"),   // — em dash
    ('\u{2212}', "-"),   // − minus sign
    ('\u{2022}', "-"),   // • bullet: list items pasted from documents
    ('\u{2026}', "..."), // … horizontal ellipsis
    ('\u{00A0}', " "),   // no-break space
    ('\u{2002}', " "),   // en space
    ('\u{2003}', " "),   // em space
    ('\u{2007}', " "),   // figure space
    ('\u{2009}', " "),   // thin space
    ('\u{200A}', " "),   // hair space
    ('\u{202F}', " "),   // narrow no-break space
    ('\u{200B}', ""),    // zero-width space: invisible, removed
    ('\u{FEFF}', ""),    // byte order mark / zero-width no-break space: removed
];

/// Replaces typographic characters that have a GSM-7 look-alike (applied when
/// `SMS_SMART_ENCODING=true`), following [`SMART_REPLACEMENTS`].
///
/// Returns `Cow::Borrowed` when nothing changes, so the common case does not
/// allocate. Replacement happens whatever else the text holds: with an emoji in
/// it the result is still UCS-2, and there `…` → `...` costs two more units.
pub fn smart_encode(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(|c| smart_replacement(c).is_some()) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match smart_replacement(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The replacement for `c` from [`SMART_REPLACEMENTS`], if it has one.
fn smart_replacement(c: char) -> Option<&'static str> {
    if c.is_ascii() {
        return None;
    }
    SMART_REPLACEMENTS
        .iter()
        .find(|&&(from, _)| from == c)
        .map(|&(_, to)| to)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_replacement_table_is_the_one_applied() {
        let page = include_str!("../../docs/request.md");
        let rows: Vec<&str> = page.lines().filter(|l| l.contains("| U+")).collect();
        assert_eq!(
            rows.len(),
            super::SMART_REPLACEMENTS.len(),
            "one row per replacement"
        );
        for (from, to) in super::SMART_REPLACEMENTS {
            let code = format!("| U+{:04X} |", u32::from(*from));
            let row = rows
                .iter()
                .find(|r| r.contains(&code))
                .unwrap_or_else(|| panic!("{code} is not documented"));
            let documented = match *to {
                "" => "(removed)".to_owned(),
                " " => "a space".to_owned(),
                other => format!("`{other}`"),
            };
            assert!(row.ends_with(&format!("| {documented} |")), "{row}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    /// The GSM 03.38 default alphabet in code order, 16 a row, written out from
    /// the spec independently of `gsm7_septets`. Position 0x1B is the escape and
    /// holds U+001B only as a placeholder: it is not a character.
    const GSM7_DEFAULT_BY_CODE: [char; 128] = [
        '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
        'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß',
        'É', //
        ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
        '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
        'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
        '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
        'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
    ];
    const ESC: u16 = 0x1B;

    /// The basic extension table: (code after the escape, character).
    const GSM7_EXTENSION_BY_CODE: [(u16, char); 10] = [
        (0x0A, '\u{C}'),
        (0x14, '^'),
        (0x28, '{'),
        (0x29, '}'),
        (0x2F, '\\'),
        (0x3C, '['),
        (0x3D, '~'),
        (0x3E, ']'),
        (0x40, '|'),
        (0x65, '€'),
    ];

    fn cost(encoding: SmsEncoding, segments: u32) -> SmsCost {
        SmsCost { encoding, segments }
    }

    fn check_cases(cases: &[(String, SmsCost)]) {
        for (text, expected) in cases {
            assert_eq!(
                sms_cost(text),
                *expected,
                "text of {} chars: {text:?}",
                text.chars().count()
            );
        }
    }

    #[test]
    fn the_septet_sizes_match_the_gsm_03_38_tables_for_every_unicode_scalar() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let basic = c != '\u{1B}' && GSM7_DEFAULT_BY_CODE.contains(&c);
            let extension = GSM7_EXTENSION_BY_CODE.iter().any(|&(_, e)| e == c);
            let expected = match (basic, extension) {
                (true, _) => Some(1),
                (false, true) => Some(2),
                (false, false) => None,
            };
            assert_eq!(gsm7_septets(c), expected, "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn lowercase_c_cedilla_backtick_tab_and_escape_are_not_gsm7_but_capital_c_cedilla_is() {
        for c in ['ç', '`', '\t', '\u{1B}', 'ó', 'á', 'ê'] {
            assert_eq!(gsm7_septets(c), None, "{c:?}");
        }
        for c in ['Ç', '@', '$', '¤', '_', '§', 'à'] {
            assert_eq!(gsm7_septets(c), Some(1), "{c:?}");
        }
    }

    #[test]
    fn the_empty_text_costs_one_gsm7_segment() {
        assert_eq!(sms_cost(""), cost(SmsEncoding::Gsm7, 1));
    }

    #[test]
    fn a_gsm7_text_fits_160_septets_in_one_segment_and_153_in_each_part_after() {
        let cases: Vec<_> = [
            (1, 1),
            (160, 1),
            (161, 2),
            (306, 2),
            (307, 3),
            (459, 3),
            (460, 4),
        ]
        .into_iter()
        .map(|(n, segments)| ("a".repeat(n), cost(SmsEncoding::Gsm7, segments)))
        .collect();
        check_cases(&cases);
    }

    #[test]
    fn a_ucs2_text_fits_70_units_in_one_segment_and_67_in_each_part_after() {
        let cases: Vec<_> = [
            (1, 1),
            (70, 1),
            (71, 2),
            (134, 2),
            (135, 3),
            (201, 3),
            (202, 4),
        ]
        .into_iter()
        .map(|(n, segments)| ("ж".repeat(n), cost(SmsEncoding::Ucs2, segments)))
        .collect();
        check_cases(&cases);
    }

    #[test]
    fn an_extension_character_counts_two_septets_toward_the_single_segment_limit() {
        let gsm = |segments| cost(SmsEncoding::Gsm7, segments);
        check_cases(&[
            (format!("{}{{", "a".repeat(158)), gsm(1)), // 158 + 2 = 160
            (format!("{}{{", "a".repeat(159)), gsm(2)), // 159 + 2 = 161
            ("€".repeat(80), gsm(1)),                   // 160 septets
            ("€".repeat(81), gsm(2)),                   // 162 septets
            ("\u{C}".repeat(80), gsm(1)),               // form feed is an extension too
        ]);
    }

    #[test]
    fn an_extension_character_at_a_part_edge_moves_whole_to_the_next_part() {
        let gsm = |segments| cost(SmsEncoding::Gsm7, segments);
        let text = |before, after| format!("{}€{}", "a".repeat(before), "a".repeat(after));
        check_cases(&[
            (text(151, 153), gsm(2)), // € ends part 1 exactly: 151 + 2 = 153
            (text(151, 154), gsm(3)),
            (text(152, 151), gsm(2)),  // € moves: part 2 is 2 + 151 = 153
            (text(152, 152), gsm(3)),  // 306 septets, but 1 is lost at the edge
            ("€".repeat(153), gsm(3)), // 76 a part: 76 + 76 + 1
            ("€".repeat(152), gsm(2)),
        ]);
    }

    #[test]
    fn an_emoji_at_a_ucs2_part_edge_moves_whole_to_the_next_part() {
        let ucs2 = |segments| cost(SmsEncoding::Ucs2, segments);
        let text = |before, after| format!("{}😀{}", "ж".repeat(before), "ж".repeat(after));
        check_cases(&[
            (text(68, 0), ucs2(1)),  // 68 + 2 = 70 units
            (text(69, 0), ucs2(2)),  // 71 units
            (text(65, 67), ucs2(2)), // the emoji ends part 1 exactly: 65 + 2 = 67
            (text(65, 68), ucs2(3)),
            (text(66, 65), ucs2(2)), // the emoji starts part 2: 2 + 65 = 67
            (text(66, 66), ucs2(3)), // 134 units, but 1 is lost at the edge
            ("😀".repeat(35), ucs2(1)), // 70 units
            ("😀".repeat(66), ucs2(2)), // 33 a part
            ("😀".repeat(67), ucs2(3)), // 134 units, yet 3 parts
        ]);
    }

    #[test]
    fn one_non_gsm_character_makes_the_whole_message_ucs2() {
        let plain = "a".repeat(100);
        assert_eq!(sms_cost(&plain), cost(SmsEncoding::Gsm7, 1));
        for odd in ["ç", "`", "’", "“", "…", "😀", "\t", "\u{1B}", "ó", "中"] {
            let text = format!("{plain}{odd}");
            let units = text.encode_utf16().count();
            let expected = if units <= 134 { 2 } else { 3 };
            assert_eq!(
                sms_cost(&text),
                cost(SmsEncoding::Ucs2, expected),
                "{odd:?}"
            );
        }
        assert_eq!(sms_cost(&format!("{plain}Ç")), cost(SmsEncoding::Gsm7, 1));
    }

    #[test]
    fn encodings_are_named_as_carriers_name_them() {
        assert_eq!(SmsEncoding::Gsm7.as_str(), "GSM-7");
        assert_eq!(SmsEncoding::Ucs2.as_str(), "UCS-2");
        assert_eq!(SmsEncoding::Ucs2.to_string(), "UCS-2");
    }

    #[test]
    fn smart_encoding_turns_typographic_text_into_gsm7() {
        let text = "“Hi” – it’s…";
        assert_eq!(sms_cost(text).encoding, SmsEncoding::Ucs2);
        let encoded = smart_encode(text);
        assert_eq!(encoded, "\"Hi\" - it's...");
        assert!(matches!(encoded, Cow::Owned(_)));
        assert_eq!(sms_cost(&encoded), cost(SmsEncoding::Gsm7, 1));
    }

    #[test]
    fn smart_encoding_replaces_spaces_and_removes_invisible_characters() {
        let cases = [
            ("a\u{A0}b\u{202F}c\u{2009}d", "a b c d"),
            ("\u{FEFF}start\u{200B}end", "startend"),
            ("«oui» • 5′ 3″ − 2", "\"oui\" - 5' 3\" - 2"),
            ("a—b‐c‑d", "a-b-c-d"),
        ];
        for (text, expected) in cases {
            assert_eq!(smart_encode(text), expected, "{text:?}");
        }
    }

    #[test]
    fn smart_encoding_borrows_when_nothing_changes() {
        for text in [
            "",
            "Hello, world!",
            "emoji 😀 and ç stay",
            "ideographic\u{3000}space",
        ] {
            let encoded = smart_encode(text);
            assert!(matches!(encoded, Cow::Borrowed(_)), "{text:?}");
            assert_eq!(encoded, text);
        }
    }

    #[test]
    fn the_smart_table_maps_only_non_gsm_characters_to_default_alphabet_text() {
        for (i, &(from, to)) in SMART_REPLACEMENTS.iter().enumerate() {
            assert_eq!(gsm7_septets(from), None, "{from:?} is already GSM-7");
            assert!(
                to.chars().all(|c| gsm7_septets(c) == Some(1)),
                "{from:?} -> {to:?}"
            );
            let later = &SMART_REPLACEMENTS[i + 1..];
            assert!(
                later.iter().all(|&(f, _)| f != from),
                "{from:?} listed twice"
            );
        }
    }

    // ---- property: the counting agrees with an independent packing ----

    /// Encodes `text` the way it goes on the air: GSM-7 septet codes (extension
    /// characters as ESC + code) when possible, else UTF-16. Returns the flat
    /// units and the (single, part) limits. Uses the spec tables above, not
    /// `gsm7_septets`.
    fn reference_encode(text: &str) -> (SmsEncoding, Vec<u16>, usize, usize) {
        let mut septets = Vec::new();
        for c in text.chars() {
            if let Some(code) = GSM7_DEFAULT_BY_CODE
                .iter()
                .position(|&d| d == c && c != '\u{1B}')
            {
                septets.push(code as u16);
            } else if let Some(&(code, _)) = GSM7_EXTENSION_BY_CODE.iter().find(|e| e.1 == c) {
                septets.extend([ESC, code]);
            } else {
                return (SmsEncoding::Ucs2, text.encode_utf16().collect(), 70, 67);
            }
        }
        (SmsEncoding::Gsm7, septets, 160, 153)
    }

    /// True when a part may not end right after `unit`: it opens a pair (the
    /// GSM-7 escape, or a UTF-16 high surrogate) whose second unit must follow.
    fn opens_pair(encoding: SmsEncoding, unit: u16) -> bool {
        match encoding {
            SmsEncoding::Gsm7 => unit == ESC,
            SmsEncoding::Ucs2 => (0xD800..0xDC00).contains(&unit),
        }
    }

    /// Cuts the flat units into the actual parts: take `part` units, and step the
    /// cut back by one when it would leave a pair open.
    fn reference_parts(
        encoding: SmsEncoding,
        units: &[u16],
        single: usize,
        part: usize,
    ) -> Vec<Vec<u16>> {
        if units.len() <= single {
            return vec![units.to_vec()];
        }
        let mut parts = Vec::new();
        let mut rest = units;
        while !rest.is_empty() {
            let mut cut = part.min(rest.len());
            if opens_pair(encoding, rest[cut - 1]) {
                cut -= 1;
            }
            parts.push(rest[..cut].to_vec());
            rest = &rest[cut..];
        }
        parts
    }

    fn check_parts(
        encoding: SmsEncoding,
        units: &[u16],
        parts: &[Vec<u16>],
        single: usize,
        part: usize,
    ) {
        let limit = if parts.len() == 1 { single } else { part };
        assert_eq!(parts.concat(), units, "parts lose or reorder units");
        for p in parts.iter().filter(|p| !p.is_empty()) {
            assert!(p.len() <= limit, "part of {} units", p.len());
            assert!(!opens_pair(encoding, p[p.len() - 1]), "a pair is split");
            let starts_low_surrogate = (0xDC00..0xE000).contains(&p[0]);
            assert!(
                !(encoding == SmsEncoding::Ucs2 && starts_low_surrogate),
                "a pair is split"
            );
        }
        // Only the empty text may have an empty part (its one segment).
        assert!(
            units.is_empty() || parts.iter().all(|p| !p.is_empty()),
            "empty part"
        );
    }

    const BASIC: &[char] = &[
        'a', 'Z', '0', ' ', '@', '$', '\n', 'é', 'Ç', 'Δ', 'ß', '¤', '¿', 'à',
    ];
    const EXTENSION: &[char] = &['€', '{', '}', '[', ']', '\\', '^', '~', '|', '\u{C}'];
    const NON_GSM: &[char] = &[
        'ç', '`', '\t', '’', '…', 'ó', 'ж', '中', '😀', '👍', '𝄞', '\u{1B}',
    ];

    fn gsm_char() -> impl Strategy<Value = char> {
        prop_oneof![4 => prop::sample::select(BASIC), 1 => prop::sample::select(EXTENSION)]
    }

    fn any_char() -> impl Strategy<Value = char> {
        prop_oneof![4 => gsm_char(), 1 => prop::sample::select(NON_GSM)]
    }

    /// Lengths weighted toward the single-segment and part boundaries.
    fn length() -> impl Strategy<Value = usize> {
        prop_oneof![
            0..=500usize,
            60..=80usize,
            125..=140usize,
            150..=170usize,
            295..=320usize
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        let gsm = length().prop_flat_map(|n| prop::collection::vec(gsm_char(), n));
        let mixed = length().prop_flat_map(|n| prop::collection::vec(any_char(), n));
        // GSM text with exactly one non-GSM character somewhere in it.
        let one_odd = (
            length(),
            prop::sample::select(NON_GSM),
            any::<prop::sample::Index>(),
        )
            .prop_flat_map(|(n, odd, at)| {
                prop::collection::vec(gsm_char(), n).prop_map(move |mut chars| {
                    chars.insert(at.index(chars.len() + 1), odd);
                    chars
                })
            });
        prop_oneof![gsm, mixed, one_odd].prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_segment_count_matches_an_independent_packing_into_real_parts(text in text()) {
            let (encoding, units, single, part) = reference_encode(&text);
            let parts = reference_parts(encoding, &units, single, part);
            check_parts(encoding, &units, &parts, single, part);
            prop_assert_eq!(sms_cost(&text), cost(encoding, parts.len() as u32));
        }

        #[test]
        fn smart_encoding_leaves_no_replaceable_character_and_is_idempotent(text in text()) {
            let once = smart_encode(&text);
            prop_assert!(once.chars().all(|c| smart_replacement(c).is_none()));
            prop_assert!(matches!(smart_encode(&once), Cow::Borrowed(_)));
            let changed = text.chars().any(|c| SMART_REPLACEMENTS.iter().any(|r| r.0 == c));
            prop_assert_eq!(matches!(once, Cow::Owned(_)), changed);
        }
    }
}
