//! Time triggers end to end on an injected clock (maestro-model.md §9.1): the sample fires on
//! its own with `RUN_TS` set to the scheduled time; a restart across due times neither skips
//! nor repeats a fire time; missed fire times are back-filled up to the catch-up bound; a DST
//! change moves the fire time as the schedule's rules say; disabled triggers stay quiet.

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Engine, EngineConfig, ManualClock};
use baton_model::definition::{User, WorkflowCreateRequest};
use baton_model::instance::{Initiator, WorkflowInstance};
use baton_store::{TriggerWrite, WriteOp};
use common::compat;
use serde_json::json;

fn at(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

async fn engine_at(dir: &std::path::Path, clock: &ManualClock, catch_up: usize) -> Engine {
    let store = common::open_store(dir, common::Backend::from_env()).await;
    let mut config = EngineConfig::new(dir.join("work"));
    config.clock = Arc::new(clock.clone());
    config.time_trigger_catch_up = catch_up;
    Engine::start(store, config).await.expect("engine")
}

async fn push(engine: &Engine, json: &str) -> String {
    let req: WorkflowCreateRequest = serde_json::from_str(json).expect("request");
    let id = req.workflow.id.clone();
    engine
        .push_workflow(req, User::new("tester"))
        .await
        .expect("push");
    id
}

fn cron_wf(id: &str, cron: &str, zone: &str, extra_props: serde_json::Value) -> String {
    let mut props = json!({"owner": "tester"});
    if let (Some(p), Some(extra)) = (props.as_object_mut(), extra_props.as_object()) {
        p.extend(extra.clone());
    }
    json!({
        "properties": props,
        "workflow": {
            "id": id,
            "time_triggers": [{"type": "CRON", "cron": cron, "timezone": zone}],
            "steps": [{"step": {"id": "s", "type": "NoOp"}}]
        }
    })
    .to_string()
}

async fn runs_of(engine: &Engine, workflow_id: &str) -> Vec<WorkflowInstance> {
    let rows = engine
        .store()
        .list_instances(workflow_id, None, 1000)
        .await
        .expect("instances");
    let mut out = Vec::new();
    for r in rows {
        out.push(
            engine
                .get_instance_run(workflow_id, r.key.instance_id, Some(r.key.run_id))
                .await
                .expect("run"),
        );
    }
    out.reverse();
    out
}

/// Waits until the workflow has `n` runs, all finished, and returns them oldest first.
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
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Lets the scheduler act on the current time, then returns the runs.
async fn settle(engine: &Engine, workflow_id: &str) -> Vec<WorkflowInstance> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    let n = runs_of(engine, workflow_id).await.len();
    wait_runs(engine, workflow_id, n).await
}

fn run_ts(wi: &WorkflowInstance) -> i64 {
    wi.params
        .as_ref()
        .and_then(|p| p.get("RUN_TS"))
        .and_then(|p| p.evaluated_result.as_ref())
        .and_then(|v| v.to_json().as_i64())
        .expect("RUN_TS")
}

