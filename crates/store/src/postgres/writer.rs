//! The writer task and its group commit.
//!
//! A durable PostgreSQL commit costs a WAL flush and a round trip. Instead of every caller paying
//! for its own, callers queue their batches here; the writer takes every batch that is waiting,
//! applies each inside its own savepoint (so a failing batch is rolled back alone), commits once,
//! and answers all callers. Under load, batches pile up during one commit and share the next.
//!
//! Round trips are the other cost, so the writer keeps them to one per statement: the
//! transaction and savepoint commands (`BEGIN`, `SAVEPOINT`, `RELEASE`) are not awaited on their
//! own but pipelined ahead of the batch's first statement, and each op is one prepared statement
//! on the hot path (a step-attempt update, a run update, a run creation). A failing batch costs
//! one more round trip (`ROLLBACK TO SAVEPOINT`).
//!
//! PostgreSQL aborts the whole transaction on any error, and a `COMMIT` of an aborted
//! transaction quietly rolls back. So the writer tracks the transaction's state: a statement that
//! fails is always followed by a rollback to its batch's savepoint before anything else, and if
//! that (or setting a savepoint) fails, the transaction is rolled back and every batch in it is
//! answered with the error — nothing is ever reported written that was not committed.
//!
//! The writer owns one connection. If it breaks, the batches of that transaction get an error
//! (the outcome of a commit in flight is unknown) and the next transaction reconnects.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Row, Statement};

use crate::ops::{
    CreateInstanceOutcome, InstanceUpdate, NewInstance, NewVersion, StepAttemptWrite,
};
use crate::{Result, StoreError, WriteOp, WriteOutcome};

struct Request {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<Vec<WriteOutcome>>>,
}

/// What the group-commit writer has done since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: u64,
    /// Callers' batches (`write` calls) those commits carried.
    pub batches: u64,
    /// Write ops in those batches (about one row each).
    pub ops: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    batches: AtomicU64,
    ops: AtomicU64,
}

/// The callers' side of the writer task.
pub(crate) struct WriterHandle {
    tx: mpsc::UnboundedSender<Request>,
    counters: Arc<Counters>,
}

impl WriterHandle {
    /// Prepares the writer's statements on `client` and starts the writer task. `config` is
    /// used to reconnect after the connection breaks.
    pub(crate) async fn spawn(
        client: Client,
        config: Config,
        max_batch: usize,
    ) -> Result<WriterHandle> {
        let statements = Statements::prepare(&client).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            conn: Some(Conn { client, statements }),
            config,
            counters: counters.clone(),
            max_batch: max_batch.max(1),
        };
        tokio::spawn(writer.run(rx));
        Ok(WriterHandle { tx, counters })
    }

    pub(crate) async fn submit(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request { ops, reply })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            batches: self.counters.batches.load(Ordering::Relaxed),
            ops: self.counters.ops.load(Ordering::Relaxed),
        }
    }
}

struct Conn {
    client: Client,
    statements: Statements,
}

struct Writer {
    conn: Option<Conn>,
    config: Config,
    counters: Arc<Counters>,
    max_batch: usize,
}

