//! Emulation of `java.util.Formatter` (`String.format`) in the en_US locale, for the argument
//! kinds SEL can pass: `Integer`, `Long`, `Double`, `Boolean`, `String`, `null` and opaque
//! objects (printed with their Java `toString`). Conversions `b h s c d o x e f g a % n` with
//! flags, width, precision and explicit/relative argument indexes; errors are Java's
//! `IllegalFormatException` family (an `IllegalArgumentException`).

use crate::java::number::{double_to_string, shortest_digits};

/// One argument as Java would see it after SEL unboxed it.
#[derive(Debug, Clone)]
pub enum FmtArg {
    /// `null`.
    Null,
    /// `java.lang.Integer`.
    Int(i32),
    /// `java.lang.Long`.
    Long(i64),
    /// `java.lang.Double`.
    Double(f64),
    /// `java.lang.Boolean`.
    Bool(bool),
    /// `java.lang.String`.
    Str(String),
    /// Any other object: its `toString()` and `hashCode()`.
    Obj { text: String, hash: i32 },
}

impl FmtArg {
    fn java_string(&self) -> String {
        match self {
            FmtArg::Null => "null".into(),
            FmtArg::Int(v) => v.to_string(),
            FmtArg::Long(v) => v.to_string(),
            FmtArg::Double(v) => double_to_string(*v),
            FmtArg::Bool(b) => b.to_string(),
            FmtArg::Str(s) => s.clone(),
            FmtArg::Obj { text, .. } => text.clone(),
        }
    }

    fn hash(&self) -> Option<i32> {
        Some(match self {
            FmtArg::Null => return None,
            FmtArg::Int(v) => *v,
            FmtArg::Long(v) => (*v ^ ((*v as u64) >> 32) as i64) as i32,
            FmtArg::Double(v) => {
                let bits = if v.is_nan() {
                    0x7ff8000000000000u64
                } else {
                    v.to_bits()
                };
                (bits ^ (bits >> 32)) as i32
            }
            FmtArg::Bool(b) => {
                if *b {
                    1231
                } else {
                    1237
                }
            }
            FmtArg::Str(s) => crate::java::text::hash_code(s),
            FmtArg::Obj { hash, .. } => *hash,
        })
    }

