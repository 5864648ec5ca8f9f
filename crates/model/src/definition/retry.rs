//! Retry policy of a typed step (§2.4): limits per error kind, a backoff, the defaults Maestro
//! merges in, and the delay formulas — all pure functions the engine calls.
//!
//! Every number is a [`ParsableLong`]; [`RetryPolicy::parse_with`] interpolates and checks them
//! (limits and exponents must be numeric, backoff seconds may be durations such as `"1 min 40 s"`),
//! and the delay functions then work on numbers only.

use super::ParsableLong;
use crate::duration::{self, DurationError};
use crate::json::{from_value_at, take_type};
use crate::path::sub_path_error;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The three kinds of failure that are retried, each with its own counter and backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryKind {
    /// A user error (`USER_FAILED`).
    Error,
    /// A platform error (`PLATFORM_FAILED`).
    Platform,
    /// A step timeout (`TIMEOUT_FAILED`).
    Timeout,
}

/// A retry policy as written on a typed step. Absent fields take the defaults on merge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries for user errors (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_retry_limit: Option<ParsableLong>,
    /// Retries for platform errors (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_retry_limit: Option<ParsableLong>,
    /// Retries for timeouts (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_retry_limit: Option<ParsableLong>,
    /// How long to wait between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// Exponential backoff: `min(backoff * exponent^n, limit)` seconds after `n` retries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialBackoff {
    /// Base wait for user errors, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_retry_backoff_in_secs: Option<ParsableLong>,
    /// Exponent for user errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_retry_exponent: Option<ParsableLong>,
    /// Longest wait for user errors, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_retry_limit_in_secs: Option<ParsableLong>,
    /// Base wait for platform errors, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_retry_backoff_in_secs: Option<ParsableLong>,
    /// Exponent for platform errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_retry_exponent: Option<ParsableLong>,
    /// Longest wait for platform errors, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_retry_limit_in_secs: Option<ParsableLong>,
    /// Base wait for timeouts, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_retry_backoff_in_secs: Option<ParsableLong>,
    /// Exponent for timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_retry_exponent: Option<ParsableLong>,
    /// Longest wait for timeouts, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_retry_limit_in_secs: Option<ParsableLong>,
}

/// Fixed backoff: the same wait before every retry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedBackoff {
    /// Wait for user errors, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_retry_backoff_in_secs: Option<ParsableLong>,
    /// Wait for platform errors, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_retry_backoff_in_secs: Option<ParsableLong>,
    /// Wait for timeouts, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_retry_backoff_in_secs: Option<ParsableLong>,
}

/// A backoff, tagged by `type`: `EXPONENTIAL_BACKOFF` or `FIXED_BACKOFF` (case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub enum Backoff {
    /// `EXPONENTIAL_BACKOFF`.
    Exponential(ExponentialBackoff),
    /// `FIXED_BACKOFF`.
    Fixed(FixedBackoff),
}

const EXPONENTIAL: &str = "EXPONENTIAL_BACKOFF";
const FIXED: &str = "FIXED_BACKOFF";

impl Serialize for Backoff {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Maestro lists the numbers first and `type` last.
        let (fields, ty) = match self {
            Backoff::Exponential(b) => (serde_json::to_value(b), EXPONENTIAL),
            Backoff::Fixed(b) => (serde_json::to_value(b), FIXED),
        };
        let fields = fields.map_err(serde::ser::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let Value::Object(obj) = fields {
            for (k, v) in obj {
                m.serialize_entry(&k, &v)?;
            }
        }
        m.serialize_entry("type", ty)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Backoff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let (ty, rest) = take_type(v).map_err(|(p, m)| sub_path_error(&p, m))?;
        let rest = Value::Object(rest);
        let parsed = if ty.eq_ignore_ascii_case(EXPONENTIAL) {
            from_value_at(rest).map(Backoff::Exponential)
        } else if ty.eq_ignore_ascii_case(FIXED) {
            from_value_at(rest).map(Backoff::Fixed)
        } else {
            Err((
                "type".to_string(),
                format!("unknown backoff type `{ty}`, expected one of {EXPONENTIAL}, {FIXED}"),
            ))
        };
        parsed.map_err(|(p, m)| sub_path_error(&p, m))
    }
}

