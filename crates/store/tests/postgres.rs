//! The behavioural suite on the PostgreSQL backend, plus PostgreSQL-specific checks: migrations
//! under concurrent opens, durability across reconnects, group-commit isolation with SQL-level
//! failures, recovery from a killed connection, byte-order sorting, and `open()`'s URL dispatch.
//!
//! Each test works in a fresh schema `baton_test_<random>` of the database named by
//! `BATON_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), dropped when
//! the test ends. A missing server fails the tests with a message saying so: CI always has one.

mod suite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use baton_store::postgres::{PgOptions, PgStore};
use baton_store::sqlite::{SqliteOptions, SqliteStore};
use baton_store::{
    CreateInstanceOutcome, InstanceRow, InstanceUpdate, Result, RunKey, StepAttemptRow, Store,
    StoreError, VersionRow, WorkflowRow, WriteOp, WriteOutcome,
};
use baton_store::{GroupLease, NodeHeartbeat, NodeInfo};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn unreachable(err: impl std::fmt::Display) -> ! {
    panic!(
        "the PostgreSQL store tests need a server at {} ({err}); start it (`.ci/run` does) or \
         point BATON_TEST_POSTGRES_URL at one",
        url()
    )
}

/// A schema name no other test uses.
fn fresh_schema_name() -> String {
    format!("baton_test_{:016x}", fastrand::u64(..))
}

/// A plain connection for checks behind the store's back.
async fn raw_client() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| unreachable(err));
    tokio::spawn(connection);
    client
}

/// Runs cleanup SQL when it goes out of scope (also when the test panics).
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let sql = self.0.clone();
        // Drop cannot await, and the test's runtime may be unwinding: use a thread of its own.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(connection);
                client.batch_execute(&sql).await.ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(()))) {
            eprintln!("test cleanup failed: {}", self.0);
        }
    }
}

