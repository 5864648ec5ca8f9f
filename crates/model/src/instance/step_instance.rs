//! A step instance: one attempt of one step in one run (§5.4), with its retry counters, runtime
//! state timestamps, evaluated transition, and signal dependency and output states.

use super::artifact::Artifact;
use super::run::RestartConfig;
use super::status::{StepDependencyMatchStatus, StepInstanceStatus};
use super::timeline::{ErrorCode, Timeline, TimelineEvent};
use crate::definition::{
    Backoff, RetryKind, RetryPolicy, SignalMatchParam, SignalParamValue, Step, TagList, User,
};
use crate::params::{ParamMap, Parameter};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Retry counters and limits of a step attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRetry {
    /// Retries after user errors.
    #[serde(default)]
    pub error_retries: i64,
    /// Limit for user errors.
    #[serde(default)]
    pub error_retry_limit: i64,
    /// Retries after platform errors.
    #[serde(default)]
    pub platform_retries: i64,
    /// Limit for platform errors.
    #[serde(default)]
    pub platform_retry_limit: i64,
    /// Retries after timeouts.
    #[serde(default)]
    pub timeout_retries: i64,
    /// Limit for timeouts.
    #[serde(default)]
    pub timeout_retry_limit: i64,
    /// Manual restarts within the run.
    #[serde(default)]
    pub manual_retries: i64,
    /// Whether the system may retry (false forces exhaustion).
    #[serde(default = "yes")]
    pub retryable: bool,
    /// The (parsed) backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

fn yes() -> bool {
    true
}

impl StepRetry {
    /// Counters at zero with the limits and backoff of a merged, parsed policy (see
    /// [`RetryPolicy::merged_with_default`] and [`RetryPolicy::parse_with`]). Missing numbers take
    /// the defaults.
    pub fn from_policy(policy: &RetryPolicy) -> Self {
        let default = RetryPolicy::default_policy();
        let limit = |k| policy.limit(k).or(default.limit(k)).unwrap_or(0);
        StepRetry {
            error_retries: 0,
            error_retry_limit: limit(RetryKind::Error),
            platform_retries: 0,
            platform_retry_limit: limit(RetryKind::Platform),
            timeout_retries: 0,
            timeout_retry_limit: limit(RetryKind::Timeout),
            manual_retries: 0,
            retryable: true,
            backoff: policy.backoff.clone().or(default.backoff),
        }
    }

    /// User error retries are used up (or retrying is off).
    pub fn has_reached_error_retry_limit(&self) -> bool {
        self.error_retries >= self.error_retry_limit || !self.retryable
    }

    /// Platform error retries are used up (or retrying is off).
    pub fn has_reached_platform_retry_limit(&self) -> bool {
        self.platform_retries >= self.platform_retry_limit || !self.retryable
    }

    /// Timeout retries are used up (or retrying is off).
    pub fn has_reached_timeout_retry_limit(&self) -> bool {
        self.timeout_retries >= self.timeout_retry_limit || !self.retryable
    }

    /// Counts the retry a new attempt makes after an attempt ended in `status`.
    pub fn increment_by_status(&mut self, status: StepInstanceStatus) -> Result<(), String> {
        match status {
            StepInstanceStatus::UserFailed => self.error_retries += 1,
            StepInstanceStatus::PlatformFailed => self.platform_retries += 1,
            StepInstanceStatus::TimeoutFailed => self.timeout_retries += 1,
            s if s.is_restartable() => self.manual_retries += 1,
            s => return Err(format!("Invalid status [{s}] to increase retry count")),
        }
        Ok(())
    }

    /// Seconds to wait before retrying after `status` (a retryable failure).
    pub fn next_retry_delay_secs(&self, status: StepInstanceStatus) -> Result<i64, String> {
        let (kind, retries) = match status {
            StepInstanceStatus::UserFailed => (RetryKind::Error, self.error_retries),
            StepInstanceStatus::PlatformFailed => (RetryKind::Platform, self.platform_retries),
            StepInstanceStatus::TimeoutFailed => (RetryKind::Timeout, self.timeout_retries),
            s => return Err(format!("Invalid status [{s}] to get next retry delay")),
        };
        let backoff = self
            .backoff
            .as_ref()
            .ok_or_else(|| "step retry has no backoff".to_string())?;
        backoff.next_retry_delay_secs(kind, retries)
    }
}

/// When a step attempt entered each state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRuntimeState {
    /// Current status (default NOT_CREATED).
    #[serde(default = "not_created")]
    pub status: StepInstanceStatus,
    /// CREATED at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// INITIALIZED at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialize_time: Option<i64>,
    /// PAUSED at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_time: Option<i64>,
    /// WAITING_FOR_SIGNALS at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_signal_time: Option<i64>,
    /// EVALUATING_PARAMS at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_param_time: Option<i64>,
    /// WAITING_FOR_PERMITS at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_permit_time: Option<i64>,
    /// STARTING at (the step timeout counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// RUNNING at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_time: Option<i64>,
    /// FINISHING at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<i64>,
    /// Terminal at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modify_time: Option<i64>,
}

