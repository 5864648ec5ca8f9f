//! The workflow definition (§1.4), the create request that carries it (§1.1), and the stored
//! definition the API returns (§1.2, §1.3).

use super::properties::{Criticality, Properties, PropertiesSnapshot};
use super::step::Step;
use super::trigger::{SignalTrigger, TimeTrigger};
use super::{ParsableLong, TagList, User};
use crate::params::ParamMap;
use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A versioned workflow definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Workflow id (required).
    #[serde(default)]
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description, ≤ 16384 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagList>,
    /// Run timeout (number = seconds; default 10 days, max 120 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ParsableLong>,
    /// Time triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_triggers: Option<Vec<TimeTrigger>>,
    /// Signal triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_triggers: Option<Vec<SignalTrigger>>,
    /// Criticality (carried only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// Cap on concurrently running leaf steps of a whole instance tree, 1..1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_step_concurrency: Option<i64>,
    /// Workflow params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<ParamMap>,
    /// The top-level steps (required, non-empty).
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Workflow {
    /// The name to show: the name, or the id when there is none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// Every step, depth first, including the bodies of foreach and while steps.
    pub fn all_steps(&self) -> Vec<&Step> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
            for s in steps {
                out.push(s);
                if let Some(body) = s.body() {
                    walk(body, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }
}

/// Git details of where a definition came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitInfo {
    /// Remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// Path in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Commit time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// Uncommitted changes present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncommitted_changes: Option<bool>,
}

/// Extra keys a create request may not carry (they would clash with version metadata).
pub const RESERVED_METADATA_KEYS: &[&str] = &[
    "workflow_id",
    "workflow_version_id",
    "git_info",
    "version_author",
    "create_time",
];

/// `POST /api/v3/workflows`: a definition plus properties. Unknown top-level keys are kept in
/// `extra` and stored in the version metadata (Maestro's `extra_info`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowCreateRequest {
    /// Properties (required with an owner on a workflow's first version).
    pub properties: Option<Properties>,
    /// The definition.
    pub workflow: Workflow,
    /// Activate the new version (default true).
    pub is_active: Option<bool>,
    /// Git details.
    pub git_info: Option<GitInfo>,
    /// Every other key, in order.
    pub extra: IndexMap<String, Value>,
}

impl WorkflowCreateRequest {
    /// A request for a workflow with no properties.
    pub fn new(workflow: Workflow) -> Self {
        WorkflowCreateRequest {
            properties: None,
            workflow,
            is_active: None,
            git_info: None,
            extra: IndexMap::new(),
        }
    }

    /// Whether the new version becomes active (default true).
    pub fn is_active_or_default(&self) -> bool {
        self.is_active.unwrap_or(true)
    }
}

impl Serialize for WorkflowCreateRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(p) = &self.properties {
            m.serialize_entry("properties", p)?;
        }
        m.serialize_entry("workflow", &self.workflow)?;
        if let Some(a) = &self.is_active {
            m.serialize_entry("is_active", a)?;
        }
        if let Some(g) = &self.git_info {
            m.serialize_entry("git_info", g)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for WorkflowCreateRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WorkflowCreateRequest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a workflow create request object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut properties = None;
                let mut workflow = None;
                let mut is_active = None;
                let mut git_info = None;
                let mut extra = IndexMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "properties" => properties = map.next_value()?,
                        "workflow" => workflow = Some(map.next_value::<Workflow>()?),
                        "is_active" => is_active = map.next_value()?,
                        "git_info" => git_info = map.next_value()?,
                        _ => {
                            let v: Value = map.next_value()?;
                            extra.insert(key, v);
                        }
                    }
                }
                Ok(WorkflowCreateRequest {
                    properties,
                    workflow: workflow.ok_or_else(|| de::Error::missing_field("workflow"))?,
                    is_active,
                    git_info,
                    extra,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// Version metadata; keys Maestro does not know are kept flattened in `extra`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// Workflow id.
    pub workflow_id: Option<String>,
    /// Version number (1, 2, …).
    pub workflow_version_id: Option<i64>,
    /// Version creation time (ms).
    pub create_time: Option<i64>,
    /// Who pushed the version.
    pub version_author: Option<User>,
    /// Git details.
    pub git_info: Option<GitInfo>,
    /// Extra keys from the create request.
    pub extra: IndexMap<String, Value>,
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = &self.workflow_id {
            m.serialize_entry("workflow_id", v)?;
        }
        if let Some(v) = &self.workflow_version_id {
            m.serialize_entry("workflow_version_id", v)?;
        }
        if let Some(v) = &self.create_time {
            m.serialize_entry("create_time", v)?;
        }
        if let Some(v) = &self.version_author {
            m.serialize_entry("version_author", v)?;
        }
        if let Some(v) = &self.git_info {
            m.serialize_entry("git_info", v)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
                let mut md = Metadata::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "workflow_id" => md.workflow_id = map.next_value()?,
                        "workflow_version_id" => md.workflow_version_id = map.next_value()?,
                        "create_time" => md.create_time = map.next_value()?,
                        "version_author" => md.version_author = map.next_value()?,
                        "git_info" => md.git_info = map.next_value()?,
                        _ => {
                            let v: Value = map.next_value()?;
                            md.extra.insert(key, v);
                        }
                    }
                }
                Ok(md)
            }
        }
        d.deserialize_map(V)
    }
}

/// A stored workflow version as the API returns it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDefinition {
    /// Current workflow-wide properties.
    pub properties_snapshot: PropertiesSnapshot,
    /// Version metadata.
    pub metadata: Metadata,
    /// The definition.
    pub workflow: Workflow,
    /// Whether this version is the active one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// When it was activated (only if active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activate_time: Option<i64>,
    /// Who activated it (only if active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_by: Option<User>,
    /// Whether this is the latest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_latest: Option<bool>,
    /// Whether this is the default version (active, else latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Internal id of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_id: Option<i64>,
    /// Extras of an enriched response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enriched_extras: Option<Value>,
    /// Last modification of the workflow row (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modify_time: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_top_level_keys_are_kept_in_order() {
        let json = r#"{"properties": {"owner": "tester"}, "workflow": {"id": "w", "steps": []},
                       "source": "s3://x", "dsl_lang": "java"}"#;
        let r: WorkflowCreateRequest = serde_json::from_str(json).unwrap();
        assert_eq!(r.extra.keys().collect::<Vec<_>>(), ["source", "dsl_lang"]);
        assert!(r.is_active_or_default());
        let out = serde_json::to_string(&r).unwrap();
        assert_eq!(
            out,
            r#"{"properties":{"owner":"tester"},"workflow":{"id":"w","steps":[]},"source":"s3://x","dsl_lang":"java"}"#
        );
    }

    #[test]
    fn workflow_is_required_and_strict() {
        let err = serde_json::from_str::<WorkflowCreateRequest>(r#"{"is_active": true}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `workflow`"), "{err}");
        let err = serde_json::from_str::<WorkflowCreateRequest>(
            r#"{"workflow": {"id": "w", "steps": [], "run_properties": {}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `run_properties`"), "{err}");
    }

    #[test]
    fn metadata_flattens_extras() {
        let json = r#"{"workflow_id":"w","workflow_version_id":1,"create_time":5,"version_author":"tester","source":"x"}"#;
        let md: Metadata = serde_json::from_str(json).unwrap();
        assert_eq!(md.extra["source"], "x");
        assert_eq!(serde_json::to_string(&md).unwrap(), json);
    }
}
