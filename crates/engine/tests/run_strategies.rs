//! Run strategies with overlapping starts (maestro-model.md §4.1–§4.2): SEQUENTIAL, PARALLEL,
//! STRICT_SEQUENTIAL with unblock, FIRST_ONLY, LAST_ONLY, SERIAL_LATEST_ONLY, and a queue that
//! survives a restart of the engine.

mod common;

use std::time::Duration;

use baton_model::api::InstanceRunStatus;
use baton_model::definition::User;
use baton_store::RunKey;
use common::Harness;
use serde_json::{Value, json};

fn wf(id: &str, strategy: Value, steps: Value) -> String {
    json!({"properties": {"owner": "tester", "run_strategy": strategy},
           "workflow": {"id": id, "steps": steps}})
    .to_string()
}

fn nap(seconds: f64) -> Value {
    json!([{"step": {"id": "nap", "type": "Sleep",
        "params": {"sleep_seconds": {"value": seconds, "type": "DOUBLE"}}}}])
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

async fn start_one(h: &Harness, id: &str) -> (RunKey, InstanceRunStatus) {
    let r = h
        .engine
        .start_workflow(id, "latest", start(), None)
        .await
        .unwrap();
    (
        RunKey {
            workflow_id: id.to_string(),
            instance_id: r.workflow_instance_id,
            run_id: r.workflow_run_id,
        },
        r.status,
    )
}

async fn wait(h: &Harness, key: &RunKey) -> String {
    let mut events = h.engine.subscribe();
    h.wait_terminal(key, &mut events, Duration::from_secs(30))
        .await
        .as_str()
        .to_string()
}

async fn status(h: &Harness, key: &RunKey) -> String {
    h.engine
        .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
        .await
        .unwrap()
        .status
        .as_str()
        .to_string()
}

async fn span(h: &Harness, key: &RunKey) -> (i64, i64) {
    let wi = h
        .engine
        .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
        .await
        .unwrap();
    (wi.start_time.unwrap(), wi.end_time.unwrap())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_runs_one_at_a_time_in_order() {
    let h = Harness::new().await;
    let id = h.push_json(&wf("seq", json!("sequential"), nap(0.1))).await;
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(start_one(&h, &id).await.0);
    }
    let mut spans = Vec::new();
    for k in &keys {
        assert_eq!(wait(&h, k).await, "SUCCEEDED");
        spans.push(span(&h, k).await);
    }
    assert_eq!(peak(&spans), 1);
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "FIFO by instance id: {spans:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_respects_workflow_concurrency() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf(
            "par",
            json!({"rule": "parallel", "workflow_concurrency": 2}),
            nap(0.15),
        ))
        .await;
    let mut keys = Vec::new();
    for _ in 0..6 {
        keys.push(start_one(&h, &id).await.0);
    }
    let mut spans = Vec::new();
    for k in &keys {
        assert_eq!(wait(&h, k).await, "SUCCEEDED");
        spans.push(span(&h, k).await);
    }
    assert_eq!(peak(&spans), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_share_commits_but_never_exceed_the_limit() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf(
            "burst",
            json!({"rule": "parallel", "workflow_concurrency": 3}),
            nap(0.1),
        ))
        .await;
    // All at once: a start that runs at once takes its slot before its insert commits, so the
    // others must see it taken.
    let starts: Vec<_> = (0..12)
        .map(|_| {
            let engine = h.engine.clone();
            let id = id.clone();
            tokio::spawn(async move { engine.start_workflow(&id, "latest", start(), None).await })
        })
        .collect();
    let mut keys = Vec::new();
    for s in starts {
        let r = s.await.unwrap().unwrap();
        keys.push(RunKey {
            workflow_id: id.clone(),
            instance_id: r.workflow_instance_id,
            run_id: r.workflow_run_id,
        });
    }
    let mut spans = Vec::new();
    for k in &keys {
        assert_eq!(wait(&h, k).await, "SUCCEEDED");
        spans.push(span(&h, k).await);
    }
    assert_eq!(peak(&spans), 3, "{spans:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_start_gives_its_slot_back() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf(
            "dup-slot",
            json!({"rule": "parallel", "workflow_concurrency": 2}),
            nap(2.0),
        ))
        .await;
    let with_id = || {
        let mut req = start();
        req.request_id = Some(uuid::Uuid::from_u128(
            0x5f1a3bb0_2b33_4b8e_9a55_0e3c2f0c1a11,
        ));
        req
    };
    let first = h
        .engine
        .start_workflow(&id, "latest", with_id(), None)
        .await
        .unwrap();
    assert_eq!(first.status, InstanceRunStatus::Created);
    // The duplicate finds a free slot, takes it, and must give it back.
    let dup = h
        .engine
        .start_workflow(&id, "latest", with_id(), None)
        .await
        .unwrap();
    assert_eq!(dup.status, InstanceRunStatus::Duplicated);
    let (second, _) = start_one(&h, &id).await;
    let (third, _) = start_one(&h, &id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status(&h, &second).await,
        "IN_PROGRESS",
        "the second slot is free"
    );
    assert_eq!(status(&h, &third).await, "CREATED", "two are running");
    for k in [&second, &third] {
        assert_eq!(wait(&h, k).await, "SUCCEEDED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_sequential_blocks_after_a_failure_until_unblocked() {
    let h = Harness::scripted().await;
    let steps = json!([{"step": {"id": "job", "type": "Titus", "params": {"outcomes": {
        "expression": "if (params.getFromInstance('workflow_instance_id') == 1) return new String[]{'FATAL_ERROR'}; return new String[]{'DONE'};",
        "type": "STRING_ARRAY"}}}}]);
    let id = h
        .push_json(&wf("strict", json!("strict_sequential"), steps))
        .await;
    let (first, _) = start_one(&h, &id).await;
    assert_eq!(wait(&h, &first).await, "FAILED");
    let (second, _) = start_one(&h, &id).await;
    let (third, _) = start_one(&h, &id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status(&h, &second).await,
        "CREATED",
        "blocked by the FAILED run"
    );
    // Unblocking the instance lets the queue go; it still reads FAILED.
    h.engine
        .unblock_instance(&id, 1, Some(&User::new("ops")))
        .await
        .unwrap();
    assert_eq!(wait(&h, &second).await, "SUCCEEDED");
    assert_eq!(wait(&h, &third).await, "SUCCEEDED");
    assert_eq!(status(&h, &first).await, "FAILED");
    let unblocked = h.engine.get_instance_run(&id, 1, None).await.unwrap();
    let timeline = serde_json::to_string(&unblocked.timeline).unwrap();
    assert!(
        timeline.contains("UNBLOCK") && timeline.contains("ops"),
        "{timeline}"
    );
    let raw = h
        .engine
        .store()
        .get_instance_run(&id, 1, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.status, "FAILED_1");
    // Unblocking a run that did not fail is refused.
    assert!(matches!(
        h.engine
            .unblock_instance(&id, 2, Some(&User::new("ops")))
            .await,
        Err(baton_engine::EngineError::Conflict(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_sequential_workflow_unblock_releases_all_failed_runs() {
    let h = Harness::scripted().await;
    let steps = json!([{"step": {"id": "job", "type": "Titus", "params": {"outcomes": {
        "expression": "if (params.getFromInstance('workflow_instance_id') <= 2) return new String[]{'FATAL_ERROR'}; return new String[]{'DONE'};",
        "type": "STRING_ARRAY"}}}}]);
    let id = h
        .push_json(&wf("strict-wf", json!("strict_sequential"), steps))
        .await;
    let (first, _) = start_one(&h, &id).await;
    assert_eq!(wait(&h, &first).await, "FAILED");
    h.engine
        .unblock_instance(&id, 1, Some(&User::new("ops")))
        .await
        .unwrap();
    let (second, _) = start_one(&h, &id).await;
    assert_eq!(wait(&h, &second).await, "FAILED");
    let (third, _) = start_one(&h, &id).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status(&h, &third).await, "CREATED");
    assert_eq!(h.engine.unblock_workflow(&id, None).await.unwrap(), 1);
    assert_eq!(wait(&h, &third).await, "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_only_stores_newcomers_stopped_while_one_is_active() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf("first", json!("first_only"), nap(0.3)))
        .await;
    let (first, s1) = start_one(&h, &id).await;
    assert_eq!(s1, InstanceRunStatus::Created);
    let (second, s2) = start_one(&h, &id).await;
    assert_eq!(s2, InstanceRunStatus::Stopped);
    assert_eq!(status(&h, &second).await, "STOPPED");
    assert!(h.engine.latest_attempts(&second).await.unwrap().is_empty());
    assert_eq!(wait(&h, &first).await, "SUCCEEDED");
    let (third, s3) = start_one(&h, &id).await;
    assert_eq!(s3, InstanceRunStatus::Created);
    assert_eq!(wait(&h, &third).await, "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_only_stops_queued_and_running_runs_for_the_newest() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf("last", json!("last_only"), nap(30.0)))
        .await;
    let (first, _) = start_one(&h, &id).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (second, _) = start_one(&h, &id).await;
    let (third, _) = start_one(&h, &id).await;
    assert_eq!(wait(&h, &first).await, "STOPPED");
    // The second was stopped: while queued, or (if the first ended before the third arrived)
    // while it ran.
    assert_eq!(wait(&h, &second).await, "STOPPED");
    // The newest one runs (and sleeps): stop it to end the test.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while status(&h, &third).await != "IN_PROGRESS" {
        assert!(
            std::time::Instant::now() < deadline,
            "the newest run did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.engine
        .act_on_run(&third, baton_engine::RunAction::Stop, None, None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_latest_only_keeps_only_the_newest_queued_run() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf("serial", json!("serial_latest_only"), nap(0.3)))
        .await;
    let (first, _) = start_one(&h, &id).await;
    let (second, _) = start_one(&h, &id).await;
    let (third, _) = start_one(&h, &id).await;
    assert_eq!(wait(&h, &second).await, "STOPPED");
    assert_eq!(
        wait(&h, &first).await,
        "SUCCEEDED",
        "the running one is never interrupted"
    );
    assert_eq!(wait(&h, &third).await, "SUCCEEDED");
    assert!(span(&h, &third).await.0 >= span(&h, &first).await.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_survives_a_restart_without_losing_or_repeating_runs() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    let h = Harness { engine, dir };
    let id = h
        .push_json(&wf("durable", json!("sequential"), nap(0.4)))
        .await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(start_one(&h, &id).await.0);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    h.engine.shutdown(Duration::from_secs(5)).await;
    let Harness { engine, dir } = h;
    drop(engine);
    let engine = Harness::engine_at(dir.path()).await;
    let h = Harness { engine, dir };
    let mut spans = Vec::new();
    for k in &keys {
        assert_eq!(wait(&h, k).await, "SUCCEEDED");
        spans.push(span(&h, k).await);
        let attempts = h.engine.get_step_attempts(k).await.unwrap();
        assert_eq!(attempts.len(), 1, "run {k:?} ran its step once");
        let runs = h
            .engine
            .store()
            .list_instance_runs(&id, k.instance_id)
            .await
            .unwrap();
        assert_eq!(runs.len(), 1);
    }
    assert_eq!(peak(&spans), 1);
    let rows = h
        .engine
        .store()
        .list_instances(&id, None, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
}