/// A retry policy field that failed to parse or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {error}")]
pub struct RetryPolicyError {
    /// The field, relative to the policy (`error_retry_limit`, `backoff.error_retry_exponent`).
    pub field: String,
    /// What is wrong.
    pub error: DurationError,
}

/// How a field is read after interpolation.
#[derive(Clone, Copy)]
enum FieldKind {
    /// A retry limit: numeric, [0, 99].
    Limit,
    /// An exponent: numeric, [0, 2^31-1].
    Exponent,
    /// A backoff or cap in seconds: number or duration, [1, 86400].
    Seconds,
}

fn parse_field<E: std::fmt::Display>(
    value: &Option<ParsableLong>,
    field: &str,
    kind: FieldKind,
    interpolate: &mut dyn FnMut(&str) -> Result<String, E>,
) -> Result<Option<ParsableLong>, RetryPolicyError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let err = |error| RetryPolicyError {
        field: field.to_string(),
        error,
    };
    let (min, max) = match kind {
        FieldKind::Limit => (0, duration::MAX_RETRY_LIMIT),
        FieldKind::Exponent => (0, i64::from(i32::MAX)),
        FieldKind::Seconds => (1, duration::MAX_RETRY_BACKOFF_SECS),
    };
    let parsed = match value {
        ParsableLong::Long(n) => duration::check_range(&n.to_string(), *n, min, max),
        ParsableLong::String(s) => {
            let text =
                interpolate(s).map_err(|e| err(DurationError::NotANumber(format!("{s} ({e})"))))?;
            match kind {
                FieldKind::Seconds => duration::parse_retry_seconds(&text, min, max),
                _ => duration::parse_retry_number(&text, min, max),
            }
        }
    }
    .map_err(err)?;
    Ok(Some(ParsableLong::Long(parsed)))
}

impl RetryPolicy {
    /// Maestro's default policy: limits 2 / 10 / 0 and the default exponential backoff.
    pub fn default_policy() -> Self {
        RetryPolicy {
            error_retry_limit: Some(ParsableLong::Long(2)),
            platform_retry_limit: Some(ParsableLong::Long(10)),
            timeout_retry_limit: Some(ParsableLong::Long(0)),
            backoff: Some(Backoff::Exponential(ExponentialBackoff::default_backoff())),
        }
    }

    /// Fills unset fields from the default policy (`RetryPolicy.tryMergeWithDefault`): unset
    /// limits take the defaults, an unset backoff the default exponential one, and a partial
    /// backoff is completed from the defaults of its own type.
    pub fn merged_with_default(policy: Option<&RetryPolicy>) -> RetryPolicy {
        let default = RetryPolicy::default_policy();
        let Some(policy) = policy else {
            return default;
        };
        RetryPolicy {
            error_retry_limit: policy
                .error_retry_limit
                .clone()
                .or(default.error_retry_limit),
            platform_retry_limit: policy
                .platform_retry_limit
                .clone()
                .or(default.platform_retry_limit),
            timeout_retry_limit: policy
                .timeout_retry_limit
                .clone()
                .or(default.timeout_retry_limit),
            backoff: Some(match &policy.backoff {
                Some(b) => b.merged_with_default(),
                None => Backoff::Exponential(ExponentialBackoff::default_backoff()),
            }),
        }
    }

    /// Interpolates (with `interpolate`) and checks every set field, returning the policy with
    /// numbers only (`RetryPolicyParser.getParsedRetryPolicy`). Limits must be numeric and in
    /// [0, 99], exponents numeric and in [0, 2^31-1], backoff seconds a number or a duration in
    /// [1, 86400].
    pub fn parse_with<E: std::fmt::Display>(
        &self,
        interpolate: &mut dyn FnMut(&str) -> Result<String, E>,
    ) -> Result<RetryPolicy, RetryPolicyError> {
        use FieldKind::*;
        Ok(RetryPolicy {
            error_retry_limit: parse_field(
                &self.error_retry_limit,
                "error_retry_limit",
                Limit,
                interpolate,
            )?,
            platform_retry_limit: parse_field(
                &self.platform_retry_limit,
                "platform_retry_limit",
                Limit,
                interpolate,
            )?,
            timeout_retry_limit: parse_field(
                &self.timeout_retry_limit,
                "timeout_retry_limit",
                Limit,
                interpolate,
            )?,
            backoff: match &self.backoff {
                None => None,
                Some(b) => Some(b.parse_with(interpolate)?),
            },
        })
    }

