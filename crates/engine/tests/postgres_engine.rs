//! The engine on PostgreSQL, always: a representative set of end-to-end checks — DAG execution,
//! retries, foreach and subworkflow steps, signals with a waiting step and a signal trigger, a
//! time trigger, recovery after an engine restart, run strategies, workflow deletion — so CI
//! exercises the engine on both backends without running every engine test twice. (Any engine
//! test binary runs on PostgreSQL with `BATON_TEST_BACKEND=postgres`.)
//!
//! Each test works in a fresh schema of the database at `BATON_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; see `common::open_store`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Engine, EngineConfig, ManualClock};
use baton_model::api::{SignalCreateRequest, WorkflowStartRequest};
use baton_model::definition::User;
use baton_model::instance::{
    Artifact, Initiator, StepDependencyMatchStatus, StepInstance, WorkflowInstance,
};
use baton_store::RunKey;
use common::{Backend, Harness, compat, scripted, status_of};
use serde_json::{Value, json};

const PG: Backend = Backend::Postgres;

fn wf(id: &str, props: Value, steps: Value) -> String {
    let mut p = json!({"owner": "tester"});
    if let (Value::Object(base), Value::Object(extra)) = (&mut p, props) {
        base.extend(extra);
    }
    json!({"properties": p, "workflow": {"id": id, "steps": steps}}).to_string()
}

