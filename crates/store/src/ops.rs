//! Write operations: the only way state changes. Each op is a small, self-describing record so
//! that a backend can apply many callers' ops in one transaction (group commit).

use crate::rows::{
    BreakpointRow, ParentRef, PausedAttemptRow, RunKey, StepAttemptKey, TagPermitRow,
};

/// One change to apply. A batch of ops passed to [`crate::Store::write`] is atomic.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Adds the next version of a workflow (creating the workflow row on the first push).
    PutVersion(NewVersion),
    /// Makes `version_id` the active version (0 deactivates the workflow).
    SetActiveVersion {
        workflow_id: String,
        version_id: i64,
        /// JSON `User`.
        activated_by: Option<String>,
        ts: i64,
    },
    /// Replaces the properties snapshot and records the change in the properties history.
    SetProperties {
        workflow_id: String,
        /// The snapshot the caller read; the write fails with a conflict if it changed since.
        expected_snapshot: String,
        snapshot: String,
        /// JSON `User`.
        author: String,
        /// JSON of the requested change.
        change: String,
        ts: i64,
    },
    /// Creates a workflow instance run.
    CreateInstance(NewInstance),
    /// Changes the mutable columns of a run.
    UpdateInstance(InstanceUpdate),
    /// Inserts or updates one step attempt.
    UpsertStepAttempt(StepAttemptWrite),
    /// Draws the next value of a named sequence.
    NextSequence { name: String },
    /// Stores an announced signal with the next sequence id of its name and indexes its params;
    /// a signal whose `instance_id` is already stored for the name is reported, not stored.
    AddSignal(NewSignal),
    /// Creates (`expected_version == 0`) or compare-and-sets the state of a workflow trigger.
    PutTrigger(TriggerWrite),
    /// Removes a workflow trigger's state (no-op when absent).
    DeleteTrigger {
        workflow_id: String,
        trigger_uuid: String,
    },
    /// Creates or replaces a tag permit (a concurrency limit on a tag).
    PutTagPermit(TagPermitRow),
    /// Removes a tag permit; removing one that does not exist is not an error.
    DeleteTagPermit { tag: String },
    /// Creates a step breakpoint, or refreshes its author and time when it exists.
    PutBreakpoint(BreakpointRow),
    /// Removes every breakpoint of a step (`Count` of breakpoints removed); with `resume`, also
    /// every attempt paused at one (`breakpoint_workflow_id`, `step_id`) in the same transaction.
    DeleteBreakpoints {
        workflow_id: String,
        step_id: String,
        resume: bool,
    },
    /// Records an attempt paused at a breakpoint (no-op when recorded already).
    AddPausedAttempt(PausedAttemptRow),
    /// Removes the record of a paused attempt (`Count` 0 when there was none).
    DeletePausedAttempt(StepAttemptKey),
    /// Cluster mode: the batch applies only while ownership group `group_id` still has
    /// `generation` (its owner has not changed since the writer was given the group); otherwise
    /// the whole batch fails with [`crate::StoreError::Fenced`]. Put it first in the batch. The
    /// check holds the group row (a share lock in PostgreSQL) until the batch commits, so a
    /// claim cannot slip in between the check and the commit.
    Fence { group_id: i64, generation: i64 },
}

/// What one [`WriteOp`] produced, in the same position as the op.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// The op had nothing to report.
    Done,
    /// A version was added.
    VersionPut {
        version_id: i64,
        internal_id: i64,
        /// True when this push created the workflow.
        created_workflow: bool,
    },
    /// An instance run was created or found to be a duplicate.
    Instance(CreateInstanceOutcome),
    /// The value drawn from a sequence.
    Sequence(i64),
    /// A signal was stored or found to be a duplicate.
    Signal(AddSignalOutcome),
    /// How many rows the op removed.
    Count(u64),
}

/// An indexed signal param value: the store compares longs numerically and strings bytewise,
/// and never a long with a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignalValue {
    Long(i64),
    String(String),
}

/// A signal to store.
#[derive(Debug, Clone)]
pub struct NewSignal {
    pub name: String,
    /// Deduplication key, unique per name.
    pub instance_id: String,
    /// The signal document (JSON); `seq_id` and `create_time` are re-attached from columns.
    pub instance: String,
    /// Indexed params.
    pub params: Vec<(String, SignalValue)>,
    pub create_ts: i64,
}