/// A caller's answer, held until the transaction's fate is known.
struct Pending {
    reply: oneshot::Sender<Result<Vec<WriteOutcome>>>,
    outcome: Result<Vec<WriteOutcome>>,
    ops: usize,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Request>) {
        while let Some(first) = rx.recv().await {
            let mut group = vec![first];
            while group.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            self.commit_group(group).await;
        }
    }

    /// Makes sure there is an open connection, reconnecting (and re-preparing) if the last one
    /// broke.
    async fn ensure_connected(&mut self) -> Result<()> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let target = super::describe_target(&self.config);
            let client = super::connect_client(&self.config, &target).await?;
            let statements = Statements::prepare(&client).await?;
            self.conn = Some(Conn { client, statements });
        }
        Ok(())
    }

    async fn commit_group(&mut self, group: Vec<Request>) {
        let connected = self.ensure_connected().await;
        let conn = match (&connected, self.conn.as_ref()) {
            (Ok(()), Some(conn)) => conn,
            _ => {
                let text = match connected {
                    Err(err) => err.to_string(),
                    Ok(()) => "the writer has no connection".to_string(),
                };
                for request in group {
                    let _ = request.reply.send(Err(StoreError::Database(text.clone())));
                }
                return;
            }
        };
        let mut tx = Tx {
            client: &conn.client,
            st: &conn.statements,
            prefix: None,
            began: false,
            savepoint: false,
        };
        let mut pending = Vec::with_capacity(group.len());
        // Set when the transaction itself failed: every batch in it fails.
        let mut broken: Option<String> = None;
        for request in group {
            if let Some(text) = &broken {
                let _ = request.reply.send(Err(shared_failure(text)));
                continue;
            }
            tx.start_batch();
            let outcome = match apply_batch(&mut tx, &request.ops).await {
                Ok(outcomes) => Ok(outcomes),
                Err(Failure::Batch(err)) => {
                    if let Err(rollback) = tx.rollback_batch().await {
                        broken = Some(super::error_text(&rollback));
                    }
                    Err(err)
                }
                Err(Failure::Transaction(err)) => {
                    broken = Some(err.to_string());
                    Err(err)
                }
            };
            pending.push(Pending {
                reply: request.reply,
                ops: request.ops.len(),
                outcome,
            });
        }
        let committed = match broken {
            Some(text) => {
                if tx.began {
                    let _ = conn.client.batch_execute("ROLLBACK").await;
                }
                Err(text)
            }
            // `SELECT 1` fails in an aborted transaction (whose COMMIT would quietly roll back),
            // and then the COMMIT behind it in the same message does not run: a safety net
            // under the state tracking above, at no extra round trip.
            None if tx.began => match conn.client.batch_execute("SELECT 1; COMMIT").await {
                Ok(()) => Ok(()),
                Err(err) => {
                    let _ = conn.client.batch_execute("ROLLBACK").await;
                    Err(format!("commit failed: {}", super::error_text(&err)))
                }
            },
            None => Ok(()),
        };
        let counters = &self.counters;
        if committed.is_ok() && tx.began {
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        for Pending {
            reply,
            outcome,
            ops,
        } in pending
        {
            let answer = match (&committed, outcome) {
                (Ok(()), Ok(outcomes)) => {
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    counters.ops.fetch_add(ops as u64, Ordering::Relaxed);
                    Ok(outcomes)
                }
                (Err(text), Ok(_)) => Err(shared_failure(text)),
                (_, Err(err)) => Err(err),
            };
            let _ = reply.send(answer);
        }
        if conn.client.is_closed() {
            self.conn = None;
        }
    }
}

fn shared_failure(text: &str) -> StoreError {
    StoreError::Database(format!(
        "the transaction this write shared was rolled back: {text}"
    ))
}

/// Why a batch did not apply.
enum Failure {
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

type Applied<T> = std::result::Result<T, Failure>;

type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The writer's view of the open transaction.
struct Tx<'c> {
    client: &'c Client,
    st: &'c Statements,
    /// Transaction and savepoint commands not sent yet: they go out with the batch's first
    /// statement. `None` once the batch has run a statement (and so holds a savepoint).
    prefix: Option<&'static str>,
    /// `BEGIN` has been sent.
    began: bool,
    /// The savepoint `batch` exists (it outlives a rollback to it).
    savepoint: bool,
}

impl Tx<'_> {
    fn start_batch(&mut self) {
        self.prefix = Some(if !self.began {
            "BEGIN; SAVEPOINT batch"
        } else if self.savepoint {
            "RELEASE SAVEPOINT batch; SAVEPOINT batch"
        } else {
            "SAVEPOINT batch"
        });
    }

    /// Undoes the current batch, if it wrote anything.
    async fn rollback_batch(&mut self) -> std::result::Result<(), tokio_postgres::Error> {
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

    async fn query(&mut self, statement: &Statement, params: &Params<'_>) -> Applied<Vec<Row>> {
        let client = self.client;
        self.run(client.query(statement, params)).await
    }

    async fn query_opt(
        &mut self,
        statement: &Statement,
        params: &Params<'_>,
    ) -> Applied<Option<Row>> {
        Ok(self.query(statement, params).await?.into_iter().next())
    }

    async fn query_one(&mut self, statement: &Statement, params: &Params<'_>) -> Applied<Row> {
        self.query_opt(statement, params).await?.ok_or_else(|| {
            Failure::Batch(StoreError::Database(
                "a statement that always returns a row returned none".to_string(),
            ))
        })
    }

    async fn execute(&mut self, statement: &Statement, params: &Params<'_>) -> Applied<u64> {
        let client = self.client;
        self.run(client.execute(statement, params)).await
    }
}

