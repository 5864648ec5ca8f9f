//! DAG execution semantics (maestro-model.md §6.1–§6.2, §5.3) on real runs.

mod common;

use common::{Harness, status_of};

fn wf(steps: &str) -> String {
    format!(
        r#"{{"properties": {{"owner": "tester", "run_strategy": "parallel"}},
            "workflow": {{"id": "wf", "steps": [{steps}]}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_noop_steps_succeeds_in_order() {
    let h = Harness::new().await;
    let id = h
        .push_json(&wf(r#"
            {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true"}}}},
            {"step": {"id": "b", "type": "NoOp", "transition": {"successors": {"c": "true"}}}},
            {"step": {"id": "c", "type": "NoOp"}}"#))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(steps.len(), 3);
    for s in ["a", "b", "c"] {
        assert_eq!(status_of(&steps, s).as_deref(), Some("SUCCEEDED"), "{s}");
    }
    let t = |id: &str| {
        let s = steps.iter().find(|s| s.step_id == id).unwrap();
        (
            s.runtime_state.start_time.unwrap(),
            s.runtime_state.end_time.unwrap(),
        )
    };
    assert!(
        t("a").1 <= t("b").0 && t("b").1 <= t("c").0,
        "steps ran out of order"
    );
    let overview = wi.runtime_overview.expect("overview");
    assert_eq!(overview.total_step_count, 3);
}
