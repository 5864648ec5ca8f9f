//! Restarts over HTTP (maestro-api.md §1.9 #27, §1.10 #39): an instance restart as a new run,
//! a step restart from a terminal run, the JSON shapes Maestro answers, and the refusals.

mod common;

use common::{TestServer, sleeper};
use serde_json::{Value, json};

/// a (NoOp) → b (Shell: succeeds once `marker` exists) → c (NoOp).
fn gated(id: &str, marker: &std::path::Path) -> Value {
    json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": id, "steps": [
            {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true"}}}},
            {"step": {"id": "b", "type": "Shell", "transition": {"successors": {"c": "true"}},
                "retry_policy": {"error_retry_limit": 0, "platform_retry_limit": 0},
                "params": {"shell": {"value": {"script": {"value": format!("test -f {}", marker.display()), "type": "STRING"}}, "type": "MAP"}}}},
            {"step": {"id": "c", "type": "NoOp"}}
        ]}
    })
}

fn ids_of(steps: &Value) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step_id"].as_str().unwrap().to_string(),
                s["step_attempt_id"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_and_step_restarts_answer_maestro_shapes() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ok");
    s.push(&gated("restart-http", &marker)).await;
    let iid = s.start_latest("restart-http", None).await;
    let done = s.wait_terminal("restart-http", iid).await;
    assert_eq!(done["status"], "FAILED");

    std::fs::write(&marker, "").unwrap();
    let r = s
        .json(
            "POST",
            &format!("/api/v3/workflows/restart-http/instances/{iid}/actions/restart"),
            &json!({"restart_policy": "RESTART_FROM_INCOMPLETE"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["workflow_id"], "restart-http");
    assert_eq!(r.body["workflow_version_id"], 1);
    assert_eq!(r.body["workflow_instance_id"], iid);
    assert_eq!(r.body["workflow_run_id"], 2);
    assert_eq!(r.body["status"], "CREATED");
    assert_eq!(r.body["workflow_uuid"].as_str().unwrap().len(), 36);
    assert_eq!(r.body["timeline_event"]["type"], "ACTION");
    assert_eq!(r.body["timeline_event"]["action"], "RESTART");
    assert_eq!(r.body["timeline_event"]["author"], "tester");

    let done = s.wait_terminal("restart-http", iid).await;
    assert_eq!(done["workflow_run_id"], 2);
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["run_config"]["policy"], "RESTART_FROM_INCOMPLETE");
    // Run 2 ran only b (attempt 2) and c; a kept its run-1 result.
    let run2 = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/runs/2/steps"
        ))
        .await;
    assert_eq!(run2.status, 200);
    assert_eq!(ids_of(&run2.body), [("b".into(), 2), ("c".into(), 1)]);
    let view = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/steps/a"
        ))
        .await;
    assert_eq!(view.body["workflow_run_id"], 1);
    let agg = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/runs/2?aggregated=true"
        ))
        .await;
    assert_eq!(
        agg.body["aggregated_info"]["workflow_instance_status"],
        "SUCCEEDED"
    );
    assert_eq!(
        agg.body["aggregated_info"]["step_aggregated_views"]["a"]["workflow_run_id"],
        1
    );
    // Run 1 reads FAILED still (stored FAILED_2: it no longer blocks a strict queue).
    let run1 = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/runs/1"
        ))
        .await;
    assert_eq!(run1.body["status"], "FAILED");

    // A step restart of the terminal run: a new run from b, with params for b.
    let r = s
        .json(
            "POST",
            &format!("/api/v3/workflows/restart-http/instances/{iid}/steps/b/actions/restart"),
            &json!({"restart_policy": "RESTART_FROM_INCOMPLETE",
                    "step_run_params": {"note": {"value": "again", "type": "STRING"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["workflow_id"], "restart-http");
    assert_eq!(r.body["workflow_version_id"], 1);
    assert_eq!(r.body["workflow_instance_id"], iid);
    assert_eq!(r.body["workflow_run_id"], 3);
    assert_eq!(r.body["step_id"], "b");
    assert_eq!(r.body["status"], "CREATED");
    let done = s.wait_terminal("restart-http", iid).await;
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["run_config"]["policy"], "RESTART_FROM_SPECIFIC");
    assert_eq!(
        done["run_config"]["restart_config"]["restart_path"][0]["step_id"],
        "b"
    );
    let b = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/runs/3/steps/b/attempts/latest"
        ))
        .await;
    assert_eq!(b.body["step_attempt_id"], 3);
    assert_eq!(b.body["params"]["note"]["evaluated_result"], "again");
    let run3 = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/runs/3/steps"
        ))
        .await;
    assert_eq!(ids_of(&run3.body), [("b".into(), 3), ("c".into(), 2)]);

    // Unknown step, unknown instance.
    let r = s
        .json(
            "POST",
            &format!("/api/v3/workflows/restart-http/instances/{iid}/steps/zz/actions/restart"),
            &json!({"restart_policy": "RESTART_FROM_INCOMPLETE"}),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(r.body["status"], "NOT_FOUND");
    let r = s
        .json(
            "POST",
            "/api/v3/workflows/restart-http/instances/77/actions/restart",
            &json!({"restart_policy": "RESTART_FROM_BEGINNING"}),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let runs = s
        .get(&format!(
            "/api/v3/workflows/restart-http/instances/{iid}/runs?first=10"
        ))
        .await;
    assert_eq!(runs.status, 200, "{:?}", runs.body);
    assert_eq!(runs.body["total_count"], 3, "{:?}", runs.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_instance_cannot_be_restarted() {
    let s = TestServer::start().await;
    s.push(&sleeper("restart-busy", 3)).await;
    let iid = s.start_latest("restart-busy", None).await;
    s.wait_step("restart-busy", iid, "nap", "RUNNING").await;
    let r = s
        .json(
            "POST",
            &format!("/api/v3/workflows/restart-busy/instances/{iid}/actions/restart"),
            &json!({"restart_policy": "RESTART_FROM_BEGINNING"}),
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["status"], "BAD_REQUEST");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("cannot restart another run"),
        "{:?}",
        r.body
    );
    // A running step cannot be restarted either (it is not terminal).
    let r = s
        .json(
            "POST",
            &format!("/api/v3/workflows/restart-busy/instances/{iid}/steps/nap/actions/restart"),
            &json!({"restart_policy": "RESTART_FROM_INCOMPLETE"}),
        )
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    // The restart needs the user header.
    let r = s
        .raw(
            "POST",
            &format!("/api/v3/workflows/restart-busy/instances/{iid}/actions/restart"),
            None,
            Some((
                "application/json",
                br#"{"restart_policy": "RESTART_FROM_BEGINNING"}"#.to_vec(),
            )),
        )
        .await;
    assert_eq!(r.status, 400);
    let done = s.wait_terminal("restart-busy", iid).await;
    assert_eq!(done["workflow_run_id"], 1);
    // Now it is terminal: FROM_BEGINNING runs the step again.
    let r = s
        .json(
            "POST",
            &format!("/api/v3/workflows/restart-busy/instances/{iid}/actions/restart"),
            &json!({"restart_policy": "RESTART_FROM_BEGINNING"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["workflow_run_id"], 2);
}