async fn apply_batch(tx: &mut Tx<'_>, ops: &[WriteOp]) -> Applied<Vec<WriteOutcome>> {
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        outcomes.push(apply(tx, op).await?);
    }
    Ok(outcomes)
}

async fn apply(tx: &mut Tx<'_>, op: &WriteOp) -> Applied<WriteOutcome> {
    let st = tx.st;
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
        WriteOp::CreateInstance(i) => create_instance(tx, i).await.map(WriteOutcome::Instance),
        WriteOp::UpdateInstance(u) => update_instance(tx, u).await,
        WriteOp::UpsertStepAttempt(s) => upsert_step_attempt(tx, s).await,
        WriteOp::NextSequence { name } => {
            Ok(WriteOutcome::Sequence(next_sequence(tx, name, 1).await?))
        }
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
                .query_one(&st.instance_floor, &[&v.workflow_id])
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

async fn create_instance(tx: &mut Tx<'_>, i: &NewInstance) -> Applied<CreateInstanceOutcome> {
    let st = tx.st;
    let parent = i.parent.as_ref();
    let parent_workflow_id = parent.map(|p| p.run.workflow_id.as_str());
    let parent_instance_id = parent.map(|p| p.run.instance_id);
    let parent_run_id = parent.map(|p| p.run.run_id);
    let parent_step_id = parent.map(|p| p.step_id.as_str());
    let parent_attempt_id = parent.map(|p| p.attempt_id);
    let row = tx
        .query_one(
            &st.create_instance,
            &[
                &i.workflow_id,
                &i.uuid,
                &i.instance_id,
                &i.run_id,
                &i.correlation_id,
                &i.initiator_type,
                &i.depth,
                &parent_workflow_id,
                &parent_instance_id,
                &parent_run_id,
                &parent_step_id,
                &parent_attempt_id,
                &i.group_id,
                &i.status,
                &i.queued,
                &i.create_ts,
                &i.start_ts,
                &i.end_ts,
                &i.instance,
                &i.timeline,
            ],
        )
        .await?;
    let duplicate: (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    if let (Some(instance_id), Some(run_id)) = duplicate {
        return Ok(CreateInstanceOutcome::Duplicated {
            instance_id,
            run_id,
        });
    }
    let Some(instance_id) = row.try_get::<_, Option<i64>>(2)? else {
        return Err(StoreError::NotFound(format!("workflow [{}]", i.workflow_id)).into());
    };
    let Some(correlation_id) = row.try_get::<_, Option<String>>(4)? else {
        return Err(StoreError::Conflict(format!(
            "workflow [{}] instance [{instance_id}] already has run [{}]",
            i.workflow_id, i.run_id
        ))
        .into());
    };
    Ok(CreateInstanceOutcome::Created {
        instance_id,
        run_id: i.run_id,
        correlation_id,
    })
}

async fn update_instance(tx: &mut Tx<'_>, u: &InstanceUpdate) -> Applied<WriteOutcome> {
    let st = tx.st;
    let key = &u.key;
    let expected = u.expect_status.as_deref();
    let changed = tx
        .execute(
            &st.update_instance,
            &[
                &key.workflow_id,
                &key.instance_id,
                &key.run_id,
                &u.status,
                &u.queued,
                &u.start_ts,
                &u.end_ts,
                &u.modify_ts,
                &u.runtime_overview,
                &u.artifacts,
                &u.timeline,
                &expected,
            ],
        )
        .await?;
    if changed > 0 {
        return Ok(WriteOutcome::Done);
    }
    // Nothing matched: say whether the run is missing or in another status.
    let status: Option<String> = match tx
        .query_opt(
            &st.instance_status,
            &[&key.workflow_id, &key.instance_id, &key.run_id],
        )
        .await?
    {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    };
    match (status, expected) {
        (Some(status), Some(expected)) if !expected.contains(&status) => {
            Err(StoreError::Conflict(format!(
                "workflow [{}] instance [{}] run [{}] is {status}, expected one of {expected:?}",
                key.workflow_id, key.instance_id, key.run_id
            ))
            .into())
        }
        _ => Err(StoreError::NotFound(format!(
            "workflow [{}] instance [{}] run [{}]",
            key.workflow_id, key.instance_id, key.run_id
        ))
        .into()),
    }
}

async fn upsert_step_attempt(tx: &mut Tx<'_>, s: &StepAttemptWrite) -> Applied<WriteOutcome> {
    let st = tx.st;
    let key = &s.key;
    let Some(instance) = &s.instance else {
        // The narrow hot-path update: the document is unchanged.
        let changed = tx
            .execute(
                &st.update_attempt,
                &[
                    &key.run.workflow_id,
                    &key.run.instance_id,
                    &key.run.run_id,
                    &key.step_id,
                    &key.attempt_id,
                    &s.status,
                    &s.start_ts,
                    &s.end_ts,
                    &s.modify_ts,
                    &s.runtime_state,
                    &s.artifacts,
                    &s.timeline,
                    &s.dependencies,
                    &s.outputs,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "step [{}] attempt [{}] of workflow [{}] instance [{}] run [{}]",
                key.step_id,
                key.attempt_id,
                key.run.workflow_id,
                key.run.instance_id,
                key.run.run_id
            ))
            .into());
        }
        return Ok(WriteOutcome::Done);
    };
    tx.execute(
        &st.upsert_attempt,
        &[
            &key.run.workflow_id,
            &key.run.instance_id,
            &key.run.run_id,
            &key.step_id,
            &key.attempt_id,
            &s.step_instance_id,
            &s.step_uuid,
            &s.status,
            &s.create_ts,
            &s.start_ts,
            &s.end_ts,
            &s.modify_ts,
            instance,
            &s.runtime_state,
            &s.artifacts,
            &s.timeline,
            &s.dependencies,
            &s.outputs,
        ],
    )
    .await?;
    Ok(WriteOutcome::Done)
}

