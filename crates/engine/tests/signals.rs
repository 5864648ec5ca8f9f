//! Signals end to end (maestro-model.md §9.2–§9.5): announcing and deduplicating, steps that
//! wait for signals (including ones announced later, and across an engine restart), bypass,
//! output signals, signal triggers with param matching and join keys, `getFromSignal*`, and
//! the durability of trigger starts.

mod common;

use std::time::Duration;

use baton_engine::{Engine, EngineError};
use baton_model::api::SignalCreateRequest;
use baton_model::definition::User;
use baton_model::instance::{
    Initiator, StepDependencyMatchStatus, WorkflowInstance, WorkflowInstanceStatus,
};
use baton_store::{RunKey, TriggerWrite, WriteOp};
use common::{Harness, compat, start, wait_run, wait_step};
use indexmap::IndexMap;
use serde_json::json;

fn signal(name: &str, params: serde_json::Value) -> SignalCreateRequest {
    serde_json::from_value(json!({"name": name, "params": params})).expect("signal request")
}

/// Polls until `step` of `run` has `status`.
/// Every run of a workflow, newest instance first.
async fn runs_of(engine: &Engine, workflow_id: &str) -> Vec<WorkflowInstance> {
    let rows = engine
        .store()
        .list_instances(workflow_id, None, 1000)
        .await
        .expect("instances");
    let mut out = Vec::new();
    for r in rows {
        out.push(
            engine
                .get_instance_run(workflow_id, r.key.instance_id, Some(r.key.run_id))
                .await
                .expect("run"),
        );
    }
    out
}

