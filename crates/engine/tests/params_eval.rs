//! Param evaluation (maestro-model.md §3.8–§3.10): order, cycles, unknown names, the name
//! resolution of workflow and step params, interpolation, coercion, the `params` extension,
//! conditions, the size limit, and errors that name the param.

mod support;

use baton_engine::params::{
    EvalScope, ParamError, Params, evaluate_condition, evaluate_step_params,
    evaluate_workflow_params, interpolate, merge_step_params, merge_workflow_params,
};
use baton_model::definition::StepType;
use baton_model::instance::{InitiatorType, RunPolicy, StepInstanceStatus};
use baton_model::params::{EvaluatedValue, ParamMap, ParamSource, Parameter};
use serde_json::{Value as Json, json};
use support::*;

/// Evaluates `m` as workflow params (no merge: exactly these params).
fn wf(m: Json) -> Result<Json, String> {
    evaluate_workflow_params(&defs(m), &workflow_scope(NOW))
        .map(|p| results(&p))
        .map_err(|e| e.to_string())
}

fn wf_params(m: Json) -> Params {
    evaluate_workflow_params(&defs(m), &workflow_scope(NOW)).unwrap()
}

/// Evaluates `m` as the params of step `job` with workflow params `w`.
fn step_in(scope: &EvalScope, m: Json) -> Result<Json, String> {
    evaluate_step_params(&defs(m), scope)
        .map(|p| results(&p))
        .map_err(|e| e.to_string())
}

fn evaluated(ty_value: Json) -> Params {
    // {"name": [type, value]} → evaluated literal params.
    let mut m = serde_json::Map::new();
    for (k, v) in ty_value.as_object().unwrap() {
        m.insert(k.clone(), json!({"type": v[0], "value": v[1]}));
    }
    wf_params(Json::Object(m))
}

#[test]
fn workflow_params_evaluate_in_reference_order() {
    let r = wf(json!({
        "a": {"expression": "b * 10 + c", "type": "LONG"},
        "b": {"expression": "c + 1", "type": "LONG"},
        "c": {"value": 1, "type": "LONG"}
    }))
    .unwrap();
    assert_eq!(r, json!({"a": 21, "b": 2, "c": 1}));
    let order: Vec<String> = wf_params(json!({
        "z": {"expression": "y", "type": "LONG"},
        "y": {"value": 1, "type": "LONG"}
    }))
    .keys()
    .cloned()
    .collect();
    assert_eq!(order, ["z", "y"], "results keep definition order");
}

#[test]
fn cycles_are_reported_with_their_chain() {
    let err = wf(json!({
        "a": {"expression": "b", "type": "LONG"},
        "b": {"expression": "c", "type": "LONG"},
        "c": {"expression": "a", "type": "LONG"}
    }))
    .unwrap_err();
    assert_eq!(
        err,
        "In workflow [wf], param [a] definition contains a cyclic reference chain: a -> b -> c -> a"
    );
    let err = wf(json!({"a": {"expression": "a + 1", "type": "LONG"}})).unwrap_err();
    assert!(
        err.contains("param [a] definition contains a cyclic reference chain"),
        "{err}"
    );
    let err = wf(json!({"s": {"value": "${s}", "type": "STRING"}})).unwrap_err();
    assert!(err.contains("contains a cyclic reference chain"), "{err}");
}

#[test]
fn unknown_names_are_errors() {
    let err = wf(json!({"a": {"expression": "nope + 1", "type": "LONG"}})).unwrap_err();
    assert_eq!(
        err,
        "param [a] referenced a non-existing param [nope] in workflow [wf]"
    );
    let err = wf(json!({"a": {"value": "x $nope", "type": "STRING"}})).unwrap_err();
    assert!(err.contains("non-existing param [nope]"), "{err}");
    // `name__param` in workflow params is a signal trigger param: a manual run has none.
    let err = wf(json!({"a": {"expression": "sig__p", "type": "STRING"}})).unwrap_err();
    assert!(
        err.contains("[sig__p]") && err.contains("is not a signal trigger"),
        "{err}"
    );
}

