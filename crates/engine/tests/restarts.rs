//! Restarts (maestro-model.md §7.5–§7.7, §7.10): which steps a restarted run runs again, which
//! it keeps (and downstream steps can still read), run and attempt ids, in-run step restarts,
//! skip-by-restart, and the restarts that must be refused without writing anything.

mod common;

use std::time::Duration;

use baton_engine::{EngineError, StepRestartOutcome};
use baton_model::api::{
    InstanceRunStatus, RestartPolicy, StepInstanceRestartRequest, WorkflowInstanceRestartRequest,
};
use baton_model::definition::User;
use baton_model::instance::{StepInstance, TimelineEvent, WorkflowInstance};
use baton_model::params::EvaluatedValue;
use baton_store::RunKey;
use common::Harness;

/// A scripted (`Titus`) step: outcomes by attempt id, successors, extra params (JSON members).
fn step(id: &str, outcomes: &[&str], successors: &[&str], params: &str) -> String {
    let succ: Vec<String> = successors
        .iter()
        .map(|s| format!(r#""{s}": "true""#))
        .collect();
    let outs: Vec<String> = outcomes.iter().map(|o| format!(r#""{o}""#)).collect();
    let extra = if params.is_empty() {
        String::new()
    } else {
        format!(", {params}")
    };
    format!(
        r#"{{"step": {{"id": "{id}", "type": "Titus", "transition": {{"successors": {{{}}}}},
            "params": {{"outcomes": {{"value": [{}], "type": "STRING_ARRAY"}}{extra}}}}}}}"#,
        succ.join(","),
        outs.join(",")
    )
}

fn wf(id: &str, steps: &[String], extra: &str) -> String {
    format!(
        r#"{{"properties": {{"owner": "tester", "run_strategy": "parallel"}},
            "workflow": {{"id": "{id}"{extra}, "steps": [{}]}}}}"#,
        steps.join(",")
    )
}

/// a → b → c, and d alone. `b` fails on its first attempt; `c` reads `a`'s param.
fn chain(id: &str) -> String {
    wf(
        id,
        &[
            step(
                "a",
                &["DONE"],
                &["b"],
                r#""x": {"value": "from-a", "type": "STRING"}"#,
            ),
            step("b", &["FATAL_ERROR", "DONE"], &["c"], ""),
            step(
                "c",
                &["DONE"],
                &[],
                r#""seen": {"expression": "params.getFromStep('a', 'x')", "type": "STRING"}"#,
            ),
            step("d", &["DONE"], &[], ""),
        ],
        "",
    )
}

fn tester() -> User {
    User::new("tester")
}

fn restart(policy: RestartPolicy) -> WorkflowInstanceRestartRequest {
    WorkflowInstanceRestartRequest {
        request_time: None,
        request_id: None,
        restart_policy: policy,
        run_params: None,
    }
}

fn step_restart(policy: RestartPolicy) -> StepInstanceRestartRequest {
    StepInstanceRestartRequest {
        request_time: None,
        request_id: None,
        restart_policy: policy,
        step_run_params: None,
        upstream_restart_mode: None,
    }
}

