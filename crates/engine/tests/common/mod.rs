//! Shared test harness: an engine on a temporary store, and helpers to push a definition, start
//! it and wait for the run to end.
//!
//! The store is SQLite (a file in the test's directory) unless `BATON_TEST_BACKEND=postgres`:
//! then it is a fresh schema of the PostgreSQL database at `BATON_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; see [`open_store`]), so any engine test binary
//! can be run on either backend. `postgres_engine.rs` runs its tests on PostgreSQL always.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Engine, EngineConfig, EngineEvent};
use baton_model::api::WorkflowStartRequest;
use baton_model::definition::{User, WorkflowCreateRequest};
use baton_model::instance::{Initiator, StepInstance, WorkflowInstance, WorkflowInstanceStatus};
use baton_store::postgres::{PgOptions, PgStore};
use baton_store::sqlite::{SqliteOptions, SqliteStore};
use baton_store::{RunKey, Store};

/// The store backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `BATON_TEST_BACKEND=postgres` (or `pg`) picks PostgreSQL; anything else SQLite.
    pub fn from_env() -> Backend {
        match std::env::var("BATON_TEST_BACKEND").as_deref() {
            Ok("postgres") | Ok("postgresql") | Ok("pg") => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// The prefix of the schemas engine tests create.
const SCHEMA_PREFIX: &str = "baton_eng_";

/// Opens the store of the test directory `dir` on `backend`. Opening the same directory again
/// (an engine restart) opens the same data: on PostgreSQL the schema's name is kept in a file of
/// the directory. A new schema is commented with the directory's path; schemas of directories
/// that no longer exist (their tests have ended) are dropped then, so the database does not
/// fill up with old test schemas.
pub async fn open_store(dir: &Path, backend: Backend) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => Arc::new(
            SqliteStore::open(dir.join("baton.db"), SqliteOptions::default()).expect("open store"),
        ),
        Backend::Postgres => {
            let marker = dir.join("pg_schema");
            let schema = match std::fs::read_to_string(&marker) {
                Ok(schema) => schema.trim().to_string(),
                Err(_) => {
                    let schema = format!("{SCHEMA_PREFIX}{:016x}", fastrand::u64(..));
                    std::fs::write(&marker, &schema).expect("write the schema marker");
                    sweep_and_reserve(&schema, dir).await;
                    schema
                }
            };
            let store = PgStore::connect(
                &postgres_url(),
                PgOptions {
                    schema: Some(schema),
                    readers: 2,
                    ..PgOptions::default()
                },
            )
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "the engine tests on PostgreSQL need a server at {} ({err}); start it or \
                     point BATON_TEST_POSTGRES_URL at one",
                    postgres_url()
                )
            });
            Arc::new(store)
        }
    }
}

/// Creates `schema` with the test directory as its comment, and drops the schemas of earlier
/// tests whose directories are gone. Best effort: a failed drop is left for a later sweep.
async fn sweep_and_reserve(schema: &str, dir: &Path) {
    let Ok((client, connection)) =
        tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await
    else {
        // The store's own connect reports the missing server.
        return;
    };
    tokio::spawn(connection);
    let path = dir.display().to_string().replace('\'', "''");
    let _ = client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; COMMENT ON SCHEMA {schema} IS '{path}'"
        ))
        .await;
    let Ok(rows) = client
        .query(
            "SELECT nspname::TEXT, obj_description(oid, 'pg_namespace') FROM pg_namespace \
             WHERE starts_with(nspname, $1)",
            &[&SCHEMA_PREFIX],
        )
        .await
    else {
        return;
    };
    // A drop waits at most briefly for a still-running engine's transaction.
    let _ = client.batch_execute("SET lock_timeout = '2s'").await;
    for row in rows {
        let name: String = row.get(0);
        let owner: Option<String> = row.get(1);
        let gone = owner.is_some_and(|path| !Path::new(&path).exists());
        if gone && name != schema {
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await;
        }
    }
}

pub struct Harness {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

pub fn compat(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat")
        .join(path)
}

impl Harness {
    /// An engine on a fresh store of the backend `BATON_TEST_BACKEND` names.
    pub async fn new() -> Harness {
        Self::new_on(Backend::from_env()).await
    }

    pub async fn new_on(backend: Backend) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Self::engine_on(dir.path(), backend).await;
        Harness { engine, dir }
    }

