//! How a run is started or restarted (§7.7): the run policy, the restart configuration that
//! travels down a nested restart path, the run config of an instance, and the properties snapshot
//! an instance keeps.

use crate::definition::{Alerting, Tag, TagList, User};
use crate::maestro_enum;
use crate::params::ParamMap;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

maestro_enum! {
    /// The policy a run was started with.
    pub enum RunPolicy {
        /// A fresh run.
        StartFreshNewRun => "START_FRESH_NEW_RUN",
        /// A customized fresh run (not implemented by Maestro).
        StartCustomizedRun => "START_CUSTOMIZED_RUN",
        /// Restart what did not complete.
        RestartFromIncomplete => "RESTART_FROM_INCOMPLETE",
        /// Restart everything.
        RestartFromBeginning => "RESTART_FROM_BEGINNING",
        /// Restart a given step (and what did not complete).
        RestartFromSpecific => "RESTART_FROM_SPECIFIC",
        /// A customized restart (not implemented by Maestro).
        RestartCustomizedRun => "RESTART_CUSTOMIZED_RUN",
    }
}

impl RunPolicy {
    /// True for the fresh-run policies.
    pub fn is_fresh_run(self) -> bool {
        matches!(
            self,
            RunPolicy::StartFreshNewRun | RunPolicy::StartCustomizedRun
        )
    }
}

/// One node of a restart path: an instance and the step of it being restarted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartNode {
    /// Workflow id.
    pub workflow_id: String,
    /// Instance id.
    #[serde(default)]
    pub instance_id: i64,
    /// Step id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
}

fn default_restart_policy() -> RunPolicy {
    RunPolicy::RestartFromIncomplete
}

/// Restart configuration, passed down a nested restart path (leaf first; the last node is the
/// one being restarted now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartConfig {
    /// The path.
    #[serde(default)]
    pub restart_path: Vec<RestartNode>,
    /// Policy for this node (default RESTART_FROM_INCOMPLETE).
    #[serde(default = "default_restart_policy")]
    pub restart_policy: RunPolicy,
    /// Policy for what lies downstream (default RESTART_FROM_INCOMPLETE).
    #[serde(default = "default_restart_policy")]
    pub downstream_policy: RunPolicy,
    /// Workflow params to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_params: Option<ParamMap>,
    /// Step id → params to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_restart_params: Option<IndexMap<String, ParamMap>>,
    /// Steps to mark SKIPPED without running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_steps: Option<Vec<String>>,
}

impl Default for RestartConfig {
    fn default() -> Self {
        RestartConfig {
            restart_path: Vec::new(),
            restart_policy: default_restart_policy(),
            downstream_policy: default_restart_policy(),
            restart_params: None,
            step_restart_params: None,
            skip_steps: None,
        }
    }
}

/// How an instance run was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Tags added at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_tags: Option<Vec<Tag>>,
    /// Correlation id of the instance tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The run policy.
    pub policy: RunPolicy,
    /// The restart configuration, for restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_config: Option<RestartConfig>,
}

/// The part of the properties an instance keeps from its creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunProperties {
    /// Snapshot version (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Owner (name only).
    pub owner: User,
    /// Alerting (emails interpolated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
    /// Step concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_concurrency: Option<i64>,
    /// Workflow tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagList>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_config_defaults_and_round_trip() {
        let rc: RestartConfig = serde_json::from_str(r#"{"restart_path": [{"workflow_id": "w", "instance_id": 1, "step_id": "job1"}], "skip_steps": ["x"]}"#).unwrap();
        assert_eq!(rc.restart_policy, RunPolicy::RestartFromIncomplete);
        assert_eq!(rc.downstream_policy, RunPolicy::RestartFromIncomplete);
        let json = serde_json::to_string(&rc).unwrap();
        assert_eq!(
            json,
            r#"{"restart_path":[{"workflow_id":"w","instance_id":1,"step_id":"job1"}],"restart_policy":"RESTART_FROM_INCOMPLETE","downstream_policy":"RESTART_FROM_INCOMPLETE","skip_steps":["x"]}"#
        );
        assert!(RunPolicy::StartFreshNewRun.is_fresh_run());
        assert!(!RunPolicy::RestartFromSpecific.is_fresh_run());
    }

    #[test]
    fn run_config_needs_a_policy() {
        assert!(serde_json::from_str::<RunConfig>(r#"{"correlation_id": "x"}"#).is_err());
        let rc: RunConfig =
            serde_json::from_str(r#"{"policy": "start_fresh_new_run", "runtime_tags": ["t"]}"#)
                .unwrap();
        assert_eq!(rc.policy, RunPolicy::StartFreshNewRun);
    }
}
