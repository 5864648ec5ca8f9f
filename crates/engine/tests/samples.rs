//! Maestro's own sample workflows that use only NoOp and Sleep steps, run to the statuses
//! Maestro's semantics give, step by step (maestro-model.md §6.2, §12.1).

mod common;

use common::{Harness, compat, status_of};

async fn run_sample(
    file: &str,
) -> (
    baton_model::instance::WorkflowInstance,
    Vec<baton_model::instance::StepInstance>,
) {
    let h = Harness::new().await;
    let id = h.push_file(&format!("maestro-samples/{file}")).await;
    h.run(&id, None).await
}

/// Runs a sample after shortening its sleeps, so the test takes seconds, not minutes.
async fn run_sample_with(
    file: &str,
    edit: impl Fn(String) -> String,
) -> (
    baton_model::instance::WorkflowInstance,
    Vec<baton_model::instance::StepInstance>,
) {
    let h = Harness::new().await;
    let text = std::fs::read_to_string(compat(&format!("maestro-samples/{file}"))).unwrap();
    let id = h.push_json(&edit(text)).await;
    h.run(&id, None).await
}

fn assert_statuses(
    steps: &[baton_model::instance::StepInstance],
    expected: &[(&str, Option<&str>)],
) {
    for (id, status) in expected {
        assert_eq!(status_of(steps, id).as_deref(), *status, "step {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_dag_test_1_runs_its_joins() {
    let (wi, steps) = run_sample("sample-dag-test-1.json").await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(steps.len(), 6);
    assert!(
        steps
            .iter()
            .all(|s| s.runtime_state.status.as_str() == "SUCCEEDED")
    );
    // job.3 joins job.2 and job.5: it starts after both ended.
    let end = |id: &str| {
        steps
            .iter()
            .find(|s| s.step_id == id)
            .unwrap()
            .runtime_state
            .end_time
            .unwrap()
    };
    let start = |id: &str| {
        steps
            .iter()
            .find(|s| s.step_id == id)
            .unwrap()
            .runtime_state
            .start_time
            .unwrap()
    };
    assert!(start("job.3") >= end("job.2") && start("job.3") >= end("job.5"));
    assert!(start("job.4") >= end("job.3") && start("job.4") >= end("job.6"));
    // The workflow param is evaluated with SEL.
    assert!(wi.params.as_ref().is_some_and(|p| p.contains_key("RUN_TS")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_conditional_wf_skips_the_false_branch() {
    let (wi, steps) = run_sample("sample-conditional-wf.json").await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_statuses(
        &steps,
        &[
            ("job.1", Some("SUCCEEDED")),
            ("job.2", Some("SUCCEEDED")),
            ("job.3", Some("SUCCEEDED")),
            ("job.4", Some("UNSATISFIED")),
            ("job.5", Some("UNSATISFIED")),
            ("job.6", Some("SUCCEEDED")),
            ("job.7", Some("SUCCEEDED")),
        ],
    );
    let job4 = steps.iter().find(|s| s.step_id == "job.4").unwrap();
    let satisfied = job4
        .params
        .as_ref()
        .and_then(|p| p.get("maestro_step_satisfied"));
    assert_eq!(
        satisfied
            .and_then(|p| p.evaluated_result.as_ref())
            .map(|v| v.to_json()),
        Some(serde_json::json!(false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_yaml_twin_of_the_conditional_sample_behaves_the_same() {
    let h = Harness::new().await;
    let text =
        std::fs::read_to_string(compat("maestro-samples/yaml/sample-conditional-wf.yaml")).unwrap();
    let req = baton_model::load::parse_definition(&text, Some("sample-conditional-wf.yaml"))
        .expect("yaml");
    let id = req.workflow.id.clone();
    h.engine
        .push_workflow(req, baton_model::definition::User::new("tester"))
        .await
        .expect("push yaml");
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(status_of(&steps, "job.4").as_deref(), Some("UNSATISFIED"));
    assert_eq!(status_of(&steps, "job.6").as_deref(), Some("SUCCEEDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_dag_test_8_propagates_unsatisfied_but_or_joins() {
    let (wi, steps) = run_sample("sample-dag-test-8.json").await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    // x = 5: job.3 (x > 10) is unsatisfied; job.4 is reached through job.2 (x > 3).
    assert_statuses(
        &steps,
        &[
            ("job.1", Some("SUCCEEDED")),
            ("job.2", Some("SUCCEEDED")),
            ("job.3", Some("UNSATISFIED")),
            ("job.4", Some("SUCCEEDED")),
            ("job.5", Some("SUCCEEDED")),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_noop_samples_succeed_entirely() {
    for (file, count) in [
        ("sample-dag-test-4.json", 7),
        ("sample-dag-test-6.json", 8),
        ("sample-dag-test-7.json", 8),
        ("sample-dag-test-9.json", 9),
    ] {
        let (wi, steps) = run_sample(file).await;
        assert_eq!(wi.status.as_str(), "SUCCEEDED", "{file}");
        assert_eq!(steps.len(), count, "{file}");
        assert!(
            steps
                .iter()
                .all(|s| s.runtime_state.status.as_str() == "SUCCEEDED"),
            "{file}: {:?}",
            steps
                .iter()
                .map(|s| (&s.step_id, s.runtime_state.status))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_dag_test_3_sleeps_and_references_upstream_params() {
    // Sleeps shortened from 15 s to 1 s; everything else as written.
    let (wi, steps) = run_sample_with("sample-dag-test-3.json", |t| {
        t.replace(
            r#""value": 15, "type":  "LONG""#,
            r#""value": 1, "type":  "LONG""#,
        )
    })
    .await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED", "{steps:#?}");
    // job.2's sleep_seconds is `job3__sleep_seconds + 1`, and it joins job1 and job3.
    let job2 = steps.iter().find(|s| s.step_id == "job.2").expect("job.2");
    let secs = job2
        .params
        .as_ref()
        .and_then(|p| p.get("sleep_seconds"))
        .and_then(|p| p.evaluated_result.as_ref());
    assert_eq!(secs.map(|v| v.to_json()), Some(serde_json::json!(2)));
    let param2 = job2
        .params
        .as_ref()
        .and_then(|p| p.get("param2"))
        .and_then(|p| p.evaluated_result.as_ref());
    assert_eq!(
        param2.map(|v| v.to_json()),
        Some(serde_json::json!("1 + 1"))
    );
    assert_eq!(steps.len(), 4);
    assert!(
        steps
            .iter()
            .all(|s| s.runtime_state.status.as_str() == "SUCCEEDED")
    );
}
