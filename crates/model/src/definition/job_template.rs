//! Job templates (§2.10): reusable param sets for a step `sub_type`, keyed by
//! (`job_type`, `version`). A template file is a [`JobTemplateCreateRequest`], not a workflow.

use super::User;
use super::step::StepType;
use super::tag::Tag;
use super::workflow::GitInfo;
use crate::params::ParamMap;
use indexmap::IndexMap;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The template itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTemplateDefinition {
    /// The job type (a step's `sub_type`).
    #[serde(default)]
    pub job_type: String,
    /// The step type the template applies to.
    pub step_type: StepType,
    /// The template version.
    #[serde(default)]
    pub version: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags added to steps using the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// Templates to inherit params from: job type → version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit_from: Option<IndexMap<String, String>>,
    /// The params the template provides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<ParamMap>,
}

/// Keys a job template request may not carry as extra info.
pub const RESERVED_JOB_TEMPLATE_KEYS: &[&str] = &[
    "owner",
    "status",
    "support",
    "test_workflows",
    "git_info",
    "definition",
];

/// `POST /api/v3/job-templates`. Unknown top-level keys are kept in `extra`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTemplateCreateRequest {
    /// Owner (required).
    pub owner: Option<User>,
    /// Status text (required).
    pub status: Option<String>,
    /// Support contact (required).
    pub support: Option<String>,
    /// Workflows that test the template.
    pub test_workflows: Option<Vec<String>>,
    /// Git details.
    pub git_info: Option<GitInfo>,
    /// The template (required).
    pub definition: Option<JobTemplateDefinition>,
    /// Every other key.
    pub extra: IndexMap<String, Value>,
}

impl Serialize for JobTemplateCreateRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = &self.owner {
            m.serialize_entry("owner", v)?;
        }
        if let Some(v) = &self.status {
            m.serialize_entry("status", v)?;
        }
        if let Some(v) = &self.support {
            m.serialize_entry("support", v)?;
        }
        if let Some(v) = &self.test_workflows {
            m.serialize_entry("test_workflows", v)?;
        }
        if let Some(v) = &self.git_info {
            m.serialize_entry("git_info", v)?;
        }
        if let Some(v) = &self.definition {
            m.serialize_entry("definition", v)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for JobTemplateCreateRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JobTemplateCreateRequest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a job template create request object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut r = JobTemplateCreateRequest {
                    owner: None,
                    status: None,
                    support: None,
                    test_workflows: None,
                    git_info: None,
                    definition: None,
                    extra: IndexMap::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "owner" => r.owner = map.next_value()?,
                        "status" => r.status = map.next_value()?,
                        "support" => r.support = map.next_value()?,
                        "test_workflows" => r.test_workflows = map.next_value()?,
                        "git_info" => r.git_info = map.next_value()?,
                        "definition" => r.definition = map.next_value()?,
                        _ => {
                            let v: Value = map.next_value()?;
                            r.extra.insert(key, v);
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_template_with_extras() {
        let json = r#"{"owner": "tester", "status": "alpha", "support": "team", "foo": 10,
            "definition": {"job_type": "shell", "step_type": "Notebook", "version": "v1",
              "tags": [{"name": "notebook", "namespace": "job_template", "foo": "bar"}, "shell"],
              "inherit_from": {},
              "params": {"script": {"value": "echo", "type": "STRING", "internal_mode": "REQUIRED"}}}}"#;
        let r: JobTemplateCreateRequest = serde_json::from_str(json).unwrap();
        let def = r.definition.as_ref().unwrap();
        assert_eq!(def.step_type, StepType::Notebook);
        assert_eq!(r.extra["foo"], 10);
        let again: JobTemplateCreateRequest =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again, r);
    }
}
