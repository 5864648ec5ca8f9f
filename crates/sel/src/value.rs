//! The public value type: what callers bind as inputs and get back as results. It is plain,
//! owned data (`Send + Sync`), unlike the interpreter's internal mutable boxes; converting in
//! is the reference's "boxing" (a deep copy, so SEL never mutates caller data) and converting
//! out is its "unboxing". JSON conversions follow the compatibility corpus's conventions.

use crate::joda::{DateTime, Property, Zone};
use indexmap::IndexMap;
use serde_json::{Map as JsonMap, Number, Value as Json};
use std::fmt;

/// An SEL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// No value (a program whose last statement is not an expression).
    Void,
    /// A Java `String`; `None` is a String variable holding null.
    String(Option<String>),
    /// A 64-bit integer (`int`, `long`, `Integer`, `Long`).
    Long(i64),
    /// A double (`float`, `double`, `Float`, `Double`).
    Double(f64),
    /// A boolean.
    Boolean(bool),
    /// `String[]` (elements may be null).
    StringArray(Vec<Option<String>>),
    /// `long[]`.
    LongArray(Vec<i64>),
    /// `double[]`.
    DoubleArray(Vec<f64>),
    /// `boolean[]`.
    BooleanArray(Vec<bool>),
    /// A `Map` with string keys; `None` is an uninitialised map variable. As an input, a map
    /// may only hold strings, numbers, booleans, maps and arrays (anything else fails when the
    /// program reads it, as in the reference).
    Map(Option<IndexMap<String, Value>>),
    /// A Joda `DateTime` (`None`: a DateTime variable holding null).
    DateTime(Option<DateTime>),
    /// A Joda `DateTimeZone`.
    DateTimeZone(Option<Zone>),
    /// A Joda `DateTimeFormatter` (opaque outside SEL).
    DateTimeFormatter,
    /// A Joda `DateTime.Property`.
    DateTimeProperty(Option<Property>),
    /// A Joda `Days`.
    DateTimeDays(Option<i64>),
    /// A `java.util.UUID`.
    Uuid(Option<u128>),
    /// One of the built-in helper objects (`params`, `Util`, `System`, `Math`), by type name.
    Helper(&'static str),
}

/// Why a JSON value cannot be an SEL input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot use JSON value as an SEL input: {0}")]
pub struct InputError(pub String);

