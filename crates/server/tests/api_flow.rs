//! Tag permits and STRICT_SEQUENTIAL unblock over HTTP (maestro-api.md §1.13, §1.8, §1.9).

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_permits_are_created_read_and_deleted() {
    let s = TestServer::start().await;
    let r = s
        .json(
            "POST",
            "/api/v3/tag-permits",
            &json!({"tag": "gpu", "max_allowed": 2, "team": "ml"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let got = s.get("/api/v3/tag-permits/gpu").await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["tag"], "gpu");
    assert_eq!(got.body["max_allowed"], 2);
    assert_eq!(got.body["team"], "ml", "extra keys come back flattened");
    assert!(
        got.body["timeline"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let bad = s
        .json(
            "POST",
            "/api/v3/tag-permits",
            &json!({"tag": "gpu", "max_allowed": -1}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    let no_tag = s
        .json("POST", "/api/v3/tag-permits", &json!({"max_allowed": 1}))
        .await;
    assert_eq!(no_tag.status, 400);
    assert_eq!(
        s.raw("DELETE", "/api/v3/tag-permits/gpu", None, None)
            .await
            .status,
        200
    );
    assert_eq!(s.get("/api/v3/tag-permits/gpu").await.status, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_strict_sequential_run_blocks_until_unblocked() {
    let s = TestServer::start().await;
    s.push(&json!({
        "properties": {"owner": "tester", "run_strategy": "strict_sequential"},
        "workflow": {"id": "strict", "params": {"code": {"value": 0, "type": "LONG"}}, "steps": [
            {"step": {"id": "job", "type": "Shell", "retry_policy": {"error_retry_limit": 0},
              "params": {"shell": {"type": "MAP", "value": {
                  "script": {"type": "STRING", "value": "exit ${code}"}}}}}}
        ]}
    }))
    .await;
    let first = s
        .start_latest(
            "strict",
            Some(json!({"code": {"value": 1, "type": "LONG"}})),
        )
        .await;
    let done = s.wait_terminal("strict", first).await;
    assert_eq!(done["status"], "FAILED");
    let second = s.start_latest("strict", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = s
        .get(&format!("/api/v3/workflows/strict/instances/{second}"))
        .await;
    assert_eq!(
        queued.body["status"], "CREATED",
        "blocked behind the failed run"
    );
    // Only the latest run may be targeted.
    let wrong = s
        .put(&format!(
            "/api/v3/workflows/strict/instances/{first}/runs/7/actions/unblock"
        ))
        .await;
    assert_eq!(wrong.status, 400, "{:?}", wrong.body);
    let r = s
        .put(&format!(
            "/api/v3/workflows/strict/instances/{first}/actions/unblock"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["completed"], true);
    let done = s.wait_terminal("strict", second).await;
    assert_eq!(done["status"], "SUCCEEDED");
    // The unblocked run still reads FAILED.
    let old = s
        .get(&format!("/api/v3/workflows/strict/instances/{first}"))
        .await;
    assert_eq!(old.body["status"], "FAILED");
    let all = s.put("/api/v3/workflows/strict/actions/unblock").await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    s.stop().await;
}
