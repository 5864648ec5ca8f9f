//! Applying write ops inside the writer's open transaction.
//!
//! The hot-path ops (step-attempt upserts, run updates and creations, sequence draws, signals,
//! trigger states, tag permits) are each one statement: [`bind`] gives the statement and its
//! parameters and [`interpret`] reads its rows into the op's outcome, so the writer can send
//! many of them back to back. When such an op's check fails, its statement has written nothing.
//! The rare workflow-level ops (a push, an activation, a properties change) are short statement
//! sequences run by [`apply_batch`].

use std::future::Future;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use super::statements::Statements;
use crate::ops::{
    AddSignalOutcome, CreateInstanceOutcome, InstanceUpdate, NewInstance, NewVersion,
    StepAttemptWrite,
};
use crate::{Result, StoreError, WriteOp, WriteOutcome, instance_floor_key, signal_codec};

/// Why a batch did not apply.
pub(crate) enum Failure {
    /// This batch failed; rolling back to its savepoint undoes it, the others go on.
    Batch(StoreError),
    /// The transaction itself failed; every batch in it fails.
    Transaction(StoreError),
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::Batch(err)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Self {
        Failure::Batch(err.into())
    }
}

pub(crate) type Applied<T> = std::result::Result<T, Failure>;

type Param<'a> = &'a (dyn ToSql + Sync);

/// A parameter reference, typed for a parameter list.
fn p<T: ToSql + Sync>(value: &T) -> Param<'_> {
    value
}

