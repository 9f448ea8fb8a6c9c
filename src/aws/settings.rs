//! The Connect client's settings, read at cold start from the variables Lambda sets (region,
//! the execution role's credentials) and the standard AWS overrides the function honours
//! (endpoint, FIPS, dual-stack, retry mode and attempts, app id).
//!
//! Read here rather than through aws-config: in Lambda every one of them is an environment
//! variable, and aws-config's other sources (profile files, web identity and STS,
//! the container and instance metadata endpoints) would add ~1 MB to the binary and file
//! reads to the cold start without ever being used. See BENCHMARKS.md.

use aws_sdk_connect::config::retry::{RetryConfig, RetryMode};
use aws_sdk_connect::config::{AppName, Credentials};

use crate::config::ConfigError;

/// Attempts per call (the first and the retries) when `AWS_MAX_ATTEMPTS` is unset: the SDK's
/// standard mode default.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Where Connect is and who calls it.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`: Lambda sets them
    /// to the execution role's credentials for the environment's lifetime. (Their `Debug`
    /// hides the secret and the token.)
    pub credentials: Credentials,
    /// `AWS_ENDPOINT_URL_CONNECT`, else `AWS_ENDPOINT_URL`; both ignored when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
    pub endpoint_url: Option<String>,
    /// `AWS_USE_FIPS_ENDPOINT`.
    pub use_fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT`.
    pub use_dual_stack: bool,
    /// `AWS_RETRY_MODE` (`standard` or `adaptive`) and `AWS_MAX_ATTEMPTS`.
    pub retry: RetryConfig,
    /// `AWS_SDK_UA_APP_ID`: added to the User-Agent.
    pub app_name: Option<AppName>,
}

impl ClientSettings {
    /// Reads the settings through `lookup`; an unset or blank variable is absent.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup, "AWS_ENDPOINT_URL_CONNECT")
    }

    /// The same settings for the SQS client: its endpoint is `AWS_ENDPOINT_URL_SQS`, else
    /// `AWS_ENDPOINT_URL`.
    pub fn for_sqs(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup, "AWS_ENDPOINT_URL_SQS")
    }

    /// The settings of a client whose service-specific endpoint variable is `endpoint_variable`.
    fn read(
        lookup: impl Fn(&str) -> Option<String>,
        endpoint_variable: &'static str,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str, why: &str| {
            get(name).ok_or_else(|| error(name, format!("is not set: {why}")))
        };
        let flag = |name: &'static str| match get(name) {
            None => Ok(false),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(error(name, "must be true or false".into())),
        };

        let region = match get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")) {
            Some(region) => region,
            None => {
                return Err(error(
                    "AWS_REGION",
                    "is not set (nor AWS_DEFAULT_REGION): Lambda sets it; set it for a local run"
                        .into(),
                ));
            }
        };
        let credentials = Credentials::new(
            required(
                "AWS_ACCESS_KEY_ID",
                "Lambda sets the execution role's credentials",
            )?,
            required(
                "AWS_SECRET_ACCESS_KEY",
                "Lambda sets it with AWS_ACCESS_KEY_ID",
            )?,
            get("AWS_SESSION_TOKEN"),
            None,
            "environment",
        );

        let endpoint_url = endpoint_url(endpoint_variable, &get, flag)?;

        let retry = retry(&get)?;
        let app_name = app_name(&get)?;

        Ok(Self {
            region,
            credentials,
            endpoint_url,
            use_fips: flag("AWS_USE_FIPS_ENDPOINT")?,
            use_dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT")?,
            retry,
            app_name,
        })
    }
}

/// `AWS_RETRY_MODE` (`standard`, the default, or `adaptive`) and `AWS_MAX_ATTEMPTS`.
fn retry(get: &impl Fn(&str) -> Option<String>) -> Result<RetryConfig, ConfigError> {
    let mode = match get("AWS_RETRY_MODE") {
        None => RetryMode::Standard,
        Some(mode) if mode.eq_ignore_ascii_case("standard") => RetryMode::Standard,
        Some(mode) if mode.eq_ignore_ascii_case("adaptive") => RetryMode::Adaptive,
        Some(_) => {
            return Err(error(
                "AWS_RETRY_MODE",
                "must be standard or adaptive".into(),
            ));
        }
    };
    let max_attempts = match get("AWS_MAX_ATTEMPTS") {
        None => DEFAULT_MAX_ATTEMPTS,
        Some(raw) => match raw.parse::<u32>() {
            Ok(attempts) if attempts >= 1 => attempts,
            _ => {
                return Err(error(
                    "AWS_MAX_ATTEMPTS",
                    "must be a whole number of at least 1".into(),
                ));
            }
        },
    };
    let retry = match mode {
        RetryMode::Adaptive => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    Ok(retry.with_max_attempts(max_attempts))
}

/// `AWS_SDK_UA_APP_ID`, added to the User-Agent.
fn app_name(get: &impl Fn(&str) -> Option<String>) -> Result<Option<AppName>, ConfigError> {
    get("AWS_SDK_UA_APP_ID")
        .map(|id| {
            AppName::new(id).map_err(|_| {
                error(
                    "AWS_SDK_UA_APP_ID",
                    "may hold only letters, digits and !#$%&'*+-.^_`|~".into(),
                )
            })
        })
        .transpose()
}

