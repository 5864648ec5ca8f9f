//! Request and response bodies for starting and restarting runs (§7.7, §7.8; maestro-api.md
//! §1.6). Unknown fields are rejected, as Maestro does.

use crate::definition::{SignalParamValue, Tag};
use crate::instance::{Artifact, Initiator, RunPolicy, TimelineEvent};
use crate::maestro_enum;
use crate::params::ParamMap;
use indexmap::IndexMap;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

/// `POST /api/v3/workflows/{id}/versions/{version}/actions/start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStartRequest {
    /// Who starts it (`{"type": "manual"}` from users).
    pub initiator: Initiator,
    /// When it was requested (ms; the server fills in the receive time when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time: Option<i64>,
    /// Idempotency key; becomes the run's `workflow_uuid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
    /// Tags added to the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_tags: Option<Vec<Tag>>,
    /// Param overrides (≤ 128, no reserved names, no `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_params: Option<ParamMap>,
    /// Artifacts for the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<IndexMap<String, Artifact>>,
    /// Keep a run whose params fail to evaluate, as FAILED.
    #[serde(default)]
    pub persist_failed_run: bool,
}

maestro_enum! {
    /// The restart policy a user may ask for.
    pub enum RestartPolicy {
        /// Restart what did not complete.
        RestartFromIncomplete => "RESTART_FROM_INCOMPLETE",
        /// Restart everything.
        RestartFromBeginning => "RESTART_FROM_BEGINNING",
    }
}

impl From<RestartPolicy> for RunPolicy {
    fn from(p: RestartPolicy) -> Self {
        match p {
            RestartPolicy::RestartFromIncomplete => RunPolicy::RestartFromIncomplete,
            RestartPolicy::RestartFromBeginning => RunPolicy::RestartFromBeginning,
        }
    }
}

maestro_enum! {
    /// How a step restart treats the instances above the step.
    pub enum UpstreamRestartMode {
        /// Restart the closest non-inline ancestor with the user's policy.
        RestartFromInlineRoot => "RESTART_FROM_INLINE_ROOT",
        /// Restart from the step (the default).
        RestartFromStep => "RESTART_FROM_STEP",
    }
}

/// `POST /api/v3/workflows/{id}/instances/{iid}/actions/restart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInstanceRestartRequest {
    /// When it was requested (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time: Option<i64>,
    /// Idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
    /// The policy (required).
    pub restart_policy: RestartPolicy,
    /// Param overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_params: Option<ParamMap>,
}

/// `POST /api/v3/workflows/{id}/instances/{iid}/steps/{stepId}/actions/restart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInstanceRestartRequest {
    /// When it was requested (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time: Option<i64>,
    /// Idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
    /// The policy for what lies downstream (required).
    pub restart_policy: RestartPolicy,
    /// Param overrides for the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_run_params: Option<ParamMap>,
    /// How ancestors are restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_restart_mode: Option<UpstreamRestartMode>,
}

impl StepInstanceRestartRequest {
    /// The run policy the restart uses: the user's for RESTART_FROM_INLINE_ROOT, otherwise
    /// RESTART_FROM_SPECIFIC.
    pub fn run_policy(&self) -> RunPolicy {
        if self.upstream_restart_mode == Some(UpstreamRestartMode::RestartFromInlineRoot) {
            self.restart_policy.into()
        } else {
            RunPolicy::RestartFromSpecific
        }
    }
}

maestro_enum! {
    /// What happened to a start or restart request.
    pub enum InstanceRunStatus {
        /// A run was created.
        Created => "CREATED",
        /// A run with the same uuid exists; nothing was written.
        Duplicated => "DUPLICATED",
        /// The run was recorded directly as STOPPED (run strategy).
        Stopped => "STOPPED",
        /// Something went wrong.
        InternalError => "INTERNAL_ERROR",
    }
}

/// Response of a start or a workflow instance restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStartResponse {
    /// Workflow id.
    pub workflow_id: String,
    /// Version used.
    #[serde(default)]
    pub workflow_version_id: i64,
    /// Instance id (0 when duplicated).
    #[serde(default)]
    pub workflow_instance_id: i64,
    /// Run id (0 when duplicated).
    #[serde(default)]
    pub workflow_run_id: i64,
    /// Run uuid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_uuid: Option<String>,
    /// Outcome.
    pub status: InstanceRunStatus,
    /// What happened, as a timeline event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_event: Option<TimelineEvent>,
}