    /// The limit for a kind, when it is a number.
    pub fn limit(&self, kind: RetryKind) -> Option<i64> {
        match kind {
            RetryKind::Error => &self.error_retry_limit,
            RetryKind::Platform => &self.platform_retry_limit,
            RetryKind::Timeout => &self.timeout_retry_limit,
        }
        .as_ref()
        .and_then(ParsableLong::as_long)
    }
}

impl ExponentialBackoff {
    /// Maestro's default: base 60 s, exponent 2, caps 600 s (user) / 3600 s (platform, timeout).
    pub fn default_backoff() -> Self {
        let n = |v| Some(ParsableLong::Long(v));
        ExponentialBackoff {
            error_retry_backoff_in_secs: n(60),
            error_retry_exponent: n(2),
            error_retry_limit_in_secs: n(600),
            platform_retry_backoff_in_secs: n(60),
            platform_retry_exponent: n(2),
            platform_retry_limit_in_secs: n(3600),
            timeout_retry_backoff_in_secs: n(60),
            timeout_retry_exponent: n(2),
            timeout_retry_limit_in_secs: n(3600),
        }
    }
}

impl FixedBackoff {
    /// Maestro's default: 60 s for every kind.
    pub fn default_backoff() -> Self {
        let n = |v| Some(ParsableLong::Long(v));
        FixedBackoff {
            error_retry_backoff_in_secs: n(60),
            platform_retry_backoff_in_secs: n(60),
            timeout_retry_backoff_in_secs: n(60),
        }
    }
}

