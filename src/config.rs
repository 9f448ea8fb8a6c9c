//! The function's configuration, read from the environment once at cold start. A bad value
//! fails the init phase with a message that names the variable.

use std::num::NonZeroUsize;
use std::time::Duration;

use crate::domain::{
    Category, ChatDuration, ContactFlowId, InstanceId, PhoneNumberArn, RecipientTimeZone,
};
use crate::domain::{Defaults, SmsRules};
use crate::policy::{CapPolicy, CapRules, CapScope, RecipientKey};
use crate::policy::{SendWindow, WindowPolicy};

/// How a paced instance chooses its rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pacing {
    /// No client-side rate: calls go as fast as the in-flight bound lets them.
    Off,
    /// Adapts between a floor and `ceiling` (the account's quota): cuts on every throttle,
    /// probes back upward slowly. The default.
    Adaptive { ceiling: f64 },
    /// Exactly `rate`, whatever Connect answers: the old per-instance rule.
    Fixed { rate: f64 },
}

/// What the configuration says about recipient protection (contract §6).
#[derive(Clone, Debug)]
pub struct ProtectionConfig {
    /// `STATE_TABLE_NAME`.
    pub(crate) table: String,
    /// `RECIPIENT_HASH_KEY`.
    pub(crate) key: RecipientKey,
    /// `FREQUENCY_CAPS`, `FREQUENCY_CAP_SCOPE`, `FREQUENCY_CAP_CATEGORIES`; `None` = no caps.
    pub(crate) caps: Option<CapPolicy>,
    /// `DEFAULT_CATEGORY`: the category of a request that names none.
    pub(crate) default_category: Category,
}

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
    pub(crate) defaults: Defaults,
    /// Most Connect calls in flight at once within one invocation.
    pub(crate) max_in_flight: NonZeroUsize,
    /// Client-side pacing of Connect calls: `CONNECT_MAX_REQUESTS_PER_SECOND` (the account's
    /// quota, every instance's ceiling) and `CONNECT_PACING` (`adaptive` or `fixed`).
    pub(crate) pacing: Pacing,
    /// CloudWatch namespace of the function's metrics.
    pub(crate) metrics_namespace: String,
    /// How Connect calls are bounded in time; see [`SendTimeouts`].
    pub(crate) timeouts: SendTimeouts,
    /// The send windows (`SEND_WINDOW*`); `None`: no window, requests are sent when they come.
    pub(crate) send_window: Option<WindowPolicy>,
    /// The queue deferred requests of non-SQS triggers are handed to (`REQUEST_QUEUE_URL`).
    pub(crate) request_queue_url: Option<String>,
    /// How long after its first receive a throttled SQS record is still re-sent to its queue
    /// (`REQUEUE_MAX_HOURS`).
    pub(crate) requeue_max_age: Duration,
    /// How long the instance sends nothing after Connect reports a quota reached:
    /// [`QUOTA_PAUSE`]; not read from the environment.
    pub(crate) quota_pause: Duration,
    /// Frequency caps and the do-not-contact list; `None` when `STATE_TABLE_NAME` is unset.
    pub(crate) protection: Option<ProtectionConfig>,
    /// How long a contact flow's "Invoke AWS Lambda function" block waits for the answer
    /// (`FLOW_TIME_LIMIT_SECONDS`): the flow trigger answers within it, whatever the function's
    /// own timeout.
    pub(crate) flow_time_limit: Duration,
    /// The ledger of requests (contract §7); `None` without a table or with `LEDGER=off`.
    pub(crate) ledger: Option<LedgerConfig>,
}

/// What the configuration says about the ledger (contract §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    /// `LEDGER_RETENTION_DAYS`: an entry expires (DynamoDB TTL) this long after its last change.
    pub(crate) retention_days: u16,
    /// `OUTCOME_EVENT_BUS`: the EventBridge bus (name or ARN) every change is published to.
    pub(crate) outcome_event_bus: Option<String>,
    /// `DEFAULT_CATEGORY`: an entry gives the category a request was treated as.
    pub(crate) default_category: Category,
}

