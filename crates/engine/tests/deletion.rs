//! Deleting a workflow leaves nothing of it behind: with finished runs, running ones (stopped
//! first), foreach iterations, a breakpoint and a paused attempt, the SQLite file is then
//! searched table by table (every table in `sqlite_master`, so tables added later are covered)
//! for any value naming the workflow or its iteration workflows.

mod common;

use std::time::Duration;

use baton_engine::{Engine, RunAction};
use baton_model::api::WorkflowStartRequest;
use baton_model::definition::User;
use baton_model::instance::{Artifact, Initiator};
use baton_store::RunKey;
use common::Harness;
use serde_json::json;

async fn start(engine: &Engine, workflow_id: &str) -> RunKey {
    let req = WorkflowStartRequest {
        initiator: Initiator::manual(None),
        request_time: None,
        request_id: None,
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: false,
    };
    let resp = engine
        .start_workflow(workflow_id, "latest", req, Some(User::new("tester")))
        .await
        .expect("start");
    RunKey {
        workflow_id: workflow_id.to_string(),
        instance_id: resp.workflow_instance_id,
        run_id: resp.workflow_run_id,
    }
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Rows of every table with a text value containing one of `needles`.
fn rows_naming(db: &std::path::Path, needles: &[String]) -> Vec<(String, String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        tables.iter().any(|t| t == "paused_step_attempt"),
        "{tables:?}"
    );
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for column in columns {
            for needle in needles {
                let n: i64 = conn
                    .query_row(
                        &format!(
                            "SELECT COUNT(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS TEXT), ?1) > 0"
                        ),
                        [needle],
                        |r| r.get(0),
                    )
                    .unwrap();
                if n > 0 {
                    found.push((table.clone(), column.clone(), n));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_workflow_removes_every_row_of_it() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = "doomed-wf-7f3a";
    let wf = json!({"properties": {"owner": "tester", "run_strategy": "PARALLEL"},
    "workflow": {"id": id, "steps": [
        {"foreach": {"id": "loop", "concurrency": 2,
            "params": {"loop_params": {"type": "MAP", "value": {
                "i": {"value": [1, 2], "type": "LONG_ARRAY"}}}},
            "steps": [{"step": {"id": "body", "type": "NoOp"}}],
            "transition": {"successors": {"gate": "true"}}}},
        {"step": {"id": "gate", "type": "NoOp", "transition": {"successors": {"nap": "true"}}}},
        {"step": {"id": "nap", "type": "Sleep",
            "params": {"sleep_seconds": {"value": 60, "type": "LONG"}}}}
    ]}});
    h.push_json(&wf.to_string()).await;
    // A finished run.
    let finished = start(e, id).await;
    wait_until("first run sleeping", || async {
        e.latest_attempts(&finished)
            .await
            .unwrap()
            .iter()
            .any(|s| s.step_id == "nap" && s.runtime_state.status.as_str() == "RUNNING")
    })
    .await;
    e.terminate_instance(
        id,
        finished.instance_id,
        None,
        RunAction::Stop,
        User::new("ops"),
    )
    .await
    .unwrap();
    // A running run held at a breakpoint.
    e.add_breakpoint(id, "gate", User::new("ops"))
        .await
        .unwrap();
    let paused = start(e, id).await;
    wait_until("second run paused", || async {
        let a = e.latest_attempts(&paused).await.unwrap();
        a.iter()
            .any(|s| s.step_id == "gate" && s.runtime_state.status.as_str() == "PAUSED")
    })
    .await;
    e.add_breakpoint(id, "nap", User::new("ops")).await.unwrap();
    assert_eq!(
        e.list_paused_attempts(Some(id), None).await.unwrap().len(),
        1
    );
    let foreach_ids: Vec<String> = e
        .latest_attempts(&finished)
        .await
        .unwrap()
        .iter()
        .filter_map(|s| match s.artifacts.as_ref()?.get("maestro_foreach")? {
            Artifact::Foreach(a) => a.foreach_workflow_id.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(foreach_ids.len(), 1);

    // Refused while runs are active; stopped first, then deleted.
    assert!(e.delete_workflow(id, User::new("ops")).await.is_err());
    e.terminate_workflow_runs(id, RunAction::Stop, User::new("ops"))
        .await
        .unwrap();
    wait_until("all runs stopped", || async {
        e.store()
            .list_active_runs()
            .await
            .unwrap()
            .iter()
            .all(|r| r.key.workflow_id != id && !foreach_ids.contains(&r.key.workflow_id))
    })
    .await;
    let db = h.dir.path().join("baton.db");
    let mut needles = vec![id.to_string()];
    needles.extend(foreach_ids.iter().cloned());
    assert!(
        !rows_naming(&db, &needles).is_empty(),
        "the check sees the data"
    );
    e.delete_workflow(id, User::new("ops"))
        .await
        .expect("delete");
    let left: Vec<_> = rows_naming(&db, &needles)
        .into_iter()
        // Kept on purpose: the highest deleted instance id, so a re-created workflow's ids
        // continue after it (maestro-model.md §7.10).
        .filter(|(table, _, _)| table != "sequence")
        .collect();
    assert!(left.is_empty(), "rows left after deletion: {left:?}");
    assert!(e.list_breakpoints(id, "nap").await.unwrap().is_empty());
}
