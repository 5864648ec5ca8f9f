//! Conversions between SEL values and typed param values.
//!
//! Three directions meet here because they share one set of rules (sel.md §7.4, model §3.2):
//! an SEL result is coerced into the param's declared type (`5` into a STRING is `"5"`, `"7"`
//! into a LONG is `7`, …); a literal is cast into the type of the param it overrides during a
//! merge with the same rules (Maestro casts through `setEvaluatedResult` too); and evaluated
//! params are turned back into SEL values to be bound as expression inputs.

use baton_model::params::{EvaluatedValue, ParamType, ParamValue};
use baton_sel::Value;
use baton_sel::java::number::{double_to_string, parse_long};
use indexmap::IndexMap;
use serde_json::Value as Json;

/// A note Maestro attaches to a param's meta when a result was converted implicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoercionNote {
    /// `info`: a number or boolean became a string (or an array of them a string array).
    Info(String),
    /// `warn`: a string was parsed into a number or boolean.
    Warn(String),
}

impl CoercionNote {
    /// The meta key (`info` or `warn`) and its text.
    pub fn meta_entry(&self) -> (&'static str, &str) {
        match self {
            CoercionNote::Info(t) => ("info", t),
            CoercionNote::Warn(t) => ("warn", t),
        }
    }
}

/// A coerced result and the note saying how it was converted, if it was.
pub type Coerced = (EvaluatedValue, Option<CoercionNote>);

/// Coerces an SEL result into `ty`. The error says what was expected and what came, without the
/// param name (callers add it).
pub fn coerce_result(ty: ParamType, v: Value) -> Result<Coerced, String> {
    let got = v.type_name();
    let mismatch =
        |what: &str| format!("is expected to be a {what} compatible type but is [{got}]");
    let info = |from: &str| {
        Some(CoercionNote::Info(format!(
            "Implicitly converted the evaluated result to a {} for type {from}",
            match ty {
                ParamType::StringArray => "string array",
                _ => "string",
            }
        )))
    };
    Ok(match ty {
        ParamType::String => match v {
            Value::String(Some(s)) => (EvaluatedValue::String(s), None),
            Value::Long(n) => (EvaluatedValue::String(n.to_string()), info("Long")),
            Value::Double(d) => (EvaluatedValue::String(double_to_string(d)), info("Double")),
            Value::Boolean(b) => (EvaluatedValue::String(b.to_string()), info("Boolean")),
            _ => return Err(mismatch("String")),
        },
        ParamType::Long => match v {
            Value::Long(n) => (EvaluatedValue::Long(n), None),
            Value::String(Some(s)) => {
                let n = parse_long(&s).ok_or_else(|| {
                    format!("has a result [{s}] that is not a Long: For input string: \"{s}\"")
                })?;
                (
                    EvaluatedValue::Long(n),
                    Some(CoercionNote::Warn(
                        "Implicitly converted the evaluated result to a long for type String"
                            .into(),
                    )),
                )
            }
            _ => return Err(mismatch("Long")),
        },
        ParamType::Double => {
            let d = match v {
                Value::Double(d) if d.is_finite() => d,
                Value::Long(n) => n as f64,
                Value::String(Some(s)) => big_decimal(&s)
                    .ok_or_else(|| format!("has a result [{s}] that is not a decimal number"))?,
                Value::Double(d) => {
                    return Err(format!(
                        "has a result [{}] that is not a decimal number",
                        double_to_string(d)
                    ));
                }
                _ => return Err(mismatch("Double")),
            };
            (EvaluatedValue::Double(d), None)
        }
        ParamType::Boolean => match v {
            Value::Boolean(b) => (EvaluatedValue::Boolean(b), None),
            Value::String(Some(s)) => {
                let b = if s.eq_ignore_ascii_case("true") {
                    true
                } else if s.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(format!(
                        "is expected to have a Boolean compatible result but is [{s}]"
                    ));
                };
                (
                    EvaluatedValue::Boolean(b),
                    Some(CoercionNote::Warn(
                        "Implicitly converted the evaluated result to a boolean for type String"
                            .into(),
                    )),
                )
            }
            _ => return Err(mismatch("Boolean")),
        },
        ParamType::StringArray => match v {
            Value::StringArray(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, s) in items.into_iter().enumerate() {
                    out.push(s.ok_or_else(|| {
                        format!("has a null element at index {i}; a STRING_ARRAY holds no nulls")
                    })?);
                }
                (EvaluatedValue::StringArray(out), None)
            }
            Value::LongArray(items) => (
                EvaluatedValue::StringArray(items.iter().map(i64::to_string).collect()),
                info("long[]"),
            ),
            Value::DoubleArray(items) => (
                EvaluatedValue::StringArray(items.iter().map(|d| double_to_string(*d)).collect()),
                info("double[]"),
            ),
            Value::BooleanArray(items) => (
                EvaluatedValue::StringArray(items.iter().map(bool::to_string).collect()),
                info("boolean[]"),
            ),
            _ => return Err(mismatch("String array")),
        },
        ParamType::LongArray => match v {
            Value::LongArray(items) => (EvaluatedValue::LongArray(items), None),
            _ => return Err(mismatch("long array")),
        },
        ParamType::DoubleArray => match v {
            Value::DoubleArray(items) => (EvaluatedValue::DoubleArray(items), None),
            Value::LongArray(items) => (
                EvaluatedValue::DoubleArray(items.iter().map(|n| *n as f64).collect()),
                None,
            ),
            _ => return Err(mismatch("double array")),
        },
        ParamType::BooleanArray => match v {
            Value::BooleanArray(items) => (EvaluatedValue::BooleanArray(items), None),
            _ => return Err(mismatch("boolean array")),
        },
        ParamType::StringMap => match v {
            Value::Map(Some(m)) => {
                let mut out = IndexMap::with_capacity(m.len());
                for (k, item) in m {
                    let s = match item {
                        Value::String(Some(s)) => s,
                        Value::Long(n) => n.to_string(),
                        Value::Double(d) => double_to_string(d),
                        Value::Boolean(b) => b.to_string(),
                        other => {
                            return Err(format!(
                                "has a value of type [{}] under key [{k}]; a STRING_MAP holds only strings",
                                other.type_name()
                            ));
                        }
                    };
                    out.insert(k, s);
                }
                (EvaluatedValue::StringMap(out), None)
            }
            _ => return Err(mismatch("Map")),
        },
        ParamType::Map => match v {
            // Maestro unboxes an SEL map into a Java HashMap, so its JSON comes out in HashMap
            // order; `Value::to_json` reproduces that order.
            Value::Map(Some(_)) => match v.to_json() {
                Json::Object(obj) => (EvaluatedValue::Map(obj.into_iter().collect()), None),
                _ => return Err(mismatch("Map")),
            },
            _ => return Err(mismatch("Map")),
        },
    })
}

