//! The params merge (maestro-model.md §3.5, §3.6): modes × sources, internal modes, deep
//! merges, casts, tags, cleanup, merge order, and the messages of every rejection.

mod support;

use baton_engine::params::{
    MergeContext, cleanup_params, merge_params, merge_step_params, merge_step_params_from,
    merge_workflow_params,
};
use baton_model::definition::StepType;
use baton_model::params::{
    META_INTERNAL_MODE, ParamDefinition, ParamMap, ParamMode, ParamSource, ParamType, ParamValue,
};
use serde_json::json;
use support::*;

fn literal(v: &ParamDefinition) -> &ParamValue {
    v.value.as_ref().expect("a literal")
}

fn entries(v: &ParamDefinition) -> &ParamMap {
    match literal(v) {
        ParamValue::Map(m) => m,
        other => panic!("not a MAP literal: {other:?}"),
    }
}

/// A base holding `p` with `mode`, as a definition would leave it.
fn base_with_mode(mode: ParamMode) -> ParamMap {
    let mut base = ParamMap::new();
    let layer = defs(json!({"p": {"value": "a", "type": "STRING", "mode": mode.as_str()}}));
    merge_params(
        &mut base,
        &layer,
        &MergeContext::workflow(ParamSource::Definition, false, false),
    )
    .unwrap();
    base
}

#[test]
fn modes_times_sources() {
    use ParamMode::*;
    let modes = [
        Mutable,
        MutableOnStartRestart,
        MutableOnStart,
        Immutable,
        Constant,
    ];
    let change = defs(json!({"p": {"value": "b", "type": "STRING"}}));
    let from_parent = defs(json!({"p": {"value": "b", "type": "STRING", "source": "SUBWORKFLOW"}}));
    // (context, layer, which modes may change)
    let cases: Vec<(&str, MergeContext, &ParamMap, [bool; 5])> = vec![
        (
            "DEFINITION",
            MergeContext::workflow(ParamSource::Definition, false, false),
            &change,
            [true, true, true, false, false],
        ),
        (
            "LAUNCH",
            MergeContext::workflow(ParamSource::Launch, false, false),
            &change,
            [true, true, true, false, false],
        ),
        (
            "TIME_TRIGGER",
            MergeContext::workflow(ParamSource::TimeTrigger, false, false),
            &change,
            [true, true, true, false, false],
        ),
        (
            "RESTART",
            MergeContext::workflow(ParamSource::Restart, false, true),
            &change,
            [true, true, false, false, false],
        ),
        (
            "FOREACH on restart",
            MergeContext::workflow(ParamSource::Foreach, true, true),
            &change,
            [true, true, false, false, false],
        ),
        (
            "OUTPUT_PARAMETER",
            MergeContext::step(ParamSource::OutputParameter),
            &change,
            [true, false, false, false, false],
        ),
        (
            "SUBWORKFLOW without a source",
            MergeContext::workflow(ParamSource::Subworkflow, true, false),
            &change,
            [true, true, true, false, false],
        ),
        (
            "SUBWORKFLOW passing its own param",
            MergeContext::workflow(ParamSource::Subworkflow, true, false),
            &from_parent,
            [true; 5],
        ),
        (
            "SYSTEM",
            MergeContext::workflow(ParamSource::System, false, false),
            &change,
            [true; 5],
        ),
    ];
    for (what, ctx, layer, allowed) in cases {
        for (mode, ok) in modes.iter().zip(allowed) {
            let mut base = base_with_mode(*mode);
            let r = merge_params(&mut base, layer, &ctx);
            assert_eq!(r.is_ok(), ok, "{what} over {mode}: {r:?}");
            if let Err(e) = r {
                assert_eq!(
                    e.to_string(),
                    format!("Cannot modify param with mode [{mode}] for parameter [p]"),
                    "{what}"
                );
            } else {
                assert_eq!(
                    literal(&base["p"]),
                    &ParamValue::String("b".into()),
                    "{what}"
                );
                assert_eq!(base["p"].mode, Some(*mode), "{what} keeps the mode");
            }
        }
    }
}

