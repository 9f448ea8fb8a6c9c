//! The function's configuration, read from the environment once at cold start. A bad value
//! fails the init phase with a message that names the variable.

use std::num::NonZeroUsize;
use std::time::Duration;

use crate::domain::Defaults;
use crate::domain::{ChatDuration, ContactFlowId, InstanceId, PhoneNumberArn};
use crate::pacing::Pacing;

/// A variable that is set to a value the function cannot use.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Everything the function reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// Used where a request leaves instance, flow, source or duration out.
    pub defaults: Defaults,
    /// Most Connect calls in flight at once within one invocation.
    pub max_in_flight: NonZeroUsize,
    /// Client-side pacing of Connect calls: `CONNECT_MAX_REQUESTS_PER_SECOND` (the account's
    /// quota, every instance's ceiling) and `CONNECT_PACING` (`adaptive` or `fixed`).
    pub pacing: Pacing,
    /// CloudWatch namespace of the function's metrics.
    pub metrics_namespace: String,
    /// How Connect calls are bounded in time; see [`SendTimeouts`].
    pub timeouts: SendTimeouts,
    /// How long the instance sends nothing after Connect reports a quota reached:
    /// [`QUOTA_PAUSE`]; not read from the environment.
    pub quota_pause: Duration,
}

/// After `LimitExceededException` or `ServiceQuotaExceededException` the instance sends nothing
/// for this long, in any invocation: the chat quota frees up as chats end, over minutes. Also the
/// `Retry-After` an HTTP caller gets.
pub const QUOTA_PAUSE: Duration = Duration::from_secs(60);

/// Time bounds of a Connect call, chosen so that no call outlives the invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendTimeouts {
    /// Time to open a connection to Connect.
    pub connect: Duration,
    /// One HTTP attempt, from sending to the last byte of the answer.
    pub attempt: Duration,
    /// The whole call, every SDK retry and backoff included.
    pub operation: Duration,
    /// Kept free at the end of an invocation to build and return the answer.
    pub answer_reserve: Duration,
}

impl Default for SendTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(4),
            operation: Duration::from_secs(10),
            answer_reserve: Duration::from_millis(250),
        }
    }
}

impl SendTimeouts {
    /// No send starts with less time left than one full attempt plus the answer reserve:
    /// a call cut shorter could not even finish once.
    pub fn start_margin(&self) -> Duration {
        self.attempt + self.answer_reserve
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    /// Empty values count as unset: CloudFormation cannot leave a variable out conditionally
    /// without extra ceremony, and an empty default means "no default".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let defaults = Defaults {
            instance_id: get("CONNECT_INSTANCE_ID")
                .map(|v| parse("CONNECT_INSTANCE_ID", InstanceId::parse(&v)))
                .transpose()?,
            contact_flow_id: get("CONNECT_CONTACT_FLOW_ID")
                .map(|v| parse("CONNECT_CONTACT_FLOW_ID", ContactFlowId::parse(&v)))
                .transpose()?,
            sms_source: get("SMS_SOURCE_PHONE_NUMBER_ARN")
                .map(|v| parse("SMS_SOURCE_PHONE_NUMBER_ARN", PhoneNumberArn::parse(&v)))
                .transpose()?,
            whatsapp_source: get("WHATSAPP_SOURCE_PHONE_NUMBER_ARN")
                .map(|v| {
                    parse(
                        "WHATSAPP_SOURCE_PHONE_NUMBER_ARN",
                        PhoneNumberArn::parse(&v),
                    )
                })
                .transpose()?,
            chat_duration: get("DEFAULT_CHAT_DURATION_MINUTES")
                .map(|v| {
                    let minutes = v
                        .parse::<i64>()
                        .map_err(|_| format!("must be a whole number of minutes, found {v:?}"))
                        .and_then(ChatDuration::new);
                    parse("DEFAULT_CHAT_DURATION_MINUTES", minutes)
                })
                .transpose()?,
        };

