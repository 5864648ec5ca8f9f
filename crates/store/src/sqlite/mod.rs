//! The embedded SQLite backend: one file, WAL, no set-up.
//!
//! One writer thread owns the only write connection and applies callers' batches in group
//! commits (see [`writer`]); reads run on a small pool of read connections on tokio's blocking
//! threads. WAL lets readers proceed while the writer commits, and a reader always sees every
//! batch whose `write` call has returned.

mod breakpoints;
mod cluster;
mod migrations;
mod read;
mod signals;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::Connection;

use crate::{
    InstanceRow, Result, RunKey, SignalQuery, SignalRow, StepAttemptRow, Store, StoreError,
    TagPermitRow, TriggerRow, VersionRow, WorkflowDeletion, WorkflowRow, WriteOp, WriteOutcome,
};

/// How hard SQLite works to keep a commit on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: every commit is on disk before `write` returns (the default).
    Full,
    /// `synchronous=NORMAL`: WAL is synced at checkpoints only; a power loss can drop the last
    /// commits, a process crash cannot.
    Normal,
}

/// Options for [`SqliteStore::open`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// Read connections in the pool.
    pub readers: usize,
    /// The most callers' batches folded into one transaction.
    pub max_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            readers: 4,
            max_batch: 512,
        }
    }
}

/// The SQLite store. Cheap to clone; all clones share the writer and the read pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: SqliteOptions,
    writer: writer::WriterHandle,
    readers: Mutex<Vec<Connection>>,
    /// Dropping it stops the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and runs pending migrations.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut conn = open_connection(&path, options.durability)?;
        migrations::run(&mut conn)?;
        // Checkpoints run on their own thread so that a commit never pays for one.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let checkpointer = spawn_checkpointer(&path, options.durability)?;
        let writer = writer::WriterHandle::spawn(conn, options.max_batch)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                options,
                writer,
                readers: Mutex::new(Vec::new()),
                _checkpointer: checkpointer,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled read connection on a blocking thread.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.readers.lock().ok().and_then(|mut pool| pool.pop()) {
                Some(conn) => conn,
                None => open_connection(&inner.path, inner.options.durability)?,
            };
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < inner.options.readers
            {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|err| StoreError::Database(format!("read task failed: {err}")))?
    }
}

/// Copies the WAL back into the database file in the background (PASSIVE: it never blocks the
/// writer or readers), every quarter second while the store is open.
fn spawn_checkpointer(path: &Path, durability: Durability) -> Result<std::sync::mpsc::Sender<()>> {
    let conn = open_connection(path, durability)?;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("baton-sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(std::time::Duration::from_millis(250))
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "sqlite checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Database(format!("cannot start checkpoint thread: {e}")))?;
    Ok(tx)
}

fn open_connection(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; \
         PRAGMA temp_store=MEMORY; PRAGMA cache_size=-2000;"
    ))?;
    Ok(conn)
}

