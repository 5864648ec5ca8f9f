//! Artifacts (§10.3): typed records a step keeps under a key (`maestro_foreach`,
//! `maestro_http`, …), or free-form maps under any other key (`DEFAULT`).
//!
//! JSON is tagged by `type`; a missing type means `DEFAULT`, whose keys are written flat and
//! without a type, as Maestro does.

use super::overview::{ForeachStepOverview, WorkflowRollupOverview, WorkflowRuntimeOverview};
use super::run::{RestartConfig, RunPolicy};
use super::status::WorkflowInstanceStatus;
use super::timeline::TimelineEvent;
use crate::definition::User;
use crate::json::from_value_at;
use crate::maestro_enum;
use crate::params::Parameter;
use crate::path::sub_path_error;
use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

maestro_enum! {
    /// The artifact type.
    pub enum ArtifactType {
        /// Free-form map.
        Default => "DEFAULT",
        /// Child instance of a subworkflow step.
        Subworkflow => "SUBWORKFLOW",
        /// Foreach progress.
        Foreach => "FOREACH",
        /// While progress.
        While => "WHILE",
        /// Titus job.
        Titus => "TITUS",
        /// Notebook output.
        Notebook => "NOTEBOOK",
        /// Signals a job asked to announce.
        DynamicOutput => "DYNAMIC_OUTPUT",
        /// Kubernetes pod.
        Kubernetes => "KUBERNETES",
        /// HTTP exchange.
        Http => "HTTP",
        /// Retry veto.
        Retry => "RETRY",
    }
}

impl ArtifactType {
    /// The key the artifact is stored under (`None` for DEFAULT: any key).
    pub fn key(self) -> Option<&'static str> {
        Some(match self {
            ArtifactType::Default => return None,
            ArtifactType::Subworkflow => "maestro_subworkflow",
            ArtifactType::Foreach => "maestro_foreach",
            ArtifactType::While => "maestro_while",
            ArtifactType::Titus => "maestro_titus",
            ArtifactType::Notebook => "maestro_notebook",
            ArtifactType::DynamicOutput => "maestro_dynamic_output",
            ArtifactType::Kubernetes => "maestro_kubernetes",
            ArtifactType::Http => "maestro_http",
            ArtifactType::Retry => "maestro_retry",
        })
    }
}

/// `maestro_subworkflow`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubworkflowArtifact {
    /// Child workflow id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subworkflow_id: Option<String>,
    /// Bound version.
    #[serde(default)]
    pub subworkflow_version_id: i64,
    /// Child instance id.
    #[serde(default)]
    pub subworkflow_instance_id: i64,
    /// Child run id.
    #[serde(default)]
    pub subworkflow_run_id: i64,
    /// Child uuid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subworkflow_uuid: Option<String>,
    /// Child overview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subworkflow_overview: Option<WorkflowRuntimeOverview>,
}

/// A pending action on one foreach iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeachAction {
    /// Iteration id.
    #[serde(default)]
    pub instance_id: i64,
    /// Iteration run to restart.
    #[serde(default)]
    pub instance_run_id: i64,
    /// Restart configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_config: Option<RestartConfig>,
    /// The action name (e.g. RESTART).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// When (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
}

/// `maestro_foreach`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeachArtifact {
    /// Inline workflow id of the iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach_workflow_id: Option<String>,
    /// Inline workflow identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach_identity: Option<String>,
    /// Run id given to iterations.
    #[serde(default)]
    pub foreach_run_id: i64,
    /// Policy iterations run with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_policy: Option<RunPolicy>,
    /// The parent run id.
    #[serde(default)]
    pub run_id: i64,
    /// Iterations of enclosing loops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ancestor_iteration_count: Option<i64>,
    /// Total iterations.
    #[serde(default)]
    pub total_loop_count: i64,
    /// Next iteration index to launch.
    #[serde(default)]
    pub next_loop_index: i64,
    /// Progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach_overview: Option<ForeachStepOverview>,
    /// One pending iteration action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_action: Option<ForeachAction>,
}

/// `maestro_while`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhileArtifact {
    /// Inline workflow id of the iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_workflow_id: Option<String>,
    /// Inline workflow identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_identity: Option<String>,
    /// Run id given to iterations.
    #[serde(default)]
    pub loop_run_id: i64,
    /// Policy iterations run with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_policy: Option<RunPolicy>,
    /// The parent run id.
    #[serde(default)]
    pub run_id: i64,
    /// First iteration of this run.
    #[serde(default)]
    pub first_iteration: i64,
    /// Last launched iteration.
    #[serde(default)]
    pub last_iteration: i64,
    /// Status of the last iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<WorkflowInstanceStatus>,
    /// Overview of the last iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_overview: Option<WorkflowRuntimeOverview>,
    /// Rollup of the earlier iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollup: Option<WorkflowRollupOverview>,
    /// Loop param name → value per iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_param_values: Option<IndexMap<String, Vec<Value>>>,
}

