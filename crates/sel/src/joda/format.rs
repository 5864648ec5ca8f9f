//! Joda-Time formatting and parsing: the `DateTimeFormat.forPattern` pattern language (letters,
//! counts, quoting, two-digit-year pivot, the "adjacent numeric field" width rule), Joda's
//! lenient parser (longest-match alternatives, fields applied in Joda's order with its
//! default year 2000 and range checks, offsets and zone names) and the ISO
//! `dateTimeParser()` used by `new DateTime(String)`.

use super::chrono::{self, Field, MILLIS_PER_HOUR, MILLIS_PER_MINUTE};
use super::datetime::{DateTime, JodaError};
use super::zone::{Zone, all_ids};

/// A field a parser can fill: a standard field, or "millis within a unit" (fractions).
#[derive(Debug, Clone, Copy, PartialEq)]
enum PField {
    Std(Field),
    MillisWithin(i64),
}

impl PField {
    fn sort_key(self) -> (u64, u64) {
        match self {
            PField::Std(f) => f.sort_key(),
            PField::MillisWithin(unit) => (unit as u64, 1),
        }
    }
}

#[derive(Debug, Clone)]
enum Elem {
    Literal(String),
    /// A decimal field: printed with at least `min` digits, parsed with at most `max`.
    Number {
        field: Field,
        min: usize,
        max: usize,
        signed: bool,
    },
    TwoDigitYear {
        field: Field,
        pivot: i64,
        lenient: bool,
    },
    Text {
        field: Field,
        short: bool,
    },
    /// Fraction of a unit (`S`: of a second), printed/parsed with `min..=max` digits.
    Fraction {
        unit: i64,
        min: usize,
        max: usize,
    },
    Offset {
        zero_print: Option<&'static str>,
        separators: bool,
        max_fields: u8,
    },
    ZoneName {
        long: bool,
    },
    ZoneId,
    /// Longest-matching alternative; `optional` adds the empty alternative.
    Alt {
        alts: Vec<Vec<Elem>>,
        optional: bool,
    },
}

/// A compiled Joda formatter.
#[derive(Debug, Clone)]
pub struct Formatter {
    elems: Vec<Elem>,
    zone: Option<Zone>,
    printable: bool,
}

fn is_numeric_token(tok: &str) -> bool {
    let mut chars = tok.chars();
    match chars.next() {
        Some(
            'c' | 'C' | 'x' | 'y' | 'Y' | 'd' | 'h' | 'H' | 'm' | 's' | 'S' | 'e' | 'D' | 'F' | 'w'
            | 'W' | 'k' | 'K',
        ) => true,
        Some('M') => tok.chars().count() <= 2,
        _ => false,
    }
}

/// Splits a pattern into Joda tokens: runs of one letter, or literal text (prefixed `'`).
fn tokens(pattern: &str) -> Vec<String> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        let mut buf = String::new();
        if c.is_ascii_alphabetic() {
            buf.push(c);
            while i + 1 < p.len() && p[i + 1] == c {
                buf.push(c);
                i += 1;
            }
            i += 1;
        } else {
            buf.push('\'');
            let mut in_literal = false;
            while i < p.len() {
                let c = p[i];
                if c == '\'' {
                    if i + 1 < p.len() && p[i + 1] == '\'' {
                        i += 1;
                        buf.push(c);
                    } else {
                        in_literal = !in_literal;
                    }
                } else if !in_literal && c.is_ascii_alphabetic() {
                    break;
                } else {
                    buf.push(c);
                }
                i += 1;
            }
        }
        out.push(buf);
    }
    out
}

fn number(field: Field, min: usize, max: usize, signed: bool) -> Elem {
    Elem::Number {
        field,
        min,
        max: max.max(min),
        signed,
    }
}

