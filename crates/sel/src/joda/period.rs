//! Joda's English word-based period format (`PeriodFormat.wordBased()`), which
//! `Util.timeoutFor*Deadline` uses to read durations such as `"1 day and 2 hours"`, and the
//! conversion to a standard duration (years and months have no fixed length and fail).

use super::chrono::{MILLIS_PER_DAY, MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_WEEK};
use super::datetime::JodaError;

const FIELDS: [(&str, &str, i64); 8] = [
    (" year", " years", 0),
    (" month", " months", 0),
    (" week", " weeks", MILLIS_PER_WEEK),
    (" day", " days", MILLIS_PER_DAY),
    (" hour", " hours", MILLIS_PER_HOUR),
    (" minute", " minutes", MILLIS_PER_MINUTE),
    (" second", " seconds", 1000),
    (" millisecond", " milliseconds", 1),
];

/// Separators, longest first (Joda matches them case-insensitively).
const SEPARATORS: [&str; 6] = [", and ", ",and ", " and ", ", ", " ", ","];

fn matches_at(text: &[char], pos: usize, word: &str) -> bool {
    let n = word.chars().count();
    pos + n <= text.len()
        && text[pos..pos + n]
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
}

/// Suffix (plural tried first) at `pos`.
fn suffix_len(text: &[char], pos: usize, singular: &str, plural: &str) -> Option<usize> {
    if matches_at(text, pos, plural) {
        Some(plural.len())
    } else if matches_at(text, pos, singular) {
        Some(singular.len())
    } else {
        None
    }
}

fn invalid(text: &str, pos: usize) -> JodaError {
    let chars: Vec<char> = text.chars().collect();
    if pos == 0 {
        return JodaError::Argument(format!("Invalid format: \"{text}\""));
    }
    if pos >= chars.len() {
        return JodaError::Argument(format!("Invalid format: \"{text}\" is too short"));
    }
    let rest: String = chars[pos..].iter().collect();
    JodaError::Argument(format!(
        "Invalid format: \"{text}\" is malformed at \"{rest}\""
    ))
}

/// Parses an English word-based period and returns its standard duration in milliseconds.
pub fn parse_duration_millis(text: &str) -> Result<i64, JodaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0usize;
    let mut total: i64 = 0;
    let mut parsed_any = false;
    let mut pending_separator: Option<usize> = None;
    for (singular, plural, unit) in FIELDS {
        if pos >= chars.len() {
            break;
        }
        // Joda pre-scans for the suffix anywhere ahead; without it the field is absent.
        let found = (pos..chars.len()).any(|p| suffix_len(&chars, p, singular, plural).is_some());
        if !found {
            continue;
        }
        let start = pos;
        let mut p = pos;
        if p < chars.len() && (chars[p] == '-' || chars[p] == '+') {
            p += 1;
        }
        let digits_start = p;
        while p < chars.len() && chars[p].is_ascii_digit() {
            p += 1;
        }
        if p == digits_start {
            return Err(invalid(text, start));
        }
        let number: String = chars[start..p].iter().collect();
        let value: i64 = number
            .trim_start_matches('+')
            .parse::<i32>()
            .map_err(|_| invalid(text, start))?
            .into();
        let Some(n) = suffix_len(&chars, p, singular, plural) else {
            return Err(invalid(text, p));
        };
        p += n;
        if unit == 0 && value != 0 {
            let what = if singular == " year" {
                "years"
            } else {
                "months"
            };
            return Err(JodaError::Unsupported(format!(
                "Cannot convert to Duration as this period contains {what} and {what} vary in length"
            )));
        }
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| JodaError::Arithmetic("Multiplication overflows a long".into()))?;
        parsed_any = true;
        pending_separator = None;
        pos = p;
        if let Some(sep) = SEPARATORS.iter().find(|s| matches_at(&chars, pos, s)) {
            pending_separator = Some(pos);
            pos += sep.len();
        }
    }
    if let Some(sep_pos) = pending_separator {
        return Err(invalid(text, sep_pos + (pos - sep_pos)));
    }
    if !parsed_any || pos < chars.len() {
        return Err(invalid(text, pos));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_word_periods() {
        assert_eq!(parse_duration_millis("1 day").unwrap(), MILLIS_PER_DAY);
        assert_eq!(
            parse_duration_millis("2 hours").unwrap(),
            2 * MILLIS_PER_HOUR
        );
        assert_eq!(
            parse_duration_millis("1 day and 2 hours").unwrap(),
            MILLIS_PER_DAY + 2 * MILLIS_PER_HOUR
        );
        assert_eq!(
            parse_duration_millis("1 week, 3 minutes").unwrap(),
            MILLIS_PER_WEEK + 3 * MILLIS_PER_MINUTE
        );
        assert_eq!(parse_duration_millis("10 Seconds").unwrap(), 10_000);
        assert!(matches!(
            parse_duration_millis("1 month"),
            Err(JodaError::Unsupported(_))
        ));
        assert!(parse_duration_millis("2 hours 1 day").is_err());
        assert!(parse_duration_millis("soon").is_err());
        assert!(parse_duration_millis("1 day and").is_err());
        assert!(parse_duration_millis("").is_err());
    }
}
