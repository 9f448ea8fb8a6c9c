//! The formats Connect checks inside strings: E.164, ARNs, phone-number ARNs, plain keys.
//!
//! Pure predicates, a leaf module.
//!
//! The two ARN rules are exactly the function's: a caller and its stand-in that disagree on what
//! an ARN is would let a refusal through untested.

/// The longest ARN Connect takes in `ValueArn`.
pub(super) const MAX_ARN_CHARS: usize = 1024;

/// The longest `SourceEndpoint.Address`.
pub(super) const MAX_PHONE_NUMBER_ARN_CHARS: usize = 256;

/// `^\+[1-9]\d{1,14}$`.
pub(super) fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A user attribute key: only ASCII letters, digits, `-` and `_` (the length is checked apart).
pub(super) fn is_plain_key(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...: starts with `aws`, only lowercase and `-`.
fn is_partition(s: &str) -> bool {
    s.starts_with("aws") && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// Non-empty, only lowercase letters, digits and `-` (a service or a region).
fn is_lower_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Exactly twelve digits.
fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The six fields of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, when `s` has them; the
/// resource keeps any further `:`.
fn fields(s: &str) -> Option<[&str; 5]> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    (arn == "arn").then_some([partition, service, region, account, resource])
}

/// Any ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, at most 1024 characters. Region and
/// account may be empty (global resources, S3 buckets); a non-empty account is 12 digits; the
/// resource is non-empty and may contain `:` and `/`.
pub(super) fn is_arn(s: &str) -> bool {
    let Some([partition, service, region, account, resource]) = fields(s) else {
        return false;
    };
    s.chars().count() <= MAX_ARN_CHARS
        && is_partition(partition)
        && is_lower_name(service)
        && (region.is_empty() || is_lower_name(region))
        && (account.is_empty() || is_account(account))
        && !resource.is_empty()
}

/// `arn:PARTITION:connect:REGION:ACCOUNT:phone-number/ID`, at most 256 characters: region
/// non-empty, account 12 digits, ID non-empty and only ASCII letters, digits, `-` and `_`. The
/// legacy form with `instance/<id>/` in the resource is refused: the project must not use it.
pub(super) fn is_phone_number_arn(s: &str) -> bool {
    let Some([partition, service, region, account, resource]) = fields(s) else {
        return false;
    };
    let id_ok = resource
        .strip_prefix("phone-number/")
        .is_some_and(|id| !id.is_empty() && is_plain_key(id));
    s.chars().count() <= MAX_PHONE_NUMBER_ARN_CHARS
        && is_partition(partition)
        && service == "connect"
        && is_lower_name(region)
        && is_account(account)
        && id_ok
}