/// Result of [`WriteOp::AddSignal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddSignalOutcome {
    /// Stored with this sequence id (1, 2, … per name).
    Created { seq_id: i64 },
    /// A signal with the same instance id exists under this sequence id; nothing was written.
    Duplicated { seq_id: i64 },
}

/// Creates or updates a workflow trigger's state.
#[derive(Debug, Clone)]
pub struct TriggerWrite {
    pub workflow_id: String,
    pub trigger_uuid: String,
    /// `TIME` or `SIGNAL`.
    pub kind: String,
    /// The trigger definition (JSON) the state belongs to.
    pub definition: String,
    /// Engine-owned JSON state.
    pub state: String,
    /// 0 creates the row (conflict if it exists); otherwise the row must have this version
    /// (conflict if not) and gets `expected_version + 1`.
    pub expected_version: i64,
    pub ts: i64,
}

/// The next version of a workflow.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub workflow_id: String,
    /// The latest version id the caller saw (0 for a workflow that does not exist yet). The push
    /// fails with a conflict if another push landed first, so version ids are never reused.
    pub expected_latest_version_id: i64,
    /// JSON `Metadata` of the new version (its `workflow_version_id` is
    /// `expected_latest_version_id + 1`).
    pub metadata: String,
    /// JSON `Workflow`.
    pub definition: String,
    pub trigger_uuids: Option<String>,
    /// Whether the new version becomes the active one.
    pub activate: bool,
    /// JSON `User` recorded as the activator.
    pub activated_by: Option<String>,
    /// A new properties snapshot, when the push changes properties (required on the first push).
    pub properties_snapshot: Option<String>,
    /// JSON `User` and JSON change, recorded in the properties history with the new snapshot.
    pub properties_change: Option<(String, String)>,
    pub ts: i64,
}

/// A new run of a workflow instance.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub workflow_id: String,
    /// `None` allocates the workflow's next instance id (a fresh start). `Some` uses the given id:
    /// a restart (a new run of an existing instance) or an inline foreach/while iteration, whose
    /// instance id is its iteration number.
    pub instance_id: Option<i64>,
    pub run_id: i64,
    /// Deduplication key, unique per workflow: a second create with the same uuid reports the
    /// existing run instead of creating one.
    pub uuid: String,
    /// `None` derives `"<workflow_id>:<instance_id>:<run_id>"` once the id is known.
    pub correlation_id: Option<String>,
    pub initiator_type: String,
    pub depth: i64,
    pub parent: Option<ParentRef>,
    pub group_id: i64,
    pub status: String,
    pub queued: bool,
    pub create_ts: i64,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    /// The immutable `WorkflowInstance` JSON (identity columns are re-attached on read).
    pub instance: String,
    pub timeline: Option<String>,
}

/// Result of [`WriteOp::CreateInstance`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateInstanceOutcome {
    Created {
        instance_id: i64,
        run_id: i64,
        correlation_id: String,
    },
    /// A run with the same uuid exists; nothing was written.
    Duplicated { instance_id: i64, run_id: i64 },
}

/// A change to the mutable columns of a run; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct InstanceUpdate {
    pub key: RunKey,
    /// When set, the update applies only if the current status is one of these (else conflict).
    pub expect_status: Option<Vec<String>>,
    pub status: Option<String>,
    pub queued: Option<bool>,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    pub modify_ts: i64,
    pub runtime_overview: Option<String>,
    pub artifacts: Option<String>,
    pub timeline: Option<String>,
}

/// Inserts or updates a step attempt. On update, `None` columns keep their stored value; an
/// insert needs `instance`.
#[derive(Debug, Clone)]
pub struct StepAttemptWrite {
    pub key: StepAttemptKey,
    pub step_instance_id: i64,
    pub step_uuid: String,
    pub status: String,
    pub create_ts: i64,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    pub modify_ts: i64,
    pub instance: Option<String>,
    pub runtime_state: String,
    pub artifacts: Option<String>,
    pub timeline: Option<String>,
    pub dependencies: Option<String>,
    pub outputs: Option<String>,
}
