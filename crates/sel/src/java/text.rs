//! Java `String` semantics on Rust strings. SEL strings are Java strings: lengths, indexes and
//! comparisons are in UTF-16 code units, `trim` strips every char up to U+0020, and `HashMap`
//! iteration order follows `String.hashCode`. Strings are stored as UTF-8 here and converted
//! at the few places where UTF-16 positions matter. (A substring that would split a surrogate
//! pair yields U+FFFD for the lone half, since Rust strings cannot hold one.)

/// Length in UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// Java's `String.trim()`.
pub fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `String.compareTo`: first differing UTF-16 unit difference, else length difference.
pub fn compare_to(a: &str, b: &str) -> i64 {
    let mut ai = a.encode_utf16();
    let mut bi = b.encode_utf16();
    loop {
        match (ai.next(), bi.next()) {
            (Some(x), Some(y)) if x != y => return x as i64 - y as i64,
            (Some(_), Some(_)) => {}
            (Some(_), None) => return (1 + ai.count()) as i64,
            (None, Some(_)) => return -((1 + bi.count()) as i64),
            (None, None) => return 0,
        }
    }
}

/// Java's `String.lastIndexOf(String)` in UTF-16 units (-1 when absent).
pub fn last_index_of(s: &str, target: &str) -> i64 {
    match s.rfind(target) {
        Some(byte) => utf16_len(&s[..byte]) as i64,
        None => -1,
    }
}

/// Java's `String.substring(begin, end)` in UTF-16 units; `None` for Java's
/// `StringIndexOutOfBoundsException`.
pub fn substring(s: &str, begin: i64, end: i64) -> Option<String> {
    let len = utf16_len(s) as i64;
    if begin < 0 || end > len || begin > end {
        return None;
    }
    if s.is_ascii() {
        return Some(s[begin as usize..end as usize].to_string());
    }
    let units: Vec<u16> = s.encode_utf16().collect();
    Some(String::from_utf16_lossy(
        &units[begin as usize..end as usize],
    ))
}

/// Java's `String.hashCode()`.
pub fn hash_code(s: &str) -> i32 {
    let mut h: i32 = 0;
    for u in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(u as i32);
    }
    h
}

/// The order in which a `java.util.HashMap` that received `keys` in this order (and never lost
/// one) iterates them: by bucket of the spread hash in the final table, insertion order within a
/// bucket. Returns indexes into `keys`.
pub fn hashmap_order<'a>(keys: impl Iterator<Item = Option<&'a str>>) -> Vec<usize> {
    let hashes: Vec<u32> = keys
        .map(|k| match k {
            None => 0,
            Some(k) => {
                let h = hash_code(k) as u32;
                h ^ (h >> 16)
            }
        })
        .collect();
    let mut capacity: usize = 16;
    while hashes.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_by_key(|&i| hashes[i] & mask);
    order
}

/// Java's `String.valueOf(char[])`-free escaping used by SEL's `escape()`.
pub fn escape_java(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_semantics() {
        assert_eq!(utf16_len("日本😀"), 4);
        assert_eq!(compare_to("FooBar ", "oBa"), -41);
        assert_eq!(compare_to("ab", "abc"), -1);
        assert_eq!(compare_to("abcd", "ab"), 2);
        assert_eq!(last_index_of("FooBar ", "oBa"), 2);
        assert_eq!(last_index_of("😀a😀a", "a"), 5);
        assert_eq!(substring("a b c", 3, 5).as_deref(), Some(" c"));
        assert_eq!(substring("a b c", 4, 3), None);
        assert_eq!(substring("😀x", 2, 3).as_deref(), Some("x"));
        assert_eq!(trim("\u{1} a \t"), "a");
    }

    #[test]
    fn hash_codes_match_java() {
        assert_eq!(hash_code("hello"), 99162322);
        assert_eq!(hash_code(""), 0);
        assert_eq!(hash_code("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn hashmap_order_matches_java() {
        // new HashMap: put("foo"), put("bar"), put("baz") iterates bar, foo, baz in Java.
        let keys = ["foo", "bar", "baz"];
        let order = hashmap_order(keys.iter().map(|k| Some(*k)));
        let names: Vec<_> = order.iter().map(|&i| keys[i]).collect();
        assert_eq!(names, ["bar", "foo", "baz"]);
    }
}
