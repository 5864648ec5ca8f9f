//! Output params (maestro-model.md §10.1): what a step reports is merged into its evaluated
//! params — names must exist, only MUTABLE params change, maps merge, values are coerced.

mod support;

use baton_engine::params::{
    Params, evaluate_condition, evaluate_step_params, merge_output_params, merge_step_params,
};
use baton_model::definition::StepType;
use baton_model::params::{ParamSource, Parameter};
use serde_json::{Value as Json, json};
use support::*;

fn step_params(m: Json) -> Params {
    let merged = merge_step_params(StepType::NoOp, Some(&defs(m)), None).unwrap();
    evaluate_step_params(&merged, &step_scope(NOW, "job", Params::new())).unwrap()
}

fn outputs(m: Json) -> Params {
    serde_json::from_value(m).unwrap()
}

fn merge(base: &Params, out: Json) -> Result<Params, String> {
    merge_output_params(base, &outputs(out), NOW + 1).map_err(|e| e.to_string())
}

#[test]
fn mutable_params_take_reported_values() {
    let base = step_params(json!({"foo": {"value": "default", "type": "STRING"},
                                  "n": {"value": 1, "type": "LONG"}}));
    let out = merge(
        &base,
        json!({"foo": {"value": "bar", "type": "STRING", "evaluated_result": "bar",
                        "evaluated_time": 1_625_871_404_000_i64},
               "n": {"type": "STRING", "evaluated_result": "42", "evaluated_time": 5}}),
    )
    .unwrap();
    assert_eq!(results(&out)["foo"], json!("bar"));
    assert_eq!(out["foo"].evaluated_time, Some(1_625_871_404_000));
    assert_eq!(out["foo"].source(), Some(ParamSource::OutputParameter));
    // Reported as a string, stored as the declared LONG.
    assert_eq!(results(&out)["n"], json!(42));
    assert_eq!(out["n"].param_type(), baton_model::params::ParamType::Long);
    // Untouched params stay as they were; order is kept.
    assert_eq!(out["step_id"], base["step_id"]);
    assert_eq!(
        out.keys().collect::<Vec<_>>(),
        base.keys().collect::<Vec<_>>()
    );
    let out = merge(&base, json!({"foo": {"type": "STRING", "value": "v"}})).unwrap();
    assert_eq!(out["foo"].evaluated_time, Some(NOW + 1), "no time: now");
    assert_eq!(results(&out)["foo"], json!("v"));
}

#[test]
fn rejections_name_the_param() {
    let base = step_params(
        json!({"fixed": {"value": "a", "type": "STRING", "mode": "MUTABLE_ON_START"},
                                  "n": {"value": 1, "type": "LONG"}}),
    );
    assert_eq!(
        merge(
            &base,
            json!({"ghost": {"type": "STRING", "evaluated_result": "x", "evaluated_time": 1}})
        )
        .unwrap_err(),
        "Invalid output parameter [ghost], not defined in params"
    );
    assert_eq!(
        merge(
            &base,
            json!({"fixed": {"type": "STRING", "evaluated_result": "b", "evaluated_time": 1}})
        )
        .unwrap_err(),
        "Cannot modify param with mode [MUTABLE_ON_START] for parameter [fixed]"
    );
    assert_eq!(
        merge(
            &base,
            json!({"step_id": {"type": "STRING", "evaluated_result": "other", "evaluated_time": 1}})
        )
        .unwrap_err(),
        "Cannot modify param with mode [CONSTANT] for parameter [step_id]"
    );
    let err = merge(
        &base,
        json!({"n": {"type": "STRING", "evaluated_result": "many", "evaluated_time": 1}}),
    )
    .unwrap_err();
    assert!(
        err.starts_with("Invalid output parameter [n] of type [LONG]"),
        "{err}"
    );
    let err = merge(&base, json!({"n": {"type": "LONG"}})).unwrap_err();
    assert!(
        err.contains("neither an evaluated_result nor a value"),
        "{err}"
    );
    // Repeating the current value is no change.
    let out = merge(
        &base,
        json!({"step_id": {"type": "STRING", "evaluated_result": "job", "evaluated_time": 1}}),
    )
    .unwrap();
    assert_eq!(results(&out)["step_id"], json!("job"));
}