impl Backoff {
    /// The `type` id.
    pub fn type_name(&self) -> &'static str {
        match self {
            Backoff::Exponential(_) => EXPONENTIAL,
            Backoff::Fixed(_) => FIXED,
        }
    }

    /// Fills unset fields from the defaults of the same backoff type.
    pub fn merged_with_default(&self) -> Backoff {
        fn or(a: &Option<ParsableLong>, b: Option<ParsableLong>) -> Option<ParsableLong> {
            a.clone().or(b)
        }
        match self {
            Backoff::Exponential(b) => {
                let d = ExponentialBackoff::default_backoff();
                Backoff::Exponential(ExponentialBackoff {
                    error_retry_backoff_in_secs: or(
                        &b.error_retry_backoff_in_secs,
                        d.error_retry_backoff_in_secs,
                    ),
                    error_retry_exponent: or(&b.error_retry_exponent, d.error_retry_exponent),
                    error_retry_limit_in_secs: or(
                        &b.error_retry_limit_in_secs,
                        d.error_retry_limit_in_secs,
                    ),
                    platform_retry_backoff_in_secs: or(
                        &b.platform_retry_backoff_in_secs,
                        d.platform_retry_backoff_in_secs,
                    ),
                    platform_retry_exponent: or(
                        &b.platform_retry_exponent,
                        d.platform_retry_exponent,
                    ),
                    platform_retry_limit_in_secs: or(
                        &b.platform_retry_limit_in_secs,
                        d.platform_retry_limit_in_secs,
                    ),
                    timeout_retry_backoff_in_secs: or(
                        &b.timeout_retry_backoff_in_secs,
                        d.timeout_retry_backoff_in_secs,
                    ),
                    timeout_retry_exponent: or(&b.timeout_retry_exponent, d.timeout_retry_exponent),
                    timeout_retry_limit_in_secs: or(
                        &b.timeout_retry_limit_in_secs,
                        d.timeout_retry_limit_in_secs,
                    ),
                })
            }
            Backoff::Fixed(b) => {
                let d = FixedBackoff::default_backoff();
                Backoff::Fixed(FixedBackoff {
                    error_retry_backoff_in_secs: or(
                        &b.error_retry_backoff_in_secs,
                        d.error_retry_backoff_in_secs,
                    ),
                    platform_retry_backoff_in_secs: or(
                        &b.platform_retry_backoff_in_secs,
                        d.platform_retry_backoff_in_secs,
                    ),
                    timeout_retry_backoff_in_secs: or(
                        &b.timeout_retry_backoff_in_secs,
                        d.timeout_retry_backoff_in_secs,
                    ),
                })
            }
        }
    }

    /// Interpolates and checks every set field (see [`RetryPolicy::parse_with`]).
    pub fn parse_with<E: std::fmt::Display>(
        &self,
        interpolate: &mut dyn FnMut(&str) -> Result<String, E>,
    ) -> Result<Backoff, RetryPolicyError> {
        use FieldKind::*;
        let mut f = |v: &Option<ParsableLong>, name: &str, kind| {
            parse_field(v, &format!("backoff.{name}"), kind, interpolate)
        };
        Ok(match self {
            Backoff::Exponential(b) => Backoff::Exponential(ExponentialBackoff {
                error_retry_backoff_in_secs: f(
                    &b.error_retry_backoff_in_secs,
                    "error_retry_backoff_in_secs",
                    Seconds,
                )?,
                error_retry_exponent: f(&b.error_retry_exponent, "error_retry_exponent", Exponent)?,
                error_retry_limit_in_secs: f(
                    &b.error_retry_limit_in_secs,
                    "error_retry_limit_in_secs",
                    Seconds,
                )?,
                platform_retry_backoff_in_secs: f(
                    &b.platform_retry_backoff_in_secs,
                    "platform_retry_backoff_in_secs",
                    Seconds,
                )?,
                platform_retry_exponent: f(
                    &b.platform_retry_exponent,
                    "platform_retry_exponent",
                    Exponent,
                )?,
                platform_retry_limit_in_secs: f(
                    &b.platform_retry_limit_in_secs,
                    "platform_retry_limit_in_secs",
                    Seconds,
                )?,
                timeout_retry_backoff_in_secs: f(
                    &b.timeout_retry_backoff_in_secs,
                    "timeout_retry_backoff_in_secs",
                    Seconds,
                )?,
                timeout_retry_exponent: f(
                    &b.timeout_retry_exponent,
                    "timeout_retry_exponent",
                    Exponent,
                )?,
                timeout_retry_limit_in_secs: f(
                    &b.timeout_retry_limit_in_secs,
                    "timeout_retry_limit_in_secs",
                    Seconds,
                )?,
            }),
            Backoff::Fixed(b) => Backoff::Fixed(FixedBackoff {
                error_retry_backoff_in_secs: f(
                    &b.error_retry_backoff_in_secs,
                    "error_retry_backoff_in_secs",
                    Seconds,
                )?,
                platform_retry_backoff_in_secs: f(
                    &b.platform_retry_backoff_in_secs,
                    "platform_retry_backoff_in_secs",
                    Seconds,
                )?,
                timeout_retry_backoff_in_secs: f(
                    &b.timeout_retry_backoff_in_secs,
                    "timeout_retry_backoff_in_secs",
                    Seconds,
                )?,
            }),
        })
    }

    /// Seconds to wait before the next retry of `kind`, given the retries of that kind already
    /// performed. Exponential: `min(backoff * exponent^retries, limit)`, computed in floating
    /// point and truncated (Maestro's formula); fixed: `backoff`. The fields used must be numbers
    /// (merge with the defaults and [`Backoff::parse_with`] first).
    pub fn next_retry_delay_secs(&self, kind: RetryKind, retries: i64) -> Result<i64, String> {
        fn num(v: &Option<ParsableLong>, name: &str) -> Result<i64, String> {
            v.as_ref()
                .and_then(ParsableLong::as_long)
                .ok_or_else(|| format!("backoff field {name} is not a parsed number"))
        }
        match self {
            Backoff::Fixed(b) => {
                let (v, name) = match kind {
                    RetryKind::Error => (
                        &b.error_retry_backoff_in_secs,
                        "error_retry_backoff_in_secs",
                    ),
                    RetryKind::Platform => (
                        &b.platform_retry_backoff_in_secs,
                        "platform_retry_backoff_in_secs",
                    ),
                    RetryKind::Timeout => (
                        &b.timeout_retry_backoff_in_secs,
                        "timeout_retry_backoff_in_secs",
                    ),
                };
                num(v, name)
            }
            Backoff::Exponential(b) => {
                let (base, exp, limit) = match kind {
                    RetryKind::Error => (
                        num(
                            &b.error_retry_backoff_in_secs,
                            "error_retry_backoff_in_secs",
                        )?,
                        num(&b.error_retry_exponent, "error_retry_exponent")?,
                        num(&b.error_retry_limit_in_secs, "error_retry_limit_in_secs")?,
                    ),
                    RetryKind::Platform => (
                        num(
                            &b.platform_retry_backoff_in_secs,
                            "platform_retry_backoff_in_secs",
                        )?,
                        num(&b.platform_retry_exponent, "platform_retry_exponent")?,
                        num(
                            &b.platform_retry_limit_in_secs,
                            "platform_retry_limit_in_secs",
                        )?,
                    ),
                    RetryKind::Timeout => (
                        num(
                            &b.timeout_retry_backoff_in_secs,
                            "timeout_retry_backoff_in_secs",
                        )?,
                        num(&b.timeout_retry_exponent, "timeout_retry_exponent")?,
                        num(
                            &b.timeout_retry_limit_in_secs,
                            "timeout_retry_limit_in_secs",
                        )?,
                    ),
                };
                Ok(exponential_delay(base, exp, limit, retries))
            }
        }
    }
}