#[test]
fn unchanged_params_are_not_checked() {
    let mut base = base_with_mode(ParamMode::Constant);
    let same = defs(json!({"p": {"value": "a", "type": "STRING"}}));
    merge_params(
        &mut base,
        &same,
        &MergeContext::workflow(ParamSource::Launch, false, false),
    )
    .unwrap();
    assert_eq!(base["p"].source(), Some(ParamSource::Launch));
}

#[test]
fn modes_may_not_become_less_strict() {
    let d = defs(json!({"x": {"value": 1, "type": "LONG", "mode": "MUTABLE_ON_START"}}));
    let run = defs(json!({"x": {"value": 2, "type": "LONG", "mode": "MUTABLE"}}));
    let err = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot modify param mode to be less strict for parameter [x] from [MUTABLE_ON_START] to [MUTABLE]"
    );
    // A parent keeps the stricter mode instead of failing.
    let merged = merge_workflow_params(Some(&d), Some(&run), ParamSource::Subworkflow).unwrap();
    assert_eq!(merged["x"].mode, Some(ParamMode::MutableOnStart));
    assert_eq!(literal(&merged["x"]), &ParamValue::Long(2));
    assert_eq!(merged["x"].source(), Some(ParamSource::Subworkflow));
    // Stricter is fine.
    let run = defs(json!({"x": {"value": 2, "type": "LONG", "mode": "MUTABLE_ON_START"}}));
    let merged = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap();
    assert_eq!(merged["x"].source(), Some(ParamSource::Launch));
}

#[test]
fn sample_dag_test_2_constant_and_immutable_params() {
    let text = std::fs::read_to_string(compat("maestro-samples/sample-dag-test-2.json")).unwrap();
    let sample: serde_json::Value = serde_json::from_str(&text).unwrap();
    let params = defs(sample["workflow"]["params"].clone());
    let merged = merge_workflow_params(Some(&params), None, ParamSource::Launch).unwrap();
    assert_eq!(merged["param1"].mode, Some(ParamMode::Constant));
    assert_eq!(merged["param2"].mode, Some(ParamMode::Immutable));
    assert_eq!(merged["param1"].source(), Some(ParamSource::Definition));
    for (name, mode) in [("param1", "CONSTANT"), ("param2", "IMMUTABLE")] {
        let run = defs(json!({name: {"value": "mine", "type": "STRING"}}));
        let err =
            merge_workflow_params(Some(&params), Some(&run), ParamSource::Launch).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Cannot modify param with mode [{mode}] for parameter [{name}]")
        );
    }
}

#[test]
fn internal_modes() {
    // OPTIONAL: dropped unless given, kept (as MUTABLE) when given.
    let merged = merge_workflow_params(None, None, ParamSource::Launch).unwrap();
    assert!(!merged.contains_key("job_template_version"));
    let d = defs(json!({"job_template_version": {"value": "v2", "type": "STRING"}}));
    let merged = merge_workflow_params(Some(&d), None, ParamSource::Launch).unwrap();
    assert_eq!(
        literal(&merged["job_template_version"]),
        &ParamValue::String("v2".into())
    );
    assert_eq!(
        merged["job_template_version"].mode,
        Some(ParamMode::Mutable)
    );
    // No param keeps `internal_mode` after cleanup, at any depth.
    fn no_internal_mode(m: &ParamMap) {
        for (n, d) in m {
            assert!(!d.meta.contains_key(META_INTERNAL_MODE), "{n}");
            if let Some(ParamValue::Map(inner)) = &d.value {
                no_internal_mode(inner);
            }
        }
    }
    no_internal_mode(&merged);
    let k8s = defs(json!({"kubernetes": {"type": "MAP", "value": {
        "image": {"value": "img", "type": "STRING"}}}}));
    no_internal_mode(&merge_step_params(StepType::Kubernetes, Some(&k8s), None).unwrap());

    // REQUIRED: missing is an error naming the param and its type.
    let err = merge_step_params(StepType::Subworkflow, None, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[subworkflow_id] is a required parameter (type=[STRING])"
    );
    let err = merge_step_params(StepType::Shell, None, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[shell.script] is a required parameter (type=[STRING])"
    );

    // PROVIDED: a default the user may override.
    let d = defs(
        json!({"subworkflow_id": {"value": "child", "type": "STRING"},
                        "subworkflow_version": {"value": "3", "type": "STRING"}}),
    );
    let merged = merge_step_params(StepType::Subworkflow, Some(&d), None).unwrap();
    assert_eq!(
        literal(&merged["subworkflow_version"]),
        &ParamValue::String("3".into())
    );
    assert_eq!(
        merged["subworkflow_id"].mode,
        Some(ParamMode::MutableOnStart)
    );

    // RESERVED: users may not touch it, a parent may.
    let run = defs(json!({"owner": {"value": "someone", "type": "STRING"}}));
    let err = merge_workflow_params(None, Some(&run), ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot modify param with mode [CONSTANT] for parameter [owner]"
    );
    let run = defs(json!({"owner": {"value": "parent-owner", "type": "STRING",
                                    "source": "SUBWORKFLOW"}}));
    let merged = merge_workflow_params(None, Some(&run), ParamSource::Subworkflow).unwrap();
    assert_eq!(
        literal(&merged["owner"]),
        &ParamValue::String("parent-owner".into())
    );
    assert_eq!(merged["owner"].expression, None);
    assert_eq!(merged["owner"].mode, Some(ParamMode::Constant));
}