/// The writer's view of its open transaction when it applies batches one at a time, each in a
/// savepoint.
pub(crate) struct Tx<'c> {
    pub(crate) client: &'c Client,
    pub(crate) st: &'c Statements,
    /// Transaction and savepoint commands not sent yet: they go out with the batch's first
    /// statement. `None` once the batch has run a statement (and so holds a savepoint).
    prefix: Option<&'static str>,
    /// `BEGIN` has been sent.
    pub(crate) began: bool,
    /// The savepoint `batch` exists (it outlives a rollback to it).
    savepoint: bool,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(client: &'c Client, st: &'c Statements) -> Tx<'c> {
        Tx {
            client,
            st,
            prefix: None,
            began: false,
            savepoint: false,
        }
    }

    pub(crate) fn start_batch(&mut self) {
        self.prefix = Some(if !self.began {
            "BEGIN; SAVEPOINT batch"
        } else if self.savepoint {
            "RELEASE SAVEPOINT batch; SAVEPOINT batch"
        } else {
            "SAVEPOINT batch"
        });
    }

    /// Undoes the current batch, if it wrote anything.
    pub(crate) async fn rollback_batch(
        &mut self,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        match self.prefix.take() {
            Some(_) => Ok(()),
            None => {
                self.client
                    .batch_execute("ROLLBACK TO SAVEPOINT batch")
                    .await
            }
        }
    }

    /// Awaits one statement, sending the pending prefix ahead of it in the same pipeline.
    async fn run<T, F>(&mut self, statement: F) -> Applied<T>
    where
        F: Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    {
        let Some(prefix) = self.prefix.take() else {
            return Ok(statement.await?);
        };
        let client = self.client;
        // `biased` polls the prefix first, so it is written to the socket first.
        let (sent, result) = tokio::join!(biased; client.batch_execute(prefix), statement);
        self.began = true;
        if let Err(err) = sent {
            return Err(Failure::Transaction(err.into()));
        }
        self.savepoint = true;
        Ok(result?)
    }

    async fn query(&mut self, statement: &Statement, params: &[Param<'_>]) -> Applied<Vec<Row>> {
        let client = self.client;
        self.run(client.query(statement, params)).await
    }

    async fn query_opt(
        &mut self,
        statement: &Statement,
        params: &[Param<'_>],
    ) -> Applied<Option<Row>> {
        Ok(self.query(statement, params).await?.into_iter().next())
    }

    async fn query_one(&mut self, statement: &Statement, params: &[Param<'_>]) -> Applied<Row> {
        Ok(one_row(self.query(statement, params).await?)?)
    }

    async fn execute(&mut self, statement: &Statement, params: &[Param<'_>]) -> Applied<u64> {
        let client = self.client;
        self.run(client.execute(statement, params)).await
    }
}

fn one_row(rows: Vec<Row>) -> Result<Row> {
    rows.into_iter().next().ok_or_else(|| {
        StoreError::Database("a statement that always returns a row returned none".to_string())
    })
}

/// Values an op's statement needs that the op does not hold as such (a run's parent columns,
/// a signal's param arrays and counter row), held where a bound statement's parameters can
/// point at them.
#[derive(Default)]
pub(crate) struct OpColumns<'a> {
    workflow_id: Option<&'a str>,
    instance_id: Option<i64>,
    run_id: Option<i64>,
    step_id: Option<&'a str>,
    attempt_id: Option<i64>,
    param_names: Vec<&'a str>,
    param_values: Vec<String>,
    signal_counter: String,
}

impl<'a> OpColumns<'a> {
    pub(crate) fn of(op: &'a WriteOp) -> OpColumns<'a> {
        match op {
            WriteOp::CreateInstance(NewInstance {
                parent: Some(parent),
                ..
            }) => OpColumns {
                workflow_id: Some(&parent.run.workflow_id),
                instance_id: Some(parent.run.instance_id),
                run_id: Some(parent.run.run_id),
                step_id: Some(&parent.step_id),
                attempt_id: Some(parent.attempt_id),
                ..OpColumns::default()
            },
            WriteOp::AddSignal(signal) => OpColumns {
                param_names: signal
                    .params
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect(),
                param_values: signal
                    .params
                    .iter()
                    .map(|(_, value)| signal_codec::encode(value))
                    .collect(),
                signal_counter: signal_counter_key(&signal.name),
                ..OpColumns::default()
            },
            _ => OpColumns::default(),
        }
    }
}

/// The `sequence` row that numbers the signals of a name.
fn signal_counter_key(name: &str) -> String {
    format!("signal_seq_id/{name}")
}

/// An op bound to its one statement.
pub(crate) struct Bound<'a> {
    pub(crate) statement: &'a Statement,
    pub(crate) params: Vec<Param<'a>>,
}

/// Whether the op is one statement (see [`bind`]).
pub(crate) fn is_simple(op: &WriteOp) -> bool {
    !matches!(
        op,
        WriteOp::PutVersion(_) | WriteOp::SetActiveVersion { .. } | WriteOp::SetProperties { .. }
    )
}

/// The statement of a one-statement op and its parameters; `None` for the other ops. `parent`
/// is `OpColumns::of(op)`.
pub(crate) fn bind<'a>(
    st: &'a Statements,
    op: &'a WriteOp,
    parent: &'a OpColumns<'a>,
) -> Option<Bound<'a>> {
    let (statement, params) = match op {
        WriteOp::AddSignal(s) => (
            &st.add_signal,
            vec![
                p(&s.name),
                p(&s.instance_id),
                p(&s.instance),
                p(&s.create_ts),
                p(&parent.param_names),
                p(&parent.param_values),
                p(&parent.signal_counter),
            ],
        ),
        WriteOp::PutTrigger(t) if t.expected_version == 0 => (
            &st.create_trigger,
            vec![
                p(&t.workflow_id),
                p(&t.trigger_uuid),
                p(&t.kind),
                p(&t.definition),
                p(&t.state),
                p(&t.ts),
            ],
        ),
        WriteOp::PutTrigger(t) => (
            &st.update_trigger,
            vec![
                p(&t.workflow_id),
                p(&t.trigger_uuid),
                p(&t.kind),
                p(&t.definition),
                p(&t.state),
                p(&t.ts),
                p(&t.expected_version),
            ],
        ),
        WriteOp::DeleteTrigger {
            workflow_id,
            trigger_uuid,
        } => (&st.delete_trigger, vec![p(workflow_id), p(trigger_uuid)]),
        WriteOp::PutTagPermit(t) => (
            &st.put_tag_permit,
            vec![
                p(&t.tag),
                p(&t.max_allowed),
                p(&t.timeline),
                p(&t.extra_info),
                p(&t.create_ts),
                p(&t.modify_ts),
            ],
        ),
        WriteOp::DeleteTagPermit { tag } => (&st.delete_tag_permit, vec![p(tag)]),
        WriteOp::PutBreakpoint(b) => (
            &st.put_breakpoint,
            vec![
                p(&b.workflow_id),
                p(&b.step_id),
                p(&b.version),
                p(&b.instance_id),
                p(&b.run_id),
                p(&b.attempt_id),
                p(&b.created_by),
                p(&b.create_ts),
            ],
        ),
        WriteOp::DeleteBreakpoints {
            workflow_id,
            step_id,
            resume,
        } => (
            &st.delete_breakpoints,
            vec![p(workflow_id), p(step_id), p(resume)],
        ),
        WriteOp::AddPausedAttempt(a) => (
            &st.add_paused,
            vec![
                p(&a.key.run.workflow_id),
                p(&a.key.run.instance_id),
                p(&a.key.run.run_id),
                p(&a.key.step_id),
                p(&a.key.attempt_id),
                p(&a.breakpoint_workflow_id),
                p(&a.version),
                p(&a.create_ts),
            ],
        ),
        WriteOp::DeletePausedAttempt(k) => (
            &st.delete_paused,
            vec![
                p(&k.run.workflow_id),
                p(&k.run.instance_id),
                p(&k.run.run_id),
                p(&k.step_id),
                p(&k.attempt_id),
            ],
        ),
        WriteOp::CreateInstance(i) => (
            &st.create_instance,
            vec![
                p(&i.workflow_id),
                p(&i.uuid),
                p(&i.instance_id),
                p(&i.run_id),
                p(&i.correlation_id),
                p(&i.initiator_type),
                p(&i.depth),
                p(&parent.workflow_id),
                p(&parent.instance_id),
                p(&parent.run_id),
                p(&parent.step_id),
                p(&parent.attempt_id),
                p(&i.group_id),
                p(&i.status),
                p(&i.queued),
                p(&i.create_ts),
                p(&i.start_ts),
                p(&i.end_ts),
                p(&i.instance),
                p(&i.timeline),
            ],
        ),
        WriteOp::UpdateInstance(u) => (
            &st.update_instance,
            vec![
                p(&u.key.workflow_id),
                p(&u.key.instance_id),
                p(&u.key.run_id),
                p(&u.status),
                p(&u.queued),
                p(&u.start_ts),
                p(&u.end_ts),
                p(&u.modify_ts),
                p(&u.runtime_overview),
                p(&u.artifacts),
                p(&u.timeline),
                p(&u.expect_status),
            ],
        ),
        // The narrow hot-path update: the document is unchanged.
        WriteOp::UpsertStepAttempt(s @ StepAttemptWrite { instance: None, .. }) => (
            &st.update_attempt,
            vec![
                p(&s.key.run.workflow_id),
                p(&s.key.run.instance_id),
                p(&s.key.run.run_id),
                p(&s.key.step_id),
                p(&s.key.attempt_id),
                p(&s.status),
                p(&s.start_ts),
                p(&s.end_ts),
                p(&s.modify_ts),
                p(&s.runtime_state),
                p(&s.artifacts),
                p(&s.timeline),
                p(&s.dependencies),
                p(&s.outputs),
            ],
        ),
        WriteOp::UpsertStepAttempt(s) => (
            &st.upsert_attempt,
            vec![
                p(&s.key.run.workflow_id),
                p(&s.key.run.instance_id),
                p(&s.key.run.run_id),
                p(&s.key.step_id),
                p(&s.key.attempt_id),
                p(&s.step_instance_id),
                p(&s.step_uuid),
                p(&s.status),
                p(&s.create_ts),
                p(&s.start_ts),
                p(&s.end_ts),
                p(&s.modify_ts),
                p(&s.instance),
                p(&s.runtime_state),
                p(&s.artifacts),
                p(&s.timeline),
                p(&s.dependencies),
                p(&s.outputs),
            ],
        ),
        WriteOp::NextSequence { name } => (&st.next_sequence, vec![p(name), p(&1i64)]),
        WriteOp::Fence { group_id, .. } => (&st.fence, vec![p(group_id)]),
        WriteOp::PutVersion(_)
        | WriteOp::SetActiveVersion { .. }
        | WriteOp::SetProperties { .. } => {
            return None;
        }
    };
    Some(Bound { statement, params })
}

