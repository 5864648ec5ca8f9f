//! Step concurrency limits (maestro-model.md §4.3–§4.4): `step_concurrency` across a workflow's
//! instances, the implicit per-step limit, `instance_step_concurrency` over a tree (in
//! `flow_samples.rs`), and user tag permits with their API. Peaks are measured from the stored
//! start (STARTING) and end times of every attempt: a step holds its permits in between.

mod common;

use std::time::Duration;

use baton_model::definition::User;
use baton_store::RunKey;
use common::Harness;
use indexmap::IndexMap;
use serde_json::{Value, json};

fn wf(id: &str, props: Value, steps: Value) -> String {
    let mut p = json!({"owner": "tester"});
    if let (Value::Object(base), Value::Object(extra)) = (&mut p, props) {
        base.extend(extra);
    }
    json!({"properties": p, "workflow": {"id": id, "steps": steps}}).to_string()
}

fn nap(id: &str, seconds: f64, tags: Value) -> Value {
    json!({"step": {"id": id, "type": "Sleep", "tags": tags,
        "params": {"sleep_seconds": {"value": seconds, "type": "DOUBLE"}}}})
}

fn peak(intervals: &[(i64, i64)]) -> usize {
    let mut events: Vec<(i64, i32)> = Vec::new();
    for (s, e) in intervals {
        events.push((*s, 1));
        events.push((*e, -1));
    }
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

async fn spans(h: &Harness, runs: &[RunKey]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for key in runs {
        for si in h.engine.get_step_attempts(key).await.unwrap() {
            out.push((
                si.runtime_state.start_time.unwrap(),
                si.runtime_state.end_time.unwrap(),
            ));
        }
    }
    out
}

async fn start_many(h: &Harness, id: &str, n: usize) -> Vec<RunKey> {
    let mut keys = Vec::new();
    for _ in 0..n {
        let r = h
            .engine
            .start_workflow(id, "latest", start(), None)
            .await
            .unwrap();
        keys.push(RunKey {
            workflow_id: id.to_string(),
            instance_id: r.workflow_instance_id,
            run_id: r.workflow_run_id,
        });
    }
    let mut events = h.engine.subscribe();
    for key in &keys {
        let s = h
            .wait_terminal(key, &mut events, Duration::from_secs(60))
            .await;
        assert_eq!(s.as_str(), "SUCCEEDED");
    }
    keys
}

fn start() -> baton_model::api::WorkflowStartRequest {
    baton_model::api::WorkflowStartRequest {
        initiator: baton_model::instance::Initiator::manual(None),
        request_time: None,
        request_id: None,
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_concurrency_caps_running_steps_across_instances() {
    let h = Harness::new().await;
    let steps: Vec<Value> = (0..4)
        .map(|i| nap(&format!("s{i}"), 0.1, json!([])))
        .collect();
    let id = h
        .push_json(&wf(
            "sc",
            json!({"run_strategy": {"rule": "parallel", "workflow_concurrency": 10}, "step_concurrency": 3}),
            Value::Array(steps),
        ))
        .await;
    let keys = start_many(&h, &id, 3).await;
    let s = spans(&h, &keys).await;
    assert_eq!(s.len(), 12);
    let p = peak(&s);
    assert!((2..=3).contains(&p), "peak {p}");
    assert_eq!(h.engine.tag_permit_holders("maestro_sc"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_step_runs_at_most_twenty_times_at_once_by_default() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf(
            "per-step",
            json!({"run_strategy": {"rule": "parallel", "workflow_concurrency": 30}, "step_concurrency": 100}),
            json!([nap("only", 0.3, json!([]))]),
        ))
        .await;
    let keys = start_many(&h, &id, 26).await;
    let p = peak(&spans(&h, &keys).await);
    assert!((15..=20).contains(&p), "peak {p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_tag_permits_limit_tagged_steps_and_wake_waiters_when_raised() {
    let h = Harness::new().await;
    let user = User::new("tester");
    h.engine
        .set_tag_permit("gpu", 1, IndexMap::new(), &user)
        .await
        .unwrap();
    let steps: Vec<Value> = (0..3)
        .map(|i| nap(&format!("g{i}"), 0.1, json!(["gpu"])))
        .chain(std::iter::once(nap("free", 0.1, json!(["cpu"]))))
        .collect();
    let id = h
        .push_json(&wf("tagged", json!({}), Value::Array(steps)))
        .await;
    let (wi, attempts) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let gpu: Vec<(i64, i64)> = attempts
        .iter()
        .filter(|s| s.step_id.starts_with('g'))
        .map(|s| {
            (
                s.runtime_state.start_time.unwrap(),
                s.runtime_state.end_time.unwrap(),
            )
        })
        .collect();
    assert_eq!(peak(&gpu), 1);
    // The untagged-by-a-permit step did not wait for the gpu steps.
    let free = attempts.iter().find(|s| s.step_id == "free").unwrap();
    let last_gpu_start = gpu.iter().map(|s| s.0).max().unwrap();
    assert!(free.runtime_state.start_time.unwrap() < last_gpu_start);

    // Limit 0: tagged steps wait in WAITING_FOR_PERMITS until the limit is raised.
    h.engine
        .set_tag_permit(
            "gpu",
            0,
            [("team".to_string(), json!("ml"))].into_iter().collect(),
            &user,
        )
        .await
        .unwrap();
    let r = h
        .engine
        .start_workflow(&id, "latest", start(), None)
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: r.workflow_instance_id,
        run_id: 1,
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let waiting = h.engine.latest_attempts(&key).await.unwrap();
    for s in waiting.iter().filter(|s| s.step_id.starts_with('g')) {
        assert_eq!(s.runtime_state.status.as_str(), "WAITING_FOR_PERMITS");
    }
    h.engine
        .set_tag_permit("gpu", 3, IndexMap::new(), &user)
        .await
        .unwrap();
    let mut events = h.engine.subscribe();
    let status = h
        .wait_terminal(&key, &mut events, Duration::from_secs(10))
        .await;
    assert_eq!(status.as_str(), "SUCCEEDED");

    // The API view.
    let permit = h.engine.get_tag_permit("gpu").await.unwrap();
    assert_eq!(permit.max_allowed, 3);
    assert_eq!(
        serde_json::to_value(&permit.timeline)
            .unwrap()
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let body = serde_json::to_value(&permit).unwrap();
    assert_eq!(body["tag"], "gpu");
    assert_eq!(body["max_allowed"], 3);
    assert!(
        h.engine
            .set_tag_permit("gpu", -1, IndexMap::new(), &user)
            .await
            .is_err()
    );
    h.engine.delete_tag_permit("gpu").await.unwrap();
    assert!(matches!(
        h.engine.get_tag_permit("gpu").await,
        Err(baton_engine::EngineError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permits_survive_a_restart_holders_first() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    let user = User::new("tester");
    engine
        .set_tag_permit("db", 1, IndexMap::new(), &user)
        .await
        .unwrap();
    let h = Harness { engine, dir };
    let steps: Vec<Value> = (0..3)
        .map(|i| nap(&format!("d{i}"), 0.6, json!(["db"])))
        .collect();
    let id = h
        .push_json(&wf("restart-permits", json!({}), Value::Array(steps)))
        .await;
    let r = h
        .engine
        .start_workflow(&id, "latest", start(), None)
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: r.workflow_instance_id,
        run_id: 1,
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.engine.shutdown(Duration::from_secs(5)).await;
    let Harness { engine, dir } = h;
    drop(engine);
    // A new engine on the same store: the running step holds the permit again before the
    // waiting ones ask.
    let engine = Harness::engine_at(dir.path()).await;
    let h = Harness { engine, dir };
    let mut events = h.engine.subscribe();
    let status = h
        .wait_terminal(&key, &mut events, Duration::from_secs(20))
        .await;
    assert_eq!(status.as_str(), "SUCCEEDED");
    let attempts = h.engine.get_step_attempts(&key).await.unwrap();
    assert_eq!(attempts.len(), 3, "no step ran twice");
    let s: Vec<(i64, i64)> = attempts
        .iter()
        .map(|s| {
            (
                s.runtime_state.start_time.unwrap(),
                s.runtime_state.end_time.unwrap(),
            )
        })
        .collect();
    assert_eq!(peak(&s), 1);
}
