//! Control-flow behaviour beyond the samples: foreach failure modes and concurrency, stop and
//! timeout propagation to children, `params.getFromForeach` / `getFromSubworkflow`, the depth
//! limit, empty loops, while failures.

mod common;

use std::time::Duration;

use baton_model::instance::{Artifact, StepInstance, WorkflowInstance};
use baton_store::RunKey;
use common::Harness;
use serde_json::{Value, json};

fn wf(id: &str, props: Value, steps: Value) -> String {
    let mut p = json!({"owner": "tester"});
    if let (Value::Object(base), Value::Object(extra)) = (&mut p, props) {
        base.extend(extra);
    }
    json!({"properties": p, "workflow": {"id": id, "steps": steps}}).to_string()
}

/// A scripted (Titus) body step whose outcome depends on the loop param `i`: `fail_at` fails
/// fatally, every other iteration sleeps `ms`.
fn scripted_body(fail_at: i64, ms: u64) -> Value {
    json!({"step": {"id": "job", "type": "Titus", "params": {"outcomes": {
        "expression": format!("if (i == {fail_at}) return new String[]{{'FATAL_ERROR'}}; return new String[]{{'SLEEP:{ms}'}};"),
        "type": "STRING_ARRAY"}}}})
}

fn foreach(id: &str, n: i64, concurrency: i64, failure_mode: Option<&str>, body: Value) -> Value {
    let mut step = json!({"id": id, "concurrency": concurrency,
        "params": {"loop_params": {"type": "MAP", "value": {
            "i": {"expression": format!("Util.intsBetween(1, {}, 1)", n + 1), "type": "LONG_ARRAY"}}}},
        "steps": [body]});
    if let Some(m) = failure_mode {
        step["failure_mode"] = json!(m);
    }
    json!({"foreach": step})
}