/// Reads the rows of a one-statement op into its outcome, or into the error its failed check
/// means (in which case the statement wrote nothing).
pub(crate) fn interpret(op: &WriteOp, rows: Vec<Row>) -> Result<WriteOutcome> {
    match op {
        WriteOp::AddSignal(_) => signal_outcome(&one_row(rows)?).map(WriteOutcome::Signal),
        WriteOp::PutTrigger(t) if rows.is_empty() => {
            Err(StoreError::Conflict(if t.expected_version == 0 {
                format!(
                    "trigger [{}] of workflow [{}] already exists",
                    t.trigger_uuid, t.workflow_id
                )
            } else {
                format!(
                    "trigger [{}] of workflow [{}] is not at version {}",
                    t.trigger_uuid, t.workflow_id, t.expected_version
                )
            }))
        }
        WriteOp::PutTrigger(_)
        | WriteOp::DeleteTrigger { .. }
        | WriteOp::PutTagPermit(_)
        | WriteOp::DeleteTagPermit { .. }
        | WriteOp::PutBreakpoint(_)
        | WriteOp::AddPausedAttempt(_) => Ok(WriteOutcome::Done),
        // One row per deleted breakpoint / paused attempt (`RETURNING 1`).
        WriteOp::DeleteBreakpoints { .. } | WriteOp::DeletePausedAttempt(_) => {
            Ok(WriteOutcome::Count(rows.len() as u64))
        }
        WriteOp::CreateInstance(i) => {
            create_outcome(i, &one_row(rows)?).map(WriteOutcome::Instance)
        }
        WriteOp::UpdateInstance(u) => update_outcome(u, &one_row(rows)?),
        WriteOp::UpsertStepAttempt(s) if s.instance.is_none() && rows.is_empty() => {
            let key = &s.key;
            Err(StoreError::NotFound(format!(
                "step [{}] attempt [{}] of workflow [{}] instance [{}] run [{}]",
                key.step_id,
                key.attempt_id,
                key.run.workflow_id,
                key.run.instance_id,
                key.run.run_id
            )))
        }
        WriteOp::UpsertStepAttempt(_) => Ok(WriteOutcome::Done),
        WriteOp::NextSequence { .. } => Ok(WriteOutcome::Sequence(one_row(rows)?.try_get(0)?)),
        WriteOp::Fence {
            group_id,
            generation,
        } => {
            let current: Option<i64> = match rows.first() {
                Some(row) => Some(row.try_get(0)?),
                None => None,
            };
            if current == Some(*generation) {
                Ok(WriteOutcome::Done)
            } else {
                Err(fenced(*group_id, *generation, current))
            }
        }
        WriteOp::PutVersion(_)
        | WriteOp::SetActiveVersion { .. }
        | WriteOp::SetProperties { .. } => Err(StoreError::Database(
            "a multi-statement op was read as one statement".to_string(),
        )),
    }
}

