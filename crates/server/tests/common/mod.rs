//! An in-process server on an ephemeral port over a temporary SQLite store, and a small client.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Engine, EngineConfig};
use baton_store::Store;
use baton_store::sqlite::{SqliteOptions, SqliteStore};
use serde_json::{Value, json};

pub struct TestServer {
    pub base: String,
    pub engine: Engine,
    pub store: Arc<SqliteStore>,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A response: status and body (JSON when it parses, else a string value).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path().join("baton.db"), SqliteOptions::default()).unwrap(),
        );
        let engine = Engine::start(
            store.clone() as Arc<dyn Store>,
            EngineConfig::new(dir.path().join("work")),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = baton_server::app(engine.clone(), baton_server::ServerOptions::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            baton_server::serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            engine,
            store,
            http: reqwest::Client::new(),
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.engine.shutdown(Duration::from_secs(5)).await;
    }

    /// Sends a request; `body` is sent as is with `content_type` when given.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        user: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(u) = user {
            req = req.header("user", u);
        }
        if let Some((ct, bytes)) = body {
            if !ct.is_empty() {
                req = req.header("Content-Type", ct);
            }
            req = req.body(bytes);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            body,
            content_type,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.raw("GET", path, None, None).await
    }

    pub async fn json(&self, method: &str, path: &str, body: &Value) -> Resp {
        self.raw(
            method,
            path,
            Some("tester"),
            Some(("application/json", serde_json::to_vec(body).unwrap())),
        )
        .await
    }

    pub async fn put(&self, path: &str) -> Resp {
        self.raw("PUT", path, Some("tester"), None).await
    }

    /// Pushes a workflow and asserts success.
    pub async fn push(&self, request: &Value) -> Value {
        let r = self.json("POST", "/api/v3/workflows", request).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }

    /// Starts the latest version and returns the instance id.
    pub async fn start_latest(&self, wid: &str, run_params: Option<Value>) -> i64 {
        let mut body = json!({"initiator": {"type": "manual"}});
        if let Some(p) = run_params {
            body["run_params"] = p;
        }
        let r = self
            .json(
                "POST",
                &format!("/api/v3/workflows/{wid}/versions/latest/actions/start"),
                &body,
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["workflow_instance_id"].as_i64().unwrap()
    }

    /// Polls the latest run of an instance until it is terminal.
    pub async fn wait_terminal(&self, wid: &str, iid: i64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .get(&format!("/api/v3/workflows/{wid}/instances/{iid}"))
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let status = r.body["status"].as_str().unwrap().to_string();
            if ["SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT"].contains(&status.as_str()) {
                return r.body;
            }
            assert!(tokio::time::Instant::now() < deadline, "still {status}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until a step of the latest run reaches `status`.
    pub async fn wait_step(&self, wid: &str, iid: i64, step: &str, status: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .get(&format!(
                    "/api/v3/workflows/{wid}/instances/{iid}/steps/{step}"
                ))
                .await;
            if r.status == 200 && r.body["runtime_state"]["status"] == status {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "step {step}: {:?}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A create request with NoOp steps in a chain.
pub fn noop_chain(id: &str, steps: usize) -> Value {
    let steps: Vec<Value> = (0..steps)
        .map(|i| {
            let mut s = json!({"step": {"id": format!("s{i}"), "type": "NoOp"}});
            if i + 1 < steps {
                s["step"]["transition"] = json!({"successors": {format!("s{}", i + 1): "true"}});
            }
            s
        })
        .collect();
    json!({"properties": {"owner": "tester"}, "workflow": {"id": id, "steps": steps}})
}

/// A create request with one Sleep step of `secs` seconds.
pub fn sleeper(id: &str, secs: i64) -> Value {
    json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": id, "steps": [
            {"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": secs, "type": "LONG"}}}}
        ]}
    })
}

/// Maestro's sample from the README walkthrough.
pub fn sample_dag_test_1() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/maestro-samples/sample-dag-test-1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
