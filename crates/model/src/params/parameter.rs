//! `Parameter`: an evaluated param in an instance (§3.3) — the definition's fields plus
//! `evaluated_result` and `evaluated_time`, with meta keys such as `source` flattened.
//!
//! ```json
//! {"value": 15, "type": "LONG", "evaluated_result": 15, "evaluated_time": 1598399975650, "source": "DEFINITION"}
//! ```

use super::definition::{ParamDefinition, read_common};
use super::mode::{ParamMode, ParamSource, ParamType};
use super::value::{EvaluatedValue, ParamValue};
use crate::path::sub_path_error;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// An evaluated param.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The definition fields (type, value or expression, mode, tags, validator, meta).
    pub definition: ParamDefinition,
    /// The result; set once evaluated. Its type matches `definition.param_type`.
    pub evaluated_result: Option<EvaluatedValue>,
    /// When it was evaluated (epoch ms); set once evaluated.
    pub evaluated_time: Option<i64>,
}

impl Parameter {
    /// An evaluated param from a definition and its result.
    pub fn evaluated(definition: ParamDefinition, result: EvaluatedValue, time: i64) -> Self {
        Parameter {
            definition,
            evaluated_result: Some(result),
            evaluated_time: Some(time),
        }
    }

    /// The param type.
    pub fn param_type(&self) -> ParamType {
        self.definition.param_type
    }

    /// True once evaluated (`evaluated_time` set).
    pub fn is_evaluated(&self) -> bool {
        self.evaluated_time.is_some()
    }

    /// The `source` meta key.
    pub fn source(&self) -> Option<ParamSource> {
        self.definition.source()
    }

    /// Maestro's `toDefinition()`: an `IMMUTABLE` param keeps its value or expression (so it is
    /// evaluated again); any other mode becomes a literal of its evaluated result (frozen).
    /// Mode, tags, validator and meta are kept. An unevaluated param is returned as it was defined.
    pub fn to_definition(&self) -> ParamDefinition {
        let mut def = self.definition.clone();
        if def.mode == Some(ParamMode::Immutable) {
            return def;
        }
        let Some(result) = &self.evaluated_result else {
            return def;
        };
        let value = match (result, &self.definition.value) {
            // A literal MAP keeps the nested types it was defined with.
            (EvaluatedValue::Map(entries), Some(ParamValue::Map(defs))) => ParamValue::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| {
                        let nested = match defs.get(k) {
                            Some(d) => ParamValue::from_json(d.param_type, v)
                                .ok()
                                .or_else(|| super::value::derive_param_value(v)),
                            None => super::value::derive_param_value(v),
                        }?;
                        let mut nd = ParamDefinition::literal(nested);
                        if let Some(d) = defs.get(k) {
                            nd.mode = d.mode;
                            nd.tags = d.tags.clone();
                            nd.validator = d.validator.clone();
                        }
                        Some((k.clone(), nd))
                    })
                    .collect(),
            ),
            _ => result.to_param_value(),
        };
        def.value = Some(value);
        def.expression = None;
        def
    }

    /// Reads an evaluated param from JSON. Errors carry a path relative to the param.
    pub fn from_json(v: &Value) -> Result<Self, (String, String)> {
        let obj = v
            .as_object()
            .ok_or_else(|| (String::new(), "a parameter must be an object".to_string()))?;
        let fields = read_common(obj, &["evaluated_result", "evaluated_time"])?;
        let ty = fields.def.param_type;
        let mut param = Parameter {
            definition: fields.def,
            evaluated_result: None,
            evaluated_time: None,
        };
        for (k, v) in fields.reserved {
            if v.is_null() {
                continue;
            }
            if k == "evaluated_result" {
                param.evaluated_result =
                    Some(EvaluatedValue::from_json(ty, &v).map_err(|(sub, msg)| {
                        (
                            crate::path::JsonPath::from_string("evaluated_result")
                                .join(&sub)
                                .as_str()
                                .to_string(),
                            msg,
                        )
                    })?);
            } else {
                param.evaluated_time = Some(v.as_i64().ok_or_else(|| {
                    (
                        "evaluated_time".to_string(),
                        "expected an integer (epoch milliseconds)".to_string(),
                    )
                })?);
            }
        }
        Ok(param)
    }
}

impl Serialize for Parameter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.definition.write_fields(&mut m)?;
        if let Some(r) = &self.evaluated_result {
            m.serialize_entry("evaluated_result", r)?;
        }
        if let Some(t) = &self.evaluated_time {
            m.serialize_entry("evaluated_time", t)?;
        }
        self.definition.write_meta(&mut m)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Parameter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Parameter::from_json(&v).map_err(|(sub, msg)| sub_path_error(&sub, msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_example_round_trips() {
        let json = json!({"value": 15, "type": "LONG", "evaluated_result": 15,
                          "evaluated_time": 1598399975650_i64, "source": "DEFINITION"});
        let p: Parameter = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(p.evaluated_result, Some(EvaluatedValue::Long(15)));
        assert_eq!(p.source(), Some(ParamSource::Definition));
        assert!(p.is_evaluated());
        assert_eq!(serde_json::to_value(&p).unwrap(), json);
    }

    #[test]
    fn to_definition_freezes_unless_immutable() {
        let p: Parameter =
            serde_json::from_value(json!({"expression": "UUID.randomUUID().toString()",
            "type": "STRING", "mode": "CONSTANT", "evaluated_result": "abc", "evaluated_time": 1}))
            .unwrap();
        let d = p.to_definition();
        assert_eq!(d.value, Some(ParamValue::String("abc".into())));
        assert_eq!(d.expression, None);
        assert_eq!(d.mode, Some(ParamMode::Constant));

        let p: Parameter = serde_json::from_value(json!({"expression": "1+1", "type": "LONG",
            "mode": "IMMUTABLE", "evaluated_result": 2, "evaluated_time": 1}))
        .unwrap();
        let d = p.to_definition();
        assert_eq!(d.expression.as_deref(), Some("1+1"));
        assert_eq!(d.value, None);
    }

    #[test]
    fn literal_map_keeps_nested_types() {
        let p: Parameter = serde_json::from_value(json!({"type": "MAP",
            "value": {"d": {"value": 1, "type": "DOUBLE"}, "s": {"value": "x", "type": "STRING"}},
            "evaluated_result": {"d": 1.0, "s": "y"}, "evaluated_time": 5}))
        .unwrap();
        let d = p.to_definition();
        let Some(ParamValue::Map(m)) = d.value else {
            panic!("map expected")
        };
        assert_eq!(m["d"].param_type, ParamType::Double);
        assert_eq!(m["s"].value, Some(ParamValue::String("y".into())));
    }

    #[test]
    fn bad_result_names_the_field() {
        let err = Parameter::from_json(&json!({"type": "LONG_ARRAY", "evaluated_result": [1, "a"],
            "evaluated_time": 1}))
        .unwrap_err();
        assert_eq!(err.0, "evaluated_result[1]");
    }
}