fn string_param(si: &StepInstance, name: &str) -> Option<String> {
    match si.params.as_ref()?.get(name)?.evaluated_result.as_ref()? {
        EvaluatedValue::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Step id → (attempt ids, last status) of every attempt of a run.
fn summary(all: &[StepInstance]) -> Vec<(String, Vec<i64>, String)> {
    let mut out: Vec<(String, Vec<i64>, String)> = Vec::new();
    for si in all {
        match out.iter_mut().find(|(id, _, _)| *id == si.step_id) {
            Some(e) => {
                e.1.push(si.step_attempt_id);
                e.2 = si.runtime_state.status.as_str().to_string();
            }
            None => out.push((
                si.step_id.clone(),
                vec![si.step_attempt_id],
                si.runtime_state.status.as_str().to_string(),
            )),
        }
    }
    out.sort();
    out
}

fn s(id: &str, attempts: &[i64], status: &str) -> (String, Vec<i64>, String) {
    (id.to_string(), attempts.to_vec(), status.to_string())
}

impl Harness {
    /// Waits for run `run_id` of an instance to end and returns it with all its attempts.
    async fn finished(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: i64,
    ) -> (WorkflowInstance, Vec<StepInstance>) {
        let mut events = self.engine.subscribe();
        let key = RunKey {
            workflow_id: workflow_id.to_string(),
            instance_id,
            run_id,
        };
        self.wait_terminal(&key, &mut events, Duration::from_secs(30))
            .await;
        let wi = self
            .engine
            .get_instance_run(workflow_id, instance_id, Some(run_id))
            .await
            .expect("run");
        let all = self.all_attempts(&wi).await;
        (wi, all)
    }

    async fn run_count(&self, workflow_id: &str, instance_id: i64) -> usize {
        self.engine
            .instance_runs(
                workflow_id,
                instance_id,
                baton_engine::views::InstanceViewOptions {
                    enriched: false,
                    aggregated: false,
                },
            )
            .await
            .map(|r| r.len())
            .unwrap_or(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_incomplete_reruns_what_failed_and_keeps_what_succeeded() {
    let h = Harness::scripted().await;
    let id = h.push_json(&chain("restart-incomplete")).await;
    let (first, all) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    assert_eq!(
        summary(&all),
        [
            s("a", &[1], "SUCCEEDED"),
            s("b", &[1], "FATALLY_FAILED"),
            s("d", &[1], "SUCCEEDED")
        ]
    );

    let resp = h
        .engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .expect("restart");
    assert_eq!(resp.status, InstanceRunStatus::Created);
    assert_eq!(resp.workflow_instance_id, first.workflow_instance_id);
    assert_eq!(resp.workflow_run_id, 2);
    assert_eq!(resp.workflow_version_id, first.workflow_version_id);

    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    // Only what did not complete (b) and what lies downstream (c) ran; b continues its attempt
    // ids from run 1 (§7.10) and counts a manual retry.
    assert_eq!(
        summary(&all),
        [s("b", &[2], "SUCCEEDED"), s("c", &[1], "SUCCEEDED")]
    );
    let b = all.iter().find(|si| si.step_id == "b").unwrap();
    assert_eq!(b.step_retry.as_ref().map(|r| r.manual_retries), Some(1));
    // c read the param of a, which was carried from run 1.
    let c = all.iter().find(|si| si.step_id == "c").unwrap();
    assert_eq!(string_param(c, "seen").as_deref(), Some("from-a"));
    assert_eq!(
        second.run_config.as_ref().map(|c| c.policy.as_str()),
        Some("RESTART_FROM_INCOMPLETE")
    );
    // The restart is on the new run's timeline with the caller.
    let restarted = second
        .timeline
        .as_ref()
        .map(|t| {
            t.events().iter().any(|e| {
                matches!(e, TimelineEvent::Action(a)
                if a.action.as_deref() == Some("RESTART")
                    && a.author.as_ref().map(|u| u.name.as_str()) == Some("tester"))
            })
        })
        .unwrap_or(false);
    assert!(restarted, "timeline: {:?}", second.timeline);
    // Run 1 is unchanged: still FAILED, its steps as they were.
    let (old, old_all) = h.finished(&id, first.workflow_instance_id, 1).await;
    assert_eq!(old.status.as_str(), "FAILED");
    assert_eq!(old_all.len(), 3);
    // The instance view across runs: every step done.
    let steps = h
        .engine
        .instance_steps(&id, first.workflow_instance_id, false)
        .await
        .unwrap();
    let view: Vec<(String, i64, String)> = steps
        .iter()
        .map(|si| {
            (
                si.step_id.clone(),
                si.workflow_run_id,
                si.runtime_state.status.as_str().to_string(),
            )
        })
        .collect();
    let mut view = view;
    view.sort();
    assert_eq!(
        view,
        [
            ("a".to_string(), 1, "SUCCEEDED".to_string()),
            ("b".to_string(), 2, "SUCCEEDED".to_string()),
            ("c".to_string(), 2, "SUCCEEDED".to_string()),
            ("d".to_string(), 1, "SUCCEEDED".to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_beginning_reruns_every_step() {
    let h = Harness::scripted().await;
    let id = h.push_json(&chain("restart-beginning")).await;
    let (first, _) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    let resp = h
        .engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromBeginning),
            tester(),
        )
        .await
        .expect("restart");
    assert_eq!(resp.workflow_run_id, 2);
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [
            s("a", &[2], "SUCCEEDED"),
            s("b", &[2], "SUCCEEDED"),
            s("c", &[1], "SUCCEEDED"),
            s("d", &[2], "SUCCEEDED")
        ]
    );
    // A third run: everything again, attempt ids still continuing.
    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromBeginning),
            tester(),
        )
        .await
        .expect("restart");
    let (third, all) = h.finished(&id, first.workflow_instance_id, 3).await;
    assert_eq!(third.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [
            s("a", &[3], "SUCCEEDED"),
            s("b", &[3], "SUCCEEDED"),
            s("c", &[2], "SUCCEEDED"),
            s("d", &[3], "SUCCEEDED")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_incomplete_of_a_succeeded_run_runs_nothing_again() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "restart-done",
            &[
                step("a", &["DONE"], &["b"], ""),
                step("b", &["DONE"], &[], ""),
            ],
            "",
        ))
        .await;
    let (first, _) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "SUCCEEDED");
    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .expect("restart");
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert!(all.is_empty(), "nothing runs again: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_restart_of_a_terminal_run_restarts_from_that_step() {
    let h = Harness::scripted().await;
    // a → b → c, d alone, e fails for good.
    let id = h
        .push_json(&wf(
            "restart-specific",
            &[
                step(
                    "a",
                    &["DONE"],
                    &["b"],
                    r#""x": {"value": "from-a", "type": "STRING"}"#,
                ),
                step("b", &["DONE"], &["c"], ""),
                step(
                    "c",
                    &["DONE"],
                    &[],
                    r#""seen": {"expression": "params.getFromStep('a', 'x')", "type": "STRING"}"#,
                ),
                step("d", &["DONE"], &[], ""),
                step("e", &["FATAL_ERROR"], &[], ""),
            ],
            "",
        ))
        .await;
    let (first, _) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    let mut req = step_restart(RestartPolicy::RestartFromIncomplete);
    req.step_run_params =
        Some(serde_json::from_str(r#"{"note": {"value": "again", "type": "STRING"}}"#).unwrap());
    let outcome = h
        .engine
        .restart_step(&id, first.workflow_instance_id, "b", req, tester())
        .await
        .expect("restart");
    let StepRestartOutcome::NewRun(resp) = outcome else {
        panic!("a terminal run restarts as a new run");
    };
    assert_eq!(resp.workflow_run_id, 2);
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    // Only b and what lies downstream ran (both had succeeded in run 1: attempt 2 now); e
    // (failed, elsewhere) was not created.
    assert_eq!(
        summary(&all),
        [s("b", &[2], "SUCCEEDED"), s("c", &[2], "SUCCEEDED")]
    );
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    let b = all.iter().find(|si| si.step_id == "b").unwrap();
    assert_eq!(string_param(b, "note").as_deref(), Some("again"));
    let c = all.iter().find(|si| si.step_id == "c").unwrap();
    assert_eq!(string_param(c, "seen").as_deref(), Some("from-a"));
    let config = second.run_config.as_ref().unwrap();
    assert_eq!(config.policy.as_str(), "RESTART_FROM_SPECIFIC");
    let rc = config.restart_config.as_ref().unwrap();
    assert_eq!(rc.restart_path[0].step_id.as_deref(), Some("b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_by_restart_skips_the_step_and_runs_downstream() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "restart-skip",
            &[
                step("a", &["DONE"], &["b"], ""),
                step("b", &["FATAL_ERROR"], &["c"], ""),
                step("c", &["DONE"], &[], ""),
            ],
            "",
        ))
        .await;
    let (first, _) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    let resp = h
        .engine
        .skip_step_by_restart(&id, first.workflow_instance_id, "b", tester())
        .await
        .expect("skip");
    assert_eq!(resp.workflow_run_id, 2);
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [s("b", &[2], "SKIPPED"), s("c", &[1], "SUCCEEDED")]
    );
    // A step never created cannot be skipped this way.
    let id2 = h
        .push_json(&wf(
            "restart-skip-2",
            &[
                step("a", &["FATAL_ERROR"], &["b"], ""),
                step("b", &["DONE"], &[], ""),
            ],
            "",
        ))
        .await;
    let (first, _) = h.run(&id2, None).await;
    let err = h
        .engine
        .skip_step_by_restart(&id2, first.workflow_instance_id, "b", tester())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err}");
    assert_eq!(h.run_count(&id2, first.workflow_instance_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_of_an_active_run_is_restarted_as_a_new_attempt() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "restart-in-run",
            &[
                step("flaky", &["FATAL_ERROR", "DONE"], &[], ""),
                step("slow", &["SLEEP:3000"], &[], ""),
            ],
            "",
        ))
        .await;
    let mut events = h.engine.subscribe();
    let resp = h
        .engine
        .start_workflow(
            &id,
            "latest",
            baton_model::api::WorkflowStartRequest {
                initiator: baton_model::instance::Initiator::manual(None),
                request_time: None,
                request_id: None,
                runtime_tags: None,
                run_params: None,
                artifacts: None,
                persist_failed_run: false,
            },
            Some(tester()),
        )
        .await
        .unwrap();
    let iid = resp.workflow_instance_id;
    // Wait for flaky to fail for good while slow still runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let view = h.engine.step_view(&id, iid, "flaky", false).await;
        if view.is_ok_and(|si| si.runtime_state.status.as_str() == "FATALLY_FAILED") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "flaky never failed");
        let _ = tokio::time::timeout(Duration::from_millis(100), events.recv()).await;
    }
    // A step still running cannot be restarted.
    let err = h
        .engine
        .restart_step(
            &id,
            iid,
            "slow",
            step_restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err}");
    let outcome = h
        .engine
        .restart_step(
            &id,
            iid,
            "flaky",
            step_restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .expect("in-run restart");
    let StepRestartOutcome::InRun(si) = outcome else {
        panic!("an active run restarts the step in place");
    };
    assert_eq!(si.workflow_run_id, 1);
    assert_eq!(si.step_attempt_id, 2);
    let (wi, all) = h.finished(&id, iid, 1).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [
            s("flaky", &[1, 2], "SUCCEEDED"),
            s("slow", &[1], "SUCCEEDED")
        ]
    );
    let last = all
        .iter()
        .rfind(|si| si.step_id == "flaky")
        .and_then(|si| si.step_retry.clone())
        .unwrap();
    assert_eq!(last.manual_retries, 1);
    assert_eq!(h.run_count(&id, iid).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_restarts_are_refused_and_write_nothing() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "restart-invalid",
            &[step("slow", &["SLEEP:2000"], &[], "")],
            r#", "params": {"fixed": {"value": "one", "type": "STRING", "mode": "MUTABLE_ON_START"}}"#,
        ))
        .await;
    let resp = h
        .engine
        .start_workflow(
            &id,
            "latest",
            baton_model::api::WorkflowStartRequest {
                initiator: baton_model::instance::Initiator::manual(None),
                request_time: None,
                request_id: None,
                runtime_tags: None,
                run_params: None,
                artifacts: None,
                persist_failed_run: false,
            },
            Some(tester()),
        )
        .await
        .unwrap();
    let iid = resp.workflow_instance_id;
    // A running instance cannot be restarted.
    let err = h
        .engine
        .restart_instance(
            &id,
            iid,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("cannot restart"), "{err}");
    // Unknown instance, unknown step.
    let err = h
        .engine
        .restart_instance(
            &id,
            99,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err}");
    let err = h
        .engine
        .restart_step(
            &id,
            iid,
            "nope",
            step_restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err}");
    let (wi, _) = h.finished(&id, iid, 1).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    // Reserved names in run params, and a param the restart may not change.
    let mut bad = restart(RestartPolicy::RestartFromIncomplete);
    bad.run_params =
        Some(serde_json::from_str(r#"{"params": {"value": "x", "type": "STRING"}}"#).unwrap());
    let err = h
        .engine
        .restart_instance(&id, iid, bad, tester())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err}");
    let mut frozen = restart(RestartPolicy::RestartFromIncomplete);
    frozen.run_params =
        Some(serde_json::from_str(r#"{"fixed": {"value": "two", "type": "STRING"}}"#).unwrap());
    let err = h
        .engine
        .restart_instance(&id, iid, frozen, tester())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err}");
    assert_eq!(
        h.run_count(&id, iid).await,
        1,
        "refused restarts wrote a run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_params_change_mutable_params_and_duplicates_are_reported() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "restart-params",
            &[step(
                "a",
                &["DONE"],
                &[],
                r#""echo": {"expression": "p + '!'", "type": "STRING"}"#,
            )],
            r#", "params": {"p": {"value": "one", "type": "STRING"}}"#,
        ))
        .await;
    let (first, _) = h.run(&id, None).await;
    let request_id = uuid::Uuid::new_v4();
    let mut req = restart(RestartPolicy::RestartFromBeginning);
    req.request_id = Some(request_id);
    req.run_params =
        Some(serde_json::from_str(r#"{"p": {"value": "two", "type": "STRING"}}"#).unwrap());
    let resp = h
        .engine
        .restart_instance(&id, first.workflow_instance_id, req.clone(), tester())
        .await
        .unwrap();
    assert_eq!(
        resp.workflow_uuid.as_deref(),
        Some(request_id.to_string().as_str())
    );
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    let p = second.params.as_ref().and_then(|p| p.get("p")).unwrap();
    assert_eq!(
        p.evaluated_result,
        Some(EvaluatedValue::String("two".into()))
    );
    assert_eq!(string_param(&all[0], "echo").as_deref(), Some("two!"));
    // The same request again: reported, nothing written.
    let again = h
        .engine
        .restart_instance(&id, first.workflow_instance_id, req, tester())
        .await
        .unwrap();
    assert_eq!(again.status, InstanceRunStatus::Duplicated);
    assert_eq!(again.workflow_run_id, 2);
    assert_eq!(h.run_count(&id, first.workflow_instance_id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_goes_through_strict_sequential_and_unblocks_its_own_failure() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&format!(
            r#"{{"properties": {{"owner": "tester", "run_strategy": "STRICT_SEQUENTIAL"}},
                "workflow": {{"id": "restart-strict", "steps": [{}]}}}}"#,
            step("a", &["FATAL_ERROR", "DONE"], &[], "")
        ))
        .await;
    let (first, _) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    // A second instance waits behind the FAILED one.
    let queued = h
        .engine
        .start_workflow(
            &id,
            "latest",
            baton_model::api::WorkflowStartRequest {
                initiator: baton_model::instance::Initiator::manual(None),
                request_time: None,
                request_id: None,
                runtime_tags: None,
                run_params: None,
                artifacts: None,
                persist_failed_run: false,
            },
            Some(tester()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = h
        .engine
        .get_instance_run(&id, queued.workflow_instance_id, None)
        .await
        .unwrap();
    assert_eq!(waiting.status.as_str(), "CREATED");
    // The restart runs at once (its own failure does not block it), then the queue moves.
    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap();
    let (second, _) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    let (next, _) = h.finished(&id, queued.workflow_instance_id, 1).await;
    assert_eq!(next.status.as_str(), "FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_run_resumes_after_an_engine_restart_without_rerunning_kept_steps() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "restart-resume",
            &[
                step("a", &["DONE"], &["b"], ""),
                step("b", &["FATAL_ERROR", "SLEEP:1500"], &["c"], ""),
                step("c", &["DONE"], &[], ""),
            ],
            "",
        ))
        .await;
    let (first, _) = h.run(&id, None).await;
    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.engine.shutdown(Duration::from_millis(200)).await;
    // A new engine on the same store resumes run 2.
    let store = common::open_store(h.dir.path(), common::Backend::from_env()).await;
    let mut config = baton_engine::EngineConfig::new(h.dir.path().join("work"));
    config.runtimes.register(
        baton_model::definition::StepType::Titus,
        std::sync::Arc::new(common::ScriptedRuntime),
    );
    let engine = baton_engine::Engine::start(store, config).await.unwrap();
    let h2 = Harness { engine, dir: h.dir };
    let (second, all) = h2.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [s("b", &[2], "SUCCEEDED"), s("c", &[1], "SUCCEEDED")]
    );
}

/// loop (foreach i in 1..=4, all at once) → after. In each iteration prep → job; job fails on
/// its first attempt in iteration 2 only.
fn foreach_wf(id: &str) -> String {
    serde_json::json!({
        "properties": {"owner": "tester", "run_strategy": "parallel"},
        "workflow": {"id": id, "steps": [
            {"foreach": {"id": "loop", "concurrency": 4,
                "transition": {"successors": {"after": "true"}},
                "params": {"loop_params": {"type": "MAP", "value": {
                    "i": {"expression": "Util.intsBetween(1, 5, 1)", "type": "LONG_ARRAY"}}}},
                "steps": [
                    {"step": {"id": "prep", "type": "NoOp", "transition": {"successors": {"job": "true"}}}},
                    {"step": {"id": "job", "type": "Titus", "params": {"outcomes": {
                        "expression": "if (i == 2) return new String[]{'FATAL_ERROR', 'DONE'}; return new String[]{'DONE'};",
                        "type": "STRING_ARRAY"}}}}
                ]}},
            {"step": {"id": "after", "type": "NoOp"}}
        ]}
    })
    .to_string()
}

fn foreach_artifact(si: &StepInstance) -> baton_model::instance::ForeachArtifact {
    match si.artifacts.as_ref().and_then(|a| a.get("maestro_foreach")) {
        Some(baton_model::instance::Artifact::Foreach(a)) => a.clone(),
        other => panic!("no foreach artifact: {other:?}"),
    }
}

impl Harness {
    /// Run ids of each iteration instance of an inline workflow, by iteration.
    async fn iteration_runs(&self, inline: &str, n: i64) -> Vec<Vec<i64>> {
        let mut out = Vec::new();
        for i in 1..=n {
            let runs = self
                .engine
                .instance_runs(
                    inline,
                    i,
                    baton_engine::views::InstanceViewOptions {
                        enriched: false,
                        aggregated: false,
                    },
                )
                .await
                .map(|r| r.iter().map(|w| w.workflow_run_id).collect())
                .unwrap_or_default();
            out.push(runs);
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreach_restart_keeps_succeeded_iterations() {
    let h = Harness::scripted().await;
    let id = h.push_json(&foreach_wf("restart-foreach")).await;
    let (first, all) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    assert_eq!(summary(&all), [s("loop", &[1], "FATALLY_FAILED")]);
    let inline = foreach_artifact(&all[0]).foreach_workflow_id.unwrap();

    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap();
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [s("after", &[1], "SUCCEEDED"), s("loop", &[2], "SUCCEEDED")]
    );
    let loop_step = all.iter().find(|si| si.step_id == "loop").unwrap();
    let a = foreach_artifact(loop_step);
    assert_eq!(a.foreach_run_id, 2);
    let overview = a.foreach_overview.unwrap();
    assert_eq!(
        overview
            .stats
            .unwrap()
            .get(&baton_model::instance::WorkflowInstanceStatus::Succeeded),
        Some(&4)
    );
    // Two leaves per iteration, the kept ones included.
    assert_eq!(overview.rollup.unwrap().total_leaf_count, 8);
    // Only iteration 2 ran again, as run 2 of the same iteration instance, in which prep was
    // kept and job ran its second attempt.
    assert_eq!(
        h.iteration_runs(&inline, 4).await,
        [vec![1], vec![1, 2], vec![1], vec![1]]
    );
    let it2 = h
        .engine
        .get_instance_run(&inline, 2, Some(2))
        .await
        .unwrap();
    assert_eq!(it2.status.as_str(), "SUCCEEDED");
    let it2_steps = h.all_attempts(&it2).await;
    assert_eq!(summary(&it2_steps), [s("job", &[2], "SUCCEEDED")]);

    // FROM_BEGINNING runs every iteration again (foreach run 3).
    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromBeginning),
            tester(),
        )
        .await
        .unwrap();
    let (third, all) = h.finished(&id, first.workflow_instance_id, 3).await;
    assert_eq!(third.status.as_str(), "SUCCEEDED");
    let a = foreach_artifact(all.iter().find(|si| si.step_id == "loop").unwrap());
    assert_eq!(a.foreach_run_id, 3);
    assert_eq!(
        h.iteration_runs(&inline, 4).await,
        [vec![1, 3], vec![1, 2, 3], vec![1, 3], vec![1, 3]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_restart_inside_an_iteration_walks_up_to_the_root() {
    let h = Harness::scripted().await;
    let id = h.push_json(&foreach_wf("restart-foreach-path")).await;
    let (first, all) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    let inline = foreach_artifact(&all[0]).foreach_workflow_id.unwrap();
    let outcome = h
        .engine
        .restart_step(
            &inline,
            2,
            "job",
            step_restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .expect("nested step restart");
    let StepRestartOutcome::NewRun(resp) = outcome else {
        panic!("a terminal tree restarts from its root");
    };
    // The new run is the root's.
    assert_eq!(resp.workflow_id, id);
    assert_eq!(resp.workflow_run_id, 2);
    let (second, _) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    let rc = second
        .run_config
        .as_ref()
        .and_then(|c| c.restart_config.clone())
        .unwrap();
    let path: Vec<(String, i64, Option<String>)> = rc
        .restart_path
        .iter()
        .map(|n| (n.workflow_id.clone(), n.instance_id, n.step_id.clone()))
        .collect();
    assert_eq!(
        path,
        [
            (inline.clone(), 2, Some("job".to_string())),
            (
                id.clone(),
                first.workflow_instance_id,
                Some("loop".to_string())
            )
        ]
    );
    assert_eq!(
        h.iteration_runs(&inline, 4).await,
        [vec![1], vec![1, 2], vec![1], vec![1]]
    );
    let it2 = h
        .engine
        .get_instance_run(&inline, 2, Some(2))
        .await
        .unwrap();
    assert_eq!(
        it2.run_config.as_ref().map(|c| c.policy.as_str()),
        Some("RESTART_FROM_SPECIFIC")
    );
    assert_eq!(
        summary(&h.all_attempts(&it2).await),
        [s("job", &[2], "SUCCEEDED")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subworkflow_restart_makes_a_new_run_of_the_same_child() {
    let h = Harness::scripted().await;
    h.push_json(&wf(
        "restart-child",
        &[
            step("c1", &["DONE"], &["c2"], ""),
            step("c2", &["FATAL_ERROR", "DONE"], &[], ""),
        ],
        "",
    ))
    .await;
    let id = h
        .push_json(
            &serde_json::json!({
                "properties": {"owner": "tester", "run_strategy": "parallel"},
                "workflow": {"id": "restart-parent", "steps": [
                    {"subworkflow": {"id": "sub", "transition": {"successors": {"after": "true"}},
                        "params": {"subworkflow_id": {"value": "restart-child", "type": "STRING"}}}},
                    {"step": {"id": "after", "type": "NoOp"}}
                ]}
            })
            .to_string(),
        )
        .await;
    let (first, all) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    assert_eq!(summary(&all), [s("sub", &[1], "FATALLY_FAILED")]);
    let child_iid = match all[0]
        .artifacts
        .as_ref()
        .and_then(|a| a.get("maestro_subworkflow"))
    {
        Some(baton_model::instance::Artifact::Subworkflow(a)) => a.subworkflow_instance_id,
        other => panic!("no subworkflow artifact: {other:?}"),
    };

    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap();
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(
        summary(&all),
        [s("after", &[1], "SUCCEEDED"), s("sub", &[2], "SUCCEEDED")]
    );
    // The same child instance, a second run started by the new attempt; c1 was kept.
    let runs = h
        .engine
        .instance_runs(
            "restart-child",
            child_iid,
            baton_engine::views::InstanceViewOptions {
                enriched: false,
                aggregated: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        runs.iter().map(|r| r.workflow_run_id).collect::<Vec<_>>(),
        [1, 2]
    );
    let child2 = &runs[1];
    assert_eq!(child2.status.as_str(), "SUCCEEDED");
    let parent = child2.initiator.parent().unwrap();
    assert_eq!((parent.run_id, parent.step_attempt_id), (2, 2));
    assert_eq!(
        summary(&h.all_attempts(child2).await),
        [s("c2", &[2], "SUCCEEDED")]
    );
    // No other child instance was created.
    assert!(
        h.engine
            .get_instance_run("restart-child", child_iid + 1, None)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_while_restart_starts_over_with_a_new_loop_run() {
    let h = Harness::scripted().await;
    let body = serde_json::json!({"step": {"id": "job", "type": "Titus", "params": {
        "outcomes": {"expression": "if (i == 2) return new String[]{'FATAL_ERROR', 'DONE'}; return new String[]{'DONE'};", "type": "STRING_ARRAY"},
        "i": {"expression": "i + 1", "type": "LONG"}}}});
    let id = h
        .push_json(
            &serde_json::json!({
                "properties": {"owner": "tester"},
                "workflow": {"id": "restart-while", "steps": [
                    {"while": {"id": "loop", "condition": "i < 3",
                        "params": {"loop_params": {"type": "MAP", "value": {"i": {"value": 0, "type": "LONG"}}}},
                        "steps": [body]}}
                ]}
            })
            .to_string(),
        )
        .await;
    let (first, all) = h.run(&id, None).await;
    assert_eq!(first.status.as_str(), "FAILED");
    let while_artifact =
        |si: &StepInstance| match si.artifacts.as_ref().and_then(|a| a.get("maestro_while")) {
            Some(baton_model::instance::Artifact::While(a)) => a.clone(),
            other => panic!("no while artifact: {other:?}"),
        };
    let inline = while_artifact(&all[0]).loop_workflow_id.unwrap();
    h.engine
        .restart_instance(
            &id,
            first.workflow_instance_id,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap();
    let (second, all) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED", "{all:?}");
    let a = while_artifact(&all[0]);
    assert_eq!(a.loop_run_id, 2);
    // Every iteration up to the one that failed ran again, as run 2 of its instance.
    let runs = h.iteration_runs(&inline, 3).await;
    assert_eq!(runs, [vec![1, 2], vec![1, 2], vec![1, 2]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_restart_of_an_iteration_restarts_the_root() {
    let h = Harness::scripted().await;
    let id = h.push_json(&foreach_wf("restart-iteration")).await;
    let (first, all) = h.run(&id, None).await;
    let inline = foreach_artifact(&all[0]).foreach_workflow_id.unwrap();
    let resp = h
        .engine
        .restart_instance(
            &inline,
            2,
            restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .expect("nested instance restart");
    assert_eq!(resp.workflow_id, id);
    assert_eq!(resp.workflow_instance_id, first.workflow_instance_id);
    assert_eq!(resp.workflow_run_id, 2);
    let (second, _) = h.finished(&id, first.workflow_instance_id, 2).await;
    assert_eq!(second.status.as_str(), "SUCCEEDED");
    assert_eq!(
        h.iteration_runs(&inline, 4).await,
        [vec![1], vec![1, 2], vec![1], vec![1]]
    );
    let it2 = h
        .engine
        .get_instance_run(&inline, 2, Some(2))
        .await
        .unwrap();
    assert_eq!(
        summary(&h.all_attempts(&it2).await),
        [s("job", &[2], "SUCCEEDED")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_of_a_running_root_cannot_be_restarted_as_a_new_run() {
    let h = Harness::scripted().await;
    let mut def: serde_json::Value =
        serde_json::from_str(&foreach_wf("restart-iteration-busy")).unwrap();
    def["workflow"]["steps"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::from_str(&step("slow", &["SLEEP:2500"], &[], "")).unwrap());
    let id = h.push_json(&def.to_string()).await;
    let resp = h
        .engine
        .start_workflow(
            &id,
            "latest",
            baton_model::api::WorkflowStartRequest {
                initiator: baton_model::instance::Initiator::manual(None),
                request_time: None,
                request_id: None,
                runtime_tags: None,
                run_params: None,
                artifacts: None,
                persist_failed_run: false,
            },
            Some(tester()),
        )
        .await
        .unwrap();
    let iid = resp.workflow_instance_id;
    let mut events = h.engine.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let inline = loop {
        if let Ok(si) = h.engine.step_view(&id, iid, "loop", false).await
            && si.runtime_state.status.as_str() == "FATALLY_FAILED"
        {
            break foreach_artifact(&si).foreach_workflow_id.unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop never failed"
        );
        let _ = tokio::time::timeout(Duration::from_millis(100), events.recv()).await;
    };
    let err = h
        .engine
        .restart_step(
            &inline,
            2,
            "job",
            step_restart(RestartPolicy::RestartFromIncomplete),
            tester(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert_eq!(h.iteration_runs(&inline, 2).await, [vec![1], vec![1]]);
    let (wi, _) = h.finished(&id, iid, 1).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(h.run_count(&id, iid).await, 1);
}
