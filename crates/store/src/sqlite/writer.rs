//! The single writer thread and its group commit.
//!
//! SQLite allows one writer at a time, and a durable commit costs an fsync. Instead of every
//! caller paying for its own commit, callers queue their batches here; the writer takes every
//! batch that is waiting, applies each inside its own savepoint (so a failing batch is rolled
//! back alone), commits once, and answers all callers. Under load, batches pile up during one
//! commit and share the next, so throughput grows with concurrency while latency stays one
//! commit.

use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::ops::{
    CreateInstanceOutcome, InstanceUpdate, NewInstance, NewVersion, StepAttemptWrite,
};
use crate::{Result, StoreError, WorkflowDeletion, WriteOp, WriteOutcome, instance_floor_key};

struct Request {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<Vec<WriteOutcome>>>,
}

/// What the writer thread is asked to do: a batch for the next group commit, or a workflow
/// deletion, which runs in a transaction of its own (it is rare and may touch many rows).
enum Job {
    Write(Request),
    DeleteWorkflow {
        workflow_id: String,
        reply: oneshot::Sender<Result<WorkflowDeletion>>,
    },
}

/// The callers' side of the writer thread.
pub(crate) struct WriterHandle {
    tx: mpsc::Sender<Job>,
}

impl WriterHandle {
    pub(crate) fn spawn(conn: Connection, max_batch: usize) -> Result<WriterHandle> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("baton-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1)))
            .map_err(|err| StoreError::Database(format!("cannot start writer thread: {err}")))?;
        Ok(WriterHandle { tx })
    }

    pub(crate) async fn submit(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Write(Request { ops, reply }))
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) async fn delete_workflow(&self, workflow_id: &str) -> Result<WorkflowDeletion> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::DeleteWorkflow {
                workflow_id: workflow_id.to_string(),
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Above this size the writer resets the WAL itself (see [`bound_wal`]).
const WAL_RESET_BYTES: u64 = 64 << 20;

fn run(mut conn: Connection, rx: mpsc::Receiver<Job>, max_batch: usize) {
    let wal = conn
        .path()
        .map(|p| std::path::PathBuf::from(format!("{p}-wal")));
    let mut last_check = std::time::Instant::now();
    let mut next: Option<Job> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match first {
            Job::DeleteWorkflow { workflow_id, reply } => {
                let _ = reply.send(delete_workflow(&mut conn, &workflow_id));
            }
            Job::Write(req) => {
                let mut batch = vec![req];
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(Job::Write(req)) => batch.push(req),
                        Ok(other) => {
                            // Commit what came before it, then handle it on its own.
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                commit_batch(&mut conn, batch);
                if last_check.elapsed() >= std::time::Duration::from_secs(1) {
                    last_check = std::time::Instant::now();
                    bound_wal(&conn, wal.as_deref());
                }
            }
        }
    }
}

/// Under a steady stream of commits the background PASSIVE checkpoints copy frames back but
/// never catch up with the end of the WAL, so SQLite never starts it over: the file (and the
/// WAL index mapped into memory) would grow without bound. Once it is large, the writer — the
/// only one who can do it without competing with itself — runs a RESTART checkpoint between
/// two batches: the frames left to copy are few (the background checkpoints did the rest), and
/// the next commit writes the WAL from its start again.
fn bound_wal(conn: &Connection, wal: Option<&std::path::Path>) {
    let Some(wal) = wal else {
        return;
    };
    let large = std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_RESET_BYTES);
    if large && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "sqlite WAL restart failed");
    }
}

