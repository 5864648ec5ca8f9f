//! Signal definitions: what a step waits for (`signal_dependencies`, §9.4), what it announces
//! (`signal_outputs`, §9.5), and the match operators and values shared with signal triggers.

use crate::maestro_enum;
use crate::params::ParamDefinition;
use indexmap::IndexMap;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

maestro_enum! {
    /// How a signal param is compared: `=`, `>`, `>=`, `<`, `<=`.
    pub enum SignalOperator {
        /// `=`
        EqualsTo => "=",
        /// `>`
        GreaterThan => ">",
        /// `>=`
        GreaterThanEqualsTo => ">=",
        /// `<`
        LessThan => "<",
        /// `<=`
        LessThanEqualsTo => "<=",
    }
}

impl SignalOperator {
    /// True for the range operators (everything but `=`); a dependency may have one at most.
    pub fn is_range(self) -> bool {
        self != SignalOperator::EqualsTo
    }

    /// Applies the operator as `input OP expected`. Longs compare numerically, strings
    /// lexicographically (by UTF-16 code units, like Java's `compareTo`), and a long never matches
    /// a string.
    pub fn matches(self, input: &SignalParamValue, expected: &SignalParamValue) -> bool {
        use std::cmp::Ordering;
        let ord = match (input, expected) {
            (SignalParamValue::Long(a), SignalParamValue::Long(b)) => a.cmp(b),
            (SignalParamValue::String(a), SignalParamValue::String(b)) => {
                a.encode_utf16().cmp(b.encode_utf16())
            }
            _ => return false,
        };
        match self {
            SignalOperator::EqualsTo => ord == Ordering::Equal,
            SignalOperator::GreaterThan => ord == Ordering::Greater,
            SignalOperator::GreaterThanEqualsTo => ord != Ordering::Less,
            SignalOperator::LessThan => ord == Ordering::Less,
            SignalOperator::LessThanEqualsTo => ord != Ordering::Greater,
        }
    }
}

/// A signal param value: a long or a string (the only two indexed types).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignalParamValue {
    /// A number.
    Long(i64),
    /// Text.
    String(String),
}

impl Serialize for SignalParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SignalParamValue::Long(n) => s.serialize_i64(*n),
            SignalParamValue::String(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for SignalParamValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SignalParamValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a long or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SignalParamValue, E> {
                Ok(SignalParamValue::Long(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SignalParamValue, E> {
                i64::try_from(v)
                    .map(SignalParamValue::Long)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignalParamValue, E> {
                Ok(SignalParamValue::String(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A static match condition: `{value, operator}` (signal triggers, evaluated dependencies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalMatchParam {
    /// The value to compare with.
    pub value: SignalParamValue,
    /// The comparison.
    pub operator: SignalOperator,
}

impl SignalMatchParam {
    /// True when `input` satisfies this condition.
    pub fn is_satisfied(&self, input: &SignalParamValue) -> bool {
        self.operator.matches(input, &self.value)
    }
}

/// A match condition whose value is a param (STRING or LONG), evaluated at step initialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalMatchParamDef {
    /// The param giving the value.
    pub param: ParamDefinition,
    /// The comparison.
    pub operator: SignalOperator,
}

/// One signal a step waits for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalDependencyDefinition {
    /// Signal name (may contain `${…}`); required.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Conditions on the signal's params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_params: Option<IndexMap<String, SignalMatchParamDef>>,
}

/// One signal a step announces when it finishes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalOutputDefinition {
    /// Signal name; required.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Indexed params (STRING or LONG only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, ParamDefinition>>,
    /// Informational payload params (any type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<IndexMap<String, ParamDefinition>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_compare_like_maestro() {
        let l = |n| SignalParamValue::Long(n);
        let s = |t: &str| SignalParamValue::String(t.into());
        assert!(SignalOperator::GreaterThanEqualsTo.matches(&l(5), &l(5)));
        assert!(!SignalOperator::GreaterThan.matches(&l(5), &l(5)));
        assert!(SignalOperator::LessThan.matches(&s("20200101"), &s("20200102")));
        assert!(!SignalOperator::EqualsTo.matches(&l(1), &s("1")));
        assert!(!SignalOperator::EqualsTo.is_range() && SignalOperator::LessThan.is_range());
        let m: SignalMatchParam =
            serde_json::from_str(r#"{"value": 12345, "operator": ">="}"#).unwrap();
        assert!(m.is_satisfied(&l(20000)));
        assert!(
            serde_json::from_str::<SignalMatchParam>(r#"{"value": 1, "operator": "=="}"#).is_err()
        );
    }

    #[test]
    fn dependency_round_trip() {
        let json = r#"{"name":"db/test/table1","match_params":{"vtts_utc_hour":{"param":{"value":"00","type":"STRING"},"operator":"="}}}"#;
        let d: SignalDependencyDefinition = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), json);
    }
}