/// The slowest rate `CONNECT_MAX_REQUESTS_PER_SECOND` accepts (one call every 100 s); at the
/// adaptive floor (2 % of it) an interval is still well within a `Duration`.
pub const MIN_REQUESTS_PER_SECOND: f64 = 0.01;
/// The fastest rate it accepts: far above any account's quota.
pub const MAX_REQUESTS_PER_SECOND: f64 = 100_000.0;
/// `REQUEUE_MAX_HOURS` when unset, and its largest value (SQS's longest retention).
const DEFAULT_REQUEUE_MAX_HOURS: u64 = 24;
const MAX_REQUEUE_MAX_HOURS: u64 = 14 * 24;
/// The largest `SMS_MAX_SEGMENTS`: a text Connect accepts (1,024 characters) never needs more.
const MAX_SMS_SEGMENTS: u32 = 20;
/// The flow block's default time limit, and its longest: Amazon Connect waits at most 8 seconds
/// for a function.
pub const FLOW_TIME_LIMIT: Duration = Duration::from_secs(8);

/// After `LimitExceededException` or `ServiceQuotaExceededException` the instance sends nothing
/// for this long, in any invocation: the chat quota frees up as chats end, over minutes. Also the
/// `Retry-After` an HTTP caller gets.
pub const QUOTA_PAUSE: Duration = Duration::from_secs(60);

/// Time bounds of a Connect call, chosen so that no call outlives the invocation and that a
/// short invocation (Lambda's default 3 s timeout) still sends: a call is capped by the time
/// the invocation has left, not refused because a full attempt would not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendTimeouts {
    /// Time to open a connection to Connect.
    pub connect: Duration,
    /// One HTTP attempt, from sending to the last byte of the answer (the SDK's bound).
    pub attempt: Duration,
    /// The whole call, every SDK retry and backoff included; cut shorter when the invocation's
    /// cutoff comes first (see [`SendTimeouts::call_budget`]).
    pub operation: Duration,
    /// Kept free at the end of an invocation to build and return the answer.
    pub answer_reserve: Duration,
    /// The shortest time a call is given: no send starts with less left before the cutoff.
    /// Connect answers in tens of milliseconds; a call given less would mostly be cut.
    pub min_call: Duration,
}

impl Default for SendTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(4),
            operation: Duration::from_secs(10),
            answer_reserve: Duration::from_millis(250),
            min_call: Duration::from_millis(500),
        }
    }
}

impl SendTimeouts {
    /// No send starts with less time left than the shortest call plus the answer reserve.
    pub fn start_margin(&self) -> Duration {
        self.min_call + self.answer_reserve
    }

    /// The time a call starting now is given: the whole operation's, or less when the
    /// invocation's cutoff (`time_left` minus the answer reserve) comes first. Within it, the
    /// SDK bounds each attempt by `attempt`; an attempt still running at the cutoff is cut.
    pub fn call_budget(&self, time_left: Duration) -> Duration {
        self.operation
            .min(time_left.saturating_sub(self.answer_reserve))
    }
}

impl Config {
    /// How Connect calls (and the SDK clients built for them) are bounded in time.
    pub fn timeouts(&self) -> SendTimeouts {
        self.timeouts
    }

    /// The same configuration with other time bounds for Connect calls (tests of deadlines).
    pub fn with_timeouts(self, timeouts: SendTimeouts) -> Self {
        Self { timeouts, ..self }
    }

    /// The same configuration with another pause after a reached quota (tests of the pause).
    pub fn with_quota_pause(self, quota_pause: Duration) -> Self {
        Self {
            quota_pause,
            ..self
        }
    }

    /// Whether a send window is configured (`SEND_WINDOW*`).
    pub fn has_send_window(&self) -> bool {
        self.send_window.is_some()
    }

    /// The DynamoDB table of recipient protection (`STATE_TABLE_NAME`), when set.
    pub fn state_table(&self) -> Option<&str> {
        self.protection.as_ref().map(|p| p.table.as_str())
    }

    /// The ledger's settings, when it is on (`STATE_TABLE_NAME` set, `LEDGER` not `off`).
    pub fn ledger(&self) -> Option<&LedgerConfig> {
        self.ledger.as_ref()
    }

