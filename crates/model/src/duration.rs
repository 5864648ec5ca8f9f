//! Maestro's duration strings and the numbers users may write as text: timeouts, retry limits,
//! backoff seconds and trigger jitter.
//!
//! A [`ParsableLong`](crate::definition::ParsableLong) is either a number or a string that may hold
//! `${param}` references. Interpolating the references is the engine's job; this module takes the
//! already interpolated text and turns it into a number the way Maestro's `DurationParser` and
//! `RetryPolicyParser` do:
//!
//! * a numeric string is taken as a plain number (seconds for timeouts and backoffs);
//! * anything else is read as a duration made of `<n>` + unit groups, units `d`/`day(s)`,
//!   `h`/`hour(s)`, `min`/`minute(s)`, `s`/`sec`/`second(s)`, `ms`/`millisecond(s)`, case-insensitive,
//!   with an optional space before the unit: `"10 minutes 5 seconds 1 day"`, `"1 min 40 s"`,
//!   `"5mins"`, `"2hours"`. Text that is not a group is skipped and the groups are added up, so a
//!   string with no group at all is zero — which the callers then reject.

use crate::definition::ParsableLong;

/// Milliseconds in a day.
pub const DAY_MILLIS: i64 = 24 * 3600 * 1000;
/// Longest timeout Maestro accepts (120 days), in milliseconds.
pub const MAX_TIMEOUT_MILLIS: i64 = 120 * DAY_MILLIS;
/// Default step and workflow timeout (10 days), in milliseconds.
pub const DEFAULT_TIMEOUT_MILLIS: i64 = 10 * DAY_MILLIS;
/// Largest retry limit.
pub const MAX_RETRY_LIMIT: i64 = 99;
/// Largest backoff, in seconds (one day).
pub const MAX_RETRY_BACKOFF_SECS: i64 = 24 * 3600;

/// Why a duration or number could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is neither a number nor a duration that adds up to something.
    #[error("[{0}] is not a number")]
    NotANumber(String),
    /// The value is outside what the field allows.
    #[error(
        "value [{input}] is parsed to [{parsed}] but cannot be less than [{min}] or more than [{max}]"
    )]
    OutOfRange {
        /// The text or number as given.
        input: String,
        /// What it parsed to.
        parsed: i64,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A timeout that is zero, negative or longer than 120 days.
    #[error(
        "timeout [{millis} ms]/[{input}] cannot be non-positive or more than system limit: 120 days"
    )]
    BadTimeout {
        /// The text or number as given.
        input: String,
        /// What it parsed to, in milliseconds.
        millis: i64,
    },
    /// The sum does not fit in 64 bits.
    #[error("[{0}] is too large")]
    Overflow(String),
}

/// Units in the order Maestro's pattern tries them, each with its spellings in the order of the
/// pattern's alternatives (the first that matches wins).
const UNITS: [(i64, &[&str]); 5] = [
    (DAY_MILLIS, &["d", " d", " days", "days", " day", "day"]),
    (3_600_000, &["h", " h", " hours", "hours", " hour", "hour"]),
    (
        60_000,
        &["min", " min", " minutes", "minutes", " minute", "minute"],
    ),
    (
        1000,
        &[
            "s", " s", "sec", " sec", " seconds", "seconds", " second", "second",
        ],
    ),
    (
        1,
        &[
            "ms",
            " ms",
            " milliseconds",
            "milliseconds",
            " millisecond",
            "millisecond",
        ],
    ),
];

/// Parses a duration string to milliseconds with Maestro's rules (see the module doc). Returns 0
/// when no `<n><unit>` group is found.
pub fn parse_duration_millis(text: &str) -> Result<i64, DurationError> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let overflow = || DurationError::Overflow(text.to_string());
    let mut total: i64 = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        // One match of the pattern: the five optional groups in order, each `\d+` then a unit.
        let mut at = pos;
        for (unit_millis, spellings) in UNITS {
            let digits_end = bytes[at..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(bytes.len(), |n| at + n);
            if digits_end == at {
                continue;
            }
            let rest = &lower[digits_end..];
            if let Some(sp) = spellings.iter().find(|sp| rest.starts_with(**sp)) {
                let n: i64 = lower[at..digits_end].parse().map_err(|_| overflow())?;
                let add = n.checked_mul(unit_millis).ok_or_else(overflow)?;
                total = total.checked_add(add).ok_or_else(overflow)?;
                at = digits_end + sp.len();
            }
        }
        // An empty match moves one character on, like `Matcher.find()`.
        pos = if at == pos { pos + 1 } else { at };
    }
    Ok(total)
}

