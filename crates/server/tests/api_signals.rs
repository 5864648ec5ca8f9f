//! Signals over HTTP (maestro-api.md §1.12) and the bypass step action: announce, read back by
//! sequence or `latest`, dedup (409), a waiting step released by an announced signal, and a
//! waiting step released by bypass.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_are_announced_read_back_and_deduplicated() {
    let s = TestServer::start().await;
    let r = s
        .json(
            "POST",
            "/api/v3/signals",
            &json!({"name": "db/table1", "params": {"date": 20261122, "region": "us"}, "note": "hi"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["name"], "db/table1");
    assert_eq!(r.body["seq_id"], 1);
    assert_eq!(r.body["params"]["date"], 20261122);
    assert_eq!(r.body["payload"]["note"], "hi");

    // The same name and params again: Maestro's 409.
    let dup = s
        .json(
            "POST",
            "/api/v3/signals",
            &json!({"name": "db/table1", "params": {"date": 20261122, "region": "us"}}),
        )
        .await;
    assert_eq!(dup.status, 409, "{:?}", dup.body);
    assert_eq!(dup.body["status"], "CONFLICT");
    // A new request id makes it a new signal.
    let again = s
        .json(
            "POST",
            "/api/v3/signals",
            &json!({"name": "db/table1", "params": {"date": 20261122, "region": "us"}, "request_id": "r-2"}),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["seq_id"], 2);

    // Names with a slash cannot be used in the path (as in Maestro); a plain name can.
    s.json("POST", "/api/v3/signals", &json!({"name": "ready"}))
        .await;
    let one = s.get("/api/v3/signals/ready/instances/1").await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["seq_id"], 1);
    let latest = s.get("/api/v3/signals/ready/instances/latest").await;
    assert_eq!(latest.status, 200);
    assert_eq!(
        latest.body["seq_id"], -1,
        "Maestro answers latest with seq_id -1"
    );
    let missing = s.get("/api/v3/signals/ready/instances/9").await;
    assert_eq!(missing.status, 200);
    assert_eq!(missing.body, json!(""), "an absent signal is an empty 200");
    s.stop().await;
}

fn waiting_workflow(id: &str) -> serde_json::Value {
    json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": id, "steps": [
            {"step": {"id": "wait", "type": "NoOp",
                "signal_dependencies": [{"name": "ready",
                    "match_params": {"day": {"param": {"value": 20261122, "type": "LONG"}, "operator": ">="}}}],
                "transition": {"successors": {"after": "true"}}}},
            {"step": {"id": "after", "type": "NoOp"}}
        ]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_signal_releases_a_waiting_step() {
    let s = TestServer::start().await;
    s.push(&waiting_workflow("waits")).await;
    let iid = s.start_latest("waits", None).await;
    s.wait_step("waits", iid, "wait", "WAITING_FOR_SIGNALS")
        .await;
    // A signal that does not match (day too early) leaves it waiting.
    s.json(
        "POST",
        "/api/v3/signals",
        &json!({"name": "ready", "params": {"day": 20261121}}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let step = s
        .get(&format!(
            "/api/v3/workflows/waits/instances/{iid}/steps/wait"
        ))
        .await;
    assert_eq!(step.body["runtime_state"]["status"], "WAITING_FOR_SIGNALS");
    s.json(
        "POST",
        "/api/v3/signals",
        &json!({"name": "ready", "params": {"day": 20261122}}),
    )
    .await;
    let done = s.wait_terminal("waits", iid).await;
    assert_eq!(done["status"], "SUCCEEDED");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bypass_releases_a_waiting_step_and_is_refused_otherwise() {
    let s = TestServer::start().await;
    s.push(&waiting_workflow("bypassed")).await;
    let iid = s.start_latest("bypassed", None).await;
    s.wait_step("bypassed", iid, "wait", "WAITING_FOR_SIGNALS")
        .await;
    let r = s
        .put(&format!(
            "/api/v3/workflows/bypassed/instances/{iid}/steps/wait/actions/bypass"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["step_id"], "wait");
    let done = s.wait_terminal("bypassed", iid).await;
    assert_eq!(done["status"], "SUCCEEDED");
    let step = s
        .get(&format!(
            "/api/v3/workflows/bypassed/instances/{iid}/steps/wait"
        ))
        .await;
    assert_eq!(
        step.body["signal_dependencies"]["dependencies"][0]["status"],
        "SKIPPED"
    );
    // The run is over: nothing waits any more.
    let again = s
        .put(&format!(
            "/api/v3/workflows/bypassed/instances/{iid}/steps/wait/actions/bypass"
        ))
        .await;
    assert!(
        again.status == 400 || again.status == 409,
        "{:?}",
        again.body
    );
    s.stop().await;
}