    /// The EventBridge bus outcome events go to (`OUTCOME_EVENT_BUS`), when set.
    pub fn outcome_event_bus(&self) -> Option<&str> {
        self.ledger.as_ref()?.outcome_event_bus.as_deref()
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
        let default_category = get("DEFAULT_CATEGORY")
            .map(|v| parse("DEFAULT_CATEGORY", Category::parse(&v)))
            .transpose()?
            .unwrap_or(Category::Transactional);
        let protection = protection(&get, default_category)?;
        let ledger = ledger(&get, protection.is_some(), default_category)?;
        Ok(Self {
            defaults: defaults(&get)?,
            max_in_flight: max_in_flight(&get)?,
            pacing: pacing(&get)?,
            metrics_namespace: metrics_namespace(&get)?,
            timeouts: SendTimeouts::default(),
            send_window: send_window(&get, default_category)?,
            request_queue_url: get("REQUEST_QUEUE_URL")
                .map(|v| parse("REQUEST_QUEUE_URL", queue_url(v)))
                .transpose()?,
            requeue_max_age: requeue_max_age(&get)?,
            quota_pause: QUOTA_PAUSE,
            protection,
            ledger,
            flow_time_limit: read(&get, "FLOW_TIME_LIMIT_SECONDS", flow_time_limit)?
                .unwrap_or(FLOW_TIME_LIMIT),
        })
    }

    /// How long a contact flow waits for the function's answer (`FLOW_TIME_LIMIT_SECONDS`).
    pub fn flow_time_limit(&self) -> Duration {
        self.flow_time_limit
    }
}

/// `FLOW_TIME_LIMIT_SECONDS`: whole seconds, 1 to 8 (the block's own range).
fn flow_time_limit(v: &str) -> Result<Duration, String> {
    let longest = FLOW_TIME_LIMIT.as_secs();
    v.parse::<u64>()
        .ok()
        .filter(|s| (1..=longest).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            format!("must be a whole number of seconds from 1 to {longest}, found {v:?}")
        })
}

/// What fills a request's gaps: `CONNECT_INSTANCE_ID`, `CONNECT_CONTACT_FLOW_ID`, the source
/// numbers, `DEFAULT_CHAT_DURATION_MINUTES`; and the SMS cost rules (`SMS_MAX_SEGMENTS`,
/// `SMS_SMART_ENCODING`), which the domain applies as it reads a message.
fn defaults(get: &impl Fn(&str) -> Option<String>) -> Result<Defaults, ConfigError> {
    Ok(Defaults {
        instance_id: get("CONNECT_INSTANCE_ID")
            .map(|v| parse("CONNECT_INSTANCE_ID", InstanceId::parse(&v)))
            .transpose()?,
        contact_flow_id: get("CONNECT_CONTACT_FLOW_ID")
            .map(|v| parse("CONNECT_CONTACT_FLOW_ID", ContactFlowId::parse(&v)))
            .transpose()?,
        sms_source: read(get, "SMS_SOURCE_PHONE_NUMBER_ARN", PhoneNumberArn::parse)?,
        whatsapp_source: read(
            get,
            "WHATSAPP_SOURCE_PHONE_NUMBER_ARN",
            PhoneNumberArn::parse,
        )?,
        chat_duration: read(get, "DEFAULT_CHAT_DURATION_MINUTES", |v: &str| {
            v.parse::<i64>()
                .map_err(|_| format!("must be a whole number of minutes, found {v:?}"))
                .and_then(ChatDuration::new)
        })?,
        sms: SmsRules {
            max_segments: read(get, "SMS_MAX_SEGMENTS", |v: &str| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_SMS_SEGMENTS).contains(n))
                    .ok_or_else(|| {
                        format!("must be a whole number from 1 to {MAX_SMS_SEGMENTS}, found {v:?}")
                    })
            })?,
            smart_encoding: read(get, "SMS_SMART_ENCODING", flag)?.unwrap_or(false),
        },
    })
}

/// The variable `name` read with `reader`, when set.
fn read<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    reader: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    get(name).map(|v| parse(name, reader(&v))).transpose()
}

/// `true` or `false`, in any case.
fn flag(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("must be true or false, found {raw:?}")),
    }
}

/// `MAX_IN_FLIGHT`: most Connect calls in flight in one invocation (default 10).
fn max_in_flight(get: &impl Fn(&str) -> Option<String>) -> Result<NonZeroUsize, ConfigError> {
    match get("MAX_IN_FLIGHT") {
        None => Ok(NonZeroUsize::new(10).expect("10 is not zero")),
        Some(v) => parse(
            "MAX_IN_FLIGHT",
            v.parse::<NonZeroUsize>()
                .map_err(|_| format!("must be a whole number of at least 1, found {v:?}")),
        ),
    }
}

