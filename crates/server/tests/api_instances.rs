//! Instance and step endpoints against an in-process server: the README's start and reads,
//! aggregated views, enrichment, pagination of instances and runs, step views and attempts,
//! stop/kill of running and queued runs, Shell logs, action maps.

mod common;

use common::{TestServer, noop_chain, sample_dag_test_1, sleeper};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_read_in_maestro_shapes() {
    let s = TestServer::start().await;
    s.push(&sample_dag_test_1()).await;
    let r = s
        .json(
            "POST",
            "/api/v3/workflows/sample-dag-test-1/versions/latest/actions/start",
            &json!({"initiator": {"type": "manual"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["workflow_id"], "sample-dag-test-1");
    assert_eq!(r.body["workflow_version_id"], 1);
    assert_eq!(r.body["workflow_instance_id"], 1);
    assert_eq!(r.body["workflow_run_id"], 1);
    assert_eq!(r.body["status"], "CREATED");
    assert!(r.body["workflow_uuid"].as_str().unwrap().len() == 36);
    assert_eq!(
        r.body["timeline_event"]["message"],
        "Manually run a new workflow instance by a user [tester]"
    );
    let done = s.wait_terminal("sample-dag-test-1", 1).await;
    assert_eq!(done["status"], "SUCCEEDED");

    // The same request_id again: Maestro's idempotent start.
    let with_id = json!({"initiator": {"type": "manual"}, "request_id": "6ec8e2e4-4a7a-4e34-9bd1-7f1c8d4b8a11"});
    let path = "/api/v3/workflows/sample-dag-test-1/versions/1/actions/start";
    let a = s.json("POST", path, &with_id).await;
    assert_eq!(a.body["status"], "CREATED");
    assert_eq!(
        a.body["workflow_uuid"],
        "6ec8e2e4-4a7a-4e34-9bd1-7f1c8d4b8a11"
    );
    let b = s.json("POST", path, &with_id).await;
    assert_eq!(b.status, 200);
    assert_eq!(b.body["status"], "DUPLICATED");
    assert_eq!(
        b.body["workflow_instance_id"],
        a.body["workflow_instance_id"]
    );
    s.wait_terminal("sample-dag-test-1", 2).await;
    assert_eq!(done["initiator"]["type"], "MANUAL");
    assert_eq!(done["initiator"]["user"], "tester");

    // The run read: enriched, not aggregated.
    let run = s
        .get("/api/v3/workflows/sample-dag-test-1/instances/1/runs/1")
        .await;
    assert_eq!(run.status, 200);
    assert!(run.body.get("aggregated_info").is_none());
    let statuses: Vec<&str> = run.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "STATUS")
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["CREATED", "IN_PROGRESS", "SUCCEEDED"]);
    let plain = s
        .get("/api/v3/workflows/sample-dag-test-1/instances/1/runs/latest?enriched=false&aggregated=true")
        .await;
    assert!(
        plain.body["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] != "STATUS")
    );
    assert_eq!(
        plain.body["aggregated_info"]["workflow_instance_status"],
        "SUCCEEDED"
    );

    // The instance read is aggregated, as the Python SDK's watch expects.
    let view = s
        .get("/api/v3/workflows/sample-dag-test-1/instances/1")
        .await;
    let agg = &view.body["aggregated_info"];
    assert_eq!(agg["workflow_instance_status"], "SUCCEEDED");
    let views = agg["step_aggregated_views"].as_object().unwrap();
    assert_eq!(
        views.len(),
        view.body["runtime_workflow"]["steps"]
            .as_array()
            .unwrap()
            .len()
    );
    for v in views.values() {
        assert_eq!(v["workflow_run_id"], 1);
        assert_eq!(v["status"], "SUCCEEDED");
    }
    let overview = &view.body["runtime_overview"];
    assert_eq!(overview["run_status"], "SUCCEEDED");

    // Steps: per instance, per run, one step, one attempt.
    let steps = s
        .get("/api/v3/workflows/sample-dag-test-1/instances/1/steps")
        .await;
    let ids: Vec<&str> = steps
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), views.len());
    let run_steps = s
        .get("/api/v3/workflows/sample-dag-test-1/instances/1/runs/1/steps")
        .await;
    assert_eq!(run_steps.body.as_array().unwrap().len(), ids.len());
    let first = ids[0];
    let one = s
        .get(&format!(
            "/api/v3/workflows/sample-dag-test-1/instances/1/steps/{first}"
        ))
        .await;
    assert_eq!(one.body["step_id"], first);
    assert_eq!(one.body["runtime_state"]["status"], "SUCCEEDED");
    let timeline_statuses: Vec<&str> = one.body["timeline"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter(|e| e["type"] == "STATUS")
                .map(|e| e["status"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default();
    if one.body["timeline"].is_array() {
        assert_eq!(timeline_statuses.first(), Some(&"CREATED"));
        assert_eq!(timeline_statuses.last(), Some(&"SUCCEEDED"));
    }
    let attempt = s
        .get(&format!(
            "/api/v3/workflows/sample-dag-test-1/instances/1/runs/1/steps/{first}/attempts/latest"
        ))
        .await;
    assert_eq!(attempt.body["step_attempt_id"], 1);
    let attempt1 = s
        .get(&format!(
            "/api/v3/workflows/sample-dag-test-1/instances/1/runs/latest/steps/{first}/attempts/1"
        ))
        .await;
    assert_eq!(attempt1.body["step_uuid"], attempt.body["step_uuid"]);
    assert_eq!(
        s.get(&format!(
            "/api/v3/workflows/sample-dag-test-1/instances/1/runs/1/steps/{first}/attempts/2"
        ))
        .await
        .status,
        404
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_and_run_pagination() {
    let s = TestServer::start().await;
    let mut req = noop_chain("many", 1);
    req["properties"]["run_strategy"] = json!({"rule": "PARALLEL", "workflow_concurrency": 20});
    s.push(&req).await;
    for _ in 0..15 {
        s.start_latest("many", None).await;
    }
    for iid in 1..=15 {
        s.wait_terminal("many", iid).await;
    }
    let ids = |b: &serde_json::Value| -> Vec<i64> {
        b["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["workflow_instance_id"].as_i64().unwrap())
            .collect()
    };
    let p = s.get("/api/v3/workflows/many/instances?first=10").await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    assert_eq!(ids(&p.body), (6..=15).rev().collect::<Vec<_>>());
    assert_eq!(
        p.body["page_info"],
        json!({"start_cursor": "15", "end_cursor": "6", "has_previous_page": false, "has_next_page": true, "start_index": 1})
    );
    assert_eq!(p.body["total_count"], 15);
    assert_eq!(
        p.body["elements"][0]["aggregated_info"]["workflow_instance_status"],
        "SUCCEEDED"
    );
    let p2 = s
        .get("/api/v3/workflows/many/instances?first=10&cursor=6&aggregated=false")
        .await;
    assert_eq!(ids(&p2.body), (1..=5).rev().collect::<Vec<_>>());
    assert_eq!(p2.body["page_info"]["has_next_page"], false);
    assert_eq!(p2.body["page_info"]["start_index"], 11);
    assert!(p2.body["elements"][0].get("aggregated_info").is_none());
    let prev = s
        .get("/api/v3/workflows/many/instances?last=3&cursor=5")
        .await;
    assert_eq!(ids(&prev.body), [8, 7, 6]);
    let empty = s
        .get("/api/v3/workflows/nothing-here/instances?first=5")
        .await;
    assert_eq!(
        empty.body,
        json!({"page_info": {"start_cursor": null, "end_cursor": null, "has_previous_page": false, "has_next_page": false, "start_index": null}, "total_count": 0, "elements": []})
    );
    let runs = s
        .get("/api/v3/workflows/many/instances/3/runs?first=5")
        .await;
    assert_eq!(runs.status, 200);
    assert_eq!(runs.body["total_count"], 1);
    assert_eq!(runs.body["elements"][0]["workflow_run_id"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_kill_running_and_queued_runs() {
    let s = TestServer::start().await;
    s.push(&sleeper("nap", 60)).await;
    let first = s.start_latest("nap", None).await;
    let second = s.start_latest("nap", None).await; // SEQUENTIAL: queued behind the first
    s.wait_step("nap", first, "nap", "RUNNING").await;
    let queued = s
        .get(&format!("/api/v3/workflows/nap/instances/{second}"))
        .await;
    assert_eq!(queued.body["status"], "CREATED");

    // Stopping the queued one ends it at once.
    let r = s
        .put(&format!(
            "/api/v3/workflows/nap/instances/{second}/actions/stop"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["completed"], true);
    assert_eq!(r.body["workflow_instance_status"], "STOPPED");
    assert_eq!(r.body["info"], "The action is completed.");
    assert_eq!(
        r.body["timeline_event"]["message"],
        "User [tester] take an action to STOP the running workflow instance run"
    );
    assert_eq!(
        s.get(&format!("/api/v3/workflows/nap/instances/{second}"))
            .await
            .body["status"],
        "STOPPED"
    );

    // An older run id than the latest is refused; a later one is not found.
    let wrong = s
        .put(&format!(
            "/api/v3/workflows/nap/instances/{first}/runs/2/actions/kill"
        ))
        .await;
    assert_eq!(wrong.status, 400);

    let k = s
        .put(&format!(
            "/api/v3/workflows/nap/instances/{first}/runs/1/actions/kill"
        ))
        .await;
    assert_eq!(k.status, 200, "{:?}", k.body);
    let done = s.wait_terminal("nap", first).await;
    assert_eq!(done["status"], "FAILED");
    // Terminal: a second kill is a no-op, a stop is refused.
    let again = s
        .put(&format!(
            "/api/v3/workflows/nap/instances/{first}/actions/kill"
        ))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["completed"], true);
    let refused = s
        .put(&format!(
            "/api/v3/workflows/nap/instances/{first}/actions/stop"
        ))
        .await;
    assert_eq!(refused.status, 400);

    // A third run gets the slot; stop every unfinished run of the workflow.
    let third = s.start_latest("nap", None).await;
    let fourth = s.start_latest("nap", None).await;
    s.wait_step("nap", third, "nap", "RUNNING").await;
    let all = s.put("/api/v3/workflows/nap/actions/stop").await;
    assert_eq!(all.status, 202, "{:?}", all.body);
    assert_eq!(all.body["action"], "STOP");
    assert_eq!(
        all.body["message"],
        "Terminated [1] queued instances and terminating [1] running instances"
    );
    assert_eq!(s.wait_terminal("nap", third).await["status"], "STOPPED");
    assert_eq!(s.wait_terminal("nap", fourth).await["status"], "STOPPED");
    let ov = s.get("/api/v3/workflows/nap/overview").await;
    assert_eq!(ov.body["nonterminal_instances"]["CREATED"], 0);
    assert_eq!(ov.body["failed_instances"], 1);
    // The queue is free again: a new run starts.
    let fifth = s.start_latest("nap", None).await;
    s.wait_step("nap", fifth, "nap", "RUNNING").await;
    s.put("/api/v3/workflows/nap/actions/kill").await;
    s.wait_terminal("nap", fifth).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_logs_and_action_maps() {
    let s = TestServer::start().await;
    s.push(&json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": "sh", "steps": [{"step": {"id": "say", "type": "Shell", "params": {
            "shell": {"type": "MAP", "value": {"script": {"type": "STRING", "value": "echo hello from baton; echo oops >&2"}}}}}}]}
    }))
    .await;
    let iid = s.start_latest("sh", None).await;
    let done = s.wait_terminal("sh", iid).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let log = s
        .get(&format!(
            "/api/v3/workflows/sh/instances/{iid}/runs/1/steps/say/attempts/1/logs"
        ))
        .await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    assert!(log.content_type.starts_with("text/plain"));
    assert_eq!(log.body, json!("hello from baton\noops\n"));
    let tail = s
        .get(&format!(
            "/api/v3/workflows/sh/instances/{iid}/runs/latest/steps/say/attempts/latest/logs?tail=5"
        ))
        .await;
    assert_eq!(tail.body, json!("oops\n"));

    s.push(&noop_chain("quiet", 1)).await;
    let q = s.start_latest("quiet", None).await;
    s.wait_terminal("quiet", q).await;
    let none = s
        .get(&format!(
            "/api/v3/workflows/quiet/instances/{q}/runs/1/steps/s0/attempts/1/logs"
        ))
        .await;
    assert_eq!(none.status, 404);
    assert_eq!(none.body["status"], "NOT_FOUND");

    let wmap = s.get("/api/v3/workflows/instances/action-map").await;
    assert_eq!(wmap.body["FAILED"], json!(["RESTART", "UNBLOCK"]));
    assert_eq!(wmap.body["IN_PROGRESS"], json!(["STOP", "KILL"]));
    let smap = s.get("/api/v3/workflows/steps/instances/action-map").await;
    assert_eq!(
        smap.body["WAITING_FOR_SIGNALS"],
        json!(["STOP", "KILL", "SKIP", "BYPASS_STEP_DEPENDENCIES"])
    );
    assert_eq!(smap.body.as_object().unwrap().len(), 21);
    s.stop().await;
}