fn create_outcome(i: &NewInstance, row: &Row) -> Result<CreateInstanceOutcome> {
    let duplicate: (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    if let (Some(instance_id), Some(run_id)) = duplicate {
        return Ok(CreateInstanceOutcome::Duplicated {
            instance_id,
            run_id,
        });
    }
    let Some(instance_id) = row.try_get::<_, Option<i64>>(2)? else {
        return Err(StoreError::NotFound(format!(
            "workflow [{}]",
            i.workflow_id
        )));
    };
    let Some(correlation_id) = row.try_get::<_, Option<String>>(4)? else {
        return Err(StoreError::Conflict(format!(
            "workflow [{}] instance [{instance_id}] already has run [{}]",
            i.workflow_id, i.run_id
        )));
    };
    Ok(CreateInstanceOutcome::Created {
        instance_id,
        run_id: i.run_id,
        correlation_id,
    })
}

fn signal_outcome(row: &Row) -> Result<AddSignalOutcome> {
    if let Some(seq_id) = row.try_get::<_, Option<i64>>(0)? {
        return Ok(AddSignalOutcome::Duplicated { seq_id });
    }
    match row.try_get::<_, Option<i64>>(1)? {
        Some(seq_id) => Ok(AddSignalOutcome::Created { seq_id }),
        None => Err(StoreError::Database(
            "a signal was neither stored nor found stored".to_string(),
        )),
    }
}

fn update_outcome(u: &InstanceUpdate, row: &Row) -> Result<WriteOutcome> {
    let updated: i64 = row.try_get(0)?;
    if updated > 0 {
        return Ok(WriteOutcome::Done);
    }
    let status: Option<String> = row.try_get(1)?;
    let key = &u.key;
    match (status, &u.expect_status) {
        (Some(status), Some(expected)) if !expected.contains(&status) => {
            Err(StoreError::Conflict(format!(
                "workflow [{}] instance [{}] run [{}] is {status}, expected one of {expected:?}",
                key.workflow_id, key.instance_id, key.run_id
            )))
        }
        _ => Err(StoreError::NotFound(format!(
            "workflow [{}] instance [{}] run [{}]",
            key.workflow_id, key.instance_id, key.run_id
        ))),
    }
}

/// Applies a batch's ops one after another (the writer has set the batch's savepoint up).
pub(crate) async fn apply_batch(tx: &mut Tx<'_>, ops: &[WriteOp]) -> Applied<Vec<WriteOutcome>> {
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        outcomes.push(apply(tx, op).await?);
    }
    Ok(outcomes)
}