/// The request of an Http step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStepRequest {
    /// URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<IndexMap<String, String>>,
    /// Body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `maestro_http`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpArtifact {
    /// What was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpStepRequest>,
    /// Status line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Status code.
    #[serde(default)]
    pub status_code: i64,
    /// Response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `pre_stop.exec` of a Kubernetes command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesExec {
    /// Command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// `pre_stop` of a Kubernetes command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesPreStop {
    /// Exec hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<KubernetesExec>,
}

/// The command a Kubernetes step launched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesCommand {
    /// App name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Args.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<String>,
    /// GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Deprecated entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<String>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<IndexMap<String, String>>,
    /// Pod name / dedup key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_deduplication_key: Option<String>,
    /// Owner email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
    /// Pre-stop hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_stop: Option<KubernetesPreStop>,
}

/// `maestro_kubernetes`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesArtifact {
    /// Pod job id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Script run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_script: Option<String>,
    /// Log tail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_output: Option<String>,
    /// The command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<KubernetesCommand>,
}

/// `maestro_notebook`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotebookArtifact {
    /// Output notebook path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
}

/// `maestro_titus` (no Titus runtime in Baton; kept so such records read back).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitusArtifact {
    /// CMB job id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmb_job_id: Option<String>,
    /// CMB UI link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmb_ui_link: Option<String>,
    /// Script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_script: Option<String>,
    /// Titus job id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titus_job_id: Option<String>,
    /// Log link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titus_log_ui_link: Option<String>,
    /// Output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titus_execution_output: Option<String>,
    /// Error output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titus_execution_error_output: Option<String>,
    /// Options (opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titus_options: Option<Value>,
    /// Task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titus_task_id: Option<String>,
    /// Milestones.
    #[serde(default)]
    pub milestones: Vec<TimelineEvent>,
}

/// `maestro_dynamic_output`: extra signals a job asked to announce (MAP params).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicOutputArtifact {
    /// One MAP param per signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_outputs: Option<Vec<Parameter>>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<TimelineEvent>,
}

fn yes() -> bool {
    true
}

/// `maestro_retry`: lets a job veto its retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryArtifact {
    /// Whether the system may retry (default true).
    #[serde(default = "yes")]
    pub retryable: bool,
}

/// An artifact.
// Artifacts live in maps keyed by name and are rarely moved; boxing the large variants would
// only add indirection for every reader.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Artifact {
    /// Free-form keys.
    Default(IndexMap<String, Value>),
    /// `SUBWORKFLOW`.
    Subworkflow(SubworkflowArtifact),
    /// `FOREACH`.
    Foreach(ForeachArtifact),
    /// `WHILE`.
    While(WhileArtifact),
    /// `TITUS`.
    Titus(TitusArtifact),
    /// `NOTEBOOK`.
    Notebook(NotebookArtifact),
    /// `DYNAMIC_OUTPUT`.
    DynamicOutput(DynamicOutputArtifact),
    /// `KUBERNETES`.
    Kubernetes(KubernetesArtifact),
    /// `HTTP`.
    Http(HttpArtifact),
    /// `RETRY`.
    Retry(RetryArtifact),
}

impl Artifact {
    /// The type.
    pub fn artifact_type(&self) -> ArtifactType {
        match self {
            Artifact::Default(_) => ArtifactType::Default,
            Artifact::Subworkflow(_) => ArtifactType::Subworkflow,
            Artifact::Foreach(_) => ArtifactType::Foreach,
            Artifact::While(_) => ArtifactType::While,
            Artifact::Titus(_) => ArtifactType::Titus,
            Artifact::Notebook(_) => ArtifactType::Notebook,
            Artifact::DynamicOutput(_) => ArtifactType::DynamicOutput,
            Artifact::Kubernetes(_) => ArtifactType::Kubernetes,
            Artifact::Http(_) => ArtifactType::Http,
            Artifact::Retry(_) => ArtifactType::Retry,
        }
    }

    /// Merges `other` into `self` as step runtimes' results are merged: two DEFAULT artifacts
    /// merge their keys (later wins); anything else is replaced.
    pub fn merge(&mut self, other: Artifact) {
        match (self, other) {
            (Artifact::Default(mine), Artifact::Default(theirs)) => mine.extend(theirs),
            (me, other) => *me = other,
        }
    }
}