impl Formatter {
    /// `DateTimeFormat.forPattern(pattern)`. `current_year` is the clock's year in the default
    /// zone, which Joda uses to pivot two-digit years.
    pub fn for_pattern(pattern: &str, current_year: i64) -> Result<Formatter, String> {
        let toks = tokens(pattern);
        let mut elems = Vec::new();
        for (k, tok) in toks.iter().enumerate() {
            let n = tok.chars().count();
            let next_numeric = toks.get(k + 1).is_some_and(|t| is_numeric_token(t));
            let Some(c) = tok.chars().next() else {
                continue;
            };
            let e = match c {
                'G' => Elem::Text {
                    field: Field::Era,
                    short: false,
                },
                'C' => number(Field::CenturyOfEra, n, n, true),
                'x' | 'y' | 'Y' => {
                    if n == 2 {
                        let field = if c == 'x' {
                            Field::Weekyear
                        } else {
                            Field::Year
                        };
                        Elem::TwoDigitYear {
                            field,
                            pivot: current_year - 30,
                            lenient: !next_numeric,
                        }
                    } else {
                        let max = if next_numeric { n } else { 9 };
                        match c {
                            'x' => number(Field::Weekyear, n, max, true),
                            'y' => number(Field::Year, n, max, true),
                            _ => number(Field::YearOfEra, n, max, false),
                        }
                    }
                }
                'M' => {
                    if n >= 3 {
                        Elem::Text {
                            field: Field::MonthOfYear,
                            short: n < 4,
                        }
                    } else {
                        number(Field::MonthOfYear, n, 2, false)
                    }
                }
                'd' => number(Field::DayOfMonth, n, 2, false),
                'a' => Elem::Text {
                    field: Field::HalfdayOfDay,
                    short: false,
                },
                'h' => number(Field::ClockhourOfHalfday, n, 2, false),
                'H' => number(Field::HourOfDay, n, 2, false),
                'k' => number(Field::ClockhourOfDay, n, 2, false),
                'K' => number(Field::HourOfHalfday, n, 2, false),
                'm' => number(Field::MinuteOfHour, n, 2, false),
                's' => number(Field::SecondOfMinute, n, 2, false),
                'S' => Elem::Fraction {
                    unit: 1000,
                    min: n,
                    max: n,
                },
                'e' => number(Field::DayOfWeek, n, 1, false),
                'E' => Elem::Text {
                    field: Field::DayOfWeek,
                    short: n < 4,
                },
                'D' => number(Field::DayOfYear, n, 3, false),
                'w' => number(Field::WeekOfWeekyear, n, 2, false),
                'z' => Elem::ZoneName { long: n >= 4 },
                'Z' => match n {
                    1 => Elem::Offset {
                        zero_print: None,
                        separators: false,
                        max_fields: 2,
                    },
                    2 => Elem::Offset {
                        zero_print: None,
                        separators: true,
                        max_fields: 2,
                    },
                    _ => Elem::ZoneId,
                },
                '\'' => Elem::Literal(tok.chars().skip(1).collect()),
                _ => return Err(format!("Illegal pattern component: {tok}")),
            };
            elems.push(e);
        }
        Ok(Formatter {
            elems,
            zone: None,
            printable: true,
        })
    }