/// Drops the schema when it goes out of scope.
fn schema_guard(schema: String) -> Cleanup {
    Cleanup(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
}

async fn connect(schema: &str) -> PgStore {
    PgStore::connect(
        &url(),
        PgOptions {
            schema: Some(schema.to_string()),
            ..PgOptions::default()
        },
    )
    .await
    .unwrap_or_else(|err| opening_failed(err))
}

/// Tells a missing server from a store that failed to open.
fn opening_failed(err: StoreError) -> ! {
    if err.to_string().contains("cannot connect to PostgreSQL") {
        unreachable(err)
    }
    panic!("opening the PostgreSQL store failed: {err}")
}

/// A store in a schema of its own, dropped with it.
struct TestStore {
    store: PgStore,
    _schema: Cleanup,
}

impl TestStore {
    async fn new() -> TestStore {
        let schema = fresh_schema_name();
        let guard = schema_guard(schema.clone());
        TestStore {
            store: connect(&schema).await,
            _schema: guard,
        }
    }
}

#[async_trait]
impl Store for TestStore {
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.store.write(ops).await
    }
    fn describe(&self) -> String {
        self.store.describe()
    }
    async fn get_workflow(&self, workflow_id: &str) -> Result<Option<WorkflowRow>> {
        self.store.get_workflow(workflow_id).await
    }
    async fn list_workflows(&self, after: Option<&str>, limit: usize) -> Result<Vec<WorkflowRow>> {
        self.store.list_workflows(after, limit).await
    }
    async fn get_version(&self, workflow_id: &str, version_id: i64) -> Result<Option<VersionRow>> {
        self.store.get_version(workflow_id, version_id).await
    }
    async fn list_versions(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        self.store.list_versions(workflow_id, before, limit).await
    }
    async fn get_instance_run(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
    ) -> Result<Option<InstanceRow>> {
        self.store
            .get_instance_run(workflow_id, instance_id, run_id)
            .await
    }
    async fn list_instance_runs(
        &self,
        workflow_id: &str,
        instance_id: i64,
    ) -> Result<Vec<InstanceRow>> {
        self.store
            .list_instance_runs(workflow_id, instance_id)
            .await
    }
    async fn list_instances(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>> {
        self.store.list_instances(workflow_id, before, limit).await
    }
    async fn list_active_runs(&self) -> Result<Vec<InstanceRow>> {
        self.store.list_active_runs().await
    }
    async fn list_queued_runs(&self, workflow_id: &str, limit: usize) -> Result<Vec<InstanceRow>> {
        self.store.list_queued_runs(workflow_id, limit).await
    }
    async fn count_running_runs(&self, workflow_id: &str) -> Result<i64> {
        self.store.count_running_runs(workflow_id).await
    }
    async fn list_step_attempts(&self, run: &RunKey) -> Result<Vec<StepAttemptRow>> {
        self.store.list_step_attempts(run).await
    }
    async fn list_attempts_of_step(
        &self,
        run: &RunKey,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>> {
        self.store.list_attempts_of_step(run, step_id).await
    }
    async fn next_sequence_value(&self, name: &str) -> Result<i64> {
        self.store.next_sequence_value(name).await
    }
    async fn list_runs_with_status(
        &self,
        workflow_id: &str,
        statuses: &[String],
        queued: Option<bool>,
        limit: usize,
    ) -> Result<Vec<baton_store::InstanceRow>> {
        self.store
            .list_runs_with_status(workflow_id, statuses, queued, limit)
            .await
    }
    async fn list_latest_step_attempts(
        &self,
        workflow_id: &str,
        step_id: &str,
    ) -> Result<Vec<baton_store::StepAttemptRow>> {
        self.store
            .list_latest_step_attempts(workflow_id, step_id)
            .await
    }
    async fn get_tag_permit(&self, tag: &str) -> Result<Option<baton_store::TagPermitRow>> {
        self.store.get_tag_permit(tag).await
    }
    async fn list_tag_permits(&self) -> Result<Vec<baton_store::TagPermitRow>> {
        self.store.list_tag_permits().await
    }
    async fn get_signal(
        &self,
        name: &str,
        seq_id: Option<i64>,
    ) -> Result<Option<baton_store::SignalRow>> {
        self.store.get_signal(name, seq_id).await
    }
    async fn find_signals(
        &self,
        query: &baton_store::SignalQuery,
    ) -> Result<Vec<baton_store::SignalRow>> {
        self.store.find_signals(query).await
    }
    async fn list_triggers(
        &self,
        workflow_id: Option<&str>,
    ) -> Result<Vec<baton_store::TriggerRow>> {
        self.store.list_triggers(workflow_id).await
    }
    async fn list_active_runs_in_group(&self, group_id: i64) -> Result<Vec<InstanceRow>> {
        self.store.list_active_runs_in_group(group_id).await
    }
    async fn join_cluster(&self, node: &NodeInfo, groups: i64, lease_ms: i64) -> Result<()> {
        self.store.join_cluster(node, groups, lease_ms).await
    }
    async fn heartbeat_node(&self, node: &NodeInfo, lease_ms: i64) -> Result<NodeHeartbeat> {
        self.store.heartbeat_node(node, lease_ms).await
    }
    async fn claim_groups(&self, node: &NodeInfo, max: usize) -> Result<Vec<GroupLease>> {
        self.store.claim_groups(node, max).await
    }
    async fn release_group(&self, node_id: &str, group_id: i64, generation: i64) -> Result<bool> {
        self.store
            .release_group(node_id, group_id, generation)
            .await
    }
    async fn leave_cluster(&self, node_id: &str) -> Result<()> {
        self.store.leave_cluster(node_id).await
    }
    async fn list_groups(&self) -> Result<Vec<GroupLease>> {
        self.store.list_groups().await
    }
    async fn count_runs_by_status(&self, workflow_id: &str) -> Result<Vec<(String, i64)>> {
        self.store.count_runs_by_status(workflow_id).await
    }
    async fn instance_id_range(&self, workflow_id: &str) -> Result<Option<(i64, i64)>> {
        self.store.instance_id_range(workflow_id).await
    }
    async fn delete_workflow(&self, workflow_id: &str) -> Result<baton_store::WorkflowDeletion> {
        self.store.delete_workflow(workflow_id).await
    }
    async fn list_breakpoints(
        &self,
        workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<baton_store::BreakpointRow>> {
        self.store.list_breakpoints(workflow_id, step_id).await
    }
    async fn list_paused_attempts(
        &self,
        workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<baton_store::PausedAttemptRow>> {
        self.store.list_paused_attempts(workflow_id, step_id).await
    }
    async fn list_paused_attempts_of_run(
        &self,
        run: &baton_store::RunKey,
    ) -> Result<Vec<baton_store::PausedAttemptRow>> {
        self.store.list_paused_attempts_of_run(run).await
    }
}

async fn fresh() -> Arc<dyn Store> {
    Arc::new(TestStore::new().await)
}

store_suite!(fresh);
signal_suite!(fresh);
store_flow_suite!(fresh);
store_api_suite!(fresh);

async fn put_workflow(store: &dyn Store, id: &str) {
    store
        .write(vec![WriteOp::PutVersion(suite::version(id, 0, true))])
        .await
        .expect("first version");
}

/// The versions of the migration files shipped in `migrations/postgres/`, ascending.
fn shipped_migrations() -> Vec<i64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .expect("migrations folder")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sql")?.split('_').next()?.parse().ok()
        })
        .collect();
    versions.sort_unstable();
    versions
}

async fn applied_migrations(schema: &str) -> Vec<i64> {
    raw_client()
        .await
        .query(
            &format!("SELECT version FROM {schema}.schema_migrations ORDER BY version"),
            &[],
        )
        .await
        .expect("schema_migrations")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_when_stores_open_the_same_schema_at_once() {
    let schema = fresh_schema_name();
    let _guard = schema_guard(schema.clone());
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let schema = schema.clone();
            tokio::spawn(async move { connect(&schema).await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.expect("open task"));
    }
    assert_eq!(applied_migrations(&schema).await, shipped_migrations());
    // All of them use the same tables.
    put_workflow(&stores[0], "w").await;
    for store in &stores {
        assert!(store.get_workflow("w").await.unwrap().is_some());
    }
    // Opening again applies nothing.
    drop(stores);
    let again = connect(&schema).await;
    assert_eq!(applied_migrations(&schema).await, shipped_migrations());
    assert_eq!(again.schema(), schema);
    assert!(again.get_workflow("w").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_only_reads_and_writes_rows_opens_an_up_to_date_store() {
    let schema = fresh_schema_name();
    let _schema_guard = schema_guard(schema.clone());
    connect(&schema).await;
    let role = format!("{schema}_rw");
    let admin = raw_client().await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; \
             GRANT USAGE ON SCHEMA {schema} TO {role}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}"
        ))
        .await
        .expect("creating a test role (the test database user must be a superuser)");
    let _role_guard = Cleanup(format!("DROP OWNED BY {role}; DROP ROLE {role}"));
    let config: tokio_postgres::Config = url().parse().expect("test URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("test");
    let store = PgStore::connect(
        &format!("postgres://{role}@{host}:{port}/{db}?schema={schema}"),
        PgOptions::default(),
    )
    .await
    .unwrap_or_else(|err| opening_failed(err));
    put_workflow(&store, "w").await;
    assert!(store.get_workflow("w").await.unwrap().is_some());
    drop(store);
    // The same role cannot create what is missing, and says so.
    let other = fresh_schema_name();
    let refused = PgStore::connect(
        &format!("postgres://{role}@{host}:{port}/{db}?schema={other}"),
        PgOptions::default(),
    )
    .await;
    assert!(
        matches!(&refused, Err(StoreError::Database(m)) if m.contains("permission denied")),
        "{:?}",
        refused.err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reconnecting() {
    let schema = fresh_schema_name();
    let _guard = schema_guard(schema.clone());
    {
        let store = connect(&schema).await;
        put_workflow(&store, "w").await;
        store
            .write(vec![WriteOp::CreateInstance(suite::instance("w", "u1"))])
            .await
            .unwrap();
    }
    let store = connect(&schema).await;
    let row = store.get_workflow("w").await.unwrap().expect("workflow");
    assert_eq!((row.latest_version_id, row.latest_instance_id), (1, 1));
    assert_eq!(
        store
            .get_instance_run("w", 1, None)
            .await
            .unwrap()
            .unwrap()
            .uuid,
        "u1"
    );
}

/// What each concurrent writer in the isolation test sends.
fn isolation_batch(i: usize) -> (Vec<WriteOp>, bool) {
    match i % 4 {
        // A good create.
        0 => (
            vec![WriteOp::CreateInstance(suite::instance(
                "w",
                &format!("ok-{i}"),
            ))],
            true,
        ),
        // PostgreSQL rejects a NUL byte in text: an SQL error, which aborts the transaction
        // unless the batch's savepoint is rolled back.
        1 => (
            vec![WriteOp::CreateInstance(suite::instance(
                "w",
                &format!("nul-{i}\0"),
            ))],
            false,
        ),
        // The first op succeeds, the second fails: the first must be undone.
        2 => (
            vec![
                WriteOp::CreateInstance(suite::instance("w", &format!("undone-{i}"))),
                WriteOp::UpdateInstance(InstanceUpdate {
                    key: RunKey {
                        workflow_id: "w".into(),
                        instance_id: 1_000_000,
                        run_id: 1,
                    },
                    status: Some("IN_PROGRESS".into()),
                    modify_ts: 1,
                    ..InstanceUpdate::default()
                }),
            ],
            false,
        ),
        // Two good ops.
        _ => (
            vec![
                WriteOp::CreateInstance(suite::instance("w", &format!("ok-{i}"))),
                WriteOp::NextSequence { name: "n".into() },
            ],
            true,
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_isolates_failing_batches_under_concurrency() {
    let store = Arc::new(TestStore::new().await);
    put_workflow(&*store, "w").await;
    let before = store.store.writer_stats();
    let tasks: Vec<_> = (0..80)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let (ops, should_succeed) = isolation_batch(i);
                (i, should_succeed, store.write(ops).await)
            })
        })
        .collect();
    let mut succeeded = 0;
    for task in tasks {
        let (i, should_succeed, result) = task.await.unwrap();
        match (i % 4, result) {
            (0 | 3, Ok(_)) => succeeded += 1,
            (1, Err(StoreError::Database(_))) | (2, Err(StoreError::NotFound(_))) => {}
            (_, other) => panic!("batch {i} (should succeed: {should_succeed}): {other:?}"),
        }
    }
    assert_eq!(succeeded, 40);
    let runs = store.list_instances("w", None, 1000).await.unwrap();
    assert_eq!(runs.len(), 40);
    assert!(runs.iter().all(|r| r.uuid.starts_with("ok-")));
    // Undone batches gave their allocated ids back: the committed ones are 1..=40.
    let mut ids: Vec<i64> = runs.iter().map(|r| r.key.instance_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=40).collect::<Vec<_>>());
    assert_eq!(
        store
            .get_workflow("w")
            .await
            .unwrap()
            .unwrap()
            .latest_instance_id,
        40
    );
    assert_eq!(store.next_sequence_value("n").await.unwrap(), 21);
    // Concurrent callers shared commits.
    let after = store.store.writer_stats();
    let (commits, batches) = (
        after.commits - before.commits,
        after.batches - before.batches,
    );
    assert_eq!(batches, 41, "40 writes and the sequence draw");
    assert!(
        commits < batches,
        "{commits} commits for {batches} batches: no group commit"
    );
}

type Write = Pin<Box<dyn Future<Output = Result<Vec<WriteOutcome>>> + Send>>;

/// What the writer did during [`as_one_group`], the held write included.
#[derive(Debug, PartialEq)]
struct Delta {
    commits: u64,
    batches: u64,
    replays: u64,
}

/// Sends `batches` so that the writer takes them as one group, and returns their answers.
///
/// The writer is held inside a group of its own first: its write waits for a row lock taken
/// here. Each batch is then queued, in order, before the lock is released.
async fn as_one_group(
    store: &Arc<TestStore>,
    batches: Vec<Vec<WriteOp>>,
) -> (Vec<Result<Vec<WriteOutcome>>>, Delta) {
    if store.get_workflow("blocker").await.unwrap().is_none() {
        put_workflow(&**store, "blocker").await;
    }
    let before = store.store.writer_stats();
    let lock = raw_client().await;
    lock.batch_execute(&format!(
        "BEGIN; SELECT 1 FROM {}.workflow WHERE workflow_id = 'blocker' FOR UPDATE",
        store.store.schema()
    ))
    .await
    .unwrap();
    let lock_pid: i32 = lock
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let held = {
        let store = store.clone();
        let uuid = format!("held-{}", fastrand::u64(..));
        tokio::spawn(async move {
            store
                .write(vec![WriteOp::CreateInstance(suite::instance(
                    "blocker", &uuid,
                ))])
                .await
        })
    };
    let watcher = raw_client().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                &[&lock_pid],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the writer never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut writes: Vec<Write> = batches
        .into_iter()
        .map(|ops| {
            let store = store.clone();
            Box::pin(async move { store.write(ops).await }) as Write
        })
        .collect();
    // One poll queues each write (and it cannot finish while the writer is held).
    std::future::poll_fn(|cx| {
        for write in writes.iter_mut() {
            assert!(write.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(())
    })
    .await;
    lock.batch_execute("ROLLBACK").await.unwrap();
    held.await.unwrap().expect("the held write");
    let mut answers = Vec::new();
    for write in writes {
        answers.push(write.await);
    }
    let after = store.store.writer_stats();
    let delta = Delta {
        commits: after.commits - before.commits,
        batches: after.batches - before.batches,
        replays: after.replays - before.replays,
    };
    (answers, delta)
}

fn create(uuid: &str) -> WriteOp {
    WriteOp::CreateInstance(suite::instance("w", uuid))
}

fn update_missing_run(expect: bool) -> WriteOp {
    WriteOp::UpdateInstance(InstanceUpdate {
        key: RunKey {
            workflow_id: "w".into(),
            instance_id: 999,
            run_id: 1,
        },
        expect_status: expect.then(|| vec!["CREATED".to_string()]),
        status: Some("IN_PROGRESS".into()),
        modify_ts: 1,
        ..InstanceUpdate::default()
    })
}

/// Instance ids of the runs of `w`, ascending.
async fn instance_ids(store: &dyn Store) -> Vec<i64> {
    let mut ids: Vec<i64> = store
        .list_instances("w", None, 1000)
        .await
        .unwrap()
        .iter()
        .map(|r| r.key.instance_id)
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_group_commits_once_and_fails_lone_checks_alone() {
    let store = Arc::new(TestStore::new().await);
    put_workflow(&*store, "w").await;
    store.write(vec![create("first")]).await.unwrap();
    assert!(store.write(vec![]).await.unwrap().is_empty());
    let run = RunKey {
        workflow_id: "w".into(),
        instance_id: 1,
        run_id: 1,
    };
    let (answers, delta) = as_one_group(
        &store,
        vec![
            vec![create("a")],
            // Lone failed checks: nothing written, nothing to undo.
            vec![update_missing_run(true)],
            vec![WriteOp::UpsertStepAttempt(suite::attempt(
                &run, "nope", 1, "RUNNING", None,
            ))],
            vec![WriteOp::CreateInstance(suite::instance("missing", "m"))],
            vec![WriteOp::UpdateInstance(InstanceUpdate {
                key: run.clone(),
                expect_status: Some(vec!["PAUSED".into()]),
                status: Some("STOPPED".into()),
                modify_ts: 2,
                ..InstanceUpdate::default()
            })],
            // A duplicate start is an answer, not a failure.
            vec![create("first")],
            vec![
                create("b"),
                WriteOp::UpsertStepAttempt(suite::attempt(&run, "s", 1, "RUNNING", Some("{}"))),
                WriteOp::NextSequence { name: "n".into() },
            ],
            vec![create("c")],
            vec![],
        ],
    )
    .await;
    assert_eq!(answers[8].as_deref().ok(), Some(&[][..]));
    assert!(matches!(
        answers[0].as_deref(),
        Ok([WriteOutcome::Instance(CreateInstanceOutcome::Created {
            instance_id: 2,
            ..
        })])
    ));
    assert!(
        matches!(answers[1], Err(StoreError::NotFound(_))),
        "{:?}",
        answers[1]
    );
    assert!(
        matches!(answers[2], Err(StoreError::NotFound(_))),
        "{:?}",
        answers[2]
    );
    assert!(
        matches!(answers[3], Err(StoreError::NotFound(_))),
        "{:?}",
        answers[3]
    );
    assert!(
        matches!(answers[4], Err(StoreError::Conflict(_))),
        "{:?}",
        answers[4]
    );
    assert!(matches!(
        answers[5].as_deref(),
        Ok([WriteOutcome::Instance(CreateInstanceOutcome::Duplicated {
            instance_id: 1,
            run_id: 1
        })])
    ));
    assert!(matches!(
        answers[6].as_deref(),
        Ok([
            WriteOutcome::Instance(CreateInstanceOutcome::Created { instance_id: 3, .. }),
            WriteOutcome::Done,
            WriteOutcome::Sequence(1)
        ])
    ));
    assert!(matches!(
        answers[7].as_deref(),
        Ok([WriteOutcome::Instance(CreateInstanceOutcome::Created {
            instance_id: 4,
            ..
        })])
    ));
    // The held write and the group: two commits, no replay.
    assert_eq!(
        delta,
        Delta {
            commits: 2,
            batches: 6,
            replays: 0
        }
    );
    assert_eq!(instance_ids(&*store).await, [1, 2, 3, 4]);
    assert_eq!(store.list_step_attempts(&run).await.unwrap().len(), 1);
    let first = store.get_instance_run("w", 1, None).await.unwrap().unwrap();
    assert_eq!(first.status, "CREATED", "the failed update wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_group_that_cannot_commit_is_replayed_batch_by_batch() {
    let store = Arc::new(TestStore::new().await);
    put_workflow(&*store, "w").await;
    let replayed = Delta {
        commits: 2,
        batches: 3,
        replays: 1,
    };
    // PostgreSQL refuses a NUL byte in text: an SQL error aborts the transaction.
    let (answers, delta) = as_one_group(
        &store,
        vec![
            vec![create("a")],
            vec![create("nul\0")],
            vec![create("b"), WriteOp::NextSequence { name: "n".into() }],
        ],
    )
    .await;
    assert!(answers[0].is_ok(), "{:?}", answers[0]);
    assert!(
        matches!(answers[1], Err(StoreError::Database(_))),
        "{:?}",
        answers[1]
    );
    assert!(matches!(
        answers[2].as_deref(),
        Ok([
            WriteOutcome::Instance(CreateInstanceOutcome::Created { instance_id: 2, .. }),
            WriteOutcome::Sequence(1)
        ])
    ));
    assert_eq!(delta, replayed);
    // A batch whose first op wrote and whose second failed a check: no SQL error, but the
    // create must be undone with its batch.
    let (answers, delta) = as_one_group(
        &store,
        vec![
            vec![create("c")],
            vec![create("undone"), update_missing_run(false)],
            vec![create("d")],
        ],
    )
    .await;
    assert!(answers[0].is_ok(), "{:?}", answers[0]);
    assert!(
        matches!(answers[1], Err(StoreError::NotFound(_))),
        "{:?}",
        answers[1]
    );
    assert!(answers[2].is_ok(), "{:?}", answers[2]);
    assert_eq!(delta, replayed);
    assert_eq!(instance_ids(&*store).await, [1, 2, 3, 4]);
    let uuids: Vec<String> = store
        .list_instances("w", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uuid)
        .collect();
    assert_eq!(uuids, ["d", "c", "b", "a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_workflow_changes_runs_batch_by_batch_in_one_commit() {
    let store = Arc::new(TestStore::new().await);
    put_workflow(&*store, "w").await;
    let (answers, delta) = as_one_group(
        &store,
        vec![
            vec![create("a")],
            vec![WriteOp::PutVersion(suite::version("w", 1, false))],
            // Stale: the version above is 2 by now.
            vec![WriteOp::PutVersion(suite::version("w", 1, false))],
            vec![WriteOp::SetProperties {
                workflow_id: "w".into(),
                expected_snapshot: "stale".into(),
                snapshot: "{}".into(),
                author: "{}".into(),
                change: "{}".into(),
                ts: 5,
            }],
            vec![
                create("b"),
                WriteOp::PutVersion(suite::version("w", 2, true)),
            ],
        ],
    )
    .await;
    assert!(answers[0].is_ok(), "{:?}", answers[0]);
    assert!(answers[1].is_ok(), "{:?}", answers[1]);
    assert!(
        matches!(answers[2], Err(StoreError::Conflict(_))),
        "{:?}",
        answers[2]
    );
    assert!(
        matches!(answers[3], Err(StoreError::Conflict(_))),
        "{:?}",
        answers[3]
    );
    assert!(answers[4].is_ok(), "{:?}", answers[4]);
    assert_eq!(
        delta,
        Delta {
            commits: 2,
            batches: 4,
            replays: 0
        }
    );
    let row = store.get_workflow("w").await.unwrap().unwrap();
    assert_eq!((row.latest_version_id, row.active_version_id), (3, 3));
    assert_eq!(instance_ids(&*store).await, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_and_readers_reconnect_after_their_connections_are_killed() {
    let schema = fresh_schema_name();
    let _guard = schema_guard(schema.clone());
    let app = schema.clone();
    let separator = if url().contains('?') { '&' } else { '?' };
    let store = PgStore::connect(
        &format!("{}{separator}application_name={app}", url()),
        PgOptions {
            schema: Some(schema.clone()),
            ..PgOptions::default()
        },
    )
    .await
    .unwrap_or_else(|err| opening_failed(err));
    put_workflow(&store, "w").await;
    assert!(store.get_workflow("w").await.unwrap().is_some());
    let killed: i64 = raw_client()
        .await
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed >= 2, "writer and a reader, killed {killed}");
    // A write may fail once while the loss is noticed; then the writer reconnects.
    let mut failures = 0;
    let outcome = loop {
        match store
            .write(vec![WriteOp::CreateInstance(suite::instance("w", "after"))])
            .await
        {
            Ok(outcome) => break outcome,
            Err(err) => {
                failures += 1;
                assert!(failures < 3, "the writer did not recover: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    assert!(matches!(
        outcome[0],
        WriteOutcome::Instance(CreateInstanceOutcome::Created { .. })
    ));
    let mut read = store.get_instance_run("w", 1, None).await;
    if read.is_err() {
        read = store.get_instance_run("w", 1, None).await;
    }
    assert_eq!(read.unwrap().expect("run after reconnect").uuid, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_ids_sort_in_byte_order_as_in_sqlite() {
    let pg = TestStore::new().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("t.db"), SqliteOptions::default()).unwrap();
    let ids = ["b", "_x", "B", "a", "A", "a.b", "aa", "Z9", "é"];
    for store in [&pg as &dyn Store, &sqlite] {
        for id in ids {
            put_workflow(store, id).await;
        }
    }
    let listed =
        |rows: Vec<WorkflowRow>| rows.into_iter().map(|r| r.workflow_id).collect::<Vec<_>>();
    let from_pg = listed(pg.list_workflows(None, 100).await.unwrap());
    assert_eq!(
        from_pg,
        listed(sqlite.list_workflows(None, 100).await.unwrap())
    );
    assert_eq!(from_pg, ["A", "B", "Z9", "_x", "a", "a.b", "aa", "b", "é"]);
    assert_eq!(
        listed(pg.list_workflows(Some("Z9"), 3).await.unwrap()),
        listed(sqlite.list_workflows(Some("Z9"), 3).await.unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_dispatches_on_the_url() {
    // PostgreSQL, in a schema the URL selects.
    let schema = fresh_schema_name();
    let _guard = schema_guard(schema.clone());
    raw_client()
        .await
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if url().contains('?') { '&' } else { '?' };
    let pg = baton_store::open(&format!(
        "{}{separator}options=-csearch_path%3D{schema}",
        url()
    ))
    .await
    .unwrap_or_else(|err| opening_failed(err));
    assert!(pg.describe().starts_with("postgres "), "{}", pg.describe());
    assert!(pg.describe().contains(&schema), "{}", pg.describe());
    put_workflow(&*pg, "w").await;
    assert_eq!(applied_migrations(&schema).await, shipped_migrations());
    drop(pg);
    // Or by Baton's own `schema` parameter, which creates the schema.
    let named = fresh_schema_name();
    let _named_guard = schema_guard(named.clone());
    let pg = baton_store::open(&format!("{}{separator}schema={named}", url()))
        .await
        .unwrap_or_else(|err| opening_failed(err));
    assert!(pg.describe().contains(&named), "{}", pg.describe());
    put_workflow(&*pg, "w").await;
    assert_eq!(applied_migrations(&named).await, shipped_migrations());

    // SQLite, by path and by URL.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let by_path = baton_store::open(path.to_str().unwrap()).await.unwrap();
    assert!(
        by_path.describe().starts_with("sqlite "),
        "{}",
        by_path.describe()
    );
    put_workflow(&*by_path, "w").await;
    drop(by_path);
    let by_url = baton_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(by_url.describe().starts_with("sqlite "));
    assert!(by_url.get_workflow("w").await.unwrap().is_some());

    assert!(matches!(
        baton_store::open("mysql://localhost/db").await,
        Err(StoreError::Database(message)) if message.contains("mysql")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_an_error_that_names_it() {
    let err = match PgStore::connect(
        "postgres://postgres:secret@127.0.0.1:1/test",
        PgOptions::default(),
    )
    .await
    {
        Ok(_) => panic!("connected to port 1"),
        Err(err) => err,
    };
    let text = err.to_string();
    assert!(
        text.contains("cannot connect to PostgreSQL at postgres@127.0.0.1:1/test"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    assert!(matches!(
        PgStore::connect(
            &url(),
            PgOptions {
                schema: Some("Bad-Name".into()),
                ..PgOptions::default()
            }
        )
        .await,
        Err(StoreError::Database(_))
    ));
}

fn add_signal(name: &str, instance_id: &str, n: i64) -> WriteOp {
    WriteOp::AddSignal(baton_store::NewSignal {
        name: name.to_string(),
        instance_id: instance_id.to_string(),
        instance: "{}".to_string(),
        params: vec![("n".to_string(), baton_store::SignalValue::Long(n))],
        create_ts: 1,
    })
}

fn seq_of(answer: &Result<Vec<WriteOutcome>>) -> Option<baton_store::AddSignalOutcome> {
    match answer.as_deref() {
        Ok([WriteOutcome::Signal(outcome), ..]) => Some(*outcome),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_of_one_name_in_one_group_commit_get_consecutive_ids() {
    use baton_store::AddSignalOutcome::{Created, Duplicated};
    let store = Arc::new(TestStore::new().await);
    let trigger = |expected: i64| {
        WriteOp::PutTrigger(baton_store::TriggerWrite {
            workflow_id: "w".into(),
            trigger_uuid: "t".into(),
            kind: "SIGNAL".into(),
            definition: "{}".into(),
            state: format!("{{\"at\": {expected}}}"),
            expected_version: expected,
            ts: 1,
        })
    };
    let (answers, delta) = as_one_group(
        &store,
        vec![
            vec![add_signal("s", "a", 1)],
            vec![add_signal("s", "b", 2)],
            // The same instance id later in the same transaction: found, not stored.
            vec![add_signal("s", "a", 1)],
            vec![add_signal("s", "c", 3), trigger(0)],
            // A stale trigger version fails alone and writes nothing.
            vec![trigger(5)],
            vec![add_signal("other", "a", 9)],
            vec![add_signal("s", "d", 4)],
        ],
    )
    .await;
    assert_eq!(seq_of(&answers[0]), Some(Created { seq_id: 1 }));
    assert_eq!(seq_of(&answers[1]), Some(Created { seq_id: 2 }));
    assert_eq!(seq_of(&answers[2]), Some(Duplicated { seq_id: 1 }));
    assert_eq!(seq_of(&answers[3]), Some(Created { seq_id: 3 }));
    assert!(
        matches!(answers[4], Err(StoreError::Conflict(_))),
        "{:?}",
        answers[4]
    );
    assert_eq!(seq_of(&answers[5]), Some(Created { seq_id: 1 }));
    assert_eq!(seq_of(&answers[6]), Some(Created { seq_id: 4 }));
    // The held write and the group: two commits, nothing replayed.
    assert_eq!(
        delta,
        Delta {
            commits: 2,
            batches: 7,
            replays: 0
        }
    );
    let query = |n: i64| baton_store::SignalQuery {
        name: "s".into(),
        after_seq: 0,
        conditions: vec![baton_store::SignalCondition {
            param: "n".into(),
            op: baton_store::CompareOp::Eq,
            value: baton_store::SignalValue::Long(n),
        }],
        limit: 10,
    };
    for (n, seq) in [(1, 1), (2, 2), (3, 3), (4, 4)] {
        let found = store.find_signals(&query(n)).await.unwrap();
        assert_eq!(found.iter().map(|r| r.seq_id).collect::<Vec<_>>(), [seq]);
    }
    let triggers = store.list_triggers(None).await.unwrap();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0].version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_in_two_processes_draw_distinct_consecutive_signal_ids() {
    let schema = fresh_schema_name();
    let _guard = schema_guard(schema.clone());
    // Two stores on one schema: two writers, as two cluster nodes have.
    let stores = [
        Arc::new(connect(&schema).await),
        Arc::new(connect(&schema).await),
    ];
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(vec![add_signal("shared", &format!("id-{i}"), i as i64)])
                .await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        match seq_of(&task.await.unwrap()) {
            Some(baton_store::AddSignalOutcome::Created { seq_id }) => seqs.push(seq_id),
            other => panic!("{other:?}"),
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=60).collect::<Vec<i64>>());
    // Both processes see all of them.
    for store in &stores {
        let latest = store.get_signal("shared", None).await.unwrap().unwrap();
        assert_eq!(latest.seq_id, 60);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_is_deleted_while_the_writer_is_busy() {
    let store = Arc::new(TestStore::new().await);
    for id in ["doomed", "busy", "active"] {
        put_workflow(&*store, id).await;
    }
    let mut doomed_runs = Vec::new();
    for i in 0..5 {
        let key = match store
            .write(vec![WriteOp::CreateInstance(suite::instance(
                "doomed",
                &format!("d{i}"),
            ))])
            .await
            .unwrap()
            .pop()
        {
            Some(WriteOutcome::Instance(CreateInstanceOutcome::Created {
                instance_id,
                run_id,
                ..
            })) => RunKey {
                workflow_id: "doomed".into(),
                instance_id,
                run_id,
            },
            other => panic!("{other:?}"),
        };
        store
            .write(vec![
                WriteOp::UpsertStepAttempt(suite::attempt(&key, "s", 1, "SUCCEEDED", Some("{}"))),
                WriteOp::UpdateInstance(InstanceUpdate {
                    key: key.clone(),
                    status: Some("SUCCEEDED".into()),
                    queued: Some(false),
                    modify_ts: 2,
                    ..InstanceUpdate::default()
                }),
            ])
            .await
            .unwrap();
        doomed_runs.push(key);
    }
    store
        .write(vec![WriteOp::CreateInstance(suite::instance(
            "active", "a",
        ))])
        .await
        .unwrap();

    // Writers keep the group-commit writer busy the whole time.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut written = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || written < 20 {
                let uuid = format!("busy-{w}-{written}");
                store
                    .write(vec![WriteOp::CreateInstance(suite::instance(
                        "busy", &uuid,
                    ))])
                    .await
                    .expect("a write next to the deletion");
                written += 1;
            }
            written
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Refused deletions roll back and leave the writer working.
    assert!(matches!(
        store.delete_workflow("active").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.delete_workflow("missing").await,
        Err(StoreError::NotFound(_))
    ));
    let deleted = store.delete_workflow("doomed").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for writer in writers {
        total += writer.await.unwrap();
    }
    assert_eq!(deleted.runs, 5);
    assert_eq!(deleted.step_attempts, 5);
    assert_eq!(deleted.versions, 1);
    assert!(store.get_workflow("doomed").await.unwrap().is_none());
    for key in &doomed_runs {
        assert!(store.list_step_attempts(key).await.unwrap().is_empty());
    }
    let busy = store.get_workflow("busy").await.unwrap().unwrap();
    assert_eq!(busy.latest_instance_id, i64::from(total));
    assert!(store.get_workflow("active").await.unwrap().is_some());
    // The id floor survives: a new incarnation continues after the deleted ids.
    put_workflow(&*store, "doomed").await;
    let again = store
        .write(vec![WriteOp::CreateInstance(suite::instance(
            "doomed", "x",
        ))])
        .await
        .unwrap();
    assert!(matches!(
        again.as_slice(),
        [WriteOutcome::Instance(CreateInstanceOutcome::Created {
            instance_id: 6,
            ..
        })]
    ));
}

/// Cluster wake-ups: a NOTIFY from one process reaches every listener on the same schema (the
/// sender's own included), and never a listener on another schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_every_listener_of_the_schema() {
    let schema = fresh_schema_name();
    let _guard = schema_guard(schema.clone());
    let other_schema = fresh_schema_name();
    let _other_guard = schema_guard(other_schema.clone());
    let a = connect(&schema).await;
    let b = connect(&schema).await;
    let elsewhere = connect(&other_schema).await;
    let mut heard_a = a.listen().await.unwrap().expect("PostgreSQL listens");
    let mut heard_b = b.listen().await.unwrap().expect("PostgreSQL listens");
    let mut heard_elsewhere = elsewhere.listen().await.unwrap().expect("listens");
    // The listening connections come up in the background: repeat until one message lands.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        a.notify("signal n1 1 ready").await.unwrap();
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), heard_b.recv()).await
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no notification arrived");
    };
    assert_eq!(first, "signal n1 1 ready");
    b.notify("workflow n2 wf-1").await.unwrap();
    let mut got = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), heard_a.recv()).await {
        got.push(m);
    }
    assert!(got.contains(&"workflow n2 wf-1".to_string()), "{got:?}");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), heard_elsewhere.recv())
            .await
            .is_err(),
        "another schema's listener heard nothing"
    );
}
