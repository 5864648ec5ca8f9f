//! The order-preserving text encoding of indexed signal param values, shared by every backend
//! so that a match is a range scan on one column.
//!
//! Strings are `#` followed by the text, longs `=` followed by 16 hex digits of the value with
//! its sign bit flipped. Within a type, comparing encodings compares values (strings bytewise,
//! longs numerically); the two types occupy disjoint ranges (`[#, $)` and `[=, >)`), so a match
//! on a long never sees a string and the reverse.

use crate::ops::SignalValue;

const STRING_PREFIX: char = '#';
const LONG_PREFIX: char = '=';

/// The encoding of a value.
pub fn encode(value: &SignalValue) -> String {
    match value {
        SignalValue::String(s) => {
            let mut out = String::with_capacity(s.len() + 1);
            out.push(STRING_PREFIX);
            out.push_str(s);
            out
        }
        SignalValue::Long(n) => format!("{LONG_PREFIX}{:016x}", (*n as u64) ^ (1u64 << 63)),
    }
}

/// The inclusive lower and exclusive upper bound of the encodings of `value`'s type.
pub fn type_range(value: &SignalValue) -> (&'static str, &'static str) {
    match value {
        SignalValue::String(_) => ("#", "$"),
        SignalValue::Long(_) => ("=", ">"),
    }
}

/// Decodes an encoding (for diagnostics and tests).
pub fn decode(text: &str) -> Option<SignalValue> {
    if let Some(s) = text.strip_prefix(STRING_PREFIX) {
        return Some(SignalValue::String(s.to_string()));
    }
    let hex = text.strip_prefix(LONG_PREFIX)?;
    let bits = u64::from_str_radix(hex, 16).ok()?;
    Some(SignalValue::Long((bits ^ (1u64 << 63)) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_sort_numerically_and_round_trip() {
        let values = [i64::MIN, -5_000_000_000, -1, 0, 1, 12345, i64::MAX];
        let encoded: Vec<String> = values
            .iter()
            .map(|v| encode(&SignalValue::Long(*v)))
            .collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(sorted, encoded);
        for (v, e) in values.iter().zip(&encoded) {
            assert_eq!(decode(e), Some(SignalValue::Long(*v)));
            let (lo, hi) = type_range(&SignalValue::Long(*v));
            assert!(e.as_str() >= lo && e.as_str() < hi);
        }
    }

    #[test]
    fn strings_keep_their_order_and_never_meet_longs() {
        let a = encode(&SignalValue::String("20240101".into()));
        let b = encode(&SignalValue::String("20240102".into()));
        assert!(a < b);
        let (lo, hi) = type_range(&SignalValue::String(String::new()));
        assert!(a.as_str() >= lo && a.as_str() < hi);
        let long = encode(&SignalValue::Long(20240101));
        assert!(
            long.as_str() >= hi,
            "long encodings lie above the string range"
        );
        assert_eq!(decode(&a), Some(SignalValue::String("20240101".into())));
    }
}