/// Java's `new BigDecimal(text).doubleValue()`: an optional sign, digits with an optional
/// fraction, an optional exponent; no blanks, no `NaN`, no type suffix.
fn big_decimal(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut digits = 0;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    text.parse::<f64>().ok().filter(|d| d.is_finite())
}

/// A literal's value as an evaluated result of its own type (no interpolation: callers handle
/// STRING, STRING_ARRAY, STRING_MAP and MAP literals themselves).
pub fn literal_result(v: &ParamValue) -> EvaluatedValue {
    match v {
        ParamValue::String(s) => EvaluatedValue::String(s.clone()),
        ParamValue::Long(n) => EvaluatedValue::Long(*n),
        ParamValue::Double(n) => EvaluatedValue::Double(n.as_f64().unwrap_or(0.0)),
        ParamValue::Boolean(b) => EvaluatedValue::Boolean(*b),
        ParamValue::StringMap(m) => EvaluatedValue::StringMap(m.clone()),
        ParamValue::StringArray(a) => EvaluatedValue::StringArray(a.clone()),
        ParamValue::LongArray(a) => EvaluatedValue::LongArray(a.clone()),
        ParamValue::DoubleArray(a) => {
            EvaluatedValue::DoubleArray(a.iter().map(|n| n.as_f64().unwrap_or(0.0)).collect())
        }
        ParamValue::BooleanArray(a) => EvaluatedValue::BooleanArray(a.clone()),
        ParamValue::Map(m) => EvaluatedValue::Map(
            m.iter()
                .filter_map(|(k, d)| {
                    d.value
                        .as_ref()
                        .map(|v| (k.clone(), literal_result(v).to_json()))
                })
                .collect(),
        ),
    }
}

/// Casts a literal into another type during a merge (Maestro sets the new value as the
/// evaluated result of a param of the base type). MAP takes part only when both sides are MAPs.
pub fn cast_literal(v: &ParamValue, to: ParamType) -> Result<ParamValue, String> {
    let from = v.param_type();
    if from == to {
        return Ok(v.clone());
    }
    if from == ParamType::Map || to == ParamType::Map {
        return Err(format!("a {from} value cannot become a {to}"));
    }
    let (result, _) = coerce_result(to, to_sel(&literal_result(v)))?;
    Ok(result.to_param_value())
}

