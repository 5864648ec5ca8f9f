//! Workflow definition endpoints against an in-process server: push (JSON and YAML), versions,
//! pagination, properties, tags, activation, overview, timeline, validation and deletion.

mod common;

use baton_store::Store;
use common::{TestServer, noop_chain, sample_dag_test_1};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_read_and_page_versions() {
    let s = TestServer::start().await;
    let created = s.push(&sample_dag_test_1()).await;
    let def = &created["workflow_definition"];
    assert_eq!(def["metadata"]["workflow_version_id"], 1);
    assert_eq!(def["metadata"]["version_author"], "tester");
    assert_eq!(def["is_active"], true);
    assert_eq!(def["is_latest"], true);
    assert_eq!(def["is_default"], true);
    assert!(def["internal_id"].as_i64().unwrap() >= 10000);
    assert_eq!(def["properties_snapshot"]["owner"], "tester");
    assert_eq!(
        def["properties_snapshot"]["run_strategy"],
        json!({"rule": "SEQUENTIAL", "workflow_concurrency": 1})
    );

    for _ in 0..4 {
        s.push(&sample_dag_test_1()).await;
    }
    let latest = s
        .get("/api/v3/workflows/sample-dag-test-1/versions/latest")
        .await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.body["metadata"]["workflow_version_id"], 5);
    // The SDK sends a capitalized Python boolean.
    let v2 = s
        .get("/api/v3/workflows/sample-dag-test-1/versions/2?enriched=False")
        .await;
    assert_eq!(v2.body["metadata"]["workflow_version_id"], 2);
    assert_eq!(v2.body["is_latest"], false);

    // Five versions, pages of two, walking towards older ones.
    let p1 = s
        .get("/api/v3/workflows/sample-dag-test-1/versions/pagination?first=2")
        .await;
    assert_eq!(p1.status, 200, "{:?}", p1.body);
    let ids = |b: &serde_json::Value| -> Vec<i64> {
        b["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["metadata"]["workflow_version_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&p1.body), [5, 4]);
    assert_eq!(
        p1.body["page_info"],
        json!({"start_cursor": "5", "end_cursor": "4", "has_previous_page": false, "has_next_page": true, "start_index": 1})
    );
    assert_eq!(p1.body["total_count"], 5);
    let p2 = s
        .get("/api/v3/workflows/sample-dag-test-1/versions/pagination?first=2&cursor=4")
        .await;
    assert_eq!(ids(&p2.body), [3, 2]);
    let back = s
        .get("/api/v3/workflows/sample-dag-test-1/versions/pagination?last=2&cursor=3")
        .await;
    assert_eq!(ids(&back.body), [5, 4]);
    let oldest = s
        .get("/api/v3/workflows/sample-dag-test-1/versions/pagination?last=2")
        .await;
    assert_eq!(ids(&oldest.body), [2, 1]);
    assert_eq!(oldest.body["page_info"]["has_next_page"], false);

    let listed = s.get("/api/v3/workflows").await;
    assert_eq!(
        listed.body["workflows"][0]["workflow_id"],
        "sample-dag-test-1"
    );
    assert_eq!(listed.body["workflows"][0]["latest_version_id"], 5);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_push_and_validate() {
    let s = TestServer::start().await;
    let yaml = "Workflow:\n  id: yaml-wf\n  owner: tester\n  foo: bar\n  jobs:\n    - job:\n        id: job1\n        type: NoOp\n    - job:\n        id: job2\n        type: NoOp\n  dag: sequential\n";
    let r = s
        .raw(
            "POST",
            "/api/v3/workflows/yaml",
            Some("tester"),
            Some(("application/yaml", yaml.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let wf = &r.body["workflow_definition"]["workflow"];
    assert_eq!(wf["id"], "yaml-wf");
    assert_eq!(wf["steps"].as_array().unwrap().len(), 2);
    assert_eq!(wf["params"]["foo"]["value"], "bar");

    let ok = s
        .raw(
            "PUT",
            "/api/v3/workflows/actions/validate/yaml",
            Some("tester"),
            Some(("application/yaml", yaml.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["type"], "ACTION");
    assert_eq!(ok.body["action"], "VALIDATE");
    assert_eq!(ok.body["message"], "the workflow definition is valid.");

    let bad = s
        .json(
            "PUT",
            "/api/v3/workflows/actions/validate",
            &json!({"properties": {"owner": "tester"}, "workflow": {"id": "v", "steps": [
                {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"zz": "true"}}}}]}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["message"], "Invalid workflow create request");
    assert!(
        bad.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("zz"))
    );
    // Validation writes nothing.
    assert_eq!(
        s.get("/api/v3/workflows/v/versions/latest").await.status,
        404
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_tags_activation_overview_timeline() {
    let s = TestServer::start().await;
    s.push(&noop_chain("props", 2)).await;
    s.push(&noop_chain("props", 2)).await;

    let r = s
        .json("POST", "/api/v3/workflows/props/properties", &json!({"run_strategy": {"rule": "PARALLEL", "workflow_concurrency": 5}, "step_concurrency": 7, "description": "d"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["run_strategy"],
        json!({"rule": "PARALLEL", "workflow_concurrency": 5})
    );
    assert_eq!(r.body["step_concurrency"], 7);
    assert_eq!(r.body["owner"], "tester");
    let r = s
        .json(
            "POST",
            "/api/v3/workflows/props/properties",
            &json!({"reset_workflow_concurrency": true, "reset_step_concurrency": true}),
        )
        .await;
    assert_eq!(
        r.body["run_strategy"],
        json!({"rule": "PARALLEL", "workflow_concurrency": 20})
    );
    assert!(r.body.get("step_concurrency").is_none(), "{:?}", r.body);
    assert_eq!(r.body["description"], "d");
    let snap = s
        .get("/api/v3/workflows/props/properties-snapshot/latest")
        .await;
    assert_eq!(snap.body, r.body);

    let tagged = s
        .json(
            "POST",
            "/api/v3/workflows/props/properties/tag",
            &json!({"name": "team-a"}),
        )
        .await;
    assert_eq!(tagged.status, 200, "{:?}", tagged.body);
    let tag = &tagged.body["tags"][0];
    assert_eq!(tag["name"], "team-a");
    assert_eq!(tag["namespace"], "PLATFORM");
    assert_eq!(tag["creator"], "tester");
    assert!(tag["created_at_milli"].is_i64());
    let untagged = s
        .raw(
            "DELETE",
            "/api/v3/workflows/props/properties/tag/team-a",
            Some("tester"),
            None,
        )
        .await;
    assert_eq!(untagged.status, 200);
    assert_eq!(untagged.body["tags"], json!([]));
    let again = s
        .raw(
            "DELETE",
            "/api/v3/workflows/props/properties/tag/team-a",
            Some("tester"),
            None,
        )
        .await;
    assert_eq!(again.status, 404);

    let act = s
        .put("/api/v3/workflows/props/versions/1/actions/activate")
        .await;
    assert_eq!(act.status, 200);
    assert_eq!(act.body["workflow_version_id"], 1);
    assert_eq!(act.body["timeline_event"]["action"], "ACTIVATE");
    assert_eq!(
        act.body["timeline_event"]["message"],
        "Caller [tester] activates workflow version [props][1], previous active version is [2]"
    );
    let def = s.get("/api/v3/workflows/props/versions/default").await;
    assert_eq!(def.body["metadata"]["workflow_version_id"], 1);
    let de = s.put("/api/v3/workflows/props/actions/deactivate").await;
    assert_eq!(de.body["workflow_version_id"], 0);
    assert_eq!(de.body["timeline_event"]["action"], "DEACTIVATE");
    assert_eq!(
        s.get("/api/v3/workflows/props/versions/active")
            .await
            .status,
        404
    );
    assert_eq!(
        s.get("/api/v3/workflows/props/versions/default").await.body["metadata"]["workflow_version_id"],
        2
    );

    let iid = s.start_latest("props", None).await;
    s.wait_terminal("props", iid).await;
    let ov = s.get("/api/v3/workflows/props/overview").await;
    assert_eq!(ov.status, 200);
    assert_eq!(ov.body["latest_version_id"], 2);
    assert!(ov.body.get("active_version_id").is_none());
    assert_eq!(ov.body["default_version_id"], 2);
    assert_eq!(ov.body["latest_instance_id"], 1);
    assert_eq!(
        ov.body["nonterminal_instances"],
        json!({"CREATED": 0, "IN_PROGRESS": 0, "PAUSED": 0})
    );
    assert_eq!(ov.body["failed_instances"], 0);

    let tl = s.get("/api/v3/workflows/props/timeline").await;
    let logs: Vec<&str> = tl.body["timeline_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["log"].as_str().unwrap())
        .collect();
    assert!(
        logs.contains(&"Created a new workflow version [2] for workflow id [props]"),
        "{logs:?}"
    );
    assert!(logs.contains(&"Created a new workflow version [1] for workflow id [props]"));
    assert!(logs.contains(&"Update the properties for workflow: props"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_every_row_and_ids_continue() {
    let s = TestServer::start().await;
    s.push(&noop_chain("doomed", 3)).await;
    s.push(&noop_chain("keeper", 1)).await;
    for _ in 0..2 {
        let iid = s.start_latest("doomed", None).await;
        s.wait_terminal("doomed", iid).await;
    }
    let kid = s.start_latest("keeper", None).await;
    s.wait_terminal("keeper", kid).await;

    let sleepy = common::sleeper("busy", 30);
    s.push(&sleepy).await;
    let busy = s.start_latest("busy", None).await;
    s.wait_step("busy", busy, "nap", "RUNNING").await;
    let refused = s
        .raw("DELETE", "/api/v3/workflows/busy", Some("tester"), None)
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("queued or running")
    );
    assert_eq!(
        s.get("/api/v3/workflows/busy/versions/latest").await.status,
        200
    );

    let gone = s
        .raw("DELETE", "/api/v3/workflows/doomed", Some("tester"), None)
        .await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    assert_eq!(gone.body["type"], "LOG");
    assert_eq!(
        s.get("/api/v3/workflows/doomed/versions/latest")
            .await
            .status,
        404
    );
    assert_eq!(
        s.get("/api/v3/workflows/doomed/instances/1").await.status,
        404
    );
    assert_eq!(
        s.raw("DELETE", "/api/v3/workflows/doomed", Some("tester"), None)
            .await
            .status,
        404
    );

    let db = rusqlite::Connection::open(s.dir.path().join("baton.db")).unwrap();
    for table in ["workflow", "workflow_version", "workflow_properties"] {
        let n: i64 = db
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE workflow_id = 'doomed'"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM workflow_instance WHERE workflow_id = 'doomed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM step_instance WHERE workflow_id = 'doomed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    // Other workflows keep their data.
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM step_instance WHERE workflow_id = 'keeper'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);

    // Pushed again, it is a new workflow whose instance ids continue after the deleted ones.
    let again = s.push(&noop_chain("doomed", 1)).await;
    assert_eq!(
        again["workflow_definition"]["metadata"]["workflow_version_id"],
        1
    );
    let iid = s.start_latest("doomed", None).await;
    assert_eq!(iid, 3);
    let done = s.wait_terminal("doomed", iid).await;
    assert_eq!(
        done["runtime_workflow"]["steps"].as_array().unwrap().len(),
        1,
        "not the cached old definition"
    );
    assert!(s.store.get_workflow("doomed").await.unwrap().is_some());
    s.put("/api/v3/workflows/busy/actions/stop").await;
    s.stop().await;
}
