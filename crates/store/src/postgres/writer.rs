//! The writer task and its group commit.
//!
//! A durable PostgreSQL commit costs a WAL flush, and every statement a round trip. Instead of
//! every caller paying for its own, callers queue their batches here; the writer takes every
//! batch that is waiting (a group), applies them in one transaction, commits once, and answers
//! all callers. Under load, batches pile up during one commit and share the next.
//!
//! A group is applied in one of three ways:
//!
//! - **Alone**: a group of one batch of one hot-path op (what a single caller sends) is one
//!   statement in its own implicit transaction — one round trip, commit included.
//! - **Pipelined**: when every op of the group is a one-statement hot-path op (see
//!   [`apply::bind`]), `BEGIN` and all the statements are sent back to back without waiting for
//!   answers, then read in order. If every batch succeeded, or only single-op batches failed (a
//!   failed check writes nothing), the group commits: two round trips for the whole group.
//!   Otherwise (an SQL error, which aborts the transaction, or a multi-op batch that failed
//!   half-way) the transaction is rolled back and the group is replayed one batch at a time.
//! - **One batch at a time**: each batch inside its own savepoint, so a failing batch is rolled
//!   back alone while the others go on. The savepoint commands are not awaited on their own but
//!   sent ahead of the batch's first statement. Groups with workflow-level ops (pushes,
//!   activations, properties) and replays go this way.
//!
//! PostgreSQL aborts the whole transaction on any error, and a `COMMIT` of an aborted
//! transaction quietly rolls back. So the writer tracks the transaction's state: a statement that
//! fails is followed by a rollback to its batch's savepoint before anything else, and if that
//! (or setting a savepoint) fails, the transaction is rolled back and every batch in it is
//! answered with the error. The `COMMIT` itself goes out behind a `SELECT 1` that fails in an
//! aborted transaction: nothing is ever reported written that was not committed.
//!
//! The writer owns one connection. If it breaks, the batches of that transaction get an error
//! (the outcome of a commit in flight is unknown) and the next group reconnects.
//!
//! A workflow deletion is queued here too and runs between two groups, in a transaction of its
//! own (see [`super::deletion`]): it is rare and may touch many rows, and coming through the
//! one writer it cannot interleave with this process's writes to the runs it removes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, Config, Row};

use super::apply::{self, Failure, OpColumns, Tx};
use super::statements::Statements;
use crate::{Result, StoreError, WorkflowDeletion, WriteOp, WriteOutcome};

struct Request {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<Vec<WriteOutcome>>>,
}

/// What the writer task is asked to do: a batch for the next group commit, or a deletion.
enum Job {
    Write(Request),
    DeleteWorkflow {
        workflow_id: String,
        reply: oneshot::Sender<Result<WorkflowDeletion>>,
    },
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
    /// Pipelined groups that were rolled back and replayed one batch at a time, because a
    /// statement failed or a multi-op batch failed half-way.
    pub replays: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    batches: AtomicU64,
    ops: AtomicU64,
    replays: AtomicU64,
}