    /// Joda's `ISODateTimeFormat.dateTimeParser()` (built once).
    pub fn iso_parser() -> &'static Formatter {
        static ISO: std::sync::OnceLock<Formatter> = std::sync::OnceLock::new();
        ISO.get_or_init(Formatter::build_iso_parser)
    }

    fn build_iso_parser() -> Formatter {
        let dot = Elem::Alt {
            alts: vec![
                vec![Elem::Literal(".".into())],
                vec![Elem::Literal(",".into())],
            ],
            optional: false,
        };
        let offset = Elem::Offset {
            zero_print: Some("Z"),
            separators: true,
            max_fields: 4,
        };
        let time = vec![
            number(Field::HourOfDay, 2, 2, false),
            Elem::Alt {
                alts: vec![
                    vec![
                        Elem::Literal(":".into()),
                        number(Field::MinuteOfHour, 2, 2, false),
                        Elem::Alt {
                            alts: vec![
                                vec![
                                    Elem::Literal(":".into()),
                                    number(Field::SecondOfMinute, 2, 2, false),
                                    Elem::Alt {
                                        alts: vec![vec![
                                            dot.clone(),
                                            Elem::Fraction {
                                                unit: 1000,
                                                min: 1,
                                                max: 9,
                                            },
                                        ]],
                                        optional: true,
                                    },
                                ],
                                vec![
                                    dot.clone(),
                                    Elem::Fraction {
                                        unit: MILLIS_PER_MINUTE,
                                        min: 1,
                                        max: 9,
                                    },
                                ],
                            ],
                            optional: true,
                        },
                    ],
                    vec![
                        dot.clone(),
                        Elem::Fraction {
                            unit: MILLIS_PER_HOUR,
                            min: 1,
                            max: 9,
                        },
                    ],
                ],
                optional: true,
            },
        ];
        let optional = |e: Vec<Elem>| Elem::Alt {
            alts: vec![e],
            optional: true,
        };
        let date = Elem::Alt {
            alts: vec![
                vec![
                    number(Field::Year, 4, 9, true),
                    optional(vec![
                        Elem::Literal("-".into()),
                        number(Field::MonthOfYear, 2, 2, false),
                        optional(vec![
                            Elem::Literal("-".into()),
                            number(Field::DayOfMonth, 2, 2, false),
                        ]),
                    ]),
                ],
                vec![
                    number(Field::Weekyear, 4, 9, true),
                    Elem::Literal("-W".into()),
                    number(Field::WeekOfWeekyear, 2, 2, false),
                    optional(vec![
                        Elem::Literal("-".into()),
                        number(Field::DayOfWeek, 1, 1, false),
                    ]),
                ],
                vec![
                    number(Field::Year, 4, 9, true),
                    Elem::Literal("-".into()),
                    number(Field::DayOfYear, 3, 3, false),
                ],
            ],
            optional: false,
        };
        let mut time_with_t = vec![Elem::Literal("T".into())];
        time_with_t.extend(time.clone());
        time_with_t.push(optional(vec![offset.clone()]));
        let date_optional_time = vec![
            date,
            optional(vec![
                Elem::Literal("T".into()),
                optional(time),
                optional(vec![offset]),
            ]),
        ];
        Formatter {
            elems: vec![Elem::Alt {
                alts: vec![time_with_t, date_optional_time],
                optional: false,
            }],
            zone: None,
            printable: false,
        }
    }

    /// `withZone(zone)`.
    pub fn with_zone(&self, zone: Zone) -> Formatter {
        Formatter {
            zone: Some(zone),
            ..self.clone()
        }
    }

    /// The zone set with `withZone`, if any.
    pub fn zone(&self) -> Option<&Zone> {
        self.zone.as_ref()
    }

    /// Whether this formatter can print (the ISO parser cannot).
    pub fn can_print(&self) -> bool {
        self.printable
    }

    /// Prints an instant; the formatter's zone wins over `zone`.
    pub fn print(&self, millis: i64, zone: &Zone) -> String {
        let zone = self.zone.as_ref().unwrap_or(zone);
        let offset = zone.offset(millis);
        let local = millis.saturating_add(offset);
        let mut out = String::new();
        for e in &self.elems {
            print_elem(&mut out, e, local, millis, offset, zone);
        }
        out
    }

    /// `parseMillis(text)` with `default_zone` standing for the JVM default zone.
    pub fn parse_millis(&self, text: &str, default_zone: &Zone) -> Result<i64, JodaError> {
        Ok(self.parse(text, default_zone)?.0)
    }

    /// `parseDateTime(text)`.
    pub fn parse_datetime(&self, text: &str, default_zone: &Zone) -> Result<DateTime, JodaError> {
        let (millis, zone) = self.parse(text, default_zone)?;
        Ok(DateTime::new(millis, zone))
    }

    /// Parses with the chronology's zone `zone_for_fields` (used by `new DateTime(String, zone)`).
    fn parse(&self, text: &str, default_zone: &Zone) -> Result<(i64, Zone), JodaError> {
        let chars: Vec<char> = text.chars().collect();
        let zone = self.zone.clone().unwrap_or_else(|| default_zone.clone());
        let mut bucket = Bucket {
            fields: Vec::new(),
            offset: None,
            zone: None,
        };
        let pos = parse_seq(&self.elems, &chars, 0, &mut bucket);
        let end = match pos {
            Ok(p) if p >= chars.len() => p,
            Ok(p) => return Err(JodaError::Argument(error_message(text, &chars, p))),
            Err(p) => return Err(JodaError::Argument(error_message(text, &chars, p))),
        };
        let _ = end;
        let result_zone = match (&self.zone, &bucket.zone) {
            (Some(z), _) => z.clone(),
            (None, Some(z)) => z.clone(),
            (None, None) => zone.clone(),
        };
        let local = compute_local(&mut bucket, text)?;
        let millis = if let Some(offset) = bucket.offset {
            local.saturating_sub(offset)
        } else {
            let z = bucket.zone.clone().unwrap_or(zone);
            let offset = z.offset_from_local(local);
            let millis = local.saturating_sub(offset);
            if offset != z.offset(millis) {
                return Err(JodaError::Instant(format!(
                    "Cannot parse \"{text}\": Illegal instant due to time zone offset transition ({})",
                    z.id()
                )));
            }
            millis
        };
        Ok((millis, result_zone))
    }
}

