//! Timings of the params hot path: the default workflow params (every instance start) and the
//! default step params (every step). Ignored by default and asserts nothing about time; run
//! `cargo test --release -p baton-engine --test params_bench -- --ignored --nocapture`.

mod support;

use std::time::Instant;

use baton_engine::params::{
    evaluate_step_params, evaluate_workflow_params, merge_step_params, merge_workflow_params,
};
use baton_model::definition::StepType;
use baton_model::params::ParamSource;
use support::*;

fn time<T>(label: &str, n: u32, mut f: impl FnMut() -> T) {
    // Warm up (parse once, fill the cache), then measure.
    for _ in 0..n / 10 + 1 {
        std::hint::black_box(f());
    }
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    let per = start.elapsed() / n;
    println!("{label:<48} {per:>10.2?} per call ({n} calls)");
}

#[test]
#[ignore]
fn params_hot_path_timings() {
    let scope = workflow_scope(NOW);
    let merged = merge_workflow_params(None, None, ParamSource::Launch).unwrap();
    time("merge default workflow params", 20_000, || {
        merge_workflow_params(None, None, ParamSource::Launch).unwrap()
    });
    let exprs: Vec<String> = merged
        .values()
        .filter_map(|d| d.expression.as_deref().map(baton_sel::sanitize))
        .collect();
    time(
        "parse the default workflow expressions (uncached)",
        2_000,
        || {
            exprs
                .iter()
                .map(|e| baton_sel::compile(e, &baton_sel::Limits::default()).unwrap())
                .collect::<Vec<_>>()
        },
    );
    time("evaluate default workflow params", 2_000, || {
        evaluate_workflow_params(&merged, &scope).unwrap()
    });
    let wf = evaluate_workflow_params(&merged, &scope).unwrap();
    let step_scope = step_scope(NOW, "job.1", wf);
    let step = merge_step_params(StepType::NoOp, None, None).unwrap();
    time("merge default step params (NoOp)", 100_000, || {
        merge_step_params(StepType::NoOp, None, None).unwrap()
    });
    time("evaluate default step params (NoOp)", 100_000, || {
        evaluate_step_params(&step, &step_scope).unwrap()
    });
    // The same four params through SEL (Maestro's expressions are not Baton's, so the native
    // path does not apply to them).
    let text =
        std::fs::read_to_string(compat("maestro-defaultparams/default-step-params.yaml")).unwrap();
    let theirs: baton_model::params::ParamMap = serde_yaml_ng::from_str(&text).unwrap();
    let mut sel_step = baton_model::params::ParamMap::new();
    baton_engine::params::merge_params(
        &mut sel_step,
        &theirs,
        &baton_engine::params::MergeContext::step(ParamSource::SystemDefault),
    )
    .unwrap();
    let sel_step = baton_engine::params::cleanup_params(sel_step).unwrap();
    time("evaluate the 4 step params through SEL", 100_000, || {
        evaluate_step_params(&sel_step, &step_scope).unwrap()
    });
    let sleep = defs(
        serde_json::json!({"sleep_seconds": {"value": 15, "type": "LONG"},
        "msg": {"expression": "'done at ' + RUN_DATE + ' by ' + step_id", "type": "STRING"}}),
    );
    let step = merge_step_params(StepType::Sleep, Some(&sleep), None).unwrap();
    time("merge+evaluate a step with 2 own params", 50_000, || {
        let m = merge_step_params(StepType::Sleep, Some(&sleep), None).unwrap();
        evaluate_step_params(&m, &step_scope).unwrap()
    });
    std::hint::black_box(step);
}
