//! `ParsableLong`: a non-negative integer or a string to be interpolated and parsed at run time
//! (timeouts, retry numbers, trigger jitter). The parsing rules live in [`crate::duration`].

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A number given either literally or as text (`"${timeout}"`, `"20 minutes"`, `"5"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParsableLong {
    /// A non-negative number.
    Long(i64),
    /// Text, parsed after interpolation.
    String(String),
}

impl ParsableLong {
    /// The number, when given as one.
    pub fn as_long(&self) -> Option<i64> {
        match self {
            ParsableLong::Long(n) => Some(*n),
            ParsableLong::String(_) => None,
        }
    }

    /// The text form (a number is written in decimal).
    pub fn as_text(&self) -> String {
        match self {
            ParsableLong::Long(n) => n.to_string(),
            ParsableLong::String(s) => s.clone(),
        }
    }
}

impl fmt::Display for ParsableLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParsableLong::Long(n) => write!(f, "{n}"),
            ParsableLong::String(s) => write!(f, "\"{s}\""),
        }
    }
}

impl From<i64> for ParsableLong {
    fn from(n: i64) -> Self {
        ParsableLong::Long(n)
    }
}

impl From<&str> for ParsableLong {
    fn from(s: &str) -> Self {
        ParsableLong::String(s.to_string())
    }
}

impl Serialize for ParsableLong {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParsableLong::Long(n) => s.serialize_i64(*n),
            ParsableLong::String(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for ParsableLong {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ParsableLong;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParsableLong, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "ParsableLong long value must be non-negative, got {v}"
                    )));
                }
                Ok(ParsableLong::Long(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParsableLong, E> {
                i64::try_from(v)
                    .map(ParsableLong::Long)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParsableLong, E> {
                Ok(ParsableLong::String(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_or_string() {
        let n: ParsableLong = serde_json::from_str("12345").unwrap();
        assert_eq!(n, ParsableLong::Long(12345));
        let s: ParsableLong = serde_json::from_str("\"10 minutes 5 seconds 1 day\"").unwrap();
        assert_eq!(s.as_text(), "10 minutes 5 seconds 1 day");
        assert_eq!(serde_json::to_string(&n).unwrap(), "12345");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"10 minutes 5 seconds 1 day\""
        );
    }

    #[test]
    fn rejects_negative_floats_and_others() {
        assert!(serde_json::from_str::<ParsableLong>("-1").is_err());
        assert!(serde_json::from_str::<ParsableLong>("1.5").is_err());
        assert!(serde_json::from_str::<ParsableLong>("true").is_err());
        assert!(serde_json::from_str::<ParsableLong>("[1]").is_err());
    }
}
