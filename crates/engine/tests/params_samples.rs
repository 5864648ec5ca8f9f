//! The params of Maestro's sample workflows (`shared/compat/maestro-samples/`), merged and
//! evaluated as a run would: workflow params with a fixed clock, then each top-level step in
//! topological order with the steps before it as upstream, then its transition conditions.

mod support;

use std::sync::Arc;

use baton_engine::params::{
    EvalScope, MergeContext, Params, cleanup_params, evaluate_condition, evaluate_step_params,
    evaluate_workflow_params, interpolate, merge_params, merge_step_params, merge_workflow_params,
};
use baton_model::dag::Dag;
use baton_model::definition::{StepType, WorkflowCreateRequest};
use baton_model::instance::RunPolicy;
use baton_model::params::{ParamMap, ParamSource};
use indexmap::IndexMap;
use serde_json::{Value as Json, json};
use support::*;

fn load(name: &str) -> WorkflowCreateRequest {
    let path = compat(&format!("maestro-samples/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What evaluating a sample produced.
struct Run {
    workflow: Params,
    steps: IndexMap<String, Params>,
    /// (from, to) → condition result.
    edges: IndexMap<(String, String), bool>,
}

fn run(req: &WorkflowCreateRequest) -> Result<Run, String> {
    run_with(req, RunPolicy::StartFreshNewRun)
}

fn run_with(req: &WorkflowCreateRequest, policy: RunPolicy) -> Result<Run, String> {
    let wf = &req.workflow;
    let mut scope = workflow_scope(NOW);
    scope.instance.run_policy = Some(policy);
    scope.instance.workflow_id = wf.id.clone();
    scope.instance.owner = req
        .properties
        .as_ref()
        .and_then(|p| p.owner.as_ref())
        .map(|u| u.name.clone());
    scope.instance.first_time_trigger_timezone = wf
        .time_triggers
        .as_ref()
        .and_then(|t| t.first())
        .and_then(|t| t.timezone())
        .map(str::to_string);
    let merged = merge_workflow_params(wf.params.as_ref(), None, ParamSource::Launch)
        .map_err(|e| format!("workflow params: {e}"))?;
    let workflow =
        evaluate_workflow_params(&merged, &scope).map_err(|e| format!("workflow params: {e}"))?;

    let dag = Dag::from_steps(&wf.steps).map_err(|e| format!("dag: {e:?}"))?;
    let mut step_scope = step_scope(NOW, "", workflow.clone());
    step_scope.instance.run_policy = Some(policy);
    step_scope.instance.workflow_id = wf.id.clone();
    step_scope.step_ids = Arc::new(dag.ids().to_vec());
    let mut steps = IndexMap::new();
    let mut edges = IndexMap::new();
    for &node in dag.topological_order() {
        let step = wf
            .steps
            .iter()
            .find(|s| s.id == dag.id(node))
            .ok_or("step not found")?;
        let mut scope: EvalScope = step_scope.clone();
        if let Some(facts) = scope.step.as_mut() {
            facts.step_id = step.id.clone();
            facts.step_type_info = step.step_type().to_string();
        }
        let merged = merge_step_params(step.step_type(), step.params.as_ref(), None)
            .map_err(|e| format!("step {}: {e}", step.id))?;
        let params =
            evaluate_step_params(&merged, &scope).map_err(|e| format!("step {}: {e}", step.id))?;
        for edge in dag.successors(node) {
            let ok = evaluate_condition(&edge.condition, &params, &scope)
                .map_err(|e| format!("edge {} -> {}: {e}", step.id, dag.id(edge.node)))?;
            edges.insert((step.id.clone(), dag.id(edge.node).to_string()), ok);
        }
        with_upstream(&mut step_scope, &step.id, params.clone(), Some(NOW + 1000));
        steps.insert(step.id.clone(), params);
    }
    Ok(Run {
        workflow,
        steps,
        edges,
    })
}

#[test]
fn every_sample_evaluates() {
    let dir = compat("maestro-samples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 28, "{names:?}");
    let mut failures = Vec::new();
    for name in &names {
        if let Err(e) = run(&load(name)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    // The signal-trigger sample reads its trigger's signal params, which a manual run has not
    // (tests/signals.rs runs it as its trigger starts it).
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0].starts_with("sample-signal-trigger-wf.json: step job.1:")
            && failures[0].contains("is not a signal trigger"),
        "{failures:#?}"
    );
}

#[test]
fn sample_dag_test_3() {
    let req = load("sample-dag-test-3.json");
    let r = run(&req).unwrap();
    assert_eq!(results(&r.workflow)["foo"], json!("bar1"));
    let job2 = results(&r.steps["job.2"]);
    // `sleep_seconds + '1'` reads the step's own sleep_seconds (job3's 15 plus one).
    assert_eq!(job2["sleep_seconds"], json!(16));
    assert_eq!(job2["param1"], json!("161"));
    assert_eq!(job2["param2"], json!("15 + 1"));
    // TARGET_RUN_DATE/HOUR of 2024-07-01T12:34:56Z in UTC, to seconds.
    assert_eq!(job2["vtts_ts"], json!(1_719_835_200_i64));
    assert_eq!(results(&r.steps["job4"])["sleep_seconds"], json!(15));
    assert!(r.edges.values().all(|ok| *ok));
    // The alerting emails interpolate workflow params.
    let emails: Vec<String> = serde_json::from_value(
        serde_json::to_value(&req.properties.as_ref().unwrap().alerting).unwrap()["emails"].clone(),
    )
    .unwrap();
    let out: Vec<String> = emails
        .iter()
        .map(|e| interpolate(e, &[&r.workflow]).unwrap())
        .collect();
    assert_eq!(
        out,
        [
            "test+alertconfig_default1@netflix.com",
            "bar1+alertconfig_default2@netflix.com"
        ]
    );
}

#[test]
fn sample_conditional_wf() {
    let r = run(&load("sample-conditional-wf.json")).unwrap();
    let edge = |a: &str, b: &str| r.edges[&(a.to_string(), b.to_string())];
    assert!(!edge("job.3", "job.4"), "param2 < 0");
    assert!(edge("job.3", "job.6"), "param2 >= 0");
    assert!(
        edge("job.4", "job.5"),
        "params.getFromStep('job.3','param2') > 0"
    );
    assert!(edge("job.5", "job.6"));
    assert_eq!(results(&r.steps["job.7"])["param5"], json!(15));
    assert_eq!(results(&r.steps["job.3"])["param2"], json!(15));
}

#[test]
fn sample_dag_test_2_constant_and_immutable_uuids() {
    let req = load("sample-dag-test-2.json");
    let r = run(&req).unwrap();
    let first = results(&r.workflow);
    let uuid = |v: &Json| {
        v.as_str()
            .is_some_and(|s| s.len() == 36 && s.matches('-').count() == 4)
    };
    assert!(uuid(&first["param1"]) && uuid(&first["param2"]), "{first}");
    assert_ne!(first["param1"], first["param2"]);

    // A restart starts from the previous run's params: the CONSTANT param is frozen to its
    // value, the IMMUTABLE one keeps its expression and is evaluated again.
    let previous: ParamMap = r
        .workflow
        .iter()
        .map(|(k, p)| (k.clone(), p.to_definition()))
        .collect();
    let mut again = ParamMap::new();
    merge_params(
        &mut again,
        &previous,
        &MergeContext::workflow(ParamSource::System, false, true),
    )
    .unwrap();
    let again = cleanup_params(again).unwrap();
    let second = results(&evaluate_workflow_params(&again, &workflow_scope(NOW + 60_000)).unwrap());
    assert_eq!(second["param1"], first["param1"]);
    assert!(uuid(&second["param2"]));
    assert_ne!(second["param2"], first["param2"]);
    assert_eq!(
        second["RUN_TS"], first["RUN_TS"],
        "MUTABLE_ON_START is frozen too"
    );
}

#[test]
fn sample_while_and_foreach_loop_params() {
    let r = run(&load("sample-while-wf.json")).unwrap();
    assert_eq!(results(&r.workflow)["foo"], json!("September"));
    let w = results(&r.steps["while-job"]);
    assert_eq!(w["loop_params"], json!({"i": 20200101}));
    assert_eq!(w["loop_index"], json!(-1));
    assert_eq!(w["condition"], json!(false));

    // An iteration's body step: the loop params are the iteration's workflow params, and the
    // body's `i = i + 1` reads them.
    let req = load("sample-while-wf.json");
    let baton_model::definition::StepKind::While(body) = &req.workflow.steps[0].kind else {
        panic!("a while step")
    };
    let iteration = defs(json!({"i": {"value": 20200103, "type": "LONG", "source": "WHILE"}}));
    let merged = merge_workflow_params(None, Some(&iteration), ParamSource::While).unwrap();
    let wf = evaluate_workflow_params(&merged, &workflow_scope(NOW)).unwrap();
    let job1 = &body.steps[0];
    let merged = merge_step_params(StepType::NoOp, job1.params.as_ref(), None).unwrap();
    let params = evaluate_step_params(&merged, &step_scope(NOW, &job1.id, wf)).unwrap();
    assert_eq!(results(&params)["i"], json!(20200104));

    let r = run(&load("sample-foreach-wf.json")).unwrap();
    assert_eq!(
        results(&r.steps["foreach-job"])["loop_params"],
        json!({"i": [20200101, 20200102, 20200103, 20200104, 20200105, 20200106, 20200107,
                     20200108, 20200109]})
    );
}

#[test]
fn sample_dag_test_5_reads_the_run_policy() {
    let req = load("sample-dag-test-5.json");
    for (policy, mode) in [
        (RunPolicy::StartFreshNewRun, "run"),
        (RunPolicy::RestartFromIncomplete, "resume"),
    ] {
        let r = run_with(&req, policy).unwrap();
        assert_eq!(
            results(&r.workflow)["WF_RESTART_MODE"],
            json!(mode),
            "{policy}"
        );
    }
    let err = run_with(&req, RunPolicy::RestartFromSpecific)
        .err()
        .unwrap();
    assert!(
        err.contains("[WF_RESTART_MODE]")
            && err.contains("[ERROR: Unsupported restart mode: RESTART_FROM_SPECIFIC]"),
        "{err}"
    );
}
