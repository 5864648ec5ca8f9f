//! Step actions on running runs (maestro-model.md §7.6): STOP, KILL and SKIP in every status
//! the action table allows, the error for every status it does not, failure modes after a
//! KILL, downstream after a SKIP, flow steps whose children end STOPPED, and the timeline entry
//! naming the user and the reason.

mod common;

use std::time::Duration;

use baton_engine::step_actions::StepAction;
use baton_engine::{Engine, EngineError, RunAction};
use baton_model::definition::User;
use baton_model::instance::{StepInstance, TimelineEvent};
use baton_store::RunKey;
use common::{Harness, start, wait_run, wait_step};
use serde_json::{Value, json};

fn status(steps: &[StepInstance], id: &str) -> String {
    steps
        .iter()
        .find(|s| s.step_id == id)
        .map(|s| s.runtime_state.status.as_str().to_string())
        .unwrap_or_else(|| "NOT_CREATED".into())
}

/// One step in each status a test needs, side by side: `run` RUNNING (then `next` after it is
/// NOT_CREATED), `sig` WAITING_FOR_SIGNALS, `fail` USER_FAILED (long backoff), `done`
/// SUCCEEDED, `dead` FATALLY_FAILED; each of them has a NoOp successor `<id>_after`.
fn parallel_wf(id: &str) -> String {
    let scripted = |sid: &str, outcome: &str, extra: Value| {
        let mut step = json!({"id": sid, "type": "Titus",
            "transition": {"successors": {format!("{sid}_after"): "true"}},
            "params": {"outcomes": {"value": [outcome], "type": "STRING_ARRAY"}}});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                step[k] = v;
            }
        }
        json!({"step": step})
    };
    let after = |sid: &str| json!({"step": {"id": format!("{sid}_after"), "type": "NoOp"}});
    let steps = json!([
        scripted("run", "SLEEP:60000", json!({})),
        after("run"),
        {"step": {"id": "sig", "type": "NoOp",
            "signal_dependencies": [{"name": "never/announced"}],
            "transition": {"successors": {"sig_after": "true"}}}},
        after("sig"),
        scripted("fail", "USER_ERROR", json!({"retry_policy": {"error_retry_limit": 5,
            "backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 80000}}})),
        after("fail"),
        scripted("done", "DONE", json!({})),
        after("done"),
        scripted("dead", "FATAL_ERROR", json!({})),
        after("dead"),
    ]);
    json!({"properties": {"owner": "tester"}, "workflow": {"id": id, "steps": steps}}).to_string()
}

/// Starts a parallel run and waits until every step is where the table expects it.
async fn parallel_run(h: &Harness, id: &str) -> RunKey {
    let run = start(&h.engine, id).await;
    for (step, st) in [
        ("run", "RUNNING"),
        ("sig", "WAITING_FOR_SIGNALS"),
        ("fail", "USER_FAILED"),
        ("done_after", "SUCCEEDED"),
        ("dead", "FATALLY_FAILED"),
    ] {
        wait_step(&h.engine, &run, step, st).await;
    }
    run
}

#[derive(Debug)]
enum Expect {
    /// The step ends in this status.
    Becomes(&'static str),
    /// 400 naming the status.
    Invalid,
    /// A skip that needs a restart.
    NeedsRestart,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_in_every_status_is_applied_or_refused_by_the_table() {
    let h = Harness::scripted().await;
    let id = h.push_json(&parallel_wf("acts")).await;
    use Expect::*;
    // (step, its status, action, expectation)
    let table = [
        ("run", "RUNNING", StepAction::Stop, Becomes("STOPPED")),
        (
            "run",
            "RUNNING",
            StepAction::Kill,
            Becomes("FATALLY_FAILED"),
        ),
        ("run", "RUNNING", StepAction::Skip, Becomes("SKIPPED")),
        (
            "sig",
            "WAITING_FOR_SIGNALS",
            StepAction::Stop,
            Becomes("STOPPED"),
        ),
        (
            "sig",
            "WAITING_FOR_SIGNALS",
            StepAction::Kill,
            Becomes("FATALLY_FAILED"),
        ),
        (
            "sig",
            "WAITING_FOR_SIGNALS",
            StepAction::Skip,
            Becomes("SKIPPED"),
        ),
        ("fail", "USER_FAILED", StepAction::Stop, Becomes("STOPPED")),
        (
            "fail",
            "USER_FAILED",
            StepAction::Kill,
            Becomes("FATALLY_FAILED"),
        ),
        ("fail", "USER_FAILED", StepAction::Skip, Becomes("SKIPPED")),
        ("done", "SUCCEEDED", StepAction::Stop, Invalid),
        ("done", "SUCCEEDED", StepAction::Kill, Invalid),
        ("done", "SUCCEEDED", StepAction::Skip, NeedsRestart),
        ("dead", "FATALLY_FAILED", StepAction::Stop, Invalid),
        ("dead", "FATALLY_FAILED", StepAction::Kill, Invalid),
        ("dead", "FATALLY_FAILED", StepAction::Skip, NeedsRestart),
        ("run_after", "NOT_CREATED", StepAction::Stop, Invalid),
        ("run_after", "NOT_CREATED", StepAction::Kill, Invalid),
        ("run_after", "NOT_CREATED", StepAction::Skip, Invalid),
    ];
    for (step, before, action, expect) in table {
        let run = parallel_run(&h, &id).await;
        assert_eq!(
            status(&h.engine.latest_attempts(&run).await.unwrap(), step),
            before
        );
        let result = h
            .engine
            .act_on_step(
                &id,
                run.instance_id,
                step,
                action,
                User::new("ops"),
                Some("maintenance".into()),
                true,
            )
            .await;
        let case = format!("{action:?} on {step} in {before}");
        match expect {
            Becomes(to) => {
                let outcome = result.unwrap_or_else(|e| panic!("{case}: {e}"));
                assert!(outcome.completed, "{case}");
                let si = outcome.attempt.expect("attempt");
                assert_eq!(si.runtime_state.status.as_str(), to, "{case}");
                let timeline = serde_json::to_string(&si.timeline).unwrap();
                assert!(
                    timeline.contains(r#""action":"#)
                        && timeline.contains("ops")
                        && timeline.contains("maintenance"),
                    "{case}: {timeline}"
                );
                // Downstream of a skipped step continues.
                if to == "SKIPPED" {
                    wait_step(&h.engine, &run, &format!("{step}_after"), "SUCCEEDED").await;
                }
            }
            Invalid => {
                let err = result.expect_err(&case);
                assert!(
                    matches!(err, EngineError::Invalid { .. }),
                    "{case}: {err:?}"
                );
                assert!(err.to_string().contains(before), "{case}: {err}");
            }
            NeedsRestart => {
                let err = result.expect_err(&case);
                assert!(
                    matches!(err, EngineError::NotImplemented(_)),
                    "{case}: {err:?}"
                );
            }
        }
        h.engine
            .terminate_instance(&id, run.instance_id, None, RunAction::Stop, User::new("t"))
            .await
            .expect("stop the rest");
        wait_run(&h.engine, &run).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_applies_the_failure_mode_and_stop_ends_the_run_stopped() {
    let h = Harness::scripted().await;
    let wf = |id: &str, mode: &str| {
        json!({"properties": {"owner": "tester"}, "workflow": {"id": id, "steps": [
            {"step": {"id": "slow", "type": "Titus", "failure_mode": mode,
                "params": {"outcomes": {"value": ["SLEEP:60000"], "type": "STRING_ARRAY"}},
                "transition": {"successors": {"next": "true"}}}},
            {"step": {"id": "next", "type": "NoOp"}},
            {"step": {"id": "other", "type": "Titus",
                "params": {"outcomes": {"value": ["SLEEP:300"], "type": "STRING_ARRAY"}}}}
        ]}})
        .to_string()
    };
    let kill = |e: &Engine, id: &str, run: &RunKey, a: StepAction| {
        let e = e.clone();
        let id = id.to_string();
        let iid = run.instance_id;
        async move {
            e.act_on_step(&id, iid, "slow", a, User::new("ops"), None, true)
                .await
                .expect("action")
        }
    };
    // IGNORE_FAILURE: the kill completes with error and downstream runs.
    let id = h.push_json(&wf("ignore", "IGNORE_FAILURE")).await;
    let run = start(&h.engine, &id).await;
    wait_step(&h.engine, &run, "slow", "RUNNING").await;
    kill(&h.engine, &id, &run, StepAction::Kill).await;
    let (wi, steps) = wait_run(&h.engine, &run).await;
    assert_eq!(status(&steps, "slow"), "COMPLETED_WITH_ERROR");
    assert_eq!(status(&steps, "next"), "SUCCEEDED");
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    // FAIL_IMMEDIATELY: the other running step is stopped; the run fails.
    let id = h.push_json(&wf("immediately", "FAIL_IMMEDIATELY")).await;
    let run = start(&h.engine, &id).await;
    wait_step(&h.engine, &run, "slow", "RUNNING").await;
    kill(&h.engine, &id, &run, StepAction::Kill).await;
    let (wi, steps) = wait_run(&h.engine, &run).await;
    assert_eq!(status(&steps, "slow"), "FATALLY_FAILED");
    assert_eq!(status(&steps, "other"), "STOPPED");
    assert_eq!(status(&steps, "next"), "NOT_CREATED");
    assert_eq!(wi.status.as_str(), "FAILED");
    // FAIL_AFTER_RUNNING + STOP: the other step finishes; the run ends STOPPED.
    let id = h.push_json(&wf("after", "FAIL_AFTER_RUNNING")).await;
    let run = start(&h.engine, &id).await;
    wait_step(&h.engine, &run, "slow", "RUNNING").await;
    kill(&h.engine, &id, &run, StepAction::Stop).await;
    let (wi, steps) = wait_run(&h.engine, &run).await;
    assert_eq!(status(&steps, "slow"), "STOPPED");
    assert_eq!(status(&steps, "other"), "SUCCEEDED");
    assert_eq!(wi.status.as_str(), "STOPPED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_killing_or_skipping_a_foreach_step_stops_its_iterations() {
    let h = Harness::new().await;
    for (n, action, to) in [
        (0, StepAction::Stop, "STOPPED"),
        (1, StepAction::Kill, "FATALLY_FAILED"),
        (2, StepAction::Skip, "SKIPPED"),
    ] {
        let id = format!("fe-action-{n}");
        let nap = json!({"step": {"id": "nap", "type": "Sleep",
            "params": {"sleep_seconds": {"value": 60, "type": "LONG"}}}});
        let fe = json!({"foreach": {"id": "loop", "concurrency": 3,
            "params": {"loop_params": {"type": "MAP", "value": {
                "i": {"value": [1, 2, 3], "type": "LONG_ARRAY"}}}},
            "steps": [nap], "transition": {"successors": {"after": "true"}}}});
        let wf = json!({"properties": {"owner": "tester"}, "workflow": {"id": id,
            "steps": [fe, {"step": {"id": "after", "type": "NoOp"}}]}});
        h.push_json(&wf.to_string()).await;
        let run = start(&h.engine, &id).await;
        let loop_step = wait_step(&h.engine, &run, "loop", "RUNNING").await;
        let foreach_id = match loop_step
            .artifacts
            .as_ref()
            .and_then(|a| a.get("maestro_foreach"))
        {
            Some(baton_model::instance::Artifact::Foreach(a)) => a.foreach_workflow_id.clone(),
            _ => None,
        };
        // Wait until the iterations run.
        let foreach_id = match foreach_id {
            Some(f) => f,
            None => loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let si = wait_step(&h.engine, &run, "loop", "RUNNING").await;
                if let Some(baton_model::instance::Artifact::Foreach(a)) =
                    si.artifacts.as_ref().and_then(|a| a.get("maestro_foreach"))
                    && let Some(f) = &a.foreach_workflow_id
                {
                    break f.clone();
                }
            },
        };
        let outcome = h
            .engine
            .act_on_step(
                &id,
                run.instance_id,
                "loop",
                action,
                User::new("ops"),
                None,
                true,
            )
            .await
            .expect("action");
        assert_eq!(
            outcome.attempt.unwrap().runtime_state.status.as_str(),
            to,
            "{action:?}"
        );
        let (wi, steps) = wait_run(&h.engine, &run).await;
        let children = h
            .engine
            .store()
            .list_instances(&foreach_id, None, 100)
            .await
            .unwrap();
        assert!(!children.is_empty(), "{action:?}: iterations exist");
        for c in children {
            let child = h
                .engine
                .get_instance_run(&foreach_id, c.key.instance_id, None)
                .await
                .unwrap();
            assert_eq!(child.status.as_str(), "STOPPED", "{action:?}");
        }
        let expected_run = match action {
            StepAction::Stop => "STOPPED",
            StepAction::Kill => "FAILED",
            StepAction::Skip => "SUCCEEDED",
        };
        assert_eq!(wi.status.as_str(), expected_run, "{action:?}");
        if action == StepAction::Skip {
            assert_eq!(status(&steps, "after"), "SUCCEEDED");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_blocking_actions_return_at_once_and_terminal_runs_refuse() {
    let h = Harness::scripted().await;
    let id = h.push_json(&parallel_wf("nb")).await;
    let run = parallel_run(&h, &id).await;
    let outcome = h
        .engine
        .act_on_step(
            &id,
            run.instance_id,
            "run",
            StepAction::Stop,
            User::new("ops"),
            None,
            false,
        )
        .await
        .expect("accepted");
    assert!(!outcome.completed);
    wait_step(&h.engine, &run, "run", "STOPPED").await;
    h.engine
        .terminate_instance(&id, run.instance_id, None, RunAction::Stop, User::new("t"))
        .await
        .unwrap();
    wait_run(&h.engine, &run).await;
    // A terminal run: stop and kill are refused; skip is a restart (a new run in which the
    // step ends SKIPPED without running).
    let err = h
        .engine
        .act_on_step(
            &id,
            run.instance_id,
            "sig",
            StepAction::Stop,
            User::new("ops"),
            None,
            true,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("terminal"), "{err}");
    let skipped = h
        .engine
        .act_on_step(
            &id,
            run.instance_id,
            "sig",
            StepAction::Skip,
            User::new("ops"),
            None,
            true,
        )
        .await
        .unwrap();
    assert_eq!(skipped.run.run_id, run.run_id + 1, "{skipped:?}");
    let (_, steps) = wait_run(&h.engine, &skipped.run).await;
    let sig = steps
        .iter()
        .find(|s| s.step_id == "sig")
        .expect("sig in the new run");
    assert_eq!(sig.runtime_state.status.as_str(), "SKIPPED");
    let err = h
        .engine
        .act_on_step(
            &id,
            run.instance_id,
            "nope",
            StepAction::Stop,
            User::new("ops"),
            None,
            true,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
    let _ = TimelineEvent::info(0, "");
}
