//! Row types: what the store hands back on reads. JSON documents stay as text; the engine owns
//! their shape.

use serde::{Deserialize, Serialize};

/// Identifies a workflow instance (all of its runs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceKey {
    pub workflow_id: String,
    pub instance_id: i64,
}

/// Identifies one run of a workflow instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunKey {
    pub workflow_id: String,
    pub instance_id: i64,
    pub run_id: i64,
}

/// Identifies one attempt of one step in one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StepAttemptKey {
    pub run: RunKey,
    pub step_id: String,
    pub attempt_id: i64,
}

/// The step (and its attempt) of a parent run that owns a nested run: a foreach or while
/// iteration, or a subworkflow child. Used to wake the parent when the child ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParentRef {
    pub run: RunKey,
    pub step_id: String,
    pub attempt_id: i64,
}

/// The mutable head row of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowRow {
    pub workflow_id: String,
    /// Unique per incarnation of the workflow id (changes when an id is deleted and recreated).
    pub internal_id: i64,
    /// 0 when no version is active.
    pub active_version_id: i64,
    pub latest_version_id: i64,
    /// The instance-id allocator: the highest instance id handed out so far.
    pub latest_instance_id: i64,
    /// JSON `PropertiesSnapshot`.
    pub properties_snapshot: String,
    pub activate_ts: Option<i64>,
    /// JSON `User`.
    pub activated_by: Option<String>,
    pub modify_ts: i64,
}

/// One immutable version of a workflow definition.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub workflow_id: String,
    pub version_id: i64,
    /// JSON `Metadata`.
    pub metadata: String,
    /// JSON `Workflow`, key order preserved.
    pub definition: String,
    /// JSON trigger uuids, when the version has triggers.
    pub trigger_uuids: Option<String>,
    pub create_ts: i64,
}

/// One run of a workflow instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub key: RunKey,
    /// Unique per workflow: the start request id (deduplication key).
    pub uuid: String,
    pub correlation_id: String,
    /// `MANUAL`, `TIME`, `SIGNAL`, `SUBWORKFLOW`, `FOREACH`, `WHILE`, …
    pub initiator_type: String,
    /// Nesting depth (0 for a root instance).
    pub depth: i64,
    /// The parent step for nested runs.
    pub parent: Option<ParentRef>,
    /// The cluster ownership group this run hashes into.
    pub group_id: i64,
    /// Status name (`CREATED`, `IN_PROGRESS`, … and the raw `FAILED_1`/`FAILED_2`).
    pub status: String,
    /// True while the run waits in its workflow's run-strategy queue.
    pub queued: bool,
    pub create_ts: i64,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    pub modify_ts: i64,
    /// The immutable part of the `WorkflowInstance` JSON, written at creation.
    pub instance: String,
    /// JSON `runtime_overview`, written when it changes.
    pub runtime_overview: Option<String>,
    /// JSON map of artifacts.
    pub artifacts: Option<String>,
    /// JSON array of timeline events.
    pub timeline: Option<String>,
}

/// One attempt of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepAttemptRow {
    pub key: StepAttemptKey,
    /// Kept across retries of the same step in a run.
    pub step_instance_id: i64,
    /// Unique per attempt.
    pub step_uuid: String,
    pub status: String,
    pub create_ts: i64,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    pub modify_ts: i64,
    /// The slow-changing part of the `StepInstance` JSON (definition, params, transition, retry
    /// counters): rewritten only when it changes.
    pub instance: String,
    /// JSON `runtime_state`.
    pub runtime_state: String,
    pub artifacts: Option<String>,
    pub timeline: Option<String>,
    /// JSON signal dependency states.
    pub dependencies: Option<String>,
    /// JSON signal output states.
    pub outputs: Option<String>,
}

/// What [`crate::Store::delete_workflow`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowDeletion {
    /// The internal id of the deleted incarnation of the workflow.
    pub internal_id: i64,
    pub versions: u64,
    /// Runs removed, iteration runs included.
    pub runs: u64,
    pub step_attempts: u64,
}

/// One stored signal instance.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    pub name: String,
    /// Sequence id within the name, from 1.
    pub seq_id: i64,
    pub instance_id: String,
    /// The signal document as written.
    pub instance: String,
    pub create_ts: i64,
}

/// A comparison of a signal param with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}
impl CompareOp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}
/// One condition of a signal match: `param OP value`, true only when the signal has the param
/// with a value of the same type.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalCondition {
    pub param: String,
    pub op: CompareOp,
    pub value: crate::ops::SignalValue,
}
/// Which signals of one name to find.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalQuery {
    pub name: String,
    /// Only signals with a greater sequence id (0 for all).
    pub after_seq: i64,
    /// All must hold.
    pub conditions: Vec<SignalCondition>,
    /// At most this many, lowest sequence ids first.
    pub limit: usize,
}
/// The durable state of one trigger of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerRow {
    pub workflow_id: String,
    pub trigger_uuid: String,
    /// `TIME` or `SIGNAL`.
    pub kind: String,
    pub definition: String,
    pub state: String,
    pub version: i64,
    pub modify_ts: i64,
}

/// A tag permit: at most `max_allowed` step attempts carrying `tag` run at once.
#[derive(Debug, Clone, PartialEq)]
pub struct TagPermitRow {
    pub tag: String,
    /// The limit (≥ 0).
    pub max_allowed: i64,
    /// JSON array of timeline events.
    pub timeline: Option<String>,
    /// JSON object of extra keys the request carried.
    pub extra_info: Option<String>,
    pub create_ts: i64,
    pub modify_ts: i64,
}

/// A user's step breakpoint (maestro-model.md §7.9). 0 in `version`, `instance_id`, `run_id` or
/// `attempt_id` matches every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakpointRow {
    pub workflow_id: String,
    pub step_id: String,
    pub version: i64,
    pub instance_id: i64,
    pub run_id: i64,
    pub attempt_id: i64,
    /// JSON `User`.
    pub created_by: String,
    pub create_ts: i64,
}

/// A step attempt held PAUSED by a breakpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PausedAttemptRow {
    pub key: StepAttemptKey,
    /// The workflow the matching breakpoint is on (the loop's workflow for an iteration).
    pub breakpoint_workflow_id: String,
    pub version: i64,
    pub create_ts: i64,
}
