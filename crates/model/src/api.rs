//! Request and response bodies for starting and restarting runs (§7.7, §7.8; maestro-api.md
//! §1.6). Unknown fields are rejected, as Maestro does.

use crate::definition::Tag;
use crate::instance::{Artifact, Initiator, RunPolicy, TimelineEvent};
use crate::maestro_enum;
use crate::params::ParamMap;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
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