/// Deletes a workflow and everything it owns (see `Store::delete_workflow`). Iteration runs of
/// foreach/while steps are found through their parent columns, level by level.
fn delete_workflow(conn: &mut Connection, workflow_id: &str) -> Result<WorkflowDeletion> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let row: Option<(i64, i64)> = tx
        .query_row(
            "SELECT internal_id, latest_instance_id FROM workflow WHERE workflow_id = ?1",
            params![workflow_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((internal_id, latest_instance_id)) = row else {
        return Err(StoreError::NotFound(format!("workflow [{workflow_id}]")));
    };
    let active: i64 = tx.query_row(
        "SELECT COUNT(*) FROM workflow_instance WHERE workflow_id = ?1 \
         AND status IN ('CREATED', 'IN_PROGRESS', 'PAUSED')",
        params![workflow_id],
        |r| r.get(0),
    )?;
    if active > 0 {
        return Err(StoreError::Conflict(format!(
            "workflow [{workflow_id}] still has [{active}] queued or running instance runs"
        )));
    }
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS doomed_run (workflow_id TEXT NOT NULL, instance_id INTEGER NOT NULL, \
         run_id INTEGER NOT NULL, PRIMARY KEY (workflow_id, instance_id, run_id)); DELETE FROM doomed_run;",
    )?;
    tx.execute(
        "INSERT INTO doomed_run SELECT workflow_id, instance_id, run_id FROM workflow_instance WHERE workflow_id = ?1",
        params![workflow_id],
    )?;
    // Iteration runs hang below their parent step's run; nesting is bounded, so a loop of
    // inserts reaches every level.
    loop {
        let added = tx.execute(
            "INSERT OR IGNORE INTO doomed_run SELECT w.workflow_id, w.instance_id, w.run_id FROM workflow_instance w \
             JOIN doomed_run d ON w.parent_workflow_id = d.workflow_id AND w.parent_instance_id = d.instance_id \
             AND w.parent_run_id = d.run_id WHERE w.initiator_type IN ('FOREACH', 'WHILE')",
            [],
        )?;
        if added == 0 {
            break;
        }
    }
    let step_attempts = tx.execute(
        "DELETE FROM step_instance WHERE EXISTS (SELECT 1 FROM doomed_run d WHERE d.workflow_id = \
         step_instance.workflow_id AND d.instance_id = step_instance.workflow_instance_id \
         AND d.run_id = step_instance.workflow_run_id)",
        [],
    )?;
    let runs = tx.execute(
        "DELETE FROM workflow_instance WHERE EXISTS (SELECT 1 FROM doomed_run d WHERE d.workflow_id = \
         workflow_instance.workflow_id AND d.instance_id = workflow_instance.instance_id \
         AND d.run_id = workflow_instance.run_id)",
        [],
    )?;
    // Paused attempts of those runs, and any paused at this workflow's breakpoints.
    tx.execute(
        "DELETE FROM paused_step_attempt WHERE breakpoint_workflow_id = ?1 OR EXISTS (SELECT 1 \
         FROM doomed_run d WHERE d.workflow_id = paused_step_attempt.workflow_id \
         AND d.instance_id = paused_step_attempt.instance_id AND d.run_id = paused_step_attempt.run_id)",
        params![workflow_id],
    )?;
    tx.execute(
        "DELETE FROM step_breakpoint WHERE workflow_id = ?1",
        params![workflow_id],
    )?;
    tx.execute("DELETE FROM doomed_run", [])?;
    let versions = tx.execute(
        "DELETE FROM workflow_version WHERE workflow_id = ?1",
        params![workflow_id],
    )?;
    tx.execute(
        "DELETE FROM workflow_properties WHERE workflow_id = ?1",
        params![workflow_id],
    )?;
    tx.execute(
        "DELETE FROM workflow WHERE workflow_id = ?1",
        params![workflow_id],
    )?;
    // Remember how far instance ids went, so a re-created workflow continues after them.
    tx.execute(
        "INSERT INTO sequence (name, value) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
        params![instance_floor_key(workflow_id), latest_instance_id],
    )?;
    tx.commit()?;
    Ok(WorkflowDeletion {
        internal_id,
        versions: versions as u64,
        runs: runs as u64,
        step_attempts: step_attempts as u64,
    })
}

