//! `SourceEndpoint` (a Connect phone-number ARN) and `DestinationEndpoint` (an E.164 number).

use serde_json::{Map, Value};

use super::check::{Presence, Problems, member, object, one_of, string};
use super::formats::{MAX_PHONE_NUMBER_ARN_CHARS, is_e164, is_phone_number_arn};

/// `Type` must be `CONNECT_PHONENUMBER_ARN` whatever else is wrong (a missing `Address` included);
/// `Address` a phone-number ARN of at most 256 characters.
pub(super) fn source_endpoint(p: &mut Problems, body: &Map<String, Value>) {
    let Some(endpoint) = object(p, body, "", "SourceEndpoint", Presence::Required) else {
        return;
    };
    endpoint_type(p, endpoint, "SourceEndpoint", "CONNECT_PHONENUMBER_ARN");
    let address = string(
        p,
        endpoint,
        "SourceEndpoint",
        "Address",
        Presence::Required,
        1,
        MAX_PHONE_NUMBER_ARN_CHARS,
    );
    if address.is_some_and(|address| !is_phone_number_arn(address)) {
        p.add(
            "SourceEndpoint.Address",
            "must be a phone number ARN, arn:<partition>:connect:<region>:<12-digit account>:\
             phone-number/<id> (id of letters, digits, '-' and '_')",
        );
    }
}

pub(super) fn destination_endpoint(p: &mut Problems, body: &Map<String, Value>) {
    let Some(endpoint) = object(p, body, "", "DestinationEndpoint", Presence::Required) else {
        return;
    };
    endpoint_type(p, endpoint, "DestinationEndpoint", "TELEPHONE_NUMBER");
    // Deliberately no length echo here: the address is a customer's phone number.
    match member(endpoint, "Address") {
        None => p.add("DestinationEndpoint.Address", "is required"),
        Some(Value::String(address)) if is_e164(address) => {}
        Some(Value::String(_)) => p.add(
            "DestinationEndpoint.Address",
            r"must be an E.164 phone number matching ^\+[1-9]\d{1,14}$",
        ),
        Some(_) => p.add("DestinationEndpoint.Address", "must be a string"),
    }
}

/// An endpoint's required `Type`, which has only one accepted value.
fn endpoint_type(p: &mut Problems, endpoint: &Map<String, Value>, parent: &str, only: &str) {
    let kind = string(
        p,
        endpoint,
        parent,
        "Type",
        Presence::Required,
        0,
        usize::MAX,
    );
    if let Some(kind) = kind {
        one_of(p, &format!("{parent}.Type"), kind, &[only]);
    }
}
