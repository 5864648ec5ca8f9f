//! `ParamDefinition`: a typed param as written in a definition or a run request (§3.1).
//!
//! JSON: `{"value" | "expression", "type", "validator", "tags", "mode", …meta}`. The `type` key is
//! required and read case-insensitively; the literal `value` is read according to it. Keys Maestro
//! does not know land in `meta` (Maestro's any-setter), where the meaningful ones are `source` and
//! `internal_mode`. Whether exactly one of `value`/`expression` is set is checked by validation,
//! not here, so that every such mistake in a document is reported at once.

use super::mode::{InternalParamMode, ParamMode, ParamSource, ParamType};
use super::value::ParamValue;
use crate::definition::TagList;
use crate::path::{JsonPath, sub_path_error};
use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Meta key holding a param's [`ParamSource`].
pub const META_SOURCE: &str = "source";
/// Meta key holding a default param's [`InternalParamMode`].
pub const META_INTERNAL_MODE: &str = "internal_mode";

/// A param definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDefinition {
    /// The param type.
    pub param_type: ParamType,
    /// The literal value; when set its variant matches `param_type`.
    pub value: Option<ParamValue>,
    /// The SEL expression.
    pub expression: Option<String>,
    /// Free validator text (stored and merged, never enforced, as in Maestro).
    pub validator: Option<String>,
    /// Tags.
    pub tags: Option<TagList>,
    /// Mode; `None` means effectively `MUTABLE`.
    pub mode: Option<ParamMode>,
    /// Every other key (`source`, `internal_mode`, anything else), written back flattened.
    pub meta: IndexMap<String, Value>,
}

impl ParamDefinition {
    /// A literal param.
    pub fn literal(value: ParamValue) -> Self {
        ParamDefinition {
            param_type: value.param_type(),
            value: Some(value),
            expression: None,
            validator: None,
            tags: None,
            mode: None,
            meta: IndexMap::new(),
        }
    }

    /// An expression param of the given type.
    pub fn expression(param_type: ParamType, expression: impl Into<String>) -> Self {
        ParamDefinition {
            param_type,
            value: None,
            expression: Some(expression.into()),
            validator: None,
            tags: None,
            mode: None,
            meta: IndexMap::new(),
        }
    }

    /// The same definition with a mode.
    pub fn with_mode(mut self, mode: Option<ParamMode>) -> Self {
        self.mode = mode;
        self
    }

    /// True when the param has a literal value.
    pub fn is_literal(&self) -> bool {
        self.value.is_some()
    }

    /// The `source` meta key, if set and valid.
    pub fn source(&self) -> Option<ParamSource> {
        self.meta
            .get(META_SOURCE)
            .and_then(Value::as_str)
            .and_then(ParamSource::parse)
    }

    /// The `internal_mode` meta key, if set and valid.
    pub fn internal_mode(&self) -> Option<InternalParamMode> {
        self.meta
            .get(META_INTERNAL_MODE)
            .and_then(Value::as_str)
            .and_then(InternalParamMode::parse)
    }

    /// Reads a definition from JSON. Errors carry a path relative to the param.
    pub fn from_json(v: &Value) -> Result<Self, (String, String)> {
        let obj = v.as_object().ok_or_else(|| {
            (
                String::new(),
                "a param definition must be an object".to_string(),
            )
        })?;
        let fields = read_common(obj, &[])?;
        Ok(fields.def)
    }

    /// Writes the definition's keys into an open map, in Maestro's order, without closing it.
    pub(crate) fn write_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        if let Some(v) = &self.value {
            m.serialize_entry("value", v)?;
        }
        if let Some(e) = &self.expression {
            m.serialize_entry("expression", e)?;
        }
        m.serialize_entry("type", &self.param_type)?;
        if let Some(v) = &self.validator {
            m.serialize_entry("validator", v)?;
        }
        if let Some(t) = &self.tags {
            m.serialize_entry("tags", t)?;
        }
        if let Some(mode) = &self.mode {
            m.serialize_entry("mode", mode)?;
        }
        Ok(())
    }

    pub(crate) fn write_meta<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        for (k, v) in &self.meta {
            m.serialize_entry(k, v)?;
        }
        Ok(())
    }
}

/// What [`read_common`] returns: the definition and the keys it was told to leave alone.
pub(crate) struct CommonFields {
    pub def: ParamDefinition,
    pub reserved: IndexMap<String, Value>,
}