impl Value {
    /// A `String`.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(Some(s.into()))
    }

    /// A `String[]` without nulls.
    pub fn string_array<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::StringArray(items.into_iter().map(|s| Some(s.into())).collect())
    }

    /// A map from string keys.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Some(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// The reference's type name (`LONG`, `STRING_ARRAY`, `MAP`, `DATETIME`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Void => "VOID",
            Value::String(_) => "STRING",
            Value::Long(_) => "LONG",
            Value::Double(_) => "DOUBLE",
            Value::Boolean(_) => "BOOLEAN",
            Value::StringArray(_) => "STRING_ARRAY",
            Value::LongArray(_) => "LONG_ARRAY",
            Value::DoubleArray(_) => "DOUBLE_ARRAY",
            Value::BooleanArray(_) => "BOOLEAN_ARRAY",
            Value::Map(_) => "MAP",
            Value::DateTime(_) => "DATETIME",
            Value::DateTimeZone(_) => "DATETIME_ZONE",
            Value::DateTimeFormatter => "DATETIME_FORMATTER",
            Value::DateTimeProperty(_) => "DATETIME_PROPERTY",
            Value::DateTimeDays(_) => "DATETIME_DAYS",
            Value::Uuid(_) => "UUID",
            Value::Helper(name) => name,
        }
    }

    /// Builds an input value from JSON: strings, integers (LONG), other numbers (DOUBLE),
    /// booleans, null, objects (MAP) and arrays typed by their elements (all strings →
    /// `String[]`, all integers → `long[]`, numbers → `double[]`, booleans → `boolean[]`;
    /// an empty array is a `String[]`). The corpus's typed wrappers
    /// `{"$type": "long[]" | "double[]" | "boolean[]" | "String[]" | "int", "value": ...}`
    /// are understood.
    pub fn from_json(json: &Json) -> Result<Value, InputError> {
        Ok(match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(*b),
            Json::String(s) => Value::String(Some(s.clone())),
            Json::Number(n) => number(n)?,
            Json::Array(items) => array(items)?,
            Json::Object(obj) => {
                if let (Some(Json::String(ty)), Some(v), 2) =
                    (obj.get("$type"), obj.get("value"), obj.len())
                {
                    return typed(ty, v);
                }
                let mut map = IndexMap::with_capacity(obj.len());
                for (k, v) in obj {
                    map.insert(k.clone(), Value::from_json(v)?);
                }
                Value::Map(Some(map))
            }
        })
    }

    /// The JSON form of a result, as the corpus writes it: numbers, strings, booleans, lists,
    /// objects; `null` for NULL/VOID and null strings/maps; `"NaN"`/`"Infinity"` for non-finite
    /// doubles; Joda values as their `toString()`.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null | Value::Void => Json::Null,
            Value::String(s) => s.clone().map(Json::String).unwrap_or(Json::Null),
            Value::Long(v) => Json::Number((*v).into()),
            Value::Double(v) => double_json(*v),
            Value::Boolean(b) => Json::Bool(*b),
            Value::StringArray(v) => Json::Array(
                v.iter()
                    .map(|s| s.clone().map(Json::String).unwrap_or(Json::Null))
                    .collect(),
            ),
            Value::LongArray(v) => {
                Json::Array(v.iter().map(|x| Json::Number((*x).into())).collect())
            }
            Value::DoubleArray(v) => Json::Array(v.iter().map(|x| double_json(*x)).collect()),
            Value::BooleanArray(v) => Json::Array(v.iter().map(|x| Json::Bool(*x)).collect()),
            Value::Map(None) => Json::Null,
            Value::Map(Some(m)) => {
                let order = crate::java::text::hashmap_order(m.keys().map(|k| Some(k.as_str())));
                let mut out = JsonMap::with_capacity(m.len());
                for i in order {
                    if let Some((k, v)) = m.get_index(i) {
                        out.insert(k.clone(), v.to_json());
                    }
                }
                Json::Object(out)
            }
            Value::DateTime(d) => d
                .as_ref()
                .map(|d| Json::String(d.to_iso_string()))
                .unwrap_or(Json::Null),
            Value::DateTimeZone(z) => z
                .as_ref()
                .map(|z| Json::String(z.id().to_string()))
                .unwrap_or(Json::Null),
            Value::DateTimeFormatter => Json::Null,
            Value::DateTimeProperty(p) => p
                .as_ref()
                .map(|p| Json::String(p.to_string()))
                .unwrap_or(Json::Null),
            Value::DateTimeDays(d) => d
                .map(|d| Json::String(format!("P{d}D")))
                .unwrap_or(Json::Null),
            Value::Uuid(u) => u.map(|u| Json::String(uuid_text(u))).unwrap_or(Json::Null),
            Value::Helper(_) => Json::Null,
        }
    }
}

/// `8-4-4-4-12` lowercase hex of 128 bits.
pub(crate) fn uuid_text(u: u128) -> String {
    let h = format!("{u:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn double_json(v: f64) -> Json {
    if v.is_nan() {
        Json::String("NaN".into())
    } else if v.is_infinite() {
        Json::String(if v > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(v).map(Json::Number).unwrap_or(Json::Null)
    }
}

fn number(n: &Number) -> Result<Value, InputError> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::Long(i));
    }
    if n.is_u64() {
        return Err(InputError(format!("integer {n} does not fit in a long")));
    }
    n.as_f64()
        .map(Value::Double)
        .ok_or_else(|| InputError(format!("number {n}")))
}

