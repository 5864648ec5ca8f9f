//! `StepTransition`: the edges of the step graph, written on the step they leave (§2.2, §6.1).
//!
//! `successors` maps a same-level step id to a SEL condition (`"true"` when unconditional), in the
//! order written. `predecessors` is optional and derived from the edges; if a user writes it,
//! validation checks it matches.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A step's outgoing edges (and optionally its declared incoming ones).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTransition {
    /// Declared predecessor ids (optional; must match the edges when given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predecessors: Vec<String>,
    /// Successor id → SEL condition.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub successors: IndexMap<String, String>,
}

impl StepTransition {
    /// True when the step declares neither edges nor predecessors.
    pub fn is_empty(&self) -> bool {
        self.predecessors.is_empty() && self.successors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_successor_order_and_omits_empty_lists() {
        let t: StepTransition =
            serde_json::from_str(r#"{"successors": {"job.6": "b", "job.4": "a"}}"#).unwrap();
        let keys: Vec<&str> = t.successors.keys().map(String::as_str).collect();
        assert_eq!(keys, ["job.6", "job.4"]);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"successors":{"job.6":"b","job.4":"a"}}"#
        );
        let empty: StepTransition = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(serde_json::from_str::<StepTransition>(r#"{"next": []}"#).is_err());
    }
}
