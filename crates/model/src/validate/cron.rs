//! Syntax and range checks of cron expressions as Maestro accepts them: 5-field UNIX cron
//! (`min hour dom month dow`), else 6–7-field Quartz cron (`sec min hour dom month dow [year]`,
//! with `?`, `L`, `W`, `#`). Also the "fires at least two minutes apart" rule, computed from the
//! second and minute fields.
//!
//! This is a validator, not a scheduler: it decides whether an expression is acceptable and
//! leaves computing fire times to the trigger service.

/// Minimum gap between two fire times, in seconds.
pub const MIN_INTERVAL_SECS: u32 = 120;

#[derive(Clone, Copy)]
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Quartz day fields accept `?`, `L`, `W` / `#`.
    day_of_month: bool,
    day_of_week: bool,
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn spec(name: &'static str, min: u32, max: u32) -> FieldSpec {
    FieldSpec {
        name,
        min,
        max,
        names: &[],
        day_of_month: false,
        day_of_week: false,
    }
}

/// The parsed sets of the fields that decide how often a cron fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronCheck {
    /// Seconds it fires at (`[0]` for UNIX cron).
    pub seconds: Vec<u32>,
    /// Minutes it fires at.
    pub minutes: Vec<u32>,
    /// Whether the hour field matches every hour.
    pub every_hour: bool,
}

impl CronCheck {
    /// The smallest gap between two consecutive fire times within an hour, in seconds, as far as
    /// the second and minute fields tell (a gap across the hour counts only when every hour fires).
    pub fn min_gap_secs(&self) -> Option<u32> {
        let mut times: Vec<u32> = self
            .minutes
            .iter()
            .flat_map(|m| self.seconds.iter().map(move |s| m * 60 + s))
            .collect();
        times.sort_unstable();
        times.dedup();
        let mut gap: Option<u32> = None;
        for w in times.windows(2) {
            gap = Some(gap.map_or(w[1] - w[0], |g| g.min(w[1] - w[0])));
        }
        if self.every_hour
            && let (Some(first), Some(last)) = (times.first(), times.last())
        {
            let wrap = 3600 - last + first;
            gap = Some(gap.map_or(wrap, |g| g.min(wrap)));
        }
        gap
    }
}

/// Checks a cron expression; returns what decides its frequency, or a message naming the field
/// at fault.
pub fn check_cron(expr: &str) -> Result<CronCheck, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if expr.trim().is_empty() {
        return Err("[cron expression] cannot be null or empty".into());
    }
    let dom = FieldSpec {
        day_of_month: true,
        ..spec("day-of-month", 1, 31)
    };
    let month = FieldSpec {
        names: MONTHS,
        ..spec("month", 1, 12)
    };
    match fields.len() {
        5 => {
            let dow = FieldSpec {
                names: DAYS,
                ..spec("day-of-week", 0, 7)
            };
            let specs = [spec("minute", 0, 59), spec("hour", 0, 23), dom, month, dow];
            let mut sets = Vec::new();
            for (f, s) in fields.iter().zip(specs) {
                sets.push(parse_field(f, s, false).map_err(|e| bad(expr, &e))?);
            }
            Ok(CronCheck {
                seconds: vec![0],
                minutes: sets[0].clone(),
                every_hour: sets[1].len() == 24,
            })
        }
        6 | 7 => {
            let dow = FieldSpec {
                names: DAYS,
                day_of_week: true,
                ..spec("day-of-week", 1, 7)
            };
            let mut specs = vec![
                spec("second", 0, 59),
                spec("minute", 0, 59),
                spec("hour", 0, 23),
                dom,
                month,
                dow,
            ];
            if fields.len() == 7 {
                specs.push(spec("year", 1970, 2099));
            }
            let mut sets = Vec::new();
            for (f, s) in fields.iter().zip(specs) {
                sets.push(parse_field(f, s, true).map_err(|e| bad(expr, &e))?);
            }
            let (dom_q, dow_q) = (fields[3] == "?", fields[5] == "?");
            if dom_q == dow_q {
                return Err(bad(
                    expr,
                    "exactly one of day-of-month and day-of-week must be '?' in a Quartz cron",
                ));
            }
            Ok(CronCheck {
                seconds: sets[0].clone(),
                minutes: sets[1].clone(),
                every_hour: sets[2].len() == 24,
            })
        }
        n => Err(bad(
            expr,
            &format!("expected 5 fields (UNIX) or 6-7 fields (Quartz), found {n}"),
        )),
    }
}

fn bad(expr: &str, why: &str) -> String {
    format!("[cron expression] is not valid - rejected value is [{expr}] - error: [{why}]")
}

