//! Typed param values: the literal `value` of a definition ([`ParamValue`]) and the
//! `evaluated_result` of an instance param ([`EvaluatedValue`]).
//!
//! Reading follows Jackson's scalar coercion, as Maestro does: a number or boolean given for a
//! STRING becomes its text, a numeric string given for a LONG or DOUBLE becomes the number, and
//! `"true"`/`"false"` strings are booleans. Structural mismatches (an object for a LONG, a string
//! for an array) are errors. DOUBLE literals keep the number exactly as written, so writing a
//! definition back reproduces its input.

use super::definition::ParamDefinition;
use super::mode::ParamType;
use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

/// A literal param value, one variant per [`ParamType`].
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// STRING.
    String(String),
    /// LONG.
    Long(i64),
    /// DOUBLE, kept as written (Maestro uses `BigDecimal`).
    Double(Number),
    /// BOOLEAN.
    Boolean(bool),
    /// STRING_MAP.
    StringMap(IndexMap<String, String>),
    /// STRING_ARRAY.
    StringArray(Vec<String>),
    /// LONG_ARRAY.
    LongArray(Vec<i64>),
    /// DOUBLE_ARRAY.
    DoubleArray(Vec<Number>),
    /// BOOLEAN_ARRAY.
    BooleanArray(Vec<bool>),
    /// MAP: nested typed params.
    Map(IndexMap<String, ParamDefinition>),
}

impl ParamValue {
    /// The type this value belongs to.
    pub fn param_type(&self) -> ParamType {
        match self {
            ParamValue::String(_) => ParamType::String,
            ParamValue::Long(_) => ParamType::Long,
            ParamValue::Double(_) => ParamType::Double,
            ParamValue::Boolean(_) => ParamType::Boolean,
            ParamValue::StringMap(_) => ParamType::StringMap,
            ParamValue::StringArray(_) => ParamType::StringArray,
            ParamValue::LongArray(_) => ParamType::LongArray,
            ParamValue::DoubleArray(_) => ParamType::DoubleArray,
            ParamValue::BooleanArray(_) => ParamType::BooleanArray,
            ParamValue::Map(_) => ParamType::Map,
        }
    }

    /// Reads a JSON value as a literal of type `ty`. Errors carry a path relative to the value
    /// (`""` for the value itself, `b.type` inside a MAP).
    pub fn from_json(ty: ParamType, v: &Value) -> Result<ParamValue, (String, String)> {
        let here = |msg: String| (String::new(), msg);
        Ok(match ty {
            ParamType::String => ParamValue::String(coerce_string(v).map_err(here)?),
            ParamType::Long => ParamValue::Long(coerce_long(v).map_err(here)?),
            ParamType::Double => ParamValue::Double(coerce_number(v).map_err(here)?),
            ParamType::Boolean => ParamValue::Boolean(coerce_bool(v).map_err(here)?),
            ParamType::StringMap => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| here(mismatch(ty, v, "an object of strings")))?;
                let mut out = IndexMap::with_capacity(obj.len());
                for (k, item) in obj {
                    out.insert(k.clone(), coerce_string(item).map_err(|m| (k.clone(), m))?);
                }
                ParamValue::StringMap(out)
            }
            ParamType::StringArray => {
                ParamValue::StringArray(array_of(ty, v, "strings", coerce_string)?)
            }
            ParamType::LongArray => {
                ParamValue::LongArray(array_of(ty, v, "integers", coerce_long)?)
            }
            ParamType::DoubleArray => {
                ParamValue::DoubleArray(array_of(ty, v, "numbers", coerce_number)?)
            }
            ParamType::BooleanArray => {
                ParamValue::BooleanArray(array_of(ty, v, "booleans", coerce_bool)?)
            }
            ParamType::Map => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| here(mismatch(ty, v, "an object of param definitions")))?;
                let mut out = IndexMap::with_capacity(obj.len());
                for (k, item) in obj {
                    let def = ParamDefinition::from_json(item).map_err(|(sub, msg)| {
                        (
                            crate::path::JsonPath::from_string(k.clone())
                                .join(&sub)
                                .as_str()
                                .to_string(),
                            msg,
                        )
                    })?;
                    out.insert(k.clone(), def);
                }
                ParamValue::Map(out)
            }
        })
    }
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::String(v) => s.serialize_str(v),
            ParamValue::Long(v) => s.serialize_i64(*v),
            ParamValue::Double(v) => v.serialize(s),
            ParamValue::Boolean(v) => s.serialize_bool(*v),
            ParamValue::StringMap(v) => v.serialize(s),
            ParamValue::StringArray(v) => v.serialize(s),
            ParamValue::LongArray(v) => v.serialize(s),
            ParamValue::DoubleArray(v) => v.serialize(s),
            ParamValue::BooleanArray(v) => v.serialize(s),
            ParamValue::Map(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (k, d) in v {
                    m.serialize_entry(k, d)?;
                }
                m.end()
            }
        }
    }
}