/// Reads a whole string as a Java `long` (`Long.parseLong`: optional sign, digits only).
pub fn parse_numeric(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A timeout from an interpolated string: a number is seconds, anything else a duration. Checks
/// the result is in (0, 120 days]. Returns milliseconds.
pub fn parse_timeout_millis(interpolated: &str) -> Result<i64, DurationError> {
    let millis = match parse_numeric(interpolated) {
        Some(secs) => secs
            .checked_mul(1000)
            .ok_or_else(|| DurationError::Overflow(interpolated.to_string()))?,
        None => parse_duration_millis(interpolated)?,
    };
    check_timeout(interpolated, millis)
}

/// The timeout of a [`ParsableLong`] in milliseconds: a number is seconds; a string is passed to
/// `interpolate` first (the engine substitutes `${param}` there) and then read like
/// [`parse_timeout_millis`].
pub fn timeout_millis<E>(
    value: &ParsableLong,
    interpolate: impl FnOnce(&str) -> Result<String, E>,
) -> Result<Result<i64, DurationError>, E> {
    match value {
        ParsableLong::Long(secs) => Ok(secs
            .checked_mul(1000)
            .ok_or_else(|| DurationError::Overflow(secs.to_string()))
            .and_then(|ms| check_timeout(&secs.to_string(), ms))),
        ParsableLong::String(s) => Ok(parse_timeout_millis(&interpolate(s)?)),
    }
}

fn check_timeout(input: &str, millis: i64) -> Result<i64, DurationError> {
    if millis <= 0 || millis > MAX_TIMEOUT_MILLIS {
        return Err(DurationError::BadTimeout {
            input: input.to_string(),
            millis,
        });
    }
    Ok(millis)
}

/// A retry limit or exponent from an interpolated string: must be numeric and in `[min, max]`.
pub fn parse_retry_number(interpolated: &str, min: i64, max: i64) -> Result<i64, DurationError> {
    let n = parse_numeric(interpolated)
        .ok_or_else(|| DurationError::NotANumber(interpolated.to_string()))?;
    check_range(interpolated, n, min, max)
}

/// A backoff in seconds from an interpolated string: a number is seconds, anything else a
/// duration (truncated to whole seconds); must be in `[min, max]`.
pub fn parse_retry_seconds(interpolated: &str, min: i64, max: i64) -> Result<i64, DurationError> {
    let secs = match parse_numeric(interpolated) {
        Some(n) => n,
        None => parse_duration_millis(interpolated)? / 1000,
    };
    check_range(interpolated, secs, min, max)
}

/// Checks a number against `[min, max]` with Maestro's message.
pub fn check_range(input: &str, parsed: i64, min: i64, max: i64) -> Result<i64, DurationError> {
    if parsed < min || parsed > max {
        return Err(DurationError::OutOfRange {
            input: input.to_string(),
            parsed,
            min,
            max,
        });
    }
    Ok(parsed)
}

/// A trigger's `fuzzy_max_delay` in milliseconds. Unlike timeouts, a JSON number here is read as
/// **milliseconds**, and a string is always read as a duration (Maestro's `getDurationInMillis`).
pub fn fuzzy_delay_millis(value: &ParsableLong) -> Result<i64, DurationError> {
    match value {
        ParsableLong::Long(ms) => Ok(*ms),
        ParsableLong::String(s) => parse_duration_millis(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        parse_duration_millis(text).unwrap()
    }

    #[test]
    fn maestro_fixture_durations() {
        assert_eq!(
            ms("10 minutes 5 seconds 1 day"),
            DAY_MILLIS + 600_000 + 5_000
        );
        assert_eq!(ms("1 min 40 s"), 100_000);
        assert_eq!(ms("5mins"), 300_000);
        assert_eq!(ms("2hours"), 7_200_000);
        assert_eq!(ms("20 minutes"), 1_200_000);
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("100s"), 100_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("30min"), 1_800_000);
    }

    #[test]
    fn units_and_case() {
        assert_eq!(ms("1D"), DAY_MILLIS);
        assert_eq!(ms("3 Days"), 3 * DAY_MILLIS);
        assert_eq!(ms("1h30min"), 5_400_000);
        assert_eq!(ms("250ms"), 250);
        assert_eq!(ms("5 ms"), 5);
        assert_eq!(ms("2 milliseconds"), 2);
        assert_eq!(ms("7sec"), 7_000);
        assert_eq!(ms("1 second"), 1_000);
        assert_eq!(ms("4 hour"), 14_400_000);
    }

    #[test]
    fn text_without_groups_is_zero() {
        assert_eq!(ms(""), 0);
        assert_eq!(ms("abc"), 0);
        assert_eq!(ms("10m"), 0, "`m` alone is not a unit");
        assert_eq!(ms("12"), 0);
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(parse_duration_millis("99999999999999999999d").is_err());
        assert!(parse_duration_millis("9999999999999999d").is_err());
    }

    #[test]
    fn numeric_follows_java_long_parse() {
        assert_eq!(parse_numeric("123"), Some(123));
        assert_eq!(parse_numeric("-5"), Some(-5));
        assert_eq!(parse_numeric("+5"), Some(5));
        assert_eq!(parse_numeric(" 5"), None);
        assert_eq!(parse_numeric("5s"), None);
        assert_eq!(parse_numeric(""), None);
        assert_eq!(parse_numeric("-"), None);
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout_millis("100").unwrap(), 100_000);
        assert_eq!(parse_timeout_millis("100s").unwrap(), 100_000);
        assert_eq!(parse_timeout_millis("20 minutes").unwrap(), 1_200_000);
        assert!(matches!(
            parse_timeout_millis("abc"),
            Err(DurationError::BadTimeout { millis: 0, .. })
        ));
        assert!(parse_timeout_millis("0").is_err());
        assert!(parse_timeout_millis("121 days").is_err());
        assert_eq!(
            parse_timeout_millis("120 days").unwrap(),
            MAX_TIMEOUT_MILLIS
        );
        let r: Result<_, ()> = timeout_millis(&ParsableLong::Long(12345), |s| Ok(s.to_string()));
        assert_eq!(r.unwrap().unwrap(), 12_345_000);
        let r: Result<_, ()> =
            timeout_millis(
                &ParsableLong::String("${bar}s".into()),
                |_| Ok("10s".into()),
            );
        assert_eq!(r.unwrap().unwrap(), 10_000);
    }

    #[test]
    fn retry_numbers_and_seconds() {
        assert_eq!(parse_retry_number("3", 0, 99).unwrap(), 3);
        assert!(matches!(
            parse_retry_number("abc", 0, 99),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_retry_number("100", 0, 99),
            Err(DurationError::OutOfRange { parsed: 100, .. })
        ));
        assert_eq!(parse_retry_seconds("1 min 40 s", 1, 86400).unwrap(), 100);
        assert_eq!(parse_retry_seconds("5mins", 1, 86400).unwrap(), 300);
        assert_eq!(parse_retry_seconds("2hours", 1, 86400).unwrap(), 7200);
        assert!(
            parse_retry_seconds("500ms", 1, 86400).is_err(),
            "truncates to 0"
        );
        assert!(parse_retry_seconds("2 days", 1, 86400).is_err());
    }

    #[test]
    fn fuzzy_delay_reads_numbers_as_millis() {
        assert_eq!(fuzzy_delay_millis(&ParsableLong::Long(30)).unwrap(), 30);
        assert_eq!(
            fuzzy_delay_millis(&ParsableLong::String("30s".into())).unwrap(),
            30_000
        );
    }
}
