//! Connect's input constraints for `StartOutboundChatContact`, checked the way Connect would.
//!
//! The Rust SDK checks nothing for this operation (no lengths, enums or required members), so a
//! request that is wrong reaches Connect as it is and only Connect refuses it. This module is the
//! stand-in for that refusal. It collects every problem, each prefixed with the member's path
//! (`DestinationEndpoint.Address: ...`), so one answer tells the caller all that is wrong.
//! Messages never echo the destination address or attribute values: they may be personal data,
//! and the CLI prints messages.
//!
//! One submodule per section of the input; `check` (the problem list and typed accessors) and
//! `formats` (ARNs, E.164, keys) are leaves the others build on, and none imports this root.

mod attributes;
mod check;
mod endpoints;
mod formats;
mod messages;
mod segments;

use serde_json::{Map, Value};

use check::{Presence, Problems, member, object, string};

/// Top-level members of the operation's input. Anything else is refused: a strict stand-in finds
/// a misspelt member that real Connect might silently ignore.
const MEMBERS: [&str; 13] = [
    "InstanceId",
    "ContactFlowId",
    "SourceEndpoint",
    "DestinationEndpoint",
    "SegmentAttributes",
    "Attributes",
    "ChatDurationInMinutes",
    "ParticipantDetails",
    "InitialSystemMessage",
    "InitialTemplatedSystemMessage",
    "RelatedContactId",
    "SupportedMessagingContentTypes",
    "ClientToken",
];

/// Checks a parsed request body; `Err` holds every problem, joined with `"; "`.
pub(crate) fn validate(body: &Map<String, Value>) -> Result<(), String> {
    let mut p = Problems::default();
    for name in body.keys() {
        if !MEMBERS.contains(&name.as_str()) {
            p.add(name, "is not a member of StartOutboundChatContact's input");
        }
    }
    string(&mut p, body, "", "InstanceId", Presence::Required, 1, 100);
    string(
        &mut p,
        body,
        "",
        "ContactFlowId",
        Presence::Required,
        1,
        500,
    );
    endpoints::source_endpoint(&mut p, body);
    endpoints::destination_endpoint(&mut p, body);
    segments::segment_attributes(&mut p, body);
    attributes::contact_attributes(&mut p, body);
    chat_duration(&mut p, body);
    participant_details(&mut p, body);
    messages::initial_messages(&mut p, body);
    string(
        &mut p,
        body,
        "",
        "RelatedContactId",
        Presence::Optional,
        1,
        256,
    );
    messages::supported_content_types(&mut p, body);
    string(&mut p, body, "", "ClientToken", Presence::Optional, 0, 500);
    p.into_result()
}

fn chat_duration(p: &mut Problems, body: &Map<String, Value>) {
    let Some(value) = member(body, "ChatDurationInMinutes") else {
        return;
    };
    let in_range = value.as_i64().is_some_and(|m| (60..=10080).contains(&m));
    if !in_range {
        p.add(
            "ChatDurationInMinutes",
            format!("must be an integer between 60 and 10080, got {value}"),
        );
    }
}