impl Serialize for Artifact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let body = match self {
            Artifact::Default(m) => return m.serialize(s),
            Artifact::Subworkflow(a) => serde_json::to_value(a),
            Artifact::Foreach(a) => serde_json::to_value(a),
            Artifact::While(a) => serde_json::to_value(a),
            Artifact::Titus(a) => serde_json::to_value(a),
            Artifact::Notebook(a) => serde_json::to_value(a),
            Artifact::DynamicOutput(a) => serde_json::to_value(a),
            Artifact::Kubernetes(a) => serde_json::to_value(a),
            Artifact::Http(a) => serde_json::to_value(a),
            Artifact::Retry(a) => serde_json::to_value(a),
        }
        .map_err(serde::ser::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let Value::Object(obj) = body {
            for (k, v) in obj {
                m.serialize_entry(&k, &v)?;
            }
        }
        m.serialize_entry("type", &self.artifact_type())?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Artifact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let Value::Object(mut obj) = v else {
            return Err(serde::de::Error::custom("an artifact must be an object"));
        };
        let ty = match obj.shift_remove("type") {
            None => ArtifactType::Default,
            Some(Value::String(t)) => ArtifactType::parse(&t).ok_or_else(|| {
                sub_path_error(
                    "type",
                    format!(
                        "unknown artifact type `{t}`, expected one of {}",
                        ArtifactType::expected()
                    ),
                )
            })?,
            Some(_) => return Err(sub_path_error("type", "`type` must be a string")),
        };
        if ty == ArtifactType::Default {
            return Ok(Artifact::Default(obj.into_iter().collect()));
        }
        let rest = Value::Object(obj);
        let r = match ty {
            ArtifactType::Default => unreachable_default(),
            ArtifactType::Subworkflow => from_value_at(rest).map(Artifact::Subworkflow),
            ArtifactType::Foreach => from_value_at(rest).map(Artifact::Foreach),
            ArtifactType::While => from_value_at(rest).map(Artifact::While),
            ArtifactType::Titus => from_value_at(rest).map(Artifact::Titus),
            ArtifactType::Notebook => from_value_at(rest).map(Artifact::Notebook),
            ArtifactType::DynamicOutput => from_value_at(rest).map(Artifact::DynamicOutput),
            ArtifactType::Kubernetes => from_value_at(rest).map(Artifact::Kubernetes),
            ArtifactType::Http => from_value_at(rest).map(Artifact::Http),
            ArtifactType::Retry => from_value_at(rest).map(Artifact::Retry),
        };
        r.map_err(|(p, m)| sub_path_error(&p, m))
    }
}

/// DEFAULT is handled before the typed artifacts are read.
fn unreachable_default() -> Result<Artifact, (String, String)> {
    Err((
        "type".to_string(),
        "internal: DEFAULT artifact reached the typed reader".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_data_artifacts_from_the_kubernetes_sample() {
        let json = r#"{"maestro_dynamic_output": {"signal_outputs":[{"value":{"name":{"value":"demo_table","type":"STRING"}},"type":"MAP","evaluated_result":{"name":"demo_table"},"evaluated_time": 1625871404000}],"type":"DYNAMIC_OUTPUT"},
                       "maestro_retry": {"type": "RETRY", "retryable": false},
                       "custom": {"value": 1, "note": "x"}}"#;
        let arts: IndexMap<String, Artifact> = serde_json::from_str(json).unwrap();
        assert!(matches!(&arts["maestro_retry"], Artifact::Retry(r) if !r.retryable));
        assert_eq!(arts["custom"].artifact_type(), ArtifactType::Default);
        let Artifact::DynamicOutput(d) = &arts["maestro_dynamic_output"] else {
            panic!("dynamic output expected")
        };
        assert_eq!(d.signal_outputs.as_ref().unwrap().len(), 1);
        let out = serde_json::to_string(&arts).unwrap();
        assert!(out.contains(r#""custom":{"value":1,"note":"x"}"#), "{out}");
        let again: IndexMap<String, Artifact> = serde_json::from_str(&out).unwrap();
        assert_eq!(again, arts);
        assert_eq!(ArtifactType::Foreach.key(), Some("maestro_foreach"));
    }

    #[test]
    fn default_artifacts_merge_keys() {
        let mut a = Artifact::Default([("x".to_string(), Value::from(1))].into_iter().collect());
        a.merge(Artifact::Default(
            [
                ("y".to_string(), Value::from(2)),
                ("x".to_string(), Value::from(3)),
            ]
            .into_iter()
            .collect(),
        ));
        let Artifact::Default(m) = a else { panic!() };
        assert_eq!(m["x"], 3);
        assert_eq!(m["y"], 2);
    }

    #[test]
    fn typed_artifacts_round_trip() {
        let json = r#"{"foreach_workflow_id":"maestro_foreach_x","foreach_identity":"i","foreach_run_id":1,"run_policy":"START_FRESH_NEW_RUN","run_id":1,"total_loop_count":10,"next_loop_index":3,"foreach_overview":{"checkpoint":0,"stats":{"SUCCEEDED":3}},"type":"FOREACH"}"#;
        let a: Artifact = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), json);
        let bad = r#"{"type": "FOREACH", "loops": 1}"#;
        let err = serde_json::from_str::<Artifact>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `loops`"), "{err}");
    }
}