        let max_in_flight = match get("MAX_IN_FLIGHT") {
            None => NonZeroUsize::new(10).expect("10 is not zero"),
            Some(v) => parse(
                "MAX_IN_FLIGHT",
                v.parse::<NonZeroUsize>()
                    .map_err(|_| format!("must be a whole number of at least 1, found {v:?}")),
            )?,
        };
        let max_requests_per_second = get("CONNECT_MAX_REQUESTS_PER_SECOND")
            .map(|v| {
                let rate = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        format!("must be a number of requests per second above 0, found {v:?}")
                    });
                parse("CONNECT_MAX_REQUESTS_PER_SECOND", rate)
            })
            .transpose()?;
        let pacing = match (get("CONNECT_PACING").as_deref(), max_requests_per_second) {
            (None | Some("adaptive"), Some(ceiling)) => Pacing::Adaptive { ceiling },
            (Some("fixed"), Some(rate)) => Pacing::Fixed { rate },
            (None, None) => Pacing::Off,
            (Some("adaptive" | "fixed"), None) => {
                return Err(ConfigError {
                    variable: "CONNECT_PACING",
                    problem: "needs CONNECT_MAX_REQUESTS_PER_SECOND (the account's quota)".into(),
                });
            }
            (Some(other), _) => {
                return Err(ConfigError {
                    variable: "CONNECT_PACING",
                    problem: format!("must be adaptive or fixed, found {other:?}"),
                });
            }
        };
        let metrics_namespace = get("METRICS_NAMESPACE").unwrap_or_else(|| "OutboundChat".into());
        if metrics_namespace.len() > 255 {
            return Err(ConfigError {
                variable: "METRICS_NAMESPACE",
                problem: "must be at most 255 characters".into(),
            });
        }

        Ok(Self {
            defaults,
            max_in_flight,
            pacing,
            metrics_namespace,
            timeouts: SendTimeouts::default(),
            quota_pause: QUOTA_PAUSE,
        })
    }
}

/// Names the variable in a value's problem.
fn parse<T>(variable: &'static str, result: Result<T, String>) -> Result<T, ConfigError> {
    result.map_err(|problem| ConfigError { variable, problem })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_configured_gives_the_documented_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.max_in_flight.get(), 10);
        assert_eq!(c.pacing, Pacing::Off);
        assert_eq!(c.metrics_namespace, "OutboundChat");
        assert!(c.defaults.instance_id.is_none());
    }

    #[test]
    fn each_variable_accepts_a_good_value_and_names_itself_when_bad() {
        let arn = "arn:aws:connect:us-east-1:123456789012:phone-number/abc";
        let cases: &[(&str, &str, &str)] = &[
            (
                "CONNECT_INSTANCE_ID",
                "f1e2d3c4-0000-4000-8000-000000000001",
                &"x".repeat(101),
            ),
            ("CONNECT_CONTACT_FLOW_ID", "flow-1", &"x".repeat(501)),
            ("SMS_SOURCE_PHONE_NUMBER_ARN", arn, "+14255550100"),
            (
                "WHATSAPP_SOURCE_PHONE_NUMBER_ARN",
                arn,
                "arn:aws:s3:::bucket",
            ),
            ("DEFAULT_CHAT_DURATION_MINUTES", "120", "59"),
            ("MAX_IN_FLIGHT", "4", "0"),
            ("CONNECT_MAX_REQUESTS_PER_SECOND", "2.5", "-1"),
            ("METRICS_NAMESPACE", "Reminders", &"n".repeat(256)),
        ];
        for (variable, good, bad) in cases {
            assert!(config(&[(variable, good)]).is_ok(), "{variable}={good}");
            let err = config(&[(variable, bad)]).unwrap_err();
            assert_eq!(err.variable, *variable);
            assert!(err.to_string().contains(variable));
        }
    }

    #[test]
    fn the_rate_is_the_fleet_ceiling_of_adaptive_pacing_unless_pacing_is_fixed() {
        /// (variables, the pacing or the variable named in the error)
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<Pacing, &'a str>);
        let cases: &[Case] = &[
            (&[], Ok(Pacing::Off)),
            (
                &[("CONNECT_MAX_REQUESTS_PER_SECOND", "2")],
                Ok(Pacing::Adaptive { ceiling: 2.0 }),
            ),
            (
                &[
                    ("CONNECT_MAX_REQUESTS_PER_SECOND", "20"),
                    ("CONNECT_PACING", "adaptive"),
                ],
                Ok(Pacing::Adaptive { ceiling: 20.0 }),
            ),
            (
                &[
                    ("CONNECT_MAX_REQUESTS_PER_SECOND", "0.5"),
                    ("CONNECT_PACING", "fixed"),
                ],
                Ok(Pacing::Fixed { rate: 0.5 }),
            ),
            (&[("CONNECT_PACING", "fixed")], Err("CONNECT_PACING")),
            (&[("CONNECT_PACING", "adaptive")], Err("CONNECT_PACING")),
            (
                &[
                    ("CONNECT_MAX_REQUESTS_PER_SECOND", "2"),
                    ("CONNECT_PACING", "Fixed"),
                ],
                Err("CONNECT_PACING"),
            ),
        ];
        for (vars, expected) in cases {
            let got = config(vars).map(|c| c.pacing).map_err(|e| e.variable);
            assert_eq!(&got, expected, "{vars:?}");
        }
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let c = config(&[
            ("CONNECT_MAX_REQUESTS_PER_SECOND", ""),
            ("CONNECT_INSTANCE_ID", " "),
        ])
        .unwrap();
        assert_eq!(c.pacing, Pacing::Off);
        assert!(c.defaults.instance_id.is_none());
    }
}