#[test]
fn workflow_params_see_only_what_they_name() {
    // `params.get('x')` in a workflow param sees x only when x is also read by name.
    let err = wf(json!({
        "x": {"value": 1, "type": "LONG"},
        "p": {"expression": "params.get('x')", "type": "LONG"}
    }))
    .unwrap_err();
    assert!(err.contains("Invalid return type [NULL]"), "{err}");
    let r = wf(json!({
        "x": {"value": 1, "type": "LONG"},
        "p": {"expression": "params.get('x') + x", "type": "LONG"}
    }))
    .unwrap();
    assert_eq!(r["p"], json!(2));
}

#[test]
fn literals_are_interpolated() {
    let r = wf(json!({
        "date": {"value": "20240701", "type": "STRING"},
        "n": {"value": 3, "type": "LONG"},
        "d": {"value": 1.5, "type": "DOUBLE"},
        "arr": {"value": [1, 2], "type": "LONG_ARRAY"},
        "m": {"value": {"k": "v"}, "type": "STRING_MAP"},
        "s": {"value": "run ${date} n=$n d=$d arr=$arr m=$m cost $$5 keep $${date} $$date", "type": "STRING"},
        "sa": {"value": ["$date", "x"], "type": "STRING_ARRAY"},
        "sm": {"value": {"key_$n": "v_${date}"}, "type": "STRING_MAP"},
        "plain": {"value": 5, "type": "LONG"}
    }))
    .unwrap();
    assert_eq!(
        r["s"],
        json!("run 20240701 n=3 d=1.5 arr=[1,2] m={\"k\":\"v\"} cost $5 keep ${date} $date")
    );
    assert_eq!(r["sa"], json!(["20240701", "x"]));
    assert_eq!(r["sm"], json!({"key_3": "v_20240701"}));
    assert_eq!(r["plain"], json!(5));
}

#[test]
fn literal_maps_evaluate_entry_by_entry() {
    let r = wf(json!({
        "base": {"value": 2, "type": "LONG"},
        "cfg": {"type": "MAP", "value": {
            "a": {"value": 1, "type": "LONG"},
            "b": {"expression": "base * 21", "type": "LONG"},
            "s": {"value": "x${base}", "type": "STRING"},
            "str": {"expression": "base", "type": "STRING"},
            "inner": {"type": "MAP", "value": {"c": {"expression": "base > 1", "type": "BOOLEAN"}}}
        }}
    }))
    .unwrap();
    assert_eq!(
        r["cfg"],
        json!({"a": 1, "b": 42, "s": "x2", "str": "2", "inner": {"c": true}})
    );
    let err = wf(json!({"cfg": {"type": "MAP", "value": {
        "b": {"expression": "missing", "type": "LONG"}}}}))
    .unwrap_err();
    assert!(
        err.contains("param [cfg.b]") && err.contains("[missing]"),
        "{err}"
    );
}

#[test]
fn results_are_coerced_into_the_declared_type() {
    let p = wf_params(json!({
        "s": {"expression": "1 + 1", "type": "STRING"},
        "l": {"expression": "'42'", "type": "LONG"},
        "d": {"expression": "3", "type": "DOUBLE"},
        "b": {"expression": "'TRUE'", "type": "BOOLEAN"},
        "sa": {"expression": "return new long[]{1, 2};", "type": "STRING_ARRAY"},
        "m": {"expression": "Map m = new HashMap(); m.put('k', 1); return m;", "type": "MAP"}
    }));
    assert_eq!(
        results(&p),
        json!({"s": "2", "l": 42, "d": 3.0, "b": true, "sa": ["1", "2"], "m": {"k": 1}})
    );
    assert!(
        p["s"].definition.meta["info"]
            .as_str()
            .unwrap()
            .contains("Long")
    );
    assert!(p["l"].definition.meta.contains_key("warn"));
    for (ty, expr, needle) in [
        ("LONG", "1.5", "Long compatible type but is [DOUBLE]"),
        ("LONG", "'x'", "For input string: \"x\""),
        ("BOOLEAN", "'yes'", "[yes]"),
        (
            "LONG_ARRAY",
            "return new String[]{'a'};",
            "long array compatible",
        ),
        // Maestro appends no `;` after a trailing `}`.
        ("LONG_ARRAY", "new long[]{1}", "Encountered \"<EOF>\""),
        (
            "STRING",
            "new DateTime(0)",
            "Invalid return type [DATETIME]",
        ),
        ("STRING", "", "Invalid return type [VOID]"),
    ] {
        let err = wf(json!({"p": {"expression": expr, "type": ty}})).unwrap_err();
        assert!(
            err.contains("param [p]") && err.contains(needle),
            "{ty} {expr}: {err}"
        );
    }
}

