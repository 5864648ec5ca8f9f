//! Java's number/text conversions: `Double.toString` (JDK 19+ shortest digits, with Java's
//! plain/scientific switch), `Double.parseDouble` and `Long.parseLong` acceptance rules, and
//! the shortest-digits decomposition the `String.format` emulation rounds from.

/// The shortest decimal digits that round-trip `v` (finite, non-zero, sign ignored) and the
/// decimal exponent of the first digit: `v = 0.d1d2d3... × 10^(exp+1)`, i.e. `d1.d2d3 × 10^exp`.
pub(crate) fn shortest_digits(v: f64) -> (Vec<u8>, i32) {
    let s = format!("{:e}", v.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.len() == 1 {
        // Java picks, among decimals of length 1 or 2 that round to v, the closest one.
        let two = format!("{:.1e}", v.abs());
        if let Ok(back) = two.parse::<f64>()
            && back == v.abs()
        {
            let (m2, e2) = two.split_once('e').unwrap_or((&two, "0"));
            let e2: i32 = e2.parse().unwrap_or(0);
            let d2: Vec<u8> = m2
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect();
            if d2.len() == 2 && !(e2 == exp && d2[0] == digits[0] && d2[1] == 0) {
                let mut d2 = d2;
                while d2.len() > 1 && d2.last() == Some(&0) {
                    d2.pop();
                }
                return (d2, e2);
            }
        }
    }
    (digits, exp)
}

/// Java's `Double.toString(v)`.
pub fn double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let (digits, exp) = shortest_digits(v);
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    let abs = v.abs();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                out.push((b'0' + digits.get(i).copied().unwrap_or(0)) as char);
            }
            out.push('.');
            if digits.len() > int_len {
                for d in &digits[int_len..] {
                    out.push((b'0' + d) as char);
                }
            } else {
                out.push('0');
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            for d in &digits {
                out.push((b'0' + d) as char);
            }
        }
    } else {
        out.push((b'0' + digits[0]) as char);
        out.push('.');
        if digits.len() > 1 {
            for d in &digits[1..] {
                out.push((b'0' + d) as char);
            }
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

fn is_java_space(c: char) -> bool {
    c <= ' '
}

/// Java's `Double.parseDouble(s)`; `None` where Java throws `NumberFormatException`.
pub fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_java_space);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body == "NaN" {
        f64::NAN
    } else if body == "Infinity" {
        f64::INFINITY
    } else if body.starts_with("0x") || body.starts_with("0X") {
        parse_hex_float(&body[2..])?
    } else {
        let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
        if !valid_decimal(body) {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `digits [. digits] [e [+-] digits]` with at least one digit in the mantissa.
fn valid_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mant_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mant_digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mant_digits += 1;
        }
    }
    if mant_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// `hexdigits [. hexdigits] p [+-] digits [fFdD]` (after the `0x`).
fn parse_hex_float(s: &str) -> Option<f64> {
    let s = s.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(s);
    let (mant, exp) = s.split_once(['p', 'P'])?;
    let exp: i64 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let exp = exp.clamp(-2000, 2000) as i32;
    Some(value * 2f64.powi(exp))
}

/// Java's `Long.parseLong(s)`; `None` where Java throws `NumberFormatException`.
pub fn parse_long(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = match b.first() {
        Some(b'-') | Some(b'+') => &s[1..],
        _ => s,
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Java's `Integer.parseInt(s)`.
pub fn parse_int(s: &str) -> Option<i32> {
    parse_long(s).and_then(|v| i32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_to_string_matches_java() {
        let cases = [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1e10, "1.0E10"),
            (12345678.9, "1.23456789E7"),
            (1.1, "1.1"),
            (2.2 + 1.1, "3.3000000000000003"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (5e-324, "4.9E-324"),
            (1.7976931348623157e308, "1.7976931348623157E308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123.456, "123.456"),
        ];
        for (v, want) in cases {
            assert_eq!(double_to_string(v), want, "{v:e}");
        }
    }

    #[test]
    fn parse_double_accepts_java_forms_only() {
        assert_eq!(parse_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_double("1.5f"), Some(1.5));
        assert_eq!(parse_double("2d"), Some(2.0));
        assert_eq!(parse_double("1."), Some(1.0));
        assert_eq!(parse_double(".5"), Some(0.5));
        assert_eq!(parse_double("-1e3"), Some(-1000.0));
        assert_eq!(parse_double("Infinity"), Some(f64::INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_double("0x1.8p1"), Some(3.0));
        for bad in ["", "abc", "inf", "nan", "1e", "1.2.3", "--1", "1 2"] {
            assert_eq!(parse_double(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_long_rejects_spaces_and_decimals() {
        assert_eq!(parse_long("-12"), Some(-12));
        assert_eq!(parse_long("+7"), Some(7));
        assert_eq!(parse_long("9223372036854775808"), None);
        for bad in ["", " 1", "1.0", "-", "0x1", "1L"] {
            assert_eq!(parse_long(bad), None, "{bad}");
        }
    }
}