async fn apply(tx: &mut Tx<'_>, op: &WriteOp) -> Applied<WriteOutcome> {
    let st = tx.st;
    let parent = OpColumns::of(op);
    if let Some(bound) = bind(st, op, &parent) {
        let rows = tx.query(bound.statement, &bound.params).await?;
        return Ok(interpret(op, rows)?);
    }
    match op {
        WriteOp::PutVersion(v) => put_version(tx, v).await,
        WriteOp::SetActiveVersion {
            workflow_id,
            version_id,
            activated_by,
            ts,
        } => {
            if *version_id > 0
                && tx
                    .query_opt(&st.version_exists, &[workflow_id, version_id])
                    .await?
                    .is_none()
            {
                return Err(StoreError::NotFound(format!(
                    "workflow [{workflow_id}] version [{version_id}]"
                ))
                .into());
            }
            let changed = tx
                .execute(
                    &st.set_active_version,
                    &[workflow_id, version_id, activated_by, ts],
                )
                .await?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("workflow [{workflow_id}]")).into());
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
            let changed = tx
                .execute(
                    &st.set_properties,
                    &[workflow_id, expected_snapshot, snapshot, ts],
                )
                .await?;
            if changed == 0 {
                return Err(StoreError::Conflict(format!(
                    "properties of workflow [{workflow_id}] changed concurrently or it does not exist"
                ))
                .into());
            }
            insert_properties_change(
                tx,
                workflow_id,
                *ts,
                author,
                change,
                Some(expected_snapshot),
            )
            .await?;
            Ok(WriteOutcome::Done)
        }
        _ => Err(StoreError::Database("a one-statement op was not bound".to_string()).into()),
    }
}