#[test]
fn literal_maps_merge_entry_by_entry() {
    let d = defs(json!({"kubernetes": {"type": "MAP", "value": {
        "image": {"value": "python:3", "type": "STRING"},
        "cpu": {"value": "2", "type": "STRING"},
        "env": {"value": {"A": "1"}, "type": "STRING_MAP"},
        "extra": {"value": 5, "type": "LONG"}
    }}}));
    let merged = merge_step_params(StepType::Kubernetes, Some(&d), None).unwrap();
    let k = &merged["kubernetes"];
    assert_eq!(k.source(), Some(ParamSource::Definition));
    let e = entries(k);
    let names: Vec<&str> = e.keys().map(String::as_str).collect();
    // Defaults keep their place, OPTIONAL entries nobody set are gone, new entries append.
    assert_eq!(names, ["app_name", "cpu", "image", "env", "extra"]);
    assert_eq!(
        literal(&e["app_name"]),
        &ParamValue::String("maestro-job".into())
    );
    assert_eq!(e["app_name"].source(), Some(ParamSource::SystemDefault));
    assert_eq!(e["image"].source(), Some(ParamSource::Definition));
    assert_eq!(
        literal(&e["env"]),
        &ParamValue::StringMap([("A".to_string(), "1".to_string())].into_iter().collect())
    );
    assert!(
        k.tags
            .as_ref()
            .is_some_and(|t| t.tags().iter().any(|t| t.name == "kubernetes"))
    );

    let missing = defs(json!({"kubernetes": {"type": "MAP", "value": {
        "cpu": {"value": "2", "type": "STRING"}}}}));
    let err = merge_step_params(StepType::Kubernetes, Some(&missing), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[kubernetes.image] is a required parameter (type=[STRING])"
    );
}

#[test]
fn map_entries_inherit_the_stricter_mode_of_their_map() {
    let d = defs(
        json!({"cfg": {"type": "MAP", "mode": "MUTABLE_ON_START", "value": {
        "a": {"value": 1, "type": "LONG"}}}}),
    );
    let mut base = ParamMap::new();
    merge_params(
        &mut base,
        &d,
        &MergeContext::workflow(ParamSource::Definition, false, false),
    )
    .unwrap();
    let change =
        defs(json!({"cfg": {"type": "MAP", "value": {"a": {"value": 2, "type": "LONG"}}}}));
    let err = merge_params(
        &mut base.clone(),
        &change,
        &MergeContext::workflow(ParamSource::Restart, false, true),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot modify param with mode [MUTABLE_ON_START] for parameter [cfg.a]"
    );
    merge_params(
        &mut base,
        &change,
        &MergeContext::workflow(ParamSource::Launch, false, false),
    )
    .unwrap();
    assert_eq!(literal(&entries(&base["cfg"])["a"]), &ParamValue::Long(2));
}

