//! A workflow instance run (§5.1): the definition it runs, its evaluated params, who started it,
//! its status and overview.

use super::artifact::Artifact;
use super::initiator::Initiator;
use super::overview::{WorkflowInstanceAggregatedInfo, WorkflowRuntimeOverview};
use super::run::{RunConfig, RunProperties};
use super::status::WorkflowInstanceStatus;
use super::timeline::Timeline;
use crate::definition::{StepTransition, Workflow};
use crate::params::{ParamMap, Parameter};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One run of a workflow instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInstance {
    /// Workflow id.
    pub workflow_id: String,
    /// Instance id (≥ 1; the iteration number for loop iterations).
    pub workflow_instance_id: i64,
    /// Run id (≥ 1; +1 per restart).
    pub workflow_run_id: i64,
    /// Run uuid (the start's `request_id` when given).
    #[serde(default)]
    pub workflow_uuid: String,
    /// Correlation id shared by a whole instance tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Bound definition version.
    #[serde(default)]
    pub workflow_version_id: i64,
    /// Grouping hint, inherited by children.
    #[serde(default)]
    pub group_info: i64,
    /// Internal id of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_id: Option<i64>,
    /// Execution id once running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Run configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_config: Option<RunConfig>,
    /// Run params of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_params: Option<ParamMap>,
    /// Step id → run params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_run_params: Option<IndexMap<String, ParamMap>>,
    /// Properties captured at creation.
    pub run_properties: RunProperties,
    /// The definition this run uses.
    pub runtime_workflow: Workflow,
    /// Step id → edges of the steps in this run.
    #[serde(default)]
    pub runtime_dag: IndexMap<String, StepTransition>,
    /// Parsed workflow timeout (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<i64>,
    /// Evaluated workflow params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, Parameter>>,
    /// Who started it.
    pub initiator: Initiator,
    /// Status (aggregated across runs).
    pub status: WorkflowInstanceStatus,
    /// Requested at (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time: Option<i64>,
    /// Created at (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// First dequeued at (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Terminal at (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Last change (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modify_time: Option<i64>,
    /// Step and rollup overview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_overview: Option<WorkflowRuntimeOverview>,
    /// Artifacts from the start request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<IndexMap<String, Artifact>>,
    /// Timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// Merged view across runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated_info: Option<WorkflowInstanceAggregatedInfo>,
}

impl WorkflowInstance {
    /// This run's own status (`runtime_overview.run_status`), else the instance status.
    pub fn run_status(&self) -> WorkflowInstanceStatus {
        self.runtime_overview
            .as_ref()
            .and_then(|o| o.run_status)
            .unwrap_or(self.status)
    }

    /// `[workflow_id][instance_id][run_id]`.
    pub fn identity(&self) -> String {
        format!(
            "[{}][{}][{}]",
            self.workflow_id, self.workflow_instance_id, self.workflow_run_id
        )
    }

    /// The correlation id, defaulting to `wf:instance:run`.
    pub fn correlation_id_or_default(&self) -> String {
        self.correlation_id.clone().unwrap_or_else(|| {
            format!(
                "{}:{}:{}",
                self.workflow_id, self.workflow_instance_id, self.workflow_run_id
            )
        })
    }

    /// A fresh run (no run config, or a fresh-run policy).
    pub fn is_fresh_run(&self) -> bool {
        self.run_config
            .as_ref()
            .is_none_or(|c| c.policy.is_fresh_run())
    }

    /// A loop iteration (inline workflow).
    pub fn is_inline(&self) -> bool {
        self.initiator.initiator_type().is_inline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::RunPolicy;

    #[test]
    fn instance_round_trip_and_helpers() {
        let json = r#"{"workflow_id":"wf","workflow_instance_id":2,"workflow_run_id":1,"workflow_uuid":"u",
            "workflow_version_id":1,"group_info":0,
            "run_config":{"policy":"START_FRESH_NEW_RUN"},
            "run_params":{"foo":{"value":"bar","type":"STRING"}},
            "run_properties":{"create_time":1,"owner":"tester","step_concurrency":20},
            "runtime_workflow":{"id":"wf","steps":[{"step":{"id":"a","type":"NoOp"}}]},
            "runtime_dag":{"a":{}},
            "params":{"foo":{"value":"bar","type":"STRING","evaluated_result":"bar","evaluated_time":5,"source":"LAUNCH"}},
            "initiator":{"type":"MANUAL","user":"tester"},
            "status":"IN_PROGRESS",
            "runtime_overview":{"total_step_count":1,"step_overview":{"RUNNING":{"cnt":1,"steps":[[1,5,0]]}},"run_status":"IN_PROGRESS"},
            "aggregated_info":{"workflow_instance_status":"FAILED","step_aggregated_views":{"a":{"workflow_run_id":1,"status":"FATALLY_FAILED"}}}}"#;
        let wi: WorkflowInstance = serde_json::from_str(json).unwrap();
        assert_eq!(wi.identity(), "[wf][2][1]");
        assert_eq!(wi.correlation_id_or_default(), "wf:2:1");
        assert!(wi.is_fresh_run() && !wi.is_inline());
        assert_eq!(wi.run_status(), WorkflowInstanceStatus::InProgress);
        assert_eq!(
            wi.run_config.as_ref().unwrap().policy,
            RunPolicy::StartFreshNewRun
        );
        let again: WorkflowInstance =
            serde_json::from_str(&serde_json::to_string(&wi).unwrap()).unwrap();
        assert_eq!(again, wi);
    }
}
