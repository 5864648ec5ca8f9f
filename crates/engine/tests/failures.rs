//! Failure handling on real runs: retries and backoff (§7.1), failure modes (§7.2), timeouts
//! (§7.3), run-level stop and kill (§7.5), and the run status that follows (§5.3).

mod common;

use std::time::Duration;

use baton_engine::RunAction;
use baton_store::RunKey;
use common::{Harness, scripted, status_of};

fn wf(id: &str, steps: &[String], extra: &str) -> String {
    format!(
        r#"{{"properties": {{"owner": "tester", "run_strategy": "parallel"}},
            "workflow": {{"id": "{id}"{extra}, "steps": [{}]}}}}"#,
        steps.join(",")
    )
}

const FAST_RETRY: &str = r#", "retry_policy": {"error_retry_limit": 2, "platform_retry_limit": 1,
    "backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 1,
                "platform_retry_backoff_in_secs": 1, "timeout_retry_backoff_in_secs": 1}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_error_is_retried_with_backoff_then_succeeds() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "retry-wf",
            &[scripted(
                "flaky",
                &["USER_ERROR", "USER_ERROR", "DONE"],
                &[],
                FAST_RETRY,
            )],
            "",
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
    assert_eq!(statuses, ["USER_FAILED", "USER_FAILED", "SUCCEEDED"]);
    assert_eq!(
        attempts
            .iter()
            .map(|a| a.step_attempt_id)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Same step instance id across retries, a new uuid per attempt.
    assert!(
        attempts
            .iter()
            .all(|a| a.step_instance_id == attempts[0].step_instance_id)
    );
    assert_ne!(attempts[0].step_uuid, attempts[1].step_uuid);
    // The fixed backoff of 1 s separates attempts.
    for w in attempts.windows(2) {
        let gap = w[1].runtime_state.create_time.unwrap() - w[0].runtime_state.end_time.unwrap();
        assert!(gap >= 1000, "retry came after {gap} ms");
    }
    let retry = attempts[2].step_retry.as_ref().expect("retry counters");
    assert_eq!(retry.error_retries, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_fail_the_step_and_the_run() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "exhaust-wf",
            &[
                scripted("bad", &["PLATFORM_ERROR"], &["after"], FAST_RETRY),
                scripted("after", &["DONE"], &[], ""),
                scripted("independent", &["DONE"], &[], ""),
            ],
            "",
        ))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    let all = h.all_attempts(&wi).await;
    let statuses: Vec<&str> = h
        .attempts_of(&all, "bad")
        .iter()
        .map(|a| a.runtime_state.status.as_str())
        .collect();
    assert_eq!(statuses, ["PLATFORM_FAILED", "FATALLY_FAILED"]);
    // FAIL_AFTER_RUNNING: the downstream step is never created; an independent one runs.
    assert_eq!(status_of(&steps, "after"), None);
    assert_eq!(
        status_of(&steps, "independent").as_deref(),
        Some("SUCCEEDED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_error_is_not_retried() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "fatal-wf",
            &[scripted("f", &["FATAL_ERROR", "DONE"], &[], FAST_RETRY)],
            "",
        ))
        .await;
    let (wi, _) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    let all = h.all_attempts(&wi).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].runtime_state.status.as_str(), "FATALLY_FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_retryable_artifact_vetoes_retries() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "veto-wf",
            &[scripted("v", &["retryable_false", "DONE"], &[], FAST_RETRY)],
            "",
        ))
        .await;
    let (wi, _) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    let all = h.all_attempts(&wi).await;
    assert_eq!(
        all.len(),
        1,
        "maestro_retry retryable=false must stop retries"
    );
    assert_eq!(all[0].runtime_state.status.as_str(), "FATALLY_FAILED");
    assert!(
        all[0]
            .artifacts
            .as_ref()
            .is_some_and(|a| a.contains_key("maestro_retry"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_failure_completes_with_error_and_downstream_runs() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "ignore-wf",
            &[
                scripted(
                    "bad",
                    &["FATAL_ERROR"],
                    &["next"],
                    r#", "failure_mode": "ignore_failure""#,
                ),
                scripted("next", &["DONE"], &[], ""),
            ],
            "",
        ))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(
        status_of(&steps, "bad").as_deref(),
        Some("COMPLETED_WITH_ERROR")
    );
    assert_eq!(status_of(&steps, "next").as_deref(), Some("SUCCEEDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_immediately_stops_the_other_running_steps() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "immediate-wf",
            &[
                scripted("slow", &["SLEEP:20000"], &["after_slow"], ""),
                scripted("after_slow", &["DONE"], &[], ""),
                scripted("bad", &["SLEEP:200"], &["boom"], ""),
                scripted(
                    "boom",
                    &["FATAL_ERROR"],
                    &[],
                    r#", "failure_mode": "FAIL_IMMEDIATELY""#,
                ),
            ],
            "",
        ))
        .await;
    let begin = std::time::Instant::now();
    let (wi, steps) = h.run(&id, None).await;
    assert!(
        begin.elapsed() < Duration::from_secs(10),
        "the slow step was not stopped"
    );
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(status_of(&steps, "boom").as_deref(), Some("FATALLY_FAILED"));
    assert_eq!(status_of(&steps, "slow").as_deref(), Some("STOPPED"));
    assert_eq!(status_of(&steps, "after_slow"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_timeout_times_the_step_out() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "timeout-wf",
            &[scripted("slow", &["SLEEP:30000"], &[], r#", "timeout": 1"#)],
            "",
        ))
        .await;
    let begin = std::time::Instant::now();
    let (wi, steps) = h.run(&id, None).await;
    assert!(begin.elapsed() < Duration::from_secs(10));
    assert_eq!(status_of(&steps, "slow").as_deref(), Some("TIMED_OUT"));
    assert_eq!(wi.status.as_str(), "TIMED_OUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_retries_make_new_attempts() {
    let h = Harness::scripted().await;
    let policy = r#", "timeout": 1, "retry_policy": {"timeout_retry_limit": 1,
        "backoff": {"type": "FIXED_BACKOFF", "timeout_retry_backoff_in_secs": 1}}"#;
    let id = h
        .push_json(&wf(
            "timeout-retry-wf",
            &[scripted("slow", &["SLEEP:30000", "DONE"], &[], policy)],
            "",
        ))
        .await;
    let (wi, _) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let all = h.all_attempts(&wi).await;
    let statuses: Vec<&str> = all
        .iter()
        .map(|a| a.runtime_state.status.as_str())
        .collect();
    assert_eq!(statuses, ["TIMEOUT_FAILED", "SUCCEEDED"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_timeout_ends_the_run_timed_out() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "wf-timeout",
            &[scripted("slow", &["SLEEP:30000"], &[], "")],
            r#", "timeout": 1"#,
        ))
        .await;
    let begin = std::time::Instant::now();
    let (wi, steps) = h.run(&id, None).await;
    assert!(begin.elapsed() < Duration::from_secs(10));
    assert_eq!(wi.status.as_str(), "TIMED_OUT");
    assert_eq!(status_of(&steps, "slow").as_deref(), Some("TIMED_OUT"));
}

async fn start_slow(h: &Harness, id: &str) -> RunKey {
    h.push_json(&wf(
        id,
        &[
            scripted("slow", &["SLEEP:30000"], &["after"], ""),
            scripted("after", &["DONE"], &[], ""),
        ],
        "",
    ))
    .await;
    let resp = h
        .engine
        .start_workflow(
            id,
            "latest",
            serde_json::from_str(r#"{"initiator": {"type": "manual"}}"#).unwrap(),
            None,
        )
        .await
        .expect("start");
    let key = RunKey {
        workflow_id: id.to_string(),
        instance_id: resp.workflow_instance_id,
        run_id: resp.workflow_run_id,
    };
    // Wait until the step is running.
    for _ in 0..100 {
        let steps = h.engine.latest_attempts(&key).await.unwrap();
        if status_of(&steps, "slow").as_deref() == Some("RUNNING") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_run_stops_its_steps() {
    let h = Harness::scripted().await;
    let key = start_slow(&h, "stop-wf").await;
    h.engine
        .act_on_run(&key, RunAction::Stop, None, Some("testing".into()))
        .await
        .expect("stop");
    let mut events = h.engine.subscribe();
    let status = h
        .wait_terminal(&key, &mut events, Duration::from_secs(10))
        .await;
    assert_eq!(status.as_str(), "STOPPED");
    let steps = h.engine.latest_attempts(&key).await.unwrap();
    assert_eq!(status_of(&steps, "slow").as_deref(), Some("STOPPED"));
    assert_eq!(status_of(&steps, "after"), None);
    // A terminal run refuses further actions.
    assert!(
        h.engine
            .act_on_run(&key, RunAction::Kill, None, None)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_run_fails_it() {
    let h = Harness::scripted().await;
    let key = start_slow(&h, "kill-wf").await;
    h.engine
        .act_on_run(&key, RunAction::Kill, None, None)
        .await
        .expect("kill");
    let mut events = h.engine.subscribe();
    let status = h
        .wait_terminal(&key, &mut events, Duration::from_secs(10))
        .await;
    assert_eq!(status.as_str(), "FAILED");
    let steps = h.engine.latest_attempts(&key).await.unwrap();
    assert_eq!(status_of(&steps, "slow").as_deref(), Some("FATALLY_FAILED"));
}