/// Response of a step restart (`StepInstanceRestartResponse`): the run the restart acted in
/// (an in-run restart) or created (a new run), the step's new attempt when it is known, and
/// what happened to the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInstanceRestartResponse {
    /// Workflow id.
    pub workflow_id: String,
    /// Version of the run.
    #[serde(default)]
    pub workflow_version_id: i64,
    /// Instance id.
    #[serde(default)]
    pub workflow_instance_id: i64,
    /// Run id.
    #[serde(default)]
    pub workflow_run_id: i64,
    /// Step id.
    pub step_id: String,
    /// The new attempt (an in-run restart); absent when a new run will create it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_attempt_id: Option<i64>,
    /// Outcome.
    pub status: InstanceRunStatus,
    /// What happened, as a timeline event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_event: Option<TimelineEvent>,
}

/// `POST /api/v3/signals`: announce a signal. Keys other than the known ones (and the members
/// of an explicit `payload` object) form the informational payload, written back flattened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignalCreateRequest {
    /// Signal name.
    pub name: String,
    /// Indexed params (longs and strings) that triggers and dependencies match on.
    pub params: Option<IndexMap<String, SignalParamValue>>,
    /// Informational payload.
    pub payload: IndexMap<String, Value>,
    /// Dedup key (becomes the instance id).
    pub request_id: Option<String>,
    /// When it was requested (ms; the server fills in the receive time when absent).
    pub request_time: Option<i64>,
}

impl Serialize for SignalCreateRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if !self.name.is_empty() {
            m.serialize_entry("name", &self.name)?;
        }
        if let Some(p) = self.params.as_ref().filter(|p| !p.is_empty()) {
            m.serialize_entry("params", p)?;
        }
        for (k, v) in &self.payload {
            m.serialize_entry(k, v)?;
        }
        if let Some(r) = &self.request_id {
            m.serialize_entry("request_id", r)?;
        }
        if let Some(t) = &self.request_time {
            m.serialize_entry("request_time", t)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for SignalCreateRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SignalCreateRequest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signal announcement object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut r = SignalCreateRequest::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => r.name = map.next_value()?,
                        "params" => r.params = map.next_value()?,
                        "request_id" => r.request_id = map.next_value()?,
                        "request_time" => r.request_time = map.next_value()?,
                        "payload" => {
                            let p: Option<IndexMap<String, Value>> = map.next_value()?;
                            r.payload.extend(p.unwrap_or_default());
                        }
                        _ => {
                            let v: Value = map.next_value()?;
                            r.payload.insert(key, v);
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
    fn readme_start_request() {
        let json = r#"{"initiator": {"type": "manual"}, "run_params": {"foo": {"value": "bar", "type": "STRING"}},
            "request_id": "6ec8e2e4-4a7a-4e34-9bd1-7f1c8d4b8a11"}"#;
        let r: WorkflowStartRequest = serde_json::from_str(json).unwrap();
        assert!(!r.persist_failed_run);
        assert_eq!(r.run_params.as_ref().unwrap().len(), 1);
        let again: WorkflowStartRequest =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again, r);
        assert!(
            serde_json::from_str::<WorkflowStartRequest>(
                r#"{"initiator": {"type": "manual"}, "x": 1}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<WorkflowStartRequest>(
                r#"{"initiator": {"type": "manual"}, "request_id": "nope"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn signal_announcement_keeps_extra_keys_as_payload() {
        let json = r#"{"name": "db/table", "params": {"dateint": 20200101, "hour": "00"},
                       "request_id": "r1", "owner": "me", "payload": {"note": "x"}}"#;
        let s: SignalCreateRequest = serde_json::from_str(json).unwrap();
        assert_eq!(
            s.params.as_ref().unwrap()["dateint"],
            SignalParamValue::Long(20200101)
        );
        assert_eq!(s.payload.keys().collect::<Vec<_>>(), ["owner", "note"]);
        let out = serde_json::to_string(&s).unwrap();
        assert_eq!(
            out,
            r#"{"name":"db/table","params":{"dateint":20200101,"hour":"00"},"owner":"me","note":"x","request_id":"r1"}"#
        );
        let again: SignalCreateRequest = serde_json::from_str(&out).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn restart_requests() {
        let r: StepInstanceRestartRequest =
            serde_json::from_str(r#"{"restart_policy": "restart_from_beginning"}"#).unwrap();
        assert_eq!(r.run_policy(), RunPolicy::RestartFromSpecific);
        let r: StepInstanceRestartRequest = serde_json::from_str(
            r#"{"restart_policy": "RESTART_FROM_BEGINNING", "upstream_restart_mode": "RESTART_FROM_INLINE_ROOT"}"#,
        )
        .unwrap();
        assert_eq!(r.run_policy(), RunPolicy::RestartFromBeginning);
        assert!(serde_json::from_str::<WorkflowInstanceRestartRequest>("{}").is_err());
    }
}
