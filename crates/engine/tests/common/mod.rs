//! Shared test harness: an engine on a temporary SQLite file, and helpers to push a definition,
//! start it and wait for the run to end.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Engine, EngineConfig, EngineEvent};
use baton_model::api::WorkflowStartRequest;
use baton_model::definition::{User, WorkflowCreateRequest};
use baton_model::instance::{Initiator, StepInstance, WorkflowInstance, WorkflowInstanceStatus};
use baton_store::RunKey;
use baton_store::sqlite::{SqliteOptions, SqliteStore};

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
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Self::engine_at(dir.path()).await;
        Harness { engine, dir }
    }

    pub async fn engine_at(dir: &std::path::Path) -> Engine {
        let store =
            SqliteStore::open(dir.join("baton.db"), SqliteOptions::default()).expect("open store");
        Engine::start(Arc::new(store), EngineConfig::new(dir.join("work")))
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
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("baton.db"), SqliteOptions::default())
            .expect("open store");
        let mut config = EngineConfig::new(dir.path().join("work"));
        config.runtimes.register(
            baton_model::definition::StepType::Titus,
            std::sync::Arc::new(ScriptedRuntime),
        );
        let engine = Engine::start(Arc::new(store), config)
            .await
            .expect("engine");
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