impl ClientSettings {
    /// The same settings for another service, whose endpoint override is `variable`
    /// (`AWS_ENDPOINT_URL_DYNAMODB`), else `AWS_ENDPOINT_URL`.
    pub fn for_service(
        &self,
        variable: &'static str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let flag = |name: &'static str| match get(name) {
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if !value.eq_ignore_ascii_case("false") => {
                Err(error(name, "must be true or false".into()))
            }
            _ => Ok(false),
        };
        Ok(Self {
            endpoint_url: endpoint_url(variable, &get, flag)?,
            ..self.clone()
        })
    }
}

/// The service's endpoint override (`variable`, else `AWS_ENDPOINT_URL`), unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
fn endpoint_url(
    variable: &'static str,
    get: &impl Fn(&str) -> Option<String>,
    flag: impl Fn(&'static str) -> Result<bool, ConfigError>,
) -> Result<Option<String>, ConfigError> {
    if flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")? {
        return Ok(None);
    }
    let named = |name: &'static str| get(name).map(|url| (name, url));
    match named(variable).or_else(|| named("AWS_ENDPOINT_URL")) {
        Some((name, url)) if !is_http_url(&url) => Err(error(
            name,
            "must be an http:// or https:// URL with a host".into(),
        )),
        found => Ok(found.map(|(_, url)| url)),
    }
}

/// `http://host...` or `https://host...`, the scheme in any case.
fn is_http_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.is_empty()
}

