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
