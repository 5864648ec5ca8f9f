//! Maestro's foreach, while and subworkflow samples, run to the outcome Maestro's semantics give
//! (maestro-model.md §6.4–§6.7, §12.1): iteration counts, the params iterations see, statuses,
//! artifacts and rollups.

mod common;

use baton_engine::Engine;
use baton_model::instance::{Artifact, StepInstance, WorkflowInstance};
use baton_store::RunKey;
use common::{Harness, compat};

fn sample(file: &str) -> String {
    std::fs::read_to_string(compat(&format!("maestro-samples/{file}"))).expect("sample")
}

fn artifact<'a>(si: &'a StepInstance, key: &str) -> &'a Artifact {
    si.artifacts
        .as_ref()
        .and_then(|a| a.get(key))
        .unwrap_or_else(|| panic!("{} has no {key} artifact: {:?}", si.step_id, si.artifacts))
}

fn step<'a>(steps: &'a [StepInstance], id: &str) -> &'a StepInstance {
    steps
        .iter()
        .find(|s| s.step_id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Every run of an inline workflow, latest first per instance.
async fn iterations(engine: &Engine, workflow_id: &str) -> Vec<WorkflowInstance> {
    let mut out = Vec::new();
    for row in engine
        .store()
        .list_instances(workflow_id, None, 1_000_000)
        .await
        .unwrap()
    {
        out.push(
            engine
                .get_instance_run(workflow_id, row.key.instance_id, Some(row.key.run_id))
                .await
                .unwrap(),
        );
    }
    out.sort_by_key(|w| w.workflow_instance_id);
    out
}

fn param(wi: &WorkflowInstance, name: &str) -> serde_json::Value {
    wi.params
        .as_ref()
        .and_then(|p| p.get(name))
        .and_then(|p| p.evaluated_result.as_ref())
        .map(|v| v.to_json())
        .unwrap_or(serde_json::Value::Null)
}

fn rollup_count(wi: &WorkflowInstance, status: &str) -> i64 {
    wi.runtime_overview
        .as_ref()
        .and_then(|o| o.rollup_overview.as_ref())
        .and_then(|r| r.overview.as_ref())
        .and_then(|o| {
            o.iter()
                .find(|(s, _)| s.as_str() == status)
                .map(|(_, c)| c.cnt)
        })
        .unwrap_or(0)
}

fn leaf_total(wi: &WorkflowInstance) -> i64 {
    wi.runtime_overview
        .as_ref()
        .and_then(|o| o.rollup_overview.as_ref())
        .map(|r| r.total_leaf_count)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_foreach_wf_runs_nine_iterations_of_its_dag() {
    let h = Harness::new().await;
    let id = h.push_json(&sample("sample-foreach-wf.json")).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let fe = step(&steps, "foreach-job");
    assert_eq!(fe.runtime_state.status.as_str(), "SUCCEEDED");
    let Artifact::Foreach(a) = artifact(fe, "maestro_foreach") else {
        panic!("not a foreach artifact")
    };
    // `Util.dateIntsBetween` excludes its end: 20200101..=20200109.
    assert_eq!(a.total_loop_count, 9);
    assert_eq!(a.next_loop_index, 9);
    let inline = a.foreach_workflow_id.clone().unwrap();
    assert!(inline.starts_with("maestro_foreach_"), "{inline}");
    let overview = a.foreach_overview.as_ref().unwrap();
    assert_eq!(overview.stats.as_ref().unwrap().values().sum::<i64>(), 9);
    assert_eq!(overview.checkpoint, 10);
    // Iterations: instance ids 1..=9, loop_index 0..=8, i = 20200101..=20200109, and every
    // workflow param of the parent.
    let its = iterations(&h.engine, &inline).await;
    assert_eq!(its.len(), 9);
    for (k, it) in its.iter().enumerate() {
        assert_eq!(it.workflow_instance_id, k as i64 + 1);
        assert_eq!(it.status.as_str(), "SUCCEEDED");
        assert_eq!(param(it, "loop_index"), serde_json::json!(k));
        assert_eq!(param(it, "i"), serde_json::json!(20200101 + k as i64));
        assert_eq!(param(it, "foo"), serde_json::json!("September"));
        assert_eq!(param(it, "RUN_TS"), param(&wi, "RUN_TS"));
        assert_eq!(it.initiator.initiator_type().as_str(), "FOREACH");
        assert_eq!(it.correlation_id, wi.correlation_id);
        let parent = it.initiator.parent().unwrap();
        assert_eq!(
            (parent.workflow_id.as_str(), parent.step_id.as_str()),
            (id.as_str(), "foreach-job")
        );
        // The body's six-step DAG ran in each iteration.
        let key = RunKey {
            workflow_id: inline.clone(),
            instance_id: it.workflow_instance_id,
            run_id: 1,
        };
        let body = h.engine.latest_attempts(&key).await.unwrap();
        assert_eq!(body.len(), 6);
        assert!(
            body.iter()
                .all(|s| s.runtime_state.status.as_str() == "SUCCEEDED")
        );
    }
    // The parent's rollup counts the 54 leaves of the tree.
    assert_eq!(leaf_total(&wi), 54);
    assert_eq!(rollup_count(&wi, "SUCCEEDED"), 54);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_large_foreach_wf_runs_the_cross_product_in_order() {
    // The body's Sleep shortened from 1 s to 0: 366 × 3 = 1,098 iterations.
    let text = sample("sample-large-foreach-wf.json").replace("\"1 * 1;\"", "\"0;\"");
    let h = Harness::new().await;
    let id = h.push_json(&text).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let Artifact::Foreach(a) = artifact(step(&steps, "job1"), "maestro_foreach") else {
        panic!()
    };
    assert_eq!(a.total_loop_count, 366 * 3);
    let its = iterations(&h.engine, a.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 1098);
    // The first loop param (i) varies fastest; j comes from the step param param1.
    for (k, expect_i, expect_j) in [
        (0usize, 20200101i64, "a"),
        (1, 20200102, "a"),
        (365, 20201231, "a"),
        (366, 20200101, "b"),
        (1097, 20201231, "c"),
    ] {
        let it = &its[k];
        assert_eq!(param(it, "loop_index"), serde_json::json!(k));
        assert_eq!(param(it, "i"), serde_json::json!(expect_i));
        assert_eq!(param(it, "j"), serde_json::json!(expect_j));
        assert_eq!(param(it, "param1"), serde_json::json!(["a", "b", "c"]));
        assert!(it.params.as_ref().unwrap().get("loop_params").is_none());
    }
    // job2's param2 = i + j, evaluated in each iteration.
    let key = RunKey {
        workflow_id: its[366].workflow_id.clone(),
        instance_id: 367,
        run_id: 1,
    };
    let body = h.engine.latest_attempts(&key).await.unwrap();
    let p2 = step(&body, "job2")
        .params
        .as_ref()
        .and_then(|p| p.get("param2"))
        .and_then(|p| p.evaluated_result.as_ref())
        .map(|v| v.to_json());
    assert_eq!(p2, Some(serde_json::json!("20200101b")));
    assert_eq!(rollup_count(&wi, "SUCCEEDED"), 2 * 1098);
}

/// The samples' Sleep steps, shortened so the tests take seconds.
fn quick(text: &str) -> String {
    text.replace(
        r#""value": 15, "type":  "LONG""#,
        r#""value": 0, "type":  "LONG""#,
    )
    .replace("\"job3__sleep_seconds + 1;\"", "\"job3__sleep_seconds;\"")
    .replace("\"x * 5;\"", "\"0;\"")
    .replace("\"i * 10;\"", "\"0;\"")
}

async fn push_quick(h: &Harness, file: &str) -> String {
    h.push_json(&quick(&sample(file))).await
}

/// The leaf rollup of a finished run must match its actual leaf attempts over the tree.
fn assert_all_succeeded(wi: &WorkflowInstance, leaves: i64) {
    assert_eq!(wi.status.as_str(), "SUCCEEDED", "{}", wi.identity());
    assert_eq!(leaf_total(wi), leaves, "{:?}", wi.runtime_overview);
    assert_eq!(rollup_count(wi, "SUCCEEDED"), leaves);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_nested_foreach_wf_derives_inner_loops_from_outer_values() {
    let h = Harness::new().await;
    let id = push_quick(&h, "sample-nested-foreach-wf.json").await;
    let (wi, steps) = h.run(&id, None).await;
    let Artifact::Foreach(outer) = artifact(step(&steps, "foreach-job"), "maestro_foreach") else {
        panic!()
    };
    // i ∈ [1, 2, 3] × j ∈ [a, b].
    assert_eq!(outer.total_loop_count, 6);
    let its = iterations(&h.engine, outer.foreach_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 6);
    let mut inner_total = 0;
    for it in &its {
        let i = param(it, "i").as_i64().unwrap();
        let key = RunKey {
            workflow_id: it.workflow_id.clone(),
            instance_id: it.workflow_instance_id,
            run_id: 1,
        };
        let body = h.engine.latest_attempts(&key).await.unwrap();
        let inner = step(&body, "job1");
        let Artifact::Foreach(a) = artifact(inner, "maestro_foreach") else {
            panic!()
        };
        // x = Util.intsBetween(1, i, 1): i - 1 iterations (the end is excluded).
        assert_eq!(a.total_loop_count, i - 1, "outer iteration {i}");
        // Each outer iteration has its own inner inline workflow.
        let inner_its = iterations(&h.engine, a.foreach_workflow_id.as_deref().unwrap()).await;
        assert_eq!(inner_its.len() as i64, i - 1);
        for (n, inner_it) in inner_its.iter().enumerate() {
            assert_eq!(param(inner_it, "x"), serde_json::json!(n + 1));
            // Outer loop values and the inner step's own params come down.
            assert_eq!(param(inner_it, "i"), serde_json::json!(i));
            assert_eq!(param(inner_it, "param2"), serde_json::json!(i + 2));
            assert_eq!(inner_it.initiator.depth(), 2);
        }
        inner_total += i - 1;
        assert_eq!(
            step(&body, "job.2").runtime_state.status.as_str(),
            "SUCCEEDED"
        );
    }
    assert_eq!(inner_total, 6);
    // Leaves: 6 inner job.1 + 6 outer job.2.
    assert_all_succeeded(&wi, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_while_wf_iterates_while_the_condition_holds() {
    let h = Harness::new().await;
    let id = h.push_json(&sample("sample-while-wf.json")).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_all_succeeded(&wi, 5);
    let Artifact::While(a) = artifact(step(&steps, "while-job"), "maestro_while") else {
        panic!()
    };
    assert_eq!((a.first_iteration, a.last_iteration), (1, 5));
    assert_eq!(a.last_status.map(|s| s.as_str()), Some("SUCCEEDED"));
    let values: Vec<i64> = a.loop_param_values.as_ref().unwrap()["i"]
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(
        values,
        vec![20200101, 20200102, 20200103, 20200104, 20200105, 20200106]
    );
    let its = iterations(&h.engine, a.loop_workflow_id.as_deref().unwrap()).await;
    assert_eq!(its.len(), 5);
    for (k, it) in its.iter().enumerate() {
        assert_eq!(it.initiator.initiator_type().as_str(), "WHILE");
        assert_eq!(param(it, "loop_index"), serde_json::json!(k));
        assert_eq!(param(it, "i"), serde_json::json!(20200101 + k as i64));
        assert_eq!(param(it, "condition"), serde_json::json!(true));
        assert_eq!(param(it, "foo"), serde_json::json!("September"));
    }
    // Iterations ran one after the other.
    for w in its.windows(2) {
        assert!(w[1].start_time.unwrap() >= w[0].end_time.unwrap());
    }
}

/// Start and end of every leaf attempt of a run and its descendants (children through the
/// `parent` columns of the store).
async fn leaf_intervals(engine: &Engine, root: &RunKey) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(run) = todo.pop() {
        for si in engine.get_step_attempts(&run).await.unwrap() {
            if si.definition.step_type().is_leaf()
                && let (Some(s), Some(e)) = (si.runtime_state.start_time, si.runtime_state.end_time)
            {
                out.push((s, e));
            }
            for a in si.artifacts.iter().flat_map(|m| m.values()) {
                match a {
                    Artifact::Subworkflow(s) => todo.push(RunKey {
                        workflow_id: s.subworkflow_id.clone().unwrap(),
                        instance_id: s.subworkflow_instance_id,
                        run_id: s.subworkflow_run_id,
                    }),
                    Artifact::Foreach(f) => {
                        for n in 1..=f.next_loop_index {
                            todo.push(RunKey {
                                workflow_id: f.foreach_workflow_id.clone().unwrap(),
                                instance_id: n,
                                run_id: f.foreach_run_id,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The most intervals that overlap at any moment (an end at the same millisecond as a start
/// frees its slot first: permits are released when a step ends).
pub fn peak(intervals: &[(i64, i64)]) -> usize {
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
async fn sample_subworkflow_wf_runs_sync_async_and_explicit_children() {
    let h = Harness::new().await;
    // Child sleeps: job.2 one second, the rest none.
    h.push_json(&sample("sample-dag-test-3.json").replace(
        r#""value": 15, "type":  "LONG""#,
        r#""value": 0, "type":  "LONG""#,
    ))
    .await;
    let id = h.push_json(&sample("sample-subworkflow-wf.json")).await;
    let (wi, steps) = h.run(&id, None).await;
    assert_eq!(wi.status.as_str(), "SUCCEEDED");
    let mut children = Vec::new();
    for sid in ["job1", "job2", "job3", "job4", "job5", "job6"] {
        let si = step(&steps, sid);
        assert_eq!(si.runtime_state.status.as_str(), "SUCCEEDED", "{sid}");
        let Artifact::Subworkflow(a) = artifact(si, "maestro_subworkflow") else {
            panic!()
        };
        assert_eq!(a.subworkflow_id.as_deref(), Some("sample-dag-test-3"));
        assert_eq!(a.subworkflow_version_id, 1);
        children.push((sid, a.clone()));
    }
    let instance_ids: std::collections::BTreeSet<i64> = children
        .iter()
        .map(|(_, a)| a.subworkflow_instance_id)
        .collect();
    assert_eq!(instance_ids.len(), 6, "six distinct children");
    for (sid, a) in &children {
        let key = RunKey {
            workflow_id: "sample-dag-test-3".into(),
            instance_id: a.subworkflow_instance_id,
            run_id: a.subworkflow_run_id,
        };
        let mut events = h.engine.subscribe();
        h.wait_terminal(&key, &mut events, std::time::Duration::from_secs(30))
            .await;
        let child = h
            .engine
            .get_instance_run("sample-dag-test-3", key.instance_id, Some(key.run_id))
            .await
            .unwrap();
        assert_eq!(child.status.as_str(), "SUCCEEDED", "{sid}");
        assert_eq!(child.initiator.initiator_type().as_str(), "SUBWORKFLOW");
        let parent = child.initiator.parent().unwrap();
        assert_eq!(
            (parent.workflow_id.as_str(), parent.step_id.as_str()),
            (id.as_str(), *sid)
        );
        // `sync` as the step wrote it (job1 leaves it out).
        let expected_sync = match *sid {
            "job1" => None,
            "job3" => Some(false),
            _ => Some(true),
        };
        assert_eq!(parent.sync, expected_sync, "{sid}");
        // The tree shares the root's correlation id and instance_step_concurrency.
        assert_eq!(child.correlation_id, wi.correlation_id);
        assert_eq!(child.runtime_workflow.instance_step_concurrency, Some(3));
        assert_eq!(param(&child, "param1"), serde_json::json!({"foo": "bar"}));
        let run_params = child.run_params.clone().unwrap_or_default();
        if *sid == "job5" {
            // explicit_params: only the step's own params go down.
            assert_eq!(run_params.keys().collect::<Vec<_>>(), vec!["param1"]);
        } else {
            assert!(
                run_params.contains_key("RUN_TS"),
                "{sid}: {:?}",
                run_params.keys()
            );
            assert_eq!(param(&child, "RUN_TS"), param(&wi, "RUN_TS"), "{sid}");
        }
        assert!(!run_params.contains_key("subworkflow_id"));
    }
    // The async child (job3) is not followed: its leaves are not in the parent's rollup.
    assert_all_succeeded(&wi, 5 * 4);
    // instance_step_concurrency 3: never more than three leaf steps of the tree at once.
    let root = RunKey {
        workflow_id: id.clone(),
        instance_id: wi.workflow_instance_id,
        run_id: 1,
    };
    let leaves = leaf_intervals(&h.engine, &root).await;
    assert_eq!(leaves.len(), 24);
    let p = peak(&leaves);
    assert!((2..=3).contains(&p), "peak {p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_nested_subworkflow_wf_runs_three_levels() {
    let h = Harness::new().await;
    push_quick(&h, "sample-dag-test-3.json").await;
    push_quick(&h, "sample-subworkflow-wf.json").await;
    let id = push_quick(&h, "sample-nested-subworkflow-wf.json").await;
    let (wi, steps) = h.run(&id, None).await;
    assert_all_succeeded(&wi, 20);
    let Artifact::Subworkflow(a) = artifact(step(&steps, "sub-step1"), "maestro_subworkflow")
    else {
        panic!()
    };
    let mid = h
        .engine
        .get_instance_run("sample-subworkflow-wf", a.subworkflow_instance_id, None)
        .await
        .unwrap();
    assert_eq!(mid.status.as_str(), "SUCCEEDED");
    assert_eq!(mid.initiator.depth(), 1);
    // The grandchildren are at depth 2 with both ancestors.
    let leaf_child = h
        .engine
        .get_instance_run("sample-dag-test-3", 1, None)
        .await
        .unwrap();
    let up = leaf_child.initiator.upstream().unwrap();
    assert_eq!(up.ancestors.len(), 2);
    assert_eq!(up.root().unwrap().workflow_id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_nested_foreach_subworkflow_and_subworkflow_foreach_and_mixed() {
    let h = Harness::new().await;
    push_quick(&h, "sample-dag-test-3.json").await;
    push_quick(&h, "sample-foreach-wf.json").await;
    let fs = push_quick(&h, "sample-nested-foreach-subworkflow-wf.json").await;
    let sf = push_quick(&h, "sample-nested-subworkflow-foreach-wf.json").await;
    let mixed = push_quick(&h, "sample-mixed-wf.json").await;

    // A foreach whose body starts a subworkflow: 6 iterations × (NoOp + 4 child leaves).
    let (wi, _) = h.run(&fs, None).await;
    assert_all_succeeded(&wi, 6 * 5);
    // Subworkflows whose child holds a foreach: 3 × 54 leaves; the children go through
    // sample-foreach-wf's SEQUENTIAL run strategy, one at a time.
    let (wi, steps) = h.run(&sf, None).await;
    assert_all_succeeded(&wi, 3 * 54);
    let mut spans = Vec::new();
    for sid in ["sub-step1", "sub-step2", "sub-step3"] {
        let Artifact::Subworkflow(a) = artifact(step(&steps, sid), "maestro_subworkflow") else {
            panic!()
        };
        let child = h
            .engine
            .get_instance_run("sample-foreach-wf", a.subworkflow_instance_id, None)
            .await
            .unwrap();
        spans.push((child.start_time.unwrap(), child.end_time.unwrap()));
    }
    assert_eq!(peak(&spans), 1, "SEQUENTIAL children overlapped: {spans:?}");
    // All of it under one root.
    let (wi, _) = h.run(&mixed, None).await;
    assert_all_succeeded(&wi, 4 + 6 * 5 + 3 * 54);
}