/// The evaluated result of a param in an instance (`evaluated_result`).
#[derive(Debug, Clone, PartialEq)]
pub enum EvaluatedValue {
    /// STRING.
    String(String),
    /// LONG.
    Long(i64),
    /// DOUBLE.
    Double(f64),
    /// BOOLEAN.
    Boolean(bool),
    /// STRING_MAP.
    StringMap(IndexMap<String, String>),
    /// STRING_ARRAY.
    StringArray(Vec<String>),
    /// LONG_ARRAY.
    LongArray(Vec<i64>),
    /// DOUBLE_ARRAY.
    DoubleArray(Vec<f64>),
    /// BOOLEAN_ARRAY.
    BooleanArray(Vec<bool>),
    /// MAP: plain JSON values by name.
    Map(IndexMap<String, Value>),
}

impl EvaluatedValue {
    /// The type of this result.
    pub fn param_type(&self) -> ParamType {
        match self {
            EvaluatedValue::String(_) => ParamType::String,
            EvaluatedValue::Long(_) => ParamType::Long,
            EvaluatedValue::Double(_) => ParamType::Double,
            EvaluatedValue::Boolean(_) => ParamType::Boolean,
            EvaluatedValue::StringMap(_) => ParamType::StringMap,
            EvaluatedValue::StringArray(_) => ParamType::StringArray,
            EvaluatedValue::LongArray(_) => ParamType::LongArray,
            EvaluatedValue::DoubleArray(_) => ParamType::DoubleArray,
            EvaluatedValue::BooleanArray(_) => ParamType::BooleanArray,
            EvaluatedValue::Map(_) => ParamType::Map,
        }
    }

    /// Reads a JSON value as a result of type `ty` (same coercions as [`ParamValue`]).
    pub fn from_json(ty: ParamType, v: &Value) -> Result<EvaluatedValue, (String, String)> {
        let here = |msg: String| (String::new(), msg);
        Ok(match ty {
            ParamType::String => EvaluatedValue::String(coerce_string(v).map_err(here)?),
            ParamType::Long => EvaluatedValue::Long(coerce_long(v).map_err(here)?),
            ParamType::Double => EvaluatedValue::Double(coerce_f64(v).map_err(here)?),
            ParamType::Boolean => EvaluatedValue::Boolean(coerce_bool(v).map_err(here)?),
            ParamType::StringMap => match ParamValue::from_json(ty, v)? {
                ParamValue::StringMap(m) => EvaluatedValue::StringMap(m),
                _ => return Err(here(mismatch(ty, v, "an object of strings"))),
            },
            ParamType::StringArray => {
                EvaluatedValue::StringArray(array_of(ty, v, "strings", coerce_string)?)
            }
            ParamType::LongArray => {
                EvaluatedValue::LongArray(array_of(ty, v, "integers", coerce_long)?)
            }
            ParamType::DoubleArray => {
                EvaluatedValue::DoubleArray(array_of(ty, v, "numbers", coerce_f64)?)
            }
            ParamType::BooleanArray => {
                EvaluatedValue::BooleanArray(array_of(ty, v, "booleans", coerce_bool)?)
            }
            ParamType::Map => {
                let obj = v
                    .as_object()
                    .ok_or_else(|| here(mismatch(ty, v, "an object")))?;
                EvaluatedValue::Map(obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
        })
    }

    /// The result as a plain JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The result as a literal definition value of the same type. MAP entries become nested
    /// definitions whose types are derived from their JSON shape (`derive_param_value`).
    pub fn to_param_value(&self) -> ParamValue {
        match self {
            EvaluatedValue::String(v) => ParamValue::String(v.clone()),
            EvaluatedValue::Long(v) => ParamValue::Long(*v),
            EvaluatedValue::Double(v) => ParamValue::Double(f64_number(*v)),
            EvaluatedValue::Boolean(v) => ParamValue::Boolean(*v),
            EvaluatedValue::StringMap(v) => ParamValue::StringMap(v.clone()),
            EvaluatedValue::StringArray(v) => ParamValue::StringArray(v.clone()),
            EvaluatedValue::LongArray(v) => ParamValue::LongArray(v.clone()),
            EvaluatedValue::DoubleArray(v) => {
                ParamValue::DoubleArray(v.iter().map(|d| f64_number(*d)).collect())
            }
            EvaluatedValue::BooleanArray(v) => ParamValue::BooleanArray(v.clone()),
            EvaluatedValue::Map(m) => ParamValue::Map(
                m.iter()
                    .filter_map(|(k, v)| {
                        derive_param_value(v).map(|pv| (k.clone(), ParamDefinition::literal(pv)))
                    })
                    .collect(),
            ),
        }
    }
}

impl Serialize for EvaluatedValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EvaluatedValue::String(v) => s.serialize_str(v),
            EvaluatedValue::Long(v) => s.serialize_i64(*v),
            EvaluatedValue::Double(v) => s.serialize_f64(*v),
            EvaluatedValue::Boolean(v) => s.serialize_bool(*v),
            EvaluatedValue::StringMap(v) => v.serialize(s),
            EvaluatedValue::StringArray(v) => v.serialize(s),
            EvaluatedValue::LongArray(v) => v.serialize(s),
            EvaluatedValue::DoubleArray(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for d in v {
                    seq.serialize_element(d)?;
                }
                seq.end()
            }
            EvaluatedValue::BooleanArray(v) => v.serialize(s),
            EvaluatedValue::Map(v) => v.serialize(s),
        }
    }
}