fn not_created() -> StepInstanceStatus {
    StepInstanceStatus::NotCreated
}

impl Default for StepRuntimeState {
    fn default() -> Self {
        StepRuntimeState {
            status: StepInstanceStatus::NotCreated,
            create_time: None,
            initialize_time: None,
            pause_time: None,
            wait_signal_time: None,
            evaluate_param_time: None,
            wait_permit_time: None,
            start_time: None,
            execute_time: None,
            finish_time: None,
            end_time: None,
            modify_time: None,
        }
    }
}

/// A step attempt's edges with the successor conditions as BOOLEAN params (evaluated once the
/// step completes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInstanceTransition {
    /// Predecessor ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predecessors: Vec<String>,
    /// Successor id → condition.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub successors: IndexMap<String, Parameter>,
}

impl StepInstanceTransition {
    /// The unevaluated transition of a step definition.
    pub fn from_step(step: &Step) -> Self {
        StepInstanceTransition {
            predecessors: step.transition.predecessors.clone(),
            successors: step
                .transition
                .successors
                .iter()
                .map(|(id, expr)| {
                    let def = crate::params::ParamDefinition::expression(
                        crate::params::ParamType::Boolean,
                        expr.clone(),
                    );
                    (
                        id.clone(),
                        Parameter {
                            definition: def,
                            evaluated_result: None,
                            evaluated_time: None,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// Error details attached to a failed signal dependency (Maestro's `Details`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Details {
    /// Error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ErrorCode>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Error lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    /// Retryable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
}

/// The state of one signal dependency of a step attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalDependency {
    /// Signal name (interpolated).
    #[serde(default)]
    pub name: String,
    /// Match status.
    pub status: StepDependencyMatchStatus,
    /// Evaluated conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_params: Option<IndexMap<String, SignalMatchParam>>,
    /// Sequence id of the matched signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_id: Option<i64>,
    /// Error details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

/// Signal dependency states of a step attempt.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalDependencies {
    /// One per dependency, in definition order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<SignalDependency>,
    /// A note (e.g. bypassed by a user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<TimelineEvent>,
}

impl SignalDependencies {
    /// All dependencies matched or skipped.
    pub fn is_satisfied(&self) -> bool {
        self.dependencies.iter().all(|d| d.status.is_done())
    }
}

/// One announced output signal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalOutput {
    /// Signal name.
    #[serde(default)]
    pub name: String,
    /// Indexed params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, SignalParamValue>>,
    /// Payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<IndexMap<String, Value>>,
    /// Sequence id given by the signal store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_id: Option<i64>,
    /// When announced (absent for a duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_time: Option<i64>,
}

/// Output signal states of a step attempt.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalOutputs {
    /// Outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<SignalOutput>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<TimelineEvent>,
}

/// One attempt of one step in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInstance {
    /// Workflow id.
    pub workflow_id: String,
    /// Instance id.
    pub workflow_instance_id: i64,
    /// Run id.
    pub workflow_run_id: i64,
    /// Step id.
    pub step_id: String,
    /// Attempt number (1-based, per run).
    pub step_attempt_id: i64,
    /// Run uuid.
    #[serde(default)]
    pub workflow_uuid: String,
    /// Attempt uuid.
    #[serde(default)]
    pub step_uuid: String,
    /// Correlation id of the instance tree.
    #[serde(default)]
    pub correlation_id: String,
    /// Sequence number of the step's first attempt in the run.
    #[serde(default)]
    pub step_instance_id: i64,
    /// Bound definition version.
    #[serde(default)]
    pub workflow_version_id: i64,
    /// Grouping hint.
    #[serde(default)]
    pub group_info: i64,
    /// Owner from the run properties.
    pub owner: User,
    /// The step definition.
    pub definition: Step,
    /// Step tags plus runtime tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagList>,
    /// Params from a restart action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_run_params: Option<ParamMap>,
    /// Restart configuration from a restart action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_config: Option<RestartConfig>,
    /// Evaluated params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, Parameter>>,
    /// Edges with evaluated conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<StepInstanceTransition>,
    /// Retry counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_retry: Option<StepRetry>,
    /// Parsed timeout (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<i64>,
    /// Status and timestamps.
    pub runtime_state: StepRuntimeState,
    /// Signal dependency states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_dependencies: Option<SignalDependencies>,
    /// Output signal states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_outputs: Option<SignalOutputs>,
    /// Artifacts by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<IndexMap<String, Artifact>>,
    /// Timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_retry_from_policy_and_delays() {
        let policy: RetryPolicy = serde_json::from_str(
            r#"{"error_retry_limit": 3, "backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 5}}"#,
        )
        .unwrap();
        let merged = RetryPolicy::merged_with_default(Some(&policy));
        let mut r = StepRetry::from_policy(&merged);
        assert_eq!(r.error_retry_limit, 3);
        assert_eq!(r.platform_retry_limit, 10);
        assert!(!r.has_reached_error_retry_limit());
        for _ in 0..3 {
            r.increment_by_status(StepInstanceStatus::UserFailed)
                .unwrap();
        }
        assert!(r.has_reached_error_retry_limit());
        assert_eq!(
            r.next_retry_delay_secs(StepInstanceStatus::UserFailed)
                .unwrap(),
            5
        );
        assert_eq!(
            r.next_retry_delay_secs(StepInstanceStatus::PlatformFailed)
                .unwrap(),
            60
        );
        assert!(
            r.next_retry_delay_secs(StepInstanceStatus::Stopped)
                .is_err()
        );
        r.increment_by_status(StepInstanceStatus::Stopped).unwrap();
        assert_eq!(r.manual_retries, 1);
        assert!(
            r.increment_by_status(StepInstanceStatus::Succeeded)
                .is_err()
        );
        r.retryable = false;
        assert!(r.has_reached_platform_retry_limit() && r.has_reached_timeout_retry_limit());
    }

    #[test]
    fn step_instance_round_trip() {
        let json = r#"{"workflow_id":"wf","workflow_instance_id":1,"workflow_run_id":1,"step_id":"job1","step_attempt_id":1,
            "workflow_uuid":"u","step_uuid":"s","correlation_id":"wf:1:1","step_instance_id":3,"workflow_version_id":1,"group_info":0,
            "owner":"tester","definition":{"step":{"id":"job1","type":"NoOp","transition":{"successors":{"job2":"x > 1"}}}},
            "params":{"maestro_step_satisfied":{"value":true,"type":"BOOLEAN","evaluated_result":true,"evaluated_time":5}},
            "transition":{"successors":{"job2":{"expression":"x > 1","type":"BOOLEAN","evaluated_result":false,"evaluated_time":6}}},
            "step_retry":{"error_retries":0,"error_retry_limit":2,"platform_retries":0,"platform_retry_limit":10,"timeout_retries":0,"timeout_retry_limit":0,"manual_retries":0,"retryable":true,
                          "backoff":{"error_retry_backoff_in_secs":60,"error_retry_exponent":2,"error_retry_limit_in_secs":600,"type":"EXPONENTIAL_BACKOFF"}},
            "runtime_state":{"status":"SUCCEEDED","create_time":1,"end_time":9},
            "signal_dependencies":{"dependencies":[{"name":"sig","status":"MATCHED","match_params":{"p":{"value":5,"operator":">="}},"signal_id":3}]},
            "signal_outputs":{"outputs":[{"name":"out","params":{"k":"v"},"signal_id":7,"announce_time":8}]},
            "artifacts":{"x":{"a":1}},
            "timeline":[{"timestamp":1,"type":"LOG","level":"INFO","message":"hi"}]}"#;
        let si: StepInstance = serde_json::from_str(json).unwrap();
        assert_eq!(si.runtime_state.status, StepInstanceStatus::Succeeded);
        assert!(si.signal_dependencies.as_ref().unwrap().is_satisfied());
        let t = StepInstanceTransition::from_step(&si.definition);
        assert_eq!(
            t.successors["job2"].definition.expression.as_deref(),
            Some("x > 1")
        );
        let again: StepInstance =
            serde_json::from_str(&serde_json::to_string(&si).unwrap()).unwrap();
        assert_eq!(again, si);
    }
}