fn array(items: &[Json]) -> Result<Value, InputError> {
    if items.iter().all(Json::is_string) {
        return Ok(Value::StringArray(
            items
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect(),
        ));
    }
    if items.iter().all(Json::is_boolean) {
        return Ok(Value::BooleanArray(
            items.iter().filter_map(Json::as_bool).collect(),
        ));
    }
    if items.iter().all(|x| x.as_i64().is_some()) {
        return Ok(Value::LongArray(
            items.iter().filter_map(Json::as_i64).collect(),
        ));
    }
    if items.iter().all(Json::is_number) {
        return Ok(Value::DoubleArray(
            items.iter().filter_map(Json::as_f64).collect(),
        ));
    }
    Err(InputError(
        "an array must hold only strings, only numbers or only booleans".into(),
    ))
}

fn typed(ty: &str, v: &Json) -> Result<Value, InputError> {
    let items = || {
        v.as_array()
            .ok_or_else(|| InputError(format!("{ty} needs a list")))
    };
    Ok(match ty {
        "int" | "long" | "Integer" | "Long" => Value::Long(
            v.as_i64()
                .ok_or_else(|| InputError(format!("{ty} needs an integer")))?,
        ),
        "double" | "float" | "Double" | "Float" => Value::Double(
            v.as_f64()
                .ok_or_else(|| InputError(format!("{ty} needs a number")))?,
        ),
        "long[]" | "int[]" | "Long[]" | "Integer[]" => Value::LongArray(
            items()?
                .iter()
                .map(|x| {
                    x.as_i64()
                        .ok_or_else(|| InputError("long[] element".into()))
                })
                .collect::<Result<_, _>>()?,
        ),
        "double[]" | "float[]" | "Double[]" | "Float[]" => Value::DoubleArray(
            items()?
                .iter()
                .map(|x| {
                    x.as_f64()
                        .ok_or_else(|| InputError("double[] element".into()))
                })
                .collect::<Result<_, _>>()?,
        ),
        "boolean[]" | "Boolean[]" => Value::BooleanArray(
            items()?
                .iter()
                .map(|x| {
                    x.as_bool()
                        .ok_or_else(|| InputError("boolean[] element".into()))
                })
                .collect::<Result<_, _>>()?,
        ),
        "String[]" => Value::StringArray(
            items()?
                .iter()
                .map(|x| match x {
                    Json::Null => Ok(None),
                    Json::String(s) => Ok(Some(s.clone())),
                    _ => Err(InputError("String[] element".into())),
                })
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(InputError(format!("unknown $type {other}"))),
    })
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn boxing_rules_from_json() {
        assert_eq!(Value::from_json(&json!(1)).unwrap(), Value::Long(1));
        assert_eq!(Value::from_json(&json!(1.5)).unwrap(), Value::Double(1.5));
        assert_eq!(
            Value::from_json(&json!([1, 2])).unwrap(),
            Value::LongArray(vec![1, 2])
        );
        assert_eq!(
            Value::from_json(&json!([1, 2.5])).unwrap(),
            Value::DoubleArray(vec![1.0, 2.5])
        );
        assert_eq!(
            Value::from_json(&json!(["a"])).unwrap(),
            Value::string_array(["a"])
        );
        assert_eq!(
            Value::from_json(&json!({"$type": "double[]", "value": []})).unwrap(),
            Value::DoubleArray(vec![])
        );
        assert_eq!(
            Value::from_json(&json!({"$type": "int", "value": 7})).unwrap(),
            Value::Long(7)
        );
        assert!(Value::from_json(&json!([1, "a"])).is_err());
        let m = Value::from_json(&json!({"a": {"b": [true]}})).unwrap();
        assert_eq!(m.type_name(), "MAP");
    }

    #[test]
    fn results_to_json() {
        assert_eq!(Value::Double(f64::NAN).to_json(), json!("NaN"));
        assert_eq!(Value::String(None).to_json(), json!(null));
        assert_eq!(Value::DateTimeDays(Some(-1)).to_json(), json!("P-1D"));
        let m = Value::map([("foo", Value::Long(1)), ("bar", Value::Null)]);
        assert_eq!(m.to_json(), json!({"bar": null, "foo": 1}));
        assert_eq!(
            uuid_text(0x0123456789abcdef0123456789abcdef),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
    }
}