fn error_message(text: &str, chars: &[char], pos: usize) -> String {
    let sample: String = if chars.len() <= pos + 35 {
        text.to_string()
    } else {
        let mut s: String = chars[..pos + 32].iter().collect();
        s.push_str("...");
        s
    };
    if pos == 0 {
        return format!("Invalid format: \"{sample}\"");
    }
    if pos >= chars.len() {
        return format!("Invalid format: \"{sample}\" is too short");
    }
    let rest: String = sample.chars().skip(pos).collect();
    format!("Invalid format: \"{sample}\" is malformed at \"{rest}\"")
}

fn pad_int(out: &mut String, value: i64, min: usize) {
    if value < 0 {
        out.push('-');
    }
    let digits = value.unsigned_abs().to_string();
    for _ in digits.len()..min {
        out.push('0');
    }
    out.push_str(&digits);
}

fn print_elem(out: &mut String, e: &Elem, local: i64, millis: i64, offset: i64, zone: &Zone) {
    match e {
        Elem::Literal(s) => out.push_str(s),
        Elem::Number { field, min, .. } => pad_int(out, chrono::get(*field, local), *min),
        Elem::TwoDigitYear { field, .. } => {
            pad_int(out, chrono::get(*field, local).abs() % 100, 2);
        }
        Elem::Text { field, short } => {
            let v = chrono::get(*field, local);
            out.push_str(&if *short {
                chrono::short_text(*field, v)
            } else {
                chrono::text(*field, v)
            });
        }
        Elem::Fraction { unit, min, max } => {
            let fraction = local.rem_euclid(*unit);
            if fraction == 0 {
                out.extend(std::iter::repeat_n('0', *min));
                return;
            }
            let max_digits = (*max).min(18);
            let scaled = (fraction as i128 * 10i128.pow(max_digits as u32) / *unit as i128) as i64;
            let s = scaled.to_string();
            for _ in s.len()..max_digits {
                out.push('0');
            }
            out.push_str(&s);
        }
        Elem::Offset {
            zero_print,
            separators,
            max_fields,
        } => {
            if offset == 0
                && let Some(z) = zero_print
            {
                out.push_str(z);
                return;
            }
            out.push(if offset < 0 { '-' } else { '+' });
            let mut o = offset.abs();
            pad_int(out, o / MILLIS_PER_HOUR, 2);
            o %= MILLIS_PER_HOUR;
            if *separators {
                out.push(':');
            }
            pad_int(out, o / MILLIS_PER_MINUTE, 2);
            o %= MILLIS_PER_MINUTE;
            if *max_fields > 2 && o != 0 {
                if *separators {
                    out.push(':');
                }
                pad_int(out, o / 1000, 2);
                if o % 1000 != 0 {
                    out.push('.');
                    pad_int(out, o % 1000, 3);
                }
            }
        }
        Elem::ZoneName { long } => {
            out.push_str(&if *long {
                zone.long_name(millis)
            } else {
                zone.short_name(millis)
            });
        }
        Elem::ZoneId => out.push_str(zone.id()),
        Elem::Alt { .. } => {}
    }
}

#[derive(Clone)]
struct Bucket {
    fields: Vec<(PField, i64)>,
    offset: Option<i64>,
    zone: Option<Zone>,
}

/// Parses a sequence; `Ok(end)` or `Err(failure position)`.
fn parse_seq(
    elems: &[Elem],
    text: &[char],
    mut pos: usize,
    bucket: &mut Bucket,
) -> Result<usize, usize> {
    for e in elems {
        pos = parse_elem(e, text, pos, bucket)?;
    }
    Ok(pos)
}

fn digits_at(text: &[char], pos: usize, max: usize) -> usize {
    let mut n = 0;
    while n < max && pos + n < text.len() && text[pos + n].is_ascii_digit() {
        n += 1;
    }
    n
}

fn parse_int(text: &[char]) -> Option<i64> {
    let s: String = text.iter().collect();
    let v: i64 = s.trim_start_matches('+').parse().ok()?;
    i32::try_from(v).ok().map(i64::from)
}

