//! Step actions over HTTP (maestro-api.md §1.10): PUT …/steps/{sid}/actions/{stop|kill|skip}
//! in every status of a live run this test can hold a step in, table-driven (200 with the new
//! state, 400 naming the status, 501 for a skip of a finished step of a running run; a skip in
//! a terminal run is a restart), `blocking=false`, the
//! `user` header, and the action map the same table serves.

mod common;

use common::TestServer;
use serde_json::{Value, json};

/// `nap` RUNNING (60 s) with `nap_after` NOT_CREATED behind it, `sig` WAITING_FOR_SIGNALS,
/// `done` SUCCEEDED; every one of them has a NoOp successor `<id>_after`.
fn workflow(id: &str) -> Value {
    json!({"properties": {"owner": "tester"}, "workflow": {"id": id, "steps": [
        {"step": {"id": "nap", "type": "Sleep",
            "params": {"sleep_seconds": {"value": 60, "type": "LONG"}},
            "transition": {"successors": {"nap_after": "true"}}}},
        {"step": {"id": "nap_after", "type": "NoOp"}},
        {"step": {"id": "sig", "type": "NoOp", "signal_dependencies": [{"name": "never/sent"}],
            "transition": {"successors": {"sig_after": "true"}}}},
        {"step": {"id": "sig_after", "type": "NoOp"}},
        {"step": {"id": "done", "type": "NoOp",
            "transition": {"successors": {"done_after": "true"}}}},
        {"step": {"id": "done_after", "type": "NoOp"}}
    ]}})
}