/// The writer's statements, prepared once per connection. Every parameter carries an explicit
/// type so that PostgreSQL never has to guess one (`NULL` parameters included).
struct Statements {
    workflow_for_update: Statement,
    insert_version: Statement,
    update_workflow_on_push: Statement,
    insert_workflow: Statement,
    instance_floor: Statement,
    next_sequence: Statement,
    insert_properties_change: Statement,
    version_exists: Statement,
    set_active_version: Statement,
    set_properties: Statement,
    create_instance: Statement,
    update_instance: Statement,
    instance_status: Statement,
    update_attempt: Statement,
    upsert_attempt: Statement,
}

impl Statements {
    async fn prepare(client: &Client) -> Result<Statements> {
        Ok(Statements {
            workflow_for_update: client.prepare(WORKFLOW_FOR_UPDATE).await?,
            insert_version: client.prepare(INSERT_VERSION).await?,
            update_workflow_on_push: client.prepare(UPDATE_WORKFLOW_ON_PUSH).await?,
            insert_workflow: client.prepare(INSERT_WORKFLOW).await?,
            instance_floor: client.prepare(INSTANCE_FLOOR).await?,
            next_sequence: client.prepare(NEXT_SEQUENCE).await?,
            insert_properties_change: client.prepare(INSERT_PROPERTIES_CHANGE).await?,
            version_exists: client.prepare(VERSION_EXISTS).await?,
            set_active_version: client.prepare(SET_ACTIVE_VERSION).await?,
            set_properties: client.prepare(SET_PROPERTIES).await?,
            create_instance: client.prepare(CREATE_INSTANCE).await?,
            update_instance: client.prepare(UPDATE_INSTANCE).await?,
            instance_status: client.prepare(INSTANCE_STATUS).await?,
            update_attempt: client.prepare(UPDATE_ATTEMPT).await?,
            upsert_attempt: client.prepare(UPSERT_ATTEMPT).await?,
        })
    }
}

// The row lock keeps version numbering right should two processes ever push at once.
const WORKFLOW_FOR_UPDATE: &str = "SELECT latest_version_id, internal_id, properties_snapshot \
    FROM workflow WHERE workflow_id = $1::TEXT FOR UPDATE";

const INSERT_VERSION: &str = "INSERT INTO workflow_version \
    (workflow_id, version_id, metadata, definition, trigger_uuids, create_ts) \
    VALUES ($1::TEXT, $2::BIGINT, $3::TEXT, $4::TEXT, $5::TEXT, $6::BIGINT)";