    /// An engine on the store of `dir` (the same store again after a restart).
    pub async fn engine_at(dir: &Path) -> Engine {
        Self::engine_on(dir, Backend::from_env()).await
    }

    pub async fn engine_on(dir: &Path, backend: Backend) -> Engine {
        let store = open_store(dir, backend).await;
        Engine::start(store, EngineConfig::new(dir.join("work")))
            .await
            .expect("engine")
    }

    pub async fn push_json(&self, json: &str) -> String {
        let req: WorkflowCreateRequest = serde_json::from_str(json).expect("parse request");
        let id = req.workflow.id.clone();
        self.engine
            .push_workflow(req, User::new("tester"))
            .await
            .expect("push");
        id
    }

    pub async fn push_file(&self, path: &str) -> String {
        let text = std::fs::read_to_string(compat(path)).expect("read sample");
        self.push_json(&text).await
    }

    /// Starts and waits for the run to end; returns the run and its latest attempts.
    pub async fn run(
        &self,
        workflow_id: &str,
        request: Option<WorkflowStartRequest>,
    ) -> (WorkflowInstance, Vec<StepInstance>) {
        let mut events = self.engine.subscribe();
        let req = request.unwrap_or_else(|| WorkflowStartRequest {
            initiator: Initiator::manual(None),
            request_time: None,
            request_id: None,
            runtime_tags: None,
            run_params: None,
            artifacts: None,
            persist_failed_run: false,
        });
        let resp = self
            .engine
            .start_workflow(workflow_id, "latest", req, Some(User::new("tester")))
            .await
            .expect("start");
        let key = RunKey {
            workflow_id: workflow_id.to_string(),
            instance_id: resp.workflow_instance_id,
            run_id: resp.workflow_run_id,
        };
        self.wait_terminal(&key, &mut events, Duration::from_secs(30))
            .await;
        let wi = self
            .engine
            .get_instance_run(workflow_id, key.instance_id, Some(key.run_id))
            .await
            .expect("instance");
        let steps = self.engine.latest_attempts(&key).await.expect("steps");
        (wi, steps)
    }

    pub async fn wait_terminal(
        &self,
        key: &RunKey,
        events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
        within: Duration,
    ) -> WorkflowInstanceStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(wi) = self
                .engine
                .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
                .await
                && wi.status.is_terminal()
            {
                return wi.status;
            }
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                panic!("run {key:?} did not end within {within:?}");
            }
            let _ = tokio::time::timeout(remaining.min(Duration::from_millis(200)), events.recv())
                .await;
        }
    }
}

pub fn status_of(steps: &[StepInstance], id: &str) -> Option<String> {
    steps
        .iter()
        .find(|s| s.step_id == id)
        .map(|s| s.runtime_state.status.as_str().to_string())
}

/// A runtime for tests, registered for the `Titus` step type (which has no real runtime): each
/// attempt's outcome comes from the step's `outcomes` STRING_ARRAY param, indexed by attempt
/// (the last entry repeats): `DONE`, `USER_ERROR`, `PLATFORM_ERROR`, `FATAL_ERROR`, or
/// `SLEEP:<ms>` (then done). A `retryable_false` outcome reports `maestro_retry`.
pub struct ScriptedRuntime;

#[async_trait::async_trait]
impl baton_engine::runtime::StepRuntime for ScriptedRuntime {
    async fn execute(
        &self,
        ctx: &baton_engine::runtime::StepContext,
    ) -> baton_engine::runtime::RuntimeResult {
        use baton_engine::runtime::RuntimeResult;
        use baton_model::instance::RuntimeState;
        use baton_model::params::EvaluatedValue;
        let outcomes = match ctx
            .params
            .get("outcomes")
            .and_then(|p| p.evaluated_result.as_ref())
        {
            Some(EvaluatedValue::StringArray(v)) => v.clone(),
            _ => vec!["DONE".to_string()],
        };
        let i = (ctx.step_attempt_id as usize)
            .saturating_sub(1)
            .min(outcomes.len().saturating_sub(1));
        let outcome = outcomes.get(i).cloned().unwrap_or_else(|| "DONE".into());
        if let Some(ms) = outcome.strip_prefix("SLEEP:") {
            let ms: u64 = ms.parse().unwrap_or(0);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return RuntimeResult::state(RuntimeState::Done);
        }
        if outcome == "retryable_false" {
            let mut r = RuntimeResult::state(RuntimeState::UserError);
            let artifact: baton_model::instance::Artifact =
                serde_json::from_value(serde_json::json!({"type": "RETRY", "retryable": false}))
                    .expect("retry artifact");
            r.artifacts.insert("maestro_retry".into(), artifact);
            return r;
        }
        let state = match outcome.as_str() {
            "USER_ERROR" => RuntimeState::UserError,
            "PLATFORM_ERROR" => RuntimeState::PlatformError,
            "FATAL_ERROR" => RuntimeState::FatalError,
            _ => RuntimeState::Done,
        };
        RuntimeResult::state(state)
    }