/// Reads the definition keys of a param object. Keys listed in `reserved` are handed back instead
/// of being put into `meta` (an instance param reads `evaluated_result` this way).
pub(crate) fn read_common(
    obj: &Map<String, Value>,
    reserved: &[&str],
) -> Result<CommonFields, (String, String)> {
    let ty_value = obj
        .get("type")
        .ok_or_else(|| ("type".to_string(), "missing field `type`".to_string()))?;
    let ty_text = ty_value.as_str().ok_or_else(|| {
        (
            "type".to_string(),
            "param type must be a string".to_string(),
        )
    })?;
    let param_type = ParamType::parse(ty_text).ok_or_else(|| {
        (
            "type".to_string(),
            format!(
                "unknown ParamType `{ty_text}`, expected one of {}",
                ParamType::expected()
            ),
        )
    })?;
    let mut def = ParamDefinition {
        param_type,
        value: None,
        expression: None,
        validator: None,
        tags: None,
        mode: None,
        meta: IndexMap::new(),
    };
    let mut kept = IndexMap::new();
    for (key, v) in obj {
        let at = |msg: String| (key.clone(), msg);
        match key.as_str() {
            "type" => {}
            // Jackson ignores `name` (the map key is the name).
            "name" => {}
            "value" => {
                if !v.is_null() {
                    def.value =
                        Some(ParamValue::from_json(param_type, v).map_err(|(sub, msg)| {
                            (
                                JsonPath::from_string("value")
                                    .join(&sub)
                                    .as_str()
                                    .to_string(),
                                msg,
                            )
                        })?);
                }
            }
            "expression" => def.expression = opt_string(v).map_err(at)?,
            "validator" => def.validator = opt_string(v).map_err(at)?,
            "mode" => {
                def.mode = match v {
                    Value::Null => None,
                    Value::String(s) => Some(ParamMode::parse(s).ok_or_else(|| {
                        at(format!(
                            "unknown ParamMode `{s}`, expected one of {}",
                            ParamMode::expected()
                        ))
                    })?),
                    _ => return Err(at("param mode must be a string".into())),
                }
            }
            "tags" => {
                if !v.is_null() {
                    def.tags = Some(TagList::deserialize(v).map_err(|e| at(e.to_string()))?);
                }
            }
            k if reserved.contains(&k) => {
                kept.insert(key.clone(), v.clone());
            }
            _ => {
                def.meta.insert(key.clone(), v.clone());
            }
        }
    }
    Ok(CommonFields {
        def,
        reserved: kept,
    })
}

fn opt_string(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err("expected a string".into()),
    }
}

impl Serialize for ParamDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.write_fields(&mut m)?;
        self.write_meta(&mut m)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for ParamDefinition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        ParamDefinition::from_json(&v).map_err(|(sub, msg)| sub_path_error(&sub, msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_in_maestro_order() {
        let json = json!({"mode": "mutable_on_start", "type": "long", "expression": "1 + 1;",
                          "validator": "@Positive", "tags": ["x"], "source": "DEFINITION"});
        let def: ParamDefinition = serde_json::from_value(json).unwrap();
        assert_eq!(def.param_type, ParamType::Long);
        assert_eq!(def.mode, Some(ParamMode::MutableOnStart));
        assert_eq!(def.source(), Some(ParamSource::Definition));
        assert_eq!(
            serde_json::to_string(&def).unwrap(),
            r#"{"expression":"1 + 1;","type":"LONG","validator":"@Positive","tags":[{"name":"x"}],"mode":"MUTABLE_ON_START","source":"DEFINITION"}"#
        );
    }

    #[test]
    fn nested_map_errors_name_the_inner_field() {
        let json = json!({"type": "MAP", "value": {"a": {"value": 1, "type": "LONG"},
                          "b": {"value": [1], "type": "LONG"}}});
        let err = serde_json::from_value::<ParamDefinition>(json).unwrap_err();
        let text = err.to_string();
        let (sub, msg) = crate::path::split_sub_path(&text);
        assert_eq!(sub, Some("value.b.value"));
        assert!(msg.contains("expected an integer"), "{msg}");
    }

    #[test]
    fn type_is_required() {
        let err = ParamDefinition::from_json(&json!({"value": 1})).unwrap_err();
        assert_eq!(err.0, "type");
        let err = ParamDefinition::from_json(&json!({"value": 1, "type": "INT"})).unwrap_err();
        assert!(err.1.contains("unknown ParamType `INT`"));
    }

    #[test]
    fn value_and_expression_may_both_be_read() {
        // Validation, not parsing, reports "both or neither" so all such errors come at once.
        let def =
            ParamDefinition::from_json(&json!({"value": 1, "expression": "2", "type": "LONG"}))
                .unwrap();
        assert!(def.is_literal() && def.expression.is_some());
    }
}