async fn next_sequence(tx: &mut Tx<'_>, name: &str, start: i64) -> Applied<i64> {
    let st = tx.st;
    let row = tx.query_one(&st.next_sequence, &[&name, &start]).await?;
    Ok(row.try_get(0)?)
}

async fn insert_properties_change(
    tx: &mut Tx<'_>,
    workflow_id: &str,
    ts: i64,
    author: &str,
    change: &str,
    previous: Option<&str>,
) -> Applied<()> {
    let st = tx.st;
    tx.execute(
        &st.insert_properties_change,
        &[&workflow_id, &ts, &author, &change, &previous],
    )
    .await?;
    Ok(())
}

async fn put_version(tx: &mut Tx<'_>, v: &NewVersion) -> Applied<WriteOutcome> {
    let st = tx.st;
    let current = match tx
        .query_opt(&st.workflow_for_update, &[&v.workflow_id])
        .await?
    {
        Some(row) => Some((
            row.try_get::<_, i64>(0)?,
            row.try_get::<_, i64>(1)?,
            row.try_get::<_, String>(2)?,
        )),
        None => None,
    };
    let latest = current.as_ref().map_or(0, |c| c.0);
    if latest != v.expected_latest_version_id {
        return Err(StoreError::Conflict(format!(
            "workflow [{}] has latest version {latest}, expected {}",
            v.workflow_id, v.expected_latest_version_id
        ))
        .into());
    }
    if current.is_none() && v.properties_snapshot.is_none() {
        return Err(StoreError::Conflict(format!(
            "workflow [{}] does not exist and the push has no properties",
            v.workflow_id
        ))
        .into());
    }
    let version_id = latest + 1;
    tx.execute(
        &st.insert_version,
        &[
            &v.workflow_id,
            &version_id,
            &v.metadata,
            &v.definition,
            &v.trigger_uuids,
            &v.ts,
        ],
    )
    .await?;
    let (internal_id, created_workflow) = match current {
        Some((_, internal_id, previous_snapshot)) => {
            let snapshot = v
                .properties_snapshot
                .as_deref()
                .unwrap_or(&previous_snapshot);
            tx.execute(
                &st.update_workflow_on_push,
                &[
                    &v.workflow_id,
                    &version_id,
                    &snapshot,
                    &v.ts,
                    &v.activate,
                    &v.activated_by,
                ],
            )
            .await?;
            if let (Some(_), Some((author, change))) =
                (&v.properties_snapshot, &v.properties_change)
            {
                insert_properties_change(
                    tx,
                    &v.workflow_id,
                    v.ts,
                    author,
                    change,
                    Some(&previous_snapshot),
                )
                .await?;
            }
            (internal_id, false)
        }
        None => {
            let snapshot = v.properties_snapshot.as_deref().unwrap_or_default();
            let internal_id = next_sequence(tx, "workflow_internal_id", 10000).await?;
            // A recreated workflow continues the instance ids of the deleted one.
            let latest_instance_id: i64 = tx
                .query_one(
                    &st.instance_floor,
                    &[&v.workflow_id, &instance_floor_key(&v.workflow_id)],
                )
                .await?
                .try_get(0)?;
            tx.execute(
                &st.insert_workflow,
                &[
                    &v.workflow_id,
                    &internal_id,
                    &v.activate,
                    &latest_instance_id,
                    &snapshot,
                    &v.ts,
                    &v.activated_by,
                ],
            )
            .await?;
            if let Some((author, change)) = &v.properties_change {
                insert_properties_change(tx, &v.workflow_id, v.ts, author, change, None).await?;
            }
            (internal_id, true)
        }
    };
    Ok(WriteOutcome::VersionPut {
        version_id,
        internal_id,
        created_workflow,
    })
}

fn fenced(group_id: i64, generation: i64, current: Option<i64>) -> StoreError {
    StoreError::Fenced(match current {
        Some(now) => format!(
            "group [{group_id}] is at generation [{now}], the write was fenced at [{generation}]"
        ),
        None => format!("group [{group_id}] has no owner, the write was fenced at [{generation}]"),
    })
}