/// `CONNECT_MAX_REQUESTS_PER_SECOND` and `CONNECT_PACING`. The rate is bounded so that no pacing
/// interval (one over the rate, at the adaptive floor too) can overflow a `Duration`, and a
/// value out of range fails the cold start instead of a send.
fn pacing(get: &impl Fn(&str) -> Option<String>) -> Result<Pacing, ConfigError> {
    let max_requests_per_second = get("CONNECT_MAX_REQUESTS_PER_SECOND")
        .map(|v| {
            let rate = v
                .parse::<f64>()
                .ok()
                .filter(|r| (MIN_REQUESTS_PER_SECOND..=MAX_REQUESTS_PER_SECOND).contains(r))
                .ok_or_else(|| {
                    format!(
                        "must be a number of requests per second from {MIN_REQUESTS_PER_SECOND} to {MAX_REQUESTS_PER_SECOND}, found {v:?}"
                    )
                });
            parse("CONNECT_MAX_REQUESTS_PER_SECOND", rate)
        })
        .transpose()?;
    let refused = |problem: String| ConfigError {
        variable: "CONNECT_PACING",
        problem,
    };
    match (get("CONNECT_PACING").as_deref(), max_requests_per_second) {
        (None | Some("adaptive"), Some(ceiling)) => Ok(Pacing::Adaptive { ceiling }),
        (Some("fixed"), Some(rate)) => Ok(Pacing::Fixed { rate }),
        (None, None) => Ok(Pacing::Off),
        (Some("adaptive" | "fixed"), None) => Err(refused(
            "needs CONNECT_MAX_REQUESTS_PER_SECOND (the account's quota)".into(),
        )),
        (Some(other), _) => Err(refused(format!(
            "must be adaptive or fixed, found {other:?}"
        ))),
    }
}

/// `METRICS_NAMESPACE` (default `OutboundChat`), at most 255 characters as CloudWatch allows.
fn metrics_namespace(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let namespace = get("METRICS_NAMESPACE").unwrap_or_else(|| "OutboundChat".into());
    if namespace.len() > 255 {
        return Err(ConfigError {
            variable: "METRICS_NAMESPACE",
            problem: "must be at most 255 characters".into(),
        });
    }
    Ok(namespace)
}

/// `REQUEUE_MAX_HOURS` (default 24, 1 to 336: the 14 days SQS keeps a message at most): how long
/// after its first receive a throttled record's copies are still re-sent to its queue.
fn requeue_max_age(get: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let hours = match get("REQUEUE_MAX_HOURS") {
        None => DEFAULT_REQUEUE_MAX_HOURS,
        Some(v) => parse(
            "REQUEUE_MAX_HOURS",
            v.parse::<u64>()
                .ok()
                .filter(|h| (1..=MAX_REQUEUE_MAX_HOURS).contains(h))
                .ok_or_else(|| {
                    format!("must be a whole number of hours from 1 to {MAX_REQUEUE_MAX_HOURS}, found {v:?}")
                }),
        )?,
    };
    Ok(Duration::from_secs(hours * 3600))
}

/// The send windows and what they bind; `None` when no `SEND_WINDOW*` is set. The other
/// variables are checked whether or not a window is set.
fn send_window(
    get: &impl Fn(&str) -> Option<String>,
    default_category: Category,
) -> Result<Option<WindowPolicy>, ConfigError> {
    let window = |name: &'static str| {
        get(name)
            .map(|v| parse(name, SendWindow::parse(&v)))
            .transpose()
    };
    let common = window("SEND_WINDOW")?;
    let sms = window("SEND_WINDOW_SMS")?.or_else(|| common.clone());
    let whatsapp = window("SEND_WINDOW_WHATSAPP")?.or(common);
    let categories = match get("SEND_WINDOW_CATEGORIES") {
        None => vec![Category::Transactional, Category::Promotional],
        Some(list) => parse(
            "SEND_WINDOW_CATEGORIES",
            list.split(',')
                .map(|c| Category::parse(c.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|problem| format!("{problem}, comma-separated; found {list:?}")),
        )?,
    };
    let default_time_zone = get("DEFAULT_TIME_ZONE")
        .map(|v| parse("DEFAULT_TIME_ZONE", RecipientTimeZone::parse(&v)))
        .transpose()?;
    if sms.is_none() && whatsapp.is_none() {
        return Ok(None);
    }
    Ok(Some(WindowPolicy {
        sms,
        whatsapp,
        categories,
        default_category,
        default_time_zone,
    }))
}