/// An evaluated result as an SEL input value (Maestro binds the Java evaluated result; SEL
/// boxes it).
pub fn to_sel(v: &EvaluatedValue) -> Value {
    match v {
        EvaluatedValue::String(s) => Value::String(Some(s.clone())),
        EvaluatedValue::Long(n) => Value::Long(*n),
        EvaluatedValue::Double(d) => Value::Double(*d),
        EvaluatedValue::Boolean(b) => Value::Boolean(*b),
        EvaluatedValue::StringMap(m) => Value::Map(Some(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(Some(v.clone()))))
                .collect(),
        )),
        EvaluatedValue::StringArray(a) => Value::StringArray(a.iter().cloned().map(Some).collect()),
        EvaluatedValue::LongArray(a) => Value::LongArray(a.clone()),
        EvaluatedValue::DoubleArray(a) => Value::DoubleArray(a.clone()),
        EvaluatedValue::BooleanArray(a) => Value::BooleanArray(a.clone()),
        EvaluatedValue::Map(m) => Value::Map(Some(
            m.iter().map(|(k, v)| (k.clone(), json_to_sel(v))).collect(),
        )),
    }
}

/// A plain JSON value (an entry of an evaluated MAP) as an SEL value: strings, LONG for
/// integers, DOUBLE for other numbers, booleans, maps, and arrays typed by their elements (as
/// Maestro rebuilds typed arrays from a MAP's JSON). An array mixing kinds, or holding maps or
/// arrays, has no SEL type and becomes NULL, which SEL reports if the program reads it.
pub fn json_to_sel(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::String(s) => Value::String(Some(s.clone())),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => n.as_f64().map(Value::Double).unwrap_or(Value::Null),
        },
        Json::Object(obj) => Value::Map(Some(
            obj.iter()
                .map(|(k, v)| (k.clone(), json_to_sel(v)))
                .collect(),
        )),
        Json::Array(items) => {
            if items.iter().all(|x| x.is_string() || x.is_null()) {
                Value::StringArray(
                    items
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect(),
                )
            } else if items.iter().all(Json::is_boolean) {
                Value::BooleanArray(items.iter().filter_map(Json::as_bool).collect())
            } else if items.iter().all(|x| x.as_i64().is_some()) {
                Value::LongArray(items.iter().filter_map(Json::as_i64).collect())
            } else if items.iter().all(Json::is_number) {
                Value::DoubleArray(items.iter().filter_map(Json::as_f64).collect())
            } else {
                Value::Null
            }
        }
    }
}