fn commit_batch(conn: &mut Connection, batch: Vec<Request>) {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            let msg = err.to_string();
            for req in batch {
                let _ = req.reply.send(Err(StoreError::Database(msg.clone())));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut tx = tx;
    for req in batch {
        let outcome = apply_in_savepoint(&mut tx, &req.ops);
        results.push((req.reply, outcome));
    }
    match tx.commit() {
        Ok(()) => {
            for (reply, outcome) in results {
                let _ = reply.send(outcome);
            }
        }
        Err(err) => {
            let msg = err.to_string();
            for (reply, _) in results {
                let _ = reply.send(Err(StoreError::Database(format!("commit failed: {msg}"))));
            }
        }
    }
}

fn apply_in_savepoint(
    tx: &mut rusqlite::Transaction<'_>,
    ops: &[WriteOp],
) -> Result<Vec<WriteOutcome>> {
    let mut sp = tx.savepoint()?;
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        match apply(&sp, op) {
            Ok(outcome) => outcomes.push(outcome),
            Err(err) => {
                // Dropping the savepoint without commit rolls it back.
                sp.rollback()?;
                return Err(err);
            }
        }
    }
    sp.commit()?;
    Ok(outcomes)
}

fn apply(conn: &Connection, op: &WriteOp) -> Result<WriteOutcome> {
    match op {
        WriteOp::PutVersion(v) => put_version(conn, v),
        WriteOp::SetActiveVersion {
            workflow_id,
            version_id,
            activated_by,
            ts,
        } => {
            if *version_id > 0 {
                let exists: Option<i64> = conn
                    .query_row(
                        "SELECT 1 FROM workflow_version WHERE workflow_id = ?1 AND version_id = ?2",
                        params![workflow_id, version_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if exists.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "workflow [{workflow_id}] version [{version_id}]"
                    )));
                }
            }
            let changed = conn.execute(
                "UPDATE workflow SET active_version_id = ?2, activate_ts = CASE WHEN ?2 > 0 THEN ?4 ELSE NULL END, \
                 activated_by = CASE WHEN ?2 > 0 THEN ?3 ELSE NULL END, modify_ts = ?4 WHERE workflow_id = ?1",
                params![workflow_id, version_id, activated_by, ts],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("workflow [{workflow_id}]")));
            }
            Ok(WriteOutcome::Done)
        }
        WriteOp::SetProperties {
            workflow_id,
            expected_snapshot,
            snapshot,
            author,
            change,
            ts,
        } => {
            let changed = conn.execute(
                "UPDATE workflow SET properties_snapshot = ?3, modify_ts = ?4 \
                 WHERE workflow_id = ?1 AND properties_snapshot = ?2",
                params![workflow_id, expected_snapshot, snapshot, ts],
            )?;
            if changed == 0 {
                return Err(StoreError::Conflict(format!(
                    "properties of workflow [{workflow_id}] changed concurrently or it does not exist"
                )));
            }
            insert_properties_change(
                conn,
                workflow_id,
                *ts,
                author,
                change,
                Some(expected_snapshot),
            )?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::CreateInstance(i) => create_instance(conn, i).map(WriteOutcome::Instance),
        WriteOp::UpdateInstance(u) => update_instance(conn, u),
        WriteOp::UpsertStepAttempt(s) => upsert_step_attempt(conn, s),
        WriteOp::NextSequence { name } => {
            let value: i64 = conn.query_row(
                "INSERT INTO sequence (name, value) VALUES (?1, 1) \
                 ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                params![name],
                |r| r.get(0),
            )?;
            Ok(WriteOutcome::Sequence(value))
        }
        WriteOp::AddSignal(s) => super::signals::add_signal(conn, s).map(WriteOutcome::Signal),
        WriteOp::PutTrigger(t) => super::signals::put_trigger(conn, t).map(|()| WriteOutcome::Done),
        WriteOp::DeleteTrigger {
            workflow_id,
            trigger_uuid,
        } => super::signals::delete_trigger(conn, workflow_id, trigger_uuid)
            .map(|()| WriteOutcome::Done),
        WriteOp::PutTagPermit(p) => {
            conn.execute(
                "INSERT INTO tag_permit (tag, max_allowed, timeline, extra_info, create_ts, modify_ts) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (tag) DO UPDATE SET \
                 max_allowed = excluded.max_allowed, timeline = excluded.timeline, \
                 extra_info = excluded.extra_info, modify_ts = excluded.modify_ts",
                params![
                    p.tag,
                    p.max_allowed,
                    p.timeline,
                    p.extra_info,
                    p.create_ts,
                    p.modify_ts
                ],
            )?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::Fence {
            group_id,
            generation,
        } => super::cluster::fence(conn, *group_id, *generation).map(|()| WriteOutcome::Done),
        WriteOp::DeleteTagPermit { tag } => {
            conn.execute("DELETE FROM tag_permit WHERE tag = ?1", params![tag])?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::PutBreakpoint(b) => super::breakpoints::put_breakpoint(conn, b),
        WriteOp::DeleteBreakpoints {
            workflow_id,
            step_id,
            resume,
        } => super::breakpoints::delete_breakpoints(conn, workflow_id, step_id, *resume),
        WriteOp::AddPausedAttempt(p) => super::breakpoints::add_paused(conn, p),
        WriteOp::DeletePausedAttempt(k) => super::breakpoints::delete_paused(conn, k),
    }
}

fn next_sequence(conn: &Connection, name: &str, start: i64) -> Result<i64> {
    Ok(conn.query_row(
        "INSERT INTO sequence (name, value) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        params![name, start],
        |r| r.get(0),
    )?)
}

fn insert_properties_change(
    conn: &Connection,
    workflow_id: &str,
    ts: i64,
    author: &str,
    change: &str,
    previous: Option<&str>,
) -> Result<()> {
    let seq: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_properties WHERE workflow_id = ?1 AND create_time = ?2",
        params![workflow_id, ts],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO workflow_properties (workflow_id, create_time, seq, author, properties_changes, previous_snapshot) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![workflow_id, ts, seq, author, change, previous],
    )?;
    Ok(())
}