    fn class_name(&self) -> &'static str {
        match self {
            FmtArg::Null => "null",
            FmtArg::Int(_) => "java.lang.Integer",
            FmtArg::Long(_) => "java.lang.Long",
            FmtArg::Double(_) => "java.lang.Double",
            FmtArg::Bool(_) => "java.lang.Boolean",
            FmtArg::Str(_) => "java.lang.String",
            FmtArg::Obj { .. } => "java.lang.Object",
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Flags {
    left: bool,
    alternate: bool,
    plus: bool,
    space: bool,
    zero: bool,
    group: bool,
    paren: bool,
}

fn mismatch(flag: char, conv: char) -> String {
    format!("FormatFlagsConversionMismatchException: Conversion = {conv}, Flags = {flag}")
}

fn conversion_error(conv: char, arg: &FmtArg) -> String {
    format!(
        "IllegalFormatConversionException: {conv} != {}",
        arg.class_name()
    )
}

/// Output longer than this many characters fails (the caller's memory budget).
pub const TOO_LONG: &str = "output exceeds the memory limit";

/// Formats like Java's `String.format(fmt, args)`. The error text names the Java exception, or
/// is [`TOO_LONG`] when a width, precision or the output would exceed `max_len` characters.
pub fn format(fmt: &str, args: &[FmtArg], max_len: usize) -> Result<String, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut ordinary_index = 0usize;
    let mut last_index: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        // argument index: digits followed by '$', or '<'
        let mut explicit: Option<usize> = None;
        let mut relative = false;
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j > i && j < chars.len() && chars[j] == '$' {
            let n: usize = chars[i..j]
                .iter()
                .collect::<String>()
                .parse()
                .map_err(|_| {
                    "IllegalFormatArgumentIndexException: illegal argument index".to_string()
                })?;
            if n == 0 {
                return Err(
                    "IllegalFormatArgumentIndexException: Illegal format argument index = 0".into(),
                );
            }
            explicit = Some(n - 1);
            i = j + 1;
        }
        let mut flags = Flags::default();
        let mut flag_chars = String::new();
        while i < chars.len() {
            match chars[i] {
                '-' => flags.left = true,
                '#' => flags.alternate = true,
                '+' => flags.plus = true,
                ' ' => flags.space = true,
                '0' => flags.zero = true,
                ',' => flags.group = true,
                '(' => flags.paren = true,
                '<' => relative = true,
                _ => break,
            }
            flag_chars.push(chars[i]);
            i += 1;
        }
        let mut width: Option<usize> = None;
        let ws = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i > ws {
            width = Some(
                chars[ws..i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|_| "IllegalFormatWidthException".to_string())?,
            );
        }
        let mut precision: Option<usize> = None;
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            let ps = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i == ps {
                return Err(format!(
                    "UnknownFormatConversionException: Conversion = '{}'",
                    chars.get(i).copied().unwrap_or('%')
                ));
            }
            precision = Some(
                chars[ps..i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|_| "IllegalFormatPrecisionException".to_string())?,
            );
        }
        if width.unwrap_or(0) > max_len || precision.unwrap_or(0) > max_len || out.len() > max_len {
            return Err(TOO_LONG.into());
        }
        let Some(&conv) = chars.get(i) else {
            return Err(format!(
                "UnknownFormatConversionException: Conversion = '{}'",
                chars[start..].iter().collect::<String>()
            ));
        };
        i += 1;
        if conv == 't' || conv == 'T' {
            return Err(format!(
                "UnknownFormatConversionException: Conversion = '{conv}' is not supported by SEL"
            ));
        }
        if (flags.left || flags.zero) && width.is_none() && conv != 'n' {
            return Err(format!("MissingFormatWidthException: %{flag_chars}{conv}"));
        }
        if flags.left && flags.zero {
            return Err(format!(
                "IllegalFormatFlagsException: Flags = '{flag_chars}'"
            ));
        }
        match conv {
            '%' => {
                if precision.is_some() {
                    return Err("IllegalFormatPrecisionException".into());
                }
                pad(&mut out, "%", width, flags.left);
                continue;
            }
            'n' => {
                out.push('\n');
                continue;
            }
            _ => {}
        }
        let index = if relative {
            last_index.ok_or_else(|| {
                format!("MissingFormatArgumentException: Format specifier '%{flag_chars}{conv}'")
            })?
        } else if let Some(n) = explicit {
            n
        } else {
            ordinary_index += 1;
            ordinary_index - 1
        };
        last_index = Some(index);
        let arg = args.get(index).ok_or_else(|| {
            format!(
                "MissingFormatArgumentException: Format specifier '{}'",
                chars[start..i].iter().collect::<String>()
            )
        })?;
        let upper = conv.is_ascii_uppercase();
        let text = match conv.to_ascii_lowercase() {
            'b' => {
                general_flags(&flags, conv)?;
                let s = match arg {
                    FmtArg::Null => "false".to_string(),
                    FmtArg::Bool(b) => b.to_string(),
                    _ => "true".to_string(),
                };
                truncate(s, precision)
            }
            'h' => {
                general_flags(&flags, conv)?;
                let s = match arg.hash() {
                    None => "null".to_string(),
                    Some(h) => format!("{:x}", h as u32),
                };
                truncate(s, precision)
            }
            's' => {
                if flags.alternate {
                    return Err(mismatch('#', conv));
                }
                general_flags(&flags, conv)?;
                truncate(arg.java_string(), precision)
            }
            'c' => {
                if precision.is_some() {
                    return Err("IllegalFormatPrecisionException".into());
                }
                general_flags(&flags, conv)?;
                match arg {
                    FmtArg::Null => "null".to_string(),
                    FmtArg::Int(v) => match u32::try_from(*v).ok().and_then(char::from_u32) {
                        Some(ch) => ch.to_string(),
                        None => {
                            return Err(format!(
                                "IllegalFormatCodePointException: Code point = {v:#x}"
                            ));
                        }
                    },
                    _ => return Err(conversion_error(conv, arg)),
                }
            }
            'd' => {
                if precision.is_some() {
                    return Err("IllegalFormatPrecisionException".into());
                }
                if flags.alternate {
                    return Err(mismatch('#', conv));
                }
                sign_flags_check(&flags)?;
                match arg {
                    FmtArg::Null => "null".to_string(),
                    FmtArg::Int(v) => integer(*v as i128, &flags, width),
                    FmtArg::Long(v) => integer(*v as i128, &flags, width),
                    _ => return Err(conversion_error(conv, arg)),
                }
            }
            'o' | 'x' => {
                if precision.is_some() {
                    return Err("IllegalFormatPrecisionException".into());
                }
                for (set, f) in [
                    (flags.plus, '+'),
                    (flags.space, ' '),
                    (flags.group, ','),
                    (flags.paren, '('),
                ] {
                    if set && !matches!(arg, FmtArg::Null) {
                        return Err(mismatch(f, conv));
                    }
                }
                let radix_text = |v: u64| {
                    if conv.eq_ignore_ascii_case(&'x') {
                        format!("{v:x}")
                    } else {
                        format!("{v:o}")
                    }
                };
                let digits = match arg {
                    FmtArg::Null => "null".to_string(),
                    FmtArg::Int(v) => radix_text(*v as u32 as u64),
                    FmtArg::Long(v) => radix_text(*v as u64),
                    _ => return Err(conversion_error(conv, arg)),
                };
                if matches!(arg, FmtArg::Null) {
                    digits
                } else {
                    let prefix = match (flags.alternate, conv.to_ascii_lowercase()) {
                        (true, 'x') => "0x",
                        (true, _) => "0",
                        _ => "",
                    };
                    let mut s = digits;
                    if flags.zero {
                        let w = width.unwrap_or(0);
                        while s.len() + prefix.len() < w {
                            s.insert(0, '0');
                        }
                    }
                    format!("{prefix}{s}")
                }
            }
            'e' | 'f' | 'g' | 'a' => {
                let v = match arg {
                    FmtArg::Null => None,
                    FmtArg::Double(v) => Some(*v),
                    _ => return Err(conversion_error(conv, arg)),
                };
                match v {
                    None => "null".to_string(),
                    Some(v) => {
                        sign_flags_check(&flags)?;
                        floating(v, conv.to_ascii_lowercase(), &flags, width, precision)?
                    }
                }
            }
            _ => {
                return Err(format!(
                    "UnknownFormatConversionException: Conversion = '{conv}'"
                ));
            }
        };
        let text = if upper { text.to_uppercase() } else { text };
        pad(&mut out, &text, width, flags.left);
    }
    if out.len() > max_len {
        return Err(TOO_LONG.into());
    }
    Ok(out)
}

