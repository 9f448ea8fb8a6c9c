//! What a refused request is told: each broken rule with the path of its field (as the caller
//! wrote it), a sentence to act on, and the BatchPutContact failure code it maps to.

use std::fmt;

use super::channel::Channel;
use super::ids::ClientToken;

/// What a violation is about, in the terms of BatchPutContact's failure codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    MissingCustomerEndpoint,
    InvalidCustomerEndpoint,
    InvalidSystemEndpoint,
    InvalidAttributeKey,
    /// An SMS longer than `SMS_MAX_SEGMENTS` allows.
    TooManySegments,
    Invalid,
}

/// One broken rule: the field's path in the form the caller used, and a sentence to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
    pub reason: Reason,
}

impl Violation {
    pub fn new(field: impl Into<String>, message: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            reason,
        }
    }
}

/// Every rule a request broke. Never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    violations: Vec<Violation>,
    /// The channel the request asked for, when it could be read: operators filter logs and
    /// metrics by channel, refused requests included.
    channel: Option<Channel>,
    /// The client token the request would have had, when one could be told: the ledger
    /// records a refused request under it.
    token: Option<ClientToken>,
}

impl ValidationError {
    pub fn single(violation: Violation) -> Self {
        Self {
            violations: vec![violation],
            channel: None,
            token: None,
        }
    }

    /// Several violations found before the rules run (e.g. by the wire side). `violations`
    /// must not be empty.
    pub fn several(violations: Vec<Violation>) -> Self {
        debug_assert!(!violations.is_empty(), "an error names its violations");
        Self {
            violations,
            channel: None,
            token: None,
        }
    }

    pub(super) fn from_check(check: Check, channel: Option<Channel>) -> Self {
        Self {
            violations: check.violations,
            channel,
            token: None,
        }
    }

    /// Joins the violations found before the rules ran (`earlier`, e.g. members refused by the
    /// wire side) to these, first; a rule's violation of a member already refused is dropped,
    /// since the member was left out and its rule saw it missing.
    pub fn with_earlier(mut self, mut earlier: Vec<Violation>) -> Self {
        self.violations.retain(|v| {
            !earlier.iter().any(|e| {
                !e.field.is_empty()
                    && (v.field == e.field || v.field.starts_with(&format!("{}.", e.field)))
            })
        });
        earlier.append(&mut self.violations);
        self.violations = earlier;
        self
    }

    /// The same violations, about a request on `channel`: for a trigger that reports
    /// violations of its own beside the rules' (a flow block's parameters).
    pub fn with_channel(mut self, channel: Option<Channel>) -> Self {
        self.channel = channel;
        self
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    pub fn channel(&self) -> Option<Channel> {
        self.channel
    }

    /// The client token of the refused request, when one could be told.
    pub fn client_token(&self) -> Option<&ClientToken> {
        self.token.as_ref()
    }

    /// The same error, with the token the request would have had (a token already known wins).
    pub fn with_token(mut self, token: Option<ClientToken>) -> Self {
        if self.token.is_none() {
            self.token = token;
        }
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid request: ")?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if v.field.is_empty() {
                f.write_str(&v.message)?;
            } else {
                write!(f, "{}: {}", v.field, v.message)?;
            }
        }
        Ok(())
    }
}

/// Collects violations while a request is converted, so that every one is reported at once.
#[derive(Default)]
pub(super) struct Check {
    violations: Vec<Violation>,
}

impl Check {
    pub(super) fn push(
        &mut self,
        field: impl Into<String>,
        message: impl Into<String>,
        reason: Reason,
    ) {
        self.violations.push(Violation::new(field, message, reason));
    }

    /// Keeps the value of `result`, or records its problem against `field`.
    pub(super) fn field<T>(
        &mut self,
        field: &str,
        reason: Reason,
        result: Result<T, String>,
    ) -> Option<T> {
        result
            .map_err(|message| self.push(field, message, reason))
            .ok()
    }

    /// A required member: its parsed value, or a recorded "is required" / problem.
    pub(super) fn required<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match raw {
            None => {
                self.push(field, "is required", Reason::Invalid);
                None
            }
            Some(raw) => self.field(field, Reason::Invalid, parse(raw)),
        }
    }

    /// An optional member: `None` when absent, `Some(None)` when present and invalid
    /// (recorded).
    pub(super) fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        raw.map(|raw| self.field(field, Reason::Invalid, parse(raw)))
    }

    /// Records each `(key, problem)` under `prefix.key`.
    pub(super) fn keyed(&mut self, prefix: &str, problems: Vec<(String, String)>, reason: Reason) {
        for (key, problem) in problems {
            self.push(format!("{prefix}.{key}"), problem, reason);
        }
    }

    pub(super) fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}