fn put_version(conn: &Connection, v: &NewVersion) -> Result<WriteOutcome> {
    let current: Option<(i64, i64, String)> = conn
        .query_row(
            "SELECT latest_version_id, internal_id, properties_snapshot FROM workflow WHERE workflow_id = ?1",
            params![v.workflow_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let latest = current.as_ref().map(|c| c.0).unwrap_or(0);
    if latest != v.expected_latest_version_id {
        return Err(StoreError::Conflict(format!(
            "workflow [{}] has latest version {latest}, expected {}",
            v.workflow_id, v.expected_latest_version_id
        )));
    }
    let version_id = latest + 1;
    conn.execute(
        "INSERT INTO workflow_version (workflow_id, version_id, metadata, definition, trigger_uuids, create_ts) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![v.workflow_id, version_id, v.metadata, v.definition, v.trigger_uuids, v.ts],
    )?;
    let (internal_id, created) = match current {
        Some((_, internal_id, previous_snapshot)) => {
            let snapshot = v
                .properties_snapshot
                .as_deref()
                .unwrap_or(&previous_snapshot);
            conn.execute(
                "UPDATE workflow SET latest_version_id = ?2, properties_snapshot = ?3, modify_ts = ?4, \
                 active_version_id = CASE WHEN ?5 THEN ?2 ELSE active_version_id END, \
                 activate_ts = CASE WHEN ?5 THEN ?4 ELSE activate_ts END, \
                 activated_by = CASE WHEN ?5 THEN ?6 ELSE activated_by END \
                 WHERE workflow_id = ?1",
                params![
                    v.workflow_id,
                    version_id,
                    snapshot,
                    v.ts,
                    v.activate,
                    v.activated_by
                ],
            )?;
            if let (Some(_), Some((author, change))) =
                (&v.properties_snapshot, &v.properties_change)
            {
                insert_properties_change(
                    conn,
                    &v.workflow_id,
                    v.ts,
                    author,
                    change,
                    Some(&previous_snapshot),
                )?;
            }
            (internal_id, false)
        }
        None => {
            let Some(snapshot) = &v.properties_snapshot else {
                return Err(StoreError::Conflict(format!(
                    "workflow [{}] does not exist and the push has no properties",
                    v.workflow_id
                )));
            };
            let internal_id = next_sequence(conn, "workflow_internal_id", 10000)?;
            // A recreated workflow continues the instance ids of the deleted one.
            let latest_instance_id = next_instance_floor(conn, &v.workflow_id)?;
            conn.execute(
                "INSERT INTO workflow (workflow_id, internal_id, active_version_id, latest_version_id, \
                 latest_instance_id, properties_snapshot, activate_ts, activated_by, modify_ts) \
                 VALUES (?1, ?2, CASE WHEN ?3 THEN 1 ELSE 0 END, 1, ?4, ?5, CASE WHEN ?3 THEN ?6 ELSE NULL END, \
                 CASE WHEN ?3 THEN ?7 ELSE NULL END, ?6)",
                params![
                    v.workflow_id,
                    internal_id,
                    v.activate,
                    latest_instance_id,
                    snapshot,
                    v.ts,
                    v.activated_by
                ],
            )?;
            if let Some((author, change)) = &v.properties_change {
                insert_properties_change(conn, &v.workflow_id, v.ts, author, change, None)?;
            }
            (internal_id, true)
        }
    };
    Ok(WriteOutcome::VersionPut {
        version_id,
        internal_id,
        created_workflow: created,
    })
}

/// The highest instance id ever used for this workflow id (instances of a deleted incarnation
/// included), so that a recreated workflow never reuses an instance id.
fn next_instance_floor(conn: &Connection, workflow_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(instance_id) FROM workflow_instance WHERE workflow_id = ?1), 0), \
         COALESCE((SELECT value FROM sequence WHERE name = ?2), 0))",
        params![workflow_id, instance_floor_key(workflow_id)],
        |r| r.get(0),
    )?)
}