fn parse_elem(e: &Elem, text: &[char], pos: usize, bucket: &mut Bucket) -> Result<usize, usize> {
    match e {
        Elem::Literal(s) => {
            let n = s.chars().count();
            if pos + n > text.len() {
                return Err(pos);
            }
            for (k, c) in s.chars().enumerate() {
                let t = text[pos + k];
                if t != c
                    && t.to_uppercase().ne(c.to_uppercase())
                    && t.to_lowercase().ne(c.to_lowercase())
                {
                    return Err(pos);
                }
            }
            Ok(pos + n)
        }
        Elem::Number {
            field, max, signed, ..
        } => {
            let mut limit = (*max).min(text.len().saturating_sub(pos));
            let mut len = 0;
            let mut sign = false;
            while len < limit {
                let c = text[pos + len];
                if len == 0 && (c == '-' || c == '+') && *signed {
                    if len + 1 >= limit || !text[pos + len + 1].is_ascii_digit() {
                        break;
                    }
                    sign = true;
                    len += 1;
                    limit = (limit + 1).min(text.len() - pos);
                    continue;
                }
                if !c.is_ascii_digit() {
                    break;
                }
                len += 1;
            }
            if len == 0 || (sign && len == 1) {
                return Err(pos);
            }
            let value = parse_int(&text[pos..pos + len]).ok_or(pos)?;
            bucket.fields.push((PField::Std(*field), value));
            Ok(pos + len)
        }
        Elem::TwoDigitYear {
            field,
            pivot,
            lenient,
        } => {
            let remaining = text.len().saturating_sub(pos);
            if *lenient {
                let mut start = pos;
                let mut len = 0;
                let mut has_sign = false;
                let mut negative = false;
                let mut limit = remaining;
                while len < limit {
                    let c = text[start + len];
                    if len == 0 && !has_sign && (c == '-' || c == '+') {
                        has_sign = true;
                        negative = c == '-';
                        if negative {
                            len += 1;
                        } else {
                            start += 1;
                            limit -= 1;
                        }
                        continue;
                    }
                    if !c.is_ascii_digit() {
                        break;
                    }
                    len += 1;
                }
                let digit_len = if negative { len.saturating_sub(1) } else { len };
                if digit_len == 0 {
                    return Err(start);
                }
                if has_sign || len != 2 {
                    let value = parse_int(&text[start..start + len]).ok_or(start)?;
                    bucket.fields.push((PField::Std(*field), value));
                    return Ok(start + len);
                }
            } else if remaining < 2 {
                return Err(pos);
            }
            let (Some(a), Some(b)) = (
                text.get(pos).and_then(|c| c.to_digit(10)),
                text.get(pos + 1).and_then(|c| c.to_digit(10)),
            ) else {
                return Err(pos);
            };
            let mut year = (a * 10 + b) as i64;
            let low = pivot - 50;
            let t = if low >= 0 {
                low % 100
            } else {
                99 + ((low + 1) % 100)
            };
            year += low + if year < t { 100 } else { 0 } - t;
            bucket.fields.push((PField::Std(*field), year));
            Ok(pos + 2)
        }
        Elem::Text { field, .. } => {
            let mut best: Option<(usize, i64)> = None;
            let (lo, hi) = match field {
                Field::MonthOfYear => (1, 12),
                Field::DayOfWeek => (1, 7),
                _ => (0, 1),
            };
            let mut candidates: Vec<(String, i64)> = Vec::new();
            for v in lo..=hi {
                for t in [chrono::text(*field, v), chrono::short_text(*field, v)] {
                    candidates.push((t.to_lowercase(), v));
                    candidates.push((t.to_uppercase(), v));
                    candidates.push((t, v));
                }
            }
            if *field == Field::Era {
                for (t, v) in [("BCE", 0), ("bce", 0), ("CE", 1), ("ce", 1)] {
                    candidates.push((t.to_string(), v));
                }
            }
            for (t, v) in candidates {
                let n = t.chars().count();
                if pos + n <= text.len()
                    && text[pos..pos + n].iter().copied().eq(t.chars())
                    && best.is_none_or(|(bn, _)| n > bn)
                {
                    best = Some((n, v));
                }
            }
            match best {
                Some((n, v)) => {
                    bucket.fields.push((PField::Std(*field), v));
                    Ok(pos + n)
                }
                None => Err(pos),
            }
        }
        Elem::Fraction { unit, max, .. } => {
            let limit = (*max).min(text.len().saturating_sub(pos));
            let mut value: i128 = 0;
            let mut n: i128 = *unit as i128 * 10;
            let mut len = 0;
            while len < limit {
                let c = text[pos + len];
                let Some(d) = c.to_digit(10) else { break };
                len += 1;
                let nn = n / 10;
                value += d as i128 * nn;
                n = nn;
            }
            value /= 10;
            if len == 0 || value > i32::MAX as i128 {
                return Err(pos);
            }
            bucket
                .fields
                .push((PField::MillisWithin(*unit), value as i64));
            Ok(pos + len)
        }
        Elem::Offset { max_fields, .. } => {
            if text.get(pos).is_some_and(|c| *c == 'Z' || *c == 'z') {
                bucket.offset = Some(0);
                return Ok(pos + 1);
            }
            let remaining = text.len().saturating_sub(pos);
            if remaining <= 1 {
                return Err(pos);
            }
            let negative = match text[pos] {
                '-' => true,
                '+' => false,
                _ => return Err(pos),
            };
            let mut p = pos + 1;
            let two = |p: usize| -> Option<i64> {
                let a = text.get(p)?.to_digit(10)?;
                let b = text.get(p + 1)?.to_digit(10)?;
                Some((a * 10 + b) as i64)
            };
            let Some(h) = two(p) else { return Err(p) };
            if h > 23 {
                return Err(p);
            }
            let mut offset = h * MILLIS_PER_HOUR;
            p += 2;
            'fields: {
                if p >= text.len() {
                    break 'fields;
                }
                let sep = match text[p] {
                    ':' => {
                        p += 1;
                        true
                    }
                    c if c.is_ascii_digit() => false,
                    _ => break 'fields,
                };
                let count = digits_at(text, p, 2);
                if count == 0 && !sep {
                    break 'fields;
                } else if count < 2 {
                    return Err(p);
                }
                let Some(m) = two(p) else { return Err(p) };
                if m > 59 {
                    return Err(p);
                }
                offset += m * MILLIS_PER_MINUTE;
                p += 2;
                if *max_fields <= 2 || p >= text.len() {
                    break 'fields;
                }
                if sep {
                    if text[p] != ':' {
                        break 'fields;
                    }
                    p += 1;
                }
                let count = digits_at(text, p, 2);
                if count == 0 && !sep {
                    break 'fields;
                } else if count < 2 {
                    return Err(p);
                }
                let Some(s) = two(p) else { return Err(p) };
                if s > 59 {
                    return Err(p);
                }
                offset += s * 1000;
                p += 2;
                if *max_fields <= 3 || p >= text.len() {
                    break 'fields;
                }
                if sep {
                    if text[p] != '.' && text[p] != ',' {
                        break 'fields;
                    }
                    p += 1;
                }
                let count = digits_at(text, p, 3);
                if count == 0 && !sep {
                    break 'fields;
                } else if count < 3 {
                    return Err(p);
                }
                let ms: String = text[p..p + 3].iter().collect();
                offset += ms.parse::<i64>().unwrap_or(0);
                p += 3;
            }
            bucket.offset = Some(if negative { -offset } else { offset });
            Ok(p)
        }
        Elem::ZoneName { .. } => {
            const NAMES: [(&str, &str); 11] = [
                ("UT", "UTC"),
                ("UTC", "UTC"),
                ("GMT", "UTC"),
                ("EST", "America/New_York"),
                ("EDT", "America/New_York"),
                ("CST", "America/Chicago"),
                ("CDT", "America/Chicago"),
                ("MST", "America/Denver"),
                ("MDT", "America/Denver"),
                ("PST", "America/Los_Angeles"),
                ("PDT", "America/Los_Angeles"),
            ];
            let mut best: Option<(usize, &str)> = None;
            for (name, id) in NAMES {
                let n = name.len();
                if pos + n <= text.len()
                    && text[pos..pos + n].iter().copied().eq(name.chars())
                    && best.is_none_or(|(bn, _)| n > bn)
                {
                    best = Some((n, id));
                }
            }
            match best.and_then(|(n, id)| Zone::for_id(id).ok().map(|z| (n, z))) {
                Some((n, z)) => {
                    bucket.zone = Some(z);
                    Ok(pos + n)
                }
                None => Err(pos),
            }
        }
        Elem::ZoneId => {
            let rest: String = text[pos.min(text.len())..].iter().collect();
            let mut best: Option<&String> = None;
            for id in all_ids() {
                if rest.starts_with(id.as_str()) && best.is_none_or(|b| id.len() > b.len()) {
                    best = Some(id);
                }
            }
            match best.and_then(|id| Zone::for_id(id).ok().map(|z| (id.chars().count(), z))) {
                Some((n, z)) => {
                    bucket.zone = Some(z);
                    Ok(pos + n)
                }
                None => Err(pos),
            }
        }
        Elem::Alt { alts, optional } => {
            let original = bucket.clone();
            let mut best_valid = pos;
            let mut best_state: Option<Bucket> = None;
            let mut best_invalid = pos;
            for (i, alt) in alts.iter().enumerate() {
                let mut attempt = original.clone();
                match parse_seq(alt, text, pos, &mut attempt) {
                    Ok(p) if p >= pos => {
                        if p > best_valid {
                            if p >= text.len() || i + 1 >= alts.len() {
                                *bucket = attempt;
                                return Ok(p);
                            }
                            best_valid = p;
                            best_state = Some(attempt);
                        }
                    }
                    Ok(_) => {}
                    Err(p) => best_invalid = best_invalid.max(p),
                }
            }
            if best_valid > pos || (best_valid == pos && *optional) {
                if let Some(state) = best_state {
                    *bucket = state;
                } else {
                    *bucket = original;
                }
                return Ok(best_valid);
            }
            *bucket = original;
            Err(best_invalid)
        }
    }
}