/// An SQS queue URL: `http(s)://host/account/name`, a standard queue (a FIFO queue takes no
/// per-message delay).
fn queue_url(url: String) -> Result<String, String> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.split('/').filter(|part| !part.is_empty()).count() < 4 {
        return Err(format!(
            "must be an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/requests, found {url:?}"
        ));
    }
    if url.ends_with(".fifo") {
        return Err("must be a standard queue: a FIFO queue takes no per-message delay".into());
    }
    Ok(url)
}

/// `STATE_TABLE_NAME` and what it switches on: the hash key, the caps and their scope and
/// categories; the caps read the configured `DEFAULT_CATEGORY` (contract §6). Every variable is checked
/// even when the table is unset, and caps without a table fail: they would silently not bind.
fn protection(
    get: &impl Fn(&str) -> Option<String>,
    default_category: Category,
) -> Result<Option<ProtectionConfig>, ConfigError> {
    let scope = get("FREQUENCY_CAP_SCOPE")
        .map(|v| parse("FREQUENCY_CAP_SCOPE", CapScope::parse(&v)))
        .transpose()?
        .unwrap_or_default();
    let categories = get("FREQUENCY_CAP_CATEGORIES")
        .map(|v| parse("FREQUENCY_CAP_CATEGORIES", CapPolicy::parse_categories(&v)))
        .transpose()?
        .unwrap_or_else(|| [Category::Promotional].into());
    let caps = get("FREQUENCY_CAPS")
        .map(|v| parse("FREQUENCY_CAPS", CapRules::parse(&v)))
        .transpose()?
        .map(|rules| CapPolicy {
            rules,
            scope,
            categories,
        });
    let key = get("RECIPIENT_HASH_KEY")
        .map(|v| parse("RECIPIENT_HASH_KEY", RecipientKey::parse(&v)))
        .transpose()?;
    let Some(table) = get("STATE_TABLE_NAME") else {
        return match caps {
            Some(_) => Err(ConfigError {
                variable: "FREQUENCY_CAPS",
                problem: "needs STATE_TABLE_NAME: the caps are counted in that table".into(),
            }),
            None => Ok(None),
        };
    };
    let valid_name = (3..=255).contains(&table.len())
        && table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid_name {
        return Err(ConfigError {
            variable: "STATE_TABLE_NAME",
            problem: "must be a DynamoDB table name: 3 to 255 of a-z A-Z 0-9 _ - .".into(),
        });
    }
    let key = key.ok_or_else(|| ConfigError {
        variable: "RECIPIENT_HASH_KEY",
        problem: "is not set: STATE_TABLE_NAME needs it to hash recipients".into(),
    })?;
    Ok(Some(ProtectionConfig {
        table,
        key,
        caps,
        default_category,
    }))
}

/// `LEDGER`, `LEDGER_RETENTION_DAYS` and `OUTCOME_EVENT_BUS`: the ledger is on by default
/// with a table; every variable is checked even when it is off, and what needs the table
/// (`LEDGER=on`, an outcome bus) fails without one rather than silently doing nothing.
fn ledger(
    get: &impl Fn(&str) -> Option<String>,
    has_table: bool,
    default_category: Category,
) -> Result<Option<LedgerConfig>, ConfigError> {
    let switch = get("LEDGER").map(|v| v.to_ascii_lowercase());
    let on = match switch.as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(ConfigError {
                variable: "LEDGER",
                problem: format!("must be on or off, found {other:?}"),
            });
        }
    };
    let retention_days = match get("LEDGER_RETENTION_DAYS") {
        None => DEFAULT_LEDGER_RETENTION_DAYS,
        Some(v) => parse(
            "LEDGER_RETENTION_DAYS",
            v.parse::<u16>()
                .ok()
                .filter(|days| (1..=3650).contains(days))
                .ok_or_else(|| {
                    format!("must be a whole number of days from 1 to 3650, found {v:?}")
                }),
        )?,
    };
    let outcome_event_bus = get("OUTCOME_EVENT_BUS")
        .map(|v| parse("OUTCOME_EVENT_BUS", event_bus(v)))
        .transpose()?;
    let needs_table = |variable: &'static str| ConfigError {
        variable,
        problem: "needs STATE_TABLE_NAME: the ledger is kept in that table".into(),
    };
    match (has_table, on) {
        (true, true) => Ok(Some(LedgerConfig {
            retention_days,
            outcome_event_bus,
            default_category,
        })),
        (false, _) if switch.as_deref() == Some("on") => Err(needs_table("LEDGER")),
        _ if outcome_event_bus.is_some() => Err(ConfigError {
            variable: "OUTCOME_EVENT_BUS",
            problem: "needs the ledger (STATE_TABLE_NAME set, LEDGER not off): outcome events are its changes".into(),
        }),
        _ => Ok(None),
    }
}