fn param(wi: &WorkflowInstance, name: &str) -> serde_json::Value {
    wi.params
        .as_ref()
        .and_then(|p| p.get(name))
        .and_then(|p| p.evaluated_result.as_ref())
        .map(|v| v.to_json())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_trigger_sample_fires_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-05-06T00:00:10Z"));
    let engine = engine_at(dir.path(), &clock, 100).await;
    let text =
        std::fs::read_to_string(compat("maestro-samples/sample-time-trigger-wf.json")).unwrap();
    let id = push(&engine, &text).await;
    assert!(settle(&engine, &id).await.is_empty(), "nothing is due yet");
    // `*/2 * * * *` (US/Pacific, up to 30 s of jitter) is due at 00:02:00Z plus its jitter.
    clock.set(at("2024-05-06T00:02:31Z"));
    let runs = wait_runs(&engine, &id, 1).await;
    assert_eq!(runs.len(), 1);
    let wi = &runs[0];
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(
        run_ts(wi),
        at("2024-05-06T00:02:00Z"),
        "RUN_TS is the scheduled time"
    );
    let Initiator::Time(t) = &wi.initiator else {
        panic!("initiator {:?}", wi.initiator);
    };
    assert_eq!(t.trigger_time, at("2024-05-06T00:02:00Z"));
    assert_eq!(t.timezone, "US/Pacific");
    // The target date reads in the trigger's zone: 2024-05-05 17:02 in Los Angeles.
    assert_eq!(param(wi, "TARGET_RUN_DATE"), json!("20240505"));
    // The daily Tokyo trigger is due at 15:00Z; by then the two-minute one fired many times.
    clock.set(at("2024-05-06T00:04:31Z"));
    wait_runs(&engine, &id, 2).await;
    let listed = engine.list_triggers().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|t| t.enabled && t.kind == "TIME"));
    assert_eq!(listed[2].last_fire_time, Some(at("2024-05-06T00:04:00Z")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_across_due_times_neither_skips_nor_repeats_a_fire_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-01-01T10:00:30Z"));
    let engine = engine_at(dir.path(), &clock, 100).await;
    let id = push(&engine, &cron_wf("every5", "*/5 * * * *", "UTC", json!({}))).await;
    clock.set(at("2024-01-01T10:05:30Z"));
    wait_runs(&engine, &id, 1).await;
    engine.shutdown(Duration::from_secs(5)).await;
    drop(engine);

    // Down across 10:10, 10:15 and 10:20.
    clock.set(at("2024-01-01T10:21:00Z"));
    let engine = engine_at(dir.path(), &clock, 100).await;
    let runs = wait_runs(&engine, &id, 4).await;
    let times: Vec<i64> = runs.iter().map(run_ts).collect();
    assert_eq!(
        times,
        ["10:05", "10:10", "10:15", "10:20"]
            .iter()
            .map(|t| at(&format!("2024-01-01T{t}:00Z")))
            .collect::<Vec<_>>(),
        "each missed fire time once, oldest first, with its own RUN_TS"
    );
    engine.shutdown(Duration::from_secs(5)).await;
    let store = engine.store().clone();
    drop(engine);

    // As if the last engine crashed after starting the runs but before moving the watermark:
    // the fire times come again, and their request ids make them duplicates.
    let row = store.list_triggers(Some(&id)).await.unwrap().remove(0);
    store
        .write(vec![WriteOp::PutTrigger(TriggerWrite {
            workflow_id: row.workflow_id.clone(),
            trigger_uuid: row.trigger_uuid.clone(),
            kind: row.kind.clone(),
            definition: row.definition.clone(),
            state: json!({"watermarks": [at("2024-01-01T10:00:30Z")]}).to_string(),
            expected_version: row.version,
            ts: 1,
        })])
        .await
        .unwrap();
    drop(store);
    let engine = engine_at(dir.path(), &clock, 100).await;
    let runs = settle(&engine, &id).await;
    assert_eq!(runs.len(), 4, "no fire time ran twice");
    let row = engine
        .store()
        .list_triggers(Some(&id))
        .await
        .unwrap()
        .remove(0);
    assert!(
        row.state.contains(&at("2024-01-01T10:20:00Z").to_string()),
        "{}",
        row.state
    );
    // And the schedule goes on.
    clock.set(at("2024-01-01T10:25:01Z"));
    let runs = wait_runs(&engine, &id, 5).await;
    assert_eq!(run_ts(&runs[4]), at("2024-01-01T10:25:00Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_fire_times_are_back_filled_up_to_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-01-01T00:00:30Z"));
    let engine = engine_at(dir.path(), &clock, 2).await;
    let id = push(&engine, &cron_wf("hourly", "0 * * * *", "UTC", json!({}))).await;
    engine.shutdown(Duration::from_secs(5)).await;
    drop(engine);
    clock.set(at("2024-01-01T05:30:00Z"));
    let engine = engine_at(dir.path(), &clock, 2).await;
    wait_runs(&engine, &id, 2).await;
    let runs = settle(&engine, &id).await;
    assert_eq!(
        runs.len(),
        2,
        "only the two most recent of five missed hours"
    );
    assert_eq!(
        runs.iter().map(run_ts).collect::<Vec<_>>(),
        vec![at("2024-01-01T04:00:00Z"), at("2024-01-01T05:00:00Z")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn los_angeles_spring_forward_fires_right_after_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-03-09T08:00:00Z"));
    let engine = engine_at(dir.path(), &clock, 100).await;
    let la = push(
        &engine,
        &cron_wf("la", "30 2 * * *", "America/Los_Angeles", json!({})),
    )
    .await;
    // 2024-03-10 02:30 does not exist in Los Angeles: that day's run fires at 03:00 PDT.
    clock.set(at("2024-03-11T12:00:00Z"));
    let runs = wait_runs(&engine, &la, 3).await;
    assert_eq!(
        runs.iter().map(run_ts).collect::<Vec<_>>(),
        vec![
            at("2024-03-09T10:30:00Z"),
            at("2024-03-10T10:00:00Z"),
            at("2024-03-11T09:30:00Z")
        ]
    );
    assert_eq!(param(&runs[1], "TARGET_RUN_DATE"), json!("20240310"));
    assert_eq!(param(&runs[1], "TARGET_RUN_HOUR"), json!("03"));
    assert_eq!(settle(&engine, &la).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn london_fall_back_fires_a_repeated_time_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-10-26T12:00:00Z"));
    let engine = engine_at(dir.path(), &clock, 100).await;
    let london = push(
        &engine,
        &cron_wf("london", "30 1 * * *", "Europe/London", json!({})),
    )
    .await;
    // 2024-10-27 01:30 happens twice in London (BST, then GMT): it fires once, the first time.
    clock.set(at("2024-10-27T00:45:00Z"));
    wait_runs(&engine, &london, 1).await;
    clock.set(at("2024-10-27T01:45:00Z"));
    assert_eq!(
        settle(&engine, &london).await.len(),
        1,
        "not again at 01:30 GMT"
    );
    clock.set(at("2024-10-28T12:00:00Z"));
    let runs = wait_runs(&engine, &london, 2).await;
    assert_eq!(
        runs.iter().map(run_ts).collect::<Vec<_>>(),
        vec![at("2024-10-27T00:30:00Z"), at("2024-10-28T01:30:00Z")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_or_inactive_time_triggers_do_not_fire() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at("2024-01-01T00:00:30Z"));
    let engine = engine_at(dir.path(), &clock, 100).await;
    let off = push(
        &engine,
        &cron_wf(
            "off",
            "*/2 * * * *",
            "UTC",
            json!({"time_trigger_disabled": true}),
        ),
    )
    .await;
    let mut inactive: serde_json::Value =
        serde_json::from_str(&cron_wf("inactive", "*/2 * * * *", "UTC", json!({}))).unwrap();
    inactive["is_active"] = json!(false);
    let inactive = push(&engine, &inactive.to_string()).await;
    let on = push(&engine, &cron_wf("on", "*/2 * * * *", "UTC", json!({}))).await;
    clock.set(at("2024-01-01T00:04:30Z"));
    wait_runs(&engine, &on, 2).await;
    assert!(settle(&engine, &off).await.is_empty());
    assert!(settle(&engine, &inactive).await.is_empty());
    let listed = engine.list_triggers().await.unwrap();
    let reason = |id: &str| {
        listed
            .iter()
            .find(|t| t.workflow_id == id)
            .and_then(|t| t.disabled_reason.clone())
    };
    assert_eq!(
        reason("off").as_deref(),
        Some("time_trigger_disabled is set")
    );
    assert!(reason("inactive").unwrap().contains("no active version"));
    assert_eq!(reason("on"), None);
    // Enabling it again starts from now: the disabled period is not back-filled.
    push(
        &engine,
        &cron_wf(
            "off",
            "*/2 * * * *",
            "UTC",
            json!({"time_trigger_disabled": false}),
        ),
    )
    .await;
    clock.set(at("2024-01-01T00:06:01Z"));
    let runs = wait_runs(&engine, &off, 1).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(run_ts(&runs[0]), at("2024-01-01T00:06:00Z"));
}
