//! DSL params: any non-reserved key of a workflow or job is a param. The key carries the rest:
//! `!name` is an expression (default type STRING), `name<long>` a type (`<array<long>>`,
//! `<map>` = STRING_MAP, `<pmap>` = MAP), `name(constant)` a mode. Literal types are inferred from
//! the YAML value when not given: a list by its first element (empty = STRING_ARRAY), a map of
//! strings is a STRING_MAP, any other map a MAP of nested params.

use crate::params::{ParamDefinition, ParamMap, ParamMode, ParamType, ParamValue};
use crate::path::JsonPath;
use serde_json::Value;

struct KeyInfo {
    name: String,
    literal: bool,
    declared: Option<ParamType>,
    mode: Option<ParamMode>,
}

fn parse_type(text: &str) -> Result<ParamType, String> {
    if let Some(inner) = text
        .strip_prefix("ARRAY<")
        .and_then(|t| t.strip_suffix('>'))
    {
        return match inner.trim() {
            "STRING" => Ok(ParamType::StringArray),
            "LONG" => Ok(ParamType::LongArray),
            "DOUBLE" => Ok(ParamType::DoubleArray),
            "BOOLEAN" => Ok(ParamType::BooleanArray),
            _ => Err(format!(
                "Unsupported type [{text}]. Supported array element types are STRING, LONG, DOUBLE, BOOLEAN"
            )),
        };
    }
    match text {
        "PMAP" => Ok(ParamType::Map),
        "MAP" => Ok(ParamType::StringMap),
        _ => ParamType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "Invalid param type [{text}]. Supported types are [{}], plus array<…>, map and pmap",
                    ParamType::expected()
                )
            }),
    }
}

fn parse_key(raw: &str) -> Result<KeyInfo, String> {
    let mut name = raw.trim();
    let mut literal = true;
    if let Some(rest) = name.strip_prefix('!') {
        literal = false;
        name = rest;
    }
    let mut mode = None;
    if let (Some(start), Some(end)) = (name.rfind('('), name.rfind(')'))
        && start > 0
        && end > start
    {
        let text = name[start + 1..end].trim();
        mode = Some(ParamMode::parse(text).ok_or_else(|| {
            format!(
                "Invalid param mode [{text}] in param name [{raw}]. Supported modes are [{}]",
                ParamMode::expected()
            )
        })?);
        name = name[..start].trim();
    }
    let mut declared = None;
    if let (Some(start), Some(end)) = (name.find('<'), name.rfind('>'))
        && start > 0
        && end > start
    {
        declared = Some(parse_type(
            &name[start + 1..end].trim().to_ascii_uppercase(),
        )?);
        name = name[..start].trim();
    }
    if name.is_empty() {
        return Err(format!(
            "param name cannot be empty after parsing name: [{raw}]"
        ));
    }
    Ok(KeyInfo {
        name: name.to_string(),
        literal,
        declared,
        mode,
    })
}

/// The type a YAML value implies; `Ok(None)` for an empty list.
fn implied_type(v: &Value) -> Result<Option<ParamType>, String> {
    Ok(Some(match v {
        Value::String(_) => ParamType::String,
        Value::Bool(_) => ParamType::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => ParamType::Long,
        Value::Number(_) => ParamType::Double,
        Value::Object(m) if !m.is_empty() && m.values().all(Value::is_string) => {
            ParamType::StringMap
        }
        Value::Object(_) => ParamType::Map,
        Value::Array(items) => match items.first() {
            None => return Ok(None),
            Some(Value::String(_)) => ParamType::StringArray,
            Some(Value::Bool(_)) => ParamType::BooleanArray,
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => ParamType::LongArray,
            Some(Value::Number(_)) => ParamType::DoubleArray,
            Some(_) => return Err(format!("Invalid type for array param: [{v}]")),
        },
        Value::Null => return Err("param value cannot be null".to_string()),
    }))
}

/// Converts a map of DSL params. Errors carry their path (below `at`); every bad param is
/// reported and skipped.
pub(crate) fn parse(
    entries: &[(&String, &Value)],
    at: &JsonPath,
    errors: &mut Vec<(JsonPath, String)>,
) -> ParamMap {
    let mut out = ParamMap::new();
    for (raw, v) in entries {
        let p_at = at.key(raw);
        match convert(raw, v, &p_at, errors) {
            Ok(Some((name, def))) => {
                out.insert(name, def);
            }
            Ok(None) => {}
            Err(m) => errors.push((p_at, m)),
        }
    }
    out
}