fn error(variable: &'static str, problem: String) -> ConfigError {
    ConfigError { variable, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Lambda sets.
    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-2"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    fn read(overrides: &[(&str, &str)], removed: &[&str]) -> Result<ClientSettings, ConfigError> {
        ClientSettings::from_lookup(|name| {
            if removed.contains(&name) {
                return None;
            }
            overrides
                .iter()
                .chain(LAMBDA)
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn lambdas_variables_alone_give_the_region_credentials_and_standard_retries() {
        let settings = read(&[], &[]).unwrap();
        assert_eq!(settings.region, "eu-west-2");
        assert_eq!(settings.credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(settings.credentials.secret_access_key(), "secret");
        assert_eq!(settings.credentials.session_token(), Some("token"));
        assert_eq!(settings.endpoint_url, None);
        assert!(!settings.use_fips && !settings.use_dual_stack);
        assert_eq!(settings.retry.mode(), RetryMode::Standard);
        assert_eq!(settings.retry.max_attempts(), 3);
        assert!(settings.app_name.is_none());
    }

    #[test]
    fn each_variable_is_read_and_a_bad_value_names_its_variable() {
        type Check = fn(&ClientSettings) -> bool;
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
            Result<Check, &'static str>,
        );
        // (variables set, variables removed, Ok(check) or Err(the variable named))
        let cases: &[Case] = &[
            (
                &[("AWS_DEFAULT_REGION", "ap-south-1")],
                &["AWS_REGION"],
                Ok(|s| s.region == "ap-south-1"),
            ),
            (&[], &["AWS_REGION"], Err("AWS_REGION")),
            (&[("AWS_REGION", "  ")], &[], Err("AWS_REGION")),
            (&[], &["AWS_ACCESS_KEY_ID"], Err("AWS_ACCESS_KEY_ID")),
            (
                &[],
                &["AWS_SECRET_ACCESS_KEY"],
                Err("AWS_SECRET_ACCESS_KEY"),
            ),
            (
                &[],
                &["AWS_SESSION_TOKEN"],
                Ok(|s| s.credentials.session_token().is_none()),
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL_CONNECT", "http://127.0.0.1:4566"),
                    ("AWS_ENDPOINT_URL", "http://other"),
                ],
                &[],
                Ok(|s| s.endpoint_url.as_deref() == Some("http://127.0.0.1:4566")),
            ),
            (
                &[("AWS_ENDPOINT_URL", "https://connect.example")],
                &[],
                Ok(|s| s.endpoint_url.as_deref() == Some("https://connect.example")),
            ),
            (
                &[("AWS_ENDPOINT_URL_CONNECT", "127.0.0.1:4566")],
                &[],
                Err("AWS_ENDPOINT_URL_CONNECT"),
            ),
            (
                &[("AWS_ENDPOINT_URL_CONNECT", "http://")],
                &[],
                Err("AWS_ENDPOINT_URL_CONNECT"),
            ),
            (
                &[("AWS_ENDPOINT_URL_CONNECT", "HTTPS://connect.example")],
                &[],
                Ok(|s| s.endpoint_url.is_some()),
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL_CONNECT", "http://127.0.0.1:4566"),
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
                ],
                &[],
                Ok(|s| s.endpoint_url.is_none()),
            ),
            (
                &[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "yes")],
                &[],
                Err("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"),
            ),
            (
                &[("AWS_USE_FIPS_ENDPOINT", "TRUE")],
                &[],
                Ok(|s| s.use_fips),
            ),
            (
                &[("AWS_USE_FIPS_ENDPOINT", "1")],
                &[],
                Err("AWS_USE_FIPS_ENDPOINT"),
            ),
            (
                &[("AWS_USE_DUALSTACK_ENDPOINT", "true")],
                &[],
                Ok(|s| s.use_dual_stack),
            ),
            (
                &[("AWS_USE_DUALSTACK_ENDPOINT", "on")],
                &[],
                Err("AWS_USE_DUALSTACK_ENDPOINT"),
            ),
            (
                &[("AWS_RETRY_MODE", "adaptive"), ("AWS_MAX_ATTEMPTS", "5")],
                &[],
                Ok(|s| s.retry.mode() == RetryMode::Adaptive && s.retry.max_attempts() == 5),
            ),
            (&[("AWS_RETRY_MODE", "legacy")], &[], Err("AWS_RETRY_MODE")),
            (
                &[("AWS_MAX_ATTEMPTS", "1")],
                &[],
                Ok(|s| s.retry.max_attempts() == 1),
            ),
            (&[("AWS_MAX_ATTEMPTS", "0")], &[], Err("AWS_MAX_ATTEMPTS")),
            (
                &[("AWS_MAX_ATTEMPTS", "three")],
                &[],
                Err("AWS_MAX_ATTEMPTS"),
            ),
            (
                &[("AWS_SDK_UA_APP_ID", "reminders-v2")],
                &[],
                Ok(|s| {
                    s.app_name
                        .as_ref()
                        .is_some_and(|a| a.to_string() == "reminders-v2")
                }),
            ),
            (
                &[("AWS_SDK_UA_APP_ID", "has space")],
                &[],
                Err("AWS_SDK_UA_APP_ID"),
            ),
        ];
        for (set, removed, expected) in cases {
            match (read(set, removed), expected) {
                (Ok(settings), Ok(check)) => {
                    assert!(check(&settings), "{set:?} -{removed:?}: {settings:?}")
                }
                (Err(err), Err(variable)) => {
                    assert_eq!(err.variable, *variable, "{set:?} -{removed:?}")
                }
                (got, _) => panic!(
                    "{set:?} -{removed:?}: got {got:?}, expected {}",
                    if expected.is_ok() { "Ok" } else { "Err" }
                ),
            }
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let settings = read(&[], &[]).unwrap();
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("secret\"") && !debug.contains("\"token\""),
            "{debug}"
        );
    }
}