const UPDATE_WORKFLOW_ON_PUSH: &str = "UPDATE workflow SET latest_version_id = $2::BIGINT, \
    properties_snapshot = $3::TEXT, modify_ts = $4::BIGINT, \
    active_version_id = CASE WHEN $5::BOOLEAN THEN $2::BIGINT ELSE active_version_id END, \
    activate_ts = CASE WHEN $5::BOOLEAN THEN $4::BIGINT ELSE activate_ts END, \
    activated_by = CASE WHEN $5::BOOLEAN THEN $6::TEXT ELSE activated_by END \
    WHERE workflow_id = $1::TEXT";

const INSERT_WORKFLOW: &str = "INSERT INTO workflow (workflow_id, internal_id, active_version_id, \
    latest_version_id, latest_instance_id, properties_snapshot, activate_ts, activated_by, modify_ts) \
    VALUES ($1::TEXT, $2::BIGINT, CASE WHEN $3::BOOLEAN THEN 1 ELSE 0 END, 1, $4::BIGINT, $5::TEXT, \
    CASE WHEN $3::BOOLEAN THEN $6::BIGINT END, CASE WHEN $3::BOOLEAN THEN $7::TEXT END, $6::BIGINT)";

const INSTANCE_FLOOR: &str = "SELECT COALESCE(MAX(instance_id), 0)::BIGINT FROM workflow_instance \
    WHERE workflow_id = $1::TEXT";

const NEXT_SEQUENCE: &str = "INSERT INTO sequence AS s (name, value) VALUES ($1::TEXT, $2::BIGINT) \
    ON CONFLICT (name) DO UPDATE SET value = s.value + 1 RETURNING s.value";

// One statement: the sequence number within the millisecond is computed where it is inserted.
const INSERT_PROPERTIES_CHANGE: &str = "INSERT INTO workflow_properties \
    (workflow_id, create_time, seq, author, properties_changes, previous_snapshot) \
    SELECT $1::TEXT, $2::BIGINT, COALESCE(MAX(seq), 0) + 1, $3::TEXT, $4::TEXT, $5::TEXT \
    FROM workflow_properties WHERE workflow_id = $1::TEXT AND create_time = $2::BIGINT";

const VERSION_EXISTS: &str =
    "SELECT 1 FROM workflow_version WHERE workflow_id = $1::TEXT AND version_id = $2::BIGINT";

const SET_ACTIVE_VERSION: &str = "UPDATE workflow SET active_version_id = $2::BIGINT, \
    activate_ts = CASE WHEN $2::BIGINT > 0 THEN $4::BIGINT END, \
    activated_by = CASE WHEN $2::BIGINT > 0 THEN $3::TEXT END, modify_ts = $4::BIGINT \
    WHERE workflow_id = $1::TEXT";

const SET_PROPERTIES: &str = "UPDATE workflow SET properties_snapshot = $3::TEXT, \
    modify_ts = $4::BIGINT WHERE workflow_id = $1::TEXT AND properties_snapshot = $2::TEXT";

// Creating a run in one round trip: find a run with the same uuid (a duplicate start), else
// allocate the next instance id when none is given, else insert. The last SELECT reports which
// of these happened: a duplicate's ids; no chosen id (the workflow does not exist); or nothing
// inserted (the run exists already). On the failure paths the savepoint undoes the allocation.
const CREATE_INSTANCE: &str = "WITH dup AS ( \
      SELECT instance_id, run_id FROM workflow_instance \
      WHERE workflow_id = $1::TEXT AND uuid = $2::TEXT \
    ), alloc AS ( \
      UPDATE workflow SET latest_instance_id = latest_instance_id + 1 \
      WHERE workflow_id = $1::TEXT AND $3::BIGINT IS NULL AND NOT EXISTS (SELECT 1 FROM dup) \
      RETURNING latest_instance_id \
    ), chosen AS ( \
      SELECT COALESCE($3::BIGINT, (SELECT latest_instance_id FROM alloc)) AS instance_id \
      WHERE NOT EXISTS (SELECT 1 FROM dup) \
    ), ins AS ( \
      INSERT INTO workflow_instance (workflow_id, instance_id, run_id, uuid, correlation_id, \
        initiator_type, depth, parent_workflow_id, parent_instance_id, parent_run_id, \
        parent_step_id, parent_attempt_id, group_id, status, queued, create_ts, start_ts, end_ts, \
        modify_ts, instance, timeline) \
      SELECT $1::TEXT, c.instance_id, $4::BIGINT, $2::TEXT, \
        COALESCE($5::TEXT, $1::TEXT || ':' || c.instance_id || ':' || $4::BIGINT), $6::TEXT, \
        $7::BIGINT, $8::TEXT, $9::BIGINT, $10::BIGINT, $11::TEXT, $12::BIGINT, $13::BIGINT, \
        $14::TEXT, $15::BOOLEAN, $16::BIGINT, $17::BIGINT, $18::BIGINT, $16::BIGINT, $19::TEXT, \
        $20::TEXT \
      FROM chosen c WHERE c.instance_id IS NOT NULL \
      ON CONFLICT (workflow_id, instance_id, run_id) DO NOTHING \
      RETURNING instance_id, correlation_id \
    ) \
    SELECT (SELECT instance_id FROM dup), (SELECT run_id FROM dup), \
      (SELECT instance_id FROM chosen), (SELECT instance_id FROM ins), \
      (SELECT correlation_id FROM ins)";