/// `min((long)(base * exponent^retries), limit)` as Maestro computes it: in `double`, truncated
/// toward zero, saturating at the bounds of `i64`.
pub fn exponential_delay(base: i64, exponent: i64, limit: i64, retries: i64) -> i64 {
    let retries = i32::try_from(retries.max(0)).unwrap_or(i32::MAX);
    let wait = (base as f64) * (exponent as f64).powi(retries);
    // `as` saturates like Java's (long) cast of a double (NaN becomes 0 in both).
    (wait as i64).min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_interp(s: &str) -> Result<String, String> {
        Ok(s.to_string())
    }

    #[test]
    fn default_delays_match_the_worked_example() {
        // attempt 1 fails ⇒ 60 s; attempt 2 fails ⇒ 120 s (§7.1).
        let p = RetryPolicy::merged_with_default(None);
        let b = p.backoff.as_ref().unwrap();
        assert_eq!(b.next_retry_delay_secs(RetryKind::Error, 0).unwrap(), 60);
        assert_eq!(b.next_retry_delay_secs(RetryKind::Error, 1).unwrap(), 120);
        assert_eq!(b.next_retry_delay_secs(RetryKind::Error, 3).unwrap(), 480);
        assert_eq!(
            b.next_retry_delay_secs(RetryKind::Error, 4).unwrap(),
            600,
            "capped"
        );
        assert_eq!(
            b.next_retry_delay_secs(RetryKind::Platform, 10).unwrap(),
            3600
        );
        assert_eq!(p.limit(RetryKind::Error), Some(2));
        assert_eq!(p.limit(RetryKind::Platform), Some(10));
        assert_eq!(p.limit(RetryKind::Timeout), Some(0));
    }

    #[test]
    fn partial_backoff_fills_from_its_own_type() {
        let json = r#"{"error_retry_limit": 10, "backoff": {"error_retry_backoff_in_secs": 1, "type": "fixed_backoff"}}"#;
        let p: RetryPolicy = serde_json::from_str(json).unwrap();
        let m = RetryPolicy::merged_with_default(Some(&p));
        assert_eq!(m.limit(RetryKind::Error), Some(10));
        assert_eq!(m.limit(RetryKind::Platform), Some(10));
        let b = m.backoff.unwrap();
        assert_eq!(b.next_retry_delay_secs(RetryKind::Error, 5).unwrap(), 1);
        assert_eq!(b.next_retry_delay_secs(RetryKind::Timeout, 5).unwrap(), 60);

        let json =
            r#"{"backoff": {"timeout_retry_backoff_in_secs": 5, "type": "EXPONENTIAL_BACKOFF"}}"#;
        let p: RetryPolicy = serde_json::from_str(json).unwrap();
        let b = RetryPolicy::merged_with_default(Some(&p)).backoff.unwrap();
        assert_eq!(b.next_retry_delay_secs(RetryKind::Timeout, 2).unwrap(), 20);
        assert_eq!(b.next_retry_delay_secs(RetryKind::Error, 0).unwrap(), 60);
    }

    #[test]
    fn writes_type_last() {
        let p: RetryPolicy = serde_json::from_str(
            r#"{"backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 1}}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"backoff":{"error_retry_backoff_in_secs":1,"type":"FIXED_BACKOFF"}}"#
        );
    }

    #[test]
    fn backoff_type_errors() {
        let err = serde_json::from_str::<Backoff>(r#"{"error_retry_exponent": 2}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `type`"));
        let err = serde_json::from_str::<Backoff>(r#"{"type": "LINEAR"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown backoff type `LINEAR`"), "{err}");
        let err = serde_json::from_str::<Backoff>(
            r#"{"type": "FIXED_BACKOFF", "error_retry_exponent": 2}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown field `error_retry_exponent`"),
            "{err}"
        );
    }

    #[test]
    fn parses_strings_and_durations() {
        let p: RetryPolicy = serde_json::from_str(
            r#"{"error_retry_limit": "3", "backoff": {"type": "EXPONENTIAL_BACKOFF",
                "error_retry_backoff_in_secs": "1 min 40 s", "error_retry_limit_in_secs": "5mins",
                "platform_retry_backoff_in_secs": "2hours"}}"#,
        )
        .unwrap();
        let parsed = p.parse_with(&mut no_interp).unwrap();
        assert_eq!(parsed.limit(RetryKind::Error), Some(3));
        let Some(Backoff::Exponential(b)) = parsed.backoff else {
            panic!()
        };
        assert_eq!(b.error_retry_backoff_in_secs, Some(ParsableLong::Long(100)));
        assert_eq!(b.error_retry_limit_in_secs, Some(ParsableLong::Long(300)));
        assert_eq!(
            b.platform_retry_backoff_in_secs,
            Some(ParsableLong::Long(7200))
        );
    }

    #[test]
    fn range_and_number_errors_name_the_field() {
        let p = RetryPolicy {
            error_retry_limit: Some(ParsableLong::Long(100)),
            ..Default::default()
        };
        let e = p.parse_with(&mut no_interp).unwrap_err();
        assert_eq!(e.field, "error_retry_limit");
        let p = RetryPolicy {
            platform_retry_limit: Some("abc".into()),
            ..Default::default()
        };
        let e = p.parse_with(&mut no_interp).unwrap_err();
        assert!(matches!(e.error, DurationError::NotANumber(_)));
        let p = RetryPolicy {
            backoff: Some(Backoff::Fixed(FixedBackoff {
                timeout_retry_backoff_in_secs: Some(ParsableLong::Long(0)),
                ..Default::default()
            })),
            ..Default::default()
        };
        let e = p.parse_with(&mut no_interp).unwrap_err();
        assert_eq!(e.field, "backoff.timeout_retry_backoff_in_secs");
        // Interpolation happens first.
        let p = RetryPolicy {
            error_retry_limit: Some("$foo".into()),
            ..Default::default()
        };
        let mut interp = |_: &str| -> Result<String, String> { Ok("4".into()) };
        assert_eq!(
            p.parse_with(&mut interp).unwrap().limit(RetryKind::Error),
            Some(4)
        );
    }

    #[test]
    fn exponential_delay_saturates() {
        assert_eq!(exponential_delay(60, 2, 600, 0), 60);
        assert_eq!(exponential_delay(60, 2, i64::MAX, 200), i64::MAX);
        assert_eq!(exponential_delay(60, 0, 600, 1), 0);
        assert_eq!(exponential_delay(60, 0, 600, 0), 60, "x^0 is 1");
    }
}