/// Derives a typed literal from a plain JSON value, as Maestro does for the entries of an
/// evaluated MAP: strings, integers, decimals and booleans map to their scalar types, arrays to the
/// array type of their first element (an empty array is a STRING_ARRAY), an object of strings to a
/// STRING_MAP and any other object to a MAP. `null` has no type.
pub fn derive_param_value(v: &Value) -> Option<ParamValue> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) => ParamValue::String(s.clone()),
        Value::Bool(b) => ParamValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ParamValue::Long(i),
            None => ParamValue::Double(n.clone()),
        },
        Value::Array(items) => {
            let ty = match items.first() {
                None | Some(Value::String(_)) => ParamType::StringArray,
                Some(Value::Bool(_)) => ParamType::BooleanArray,
                Some(Value::Number(n)) if n.as_i64().is_some() => ParamType::LongArray,
                Some(Value::Number(_)) => ParamType::DoubleArray,
                Some(_) => return None,
            };
            ParamValue::from_json(ty, v).ok()?
        }
        Value::Object(obj) => {
            if !obj.is_empty() && obj.values().all(Value::is_string) {
                ParamValue::from_json(ParamType::StringMap, v).ok()?
            } else {
                ParamValue::Map(
                    obj.iter()
                        .filter_map(|(k, v)| {
                            derive_param_value(v)
                                .map(|pv| (k.clone(), ParamDefinition::literal(pv)))
                        })
                        .collect(),
                )
            }
        }
    })
}

fn f64_number(d: f64) -> Number {
    Number::from_f64(d).unwrap_or_else(|| Number::from(0))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn mismatch(ty: ParamType, v: &Value, expected: &str) -> String {
    format!("a {ty} param needs {expected}, got {}", kind(v))
}

fn array_of<T>(
    ty: ParamType,
    v: &Value,
    what: &str,
    each: fn(&Value) -> Result<T, String>,
) -> Result<Vec<T>, (String, String)> {
    let items = v.as_array().ok_or_else(|| {
        (
            String::new(),
            mismatch(ty, v, &format!("an array of {what}")),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| each(item).map_err(|m| (format!("[{i}]"), m)))
        .collect()
}

fn coerce_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, got {}", kind(other))),
    }
}

fn coerce_long(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("expected an integer, got {n}")),
        Value::String(s) => crate::duration::parse_numeric(s)
            .ok_or_else(|| format!("expected an integer, got string \"{s}\"")),
        other => Err(format!("expected an integer, got {}", kind(other))),
    }
}