fn start_request() -> WorkflowStartRequest {
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

async fn start(engine: &Engine, workflow_id: &str) -> RunKey {
    let resp = engine
        .start_workflow(workflow_id, "latest", start_request(), None)
        .await
        .expect("start");
    RunKey {
        workflow_id: workflow_id.to_string(),
        instance_id: resp.workflow_instance_id,
        run_id: resp.workflow_run_id,
    }
}

async fn wait(h: &Harness, key: &RunKey) -> WorkflowInstance {
    let mut events = h.engine.subscribe();
    h.wait_terminal(key, &mut events, Duration::from_secs(30))
        .await;
    h.engine
        .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
        .await
        .expect("run")
}

fn step<'a>(steps: &'a [StepInstance], id: &str) -> &'a StepInstance {
    steps
        .iter()
        .find(|s| s.step_id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Every run of a workflow (latest run of each instance), oldest first.
async fn runs_of(engine: &Engine, workflow_id: &str) -> Vec<WorkflowInstance> {
    let mut out = Vec::new();
    for row in engine
        .store()
        .list_instances(workflow_id, None, 100_000)
        .await
        .expect("instances")
    {
        out.push(
            engine
                .get_instance_run(workflow_id, row.key.instance_id, Some(row.key.run_id))
                .await
                .expect("run"),
        );
    }
    out.sort_by_key(|w| w.workflow_instance_id);
    out
}

/// Waits until the workflow has `n` runs, all finished.
async fn wait_runs(engine: &Engine, workflow_id: &str, n: usize) -> Vec<WorkflowInstance> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let runs = runs_of(engine, workflow_id).await;
        if runs.len() >= n && runs.iter().all(|r| r.status.is_terminal()) {
            return runs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{workflow_id}: expected {n} finished runs, have {}",
            runs.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn foreach(id: &str, n: i64, concurrency: i64, body: Value) -> Value {
    json!({"foreach": {"id": id, "concurrency": concurrency,
        "params": {"loop_params": {"type": "MAP", "value": {
            "i": {"expression": format!("Util.intsBetween(1, {}, 1)", n + 1), "type": "LONG_ARRAY"}}}},
        "steps": [body]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dag_runs_its_steps_in_dependency_order() {
    let h = Harness::new_on(PG).await;
    assert!(h.engine.store().describe().starts_with("postgres "));
    let id = h
        .push_json(&wf(
            "dag",
            json!({"run_strategy": "parallel"}),
            json!([
                {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true", "c": "true"}}}},
                {"step": {"id": "b", "type": "NoOp", "transition": {"successors": {"d": "true"}}}},
                {"step": {"id": "c", "type": "NoOp", "transition": {"successors": {"d": "true"}}}},
                {"step": {"id": "d", "type": "NoOp"}}
            ]),
        ))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(steps.len(), 4);
    let t = |id: &str| {
        let s = step(&steps, id);
        (
            s.runtime_state.start_time.unwrap(),
            s.runtime_state.end_time.unwrap(),
        )
    };
    assert!(t("a").1 <= t("b").0 && t("a").1 <= t("c").0);
    assert!(t("b").1 <= t("d").0 && t("c").1 <= t("d").0);
    assert_eq!(wi.runtime_overview.expect("overview").total_step_count, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_error_is_retried_then_succeeds() {
    let h = Harness::scripted_on(PG).await;
    let retry = r#", "retry_policy": {"error_retry_limit": 2,
        "backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 1}}"#;
    let id = h
        .push_json(&format!(
            r#"{{"properties": {{"owner": "tester"}}, "workflow": {{"id": "retry-wf", "steps": [{}]}}}}"#,
            scripted("flaky", &["USER_ERROR", "DONE"], &[], retry)
        ))
        .await;
    let (wi, _) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let all = h.all_attempts(&wi).await;
    let attempts = h.attempts_of(&all, "flaky");
    let statuses: Vec<&str> = attempts
        .iter()
        .map(|a| a.runtime_state.status.as_str())
        .collect();
    assert_eq!(statuses, ["USER_FAILED", "SUCCEEDED"]);
    assert_eq!(attempts[0].step_instance_id, attempts[1].step_instance_id);
    let gap = attempts[1].runtime_state.create_time.unwrap()
        - attempts[0].runtime_state.end_time.unwrap();
    assert!(gap >= 1000, "the retry came after {gap} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreach_and_subworkflow_steps_run_their_children() {
    let h = Harness::new_on(PG).await;
    let inner = json!([{"step": {"id": "inner", "type": "NoOp",
        "params": {"out": {"expression": "'hello ' + greeting", "type": "STRING"}}}}]);
    h.push_json(
        &json!({"properties": {"owner": "tester"}, "workflow": {"id": "child-wf",
            "params": {"greeting": {"value": "nobody", "type": "STRING"}}, "steps": inner}})
        .to_string(),
    )
    .await;
    let body = json!({"step": {"id": "job", "type": "NoOp",
        "params": {"x": {"expression": "i * 10", "type": "LONG"}}}});
    let mut fe = foreach("loop", 5, 2, body);
    fe["foreach"]["transition"] = json!({"successors": {"read": "true"}});
    let sub = json!({"subworkflow": {"id": "sub",
        "transition": {"successors": {"read": "true"}},
        "params": {"subworkflow_id": {"value": "child-wf", "type": "STRING"},
                   "greeting": {"value": "world", "type": "STRING"}}}});
    let read = json!({"step": {"id": "read", "type": "NoOp", "params": {
        "xs": {"expression": "params.getFromForeach('loop', 'job', 'x')", "type": "LONG_ARRAY"},
        "out": {"expression": "params.getFromSubworkflow('sub', 'inner', 'out')", "type": "STRING"}}}});
    let id = h
        .push_json(&wf("reader", json!({}), json!([fe, sub, read])))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let p = step(&steps, "read").params.clone().unwrap();
    let get = |n: &str| p[n].evaluated_result.as_ref().map(|v| v.to_json());
    assert_eq!(get("xs"), Some(json!([10, 20, 30, 40, 50])));
    assert_eq!(get("out"), Some(json!("hello world")));
    let Some(Artifact::Foreach(a)) = step(&steps, "loop")
        .artifacts
        .as_ref()
        .and_then(|a| a.get("maestro_foreach"))
        .cloned()
    else {
        panic!("no foreach artifact")
    };
    let iterations = runs_of(&h.engine, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(iterations.len(), 5);
    assert!(iterations.iter().all(|w| w.status.as_str() == "SUCCEEDED"));
    assert_eq!(runs_of(&h.engine, "child-wf").await.len(), 1);
}

fn signal(name: &str, params: Value) -> SignalCreateRequest {
    serde_json::from_value(json!({"name": name, "params": params})).expect("signal request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_waits_for_a_matching_signal_and_a_signal_trigger_starts_runs() {
    let h = Harness::new_on(PG).await;
    let e = &h.engine;
    // A step that waits for a signal with a param in range.
    let waiting = json!({"properties": {"owner": "tester"}, "workflow": {"id": "waiter",
        "steps": [{"step": {"id": "wait", "type": "NoOp",
            "signal_dependencies": [{"name": "db/orders",
                "match_params": {"dateint": {"param": {"value": 20240101, "type": "LONG"},
                    "operator": ">="}}}]}}]}});
    let id = h.push_json(&waiting.to_string()).await;
    let run = start(e, &id).await;
    // Too old, and a string where a long is expected: no match.
    e.announce_signal(signal("db/orders", json!({"dateint": 20231231})))
        .await
        .unwrap();
    e.announce_signal(signal("db/orders", json!({"dateint": "20240105"})))
        .await
        .unwrap();
    e.signals_settled().await;
    let hit = e
        .announce_signal(signal("db/orders", json!({"dateint": 20240102})))
        .await
        .unwrap();
    assert_eq!(hit.seq_id, 3, "sequence ids count per name");
    let wi = wait(&h, &run).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let steps = e.latest_attempts(&run).await.unwrap();
    let dep = &step(&steps, "wait")
        .signal_dependencies
        .as_ref()
        .unwrap()
        .dependencies[0];
    assert_eq!(dep.status, StepDependencyMatchStatus::Matched);
    assert_eq!(dep.signal_id, Some(hit.seq_id));

    // A workflow started by a signal trigger, once per matching signal.
    let triggered = json!({"properties": {"owner": "tester"}, "workflow": {"id": "trig-wf",
        "signal_triggers": [{"definitions": {"go": {"match_params": {"n": {"value": 0, "operator": ">"}}}}}],
        "params": {"n2": {"expression": "params.getFromSignal('go', 'n') * 2", "type": "LONG"}},
        "steps": [{"step": {"id": "s", "type": "NoOp"}}]}});
    let trig = h.push_json(&triggered.to_string()).await;
    e.announce_signal(signal("go", json!({"n": 0})))
        .await
        .unwrap();
    e.announce_signal(signal("go", json!({"n": 21})))
        .await
        .unwrap();
    e.signals_settled().await;
    let runs = wait_runs(e, &trig, 1).await;
    assert_eq!(runs.len(), 1, "only n > 0 matches");
    let n2 = runs[0].params.as_ref().unwrap()["n2"]
        .evaluated_result
        .as_ref()
        .map(|v| v.to_json());
    assert_eq!(n2, Some(json!(42)));
    assert!(matches!(runs[0].initiator, Initiator::Signal(_)));
    e.announce_signal(signal("go", json!({"n": 1})))
        .await
        .unwrap();
    wait_runs(e, &trig, 2).await;
    let listed = e.list_triggers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, "SIGNAL");
}

fn at(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_trigger_fires_and_a_restart_neither_skips_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-05-06T00:00:10Z"));
    let engine_at = |clock: ManualClock| {
        let dir = dir.path().to_path_buf();
        async move {
            let store = common::open_store(&dir, PG).await;
            let mut config = EngineConfig::new(dir.join("work"));
            config.clock = Arc::new(clock);
            Engine::start(store, config).await.expect("engine")
        }
    };
    let engine = engine_at(clock.clone()).await;
    let text =
        std::fs::read_to_string(compat("maestro-samples/sample-time-trigger-wf.json")).unwrap();
    let req: baton_model::definition::WorkflowCreateRequest = serde_json::from_str(&text).unwrap();
    let id = req.workflow.id.clone();
    engine
        .push_workflow(req, User::new("tester"))
        .await
        .unwrap();
    clock.set(at("2024-05-06T00:02:31Z"));
    let runs = wait_runs(&engine, &id, 1).await;
    assert_eq!(runs[0].status.as_str(), "SUCCEEDED");
    let Initiator::Time(t) = &runs[0].initiator else {
        panic!("initiator {:?}", runs[0].initiator);
    };
    assert_eq!(t.trigger_time, at("2024-05-06T00:02:00Z"));
    // Down across the next due time: the new engine fires it once.
    engine.shutdown(Duration::from_secs(5)).await;
    drop(engine);
    clock.set(at("2024-05-06T00:04:31Z"));
    let engine = engine_at(clock.clone()).await;
    let runs = wait_runs(&engine, &id, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let runs_after = runs_of(&engine, &id).await;
    assert_eq!(runs_after.len(), 2, "{runs:?}");
    let Initiator::Time(t) = &runs_after[1].initiator else {
        panic!("initiator {:?}", runs_after[1].initiator);
    };
    assert_eq!(t.trigger_time, at("2024-05-06T00:04:00Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreach_resumes_after_an_engine_restart_without_losing_or_repeating_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_on(dir.path(), PG).await;
    let h = Harness { engine, dir };
    let body = json!({"step": {"id": "nap", "type": "Sleep",
        "params": {"sleep_seconds": {"value": 0.05, "type": "DOUBLE"}}}});
    let id = h
        .push_json(&wf(
            "resumed-loop",
            json!({}),
            json!([foreach("loop", 30, 5, body)]),
        ))
        .await;
    let key = start(&h.engine, &id).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    h.engine.shutdown(Duration::from_secs(5)).await;
    let Harness { engine, dir } = h;
    drop(engine);
    let engine = Harness::engine_on(dir.path(), PG).await;
    let h = Harness { engine, dir };
    let wi = wait(&h, &key).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let steps = h.engine.latest_attempts(&key).await.unwrap();
    let Some(Artifact::Foreach(a)) = step(&steps, "loop")
        .artifacts
        .as_ref()
        .and_then(|a| a.get("maestro_foreach"))
        .cloned()
    else {
        panic!("no foreach artifact")
    };
    let iterations = runs_of(&h.engine, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(
        iterations
            .iter()
            .map(|w| w.workflow_instance_id)
            .collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    for it in &iterations {
        assert_eq!(it.status.as_str(), "SUCCEEDED");
        let k = RunKey {
            workflow_id: it.workflow_id.clone(),
            instance_id: it.workflow_instance_id,
            run_id: 1,
        };
        assert_eq!(h.engine.get_step_attempts(&k).await.unwrap().len(), 1);
    }
}

fn nap(seconds: f64) -> Value {
    json!([{"step": {"id": "nap", "type": "Sleep",
        "params": {"sleep_seconds": {"value": seconds, "type": "DOUBLE"}}}}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_strategies_queue_and_drop_runs() {
    let h = Harness::new_on(PG).await;
    // SEQUENTIAL: one at a time, in instance order.
    let seq = h
        .push_json(&wf("seq", json!({"run_strategy": "sequential"}), nap(0.1)))
        .await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(start(&h.engine, &seq).await);
    }
    let mut spans = Vec::new();
    for k in &keys {
        let wi = wait(&h, k).await;
        assert_eq!(wi.status.as_str(), "SUCCEEDED");
        spans.push((wi.start_time.unwrap(), wi.end_time.unwrap()));
    }
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "one at a time, in order: {spans:?}");
    }
    // FIRST_ONLY: a start while one is active is stored stopped.
    let first = h
        .push_json(&wf(
            "first",
            json!({"run_strategy": "first_only"}),
            nap(0.3),
        ))
        .await;
    let a = start(&h.engine, &first).await;
    let b = start(&h.engine, &first).await;
    assert_eq!(wait(&h, &b).await.status.as_str(), "STOPPED");
    assert_eq!(wait(&h, &a).await.status.as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequential_queue_survives_an_engine_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_on(dir.path(), PG).await;
    let h = Harness { engine, dir };
    let id = h
        .push_json(&wf(
            "durable",
            json!({"run_strategy": "sequential"}),
            nap(0.3),
        ))
        .await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(start(&h.engine, &id).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.engine.shutdown(Duration::from_secs(5)).await;
    let Harness { engine, dir } = h;
    drop(engine);
    let engine = Harness::engine_on(dir.path(), PG).await;
    let h = Harness { engine, dir };
    for k in &keys {
        assert_eq!(wait(&h, k).await.status.as_str(), "SUCCEEDED");
        assert_eq!(h.engine.get_step_attempts(k).await.unwrap().len(), 1);
        let runs = h
            .engine
            .store()
            .list_instance_runs(&id, k.instance_id)
            .await
            .unwrap();
        assert_eq!(runs.len(), 1, "run {k:?} was not repeated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_workflow_is_deleted_and_its_ids_continue() {
    let h = Harness::new_on(PG).await;
    let body = json!({"step": {"id": "job", "type": "NoOp"}});
    let id = h
        .push_json(&wf("gone", json!({}), json!([foreach("loop", 3, 3, body)])))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(status_of(&steps, "loop").as_deref(), Some("SUCCEEDED"));
    let (_, deleted) = h
        .engine
        .delete_workflow(&id, User::new("tester"))
        .await
        .expect("delete");
    assert_eq!(deleted.runs, 4, "the run and its three iterations");
    assert!(h.engine.store().get_workflow(&id).await.unwrap().is_none());
    h.push_json(&wf(
        "gone",
        json!({}),
        json!([{"step": {"id": "s", "type": "NoOp"}}]),
    ))
    .await;
    let (again, _) = h.run(&id, None).await;
    assert_eq!(again.workflow_instance_id, wi.workflow_instance_id + 1);
}
