//! The SigV4 `Authorization` header check: shape and credential scope, not the signature itself.
//!
//! Verifying the HMAC would need the caller's secret key, which a local stand-in cannot know. What
//! it can catch is a client that does not sign at all, or signs for the wrong service or with a
//! malformed header; that is what misconfigured clients actually get wrong.

/// Why a request was refused before anything else looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthProblem {
    /// No `Authorization` header: AWS answers `MissingAuthenticationTokenException`.
    Missing,
    /// A header that is not a well-formed SigV4 header scoped to `connect`.
    Invalid(String),
}

impl AuthProblem {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationTokenException",
            Self::Invalid(_) => "InvalidSignatureException",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Self::Missing => "Missing Authentication Token".to_owned(),
            Self::Invalid(why) => why.clone(),
        }
    }
}

/// Checks `AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/connect/aws4_request,
/// SignedHeaders=<h1;h2>, Signature=<64 hex>`.
pub(crate) fn check(header: Option<&str>) -> Result<(), AuthProblem> {
    let header = header.ok_or(AuthProblem::Missing)?;
    let invalid = |why: &str| AuthProblem::Invalid(why.to_owned());
    let rest = header
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| invalid("Authorization header requires the AWS4-HMAC-SHA256 algorithm."))?;

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            invalid("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
        })?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => {
                return Err(AuthProblem::Invalid(format!(
                    "Unexpected Authorization component '{name}'."
                )));
            }
        };
        if slot.replace(value).is_some() {
            return Err(AuthProblem::Invalid(format!(
                "Duplicate Authorization component '{name}'."
            )));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(invalid(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        ));
    };

    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = scope[..] else {
        return Err(invalid(
            "Credential must have the form <key>/<date>/<region>/<service>/aws4_request.",
        ));
    };
    if key.is_empty() {
        return Err(invalid("Credential has an empty access key id."));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("Credential date must be yyyymmdd."));
    }
    if region.is_empty() {
        return Err(invalid("Credential has an empty region."));
    }
    if service != "connect" {
        return Err(invalid(
            "Credential should be scoped to correct service: 'connect'.",
        ));
    }
    if terminator != "aws4_request" {
        return Err(invalid(
            "Credential should be scoped with a valid terminator: 'aws4_request'.",
        ));
    }
    if signed_headers.is_empty() || signed_headers.split(';').any(str::is_empty) {
        return Err(invalid("SignedHeaders must list the signed header names."));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("Signature must be 64 hex digits."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn header(credential: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"
        )
    }

    #[test]
    fn a_header_like_the_sdks_passes() {
        let h = header("AKIDEXAMPLE/20250101/eu-west-2/connect/aws4_request");
        assert_eq!(check(Some(&h)), Ok(()));
    }

    #[test]
    fn no_header_is_a_missing_token() {
        assert_eq!(check(None), Err(AuthProblem::Missing));
        assert_eq!(
            AuthProblem::Missing.code(),
            "MissingAuthenticationTokenException"
        );
    }

    #[test]
    fn malformed_headers_are_invalid_signatures() {
        let cases = [
            String::new(),
            "Bearer abc".to_owned(),
            header("AKID/20250101/eu-west-2/s3/aws4_request"),
            header("AKID/2025-01-01/eu-west-2/connect/aws4_request"),
            header("AKID/20250101/eu-west-2/connect"),
            header("/20250101/eu-west-2/connect/aws4_request"),
            header("AKID/20250101//connect/aws4_request"),
            header("AKID/20250101/eu-west-2/connect/aws5_request"),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-2/connect/aws4_request, Signature={SIGNATURE}"
            ),
            "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-2/connect/aws4_request, SignedHeaders=host, Signature=xyz".to_owned(),
        ];
        for case in cases {
            let problem = check(Some(&case)).expect_err(&case);
            assert_eq!(problem.code(), "InvalidSignatureException", "{case}");
        }
    }
}
