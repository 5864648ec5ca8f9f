//! A stored signal (§9.3): what steps' dependencies and signal triggers match against.

use crate::definition::SignalParamValue;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An announced signal as stored, with its per-name sequence id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalInstance {
    /// Signal name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Sequence id within the name, from 1.
    #[serde(default)]
    pub seq_id: i64,
    /// The request id, or a name-based uuid of name and params (dedup key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Indexed params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, SignalParamValue>>,
    /// Informational payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<IndexMap<String, Value>>,
    /// When it was requested (ms).
    #[serde(default)]
    pub request_time: i64,
    /// When it was stored (ms).
    #[serde(default)]
    pub create_time: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let json = r#"{"name":"db/table","seq_id":3,"instance_id":"u","params":{"dateint":20200101},"payload":{"signal_source":{"workflow_id":"w"}},"request_time":5,"create_time":6}"#;
        let s: SignalInstance = serde_json::from_str(json).unwrap();
        assert_eq!(s.seq_id, 3);
        assert_eq!(serde_json::to_string(&s).unwrap(), json);
    }
}