fn coerce_number(v: &Value) -> Result<Number, String> {
    match v {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) => s
            .trim()
            .parse::<Number>()
            .map_err(|_| format!("expected a number, got string \"{s}\"")),
        other => Err(format!("expected a number, got {}", kind(other))),
    }
}

fn coerce_f64(v: &Value) -> Result<f64, String> {
    let n = coerce_number(v)?;
    n.as_f64()
        .ok_or_else(|| format!("{n} is not a finite number"))
}

fn coerce_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("expected a boolean, got {}", kind(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_type() {
        let cases = [
            (ParamType::String, json!("bar")),
            (ParamType::Long, json!(15)),
            (ParamType::Double, json!(1.50)),
            (ParamType::Boolean, json!(true)),
            (ParamType::StringMap, json!({"foo": "bar"})),
            (ParamType::StringArray, json!(["a", "b"])),
            (ParamType::LongArray, json!([1, 2, 3])),
            (ParamType::DoubleArray, json!([1.5, 2])),
            (ParamType::BooleanArray, json!([true, false])),
            (
                ParamType::Map,
                json!({"a": {"value": 1, "type": "LONG"}, "b": {"expression": "a * 2", "type": "LONG"}}),
            ),
        ];
        for (ty, v) in cases {
            let pv = ParamValue::from_json(ty, &v).unwrap();
            assert_eq!(pv.param_type(), ty);
            let back = serde_json::to_value(&pv).unwrap();
            assert_eq!(back, v, "{ty} writes back what it read");
        }
    }

    #[test]
    fn coerces_scalars_like_jackson() {
        assert_eq!(
            ParamValue::from_json(ParamType::String, &json!(15)).unwrap(),
            ParamValue::String("15".into())
        );
        assert_eq!(
            ParamValue::from_json(ParamType::Long, &json!("15")).unwrap(),
            ParamValue::Long(15)
        );
        assert_eq!(
            ParamValue::from_json(ParamType::Boolean, &json!("TRUE")).unwrap(),
            ParamValue::Boolean(true)
        );
    }

    #[test]
    fn mismatches_name_the_element() {
        let err = ParamValue::from_json(ParamType::LongArray, &json!([1, "x"])).unwrap_err();
        assert_eq!(err.0, "[1]");
        assert!(err.1.contains("expected an integer"), "{}", err.1);
        let err = ParamValue::from_json(ParamType::Long, &json!({"a": 1})).unwrap_err();
        assert_eq!(err.0, "");
        let err = ParamValue::from_json(
            ParamType::Map,
            &json!({"a": {"value": "x", "type": "LONG"}}),
        )
        .unwrap_err();
        assert_eq!(err.0, "a.value");
        let err = ParamValue::from_json(ParamType::StringArray, &json!("x")).unwrap_err();
        assert!(
            err.1
                .contains("a STRING_ARRAY param needs an array of strings")
        );
    }

    #[test]
    fn derives_types_from_plain_values() {
        let pv =
            derive_param_value(&json!({"n": 1, "s": "x", "l": [1, 2], "m": {"k": "v"}})).unwrap();
        let ParamValue::Map(m) = pv else {
            panic!("expected a map")
        };
        assert_eq!(m["n"].param_type, ParamType::Long);
        assert_eq!(m["s"].param_type, ParamType::String);
        assert_eq!(m["l"].param_type, ParamType::LongArray);
        assert_eq!(m["m"].param_type, ParamType::StringMap);
        assert_eq!(
            derive_param_value(&json!([])).unwrap().param_type(),
            ParamType::StringArray
        );
    }

    #[test]
    fn evaluated_values() {
        let v = EvaluatedValue::from_json(ParamType::Double, &json!(15)).unwrap();
        assert_eq!(v, EvaluatedValue::Double(15.0));
        assert_eq!(serde_json::to_string(&v).unwrap(), "15.0");
        let m = EvaluatedValue::from_json(ParamType::Map, &json!({"i": [1, 2]})).unwrap();
        assert_eq!(m.to_json(), json!({"i": [1, 2]}));
        assert_eq!(m.to_param_value().param_type(), ParamType::Map);
    }
}