#[test]
fn maps_merge_entry_by_entry() {
    let base = step_params(json!({
        "cfg": {"type": "MAP", "value": {"a": {"value": 1, "type": "LONG"}, "b": {"value": "x", "type": "STRING"}}},
        "env": {"type": "STRING_MAP", "value": {"A": "1"}}
    }));
    let out = merge(
        &base,
        json!({
            "cfg": {"type": "MAP", "value": {"b": {"value": "y", "type": "STRING"}, "c": {"value": true, "type": "BOOLEAN"}},
                    "evaluated_result": {"b": "y", "c": true}, "evaluated_time": 9},
            "env": {"type": "STRING_MAP", "value": {"B": "2", "A": "0"},
                    "evaluated_result": {"B": "2", "A": "0"}, "evaluated_time": 9}
        }),
    )
    .unwrap();
    assert_eq!(results(&out)["cfg"], json!({"a": 1, "b": "y", "c": true}));
    assert_eq!(results(&out)["env"], json!({"A": "0", "B": "2"}));
    assert_eq!(out["cfg"].evaluated_time, Some(9));
    // Without a literal value, a map output replaces the map.
    let out = merge(
        &base,
        json!({"env": {"type": "STRING_MAP", "evaluated_result": {"Z": "9"}, "evaluated_time": 9}}),
    )
    .unwrap();
    assert_eq!(results(&out)["env"], json!({"Z": "9"}));

    // Entries of a map inherit its mode.
    let strict = step_params(json!({"cfg": {"type": "MAP", "mode": "MUTABLE_ON_START",
        "value": {"a": {"value": 1, "type": "LONG"}}}}));
    let err = merge(
        &strict,
        json!({"cfg": {"type": "MAP", "value": {"a": {"value": 2, "type": "LONG"}},
                       "evaluated_result": {"a": 2}, "evaluated_time": 9}}),
    )
    .unwrap_err();
    assert!(
        err.contains("[cfg.a]") && err.contains("MUTABLE_ON_START"),
        "{err}"
    );
}

/// `sample-kubernetes-output-wf`: the job's command carries its output protocol with `$$`
/// escapes, reports `foo=bar`, and the edge `foo != 'default'` then holds.
#[test]
fn sample_kubernetes_output_wf() {
    let text = std::fs::read_to_string(compat("maestro-samples/sample-kubernetes-output-wf.json"))
        .unwrap();
    let sample: Json = serde_json::from_str(&text).unwrap();
    let job1 = &sample["workflow"]["steps"][1]["step"];
    let merged = merge_step_params(
        StepType::Kubernetes,
        Some(&defs(job1["params"].clone())),
        None,
    )
    .unwrap();
    let scope = step_scope(NOW, "job1", Params::new());
    let params = evaluate_step_params(&merged, &scope).unwrap();
    let r = results(&params);
    assert_eq!(r["kubernetes"]["image"], json!("busybox"));
    assert_eq!(r["kubernetes"]["app_name"], json!("maestro-job"));
    assert_eq!(r["kubernetes"]["env"], json!({}));
    assert_eq!(
        r["kubernetes"]["args"][1],
        json!("echo hello world && echo $MAESTRO_OUTPUT_START$1$MAESTRO_OUTPUT_END")
    );
    let condition = job1["transition"]["successors"]["end"].as_str().unwrap();
    assert!(!evaluate_condition(condition, &params, &scope).unwrap());

    // The output the job prints (the last arg), as the runtime would parse it.
    let printed: Json = serde_json::from_str(r["kubernetes"]["args"][3].as_str().unwrap()).unwrap();
    let out: Params = serde_json::from_value(printed["params"].clone()).unwrap();
    let params = merge_output_params(&params, &out, NOW).unwrap();
    assert_eq!(results(&params)["foo"], json!("bar"));
    assert!(evaluate_condition(condition, &params, &scope).unwrap());
    let p: &Parameter = &params["foo"];
    assert_eq!(p.evaluated_time, Some(1_625_871_404_000));
}