fn parse_value(text: &str, s: FieldSpec) -> Result<u32, String> {
    if let Some(pos) = s.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        // Month names are 1-based; day names start at SUN = 0 (UNIX) or 1 (Quartz).
        return Ok(pos as u32 + s.min);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("invalid value [{text}] in the {} field", s.name))?;
    if v < s.min || v > s.max {
        return Err(format!(
            "value [{v}] of the {} field is out of range [{}, {}]",
            s.name, s.min, s.max
        ));
    }
    Ok(v)
}

/// Parses one field into the set of values it matches (special day forms count as matching
/// one value: they only matter to the day fields, which do not decide the minimum interval).
fn parse_field(field: &str, s: FieldSpec, quartz: bool) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in field.split(',') {
        if part.is_empty() {
            return Err(format!("empty element in the {} field", s.name));
        }
        if quartz && (s.day_of_month || s.day_of_week) {
            if part == "?" {
                out.push(s.min);
                continue;
            }
            if special_day(part, s)? {
                out.push(s.min);
                continue;
            }
        }
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st
                    .parse()
                    .map_err(|_| format!("invalid step [{st}] in the {} field", s.name))?;
                if st == 0 {
                    return Err(format!("step of the {} field cannot be 0", s.name));
                }
                (r, st)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (s.min, s.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (parse_value(a, s)?, parse_value(b, s)?)
        } else {
            let v = parse_value(range, s)?;
            // `5/15` means from 5 to the end of the range.
            (v, if part.contains('/') { s.max } else { v })
        };
        if lo > hi {
            return Err(format!(
                "range [{lo}-{hi}] of the {} field is reversed",
                s.name
            ));
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Quartz `L`, `LW`, `nW`, `L-n` (day of month) and `nL`, `n#k` (day of week).
fn special_day(part: &str, s: FieldSpec) -> Result<bool, String> {
    let upper = part.to_ascii_uppercase();
    if s.day_of_month {
        if upper == "L" || upper == "LW" {
            return Ok(true);
        }
        if let Some(n) = upper.strip_prefix("L-") {
            parse_value(n, s)?;
            return Ok(true);
        }
        if let Some(n) = upper.strip_suffix('W') {
            parse_value(n, s)?;
            return Ok(true);
        }
    }
    if s.day_of_week {
        if upper == "L" {
            return Ok(true);
        }
        if let Some(n) = upper.strip_suffix('L') {
            parse_value(n, s)?;
            return Ok(true);
        }
        if let Some((d, k)) = upper.split_once('#') {
            parse_value(d, s)?;
            match k.parse::<u32>() {
                Ok(1..=5) => return Ok(true),
                _ => return Err(format!("invalid [#{k}] in the {} field", s.name)),
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_samples() {
        assert!(check_cron("0 0 12 1/1 * ? *").is_ok());
        let every_two = check_cron("*/2 * * * *").unwrap();
        assert_eq!(every_two.min_gap_secs(), Some(120));
        assert!(check_cron("0 0 * * 0").is_ok());
        assert!(check_cron("30 2 * JAN-MAR MON-FRI").is_ok());
        assert!(check_cron("0 15 10 ? * 6L").is_ok());
        assert!(check_cron("0 15 10 L * ?").is_ok());
        assert!(check_cron("0 15 10 ? * 6#3").is_ok());
    }

    #[test]
    fn rejects_bad_fields() {
        let err = check_cron("0 30 * * *").unwrap_err();
        assert!(err.contains("hour field is out of range"), "{err}");
        assert!(
            check_cron("* * *")
                .unwrap_err()
                .contains("expected 5 fields")
        );
        assert!(check_cron("").unwrap_err().contains("empty"));
        assert!(
            check_cron("*/0 * * * *")
                .unwrap_err()
                .contains("cannot be 0")
        );
        assert!(check_cron("0 0 12 * * *").unwrap_err().contains("'?'"));
        assert!(check_cron("x * * * *").is_err());
        assert!(check_cron("5-1 * * * *").unwrap_err().contains("reversed"));
    }

    #[test]
    fn frequency() {
        assert_eq!(check_cron("* * * * *").unwrap().min_gap_secs(), Some(60));
        assert_eq!(check_cron("0 * * * *").unwrap().min_gap_secs(), Some(3600));
        assert_eq!(check_cron("0 0 * * *").unwrap().min_gap_secs(), None);
        assert_eq!(
            check_cron("0,30 * * * * ?").unwrap().min_gap_secs(),
            Some(30)
        );
        assert_eq!(
            check_cron("59,0 3 * * *").unwrap().min_gap_secs(),
            Some(3540)
        );
        assert_eq!(check_cron("0,59 * * * *").unwrap().min_gap_secs(), Some(60));
    }
}