fn create_instance(conn: &Connection, i: &NewInstance) -> Result<CreateInstanceOutcome> {
    let existing: Option<(i64, i64)> = conn
        .query_row(
            "SELECT instance_id, run_id FROM workflow_instance WHERE workflow_id = ?1 AND uuid = ?2",
            params![i.workflow_id, i.uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((instance_id, run_id)) = existing {
        return Ok(CreateInstanceOutcome::Duplicated {
            instance_id,
            run_id,
        });
    }
    let instance_id = match i.instance_id {
        Some(id) => id,
        None => conn
            .query_row(
                "UPDATE workflow SET latest_instance_id = latest_instance_id + 1 WHERE workflow_id = ?1 \
                 RETURNING latest_instance_id",
                params![i.workflow_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("workflow [{}]", i.workflow_id)))?,
    };
    let correlation_id = i
        .correlation_id
        .clone()
        .unwrap_or_else(|| format!("{}:{}:{}", i.workflow_id, instance_id, i.run_id));
    let parent = i.parent.as_ref();
    let inserted = conn.execute(
        "INSERT INTO workflow_instance (workflow_id, instance_id, run_id, uuid, correlation_id, initiator_type, depth, \
         parent_workflow_id, parent_instance_id, parent_run_id, parent_step_id, parent_attempt_id, group_id, status, \
         queued, create_ts, start_ts, end_ts, modify_ts, instance, timeline) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?16, ?19, ?20) \
         ON CONFLICT (workflow_id, instance_id, run_id) DO NOTHING",
        params![
            i.workflow_id,
            instance_id,
            i.run_id,
            i.uuid,
            correlation_id,
            i.initiator_type,
            i.depth,
            parent.map(|p| &p.run.workflow_id),
            parent.map(|p| p.run.instance_id),
            parent.map(|p| p.run.run_id),
            parent.map(|p| &p.step_id),
            parent.map(|p| p.attempt_id),
            i.group_id,
            i.status,
            i.queued,
            i.create_ts,
            i.start_ts,
            i.end_ts,
            i.instance,
            i.timeline,
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "workflow [{}] instance [{instance_id}] already has run [{}]",
            i.workflow_id, i.run_id
        )));
    }
    Ok(CreateInstanceOutcome::Created {
        instance_id,
        run_id: i.run_id,
        correlation_id,
    })
}

