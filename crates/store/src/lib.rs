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

pub mod cluster;
mod error;
mod ops;
pub mod postgres;
mod rows;
pub mod signal_codec;
pub mod sqlite;

pub use cluster::{GroupLease, NodeHeartbeat, NodeInfo};
pub use error::StoreError;
pub use ops::{
    AddSignalOutcome, CreateInstanceOutcome, InstanceUpdate, NewInstance, NewSignal, NewVersion,
    SignalValue, StepAttemptWrite, TriggerWrite, WriteOp, WriteOutcome,
};
pub use rows::{
    BreakpointRow, CompareOp, InstanceKey, InstanceRow, ParentRef, PausedAttemptRow, RunKey,
    SignalCondition, SignalQuery, SignalRow, StepAttemptKey, StepAttemptRow, TagPermitRow,
    TriggerRow, VersionRow, WorkflowDeletion, WorkflowRow,
};

use std::sync::Arc;

use async_trait::async_trait;

/// The sequence row holding the highest instance id of deleted incarnations of a workflow, so
/// that a workflow created again with the same id continues after them (both backends).
pub(crate) fn instance_floor_key(workflow_id: &str) -> String {
    format!("deleted_workflow_instance_floor/{workflow_id}")
}

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

    /// How many runs of a workflow are in each raw status (`FAILED_1`/`FAILED_2` kept apart),
    /// for the workflow overview. The default walks the instance lists; backends answer it with
    /// one query.
    async fn count_runs_by_status(&self, workflow_id: &str) -> Result<Vec<(String, i64)>> {
        let mut counts: Vec<(String, i64)> = Vec::new();
        let mut before = None;
        loop {
            let page = self.list_instances(workflow_id, before, 200).await?;
            let Some(last) = page.last() else { break };
            before = Some(last.key.instance_id);
            for instance in &page {
                for run in self
                    .list_instance_runs(workflow_id, instance.key.instance_id)
                    .await?
                {
                    match counts.iter_mut().find(|(s, _)| *s == run.status) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((run.status, 1)),
                    }
                }
            }
        }
        Ok(counts)
    }

    /// The lowest and highest instance ids a workflow has, if it has instances (the bounds of
    /// Maestro's id-ranged pagination). The default walks the instance list.
    async fn instance_id_range(&self, workflow_id: &str) -> Result<Option<(i64, i64)>> {
        let Some(latest) = self.list_instances(workflow_id, None, 1).await?.pop() else {
            return Ok(None);
        };
        let high = latest.key.instance_id;
        let mut low = high;
        loop {
            let page = self.list_instances(workflow_id, Some(low), 200).await?;
            match page.last() {
                Some(row) => low = row.key.instance_id,
                None => break,
            }
        }
        Ok(Some((low, high)))
    }
    /// Deletes a workflow and everything it owns in one transaction: its row, versions,
    /// properties history, every run (with the foreach/while iteration runs below them) and
    /// every step attempt of those runs. Refused with [`StoreError::Conflict`] while any run of
    /// the workflow is `CREATED`, `IN_PROGRESS` or `PAUSED`; [`StoreError::NotFound`] when the
    /// workflow does not exist. A workflow later created with the same id continues its
    /// instance ids after the deleted ones.
    ///
    /// The default refuses: a backend must implement it to support deletion.
    async fn delete_workflow(&self, workflow_id: &str) -> Result<WorkflowDeletion> {
        Err(StoreError::Database(format!(
            "this store backend ({}) cannot delete workflow [{workflow_id}] yet",
            self.describe()
        )))
    }

    /// Every run of one ownership group that is not terminal, parents before children (by
    /// depth, then creation): what a node resumes when it takes the group over. The default
    /// filters [`Store::list_active_runs`].
    async fn list_active_runs_in_group(&self, group_id: i64) -> Result<Vec<InstanceRow>> {
        let mut runs = self.list_active_runs().await?;
        runs.retain(|r| r.group_id == group_id);
        Ok(runs)
    }

    /// Enters the cluster: makes sure groups `0..groups` exist, gives up every group a previous
    /// incarnation of `node` still owns (its actors are gone, so the next claim must bump the
    /// generation), and records the node's lease.
    ///
    /// The cluster calls default to an error: a backend must implement them to run in a
    /// cluster (both built-in backends do).
    async fn join_cluster(&self, node: &NodeInfo, groups: i64, lease_ms: i64) -> Result<()> {
        let _ = (node, groups, lease_ms);
        Err(self.no_cluster())
    }

    /// Renews the node's lease to the database's now + `lease_ms`, and reports how many nodes
    /// are alive and which groups this node still owns (a group claimed by another node is
    /// missing from the list: its actors here must stop).
    async fn heartbeat_node(&self, node: &NodeInfo, lease_ms: i64) -> Result<NodeHeartbeat> {
        let _ = (node, lease_ms);
        Err(self.no_cluster())
    }

    /// Claims up to `max` groups that have no owner or whose owner's lease expired, each with
    /// its generation + 1, lowest group ids first. Concurrent claimers never get the same group
    /// (row locks, skipped when taken).
    async fn claim_groups(&self, node: &NodeInfo, max: usize) -> Result<Vec<GroupLease>> {
        let _ = (node, max);
        Err(self.no_cluster())
    }

    /// Gives a group up (graceful hand-off): false when the node no longer held it with that
    /// generation.
    async fn release_group(&self, node_id: &str, group_id: i64, generation: i64) -> Result<bool> {
        let _ = (node_id, group_id, generation);
        Err(self.no_cluster())
    }

    /// Leaves the cluster: releases every group of the node and drops its lease.
    async fn leave_cluster(&self, node_id: &str) -> Result<()> {
        let _ = node_id;
        Err(self.no_cluster())
    }

    /// Every group with its owner, by group id.
    async fn list_groups(&self) -> Result<Vec<GroupLease>> {
        Err(self.no_cluster())
    }

    /// Tells every process listening on this store ([`Store::listen`]) about `message` (at
    /// most a few kilobytes; PostgreSQL delivers it with NOTIFY). A wake-up, not data: the
    /// receivers re-read the store. The default tells nobody (a single-process store).
    async fn notify(&self, message: &str) -> Result<()> {
        let _ = message;
        Ok(())
    }

    /// The messages [`Store::notify`] sends from any process, as they arrive, or `None` when
    /// the backend has no cross-process notifications. An empty message means some may have
    /// been lost (the listener reconnected): re-check everything.
    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        Ok(None)
    }

    /// The error of a cluster call on a backend without cluster support.
    fn no_cluster(&self) -> StoreError {
        StoreError::Database(format!(
            "this store backend ({}) cannot run in a cluster",
            self.describe()
        ))
    }

    /// One signal of a name by sequence id, or the latest one when `seq_id` is `None`.
    async fn get_signal(&self, name: &str, seq_id: Option<i64>) -> Result<Option<SignalRow>>;

    /// Signals of one name matching every condition, lowest sequence ids first.
    async fn find_signals(&self, query: &SignalQuery) -> Result<Vec<SignalRow>>;

    /// Trigger states, of one workflow or of all, ordered by workflow id then trigger uuid.
    async fn list_triggers(&self, workflow_id: Option<&str>) -> Result<Vec<TriggerRow>>;

    /// Step breakpoints of one workflow's step, or of all (`None`s), ordered by workflow id,
    /// step id, then version, instance, run and attempt.
    async fn list_breakpoints(
        &self,
        workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<BreakpointRow>>;

    /// Paused attempts by the workflow their breakpoint is on and step (`None` = any), ordered
    /// by workflow id, instance, run, step, attempt.
    async fn list_paused_attempts(
        &self,
        breakpoint_workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<PausedAttemptRow>>;

    /// The paused attempts of one run (for recovery: an attempt without a row was resumed).
    async fn list_paused_attempts_of_run(&self, run: &RunKey) -> Result<Vec<PausedAttemptRow>>;
}

/// Opens the store named by `url_or_path` with default options: PostgreSQL for a
/// `postgres://` or `postgresql://` URL (`?schema=name` puts the tables in that schema, created
/// if missing), SQLite for a `sqlite://path` URL or a plain file path (created if missing).
/// Migrations run before it returns.
pub async fn open(url_or_path: &str) -> Result<Arc<dyn Store>> {
    match Location::parse(url_or_path)? {
        Location::Postgres(url) => Ok(Arc::new(
            postgres::PgStore::connect(url, postgres::PgOptions::default()).await?,
        )),
        Location::Sqlite(path) => {
            let path = path.to_string();
            let store = tokio::task::spawn_blocking(move || {
                sqlite::SqliteStore::open(path, sqlite::SqliteOptions::default())
            })
            .await
            .map_err(|err| {
                StoreError::Database(format!("opening the SQLite store failed: {err}"))
            })??;
            Ok(Arc::new(store))
        }
    }
}
/// Where [`open`] finds the store.
#[derive(Debug, PartialEq, Eq)]
enum Location<'a> {
    Postgres(&'a str),
    Sqlite(&'a str),
}
impl<'a> Location<'a> {
    fn parse(url_or_path: &'a str) -> Result<Location<'a>> {
        if url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://") {
            return Ok(Location::Postgres(url_or_path));
        }
        if let Some(path) = url_or_path.strip_prefix("sqlite://") {
            return Self::sqlite(path, url_or_path);
        }
        if let Some((scheme, _)) = url_or_path.split_once("://") {
            return Err(StoreError::Database(format!(
                "unsupported database URL scheme {scheme:?}: use postgres://, postgresql://, \
                 sqlite:// or a file path"
            )));
        }
        Self::sqlite(url_or_path, url_or_path)
    }
    fn sqlite(path: &'a str, given: &str) -> Result<Location<'a>> {
        if path.is_empty() {
            return Err(StoreError::Database(format!(
                "{given:?} names no database file"
            )));
        }
        Ok(Location::Sqlite(path))
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn locations_pick_the_backend() {
        assert_eq!(
            Location::parse("postgres://u@h:5432/db").unwrap(),
            Location::Postgres("postgres://u@h:5432/db")
        );
        assert_eq!(
            Location::parse("postgresql://h/db").unwrap(),
            Location::Postgres("postgresql://h/db")
        );
        assert_eq!(
            Location::parse("sqlite:///var/baton.db").unwrap(),
            Location::Sqlite("/var/baton.db")
        );
        assert_eq!(
            Location::parse("sqlite://baton.db").unwrap(),
            Location::Sqlite("baton.db")
        );
        assert_eq!(
            Location::parse("data/baton.db").unwrap(),
            Location::Sqlite("data/baton.db")
        );
        assert!(Location::parse("mysql://h/db").is_err());
        assert!(Location::parse("sqlite://").is_err());
        assert!(Location::parse("").is_err());
    }
}