/// The text an evaluated result stands for inside an interpolated string: scalars as Java
/// prints them, arrays and maps as compact JSON.
pub fn interpolation_text(v: &EvaluatedValue) -> String {
    match v {
        EvaluatedValue::String(s) => s.clone(),
        EvaluatedValue::Long(n) => n.to_string(),
        EvaluatedValue::Double(d) => double_to_string(*d),
        EvaluatedValue::Boolean(b) => b.to_string(),
        other => other.to_json().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(ty: ParamType, v: Value) -> EvaluatedValue {
        coerce_result(ty, v).unwrap().0
    }

    #[test]
    fn strings_accept_scalars_with_a_note() {
        assert_eq!(
            ok(ParamType::String, Value::Long(5)),
            EvaluatedValue::String("5".into())
        );
        assert_eq!(
            ok(ParamType::String, Value::Double(1e10)),
            EvaluatedValue::String("1.0E10".into())
        );
        assert_eq!(
            ok(ParamType::String, Value::Boolean(true)),
            EvaluatedValue::String("true".into())
        );
        let (_, note) = coerce_result(ParamType::String, Value::Long(5)).unwrap();
        assert!(matches!(note, Some(CoercionNote::Info(t)) if t.contains("Long")));
        let err = coerce_result(ParamType::String, Value::Null).unwrap_err();
        assert!(
            err.contains("String compatible type but is [NULL]"),
            "{err}"
        );
        assert!(coerce_result(ParamType::String, Value::String(None)).is_err());
    }

    #[test]
    fn longs_accept_numeric_strings_only() {
        assert_eq!(
            ok(ParamType::Long, Value::string("-42")),
            EvaluatedValue::Long(-42)
        );
        let err = coerce_result(ParamType::Long, Value::string("foo")).unwrap_err();
        assert!(err.contains("For input string: \"foo\""), "{err}");
        assert!(coerce_result(ParamType::Long, Value::string(" 1")).is_err());
        let err = coerce_result(ParamType::Long, Value::Double(1.5)).unwrap_err();
        assert!(
            err.contains("Long compatible type but is [DOUBLE]"),
            "{err}"
        );
    }

    #[test]
    fn doubles_accept_any_number() {
        assert_eq!(
            ok(ParamType::Double, Value::Long(5)),
            EvaluatedValue::Double(5.0)
        );
        assert_eq!(
            ok(ParamType::Double, Value::string("1.5e2")),
            EvaluatedValue::Double(150.0)
        );
        assert!(coerce_result(ParamType::Double, Value::string("NaN")).is_err());
        assert!(coerce_result(ParamType::Double, Value::Double(f64::NAN)).is_err());
        assert!(coerce_result(ParamType::Double, Value::Boolean(true)).is_err());
        assert!(coerce_result(ParamType::Double, Value::string("1.5d")).is_err());
    }

    #[test]
    fn booleans_accept_true_and_false_strings() {
        assert_eq!(
            ok(ParamType::Boolean, Value::string("trUe")),
            EvaluatedValue::Boolean(true)
        );
        assert_eq!(
            ok(ParamType::Boolean, Value::string("FALSE")),
            EvaluatedValue::Boolean(false)
        );
        let err = coerce_result(ParamType::Boolean, Value::string("yes")).unwrap_err();
        assert!(err.contains("[yes]"), "{err}");
        assert!(coerce_result(ParamType::Boolean, Value::Long(1)).is_err());
    }

    #[test]
    fn arrays_convert_element_wise() {
        assert_eq!(
            ok(ParamType::StringArray, Value::LongArray(vec![1, 2, 3])),
            EvaluatedValue::StringArray(vec!["1".into(), "2".into(), "3".into()])
        );
        assert_eq!(
            ok(ParamType::StringArray, Value::DoubleArray(vec![1.0])),
            EvaluatedValue::StringArray(vec!["1.0".into()])
        );
        assert_eq!(
            ok(ParamType::DoubleArray, Value::LongArray(vec![2])),
            EvaluatedValue::DoubleArray(vec![2.0])
        );
        assert!(coerce_result(ParamType::LongArray, Value::string_array(["1"])).is_err());
        assert!(coerce_result(ParamType::BooleanArray, Value::LongArray(vec![])).is_err());
        assert!(coerce_result(ParamType::StringArray, Value::StringArray(vec![None])).is_err());
    }

    #[test]
    fn maps_come_from_sel_maps() {
        let m = Value::map([("b", Value::Long(1)), ("a", Value::string("x"))]);
        let EvaluatedValue::Map(out) = ok(ParamType::Map, m.clone()) else {
            panic!("map expected")
        };
        assert_eq!(out["a"], json!("x"));
        assert_eq!(out["b"], json!(1));
        let EvaluatedValue::StringMap(sm) = ok(ParamType::StringMap, m) else {
            panic!("string map expected")
        };
        assert_eq!(sm["b"], "1");
        assert!(coerce_result(ParamType::Map, Value::Map(None)).is_err());
        assert!(
            coerce_result(
                ParamType::StringMap,
                Value::map([("a", Value::LongArray(vec![]))])
            )
            .is_err()
        );
    }

    #[test]
    fn literals_cast_between_types() {
        assert_eq!(
            cast_literal(&ParamValue::Long(5), ParamType::String).unwrap(),
            ParamValue::String("5".into())
        );
        assert_eq!(
            cast_literal(&ParamValue::String("7".into()), ParamType::Long).unwrap(),
            ParamValue::Long(7)
        );
        assert!(cast_literal(&ParamValue::String("x".into()), ParamType::Long).is_err());
        assert!(cast_literal(&ParamValue::Long(1), ParamType::Map).is_err());
        assert!(cast_literal(&ParamValue::Long(1), ParamType::LongArray).is_err());
    }

    #[test]
    fn evaluated_values_bind_as_sel_values() {
        let m = EvaluatedValue::Map(
            [
                ("a".to_string(), json!([1, 2])),
                ("b".to_string(), json!({"c": 1.5})),
            ]
            .into_iter()
            .collect(),
        );
        let Value::Map(Some(sel)) = to_sel(&m) else {
            panic!("map expected")
        };
        assert_eq!(sel["a"], Value::LongArray(vec![1, 2]));
        assert_eq!(sel["b"], Value::map([("c", Value::Double(1.5))]));
        assert_eq!(json_to_sel(&json!([1, "a"])), Value::Null);
        assert_eq!(
            interpolation_text(&EvaluatedValue::LongArray(vec![1, 2])),
            "[1,2]"
        );
        assert_eq!(interpolation_text(&EvaluatedValue::Double(15.0)), "15.0");
    }
}