fn participant_details(p: &mut Problems, body: &Map<String, Value>) {
    if let Some(details) = object(p, body, "", "ParticipantDetails", Presence::Optional) {
        string(
            p,
            details,
            "ParticipantDetails",
            "DisplayName",
            Presence::Required,
            1,
            256,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::formats::{is_arn, is_e164, is_phone_number_arn, is_plain_key};
    use super::*;

    #[test]
    fn e164_numbers_are_recognised() {
        for ok in ["+447700900123", "+12", "+123456789012345"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "447700900123",
            "+0447700900",
            "+1",
            "+1234567890123456",
            "+44 7700 900123",
            "+٤٤٧٧",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    const NUMBER: &str = "arn:aws:connect:eu-west-2:123456789012:phone-number/";

    /// Phone-number ARNs on both sides of each part of the rule (lengths apart).
    const PHONE_NUMBER_ARNS: [(&str, &str, bool); 20] = [
        (
            "a uuid id",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/1a2b3c4d-0000-4000-8000-000000000000",
            true,
        ),
        (
            "an id with '_'",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/ab_12-CD",
            true,
        ),
        (
            "an id of one character",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/a",
            true,
        ),
        (
            "aws-us-gov",
            "arn:aws-us-gov:connect:us-gov-west-1:123456789012:phone-number/abc",
            true,
        ),
        (
            "aws-iso-b",
            "arn:aws-iso-b:connect:us-isob-east-1:123456789012:phone-number/abc",
            true,
        ),
        (
            "an empty id",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/",
            false,
        ),
        (
            "an id with '.'",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/a.b",
            false,
        ),
        (
            "an id with '/'",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/a/b",
            false,
        ),
        (
            "an id with 'é'",
            "arn:aws:connect:eu-west-2:123456789012:phone-number/é",
            false,
        ),
        (
            "the legacy instance form",
            "arn:aws:connect:eu-west-2:123456789012:instance/i-1/phone-number/abc",
            false,
        ),
        (
            "an 11-digit account",
            "arn:aws:connect:eu-west-2:12345678901:phone-number/abc",
            false,
        ),
        (
            "a 13-digit account",
            "arn:aws:connect:eu-west-2:1234567890123:phone-number/abc",
            false,
        ),
        (
            "an empty account",
            "arn:aws:connect:eu-west-2::phone-number/abc",
            false,
        ),
        (
            "an empty region",
            "arn:aws:connect::123456789012:phone-number/abc",
            false,
        ),
        (
            "an upper-case region",
            "arn:aws:connect:EU-west-2:123456789012:phone-number/abc",
            false,
        ),
        (
            "a partition not starting with aws",
            "arn:azure:connect:eu-west-2:123456789012:phone-number/abc",
            false,
        ),
        (
            "a partition with '_'",
            "arn:aws_cn:connect:eu-west-2:123456789012:phone-number/abc",
            false,
        ),
        (
            "another service",
            "arn:aws:sms-voice:eu-west-2:123456789012:phone-number/abc",
            false,
        ),
        ("a phone number", "+447700900123", false),
        (
            "no arn prefix",
            "urn:aws:connect:eu-west-2:123456789012:phone-number/abc",
            false,
        ),
    ];

    #[test]
    fn a_phone_number_arn_is_held_to_the_functions_rule_at_every_boundary() {
        let longest = format!("{NUMBER}{}", "a".repeat(256 - NUMBER.len()));
        let too_long = format!("{longest}a");
        let lengths = [
            ("256 characters", longest.as_str(), true),
            ("257 characters", too_long.as_str(), false),
        ];
        for (what, arn, expected) in PHONE_NUMBER_ARNS.into_iter().chain(lengths) {
            assert_eq!(is_phone_number_arn(arn), expected, "{what}: {arn}");
        }
    }

    /// Generic ARNs on both sides of each part of the rule (lengths apart).
    const ARNS: [(&str, &str, bool); 16] = [
        (
            "an S3 object, no region nor account",
            "arn:aws:s3:::bucket/key",
            true,
        ),
        (
            "a Connect contact",
            "arn:aws:connect:eu-west-2:123456789012:instance/abc/contact/def",
            true,
        ),
        (
            "a resource with ':'",
            "arn:aws:lambda:eu-west-2:123456789012:function:f:1",
            true,
        ),
        (
            "a service with a digit",
            "arn:aws:s3:eu-west-2:123456789012:x",
            true,
        ),
        (
            "an 11-digit account",
            "arn:aws:iam::12345678901:role/r",
            false,
        ),
        (
            "a 12-digit account",
            "arn:aws:iam::123456789012:role/r",
            true,
        ),
        (
            "a 13-digit account",
            "arn:aws:iam::1234567890123:role/r",
            false,
        ),
        (
            "an account with a letter",
            "arn:aws:iam::12345678901a:role/r",
            false,
        ),
        (
            "an upper-case region",
            "arn:aws:sqs:EU-WEST-2:123456789012:q",
            false,
        ),
        (
            "a region with '_'",
            "arn:aws:sqs:eu_west_2:123456789012:q",
            false,
        ),
        (
            "an empty service",
            "arn:aws::eu-west-2:123456789012:q",
            false,
        ),
        (
            "an upper-case service",
            "arn:aws:SQS:eu-west-2:123456789012:q",
            false,
        ),
        (
            "an upper-case partition",
            "arn:AWS:sqs:eu-west-2:123456789012:q",
            false,
        ),
        ("an empty resource", "arn:aws:s3:::", false),
        ("too few fields", "arn:aws:s3::", false),
        ("not an ARN", "not-an-arn", false),
    ];

    #[test]
    fn a_generic_arn_is_held_to_the_functions_rule_at_every_boundary() {
        let prefix = "arn:aws:s3:::";
        // 'é' is two bytes: the limit counts characters.
        let longest = format!("{prefix}{}", "é".repeat(1024 - prefix.len()));
        let too_long = format!("{longest}é");
        let lengths = [
            ("1024 characters", longest.as_str(), true),
            ("1025 characters", too_long.as_str(), false),
        ];
        for (what, arn, expected) in ARNS.into_iter().chain(lengths) {
            assert_eq!(is_arn(arn), expected, "{what}: {arn}");
        }
    }

    #[test]
    fn a_plain_key_has_only_ascii_letters_digits_dash_and_underscore() {
        for ok in ["orderId", "ORDER-id_9", "a", "0"] {
            assert!(is_plain_key(ok), "{ok}");
        }
        for bad in ["order.id", "order id", "orderé", "a:b", "a/b", "ⅰ"] {
            assert!(!is_plain_key(bad), "{bad}");
        }
    }

    fn base() -> Map<String, Value> {
        let body = json!({
            "InstanceId": "i-1",
            "ContactFlowId": "f-1",
            "SourceEndpoint": {"Type": "CONNECT_PHONENUMBER_ARN", "Address": format!("{NUMBER}abc")},
            "DestinationEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+447700900123"},
            "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:SMS"}},
        });
        body.as_object().unwrap().clone()
    }

    fn with(member: &str, value: Value) -> Map<String, Value> {
        let mut body = base();
        body.insert(member.to_owned(), value);
        body
    }

    fn content(kind: &str, text: String) -> Value {
        json!({"ContentType": kind, "Content": text})
    }

    const INTERACTIVE: &str = "application/vnd.amazonaws.connect.message.interactive.response";

    /// `n` times `s`: "é" is 2 bytes, "€" 3, "😀" 4.
    fn times(s: &str, n: usize) -> String {
        s.repeat(n)
    }

    /// Runs byte-limit cases on one member: `None` must pass, `Some(n)` must be refused with
    /// exactly one problem, `problem` reported with the byte count `n`.
    fn assert_byte_limit(member: &str, problem: &str, cases: Vec<(&str, Value, Option<usize>)>) {
        for (what, value, refused) in cases {
            let result = validate(&with(member, value));
            match (result, refused) {
                (Ok(()), None) => {}
                (Err(message), Some(bytes)) => {
                    let expected = format!("{problem} (UTF-8), got {bytes}");
                    assert_eq!(message, expected, "{what}");
                }
                (result, _) => panic!("{what}: {result:?}, expected refused: {refused:?}"),
            }
        }
    }

    #[test]
    fn contact_attributes_are_held_to_32768_bytes_exactly_at_the_boundary() {
        let a = |n| times("a", n);
        let cases = vec![
            ("ASCII", json!({"k": a(32767)}), None),
            ("ASCII", json!({"k": a(32767), "b": ""}), Some(32769)),
            ("two pairs", json!({"a": a(16383), "b": a(16383)}), None),
            (
                "two pairs",
                json!({"a": a(16383), "bb": a(16383)}),
                Some(32769),
            ),
            ("'é'", json!({"k": times("é", 16383) + "a"}), None),
            ("'é'", json!({"k": times("é", 16384)}), Some(32769)),
            ("'€'", json!({"kk": times("€", 10922)}), None),
            ("'€'", json!({"kk": times("€", 10922) + "a"}), Some(32769)),
            ("emoji", json!({"kkkk": times("😀", 8191)}), None),
            (
                "emoji",
                json!({"kkkk": times("😀", 8191) + "a"}),
                Some(32769),
            ),
        ];
        let problem = "Attributes: keys and values together must be at most 32768 bytes";
        assert_byte_limit("Attributes", problem, cases);
    }

    #[test]
    fn message_content_is_held_to_16384_bytes_exactly_at_the_boundary() {
        let json = |text: String| content("application/json", text);
        let interactive = |text: String| content(INTERACTIVE, text);
        let cases = vec![
            ("JSON in '€'", json(times("€", 5461) + "a"), None),
            ("JSON in '€'", json(times("€", 5461) + "é"), Some(16385)),
            ("interactive in emoji", interactive(times("😀", 4096)), None),
            (
                "interactive in emoji",
                interactive(times("😀", 4096) + "a"),
                Some(16385),
            ),
            ("interactive in 'é'", interactive(times("é", 8192)), None),
            (
                "interactive in 'é'",
                interactive(times("é", 8193)),
                Some(16386),
            ),
            // Under its 1024-character limit text/plain cannot reach the byte limit.
            (
                "text/plain in emoji",
                content("text/plain", times("😀", 1024)),
                None,
            ),
        ];
        let problem = "InitialSystemMessage.Content: must be at most 16384 bytes";
        assert_byte_limit("InitialSystemMessage", problem, cases);
    }

    #[test]
    fn a_free_form_whatsapp_message_needs_a_related_contact() {
        let mut whatsapp = with("InitialSystemMessage", content("text/plain", "hi".into()));
        whatsapp.insert(
            "SegmentAttributes".into(),
            json!({"connect:Subtype": {"ValueString": "connect:WhatsApp"}}),
        );
        let message = validate(&whatsapp).unwrap_err();
        assert!(
            message.starts_with("InitialSystemMessage: is not allowed on connect:WhatsApp")
                && !message.contains("; "),
            "{message}"
        );
        whatsapp.insert("RelatedContactId".into(), Value::Null);
        assert!(validate(&whatsapp).is_err(), "null counts as absent");
        whatsapp.insert("RelatedContactId".into(), json!("c-1"));
        assert_eq!(validate(&whatsapp), Ok(()));
        // SMS has no such rule.
        let sms = with("InitialSystemMessage", content("text/plain", "hi".into()));
        assert_eq!(validate(&sms), Ok(()));
    }

    #[test]
    fn a_wrong_source_type_is_refused_even_without_an_address() {
        let body = with("SourceEndpoint", json!({"Type": "TELEPHONE_NUMBER"}));
        let message = validate(&body).unwrap_err();
        assert!(
            message.contains("SourceEndpoint.Type: must be one of CONNECT_PHONENUMBER_ARN")
                && message.contains("SourceEndpoint.Address: is required"),
            "{message}"
        );
    }
}