#[test]
fn sel_failures_name_the_param_and_the_expression() {
    let err = wf(json!({"p": {"expression": "throw 'boom'", "type": "LONG"}})).unwrap_err();
    assert_eq!(
        err,
        "Failed to evaluate param [p]: Expression throws an error [ERROR: boom] for expr=[throw 'boom']"
    );
    let err = wf(json!({"p": {"expression": "1 +", "type": "LONG"}})).unwrap_err();
    assert!(
        err.starts_with(
            "Failed to evaluate param [p]: Expression evaluation throws an exception for expr=[1 +]"
        ),
        "{err}"
    );
    let err = wf(json!({"p": {"expression": "1 / 0", "type": "LONG"}})).unwrap_err();
    assert!(err.contains("/ by zero"), "{err}");
    let long = format!("'{}'", "x".repeat(10_000));
    let err = wf(json!({"p": {"expression": long, "type": "STRING"}})).unwrap_err();
    assert!(err.contains("Expression length is over the limit"), "{err}");
    let err = wf(json!({"p": {"expression": "while (true) {}", "type": "LONG"}})).unwrap_err();
    assert!(err.contains("loop limit"), "{err}");
}

#[test]
fn the_size_limit_applies_to_the_whole_map() {
    let big = "x".repeat(400_000);
    let err = wf(json!({
        "a": {"value": big, "type": "STRING"}
    }))
    .unwrap_err();
    // Value and evaluated result both count.
    assert!(
        err.starts_with("Parameters' total size [800")
            && err.ends_with("is larger than system limit [750000]"),
        "{err}"
    );
    let ok = "x".repeat(300_000);
    assert!(wf(json!({"a": {"value": ok, "type": "STRING"}})).is_ok());
    // Built by SEL, not written out.
    let err = wf(json!({"a": {"type": "STRING",
        "expression": "String s = 'xxxxxxxxxx'; for (int i = 0; i < 17; i = i + 1) { s = s + s; } return s;"}}))
    .unwrap_err();
    assert!(err.contains("is larger than system limit"), "{err}");
}

fn job_scope(workflow: Params) -> EvalScope {
    let mut s = step_scope(NOW, "job", workflow);
    let up = evaluated(json!({"out": ["LONG", 7], "name": ["STRING", "up"]}));
    with_upstream(&mut s, "prev", up, Some(1_700_000_000_000));
    let mut ids = (*s.step_ids).clone();
    ids.extend(["job".to_string(), "later".to_string()]);
    s.step_ids = std::sync::Arc::new(ids);
    s
}