/// How long a ledger entry is kept after its last change when `LEDGER_RETENTION_DAYS` is unset.
pub const DEFAULT_LEDGER_RETENTION_DAYS: u16 = 90;

/// An EventBridge bus name or ARN, as PutEvents takes it.
fn event_bus(value: String) -> Result<String, String> {
    let valid = (1..=1600).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | ':'));
    if valid {
        Ok(value)
    } else {
        Err(format!(
            "must be an EventBridge bus name or ARN (letters, digits, / . - _ :), found {value:?}"
        ))
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
        assert!(c.send_window.is_none());
        assert_eq!(c.flow_time_limit, Duration::from_secs(8));
    }

    #[test]
    fn a_channel_window_overrides_the_common_one_and_binds_every_category_by_default() {
        let c = config(&[
            ("SEND_WINDOW", "Mon-Fri 08:00-21:00"),
            ("SEND_WINDOW_WHATSAPP", "Sat 09:00-18:00"),
        ])
        .unwrap();
        let policy = c.send_window.unwrap();
        assert_eq!(policy.sms, SendWindow::parse("Mon-Fri 08:00-21:00").ok());
        assert_eq!(policy.whatsapp, SendWindow::parse("Sat 09:00-18:00").ok());
        assert_eq!(
            policy.categories,
            [Category::Transactional, Category::Promotional]
        );
        let only_sms = config(&[("SEND_WINDOW_SMS", "Mon 08:00-09:00")]).unwrap();
        assert!(only_sms.send_window.unwrap().whatsapp.is_none());
    }

    #[test]
    fn a_call_gets_its_operation_timeout_or_what_is_left_before_the_answer_reserve() {
        let t = SendTimeouts::default();
        let ms = Duration::from_millis;
        // (time left, the call's budget)
        let cases = [
            (ms(30_000), ms(10_000)),
            (ms(4_250), ms(4_000)),
            (ms(2_900), ms(2_650)),
            (ms(750), ms(500)),
            (ms(100), ms(0)),
        ];
        for (left, budget) in cases {
            assert_eq!(t.call_budget(left), budget, "{left:?} left");
        }
        assert_eq!(t.start_margin(), ms(750));
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
            (
                "SEND_WINDOW",
                "Mon-Fri 08:00-21:00; Sat 09:00-18:00",
                "Mon-Fri 8-21",
            ),
            ("SEND_WINDOW_SMS", "Mon-Sun 09:00-20:00", "Sun 21:00-08:00"),
            (
                "SEND_WINDOW_WHATSAPP",
                "Sat 09:00-18:00",
                "Caturday 09:00-18:00",
            ),
            ("SEND_WINDOW_CATEGORIES", "PROMOTIONAL", "PROMOTIONAL,SPAM"),
            ("DEFAULT_CATEGORY", "promotional", "MARKETING"),
            ("DEFAULT_TIME_ZONE", "America/Chicago", "Central Time"),
            (
                "REQUEST_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/requests",
                "https://sqs.us-east-1.amazonaws.com/123456789012/requests.fifo",
            ),
            (
                "REQUEST_QUEUE_URL",
                "http://127.0.0.1:5000/123456789012/q",
                "requests",
            ),
            ("FREQUENCY_CAP_SCOPE", "recipient", "account"),
            (
                "FREQUENCY_CAP_CATEGORIES",
                "PROMOTIONAL,TRANSACTIONAL",
                "ALL",
            ),
            ("RECIPIENT_HASH_KEY", KEY, "c2hvcnQ="),
            ("FLOW_TIME_LIMIT_SECONDS", "8", "9"),
            ("FLOW_TIME_LIMIT_SECONDS", "1", "0"),
            ("FLOW_TIME_LIMIT_SECONDS", "3", "2.5"),
        ];
        for (variable, good, bad) in cases {
            assert!(config(&[(variable, good)]).is_ok(), "{variable}={good}");
            let err = config(&[(variable, bad)]).unwrap_err();
            assert_eq!(err.variable, *variable);
            assert!(err.to_string().contains(variable));
        }
    }

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    #[test]
    fn a_state_table_switches_protection_on_and_needs_the_hash_key() {
        assert!(config(&[]).unwrap().protection.is_none());
        let on = config(&[("STATE_TABLE_NAME", "state"), ("RECIPIENT_HASH_KEY", KEY)]).unwrap();
        let protection = on.protection.expect("protection");
        assert_eq!(protection.table, "state");
        assert!(protection.caps.is_none());
        assert_eq!(protection.default_category, Category::Transactional);
        let err = config(&[("STATE_TABLE_NAME", "state")]).unwrap_err();
        assert_eq!(err.variable, "RECIPIENT_HASH_KEY");
        let err = config(&[("STATE_TABLE_NAME", "s"), ("RECIPIENT_HASH_KEY", KEY)]).unwrap_err();
        assert_eq!(err.variable, "STATE_TABLE_NAME");
    }

    #[test]
    fn the_ledger_is_on_with_a_table_unless_switched_off_and_its_settings_name_themselves() {
        let table = [("STATE_TABLE_NAME", "state"), ("RECIPIENT_HASH_KEY", KEY)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = table.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        assert!(config(&[]).unwrap().ledger.is_none());
        let on = with(&[])
            .unwrap()
            .ledger
            .expect("on by default with a table");
        assert_eq!(on.retention_days, 90);
        assert_eq!(on.outcome_event_bus, None);
        assert!(with(&[("LEDGER", "off")]).unwrap().ledger.is_none());
        assert!(with(&[("LEDGER", "ON")]).unwrap().ledger.is_some());
        let bus = with(&[("OUTCOME_EVENT_BUS", "outcomes")]).unwrap();
        assert_eq!(bus.outcome_event_bus(), Some("outcomes"));
        // (variables, the variable named in the error)
        let refused: &[(&[(&str, &str)], &str)] = &[
            (&[("LEDGER", "yes")], "LEDGER"),
            (&[("LEDGER", "on")], "LEDGER"),
            (&[("OUTCOME_EVENT_BUS", "outcomes")], "OUTCOME_EVENT_BUS"),
            (&[("LEDGER_RETENTION_DAYS", "0")], "LEDGER_RETENTION_DAYS"),
        ];
        for (vars, variable) in refused {
            assert_eq!(config(vars).unwrap_err().variable, *variable, "{vars:?}");
        }
        let days =
            |v| with(&[("LEDGER_RETENTION_DAYS", v)]).map(|c| c.ledger.unwrap().retention_days);
        assert_eq!(days("1"), Ok(1));
        assert_eq!(days("3650"), Ok(3650));
        assert_eq!(days("3651").unwrap_err().variable, "LEDGER_RETENTION_DAYS");
        let off_with_bus = with(&[("LEDGER", "off"), ("OUTCOME_EVENT_BUS", "outcomes")]);
        assert_eq!(off_with_bus.unwrap_err().variable, "OUTCOME_EVENT_BUS");
        let bad_bus = with(&[("OUTCOME_EVENT_BUS", "my bus")]);
        assert_eq!(bad_bus.unwrap_err().variable, "OUTCOME_EVENT_BUS");
    }

    #[test]
    fn caps_bind_promotional_messages_per_channel_unless_told_otherwise_and_need_a_table() {
        let vars = [
            ("STATE_TABLE_NAME", "state"),
            ("RECIPIENT_HASH_KEY", KEY),
            ("FREQUENCY_CAPS", "1/24h,3/7d"),
        ];
        let caps = config(&vars).unwrap().protection.unwrap().caps.unwrap();
        assert_eq!(caps.rules.rules().len(), 2);
        assert_eq!(caps.scope, CapScope::Channel);
        assert_eq!(caps.categories, [Category::Promotional].into());
        let err = config(&[("FREQUENCY_CAPS", "1/24h")]).unwrap_err();
        assert_eq!(err.variable, "FREQUENCY_CAPS");
        let err = config(&[("FREQUENCY_CAPS", "1/24x")]).unwrap_err();
        assert_eq!(err.variable, "FREQUENCY_CAPS");
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