fn set_field(field: PField, local: i64, value: i64) -> Result<i64, String> {
    match field {
        PField::Std(f) => chrono::set(f, local, value).map_err(|e| e.message()),
        PField::MillisWithin(unit) => {
            if value < 0 || value >= unit {
                return Err(format!(
                    "Value {value} for millisOfSecond must be in the range [0,{}]",
                    unit - 1
                ));
            }
            Ok(local - local.rem_euclid(unit) + value)
        }
    }
}

fn round_floor(field: PField, local: i64) -> i64 {
    match field {
        PField::Std(f) => chrono::round_floor(f, local),
        PField::MillisWithin(_) => local,
    }
}

/// Joda's `DateTimeParserBucket.computeMillis(true, text)`: local millis of the parsed fields.
fn compute_local(bucket: &mut Bucket, text: &str) -> Result<i64, JodaError> {
    let mut fields = bucket.fields.clone();
    // Stable sort: larger ranges first, then larger units.
    fields.sort_by_key(|f| std::cmp::Reverse(f.0.sort_key()));
    if let Some((first, _)) = fields.first() {
        let unit = first.sort_key().1;
        const MONTH: u64 = 2_629_746_000;
        if (chrono::MILLIS_PER_DAY as u64..=MONTH).contains(&unit) {
            fields.insert(0, (PField::Std(Field::Year), 2000));
        }
    }
    let wrap = |m: String| JodaError::Field(format!("Cannot parse \"{text}\": {m}"));
    let mut local = 0i64;
    for (f, v) in &fields {
        local = set_field(*f, local, *v).map_err(wrap)?;
        local = round_floor(*f, local);
    }
    let n = fields.len();
    for (i, (f, v)) in fields.iter().enumerate() {
        local = set_field(*f, local, *v).map_err(wrap)?;
        if i + 1 == n {
            local = round_floor(*f, local);
        }
    }
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> Zone {
        Zone::utc()
    }

    fn fmt(p: &str) -> Formatter {
        Formatter::for_pattern(p, 2021).unwrap()
    }

    #[test]
    fn prints_every_letter() {
        let la = Zone::for_id("America/Los_Angeles").unwrap();
        let t = 1_625_619_600_000; // 2021-07-07T01:00Z
        assert_eq!(
            fmt("yyyy-MM-dd hh:mm a z zzzz ZZ Z ZZZ").print(t, &la),
            "2021-07-06 06:00 PM PDT Pacific Daylight Time -07:00 -0700 America/Los_Angeles"
        );
        assert_eq!(
            fmt("G C YYYY yy xxxx ww e E D S SSS").print(t, &utc()),
            "AD 20 2021 21 2021 27 3 Wed 188 0 000"
        );
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm:ss.SSSSSS").print(t, &utc()),
            "2021-07-07 01:00:00.000000"
        );
        assert_eq!(
            fmt("EEEE MMMM MMM d k K").print(t, &utc()),
            "Wednesday July Jul 7 1 1"
        );
        assert_eq!(
            fmt("'at' HH 'o''clock' ''").print(t, &utc()),
            "at 01 o'clock '"
        );
        assert_eq!(fmt("Z ZZ").print(0, &utc()), "+0000 +00:00");
        assert_eq!(fmt("SSS S").print(12_345, &utc()), "345 3");
        assert!(Formatter::for_pattern("q", 2021).is_err());
        assert_eq!(
            Formatter::for_pattern("yyyy-qq", 2021).unwrap_err(),
            "Illegal pattern component: qq"
        );
    }

    #[test]
    fn parses_leniently_like_joda() {
        let p = |pat: &str, s: &str| {
            fmt(pat)
                .parse_datetime(s, &utc())
                .map(|d| d.to_iso_string())
        };
        assert_eq!(
            p("yyyyMMdd", "20190101").unwrap(),
            "2019-01-01T00:00:00.000Z"
        );
        assert_eq!(
            p("yyyyMMdd", "2019011").unwrap(),
            "2019-01-01T00:00:00.000Z"
        );
        assert!(p("yyyyMMdd", "2019010101").is_err());
        assert_eq!(
            p("yyyy-MM-dd", "2019-1-5").unwrap(),
            "2019-01-05T00:00:00.000Z"
        );
        assert_eq!(p("yy", "45").unwrap(), "1945-01-01T00:00:00.000Z");
        assert_eq!(p("yy", "30").unwrap(), "2030-01-01T00:00:00.000Z");
        assert_eq!(p("yy", "2019").unwrap(), "2019-01-01T00:00:00.000Z");
        assert_eq!(p("MM-dd", "02-29").unwrap(), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            p("dd MMM yyyy", "05 jan 2019").unwrap(),
            "2019-01-05T00:00:00.000Z"
        );
        assert_eq!(
            p("yyyy-MM-dd HH:mm Z", "2019-01-01 10:00 +0500").unwrap(),
            "2019-01-01T05:00:00.000Z"
        );
        assert_eq!(p("yyyy", "2019").unwrap(), "2019-01-01T00:00:00.000Z");
        let e = p("YYYYMMdd", "20200230").unwrap_err();
        assert_eq!(
            e.message(),
            "Cannot parse \"20200230\": Value 30 for dayOfMonth must be in the range [1,29]"
        );
        let e = p("YYYYMMdd", "2019010101").unwrap_err();
        assert_eq!(
            e.message(),
            "Invalid format: \"2019010101\" is malformed at \"01\""
        );
    }

    #[test]
    fn parse_respects_dst() {
        let la = Zone::for_id("America/Los_Angeles").unwrap();
        let f = fmt("yyyy-MM-dd HH:mm").with_zone(la);
        assert!(matches!(
            f.parse_datetime("2021-03-14 02:30", &utc()),
            Err(JodaError::Instant(_))
        ));
        let d = f.parse_datetime("2021-11-07 01:30", &utc()).unwrap();
        assert_eq!(d.to_iso_string(), "2021-11-07T01:30:00.000-07:00");
    }

    #[test]
    fn iso_parser_forms() {
        let iso = Formatter::iso_parser();
        let p = |s: &str| iso.parse_datetime(s, &utc()).map(|d| d.millis);
        assert_eq!(p("2019-01-01").unwrap(), 1_546_300_800_000);
        assert_eq!(p("2019-01-01T10:00:00+05:00").unwrap(), 1_546_318_800_000);
        assert_eq!(p("2019-01-01T10:00:00.5Z").unwrap(), 1_546_336_800_500);
        assert_eq!(p("2019-01-01T10").unwrap(), 1_546_336_800_000);
        assert_eq!(p("2019-W01-2").unwrap(), 1_546_300_800_000);
        assert_eq!(p("2019-032").unwrap(), 1_548_979_200_000);
        assert_eq!(p("2019").unwrap(), 1_546_300_800_000);
        assert!(p("2019-13-01").is_err());
        assert!(p("hello").is_err());
        // A bare 8-digit number is a year.
        assert_eq!(
            iso.parse_datetime("20190101", &utc())
                .unwrap()
                .get(Field::Year),
            20_190_101
        );
    }
}