fn general_flags(flags: &Flags, conv: char) -> Result<(), String> {
    for (set, f) in [
        (flags.plus, '+'),
        (flags.space, ' '),
        (flags.zero, '0'),
        (flags.group, ','),
        (flags.paren, '('),
    ] {
        if set {
            return Err(mismatch(f, conv));
        }
    }
    Ok(())
}

fn sign_flags_check(flags: &Flags) -> Result<(), String> {
    if flags.plus && flags.space {
        return Err("IllegalFormatFlagsException: Flags = '+ '".into());
    }
    Ok(())
}

fn truncate(s: String, precision: Option<usize>) -> String {
    match precision {
        Some(p) if s.chars().count() > p => s.chars().take(p).collect(),
        _ => s,
    }
}

fn pad(out: &mut String, text: &str, width: Option<usize>, left: bool) {
    let len = text.chars().count();
    let fill = width.unwrap_or(0).saturating_sub(len);
    if left {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

fn group_digits(int_digits: &str) -> String {
    let mut out = String::new();
    let n = int_digits.len();
    for (k, ch) in int_digits.chars().enumerate() {
        if k > 0 && (n - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Applies sign flags, grouping and zero padding to a magnitude's digits.
fn signed(negative: bool, magnitude: String, flags: &Flags, width: Option<usize>) -> String {
    let (prefix, suffix) = if negative {
        if flags.paren { ("(", ")") } else { ("-", "") }
    } else if flags.plus {
        ("+", "")
    } else if flags.space {
        (" ", "")
    } else {
        ("", "")
    };
    let mut body = magnitude;
    if flags.zero {
        let w = width.unwrap_or(0);
        while body.chars().count() + prefix.len() + suffix.len() < w {
            body.insert(0, '0');
        }
    }
    format!("{prefix}{body}{suffix}")
}

fn integer(v: i128, flags: &Flags, width: Option<usize>) -> String {
    let digits = v.unsigned_abs().to_string();
    let digits = if flags.group {
        group_digits(&digits)
    } else {
        digits
    };
    signed(v < 0, digits, flags, width)
}

/// Rounds decimal digits (value `0.d1d2... × 10^(exp+1)`) half-up to `keep` digits, returning the
/// new digits and exponent.
fn round_digits(digits: &[u8], exp: i32, keep: i64) -> (Vec<u8>, i32) {
    if keep < 0 {
        return (vec![0], exp);
    }
    let keep = keep as usize;
    if digits.len() <= keep {
        return (digits.to_vec(), exp);
    }
    let mut d: Vec<u8> = digits[..keep].to_vec();
    if digits[keep] >= 5 {
        let mut k = keep;
        loop {
            if k == 0 {
                d.insert(0, 1);
                return (d, exp + 1);
            }
            k -= 1;
            if d[k] == 9 {
                d[k] = 0;
            } else {
                d[k] += 1;
                break;
            }
        }
    }
    if d.is_empty() {
        d.push(0);
    }
    (d, exp)
}

/// `%f` digits of |v| with `prec` fraction digits.
fn fixed(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return if prec == 0 {
            "0".into()
        } else {
            format!("0.{}", "0".repeat(prec))
        };
    }
    let (digits, exp) = shortest_digits(v);
    // Keep exp+1 integer digits plus prec fraction digits.
    let keep = exp as i64 + 1 + prec as i64;
    let (d, e) = if keep < 0 {
        (vec![0], exp)
    } else if keep == 0 {
        // Only rounding decides whether the value becomes 10^-prec.
        if digits[0] >= 5 {
            (vec![1], exp + 1)
        } else {
            (vec![0], exp)
        }
    } else {
        round_digits(&digits, exp, keep)
    };
    let all_zero = d.iter().all(|&x| x == 0);
    let mut int_part = String::new();
    let mut frac = String::new();
    if all_zero {
        int_part.push('0');
        frac = "0".repeat(prec);
    } else {
        // value = 0.d × 10^(e+1)
        let point = e + 1; // digits before the decimal point
        if point <= 0 {
            int_part.push('0');
            let mut f = "0".repeat((-point) as usize);
            f.extend(d.iter().map(|x| (b'0' + x) as char));
            frac = f;
        } else {
            for k in 0..point as usize {
                int_part.push((b'0' + d.get(k).copied().unwrap_or(0)) as char);
            }
            if d.len() > point as usize {
                frac.extend(d[point as usize..].iter().map(|x| (b'0' + x) as char));
            }
        }
        if frac.len() < prec {
            frac.push_str(&"0".repeat(prec - frac.len()));
        } else {
            frac.truncate(prec);
        }
    }
    if prec == 0 {
        int_part
    } else {
        format!("{int_part}.{frac}")
    }
}

/// `%e` mantissa and exponent of |v| with `prec` fraction digits.
fn scientific(v: f64, prec: usize) -> (String, i32) {
    if v == 0.0 {
        let m = if prec == 0 {
            "0".to_string()
        } else {
            format!("0.{}", "0".repeat(prec))
        };
        return (m, 0);
    }
    let (digits, exp) = shortest_digits(v);
    let (d, e) = round_digits(&digits, exp, prec as i64 + 1);
    let mut m = String::new();
    m.push((b'0' + d[0]) as char);
    if prec > 0 {
        m.push('.');
        for k in 1..=prec {
            m.push((b'0' + d.get(k).copied().unwrap_or(0)) as char);
        }
    }
    (m, e)
}

fn exponent_text(e: i32) -> String {
    format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.unsigned_abs())
}

fn floating(
    v: f64,
    conv: char,
    flags: &Flags,
    width: Option<usize>,
    precision: Option<usize>,
) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        let text = if v.is_nan() {
            "NaN".to_string()
        } else if v > 0.0 {
            if flags.plus {
                "+Infinity".into()
            } else if flags.space {
                " Infinity".into()
            } else {
                "Infinity".into()
            }
        } else if flags.paren {
            "(Infinity)".into()
        } else {
            "-Infinity".into()
        };
        return Ok(text);
    }
    let negative = v.is_sign_negative() && v != 0.0 || (v == 0.0 && v.is_sign_negative());
    let a = v.abs();
    let body = match conv {
        'f' => {
            let s = fixed(a, precision.unwrap_or(6));
            if flags.group {
                let (int_part, rest) = match s.split_once('.') {
                    Some((i, r)) => (i.to_string(), format!(".{r}")),
                    None => (s.clone(), String::new()),
                };
                format!("{}{}", group_digits(&int_part), rest)
            } else {
                s
            }
        }
        'e' => {
            if flags.group {
                return Err(mismatch(',', 'e'));
            }
            let (m, e) = scientific(a, precision.unwrap_or(6));
            format!("{m}{}", exponent_text(e))
        }
        'g' => {
            if flags.alternate {
                return Err(mismatch('#', 'g'));
            }
            let mut prec = precision.unwrap_or(6);
            if prec == 0 {
                prec = 1;
            }
            if a == 0.0 {
                fixed(0.0, prec - 1)
            } else {
                let (digits, exp) = shortest_digits(a);
                let (_, e) = round_digits(&digits, exp, prec as i64);
                if e >= -4 && e < prec as i32 {
                    let s = fixed(a, (prec as i32 - (e + 1)).max(0) as usize);
                    if flags.group {
                        let (int_part, rest) = match s.split_once('.') {
                            Some((i, r)) => (i.to_string(), format!(".{r}")),
                            None => (s.clone(), String::new()),
                        };
                        format!("{}{}", group_digits(&int_part), rest)
                    } else {
                        s
                    }
                } else {
                    if flags.group {
                        return Err(mismatch(',', 'g'));
                    }
                    let (m, e) = scientific(a, prec - 1);
                    format!("{m}{}", exponent_text(e))
                }
            }
        }
        _ => {
            // %a: Java's hexadecimal floating point.
            if a == 0.0 {
                "0x0.0p0".to_string()
            } else {
                let bits = a.to_bits();
                let exp_bits = ((bits >> 52) & 0x7ff) as i32;
                let mant = bits & ((1u64 << 52) - 1);
                let (lead, e) = if exp_bits == 0 {
                    (0, -1022)
                } else {
                    (1, exp_bits - 1023)
                };
                let mut hex = format!("{mant:013x}");
                while hex.len() > 1 && hex.ends_with('0') {
                    hex.pop();
                }
                format!("0x{lead}.{hex}p{e}")
            }
        }
    };
    Ok(signed(negative, body, flags, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: &[FmtArg]) -> String {
        format(fmt, args, 1 << 20).unwrap()
    }

    #[test]
    fn common_conversions() {
        assert_eq!(
            f(
                "%s-%s",
                &[FmtArg::Str("ab".into()), FmtArg::Str("c".into())]
            ),
            "ab-c"
        );
        assert_eq!(
            f("%s-%d", &[FmtArg::Str("ab".into()), FmtArg::Int(123)]),
            "ab-123"
        );
        assert_eq!(f("Q%s-%s", &[FmtArg::Int(3), FmtArg::Int(2021)]), "Q3-2021");
        assert_eq!(
            f(
                "%05d|%-4d|%4d",
                &[FmtArg::Int(42), FmtArg::Int(7), FmtArg::Int(-7)]
            ),
            "00042|7   |  -7"
        );
        assert_eq!(
            f("%,d", &[FmtArg::Long(1234567890123)]),
            "1,234,567,890,123"
        );
        assert_eq!(
            f(
                "%x %X %o",
                &[FmtArg::Int(-1), FmtArg::Int(255), FmtArg::Int(8)]
            ),
            "ffffffff FF 10"
        );
        assert_eq!(f("%x", &[FmtArg::Long(-1)]), "ffffffffffffffff");
        assert_eq!(f("%#x", &[FmtArg::Int(255)]), "0xff");
        assert_eq!(f("%.2f", &[FmtArg::Double(0.125)]), "0.13");
        assert_eq!(f("%.2f", &[FmtArg::Double(1.005)]), "1.01");
        assert_eq!(f("%f", &[FmtArg::Double(3.5)]), "3.500000");
        assert_eq!(f("%.0f", &[FmtArg::Double(2.5)]), "3");
        assert_eq!(f("%,.2f", &[FmtArg::Double(1234567.891)]), "1,234,567.89");
        assert_eq!(f("%e", &[FmtArg::Double(12345.678)]), "1.234568e+04");
        assert_eq!(f("%.2e", &[FmtArg::Double(0.000123)]), "1.23e-04");
        assert_eq!(f("%g", &[FmtArg::Double(12345.678)]), "12345.7");
        assert_eq!(f("%g", &[FmtArg::Double(0.00001234)]), "1.23400e-05");
        assert_eq!(
            f("%+d %+.1f", &[FmtArg::Int(5), FmtArg::Double(-0.05)]),
            "+5 -0.1"
        );
        assert_eq!(f("%(d", &[FmtArg::Int(-5)]), "(5)");
        assert_eq!(
            f(
                "%b %b %b",
                &[FmtArg::Null, FmtArg::Bool(false), FmtArg::Int(0)]
            ),
            "false false true"
        );
        assert_eq!(
            f(
                "%S %.2s",
                &[FmtArg::Str("abc".into()), FmtArg::Str("xyz".into())]
            ),
            "ABC xy"
        );
        assert_eq!(
            f(
                "%2$s %1$s %<s",
                &[FmtArg::Str("a".into()), FmtArg::Str("b".into())]
            ),
            "b a a"
        );
        assert_eq!(f("100%% %n", &[]), "100% \n");
        assert_eq!(f("%c", &[FmtArg::Int(65)]), "A");
        assert_eq!(f("%s", &[FmtArg::Double(1e10)]), "1.0E10");
        assert_eq!(f("%.1f", &[FmtArg::Double(0.05)]), "0.1");
        assert_eq!(f("%.3f", &[FmtArg::Double(0.0001)]), "0.000");
        assert_eq!(f("%.1f", &[FmtArg::Double(9.96)]), "10.0");
    }

    #[test]
    fn java_format_errors() {
        assert!(format("%d", &[FmtArg::Double(1.0)], 1 << 20).is_err());
        assert!(format("%c", &[FmtArg::Str("a".into())], 1 << 20).is_err());
        assert!(format("%s %s", &[FmtArg::Int(1)], 1 << 20).is_err());
        assert!(format("%q", &[FmtArg::Int(1)], 1 << 20).is_err());
        assert!(format("%-d", &[FmtArg::Int(1)], 1 << 20).is_err());
        assert!(format("%", &[], 1 << 20).is_err());
        assert_eq!(
            format("%999999999d", &[FmtArg::Int(1)], 1000),
            Err(TOO_LONG.to_string())
        );
        assert_eq!(
            format("%.999999999f", &[FmtArg::Double(1.0)], 1000),
            Err(TOO_LONG.to_string())
        );
    }
}