// The status expectation is part of the update, so the usual case is one round trip.
const UPDATE_INSTANCE: &str = "UPDATE workflow_instance SET status = COALESCE($4::TEXT, status), \
    queued = COALESCE($5::BOOLEAN, queued), start_ts = COALESCE($6::BIGINT, start_ts), \
    end_ts = COALESCE($7::BIGINT, end_ts), modify_ts = $8::BIGINT, \
    runtime_overview = COALESCE($9::TEXT, runtime_overview), \
    artifacts = COALESCE($10::TEXT, artifacts), timeline = COALESCE($11::TEXT, timeline) \
    WHERE workflow_id = $1::TEXT AND instance_id = $2::BIGINT AND run_id = $3::BIGINT \
    AND ($12::TEXT[] IS NULL OR status = ANY($12::TEXT[]))";

const INSTANCE_STATUS: &str = "SELECT status FROM workflow_instance \
    WHERE workflow_id = $1::TEXT AND instance_id = $2::BIGINT AND run_id = $3::BIGINT";

const UPDATE_ATTEMPT: &str = "UPDATE step_instance SET status = $6::TEXT, \
    start_ts = COALESCE($7::BIGINT, start_ts), end_ts = COALESCE($8::BIGINT, end_ts), \
    modify_ts = $9::BIGINT, runtime_state = $10::TEXT, artifacts = COALESCE($11::TEXT, artifacts), \
    timeline = COALESCE($12::TEXT, timeline), dependencies = COALESCE($13::TEXT, dependencies), \
    outputs = COALESCE($14::TEXT, outputs) \
    WHERE workflow_id = $1::TEXT AND workflow_instance_id = $2::BIGINT \
    AND workflow_run_id = $3::BIGINT AND step_id = $4::TEXT AND step_attempt_id = $5::BIGINT";

const UPSERT_ATTEMPT: &str = "INSERT INTO step_instance AS s (workflow_id, workflow_instance_id, \
    workflow_run_id, step_id, step_attempt_id, step_instance_id, step_uuid, status, create_ts, \
    start_ts, end_ts, modify_ts, instance, runtime_state, artifacts, timeline, dependencies, outputs) \
    VALUES ($1::TEXT, $2::BIGINT, $3::BIGINT, $4::TEXT, $5::BIGINT, $6::BIGINT, $7::TEXT, $8::TEXT, \
    $9::BIGINT, $10::BIGINT, $11::BIGINT, $12::BIGINT, $13::TEXT, $14::TEXT, $15::TEXT, $16::TEXT, \
    $17::TEXT, $18::TEXT) \
    ON CONFLICT (workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id) \
    DO UPDATE SET status = excluded.status, start_ts = COALESCE(excluded.start_ts, s.start_ts), \
    end_ts = COALESCE(excluded.end_ts, s.end_ts), modify_ts = excluded.modify_ts, \
    instance = excluded.instance, runtime_state = excluded.runtime_state, \
    artifacts = COALESCE(excluded.artifacts, s.artifacts), \
    timeline = COALESCE(excluded.timeline, s.timeline), \
    dependencies = COALESCE(excluded.dependencies, s.dependencies), \
    outputs = COALESCE(excluded.outputs, s.outputs)";