fn update_instance(conn: &Connection, u: &InstanceUpdate) -> Result<WriteOutcome> {
    if let Some(expected) = &u.expect_status {
        let status: Option<String> = conn
            .query_row(
                "SELECT status FROM workflow_instance WHERE workflow_id = ?1 AND instance_id = ?2 AND run_id = ?3",
                params![u.key.workflow_id, u.key.instance_id, u.key.run_id],
                |r| r.get(0),
            )
            .optional()?;
        match status {
            None => {
                return Err(StoreError::NotFound(format!(
                    "workflow [{}] instance [{}] run [{}]",
                    u.key.workflow_id, u.key.instance_id, u.key.run_id
                )));
            }
            Some(status) if !expected.contains(&status) => {
                return Err(StoreError::Conflict(format!(
                    "workflow [{}] instance [{}] run [{}] is {status}, expected one of {expected:?}",
                    u.key.workflow_id, u.key.instance_id, u.key.run_id
                )));
            }
            Some(_) => {}
        }
    }
    let changed = conn.execute(
        "UPDATE workflow_instance SET status = COALESCE(?4, status), queued = COALESCE(?5, queued), \
         start_ts = COALESCE(?6, start_ts), end_ts = COALESCE(?7, end_ts), modify_ts = ?8, \
         runtime_overview = COALESCE(?9, runtime_overview), artifacts = COALESCE(?10, artifacts), \
         timeline = COALESCE(?11, timeline) \
         WHERE workflow_id = ?1 AND instance_id = ?2 AND run_id = ?3",
        params![
            u.key.workflow_id,
            u.key.instance_id,
            u.key.run_id,
            u.status,
            u.queued,
            u.start_ts,
            u.end_ts,
            u.modify_ts,
            u.runtime_overview,
            u.artifacts,
            u.timeline,
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!(
            "workflow [{}] instance [{}] run [{}]",
            u.key.workflow_id, u.key.instance_id, u.key.run_id
        )));
    }
    Ok(WriteOutcome::Done)
}

fn upsert_step_attempt(conn: &Connection, s: &StepAttemptWrite) -> Result<WriteOutcome> {
    let Some(instance) = &s.instance else {
        // The narrow hot-path update: the document is unchanged.
        let mut stmt = conn.prepare_cached(
            "UPDATE step_instance SET status = ?6, start_ts = COALESCE(?7, start_ts), end_ts = COALESCE(?8, end_ts), \
             modify_ts = ?9, runtime_state = ?10, artifacts = COALESCE(?11, artifacts), \
             timeline = COALESCE(?12, timeline), dependencies = COALESCE(?13, dependencies), \
             outputs = COALESCE(?14, outputs) \
             WHERE workflow_id = ?1 AND workflow_instance_id = ?2 AND workflow_run_id = ?3 AND step_id = ?4 \
             AND step_attempt_id = ?5",
        )?;
        let changed = stmt.execute(params![
            s.key.run.workflow_id,
            s.key.run.instance_id,
            s.key.run.run_id,
            s.key.step_id,
            s.key.attempt_id,
            s.status,
            s.start_ts,
            s.end_ts,
            s.modify_ts,
            s.runtime_state,
            s.artifacts,
            s.timeline,
            s.dependencies,
            s.outputs,
        ])?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "step [{}] attempt [{}] of workflow [{}] instance [{}] run [{}]",
                s.key.step_id,
                s.key.attempt_id,
                s.key.run.workflow_id,
                s.key.run.instance_id,
                s.key.run.run_id
            )));
        }
        return Ok(WriteOutcome::Done);
    };
    let mut stmt = conn.prepare_cached(
        "INSERT INTO step_instance (workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id, \
         step_instance_id, step_uuid, status, create_ts, start_ts, end_ts, modify_ts, instance, runtime_state, \
         artifacts, timeline, dependencies, outputs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
         ON CONFLICT (workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id) DO UPDATE SET \
         status = excluded.status, start_ts = COALESCE(excluded.start_ts, start_ts), \
         end_ts = COALESCE(excluded.end_ts, end_ts), modify_ts = excluded.modify_ts, \
         instance = excluded.instance, runtime_state = excluded.runtime_state, \
         artifacts = COALESCE(excluded.artifacts, artifacts), timeline = COALESCE(excluded.timeline, timeline), \
         dependencies = COALESCE(excluded.dependencies, dependencies), outputs = COALESCE(excluded.outputs, outputs)",
    )?;
    stmt.execute(params![
        s.key.run.workflow_id,
        s.key.run.instance_id,
        s.key.run.run_id,
        s.key.step_id,
        s.key.attempt_id,
        s.step_instance_id,
        s.step_uuid,
        s.status,
        s.create_ts,
        s.start_ts,
        s.end_ts,
        s.modify_ts,
        instance,
        s.runtime_state,
        s.artifacts,
        s.timeline,
        s.dependencies,
        s.outputs,
    ])?;
    Ok(WriteOutcome::Done)
}