/// The callers' side of the writer task.
pub(crate) struct WriterHandle {
    tx: mpsc::UnboundedSender<Job>,
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

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            batches: self.counters.batches.load(Ordering::Relaxed),
            ops: self.counters.ops.load(Ordering::Relaxed),
            replays: self.counters.replays.load(Ordering::Relaxed),
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

/// How a group ended: each batch's own outcome, and whether the transaction committed
/// (`Ok(false)` when nothing was written).
struct Settled {
    outcomes: Vec<Result<Vec<WriteOutcome>>>,
    committed: std::result::Result<bool, String>,
    /// A rollback failed: the session may still be inside a transaction, so it must not be
    /// used again (closing it makes the server roll the transaction back).
    reset: bool,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut next: Option<Job> = None;
        loop {
            let first = match next.take() {
                Some(job) => job,
                None => match rx.recv().await {
                    Some(job) => job,
                    None => return,
                },
            };
            match first {
                Job::DeleteWorkflow { workflow_id, reply } => {
                    let _ = reply.send(self.delete_workflow(&workflow_id).await);
                }
                Job::Write(first) => {
                    let mut group = vec![first];
                    while group.len() < self.max_batch {
                        match rx.try_recv() {
                            Ok(Job::Write(request)) => group.push(request),
                            Ok(other) => {
                                // Commit what came before it, then handle it on its own.
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_group(group).await;
                }
            }
        }
    }

    async fn delete_workflow(&mut self, workflow_id: &str) -> Result<WorkflowDeletion> {
        self.ensure_connected().await?;
        let Some(conn) = self.conn.as_ref() else {
            return Err(StoreError::Database(
                "the writer has no connection".to_string(),
            ));
        };
        let (outcome, ended) = super::deletion::delete_workflow(&conn.client, workflow_id).await;
        if !ended {
            self.conn = None;
        }
        outcome
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
        let all_simple = group
            .iter()
            .all(|request| request.ops.iter().all(apply::is_simple));
        let mut mode = match group.as_slice() {
            [request] if all_simple && request.ops.len() <= 1 => Mode::Alone,
            _ if all_simple => Mode::Pipelined,
            _ => Mode::OneAtATime,
        };
        let settled = loop {
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
            match mode {
                Mode::Alone => break alone(conn, &group).await,
                Mode::OneAtATime => break one_at_a_time(conn, &group).await,
                Mode::Pipelined => match pipelined(conn, &group).await {
                    Ok(settled) => break settled,
                    Err(rolled_back) => {
                        self.counters.replays.fetch_add(1, Ordering::Relaxed);
                        if !rolled_back {
                            self.conn = None;
                        }
                        mode = Mode::OneAtATime;
                    }
                },
            }
        };
        let counters = &self.counters;
        if settled.committed == Ok(true) {
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        for (request, outcome) in group.into_iter().zip(settled.outcomes) {
            let answer = match (&settled.committed, outcome) {
                (Ok(_), Ok(outcomes)) => {
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    counters
                        .ops
                        .fetch_add(request.ops.len() as u64, Ordering::Relaxed);
                    Ok(outcomes)
                }
                (Err(text), Ok(_)) => Err(shared_failure(text)),
                (_, Err(err)) => Err(err),
            };
            let _ = request.reply.send(answer);
        }
        if settled.reset {
            self.conn = None;
        }
    }
}

/// How the writer applies a group (see the module docs).
#[derive(Clone, Copy)]
enum Mode {
    Alone,
    Pipelined,
    OneAtATime,
}

/// One op (or none) in its own implicit transaction: the statement commits as it completes.
async fn alone(conn: &Conn, group: &[Request]) -> Settled {
    let Some(op) = group.first().and_then(|request| request.ops.first()) else {
        return Settled {
            outcomes: vec![Ok(Vec::new())],
            committed: Ok(false),
            reset: false,
        };
    };
    let parent = OpColumns::of(op);
    let outcome = match apply::bind(&conn.statements, op, &parent) {
        Some(bound) => match conn.client.query(bound.statement, &bound.params).await {
            Ok(rows) => apply::interpret(op, rows),
            Err(err) => Err(err.into()),
        },
        None => Err(StoreError::Database(
            "a multi-statement op was sent alone".to_string(),
        )),
    };
    let committed = Ok(outcome.is_ok());
    Settled {
        outcomes: vec![outcome.map(|o| vec![o])],
        committed,
        reset: false,
    }
}

type Answer<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// Sends `BEGIN` and every statement of the group back to back, reads the answers in order, and
/// commits if every failure was a single-op batch's failed check. `Err` means the transaction
/// was rolled back (`Err(true)`) or may still be open (`Err(false)`), and the group must be
/// replayed one batch at a time (on a fresh connection when the rollback failed).
async fn pipelined(conn: &Conn, group: &[Request]) -> std::result::Result<Settled, bool> {
    let client = &conn.client;
    let parents: Vec<Vec<OpColumns<'_>>> = group
        .iter()
        .map(|request| request.ops.iter().map(OpColumns::of).collect())
        .collect();
    let mut bound = Vec::new();
    for (request, parents) in group.iter().zip(&parents) {
        for (op, parent) in request.ops.iter().zip(parents) {
            // Nothing has been sent yet: the group simply goes one batch at a time.
            bound.push(apply::bind(&conn.statements, op, parent).ok_or(true)?);
        }
    }
    let mut requests: Vec<Answer<'_>> = Vec::with_capacity(bound.len() + 1);
    requests.push(Box::pin(async move {
        client.batch_execute("BEGIN").await.map(|()| Vec::new())
    }));
    for statement in &bound {
        requests.push(Box::pin(
            client.query(statement.statement, &statement.params),
        ));
    }
    let mut answers = in_order(requests).await.into_iter();
    let began = answers.next().is_some_and(|answer| answer.is_ok());
    let mut outcomes = Vec::with_capacity(group.len());
    let mut clean = began;
    for request in group {
        if !clean {
            break;
        }
        let mut results = Vec::with_capacity(request.ops.len());
        let mut failure = None;
        for op in &request.ops {
            match answers.next() {
                Some(Ok(rows)) => match apply::interpret(op, rows) {
                    Ok(outcome) => results.push(outcome),
                    Err(err) => {
                        failure.get_or_insert(err);
                    }
                },
                // An SQL error aborted the transaction.
                _ => clean = false,
            }
        }
        match failure {
            None => outcomes.push(Ok(results)),
            // A failed check of a lone op wrote nothing: the batch fails alone.
            Some(err) if request.ops.len() == 1 => outcomes.push(Err(err)),
            // The batch's earlier ops wrote and must be undone with it.
            Some(_) => clean = false,
        }
    }
    if !clean {
        return Err(rollback(client).await);
    }
    let (committed, rolled_back) = commit(client).await;
    Ok(Settled {
        outcomes,
        committed: committed.map(|()| true),
        reset: !rolled_back,
    })
}

/// Polls every request once, in order, so that each is written to the connection before the
/// next, then awaits the answers in order (PostgreSQL answers in the order it was asked).
async fn in_order<T>(mut requests: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut early: Vec<Option<T>> = Vec::with_capacity(requests.len());
    std::future::poll_fn(|cx| {
        for request in requests.iter_mut() {
            early.push(match request.as_mut().poll(cx) {
                Poll::Ready(answer) => Some(answer),
                Poll::Pending => None,
            });
        }
        Poll::Ready(())
    })
    .await;
    let mut answers = Vec::with_capacity(requests.len());
    for (request, early) in requests.into_iter().zip(early) {
        answers.push(match early {
            Some(answer) => answer,
            None => request.await,
        });
    }
    answers
}

/// Applies the batches one after another, each inside its own savepoint, and commits.
async fn one_at_a_time(conn: &Conn, group: &[Request]) -> Settled {
    let mut tx = Tx::new(&conn.client, &conn.statements);
    let mut outcomes = Vec::with_capacity(group.len());
    // Set when the transaction itself failed: every batch in it fails.
    let mut broken: Option<String> = None;
    for request in group {
        if let Some(text) = &broken {
            outcomes.push(Err(shared_failure(text)));
            continue;
        }
        tx.start_batch();
        outcomes.push(match apply::apply_batch(&mut tx, &request.ops).await {
            Ok(results) => Ok(results),
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
        });
    }
    let (committed, ended) = match broken {
        Some(text) => (Err(text), !tx.began || rollback(&conn.client).await),
        None if tx.began => {
            let (committed, ended) = commit(&conn.client).await;
            (committed.map(|()| true), ended)
        }
        None => (Ok(false), true),
    };
    Settled {
        outcomes,
        committed,
        reset: !ended,
    }
}

/// Commits the open transaction, and says whether the session has left it (committed or rolled
/// back). `SELECT 1` fails in an aborted transaction (whose COMMIT would quietly roll back), and
/// then the COMMIT behind it in the same message does not run: a safety net under the state
/// tracking, at no extra round trip.
async fn commit(client: &Client) -> (std::result::Result<(), String>, bool) {
    match client.batch_execute("SELECT 1; COMMIT").await {
        Ok(()) => (Ok(()), true),
        Err(err) => (
            Err(format!("commit failed: {}", super::error_text(&err))),
            rollback(client).await,
        ),
    }
}

/// Rolls the open transaction back; false if that failed (the session may still be in it).
async fn rollback(client: &Client) -> bool {
    client.batch_execute("ROLLBACK").await.is_ok()
}

fn shared_failure(text: &str) -> StoreError {
    StoreError::Database(format!(
        "the transaction this write shared was rolled back: {text}"
    ))
}