    fn resumable(&self) -> bool {
        true
    }
}

impl Harness {
    /// A harness whose engine also runs `Titus` steps with [`ScriptedRuntime`].
    pub async fn scripted() -> Harness {
        Self::scripted_on(Backend::from_env()).await
    }

    pub async fn scripted_on(backend: Backend) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open_store(dir.path(), backend).await;
        let mut config = EngineConfig::new(dir.path().join("work"));
        config.runtimes.register(
            baton_model::definition::StepType::Titus,
            std::sync::Arc::new(ScriptedRuntime),
        );
        let engine = Engine::start(store, config).await.expect("engine");
        Harness { engine, dir }
    }

    pub fn attempts_of<'a>(&self, all: &'a [StepInstance], id: &str) -> Vec<&'a StepInstance> {
        all.iter().filter(|s| s.step_id == id).collect()
    }

    pub async fn all_attempts(&self, wi: &WorkflowInstance) -> Vec<StepInstance> {
        self.engine
            .get_step_attempts(&RunKey {
                workflow_id: wi.workflow_id.clone(),
                instance_id: wi.workflow_instance_id,
                run_id: wi.workflow_run_id,
            })
            .await
            .expect("attempts")
    }
}

/// A scripted step: `outcomes` per attempt, optional extra JSON fields on the step.
pub fn scripted(id: &str, outcomes: &[&str], successors: &[&str], extra: &str) -> String {
    let succ: Vec<String> = successors
        .iter()
        .map(|s| format!(r#""{s}": "true""#))
        .collect();
    let outs: Vec<String> = outcomes.iter().map(|o| format!(r#""{o}""#)).collect();
    format!(
        r#"{{"step": {{"id": "{id}", "type": "Titus", "transition": {{"successors": {{{}}}}},
            "params": {{"outcomes": {{"value": [{}], "type": "STRING_ARRAY"}}}}{extra}}}}}"#,
        succ.join(","),
        outs.join(",")
    )
}

/// A manual start request with nothing else set.
pub fn start_request() -> WorkflowStartRequest {
    WorkflowStartRequest {
        initiator: Initiator::manual(None),
        request_time: None,
        request_id: None,
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: false,
    }
}

/// Starts the latest version manually as `tester`.
pub async fn start(engine: &Engine, workflow_id: &str) -> RunKey {
    let resp = engine
        .start_workflow(
            workflow_id,
            "latest",
            start_request(),
            Some(User::new("tester")),
        )
        .await
        .expect("start");
    RunKey {
        workflow_id: workflow_id.to_string(),
        instance_id: resp.workflow_instance_id,
        run_id: resp.workflow_run_id,
    }
}

/// Waits (≤ 20 s) until `step`'s latest attempt in `run` has `status`.
pub async fn wait_step(engine: &Engine, run: &RunKey, step: &str, status: &str) -> StepInstance {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let attempts = engine.latest_attempts(run).await.expect("attempts");
        if let Some(si) = attempts.iter().find(|s| s.step_id == step)
            && si.runtime_state.status.as_str() == status
        {
            return si.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "step {step} of {run:?} never reached {status}: {:?}",
            attempts
                .iter()
                .map(|s| (s.step_id.clone(), s.runtime_state.status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits (≤ 20 s) until `run` is terminal; the run and its latest attempts.
pub async fn wait_run(engine: &Engine, run: &RunKey) -> (WorkflowInstance, Vec<StepInstance>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let wi = engine
            .get_instance_run(&run.workflow_id, run.instance_id, Some(run.run_id))
            .await
            .expect("run");
        if wi.status.is_terminal() {
            let steps = engine.latest_attempts(run).await.expect("steps");
            return (wi, steps);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {run:?} did not end"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