#[test]
fn step_name_resolution() {
    let w = evaluated(
        json!({"a": ["LONG", 100], "i": ["LONG", 1], "RUN_DATE": ["STRING", "20240701"]}),
    );
    let scope = job_scope(w);

    // stepId__param of an upstream step, in expressions and interpolation.
    let r = step_in(
        &scope,
        json!({
            "x": {"expression": "prev__out * 2", "type": "LONG"},
            "s": {"value": "${prev__name}-$prev__out", "type": "STRING"}
        }),
    )
    .unwrap();
    assert_eq!(r, json!({"x": 14, "s": "up-7"}));

    // The step's own params by stepId__param, evaluated on demand.
    let r = step_in(
        &scope,
        json!({
            "x": {"expression": "job__y + 1", "type": "LONG"},
            "y": {"value": 1, "type": "LONG"}
        }),
    )
    .unwrap();
    assert_eq!(r["x"], json!(2));
    let err = step_in(
        &scope,
        json!({"x": {"expression": "job__nope", "type": "LONG"}}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "param [x] referenced a non-existing param [job__nope] in step [job]"
    );

    // A step of this workflow that is not upstream (not evaluated in this run yet).
    let err = step_in(
        &scope,
        json!({"x": {"expression": "later__out", "type": "LONG"}}),
    )
    .unwrap_err();
    assert!(
        err.contains("Referenced param [out] in step [later] is not evaluated yet"),
        "{err}"
    );
    let err = step_in(
        &scope,
        json!({"x": {"expression": "prev__missing", "type": "LONG"}}),
    )
    .unwrap_err();
    assert!(
        err.contains("Cannot find the referenced param name [missing] in step [prev]"),
        "{err}"
    );
    // No such step: a signal param.
    let err = step_in(
        &scope,
        json!({"x": {"expression": "sig__p", "type": "LONG"}}),
    )
    .unwrap_err();
    assert!(err.contains("is not a signal trigger"), "{err}");

    // `params` binds every workflow param in a step.
    let r = step_in(
        &scope,
        json!({"x": {"expression": "params.get('RUN_DATE')", "type": "STRING"}}),
    )
    .unwrap();
    assert_eq!(r["x"], json!("20240701"));

    // An evaluated step param shadows the workflow param ...
    let r = step_in(
        &scope,
        json!({
            "a": {"value": 5, "type": "LONG"},
            "b": {"expression": "a + 1", "type": "LONG"}
        }),
    )
    .unwrap();
    assert_eq!(r["b"], json!(6));
    // ... but a not yet evaluated one does not.
    let r = step_in(
        &scope,
        json!({
            "b": {"expression": "a + 1", "type": "LONG"},
            "a": {"value": 5, "type": "LONG"}
        }),
    )
    .unwrap();
    assert_eq!(r["b"], json!(101));
    // Without a workflow param of that name, the step param is evaluated first.
    let r = step_in(
        &scope,
        json!({
            "b": {"expression": "c * 2", "type": "LONG"},
            "c": {"value": 3, "type": "LONG"}
        }),
    )
    .unwrap();
    assert_eq!(r, json!({"b": 6, "c": 3}));

    // The while-body consequence: `i = i + 1` reads the workflow `i`.
    let r = step_in(&scope, json!({"i": {"expression": "i+1", "type": "LONG"}})).unwrap();
    assert_eq!(r["i"], json!(2));

    // Cycles among step params, and unknown names.
    let err = step_in(
        &scope,
        json!({
            "b": {"expression": "c", "type": "LONG"},
            "c": {"expression": "b", "type": "LONG"}
        }),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "In step [job], param [b] definition contains a cyclic reference chain: b -> c -> b"
    );
    let err = step_in(&scope, json!({"x": {"expression": "zz", "type": "LONG"}})).unwrap_err();
    assert_eq!(
        err,
        "param [x]: Cannot find the referenced param [zz] in step [job] or upstream steps or the workflow"
    );
}

#[test]
fn overlapping_separators_pick_the_step_that_exists() {
    let mut scope = step_scope(NOW, "job", Params::new());
    with_upstream(
        &mut scope,
        "_a_",
        evaluated(json!({"p": ["LONG", 1]})),
        None,
    );
    let r = step_in(
        &scope,
        json!({"x": {"expression": "_a____p", "type": "LONG"}}),
    );
    // `_a____p`: step `_a` does not exist, `_a_` does; the param is `_p`.
    assert!(r.unwrap_err().contains("[_p]"));
    let r = step_in(
        &scope,
        json!({"x": {"expression": "_a___p", "type": "LONG"}}),
    )
    .unwrap();
    assert_eq!(r["x"], json!(1));
    with_upstream(
        &mut scope,
        "_a",
        evaluated(json!({"_p": ["LONG", 2]})),
        None,
    );
    let err = step_in(
        &scope,
        json!({"x": {"expression": "_a___p", "type": "LONG"}}),
    )
    .unwrap_err();
    assert!(err.contains("ambiguity"), "{err}");
}

#[test]
fn the_params_extension() {
    let mut scope = job_scope(Params::new());
    scope.instance.run_policy = Some(RunPolicy::StartFreshNewRun);
    scope.instance.initiator_timezone = Some("Asia/Tokyo".into());
    let r = step_in(&scope, json!({
        "sid": {"expression": "params.getFromStep('step_id')", "type": "STRING"},
        "siid": {"expression": "params.getFromStep('step_instance_id')", "type": "LONG"},
        "uuid": {"expression": "params.getFromStep('step_instance_uuid')", "type": "STRING"},
        "att": {"expression": "params.getFromStep('step_attempt_id')", "type": "LONG"},
        "info": {"expression": "params.getFromStep('step_type_info')", "type": "STRING"},
        "retries": {"expression": "params.getFromStep('MAESTRO_STEP_ERROR_RETRIES')", "type": "LONG"},
        "up": {"expression": "params.getFromStep('prev', 'out')", "type": "LONG"},
        "status": {"expression": "params.getFromStep('prev', 'MAESTRO_STEP_STATUS')", "type": "STRING"},
        "end": {"expression": "params.getFromStep('prev', 'MAESTRO_STEP_END_TIME')", "type": "LONG"},
        "wid": {"expression": "params.getFromInstance('workflow_id')", "type": "STRING"},
        "iid": {"expression": "params.getFromInstance('workflow_instance_id')", "type": "LONG"},
        "rid": {"expression": "params.getFromInstance('workflow_run_id')", "type": "LONG"},
        "itype": {"expression": "params.getFromInstance('INITIATOR_TYPE')", "type": "STRING"},
        "itz": {"expression": "params.getFromInstance('INITIATOR_TIMEZONE')", "type": "STRING"},
        "runner": {"expression": "params.getFromInstance('INITIATOR_RUNNER_NAME')", "type": "STRING"},
        "policy": {"expression": "params.getFromInstance('RUN_POLICY')", "type": "STRING"},
        "uid": {"expression": "params.nextUniqueId()", "type": "LONG"},
        "env": {"expression": "params.getExecutionEnvironment()", "type": "STRING"},
        "fe": {"expression": "params.getFromForeach('loop', 'job', 'x')", "type": "LONG_ARRAY"},
        "sub": {"expression": "params.getFromSubworkflow('sub', 'inner', 'out')", "type": "STRING"}
    }))
    .unwrap();
    assert_eq!(
        r,
        json!({
            "sid": "job", "siid": 3, "uuid": "9f0c3c52-7a0c-4a55-b7b2-4d6c1f0e2d11", "att": 2,
            "info": "NoOp", "retries": 1, "up": 7, "status": "SUCCEEDED",
            "end": 1_700_000_000_000_i64, "wid": "wf", "iid": 7, "rid": 1, "itype": "MANUAL",
            "itz": "Asia/Tokyo", "runner": "tester", "policy": "START_FRESH_NEW_RUN",
            "uid": 1000, "env": "test", "fe": [1, 2, 3], "sub": "from-child"
        })
    );

    for (expr, needle) in [
        (
            "params.getFromInstance('owner')",
            "can only be used to define a workflow parameter",
        ),
        (
            "params.getFromInstance('nope')",
            "Invalid field name [nope] for getFromInstance call",
        ),
        (
            "params.getFromStep('nope')",
            "Invalid field name [nope] for getFromStep call",
        ),
        (
            "params.getFromStep('ghost', 'x')",
            "Cannot find the referenced step id [ghost]",
        ),
        (
            "params.getFromSignal('s', 'p')",
            "Initiator [MANUAL] is not a signal trigger and cannot get a param [p] from the signal [s]",
        ),
        (
            "params.getFromSignal('p')",
            "Initiator [MANUAL] is not a signal trigger and cannot get a param [p] from it",
        ),
        (
            "params.getFromSignalDependency('0', 'p')",
            "Cannot find param [p] for signal dependency index [0]",
        ),
        ("params.getFromForeach('a', 'b', 'c')", "no foreach data"),
        (
            "params.getFromSubworkflow('a', 'b', 'c')",
            "Cannot find the param name: [c]",
        ),
        (
            "params.whatever('x')",
            "DO NOT support calling method: whatever",
        ),
    ] {
        let err =
            step_in(&scope, json!({"x": {"expression": expr, "type": "STRING"}})).unwrap_err();
        assert!(
            err.contains("param [x]") && err.contains(needle),
            "{expr}: {err}"
        );
    }

    // End time not set yet.
    let mut s2 = step_scope(NOW, "job", Params::new());
    with_upstream(&mut s2, "prev", Params::new(), None);
    let err = step_in(&s2, json!({"x": {"expression": "params.getFromStep('prev', 'MAESTRO_STEP_END_TIME')", "type": "LONG"}})).unwrap_err();
    assert!(err.contains("is not set yet"), "{err}");

    // Workflow context: no step facts; unset instance ids read as "".
    let mut w = workflow_scope(NOW);
    w.instance.initiator_type = Some(InitiatorType::Time);
    let r = evaluate_workflow_params(
        &defs(json!({
            "iid": {"expression": "params.getFromInstance('workflow_instance_id')", "type": "STRING"},
            "owner": {"expression": "params.getFromInstance('owner')", "type": "STRING"},
            "itype": {"expression": "params.getFromInstance('INITIATOR_TYPE')", "type": "STRING"}
        })),
        &w,
    )
    .unwrap();
    assert_eq!(
        results(&r),
        json!({"iid": "", "owner": "owner-a", "itype": "TIME"})
    );
    for (expr, needle) in [
        (
            "params.getFromStep('step_id')",
            "only available in step execution context",
        ),
        (
            "params.getFromInstance('INITIATOR_RUNNER_NAME')",
            "only for MANUAL run",
        ),
    ] {
        let err = evaluate_workflow_params(
            &defs(json!({"x": {"expression": expr, "type": "STRING"}})),
            &w,
        )
        .unwrap_err();
        assert!(err.to_string().contains(needle), "{expr}: {err}");
    }
    w.instance.initiator_type = None;
    let r = evaluate_workflow_params(
        &defs(json!({"t": {"expression": "params.getFromInstance('INITIATOR_TYPE')", "type": "STRING"}})),
        &w,
    )
    .unwrap();
    assert_eq!(results(&r)["t"], json!("VALIDATION"));
}

#[test]
fn conditions() {
    let w = evaluated(json!({"param0": ["LONG", 15]}));
    let mut scope = step_scope(NOW, "job.3", w);
    let own = evaluated(json!({"param2": ["LONG", 15]}));
    assert!(!evaluate_condition("param2 < 0", &own, &scope).unwrap());
    assert!(evaluate_condition("param2 >= 0", &own, &scope).unwrap());
    assert!(
        evaluate_condition("job.3__param2 == 15", &own, &scope).is_err(),
        "job.3 is not an identifier"
    );
    assert!(
        evaluate_condition("params.getFromStep('job.3', 'param2') == 15", &own, &scope).unwrap()
    );
    assert!(
        evaluate_condition("param0 == 15 && params.get('param0') == 15", &own, &scope).unwrap()
    );
    assert!(evaluate_condition("'TRUE'", &own, &scope).unwrap());
    let err = evaluate_condition("1 + 1", &own, &scope).unwrap_err();
    assert!(
        err.to_string()
            .contains("condition [1 + 1] of step [job.3]"),
        "{err}"
    );
    with_upstream(
        &mut scope,
        "job.2",
        evaluated(json!({"x": ["LONG", 1]})),
        None,
    );
    assert!(evaluate_condition("params.getFromStep('job.2', 'x') > 0", &own, &scope).unwrap());
    let err = evaluate_condition("nope", &own, &scope).unwrap_err();
    assert!(
        err.to_string()
            .contains("Cannot find the referenced param [nope]"),
        "{err}"
    );
}

#[test]
fn interpolation_against_evaluated_params() {
    let step = evaluated(json!({"t": ["LONG", 30], "name": ["STRING", "step"]}));
    let wf = evaluated(json!({"t": ["LONG", 60], "w": ["STRING", "wf"]}));
    assert_eq!(
        interpolate("${t}s $w $name $$x", &[&step, &wf]).unwrap(),
        "30s wf step $x"
    );
    assert_eq!(interpolate("${t}", &[&wf, &step]).unwrap(), "60");
    let err = interpolate("$missing", &[&step]).unwrap_err();
    assert_eq!(
        err,
        ParamError::Eval("Cannot interpolate [$missing] as param [missing] is not found".into())
    );
    let mut unevaluated = Params::new();
    unevaluated.insert(
        "u".into(),
        Parameter {
            definition: def(json!({"expression": "1", "type": "LONG"})),
            evaluated_result: None,
            evaluated_time: None,
        },
    );
    let err = interpolate("$u", &[&unevaluated]).unwrap_err();
    assert!(err.to_string().contains("is not evaluated yet"), "{err}");
    assert_eq!(interpolate("no refs", &[]).unwrap(), "no refs");
}

#[test]
fn step_params_need_a_step() {
    let err = evaluate_step_params(&ParamMap::new(), &workflow_scope(NOW)).unwrap_err();
    assert!(err.to_string().contains("EvalScope.step"), "{err}");
}

#[test]
fn the_four_default_step_params_match_their_expressions() {
    // Natively computed while unchanged; a copy with a changed text runs the SEL.
    let wf_params = {
        let m = merge_workflow_params(None, None, ParamSource::Launch).unwrap();
        evaluate_workflow_params(&m, &workflow_scope(NOW)).unwrap()
    };
    let scope = step_scope(NOW, "job", wf_params);
    let native = merge_step_params(StepType::NoOp, None, None).unwrap();
    let mut via_sel = native.clone();
    for d in via_sel.values_mut() {
        if let Some(e) = &mut d.expression {
            e.push(' ');
        }
    }
    let a = evaluate_step_params(&native, &scope).unwrap();
    let b = evaluate_step_params(&via_sel, &scope).unwrap();
    assert_eq!(results(&a), results(&b));
    assert_eq!(
        results(&a),
        json!({"workflow_instance_id": 7, "step_instance_uuid": "9f0c3c52-7a0c-4a55-b7b2-4d6c1f0e2d11",
               "step_attempt_id": 2, "step_id": "job"})
    );
    assert_eq!(a["step_id"].source(), Some(ParamSource::SystemDefault));
    assert_eq!(a["step_id"].evaluated_time, Some(NOW));
    // Without an instance id the SEL path answers (and fails) as Maestro would.
    let mut no_id = scope.clone();
    no_id.instance.workflow_instance_id = None;
    let err = evaluate_step_params(&native, &no_id).unwrap_err();
    assert!(
        err.to_string().contains("param [workflow_instance_id]"),
        "{err}"
    );
}

#[test]
fn upstream_params_must_be_evaluated() {
    let mut scope = step_scope(NOW, "job", Params::new());
    let mut up = Params::new();
    up.insert(
        "p".into(),
        Parameter {
            definition: def(json!({"expression": "1", "type": "LONG"})),
            evaluated_result: None,
            evaluated_time: None,
        },
    );
    with_upstream(&mut scope, "prev", up, None);
    let err = step_in(
        &scope,
        json!({"x": {"expression": "prev__p", "type": "LONG"}}),
    )
    .unwrap_err();
    assert!(
        err.contains("a step can only reference its upstream step's param"),
        "{err}"
    );
    let err = step_in(
        &scope,
        json!({"x": {"expression": "params.getFromStep('prev', 'p')", "type": "LONG"}}),
    )
    .unwrap_err();
    assert!(
        err.contains("a step can only reference its upstream step's param"),
        "{err}"
    );
    // Status of a failed upstream step.
    let mut up = (*scope.upstream).clone();
    if let Some(u) = up.get_mut("prev") {
        u.status = StepInstanceStatus::FatallyFailed;
    }
    scope.upstream = std::sync::Arc::new(up);
    let r = step_in(&scope, json!({"x": {"expression": "params.getFromStep('prev', 'MAESTRO_STEP_STATUS')", "type": "STRING"}})).unwrap();
    assert_eq!(r["x"], json!("FATALLY_FAILED"));
}

#[test]
fn evaluated_params_serialize_like_maestro() {
    let p =
        wf_params(json!({"sleep_seconds": {"value": 15, "type": "LONG", "source": "DEFINITION"}}));
    assert_eq!(
        serde_json::to_value(&p["sleep_seconds"]).unwrap(),
        json!({"value": 15, "type": "LONG", "evaluated_result": 15, "evaluated_time": NOW, "source": "DEFINITION"})
    );
    assert_eq!(
        p["sleep_seconds"].evaluated_result,
        Some(EvaluatedValue::Long(15))
    );
}
