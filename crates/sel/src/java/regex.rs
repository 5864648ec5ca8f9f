//! Java regular expressions for `String.split` and `String.replaceAll`, on `fancy-regex`
//! (which has back-references and look-around like `java.util.regex`). Java-only syntax that
//! users plausibly write is translated (`\Q...\E` quoting); Java's split rules (no leading empty
//! string for a zero-width match at 0, trailing empties dropped for limit 0, limits) and its
//! replacement-string rules (`$n`, `${name}`, `\x`) are implemented here. `fancy-regex`'s
//! backtracking limit keeps catastrophic patterns bounded.

use fancy_regex::{Regex, RegexBuilder};

/// Translates Java-only syntax into the fancy-regex dialect.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Q') => {
                    // Quote until \E (or the end).
                    let mut quoted = String::new();
                    loop {
                        match chars.next() {
                            None => break,
                            Some('\\') if chars.peek() == Some(&'E') => {
                                chars.next();
                                break;
                            }
                            Some(q) => quoted.push(q),
                        }
                    }
                    for q in quoted.chars() {
                        if q.is_alphanumeric() || q == '_' || q == ' ' {
                            out.push(q);
                        } else {
                            out.push('\\');
                            out.push(q);
                        }
                    }
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Compiles a Java regex; the error text reads like Java's `PatternSyntaxException`.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let mut builder = RegexBuilder::new(&translate(pattern));
    builder.backtrack_limit(1_000_000);
    builder
        .build()
        .map_err(|e| format!("PatternSyntaxException: {e} near index 0\n{pattern}"))
}

/// Java's `String.split(regex, limit)`.
pub fn split(input: &str, pattern: &str, limit: i32) -> Result<Vec<String>, String> {
    let re = compile(pattern)?;
    let limited = limit > 0;
    let mut list: Vec<String> = Vec::new();
    let mut index = 0usize;
    for m in re.find_iter(input) {
        let m = m.map_err(|e| format!("regex failed: {e}"))?;
        if !limited || (list.len() as i64) < limit as i64 - 1 {
            if index == 0 && m.start() == 0 && m.end() == 0 {
                continue;
            }
            list.push(input[index..m.start()].to_string());
            index = m.end();
        } else if list.len() as i64 == limit as i64 - 1 {
            list.push(input[index..].to_string());
            index = m.end();
            break;
        }
    }
    if index == 0 {
        return Ok(vec![input.to_string()]);
    }
    if !limited || (list.len() as i64) < limit as i64 {
        list.push(input[index.min(input.len())..].to_string());
    }
    if limit == 0 {
        while list.last().is_some_and(String::is_empty) {
            list.pop();
        }
    }
    Ok(list)
}

/// The error of [`replace_all`] when the output would exceed `max_len`.
pub const TOO_LONG: &str = "output exceeds the memory limit";

/// Java's `String.replaceAll(regex, replacement)`; output longer than `max_len` bytes fails
/// with [`TOO_LONG`].
pub fn replace_all(
    input: &str,
    pattern: &str,
    replacement: &str,
    max_len: usize,
) -> Result<String, String> {
    let re = compile(pattern)?;
    let groups = re.captures_len().saturating_sub(1);
    let mut out = String::with_capacity(input.len());
    let mut last = 0usize;
    for caps in re.captures_iter(input) {
        let caps = caps.map_err(|e| format!("regex failed: {e}"))?;
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(&input[last..whole.start()]);
        let r: Vec<char> = replacement.chars().collect();
        let mut i = 0;
        while i < r.len() {
            match r[i] {
                '\\' => {
                    let Some(&next) = r.get(i + 1) else {
                        return Err(
                            "IllegalArgumentException: character to be escaped is missing".into(),
                        );
                    };
                    out.push(next);
                    i += 2;
                }
                '$' => {
                    i += 1;
                    let Some(&next) = r.get(i) else {
                        return Err("IllegalArgumentException: Illegal group reference: group index is missing".into());
                    };
                    if next == '{' {
                        let mut name = String::new();
                        i += 1;
                        while i < r.len() && r[i] != '}' {
                            name.push(r[i]);
                            i += 1;
                        }
                        if i >= r.len() {
                            return Err("IllegalArgumentException: named capturing group is missing trailing '}'".into());
                        }
                        i += 1;
                        if name.is_empty()
                            || !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        {
                            return Err(
                                "IllegalArgumentException: named capturing group has 0 length name"
                                    .into(),
                            );
                        }
                        if !re.capture_names().flatten().any(|n| n == name) {
                            return Err(format!(
                                "IllegalArgumentException: No group with name {{{name}}}"
                            ));
                        }
                        if let Some(m) = caps.name(&name) {
                            out.push_str(m.as_str());
                        }
                    } else {
                        let Some(d) = next.to_digit(10) else {
                            return Err("IllegalArgumentException: Illegal group reference".into());
                        };
                        let mut num = d as usize;
                        i += 1;
                        while let Some(d) = r.get(i).and_then(|c| c.to_digit(10)) {
                            let candidate = num * 10 + d as usize;
                            if candidate > groups {
                                break;
                            }
                            num = candidate;
                            i += 1;
                        }
                        if num > groups {
                            return Err(format!("IndexOutOfBoundsException: No group {num}"));
                        }
                        if let Some(m) = caps.get(num) {
                            out.push_str(m.as_str());
                        }
                    }
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        last = whole.end();
        if out.len() > max_len {
            return Err(TOO_LONG.into());
        }
    }
    out.push_str(&input[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_java() {
        assert_eq!(split("a,b,,c,,", ",", 0).unwrap(), ["a", "b", "", "c"]);
        assert_eq!(split("a.b", ".", 0).unwrap(), Vec::<String>::new());
        assert_eq!(split("a b c", "\\ ", 0).unwrap(), ["a", "b", "c"]);
        assert_eq!(split("abc", "", 0).unwrap(), ["a", "b", "c"]);
        assert_eq!(split("a,b,c", ",", 2).unwrap(), ["a", "b,c"]);
        assert_eq!(split("a,b,,", ",", -1).unwrap(), ["a", "b", "", ""]);
        assert_eq!(split("abc", "x", 0).unwrap(), ["abc"]);
        assert_eq!(split("", ",", 0).unwrap(), [""]);
        assert_eq!(split("a1b2", "\\Q1\\E", 0).unwrap(), ["a", "b2"]);
    }

    #[test]
    fn replace_all_follows_java() {
        assert_eq!(replace_all("a1b22", "\\d+", "#", 1 << 20).unwrap(), "a#b#");
        assert_eq!(
            replace_all("john smith", "(\\w+) (\\w+)", "$2 $1", 1 << 20).unwrap(),
            "smith john"
        );
        assert_eq!(
            replace_all("ab", "(?<x>a)", "${x}${x}", 1 << 20).unwrap(),
            "aab"
        );
        assert_eq!(replace_all("ab", "a", "\\$", 1 << 20).unwrap(), "$b");
        assert!(replace_all("ab", "a", "$", 1 << 20).is_err());
        assert!(replace_all("ab", "a", "$2", 1 << 20).is_err());
        assert!(compile("(").is_err());
        assert_eq!(
            replace_all("aaaa", "", "xxxxxxxx", 16),
            Err(TOO_LONG.to_string())
        );
    }
}