fn convert(
    raw: &str,
    v: &Value,
    at: &JsonPath,
    errors: &mut Vec<(JsonPath, String)>,
) -> Result<Option<(String, ParamDefinition)>, String> {
    let key = parse_key(raw)?;
    if v.is_null() {
        return Err(format!(
            "param value for param [{}] cannot be null",
            key.name
        ));
    }
    if !key.literal {
        let expr = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let ty = key.declared.unwrap_or(ParamType::String);
        return Ok(Some((
            key.name,
            ParamDefinition::expression(ty, expr).with_mode(key.mode),
        )));
    }
    let implied = implied_type(v)?;
    let ty = match (key.declared, implied) {
        (None, None) => ParamType::StringArray,
        (None, Some(t)) => t,
        (Some(d), None) => d,
        (Some(d), Some(i)) if d == i || (d == ParamType::Map && i == ParamType::StringMap) => d,
        (Some(d), Some(i)) => {
            return Err(format!(
                "Type mismatch for param [{raw}]: specified type [{d}] does not match implied type [{i}] from its value: [{v}]"
            ));
        }
    };
    let value = if ty == ParamType::Map {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("a MAP param needs a map value, got [{v}]"))?;
        let nested: Vec<(&String, &Value)> = obj.iter().collect();
        ParamValue::Map(parse(&nested, at, errors))
    } else {
        ParamValue::from_json(ty, v).map_err(|(sub, msg)| {
            if sub.is_empty() {
                msg
            } else {
                format!("{sub}: {msg}")
            }
        })?
    };
    let mut def = ParamDefinition::literal(value);
    def.mode = key.mode;
    Ok(Some((key.name, def)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(key: &str, v: Value) -> Result<(String, ParamDefinition), String> {
        let mut errors = Vec::new();
        let r = convert(key, &v, &JsonPath::root().key(key), &mut errors)?;
        assert!(errors.is_empty(), "{errors:?}");
        Ok(r.expect("a param"))
    }

    #[test]
    fn sample_keys() {
        let (n, d) = one("!month", json!("new DateTime(1).monthOfYear()")).unwrap();
        assert_eq!(n, "month");
        assert_eq!(d.param_type, ParamType::String);
        assert!(d.expression.is_some());

        let (n, d) = one("!partition_count<long>(constant)", json!("1+9")).unwrap();
        assert_eq!(n, "partition_count");
        assert_eq!(d.param_type, ParamType::Long);
        assert_eq!(d.mode, Some(ParamMode::Constant));
        assert_eq!(d.expression.as_deref(), Some("1+9"));

        let (n, d) = one(
            "http<pmap>",
            json!({"url": "http://x", "headers": {"a": "b"}}),
        )
        .unwrap();
        assert_eq!(n, "http");
        let Some(ParamValue::Map(m)) = d.value else {
            panic!()
        };
        assert_eq!(m["url"].param_type, ParamType::String);
        assert_eq!(m["headers"].param_type, ParamType::StringMap);

        let (_, d) = one("param0", json!(15)).unwrap();
        assert_eq!(d.value, Some(ParamValue::Long(15)));
        let (_, d) = one("date", json!([20200101, 20200102])).unwrap();
        assert_eq!(d.param_type, ParamType::LongArray);
        let (_, d) = one("empty", json!([])).unwrap();
        assert_eq!(d.param_type, ParamType::StringArray);
        let (_, d) = one("x<array<double>>", json!([1.5])).unwrap();
        assert_eq!(d.param_type, ParamType::DoubleArray);
        let (_, d) = one("m<map>", json!({"k": "v"})).unwrap();
        assert_eq!(d.param_type, ParamType::StringMap);
        let (_, d) = one("mixed", json!({"k": "v", "n": 1})).unwrap();
        assert_eq!(d.param_type, ParamType::Map);
    }

    #[test]
    fn key_errors() {
        assert!(
            one("x<long>", json!("a"))
                .unwrap_err()
                .contains("Type mismatch")
        );
        assert!(
            one("x(sometimes)", json!("a"))
                .unwrap_err()
                .contains("Invalid param mode")
        );
        assert!(
            one("x<int>", json!(1))
                .unwrap_err()
                .contains("Invalid param type")
        );
        assert!(
            one("x<array<map>>", json!([]))
                .unwrap_err()
                .contains("Unsupported type")
        );
        assert!(
            one("!", json!("1"))
                .unwrap_err()
                .contains("cannot be empty")
        );
        assert!(
            one("x", Value::Null)
                .unwrap_err()
                .contains("cannot be null")
        );
    }
}
