//! Breakpoints end to end (maestro-model.md §7.9): a matching attempt pauses and its run waits
//! until it is resumed; every retry attempt pauses again; deleting a breakpoint with resume
//! releases every paused attempt, foreach iterations included; a paused step stays paused
//! across an engine restart (and one resumed while the engine was down goes on); stopping a
//! run with a paused step works and leaves no paused record.

mod common;

use std::time::Duration;

use baton_engine::{EngineError, RunAction};
use baton_model::definition::User;
use common::{Harness, start, wait_run, wait_step};
use serde_json::json;

fn chain(id: &str) -> String {
    json!({"properties": {"owner": "tester", "run_strategy": "PARALLEL"}, "workflow": {"id": id, "steps": [
        {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true"}}}},
        {"step": {"id": "b", "type": "NoOp", "transition": {"successors": {"c": "true"}}}},
        {"step": {"id": "c", "type": "NoOp"}}
    ]}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_pauses_at_a_breakpoint_and_the_run_waits_until_resumed() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h.push_json(&chain("bp")).await;
    let err = e
        .add_breakpoint(&id, "nope", User::new("ops"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
    let bp = e.add_breakpoint(&id, "b", User::new("ops")).await.unwrap();
    assert_eq!(bp.step_id, "b");
    assert_eq!(e.list_breakpoints(&id, "b").await.unwrap().len(), 1);

    let run = start(e, &id).await;
    let paused = wait_step(e, &run, "b", "PAUSED").await;
    assert!(paused.runtime_state.pause_time.is_some());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let wi = e
        .get_instance_run(&id, run.instance_id, None)
        .await
        .unwrap();
    assert_eq!(wi.status.as_str(), "IN_PROGRESS", "the run waits");
    let listed = e.list_paused_attempts(Some(&id), Some("b")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].workflow_instance_id, run.instance_id);

    e.resume_paused_attempt(&id, run.instance_id, None, "b", 1, User::new("ops"))
        .await
        .unwrap();
    let (wi, steps) = wait_run(e, &run).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let b = steps.iter().find(|s| s.step_id == "b").unwrap();
    let timeline = serde_json::to_string(&b.timeline).unwrap();
    assert!(
        timeline.contains("RESUME") && timeline.contains("ops"),
        "{timeline}"
    );
    assert!(
        e.list_paused_attempts(Some(&id), None)
            .await
            .unwrap()
            .is_empty()
    );
    // Resuming again: nothing is paused.
    let err = e
        .resume_paused_attempt(&id, run.instance_id, None, "b", 1, User::new("ops"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");

    // Still set: the next run pauses too; deleting with resume releases it.
    let run2 = start(e, &id).await;
    wait_step(e, &run2, "b", "PAUSED").await;
    let (removed, resumed) = e
        .delete_breakpoint(&id, "b", true, User::new("ops"))
        .await
        .unwrap();
    assert_eq!((removed, resumed), (1, 1));
    let (wi, _) = wait_run(e, &run2).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    // Gone: a third run does not pause.
    let (wi, _) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_retry_attempt_pauses_again() {
    let h = Harness::scripted().await;
    let e = &h.engine;
    let wf = json!({"properties": {"owner": "tester"}, "workflow": {"id": "bp-retry", "steps": [
        {"step": {"id": "job", "type": "Titus",
            "params": {"outcomes": {"value": ["USER_ERROR", "DONE"], "type": "STRING_ARRAY"}},
            "retry_policy": {"error_retry_limit": 2,
                "backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 1}}}}
    ]}});
    let id = h.push_json(&wf.to_string()).await;
    e.add_breakpoint(&id, "job", User::new("ops"))
        .await
        .unwrap();
    let run = start(e, &id).await;
    wait_step(e, &run, "job", "PAUSED").await;
    e.resume_paused_attempt(&id, run.instance_id, Some(1), "job", 1, User::new("ops"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let si = wait_step(e, &run, "job", "PAUSED").await;
        if si.step_attempt_id == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no second pause");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    e.resume_paused_attempt(&id, run.instance_id, Some(1), "job", 2, User::new("ops"))
        .await
        .unwrap();
    let (wi, _) = wait_run(e, &run).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_step_stays_paused_across_an_engine_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    let req = serde_json::from_str(&chain("bp-restart")).unwrap();
    engine.push_workflow(req, User::new("t")).await.unwrap();
    engine
        .add_breakpoint("bp-restart", "b", User::new("ops"))
        .await
        .unwrap();
    let first = start(&engine, "bp-restart").await;
    let second = start(&engine, "bp-restart").await;
    wait_step(&engine, &first, "b", "PAUSED").await;
    wait_step(&engine, &second, "b", "PAUSED").await;
    engine.shutdown(Duration::from_secs(5)).await;
    drop(engine);

    let engine = Harness::engine_at(dir.path()).await;
    // The breakpoint survived: a new run pauses as well.
    let third = start(&engine, "bp-restart").await;
    wait_step(&engine, &third, "b", "PAUSED").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_step(&engine, &first, "b", "PAUSED").await;
    assert_eq!(
        engine
            .list_paused_attempts(Some("bp-restart"), None)
            .await
            .unwrap()
            .len(),
        3
    );
    engine
        .resume_paused_attempt(
            "bp-restart",
            first.instance_id,
            None,
            "b",
            1,
            User::new("ops"),
        )
        .await
        .unwrap();
    let (wi, _) = wait_run(&engine, &first).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    // Stopping a run with a paused step ends it and drops its paused record.
    engine
        .terminate_instance(
            "bp-restart",
            second.instance_id,
            None,
            RunAction::Stop,
            User::new("ops"),
        )
        .await
        .unwrap();
    let (wi, steps) = wait_run(&engine, &second).await;
    assert_eq!(wi.status.as_str(), "STOPPED");
    assert_eq!(common::status_of(&steps, "b").as_deref(), Some("STOPPED"));
    let left = engine
        .list_paused_attempts(Some("bp-restart"), None)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].workflow_instance_id, third.instance_id);

    // A paused attempt resumed while its engine is down goes on when the engine is back.
    engine.shutdown(Duration::from_secs(5)).await;
    drop(engine);
    let store = baton_store::sqlite::SqliteStore::open(
        dir.path().join("baton.db"),
        baton_store::sqlite::SqliteOptions::default(),
    )
    .unwrap();
    use baton_store::Store;
    store
        .write(vec![baton_store::WriteOp::DeletePausedAttempt(
            baton_store::StepAttemptKey {
                run: third.clone(),
                step_id: "b".into(),
                attempt_id: 1,
            },
        )])
        .await
        .unwrap();
    drop(store);
    let engine = Harness::engine_at(dir.path()).await;
    let (wi, _) = wait_run(&engine, &third).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakpoints_on_loop_body_steps_pause_every_iteration() {
    let h = Harness::new().await;
    let e = &h.engine;
    let wf = json!({"properties": {"owner": "tester"}, "workflow": {"id": "bp-loop", "steps": [
        {"foreach": {"id": "loop", "concurrency": 3,
            "params": {"loop_params": {"type": "MAP", "value": {
                "i": {"value": [1, 2, 3], "type": "LONG_ARRAY"}}}},
            "steps": [{"step": {"id": "body", "type": "NoOp"}}]}}
    ]}});
    let id = h.push_json(&wf.to_string()).await;
    e.add_breakpoint(&id, "body", User::new("ops"))
        .await
        .unwrap();
    let run = start(e, &id).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let paused = e
            .list_paused_attempts(Some(&id), Some("body"))
            .await
            .unwrap();
        if paused.len() == 3 {
            assert!(
                paused
                    .iter()
                    .all(|p| p.workflow_id.starts_with("maestro_foreach"))
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{paused:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wi = e
        .get_instance_run(&id, run.instance_id, None)
        .await
        .unwrap();
    assert_eq!(wi.status.as_str(), "IN_PROGRESS");
    let (_, resumed) = e
        .delete_breakpoint(&id, "body", true, User::new("ops"))
        .await
        .unwrap();
    assert_eq!(resumed, 3);
    let (wi, _) = wait_run(e, &run).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kill_and_skip_apply_to_a_paused_step_and_drop_its_record() {
    use baton_engine::step_actions::StepAction;
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h.push_json(&chain("bp-acts")).await;
    e.add_breakpoint(&id, "b", User::new("ops")).await.unwrap();
    for (action, to, run_status) in [
        (StepAction::Stop, "STOPPED", "STOPPED"),
        (StepAction::Kill, "FATALLY_FAILED", "FAILED"),
        (StepAction::Skip, "SKIPPED", "SUCCEEDED"),
    ] {
        let run = start(e, &id).await;
        wait_step(e, &run, "b", "PAUSED").await;
        let outcome = e
            .act_on_step(
                &id,
                run.instance_id,
                "b",
                action,
                User::new("ops"),
                None,
                true,
            )
            .await
            .unwrap();
        assert_eq!(outcome.attempt.unwrap().runtime_state.status.as_str(), to);
        let (wi, _) = wait_run(e, &run).await;
        assert_eq!(wi.status.as_str(), run_status, "{action:?}");
        assert!(
            e.list_paused_attempts(Some(&id), None)
                .await
                .unwrap()
                .is_empty(),
            "{action:?}"
        );
    }
}