#[test]
fn string_maps_merge_key_by_key() {
    let d = defs(json!({"http": {"type": "MAP", "value": {
        "url": {"value": "http://localhost", "type": "STRING"},
        "headers": {"value": {"Accept": "text/plain", "X-Trace": "1"}, "type": "STRING_MAP"}
    }}}));
    let merged = merge_step_params(StepType::Http, Some(&d), None).unwrap();
    let ParamValue::StringMap(h) = literal(&entries(&merged["http"])["headers"]) else {
        panic!("headers is a STRING_MAP")
    };
    let got: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        got,
        [
            ("Content-Type", "application/json"),
            ("Accept", "text/plain"),
            ("X-Trace", "1")
        ]
    );
}

#[test]
fn literals_are_cast_into_the_base_type() {
    let d = defs(
        json!({"RUN_TS": {"value": "1700000000000", "type": "STRING"},
                        "TARGET_RUN_HOUR": {"value": 5, "type": "LONG"}}),
    );
    let merged = merge_workflow_params(Some(&d), None, ParamSource::Launch).unwrap();
    assert_eq!(merged["RUN_TS"].param_type, ParamType::Long);
    assert_eq!(
        literal(&merged["RUN_TS"]),
        &ParamValue::Long(1_700_000_000_000)
    );
    assert_eq!(merged["RUN_TS"].expression, None);
    assert_eq!(
        literal(&merged["TARGET_RUN_HOUR"]),
        &ParamValue::String("5".into())
    );

    let bad = defs(json!({"RUN_TS": {"value": "yesterday", "type": "STRING"}}));
    let err = merge_workflow_params(Some(&bad), None, ParamSource::Launch).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "ParameterDefinition type mismatch name [RUN_TS] from [STRING] != to [LONG]"
        ),
        "{err}"
    );
    // An expression takes the base type.
    let e = defs(json!({"RUN_TS": {"expression": "'1' + '2'", "type": "STRING"}}));
    let merged = merge_workflow_params(Some(&e), None, ParamSource::Launch).unwrap();
    assert_eq!(merged["RUN_TS"].param_type, ParamType::Long);

    let map_over_string = defs(json!({"RUN_DATE": {"type": "MAP", "value": {}}}));
    let err = merge_workflow_params(Some(&map_over_string), None, ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ParameterDefinition type mismatch, [RUN_DATE] is not a [MAP] but [STRING]"
    );
    let map_expr = defs(json!({"m": {"type": "MAP", "expression": "new HashMap()"}}));
    let map_lit = defs(json!({"m": {"type": "MAP", "value": {}}}));
    let err =
        merge_workflow_params(Some(&map_expr), Some(&map_lit), ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "MAP param [m] definition exp=[new HashMap()] is not a literal"
    );
    let sm_over_long = defs(json!({"RUN_TS": {"type": "STRING_MAP", "value": {}}}));
    let err = merge_workflow_params(Some(&sm_over_long), None, ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ParameterDefinition type mismatch, [RUN_TS] is not a [STRING_MAP] but [LONG]"
    );
}

#[test]
fn tags_union_and_validators() {
    let d = defs(json!({"x": {"value": 1, "type": "LONG", "tags": ["a"], "validator": "@Min(0)"}}));
    let run = defs(json!({"x": {"value": 2, "type": "LONG", "tags": ["b", "a"]}}));
    let merged = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap();
    let names: Vec<&str> = merged["x"]
        .tags
        .as_ref()
        .unwrap()
        .tags()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(merged["x"].validator.as_deref(), Some("@Min(0)"));
    let run = defs(json!({"x": {"value": 2, "type": "LONG", "validator": "@Max(9)"}}));
    let merged = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap();
    assert_eq!(merged["x"].validator.as_deref(), Some("@Max(9)"));
}

