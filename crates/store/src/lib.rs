//! Durable storage behind one [`Store`] trait, with an embedded SQLite backend (the default) and a
//! PostgreSQL backend (clusters).
//!
//! The store knows the *shape* of Baton's data — which rows exist, which columns are mutable, which
//! keys are unique — but none of the engine's rules. Documents (definitions, instances, step
//! attempts) travel as JSON text that the engine composes; the columns that queries filter or sort
//! on (ids, status, timestamps) are first-class. That keeps hot writes narrow: a step transition
//! updates a handful of small columns, not a whole instance document.
//!
//! Writes go through [`Store::write`], which applies a batch of [`WriteOp`]s atomically. Backends
//! share the cost of a commit between concurrent callers (group commit): many actors' batches land
//! in one transaction, each isolated by a savepoint so that one failing batch does not fail the
//! others.

mod error;
mod ops;
mod rows;
pub mod sqlite;

pub use error::StoreError;
pub use ops::{
    CreateInstanceOutcome, InstanceUpdate, NewInstance, NewVersion, StepAttemptWrite, WriteOp,
    WriteOutcome,
};
pub use rows::{
    InstanceKey, InstanceRow, ParentRef, RunKey, StepAttemptKey, StepAttemptRow, TagPermitRow,
    VersionRow, WorkflowRow,
};

use async_trait::async_trait;

/// Result alias for store calls.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Durable storage for workflows, versions, instances and step attempts.
///
/// Every method is safe to call from many tasks at once. Reads see every write whose
/// [`Store::write`] call has returned.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies `ops` atomically, in order, and returns one outcome per op. Either all ops take
    /// effect or none does.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>>;

    /// A short human description of the backend and its durability settings (for `baton bench`).
    fn describe(&self) -> String;

    /// The workflow row, if the workflow exists.
    async fn get_workflow(&self, workflow_id: &str) -> Result<Option<WorkflowRow>>;

    /// Workflow rows in id order, starting after `after` (exclusive), at most `limit` of them.
    async fn list_workflows(&self, after: Option<&str>, limit: usize) -> Result<Vec<WorkflowRow>>;

    /// One version of a workflow.
    async fn get_version(&self, workflow_id: &str, version_id: i64) -> Result<Option<VersionRow>>;

    /// Versions of a workflow, newest first, with `version_id < before` when given.
    async fn list_versions(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>>;

    /// One run of an instance, or its latest run when `run_id` is `None`.
    async fn get_instance_run(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
    ) -> Result<Option<InstanceRow>>;

    /// Every run of an instance, oldest first.
    async fn list_instance_runs(
        &self,
        workflow_id: &str,
        instance_id: i64,
    ) -> Result<Vec<InstanceRow>>;

    /// The latest run of each instance of a workflow, newest instance first, with
    /// `instance_id < before` when given.
    async fn list_instances(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>>;

    /// Every run that is not terminal (`CREATED`, `IN_PROGRESS`, `PAUSED`), in creation order:
    /// what the engine must resume after a restart.
    async fn list_active_runs(&self) -> Result<Vec<InstanceRow>>;

    /// Runs of one workflow that wait in the run-strategy queue, oldest instance first.
    async fn list_queued_runs(&self, workflow_id: &str, limit: usize) -> Result<Vec<InstanceRow>>;

    /// How many runs of a workflow have left the queue and are not terminal yet.
    async fn count_running_runs(&self, workflow_id: &str) -> Result<i64>;

    /// Every attempt of every step of one run, ordered by step instance id then attempt.
    async fn list_step_attempts(&self, run: &RunKey) -> Result<Vec<StepAttemptRow>>;

    /// Attempts of one step in one run, oldest first.
    async fn list_attempts_of_step(
        &self,
        run: &RunKey,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>>;

    /// A fresh value of a store-wide sequence (e.g. for `params.nextUniqueId()`).
    async fn next_sequence_value(&self, name: &str) -> Result<i64>;

    /// Runs of a workflow whose raw status is one of `statuses` and, when `queued` is given,
    /// whose queued flag is that; ordered by instance id then run id, at most `limit`.
    async fn list_runs_with_status(
        &self,
        workflow_id: &str,
        statuses: &[String],
        queued: Option<bool>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>>;

    /// The latest attempt (highest run, then highest attempt) of one step in every instance of a
    /// workflow, ordered by instance id.
    async fn list_latest_step_attempts(
        &self,
        workflow_id: &str,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>>;

    /// One tag permit.
    async fn get_tag_permit(&self, tag: &str) -> Result<Option<TagPermitRow>>;

    /// Every tag permit, ordered by tag.
    async fn list_tag_permits(&self) -> Result<Vec<TagPermitRow>>;
}
