//! Amazon Resource Names: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, the one reading
//! shared by segment attributes' `ValueArn`, the source phone-number ARN, and the SQS queue
//! an event came from.

/// The parts of a well-formed ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArnParts<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Reads an ARN. The partition is `aws` or `aws-` and lowercase letters (`aws-cn`,
/// `aws-us-gov`, `aws-iso-b`); the service is lowercase letters, digits and `-`; the region is
/// empty (a global resource) or lowercase letters, digits and `-`; the account is empty or 12
/// digits; the resource is not empty and may hold `:` and `/`.
pub fn parse_arn(raw: &str) -> Option<ArnParts<'_>> {
    let mut parts = raw.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let lower_word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let partition_ok = (partition == "aws" || partition.starts_with("aws-"))
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    let account_ok =
        account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    let valid = partition_ok
        && lower_word(service)
        && (region.is_empty() || lower_word(region))
        && account_ok
        && !resource.is_empty();
    valid.then_some(ArnParts {
        partition,
        service,
        region,
        account,
        resource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_read_by_their_six_parts() {
        let cases: &[(&str, bool)] = &[
            ("arn:aws:connect:us-east-1:123456789012:instance/abc", true),
            ("arn:aws-us-gov:s3:::bucket/key:with:colons", true),
            ("arn:aws-cn:iam::123456789012:role/x", true),
            ("arn:aws:connect:us-east-1:123456789012:", false),
            ("arn:aws:connect:us-east-1:12345678901:instance/abc", false),
            (
                "arn:aws:connect:us-east-1:1234567890123:instance/abc",
                false,
            ),
            (
                "arn:awsx:connect:us-east-1:123456789012:instance/abc",
                false,
            ),
            ("arn:aws:Connect:us-east-1:123456789012:instance/abc", false),
            ("arn:aws::us-east-1:123456789012:instance/abc", false),
            ("arn:aws:connect:US-EAST-1:123456789012:instance/abc", false),
            ("arn:aws:connect", false),
            ("urn:aws:connect:us-east-1:123456789012:instance/abc", false),
            ("arn:aws:connect:x", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(parse_arn(raw).is_some(), *ok, "{raw}");
        }
    }
}