async fn wait_runs(engine: &Engine, workflow_id: &str, n: usize) -> Vec<WorkflowInstance> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        engine.signals_settled().await;
        let runs = runs_of(engine, workflow_id).await;
        if runs.len() >= n && runs.iter().all(|r| r.status.is_terminal()) {
            return runs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{workflow_id}: expected {n} finished runs, have {:?}",
            runs.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn result(
    params: &Option<IndexMap<String, baton_model::params::Parameter>>,
    name: &str,
) -> serde_json::Value {
    params
        .as_ref()
        .and_then(|p| p.get(name))
        .and_then(|p| p.evaluated_result.as_ref())
        .map(|v| v.to_json())
        .unwrap_or(serde_json::Value::Null)
}

const WAITING_WF: &str = r#"{
  "properties": {"owner": "tester"},
  "workflow": {
    "id": "dep-wf",
    "params": {"TABLE": {"value": "orders", "type": "STRING"}, "START": {"value": 20240100, "type": "LONG"}},
    "steps": [
      {"step": {"id": "wait", "type": "NoOp",
        "params": {"got": {"expression": "params.getFromSignalDependency('0', 'dateint')", "type": "LONG"}},
        "signal_dependencies": [{"name": "db/${TABLE}",
          "match_params": {"dateint": {"param": {"expression": "START + 1", "type": "LONG"}, "operator": ">="}}}],
        "transition": {"successors": {"after": "true"}}}},
      {"step": {"id": "after", "type": "NoOp"}}
    ]
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_are_stored_numbered_and_deduplicated() {
    let h = Harness::new().await;
    let e = &h.engine;
    let first = e
        .announce_signal(signal(
            "db/orders",
            json!({"dateint": 20240101, "hour": "00"}),
        ))
        .await
        .expect("announce");
    assert_eq!(first.seq_id, 1);
    assert!(first.instance_id.is_some());
    // The same name and params (in any order) is the same signal: 409.
    let again = e
        .announce_signal(signal(
            "db/orders",
            json!({"hour": "00", "dateint": 20240101}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, EngineError::Conflict(m) if m.contains("already exists")),
        "{again:?}"
    );
    // A new request id makes it a new signal; other params too.
    let mut with_id = signal("db/orders", json!({"dateint": 20240101, "hour": "00"}));
    with_id.request_id = Some("run-2".into());
    with_id.payload.insert("note".into(), json!("hello"));
    let second = e.announce_signal(with_id).await.expect("new request id");
    assert_eq!(
        (second.seq_id, second.instance_id.as_deref()),
        (2, Some("run-2"))
    );
    let other = e
        .announce_signal(signal("db/users", json!({})))
        .await
        .expect("other name");
    assert_eq!(other.seq_id, 1, "sequences are per name");

    let read = e
        .get_signal("db/orders", Some(2))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(read, second);
    assert_eq!(read.payload.as_ref().unwrap()["note"], json!("hello"));
    let latest = e
        .get_signal("db/orders", None)
        .await
        .unwrap()
        .expect("latest");
    assert_eq!(latest.seq_id, 2);
    assert!(e.get_signal("db/orders", Some(3)).await.unwrap().is_none());
    assert!(e.get_signal("nothing", None).await.unwrap().is_none());

    let bad = e
        .announce_signal(signal("maestro_x", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(bad, EngineError::Invalid { .. }), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_waits_until_a_later_signal_matches() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h.push_json(WAITING_WF).await;
    let run = start(e, &id).await;
    let waiting = wait_step(e, &run, "wait", "WAITING_FOR_SIGNALS").await;
    let deps = waiting.signal_dependencies.expect("dependencies evaluated");
    assert_eq!(
        deps.dependencies[0].name, "db/orders",
        "the name is interpolated"
    );
    assert_eq!(
        deps.dependencies[0].status,
        StepDependencyMatchStatus::Pending
    );
    assert_eq!(
        serde_json::to_value(&deps.dependencies[0].match_params).unwrap(),
        json!({"dateint": {"value": 20240101, "operator": ">="}})
    );

    // Too old, another table, a string where a long is expected: none matches.
    e.announce_signal(signal("db/orders", json!({"dateint": 20231231})))
        .await
        .unwrap();
    e.announce_signal(signal("db/users", json!({"dateint": 20240105})))
        .await
        .unwrap();
    e.announce_signal(signal("db/orders", json!({"dateint": "20240105"})))
        .await
        .unwrap();
    e.signals_settled().await;
    wait_step(e, &run, "wait", "WAITING_FOR_SIGNALS").await;

    let hit = e
        .announce_signal(signal("db/orders", json!({"dateint": 20240102})))
        .await
        .unwrap();
    let (wi, steps) = wait_run(e, &run).await;
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded);
    let wait = steps.iter().find(|s| s.step_id == "wait").unwrap();
    let dep = &wait.signal_dependencies.as_ref().unwrap().dependencies[0];
    assert_eq!(dep.status, StepDependencyMatchStatus::Matched);
    assert_eq!(dep.signal_id, Some(hit.seq_id));
    assert_eq!(result(&wait.params, "got"), json!(20240102));
    assert!(wait.runtime_state.wait_signal_time.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_signal_satisfies_a_dependency_and_any_number_of_steps_share_it() {
    let h = Harness::new().await;
    let e = &h.engine;
    e.announce_signal(signal("db/orders", json!({"dateint": 20240301})))
        .await
        .unwrap();
    let id = h.push_json(WAITING_WF).await;
    for _ in 0..2 {
        let run = start(e, &id).await;
        let (wi, steps) = wait_run(e, &run).await;
        assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded);
        let wait = steps.iter().find(|s| s.step_id == "wait").unwrap();
        assert_eq!(
            wait.signal_dependencies.as_ref().unwrap().dependencies[0].signal_id,
            Some(1),
            "matching consumes nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bypass_skips_pending_dependencies() {
    let h = Harness::new().await;
    let e = &h.engine;
    // Without the param that reads the matched signal: a bypassed dependency has none.
    let wf = WAITING_WF.replace(
        r#""params": {"got": {"expression": "params.getFromSignalDependency('0', 'dateint')", "type": "LONG"}},"#,
        "",
    );
    let id = h.push_json(&wf).await;
    let run = start(e, &id).await;
    wait_step(e, &run, "wait", "WAITING_FOR_SIGNALS").await;
    let refused = e
        .bypass_signal_dependencies(&run, "after", Some(User::new("ops")))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, EngineError::Invalid { .. }),
        "{refused:?}"
    );
    e.bypass_signal_dependencies(&run, "wait", Some(User::new("ops")))
        .await
        .expect("bypass");
    let (wi, steps) = wait_run(e, &run).await;
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded);
    let wait = steps.iter().find(|s| s.step_id == "wait").unwrap();
    let deps = wait.signal_dependencies.as_ref().unwrap();
    assert_eq!(
        deps.dependencies[0].status,
        StepDependencyMatchStatus::Skipped
    );
    assert!(
        serde_json::to_string(&deps.info).unwrap().contains("[ops]"),
        "{deps:?}"
    );
    let gone = e
        .bypass_signal_dependencies(&run, "wait", None)
        .await
        .unwrap_err();
    assert!(matches!(gone, EngineError::Conflict(_)), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_step_keeps_waiting_across_an_engine_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    let text = WAITING_WF.to_string();
    let req: baton_model::definition::WorkflowCreateRequest = serde_json::from_str(&text).unwrap();
    engine
        .push_workflow(req, User::new("tester"))
        .await
        .unwrap();
    let run = start(&engine, "dep-wf").await;
    wait_step(&engine, &run, "wait", "WAITING_FOR_SIGNALS").await;
    engine.shutdown(Duration::from_secs(5)).await;
    drop(engine);

    let engine = Harness::engine_at(dir.path()).await;
    wait_step(&engine, &run, "wait", "WAITING_FOR_SIGNALS").await;
    engine
        .announce_signal(signal("db/orders", json!({"dateint": 20240102})))
        .await
        .unwrap();
    let (wi, _) = wait_run(&engine, &run).await;
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded);
}

const OUTPUT_WF: &str = r#"{
  "properties": {"owner": "tester"},
  "workflow": {
    "id": "out-wf",
    "steps": [
      {"step": {"id": "produce", "type": "NoOp",
        "params": {"day": {"value": 20240102, "type": "LONG"}},
        "signal_outputs": [{"name": "out/table",
          "params": {"dateint": {"expression": "day + 1", "type": "LONG"}, "src": {"value": "${day}", "type": "STRING"}},
          "payload": {"rows": {"value": 42, "type": "LONG"}}}]}}
    ]
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_signals_are_announced_before_the_step_succeeds() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h.push_json(OUTPUT_WF).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded);
    let out = e
        .get_signal("out/table", None)
        .await
        .unwrap()
        .expect("announced");
    assert_eq!(out.seq_id, 1);
    assert_eq!(
        serde_json::to_value(&out.params).unwrap(),
        json!({"dateint": 20240103, "src": "20240102"})
    );
    let payload = out.payload.as_ref().unwrap();
    assert_eq!(payload["rows"], json!(42));
    assert_eq!(payload["signal_source"]["workflow_id"], json!("out-wf"));
    assert_eq!(payload["signal_source"]["step_id"], json!("produce"));
    let produce = &steps[0];
    let outputs = produce.signal_outputs.as_ref().unwrap();
    assert_eq!(outputs.outputs[0].signal_id, Some(1));
    assert_eq!(outputs.outputs[0].announce_time, Some(out.create_time));
    assert!(outputs.info.is_some());
    // A second run announces the same name and params: a duplicate, recorded as such.
    let (_, steps) = h.run(&id, None).await;
    let o = &steps[0].signal_outputs.as_ref().unwrap().outputs[0];
    assert_eq!((o.signal_id, o.announce_time), (Some(1), None));
    assert_eq!(
        e.get_signal("out/table", None)
            .await
            .unwrap()
            .unwrap()
            .seq_id,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signal_trigger_sample_fires_on_matching_signals_and_runs_to_the_end() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h
        .push_file("maestro-samples/sample-signal-trigger-wf.json")
        .await;
    let a = |w: serde_json::Value, by: &str| {
        signal(
            "signal_a",
            json!({"foo": "bat", "watermark": w, "updated_by": by}),
        )
    };
    let b = |w: serde_json::Value, by: &str| {
        signal(
            "signal_b",
            json!({"bar": "baz", "watermark": w, "posted_by": by}),
        )
    };
    // Params that do not match: too low a watermark, a string watermark, a wrong foo.
    e.announce_signal(a(json!(12344), "alice")).await.unwrap();
    e.announce_signal(a(json!("99999"), "alice")).await.unwrap();
    e.announce_signal(signal(
        "signal_a",
        json!({"foo": "bar", "watermark": 20000, "updated_by": "alice"}),
    ))
    .await
    .unwrap();
    let a_ok = e.announce_signal(a(json!(12345), "alice")).await.unwrap();
    // A matching signal_b whose join key differs: no match yet.
    e.announce_signal(b(json!(22222), "bob")).await.unwrap();
    e.signals_settled().await;
    assert!(runs_of(e, &id).await.is_empty(), "nothing matched yet");
    let b_ok = e.announce_signal(b(json!(30000), "alice")).await.unwrap();
    e.signals_settled().await;
    let runs = runs_of(e, &id).await;
    assert_eq!(runs.len(), 1, "one match, one run");
    let run = RunKey {
        workflow_id: id.clone(),
        instance_id: runs[0].workflow_instance_id,
        run_id: runs[0].workflow_run_id,
    };
    let Initiator::Signal(init) = &runs[0].initiator else {
        panic!("initiator {:?}", runs[0].initiator);
    };
    assert_eq!(
        init.signal_id_map.as_ref().unwrap(),
        &IndexMap::from([
            ("signal_a".to_string(), a_ok.seq_id),
            ("signal_b".to_string(), b_ok.seq_id)
        ])
    );
    assert_eq!(result(&init.params, "foo"), json!("bar"));

    // job.1 waits for two tables at or after the run's target date, hour "00".
    wait_step(e, &run, "job.1", "WAITING_FOR_SIGNALS").await;
    for table in ["db/test/table1", "db/test/table2"] {
        e.announce_signal(signal(
            table,
            json!({"vtts_utc_dateint": "99991231", "vtts_utc_hour": "00"}),
        ))
        .await
        .unwrap();
    }
    let (wi, steps) = wait_run(e, &run).await;
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded, "{steps:#?}");
    let job1 = steps.iter().find(|s| s.step_id == "job.1").unwrap();
    assert_eq!(result(&job1.params, "param1"), json!("bar"));
    assert_eq!(result(&job1.params, "param2"), json!(12345));
    assert_eq!(result(&job1.params, "param3"), json!("99991231"));
    let out1 = e
        .get_signal("dummy/test/signal1", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out1.params).unwrap(),
        json!({"key1": "v1", "key2": 1})
    );
    assert!(
        e.get_signal("dummy/test/signal2", None)
            .await
            .unwrap()
            .is_some()
    );

    // Consumed signals do not match again: a new signal_b needs a new signal_a.
    e.announce_signal(b(json!(40000), "alice")).await.unwrap();
    e.signals_settled().await;
    assert_eq!(runs_of(e, &id).await.len(), 1);
    e.announce_signal(a(json!(50000), "alice")).await.unwrap();
    wait_runs(e, &id, 2).await;
}

const TRIGGERED_WF: &str = r#"{
  "properties": {"owner": "tester"},
  "workflow": {
    "id": "trig-wf",
    "signal_triggers": [{"definitions": {"go": {"match_params": {"n": {"value": 0, "operator": ">"}}}},
                         "params": {"tag": {"value": "from-trigger", "type": "STRING"}},
                         "condition": "return n_odd == 1 || true;",
                         "dedup_expr": "DEDUP"}],
    "params": {
      "who": {"expression": "go__user", "type": "STRING"},
      "n2": {"expression": "params.getFromSignal('go', 'n') * 2", "type": "LONG"},
      "tag": {"expression": "params.getFromSignal('tag')", "type": "STRING"}
    },
    "steps": [{"step": {"id": "s", "type": "NoOp",
       "params": {"echo": {"expression": "params.getFromSignalOrDefault('go', 'missing', 'dflt')", "type": "STRING"}}}}]
  }
}"#;

fn triggered_wf(dedup: &str, condition: &str) -> String {
    TRIGGERED_WF
        .replace("\"DEDUP\"", dedup)
        .replace("\"return n_odd == 1 || true;\"", condition)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_params_reach_workflow_and_step_params() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h
        .push_json(&triggered_wf(
            r#""return params.getFromSignal('go', 'user');""#,
            r#""tag == 'from-trigger'""#,
        ))
        .await;
    e.announce_signal(signal("go", json!({"n": 21, "user": "ann"})))
        .await
        .unwrap();
    let runs = wait_runs(e, &id, 1).await;
    let wi = &runs[0];
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded);
    assert_eq!(result(&wi.params, "who"), json!("ann"));
    assert_eq!(result(&wi.params, "n2"), json!(42));
    assert_eq!(result(&wi.params, "tag"), json!("from-trigger"));
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: wi.workflow_instance_id,
        run_id: wi.workflow_run_id,
    };
    let steps = e.latest_attempts(&key).await.unwrap();
    assert_eq!(result(&steps[0].params, "echo"), json!("dflt"));
    // The dedup expression names the start: the same user again is the same run.
    e.announce_signal(signal("go", json!({"n": 22, "user": "ann"})))
        .await
        .unwrap();
    e.signals_settled().await;
    assert_eq!(runs_of(e, &id).await.len(), 1, "deduplicated start");
    e.announce_signal(signal("go", json!({"n": 23, "user": "bo"})))
        .await
        .unwrap();
    let runs = wait_runs(e, &id, 2).await;
    assert_eq!(result(&runs[0].params, "who"), json!("bo"));
    // n must be > 0: no match, no run.
    e.announce_signal(signal("go", json!({"n": 0, "user": "cy"})))
        .await
        .unwrap();
    e.signals_settled().await;
    assert_eq!(runs_of(e, &id).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_condition_consumes_the_signals_without_a_run() {
    let h = Harness::new().await;
    let e = &h.engine;
    let id = h
        .push_json(&triggered_wf(r#""return 'x' + go__n;""#, r#""go__n > 10""#))
        .await;
    e.announce_signal(signal("go", json!({"n": 5, "user": "a"})))
        .await
        .unwrap();
    e.signals_settled().await;
    assert!(runs_of(e, &id).await.is_empty());
    let rows = e.store().list_triggers(Some(&id)).await.unwrap();
    assert!(
        rows[0].state.contains(r#""go":1"#),
        "consumed: {}",
        rows[0].state
    );
    e.announce_signal(signal("go", json!({"n": 11, "user": "a"})))
        .await
        .unwrap();
    wait_runs(e, &id, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_signal_triggers_ignore_signals_until_enabled_again() {
    let h = Harness::new().await;
    let e = &h.engine;
    let wf = triggered_wf(r#""return 'x' + n;""#, r#""true""#);
    let mut req: serde_json::Value = serde_json::from_str(&wf).unwrap();
    req["properties"]["signal_trigger_disabled"] = json!(true);
    let id = h.push_json(&req.to_string()).await;
    e.announce_signal(signal("go", json!({"n": 1, "user": "a"})))
        .await
        .unwrap();
    e.signals_settled().await;
    assert!(runs_of(e, &id).await.is_empty());
    let listed = e.list_triggers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].enabled);
    req["properties"]["signal_trigger_disabled"] = json!(false);
    h.push_json(&req.to_string()).await;
    e.signals_settled().await;
    assert!(
        runs_of(e, &id).await.is_empty(),
        "signals from before do not count"
    );
    e.announce_signal(signal("go", json!({"n": 2, "user": "a"})))
        .await
        .unwrap();
    wait_runs(e, &id, 1).await;
    assert!(e.list_triggers().await.unwrap()[0].enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_match_starts_its_run_once_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let wf = triggered_wf(r#""return 'x' + n;""#, r#""true""#);
    let req: baton_model::definition::WorkflowCreateRequest = serde_json::from_str(&wf).unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    engine
        .push_workflow(req, User::new("tester"))
        .await
        .unwrap();
    let s = engine
        .announce_signal(signal("go", json!({"n": 3, "user": "z"})))
        .await
        .unwrap();
    wait_runs(&engine, "trig-wf", 1).await;
    engine.shutdown(Duration::from_secs(5)).await;
    let store = engine.store().clone();
    drop(engine);

    // As if a crash came after the match was recorded and before (or after) its run started:
    // the execution is still pending in the trigger's state.
    let row = store
        .list_triggers(Some("trig-wf"))
        .await
        .unwrap()
        .remove(0);
    let runs = store.list_instances("trig-wf", None, 10).await.unwrap();
    let mut state: serde_json::Value = serde_json::from_str(&row.state).unwrap();
    state["pending"] = json!([
        {"signal_ids": {"go": s.seq_id}, "request_id": runs[0].uuid},
        {"signal_ids": {"go": s.seq_id}, "request_id": "7d3c7a47-2b3f-4b8e-9c4b-6a0e5f1d2c3b"}
    ]);
    store
        .write(vec![WriteOp::PutTrigger(TriggerWrite {
            workflow_id: row.workflow_id.clone(),
            trigger_uuid: row.trigger_uuid.clone(),
            kind: row.kind.clone(),
            definition: row.definition.clone(),
            state: state.to_string(),
            expected_version: row.version,
            ts: 1,
        })])
        .await
        .unwrap();
    drop(store);
    for _ in 0..2 {
        let engine = Harness::engine_at(dir.path()).await;
        let runs = wait_runs(&engine, "trig-wf", 2).await;
        assert_eq!(
            runs.len(),
            2,
            "the started one is a duplicate, the other starts once"
        );
        engine.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_references_are_checked_at_push() {
    let h = Harness::new().await;
    // A workflow param reading a signal its triggers do not declare is rejected by the dry run.
    let bad = TRIGGERED_WF
        .replace("\"DEDUP\"", "\"x\"")
        .replace("go__user", "stop__user");
    let req: baton_model::definition::WorkflowCreateRequest = serde_json::from_str(&bad).unwrap();
    let err = h
        .engine
        .push_workflow(req, User::new("tester"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Signal name [stop] does not exist"),
        "{err}"
    );
    // The sample itself pushes (its workflow params read no signal).
    let sample =
        std::fs::read_to_string(compat("maestro-samples/sample-signal-trigger-wf.json")).unwrap();
    h.push_json(&sample).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_dynamic_output_artifact_announces_signals() {
    let h = Harness::new().await;
    let e = &h.engine;
    // The script reports a `maestro_dynamic_output` artifact through the output protocol:
    // strings and integral numbers become indexed params, anything else payload.
    let output = json!({"artifacts": {"maestro_dynamic_output": {"type": "DYNAMIC_OUTPUT",
        "signal_outputs": [{"type": "MAP", "value": {}, "evaluated_result":
            {"name": "dyn/table", "dateint": 20240101, "hour": "00", "parts": [1, 2]}}]}}});
    let script = format!(
        "printf '%s' \"$MAESTRO_OUTPUT_START\"; cat <<'EOF'\n{output}\nEOF\nprintf '%s\\n' \"$MAESTRO_OUTPUT_END\"\n"
    );
    let wf = json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": "dyn-wf", "steps": [{"step": {"id": "job", "type": "Shell",
            "params": {"shell": {"type": "MAP", "value": {
                "script": {"type": "STRING", "value": script.replace('$', "$$")},
                "interpreter": {"type": "STRING", "value": "sh"}}}}}}]}
    });
    let id = h.push_json(&wf.to_string()).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status, WorkflowInstanceStatus::Succeeded, "{steps:#?}");
    let s = e
        .get_signal("dyn/table", None)
        .await
        .unwrap()
        .expect("announced");
    assert_eq!(
        serde_json::to_value(&s.params).unwrap(),
        json!({"dateint": 20240101, "hour": "00"})
    );
    let payload = s.payload.unwrap();
    assert_eq!(payload["parts"], json!([1, 2]));
    assert_eq!(payload["signal_source"]["step_id"], json!("job"));
    let outputs = steps[0].signal_outputs.as_ref().unwrap();
    assert_eq!(outputs.outputs[0].signal_id, Some(s.seq_id));
}