fn step<'a>(steps: &'a [StepInstance], id: &str) -> &'a StepInstance {
    steps
        .iter()
        .find(|s| s.step_id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

fn status(steps: &[StepInstance], id: &str) -> String {
    step(steps, id).runtime_state.status.as_str().to_string()
}

fn foreach_artifact(si: &StepInstance) -> baton_model::instance::ForeachArtifact {
    match si.artifacts.as_ref().and_then(|a| a.get("maestro_foreach")) {
        Some(Artifact::Foreach(a)) => a.clone(),
        other => panic!("no foreach artifact: {other:?}"),
    }
}

async fn iterations(h: &Harness, workflow_id: &str) -> Vec<WorkflowInstance> {
    let mut out = Vec::new();
    for row in h
        .engine
        .store()
        .list_instances(workflow_id, None, 100_000)
        .await
        .unwrap()
    {
        out.push(
            h.engine
                .get_instance_run(workflow_id, row.key.instance_id, Some(row.key.run_id))
                .await
                .unwrap(),
        );
    }
    out.sort_by_key(|w| w.workflow_instance_id);
    out
}

fn peak(intervals: &[(i64, i64)]) -> usize {
    let mut events: Vec<(i64, i32)> = Vec::new();
    for (s, e) in intervals {
        events.push((*s, 1));
        events.push((*e, -1));
    }
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreach_fail_after_running_stops_launching_and_lets_running_iterations_finish() {
    let h = Harness::scripted().await;
    let id = h
        .push_json(&wf(
            "fe-after",
            json!({}),
            json!([foreach("loop", 6, 2, None, scripted_body(3, 100))]),
        ))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(status(&steps, "loop"), "FATALLY_FAILED");
    let a = foreach_artifact(step(&steps, "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    // Iteration 3 failed; 5 and 6 were never created; the others ran to their end.
    assert!(its.len() == 3 || its.len() == 4, "{} iterations", its.len());
    for it in &its {
        let expected = if it.workflow_instance_id == 3 {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        assert_eq!(
            it.status.as_str(),
            expected,
            "iteration {}",
            it.workflow_instance_id
        );
    }
    let stats = a.foreach_overview.unwrap().stats.unwrap();
    assert_eq!(stats.values().sum::<i64>(), its.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreach_fail_immediately_stops_running_iterations_and_the_run() {
    let h = Harness::scripted().await;
    let steps = json!([
        foreach("loop", 6, 3, Some("FAIL_IMMEDIATELY"), scripted_body(3, 5000)),
        {"step": {"id": "side", "type": "Sleep", "params": {"sleep_seconds": {"value": 30, "type": "LONG"}}}}
    ]);
    let id = h.push_json(&wf("fe-now", json!({}), steps)).await;
    let begin = std::time::Instant::now();
    let (wi, steps) = h.run(&id, None).await;
    assert!(
        begin.elapsed() < Duration::from_secs(5),
        "nothing waited for the sleeps"
    );
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(status(&steps, "loop"), "FATALLY_FAILED");
    assert_eq!(status(&steps, "side"), "STOPPED");
    let a = foreach_artifact(step(&steps, "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 3);
    let statuses: Vec<&str> = its.iter().map(|w| w.status.as_str()).collect();
    assert_eq!(statuses, vec!["STOPPED", "STOPPED", "FAILED"]);
    // The stopped iterations' body steps were stopped too.
    for it in &its[..2] {
        let key = RunKey {
            workflow_id: it.workflow_id.clone(),
            instance_id: it.workflow_instance_id,
            run_id: 1,
        };
        let body = h.engine.latest_attempts(&key).await.unwrap();
        assert_eq!(status(&body, "job"), "STOPPED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreach_ignore_failure_completes_with_error_and_downstream_runs() {
    let h = Harness::scripted().await;
    let mut fe = foreach("loop", 4, 4, Some("IGNORE_FAILURE"), scripted_body(2, 10));
    fe["foreach"]["transition"] = json!({"successors": {"after": "true"}});
    let steps = json!([fe, {"step": {"id": "after", "type": "NoOp"}}]);
    let id = h.push_json(&wf("fe-ignore", json!({}), steps)).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(status(&steps, "loop"), "COMPLETED_WITH_ERROR");
    assert_eq!(status(&steps, "after"), "SUCCEEDED");
    // The failed leaf shows in the rollup.
    let rollup = wi.runtime_overview.unwrap().rollup_overview.unwrap();
    let failed = rollup
        .overview
        .unwrap()
        .into_iter()
        .find(|(s, _)| s.as_str() == "FATALLY_FAILED");
    assert_eq!(failed.map(|(_, c)| c.cnt), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreach_concurrency_is_never_exceeded() {
    let h = Harness::new().await;
    let body = json!({"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": 0.05, "type": "DOUBLE"}}}});
    let id = h
        .push_json(&wf(
            "fe-conc",
            json!({}),
            json!([foreach("loop", 24, 3, None, body)]),
        ))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let a = foreach_artifact(step(&steps, "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 24);
    // An iteration holds its slot from creation to its end.
    let spans: Vec<(i64, i64)> = its
        .iter()
        .map(|w| (w.create_time.unwrap(), w.end_time.unwrap()))
        .collect();
    let p = peak(&spans);
    assert!((2..=3).contains(&p), "peak {p}");
    // Launched in index order.
    for w in its.windows(2) {
        assert!(w[0].create_time <= w[1].create_time);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_single_iteration_loops() {
    let h = Harness::new().await;
    let empty = json!({"foreach": {"id": "none", "params": {"loop_params": {"type": "MAP", "value": {
        "i": {"value": [], "type": "LONG_ARRAY"}}}}, "steps": [{"step": {"id": "a", "type": "NoOp"}}]}});
    let single = json!({"foreach": {"id": "one", "params": {"loop_params": {"type": "MAP", "value": {}}},
        "steps": [{"step": {"id": "b", "type": "NoOp"}}]}});
    let id = h
        .push_json(&wf("fe-empty", json!({}), json!([empty, single])))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    assert_eq!(foreach_artifact(step(&steps, "none")).total_loop_count, 0);
    let one = foreach_artifact(step(&steps, "one"));
    assert_eq!(one.total_loop_count, 1);
    let its = iterations(&h, one.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 1);
    let li = its[0].params.as_ref().unwrap()["loop_index"]
        .evaluated_result
        .clone();
    assert_eq!(li.map(|v| v.to_json()), Some(json!(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_run_stops_its_iterations_and_subworkflow_children() {
    let h = Harness::new().await;
    let nap = json!({"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": 60, "type": "LONG"}}}});
    h.push_json(&wf(
        "sw-child",
        json!({"run_strategy": "parallel"}),
        json!([nap.clone()]),
    ))
    .await;
    let steps = json!([
        foreach("loop", 10, 2, None, nap),
        {"subworkflow": {"id": "sub", "params": {"subworkflow_id": {"value": "sw-child", "type": "STRING"}}}}
    ]);
    let id = h.push_json(&wf("stop-tree", json!({}), steps)).await;
    let resp = h
        .engine
        .start_workflow(&id, "latest", common_start(), None)
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: resp.workflow_instance_id,
        run_id: 1,
    };
    // Wait until both iterations and the child are running.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.engine.live_runs() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "children did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.engine
        .act_on_run(&key, baton_engine::RunAction::Stop, None, None)
        .await
        .unwrap();
    let mut events = h.engine.subscribe();
    assert_eq!(
        h.wait_terminal(&key, &mut events, Duration::from_secs(10))
            .await
            .as_str(),
        "STOPPED"
    );
    let steps = h.engine.latest_attempts(&key).await.unwrap();
    assert_eq!(status(&steps, "loop"), "STOPPED");
    assert_eq!(status(&steps, "sub"), "STOPPED");
    let a = foreach_artifact(step(&steps, "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 2, "no iteration launched after the stop");
    assert!(its.iter().all(|w| w.status.as_str() == "STOPPED"));
    let child = h
        .engine
        .get_instance_run("sw-child", 1, None)
        .await
        .unwrap();
    assert_eq!(child.status.as_str(), "STOPPED");
    assert_eq!(h.engine.live_runs(), 0);
}

fn common_start() -> baton_model::api::WorkflowStartRequest {
    baton_model::api::WorkflowStartRequest {
        initiator: baton_model::instance::Initiator::manual(None),
        request_time: None,
        request_id: None,
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreach_step_timeout_times_it_out_and_stops_its_iterations() {
    let h = Harness::new().await;
    let nap = json!({"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": 60, "type": "LONG"}}}});
    let mut fe = foreach("loop", 3, 3, None, nap);
    fe["foreach"]["timeout"] = json!(1);
    let id = h.push_json(&wf("fe-timeout", json!({}), json!([fe]))).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "TIMED_OUT");
    assert_eq!(status(&steps, "loop"), "TIMED_OUT");
    let a = foreach_artifact(step(&steps, "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 3);
    assert!(its.iter().all(|w| w.status.as_str() == "STOPPED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_from_foreach_and_get_from_subworkflow_read_children_params() {
    let h = Harness::new().await;
    let inner = json!([{"step": {"id": "inner", "type": "NoOp",
        "params": {"out": {"expression": "'hello ' + greeting", "type": "STRING"}}}}]);
    h.push_json(
        &json!({"properties": {"owner": "tester"}, "workflow": {"id": "child-wf",
            "params": {"greeting": {"value": "nobody", "type": "STRING"}}, "steps": inner}})
        .to_string(),
    )
    .await;
    let body = json!({"step": {"id": "job", "type": "NoOp",
        "params": {"x": {"expression": "i * 10", "type": "LONG"}, "s": {"expression": "'v' + i", "type": "STRING"}}}});
    let mut fe = foreach("loop", 3, 2, None, body);
    fe["foreach"]["transition"] = json!({"successors": {"read": "true"}});
    let sub = json!({"subworkflow": {"id": "sub",
        "transition": {"successors": {"read": "true"}},
        "params": {"subworkflow_id": {"value": "child-wf", "type": "STRING"},
                   "greeting": {"value": "world", "type": "STRING"}}}});
    let read = json!({"step": {"id": "read", "type": "NoOp", "params": {
        "xs": {"expression": "params.getFromForeach('loop', 'job', 'x')", "type": "LONG_ARRAY"},
        "ss": {"expression": "params.getFromForeach('loop', 'job', 's')", "type": "STRING_ARRAY"},
        "out": {"expression": "params.getFromSubworkflow('sub', 'inner', 'out')", "type": "STRING"}}}});
    let id = h
        .push_json(&wf("reader", json!({}), json!([fe, sub, read])))
        .await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(
        wi.status.as_str(),
        "SUCCEEDED",
        "{:?}",
        step(&steps, "read").timeline
    );
    let p = step(&steps, "read").params.clone().unwrap();
    let get = |n: &str| p[n].evaluated_result.as_ref().map(|v| v.to_json());
    assert_eq!(get("xs"), Some(json!([10, 20, 30])));
    assert_eq!(get("ss"), Some(json!(["v1", "v2", "v3"])));
    assert_eq!(get("out"), Some(json!("hello world")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_from_foreach_on_another_kind_of_step_is_an_error() {
    let h = Harness::new().await;
    let steps = json!([
        {"step": {"id": "plain", "type": "NoOp", "transition": {"successors": {"read": "true"}}}},
        {"step": {"id": "read", "type": "NoOp", "params": {
            "xs": {"expression": "params.getFromForeach('plain', 'job', 'x')", "type": "LONG_ARRAY"}}}}
    ]);
    let id = h.push_json(&wf("bad-reader", json!({}), steps)).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(status(&steps, "read"), "INTERNALLY_FAILED");
    let text = format!("{:?}", step(&steps, "read").timeline);
    assert!(text.contains("instead of foreach step"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_subworkflows_stop_at_the_depth_limit() {
    let h = Harness::new().await;
    let steps = json!([{"subworkflow": {"id": "again",
        "params": {"subworkflow_id": {"value": "recursive", "type": "STRING"}}}}]);
    let id = h
        .push_json(&wf("recursive", json!({"run_strategy": "parallel"}), steps))
        .await;
    let (wi, _) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    // Depths 0..=9 exist; the step at depth 9 could not start a tenth level.
    let rows = h
        .engine
        .store()
        .list_instances(&id, None, 100)
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    let deepest = rows.iter().max_by_key(|r| r.depth).unwrap();
    assert_eq!(deepest.depth, 9);
    let key = deepest.key.clone();
    let attempts = h.engine.latest_attempts(&key).await.unwrap();
    let text = format!("{:?}", step(&attempts, "again").timeline);
    assert!(text.contains("depth limit"), "{text}");
    assert!(rows.iter().all(|r| r.status == "FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_while_iteration_fails_the_while_step() {
    let h = Harness::scripted().await;
    let body = json!({"step": {"id": "job", "type": "Titus", "params": {
        "outcomes": {"expression": "if (i == 2) return new String[]{'FATAL_ERROR'}; return new String[]{'DONE'};", "type": "STRING_ARRAY"},
        "i": {"expression": "i + 1", "type": "LONG"}}}});
    let w = json!({"while": {"id": "loop", "condition": "i < 10",
        "params": {"loop_params": {"type": "MAP", "value": {"i": {"value": 0, "type": "LONG"}}}},
        "steps": [body]}});
    let id = h.push_json(&wf("while-fail", json!({}), json!([w]))).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(status(&steps, "loop"), "FATALLY_FAILED");
    let Some(Artifact::While(a)) = step(&steps, "loop")
        .artifacts
        .as_ref()
        .and_then(|a| a.get("maestro_while"))
        .cloned()
    else {
        panic!()
    };
    assert_eq!(a.last_iteration, 3);
    assert_eq!(a.last_status.map(|s| s.as_str()), Some("FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_ordering_keeps_iterations_close_to_the_slowest() {
    let h = Harness::scripted().await;
    // Iteration 1 is slow, the others fast.
    let body = json!({"step": {"id": "job", "type": "Titus", "params": {"outcomes": {
        "expression": "if (i == 1) return new String[]{'SLEEP:600'}; return new String[]{'SLEEP:10'};",
        "type": "STRING_ARRAY"}}}});
    for (strict, id) in [(true, "strict-on"), (false, "strict-off")] {
        let mut fe = foreach("loop", 8, 3, None, body.clone());
        fe["foreach"]["strict_ordering"] = json!(strict);
        let id = h.push_json(&wf(id, json!({}), json!([fe]))).await;
        let (wi, steps) = h.run(&id, None).await;
        assert_eq!(wi.status.as_str(), "SUCCEEDED");
        let a = foreach_artifact(step(&steps, "loop"));
        let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
        assert_eq!(its.len(), 8);
        let first_end = its[0].end_time.unwrap();
        let fourth_created = its[3].create_time.unwrap();
        if strict {
            // The window [1, 3] cannot move while iteration 1 runs.
            assert!(
                fourth_created >= first_end,
                "strict: 4 started before 1 ended"
            );
        } else {
            assert!(
                its[7].create_time.unwrap() < first_end,
                "the others ran ahead"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subworkflow_versions_are_bound_at_launch() {
    let h = Harness::new().await;
    let child = |marker: &str, active: bool| {
        json!({"properties": {"owner": "tester", "run_strategy": "parallel"}, "is_active": active,
            "workflow": {"id": "versioned", "params": {"marker": {"value": marker, "type": "STRING"}},
                "steps": [{"step": {"id": "only", "type": "NoOp"}}]}})
        .to_string()
    };
    h.push_json(&child("one", true)).await;
    h.push_json(&child("two", false)).await;
    let sub = |id: &str, version: Option<&str>| {
        let mut params = json!({"subworkflow_id": {"value": "versioned", "type": "STRING"}});
        if let Some(v) = version {
            params["subworkflow_version"] = json!({"value": v, "type": "STRING"});
        }
        json!({"subworkflow": {"id": id, "params": params}})
    };
    let steps = json!([
        sub("number", Some("1")),
        sub("latest", Some("latest")),
        sub("default_active", None),
        sub("default", Some("default")),
    ]);
    let id = h.push_json(&wf("binder", json!({}), steps)).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    for (sid, version, marker) in [
        ("number", 1, "one"),
        ("latest", 2, "two"),
        ("default_active", 1, "one"),
        ("default", 1, "one"),
    ] {
        let Some(Artifact::Subworkflow(a)) = step(&steps, sid)
            .artifacts
            .as_ref()
            .and_then(|a| a.get("maestro_subworkflow"))
            .cloned()
        else {
            panic!("{sid}")
        };
        assert_eq!(a.subworkflow_version_id, version, "{sid}");
        let child = h
            .engine
            .get_instance_run("versioned", a.subworkflow_instance_id, None)
            .await
            .unwrap();
        assert_eq!(child.workflow_version_id, version);
        let m = child.params.as_ref().unwrap()["marker"]
            .evaluated_result
            .clone();
        assert_eq!(m.map(|v| v.to_json()), Some(json!(marker)), "{sid}");
    }
    // An unknown version fails the step with the reason.
    let bad = h
        .push_json(&wf(
            "bad-binder",
            json!({}),
            json!([sub("nine", Some("9"))]),
        ))
        .await;
    let (wi, steps) = h.run(&bad, None).await;
    assert_eq!(wi.status.as_str(), "FAILED");
    assert_eq!(status(&steps, "nine"), "FATALLY_FAILED");
    assert!(format!("{:?}", step(&steps, "nine").timeline).contains("version [9]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_subworkflow_child_is_stopped_with_its_parent() {
    let h = Harness::new().await;
    let nap = json!([{"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": 0.5, "type": "DOUBLE"}}}}]);
    h.push_json(&wf(
        "busy-child",
        json!({"run_strategy": "sequential"}),
        nap,
    ))
    .await;
    // Occupy the child workflow's only slot.
    let first = h
        .engine
        .start_workflow("busy-child", "latest", common_start(), None)
        .await
        .unwrap();
    let id = h
        .push_json(&wf(
            "waits-for-child",
            json!({}),
            json!([{"subworkflow": {"id": "sub", "params": {"subworkflow_id": {"value": "busy-child", "type": "STRING"}}}}]),
        ))
        .await;
    let resp = h
        .engine
        .start_workflow(&id, "latest", common_start(), None)
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: resp.workflow_instance_id,
        run_id: 1,
    };
    // The child is queued behind the first run.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let rows = h
            .engine
            .store()
            .list_queued_runs("busy-child", 10)
            .await
            .unwrap();
        if !rows.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child was never queued"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.engine
        .act_on_run(&key, baton_engine::RunAction::Stop, None, None)
        .await
        .unwrap();
    let mut events = h.engine.subscribe();
    assert_eq!(
        h.wait_terminal(&key, &mut events, Duration::from_secs(5))
            .await
            .as_str(),
        "STOPPED"
    );
    let child = h
        .engine
        .get_instance_run("busy-child", 2, None)
        .await
        .unwrap();
    assert_eq!(child.status.as_str(), "STOPPED");
    // The queue is consistent: the first run ends and a new start runs at once.
    let first_key = RunKey {
        workflow_id: "busy-child".into(),
        instance_id: first.workflow_instance_id,
        run_id: 1,
    };
    assert_eq!(
        h.wait_terminal(&first_key, &mut events, Duration::from_secs(5))
            .await
            .as_str(),
        "SUCCEEDED"
    );
    let (third, _) = h.run("busy-child", None).await;
    assert_eq!(third.status.as_str(), "SUCCEEDED");
}

/// Starts `id`, lets it run for `after`, shuts the engine down, starts a new one on the same
/// store and waits for the run to end there.
async fn interrupted(h: Harness, id: &str, after: Duration) -> (Harness, WorkflowInstance) {
    let resp = h
        .engine
        .start_workflow(id, "latest", common_start(), None)
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: id.to_string(),
        instance_id: resp.workflow_instance_id,
        run_id: 1,
    };
    tokio::time::sleep(after).await;
    h.engine.shutdown(Duration::from_secs(5)).await;
    let Harness { engine, dir } = h;
    drop(engine);
    let engine = Harness::engine_at(dir.path()).await;
    let h = Harness { engine, dir };
    let mut events = h.engine.subscribe();
    h.wait_terminal(&key, &mut events, Duration::from_secs(30))
        .await;
    let wi = h
        .engine
        .get_instance_run(id, key.instance_id, Some(1))
        .await
        .unwrap();
    (h, wi)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_while_loop_and_a_subworkflow_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    let h = Harness { engine, dir };
    let nap = json!({"step": {"id": "nap", "type": "Sleep", "params": {
        "sleep_seconds": {"value": 0.15, "type": "DOUBLE"}, "i": {"expression": "i + 1", "type": "LONG"}}}});
    let w = json!({"while": {"id": "loop", "condition": "i < 4",
        "params": {"loop_params": {"type": "MAP", "value": {"i": {"value": 0, "type": "LONG"}}}},
        "steps": [nap]}});
    h.push_json(&wf("slow-child", json!({"run_strategy": "parallel"}),
        json!([{"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": 0.4, "type": "DOUBLE"}}}}]))).await;
    let sub = json!({"subworkflow": {"id": "sub", "params": {"subworkflow_id": {"value": "slow-child", "type": "STRING"}}}});
    let id = h
        .push_json(&wf("resumed-flow", json!({}), json!([w, sub])))
        .await;
    let (h, wi) = interrupted(h, &id, Duration::from_millis(250)).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: wi.workflow_instance_id,
        run_id: 1,
    };
    let steps = h.engine.latest_attempts(&key).await.unwrap();
    let Some(Artifact::While(a)) = step(&steps, "loop")
        .artifacts
        .as_ref()
        .and_then(|a| a.get("maestro_while"))
        .cloned()
    else {
        panic!()
    };
    assert_eq!(a.last_iteration, 4);
    let values: Vec<i64> = a.loop_param_values.unwrap()["i"]
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(values, vec![0, 1, 2, 3, 4]);
    let its = iterations(&h, a.loop_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 4);
    for it in &its {
        let k = RunKey {
            workflow_id: it.workflow_id.clone(),
            instance_id: it.workflow_instance_id,
            run_id: 1,
        };
        assert_eq!(
            h.engine.get_step_attempts(&k).await.unwrap().len(),
            1,
            "iteration {}",
            it.workflow_instance_id
        );
    }
    // One child, run once.
    let children = h
        .engine
        .store()
        .list_instances("slow-child", None, 10)
        .await
        .unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(
        h.engine
            .get_step_attempts(&children[0].key)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(status(&steps, "sub"), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreach_resumes_after_a_restart_without_losing_or_repeating_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Harness::engine_at(dir.path()).await;
    let h = Harness { engine, dir };
    let body = json!({"step": {"id": "nap", "type": "Sleep", "params": {"sleep_seconds": {"value": 0.05, "type": "DOUBLE"}}}});
    let id = h
        .push_json(&wf(
            "resumed-loop",
            json!({}),
            json!([foreach("loop", 40, 5, None, body)]),
        ))
        .await;
    let (h, wi) = interrupted(h, &id, Duration::from_millis(200)).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let key = RunKey {
        workflow_id: id.clone(),
        instance_id: wi.workflow_instance_id,
        run_id: 1,
    };
    let a = foreach_artifact(step(&h.engine.latest_attempts(&key).await.unwrap(), "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(
        its.iter()
            .map(|w| w.workflow_instance_id)
            .collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    for it in &its {
        assert_eq!(it.status.as_str(), "SUCCEEDED");
        let k = RunKey {
            workflow_id: it.workflow_id.clone(),
            instance_id: it.workflow_instance_id,
            run_id: 1,
        };
        assert_eq!(h.engine.get_step_attempts(&k).await.unwrap().len(), 1);
    }
    assert_eq!(
        a.foreach_overview
            .unwrap()
            .stats
            .unwrap()
            .values()
            .sum::<i64>(),
        40
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_params_are_evaluated_again_in_each_iteration() {
    let h = Harness::new().await;
    let body = json!({"step": {"id": "job", "type": "NoOp"}});
    let req = json!({"properties": {"owner": "tester"}, "workflow": {"id": "fresh-ids",
        "params": {
            "u": {"expression": "UUID.randomUUID().toString()", "type": "STRING", "mode": "IMMUTABLE"},
            "k": {"expression": "'kept'", "type": "STRING"}},
        "steps": [foreach("loop", 3, 3, None, body)]}});
    let id = h.push_json(&req.to_string()).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let value = |w: &WorkflowInstance, n: &str| {
        w.params.as_ref().unwrap()[n]
            .evaluated_result
            .as_ref()
            .map(|v| v.to_json())
    };
    let a = foreach_artifact(step(&steps, "loop"));
    let its = iterations(&h, a.foreach_workflow_id.as_deref().unwrap()).await;
    let mut seen: Vec<_> = its.iter().map(|w| value(w, "u")).collect();
    seen.push(value(&wi, "u"));
    seen.sort_by_key(|v| v.as_ref().map(|x| x.to_string()));
    seen.dedup();
    assert_eq!(seen.len(), 4, "each iteration drew its own: {seen:?}");
    for w in &its {
        assert_eq!(value(w, "k"), Some(json!("kept")));
        assert_eq!(
            value(w, "loop_index"),
            Some(json!(w.workflow_instance_id - 1))
        );
    }
}