#[test]
fn sources() {
    let d = defs(json!({"x": {"value": 1, "type": "LONG"}}));
    let run = defs(json!({"y": {"value": 1, "type": "LONG"}}));
    let merged = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap();
    assert_eq!(merged["RUN_TS"].source(), Some(ParamSource::SystemDefault));
    assert_eq!(merged["x"].source(), Some(ParamSource::Definition));
    assert_eq!(merged["y"].source(), Some(ParamSource::Launch));
    let names: Vec<&str> = merged.keys().map(String::as_str).collect();
    assert_eq!(names.first(), Some(&"DSL_DEFAULT_TZ"));
    assert_eq!(&names[names.len() - 2..], ["x", "y"]);

    // Users may not say where a changed value came from.
    let run = defs(json!({"x": {"value": 2, "type": "LONG", "source": "SYSTEM"}}));
    let err = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap_err();
    assert_eq!(err.to_string(), "Cannot modify source for parameter [x]");
    // Other meta keys do not survive a merge.
    let run = defs(json!({"x": {"value": 2, "type": "LONG", "color": "red"}}));
    let merged = merge_workflow_params(Some(&d), Some(&run), ParamSource::Launch).unwrap();
    assert!(!merged["x"].meta.contains_key("color"));
}

#[test]
fn step_merge_order() {
    let d = defs(json!({"a": {"value": 1, "type": "LONG"},
                        "s": {"value": "x", "type": "STRING", "mode": "MUTABLE_ON_START"}}));
    let run = defs(json!({"b": {"value": 3, "type": "LONG"}, "a": {"value": 2, "type": "LONG"}}));
    let merged = merge_step_params(StepType::NoOp, Some(&d), Some(&run)).unwrap();
    let names: Vec<&str> = merged.keys().map(String::as_str).collect();
    // Run params the definition lacks come before the definition's params.
    assert_eq!(
        names,
        [
            "workflow_instance_id",
            "step_instance_uuid",
            "step_attempt_id",
            "step_id",
            "b",
            "a",
            "s"
        ]
    );
    assert_eq!(literal(&merged["a"]), &ParamValue::Long(2));
    assert_eq!(merged["a"].source(), Some(ParamSource::Launch));
    assert_eq!(merged["b"].source(), Some(ParamSource::Launch));
    assert_eq!(merged["s"].source(), Some(ParamSource::Definition));

    let merged =
        merge_step_params_from(StepType::NoOp, Some(&d), Some(&run), ParamSource::Foreach).unwrap();
    assert_eq!(merged["a"].source(), Some(ParamSource::Foreach));

    // Loop steps get their loop params.
    let lp = defs(json!({"loop_params": {"type": "MAP", "value": {
        "i": {"type": "LONG_ARRAY", "value": [1, 2]}}}}));
    let merged = merge_step_params(StepType::Foreach, Some(&lp), None).unwrap();
    assert_eq!(merged["loop_params"].mode, Some(ParamMode::MutableOnStart));
    assert_eq!(literal(&merged["loop_index"]), &ParamValue::Long(-1));
    let merged = merge_step_params(StepType::While, None, None).unwrap();
    assert_eq!(literal(&merged["condition"]), &ParamValue::Boolean(false));
}

#[test]
fn cleanup_alone() {
    let m = defs(json!({
        "gone": {"type": "STRING", "internal_mode": "OPTIONAL"},
        "empty": {"type": "MAP", "value": {}, "internal_mode": "OPTIONAL"},
        "nested": {"type": "MAP", "internal_mode": "OPTIONAL", "value": {
            "inner": {"type": "MAP", "internal_mode": "OPTIONAL", "value": {
                "x": {"type": "STRING", "internal_mode": "OPTIONAL"}}}}},
        "kept": {"type": "STRING", "value": "v", "internal_mode": "PROVIDED"}
    }));
    let out = cleanup_params(m).unwrap();
    assert_eq!(out.keys().collect::<Vec<_>>(), ["kept"]);
    let m = defs(json!({"need": {"type": "LONG"}}));
    assert_eq!(
        cleanup_params(m).unwrap_err().to_string(),
        "[need] is a required parameter (type=[LONG])"
    );
}