async fn ready(s: &TestServer, wid: &str) -> i64 {
    let iid = s.start_latest(wid, None).await;
    s.wait_step(wid, iid, "nap", "RUNNING").await;
    s.wait_step(wid, iid, "sig", "WAITING_FOR_SIGNALS").await;
    s.wait_step(wid, iid, "done_after", "SUCCEEDED").await;
    iid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_actions_follow_the_action_table() {
    let s = TestServer::start().await;
    s.push(&workflow("acts")).await;
    // (step, status before, action, HTTP status, status after)
    let table = [
        ("nap", "RUNNING", "stop", 200, Some("STOPPED")),
        ("nap", "RUNNING", "kill", 200, Some("FATALLY_FAILED")),
        ("nap", "RUNNING", "skip", 200, Some("SKIPPED")),
        ("sig", "WAITING_FOR_SIGNALS", "stop", 200, Some("STOPPED")),
        (
            "sig",
            "WAITING_FOR_SIGNALS",
            "kill",
            200,
            Some("FATALLY_FAILED"),
        ),
        ("sig", "WAITING_FOR_SIGNALS", "skip", 200, Some("SKIPPED")),
        ("done", "SUCCEEDED", "stop", 400, None),
        ("done", "SUCCEEDED", "kill", 400, None),
        ("done", "SUCCEEDED", "skip", 501, None),
        ("nap_after", "NOT_CREATED", "stop", 400, None),
        ("nap_after", "NOT_CREATED", "kill", 400, None),
        ("nap_after", "NOT_CREATED", "skip", 400, None),
    ];
    for (step, before, action, code, after) in table {
        let iid = ready(&s, "acts").await;
        let r = s
            .put(&format!(
                "/api/v3/workflows/acts/instances/{iid}/steps/{step}/actions/{action}?reason=because"
            ))
            .await;
        let case = format!("{action} on {step} in {before}");
        assert_eq!(r.status, code, "{case}: {:?}", r.body);
        match after {
            Some(to) => {
                assert_eq!(r.body["step_id"], step, "{case}");
                assert_eq!(r.body["workflow_run_id"], 1, "{case}");
                assert_eq!(r.body["step_runtime_state"]["status"], to, "{case}");
                assert_eq!(r.body["timeline_event"]["action"], action.to_uppercase());
                assert_eq!(r.body["timeline_event"]["reason"], "because");
                let view = s
                    .get(&format!(
                        "/api/v3/workflows/acts/instances/{iid}/steps/{step}"
                    ))
                    .await;
                let timeline = view.body["timeline"].to_string();
                assert!(
                    timeline.contains("tester") && timeline.contains("because"),
                    "{case}: {timeline}"
                );
            }
            None if code == 400 => {
                assert!(
                    r.body["message"].as_str().unwrap().contains(before),
                    "{case}: {:?}",
                    r.body
                );
            }
            None => {}
        }
        let stop = s
            .put(&format!(
                "/api/v3/workflows/acts/instances/{iid}/actions/stop"
            ))
            .await;
        assert_eq!(stop.status, 200, "{:?}", stop.body);
        s.wait_terminal("acts", iid).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_blocking_user_and_terminal_runs() {
    let s = TestServer::start().await;
    s.push(&workflow("nb")).await;
    let iid = ready(&s, "nb").await;
    let path = format!("/api/v3/workflows/nb/instances/{iid}/steps/sig/actions/skip");
    let anonymous = s.raw("PUT", &path, None, None).await;
    assert_eq!(anonymous.status, 400, "{:?}", anonymous.body);
    let r = s.put(&format!("{path}?blocking=false")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body.get("step_runtime_state").is_none(), "{:?}", r.body);
    s.wait_step("nb", iid, "sig_after", "SUCCEEDED").await;
    let r = s
        .put(&format!(
            "/api/v3/workflows/nb/instances/{iid}/steps/nap/actions/kill"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = s.wait_terminal("nb", iid).await;
    assert_eq!(done["status"], "FAILED");
    // Terminal: stop is refused; skip restarts the run with the step SKIPPED.
    let r = s
        .put(&format!(
            "/api/v3/workflows/nb/instances/{iid}/steps/nap/actions/stop"
        ))
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let r = s
        .put(&format!(
            "/api/v3/workflows/nb/instances/{iid}/steps/nap/actions/skip"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["workflow_run_id"], 2, "{:?}", r.body);
    let again = s.wait_terminal("nb", iid).await;
    assert_eq!(again["workflow_run_id"], 2, "{again:?}");
    assert_eq!(again["status"], "SUCCEEDED", "{again:?}");
    let r = s
        .put("/api/v3/workflows/nb/instances/99/steps/nap/actions/stop")
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_maps_are_maestros() {
    let s = TestServer::start().await;
    let steps = s.get("/api/v3/workflows/steps/instances/action-map").await;
    assert_eq!(steps.status, 200);
    assert_eq!(
        steps.body["WAITING_FOR_SIGNALS"],
        json!(["STOP", "KILL", "SKIP", "BYPASS_STEP_DEPENDENCIES"])
    );
    assert_eq!(
        steps.body["PAUSED"],
        json!(["RESUME", "STOP", "KILL", "SKIP"])
    );
    assert_eq!(steps.body["SUCCEEDED"], json!(["RESTART", "SKIP"]));
    assert_eq!(steps.body["USER_FAILED"], json!(["STOP", "KILL", "SKIP"]));
    assert_eq!(steps.body["UNSATISFIED"], json!(["RESTART"]));
    assert_eq!(steps.body["CREATED"], json!(["PAUSE", "STOP", "KILL"]));
    assert!(steps.body.get("NOT_CREATED").is_none());
    assert_eq!(steps.body.as_object().unwrap().len(), 21);
    let runs = s.get("/api/v3/workflows/instances/action-map").await;
    assert_eq!(runs.body["FAILED"], json!(["RESTART", "UNBLOCK"]));
    assert_eq!(runs.body["IN_PROGRESS"], json!(["STOP", "KILL"]));
    assert_eq!(runs.body["SUCCEEDED"], json!(["RESTART"]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakpoints_pause_steps_until_resumed() {
    let s = TestServer::start().await;
    s.push(
        &json!({"properties": {"owner": "tester", "run_strategy": "PARALLEL"},
        "workflow": {"id": "bps", "steps": [
            {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true"}}}},
            {"step": {"id": "b", "type": "NoOp"}}
        ]}}),
    )
    .await;
    let base = "/api/v3/workflows/steps/breakpoints";
    let bad = s
        .json(
            "POST",
            base,
            &json!({"workflow_id": "bps", "step_id": "b", "workflow_instance_id": 3}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    let missing = s
        .json(
            "POST",
            base,
            &json!({"workflow_id": "bps", "step_id": "zz"}),
        )
        .await;
    assert_eq!(missing.status, 404, "{:?}", missing.body);
    let r = s
        .json("POST", base, &json!({"workflow_id": "bps", "step_id": "b"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["step_id"], "b");
    assert!(
        r.body["created_by"].to_string().contains("tester"),
        "{:?}",
        r.body
    );
    assert!(
        r.body.get("workflow_instance_id").is_none(),
        "match-all ids are omitted"
    );
    let listed = s.get(&format!("{base}?workflowId=bps&stepId=b")).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let no_params = s.get(base).await;
    assert_eq!(no_params.status, 400);

    let first = s.start_latest("bps", None).await;
    let second = s.start_latest("bps", None).await;
    s.wait_step("bps", first, "b", "PAUSED").await;
    s.wait_step("bps", second, "b", "PAUSED").await;
    let paused = s
        .get(&format!(
            "{base}/paused-step-attempts?workflowId=bps&stepId=b"
        ))
        .await;
    assert_eq!(
        paused.body.as_array().unwrap().len(),
        2,
        "{:?}",
        paused.body
    );
    // A paused step can be stopped like any other.
    let stop = s
        .put(&format!(
            "/api/v3/workflows/bps/instances/{second}/steps/b/actions/stop"
        ))
        .await;
    assert_eq!(stop.status, 200, "{:?}", stop.body);
    assert_eq!(stop.body["step_runtime_state"]["status"], "STOPPED");
    assert_eq!(s.wait_terminal("bps", second).await["status"], "STOPPED");

    let resume =
        format!("{base}/bps/instances/{first}/runs/latest/steps/b/attempts/1/actions/resume");
    let anonymous = s.raw("PUT", &resume, None, None).await;
    assert_eq!(anonymous.status, 400);
    let r = s.put(&resume).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(s.wait_terminal("bps", first).await["status"], "SUCCEEDED");
    let again = s.put(&resume).await;
    assert_eq!(again.status, 404, "{:?}", again.body);

    // Deleting with resume releases the paused attempts.
    let third = s.start_latest("bps", None).await;
    s.wait_step("bps", third, "b", "PAUSED").await;
    let r = s
        .raw(
            "DELETE",
            &format!("{base}?workflowId=bps&stepId=b"),
            Some("tester"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(
        r.body["timeline_event"]["message"]
            .as_str()
            .unwrap()
            .contains("Total of [1] steps have been resumed"),
        "{:?}",
        r.body
    );
    assert_eq!(s.wait_terminal("bps", third).await["status"], "SUCCEEDED");
    s.stop().await;
}
