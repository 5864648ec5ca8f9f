//! Helpers for the hand-written deserializers: reading a `type`-tagged object case-insensitively
//! and deserializing a sub-value while keeping the path of any error inside it.

use crate::path::{JsonPath, split_sub_path};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Deserializes `v` as `T`; on failure returns the path of the error relative to `v` and the
/// message (paths reported by nested hand-written deserializers are joined in).
pub(crate) fn from_value_at<T: DeserializeOwned>(v: Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        let base = if path == "." {
            JsonPath::root()
        } else {
            JsonPath::from_string(path)
        };
        let text = e.inner().to_string();
        let (sub, msg) = split_sub_path(&text);
        let full = match sub {
            Some(sub) => base.join(sub),
            None => base,
        };
        (full.as_str().to_string(), msg.to_string())
    })
}

/// Splits a `type`-discriminated object into its (required, string) type id and the other keys.
pub(crate) fn take_type(v: Value) -> Result<(String, Map<String, Value>), (String, String)> {
    let Value::Object(mut obj) = v else {
        return Err((String::new(), "expected an object".to_string()));
    };
    match obj.shift_remove("type") {
        Some(Value::String(t)) => Ok((t, obj)),
        Some(_) => Err(("type".into(), "`type` must be a string".into())),
        None => Err(("type".into(), "missing field `type`".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: Vec<u32>,
    }

    #[test]
    fn keeps_relative_paths() {
        let err = from_value_at::<Inner>(json!({"a": [1, "x"]})).unwrap_err();
        assert_eq!(err.0, "a[1]");
        let err = from_value_at::<Inner>(json!({"a": [], "b": 1})).unwrap_err();
        assert_eq!(err.0, "b");
        let err = from_value_at::<Inner>(json!({})).unwrap_err();
        assert_eq!(err.0, "");
    }

    #[test]
    fn takes_the_type() {
        let (t, rest) = take_type(json!({"type": "cron", "cron": "x"})).unwrap();
        assert_eq!(t, "cron");
        assert!(rest.contains_key("cron") && !rest.contains_key("type"));
        assert_eq!(take_type(json!({"cron": "x"})).unwrap_err().0, "type");
    }
}