#[async_trait]
impl Store for SqliteStore {
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.inner.writer.submit(ops).await
    }

    fn describe(&self) -> String {
        let sync = match self.inner.options.durability {
            Durability::Full => "synchronous=FULL",
            Durability::Normal => "synchronous=NORMAL",
        };
        format!(
            "sqlite file {} (WAL, {sync}, group commit up to {} batches)",
            self.inner.path.display(),
            self.inner.options.max_batch
        )
    }

    async fn get_workflow(&self, workflow_id: &str) -> Result<Option<WorkflowRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::workflow(c, &id)).await
    }

    async fn list_workflows(&self, after: Option<&str>, limit: usize) -> Result<Vec<WorkflowRow>> {
        let after = after.map(str::to_string);
        self.read(move |c| read::workflows(c, after.as_deref(), limit))
            .await
    }

    async fn get_version(&self, workflow_id: &str, version_id: i64) -> Result<Option<VersionRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::version(c, &id, version_id)).await
    }

    async fn list_versions(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::versions(c, &id, before, limit))
            .await
    }

    async fn get_instance_run(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
    ) -> Result<Option<InstanceRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::instance_run(c, &id, instance_id, run_id))
            .await
    }

    async fn list_instance_runs(
        &self,
        workflow_id: &str,
        instance_id: i64,
    ) -> Result<Vec<InstanceRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::instance_runs(c, &id, instance_id))
            .await
    }

    async fn list_instances(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::instances(c, &id, before, limit))
            .await
    }

    async fn list_active_runs(&self) -> Result<Vec<InstanceRow>> {
        self.read(read::active_runs).await
    }

    async fn list_queued_runs(&self, workflow_id: &str, limit: usize) -> Result<Vec<InstanceRow>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::queued_runs(c, &id, limit)).await
    }

    async fn count_running_runs(&self, workflow_id: &str) -> Result<i64> {
        let id = workflow_id.to_string();
        self.read(move |c| read::count_running(c, &id)).await
    }

    async fn list_step_attempts(&self, run: &RunKey) -> Result<Vec<StepAttemptRow>> {
        let run = run.clone();
        self.read(move |c| read::step_attempts(c, &run, None)).await
    }

    async fn list_attempts_of_step(
        &self,
        run: &RunKey,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>> {
        let run = run.clone();
        let step = step_id.to_string();
        self.read(move |c| read::step_attempts(c, &run, Some(&step)))
            .await
    }

    async fn count_runs_by_status(&self, workflow_id: &str) -> Result<Vec<(String, i64)>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::count_by_status(c, &id)).await
    }

    async fn instance_id_range(&self, workflow_id: &str) -> Result<Option<(i64, i64)>> {
        let id = workflow_id.to_string();
        self.read(move |c| read::instance_id_range(c, &id)).await
    }

    async fn delete_workflow(&self, workflow_id: &str) -> Result<WorkflowDeletion> {
        self.inner.writer.delete_workflow(workflow_id).await
    }

    async fn next_sequence_value(&self, name: &str) -> Result<i64> {
        let outcome = self
            .write(vec![WriteOp::NextSequence {
                name: name.to_string(),
            }])
            .await?;
        match outcome.first() {
            Some(WriteOutcome::Sequence(v)) => Ok(*v),
            other => Err(StoreError::Database(format!(
                "sequence write returned {other:?}"
            ))),
        }
    }

    async fn list_active_runs_in_group(&self, group_id: i64) -> Result<Vec<InstanceRow>> {
        self.read(move |c| cluster::active_runs_in_group(c, group_id))
            .await
    }

    async fn join_cluster(&self, node: &crate::NodeInfo, groups: i64, lease_ms: i64) -> Result<()> {
        let node = node.clone();
        self.read(move |c| cluster::join(c, &node, groups, lease_ms))
            .await
    }

    async fn heartbeat_node(
        &self,
        node: &crate::NodeInfo,
        lease_ms: i64,
    ) -> Result<crate::NodeHeartbeat> {
        let node = node.clone();
        self.read(move |c| cluster::heartbeat(c, &node, lease_ms))
            .await
    }

    async fn claim_groups(
        &self,
        node: &crate::NodeInfo,
        max: usize,
    ) -> Result<Vec<crate::GroupLease>> {
        let node = node.clone();
        self.read(move |c| cluster::claim(c, &node, max)).await
    }

    async fn release_group(&self, node_id: &str, group_id: i64, generation: i64) -> Result<bool> {
        let node_id = node_id.to_string();
        self.read(move |c| cluster::release(c, &node_id, group_id, generation))
            .await
    }

    async fn leave_cluster(&self, node_id: &str) -> Result<()> {
        let node_id = node_id.to_string();
        self.read(move |c| cluster::leave(c, &node_id)).await
    }

    async fn list_groups(&self) -> Result<Vec<crate::GroupLease>> {
        self.read(cluster::list_groups).await
    }

    async fn get_signal(&self, name: &str, seq_id: Option<i64>) -> Result<Option<SignalRow>> {
        let name = name.to_string();
        self.read(move |c| signals::get_signal(c, &name, seq_id))
            .await
    }

    async fn find_signals(&self, query: &SignalQuery) -> Result<Vec<SignalRow>> {
        let query = query.clone();
        self.read(move |c| signals::find_signals(c, &query)).await
    }

    async fn list_triggers(&self, workflow_id: Option<&str>) -> Result<Vec<TriggerRow>> {
        let id = workflow_id.map(str::to_string);
        self.read(move |c| signals::list_triggers(c, id.as_deref()))
            .await
    }

    async fn list_runs_with_status(
        &self,
        workflow_id: &str,
        statuses: &[String],
        queued: Option<bool>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>> {
        let id = workflow_id.to_string();
        let statuses = statuses.to_vec();
        self.read(move |c| read::runs_with_status(c, &id, &statuses, queued, limit))
            .await
    }

    async fn list_latest_step_attempts(
        &self,
        workflow_id: &str,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>> {
        let id = workflow_id.to_string();
        let step = step_id.to_string();
        self.read(move |c| read::latest_step_attempts(c, &id, &step))
            .await
    }

    async fn get_tag_permit(&self, tag: &str) -> Result<Option<TagPermitRow>> {
        let tag = tag.to_string();
        self.read(move |c| read::tag_permit(c, &tag)).await
    }

    async fn list_tag_permits(&self) -> Result<Vec<TagPermitRow>> {
        self.read(read::tag_permits).await
    }

    async fn list_breakpoints(
        &self,
        workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<crate::BreakpointRow>> {
        let (w, s) = (workflow_id.map(str::to_string), step_id.map(str::to_string));
        self.read(move |c| breakpoints::list_breakpoints(c, w.as_deref(), s.as_deref()))
            .await
    }

    async fn list_paused_attempts(
        &self,
        breakpoint_workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<crate::PausedAttemptRow>> {
        let (w, s) = (
            breakpoint_workflow_id.map(str::to_string),
            step_id.map(str::to_string),
        );
        self.read(move |c| breakpoints::list_paused(c, w.as_deref(), s.as_deref()))
            .await
    }

    async fn list_paused_attempts_of_run(
        &self,
        run: &RunKey,
    ) -> Result<Vec<crate::PausedAttemptRow>> {
        let run = run.clone();
        self.read(move |c| breakpoints::list_paused_of_run(c, &run))
            .await
    }
}
