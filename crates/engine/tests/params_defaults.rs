//! Baton's built-in default params against Maestro's default param files
//! (`shared/compat/maestro-defaultparams/`): the same names, types, modes, internal modes,
//! validators and tags, and the same results for fixed clocks and zones, DST changes included.

mod support;

use baton_engine::params::{
    EvalScope, MergeContext, Params, cleanup_params, default_dry_run_params, default_step_params,
    default_workflow_params, evaluate_step_params, evaluate_workflow_params, merge_params,
    merge_step_params, merge_workflow_params,
};
use baton_model::definition::StepType;
use baton_model::instance::InitiatorType;
use baton_model::params::{ParamDefinition, ParamMap, ParamSource, ParamValue};
use serde_json::{Value as Json, json};
use support::*;

fn maestro(file: &str) -> ParamMap {
    let path = compat(&format!("maestro-defaultparams/{file}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Same names in the same order, with the same type, mode, internal mode, validator, tags and
/// kind (literal or expression); literal values equal unless `skip_value` names them.
fn assert_same_shape(baton: &ParamMap, maestro: &ParamMap, path: &str, skip_value: &[&str]) {
    let bn: Vec<&String> = baton.keys().collect();
    let mn: Vec<&String> = maestro.keys().collect();
    assert_eq!(bn, mn, "names at {path}");
    for (name, m) in maestro {
        let b = &baton[name];
        let at = format!("{path}{name}");
        assert_eq!(b.param_type, m.param_type, "type of {at}");
        assert_eq!(b.mode, m.mode, "mode of {at}");
        assert_eq!(
            b.internal_mode(),
            m.internal_mode(),
            "internal mode of {at}"
        );
        assert_eq!(b.validator, m.validator, "validator of {at}");
        assert_eq!(b.tags, m.tags, "tags of {at}");
        assert_eq!(
            b.expression.is_some(),
            m.expression.is_some(),
            "kind of {at}"
        );
        assert_eq!(b.value.is_some(), m.value.is_some(), "kind of {at}");
        match (&b.value, &m.value) {
            (Some(ParamValue::Map(bm)), Some(ParamValue::Map(mm))) => {
                assert_same_shape(bm, mm, &format!("{at}."), skip_value)
            }
            (bv, mv) if !skip_value.contains(&name.as_str()) => {
                assert_eq!(bv, mv, "value of {at}")
            }
            _ => {}
        }
    }
}

fn without(map: ParamMap, names: &ParamMap) -> ParamMap {
    map.into_iter()
        .filter(|(n, _)| !names.contains_key(n))
        .collect()
}

#[test]
fn default_files_have_the_same_shape() {
    assert_same_shape(
        default_workflow_params(),
        &maestro("default-workflow-params.yaml"),
        "",
        &[],
    );
    let step = maestro("default-step-params.yaml");
    assert_same_shape(&default_step_params(StepType::NoOp), &step, "", &[]);
    for (t, file) in [
        (StepType::Foreach, "default-foreach-step-params.yaml"),
        (StepType::While, "default-while-step-params.yaml"),
        (
            StepType::Subworkflow,
            "default-subworkflow-step-params.yaml",
        ),
        (StepType::Kubernetes, "default-kubernetes-step-params.yaml"),
        (StepType::Notebook, "default-notebook-step-params.yaml"),
        (StepType::Http, "default-http-step-params.yaml"),
    ] {
        let own = without(default_step_params(t), &step);
        assert_same_shape(&own, &maestro(file), &format!("{t}: "), &["state_expr"]);
    }
    assert_same_shape(
        default_dry_run_params(),
        &maestro("default-dry-run-params.yaml"),
        "",
        &[],
    );
}

/// Maestro's workflow defaults merged as the engine merges Baton's.
fn maestro_workflow_params(run_params: Option<&ParamMap>) -> Result<ParamMap, String> {
    let mut all = ParamMap::new();
    merge_params(
        &mut all,
        &maestro("default-workflow-params.yaml"),
        &MergeContext::workflow(ParamSource::SystemDefault, false, false),
    )
    .map_err(|e| e.to_string())?;
    if let Some(run) = run_params {
        merge_params(
            &mut all,
            run,
            &MergeContext::workflow(ParamSource::Launch, false, false),
        )
        .map_err(|e| e.to_string())?;
    }
    cleanup_params(all).map_err(|e| e.to_string())
}

fn evaluate(merged: &ParamMap, scope: &EvalScope) -> Result<Json, String> {
    evaluate_workflow_params(merged, scope)
        .map(|p| results(&p))
        .map_err(|e| e.to_string())
}

const CLOCKS: &[(i64, &str)] = &[
    (NOW, "summer noon"),
    (1_730_622_600_000, "LA fall-back, first 01:30 (PDT)"),
    (1_730_626_200_000, "LA fall-back, second 01:30 (PST)"),
    (1_710_066_600_000, "LA spring-forward, 03:30 PDT"),
    (1_710_064_799_000, "LA spring-forward, 01:59:59 PST"),
    (1_735_687_800_000, "new year in Tokyo, not in UTC"),
    (1_709_218_800_000, "leap day"),
    (1_711_848_600_000, "London spring-forward"),
    (1_728_143_100_000, "Lord Howe half-hour DST"),
    (4_102_444_800_000, "year 2100"),
    (0, "epoch"),
];

const ZONES: &[(Option<&str>, Option<&str>)] = &[
    (None, None),
    (Some("America/Los_Angeles"), None),
    (None, Some("Asia/Tokyo")),
    (Some("Asia/Tokyo"), Some("America/Los_Angeles")),
    (None, Some("Europe/London")),
    (Some("Australia/Lord_Howe"), None),
    (None, Some("Asia/Kolkata")),
    (Some("US/Pacific"), Some("")),
];

#[test]
fn workflow_defaults_evaluate_like_maestros() {
    let baton = merge_workflow_params(None, None, ParamSource::Launch).unwrap();
    let theirs = maestro_workflow_params(None).unwrap();
    let mut compared = 0;
    let mut failures = 0;
    for (now, what) in CLOCKS {
        for (first_tt, initiator) in ZONES {
            let mut scope = workflow_scope(*now);
            scope.instance.first_time_trigger_timezone = first_tt.map(str::to_string);
            scope.instance.initiator_timezone = initiator.map(str::to_string);
            if initiator.is_some() {
                scope.instance.initiator_type = Some(InitiatorType::Time);
            }
            let ours = evaluate(&baton, &scope);
            let expected = evaluate(&theirs, &scope);
            let case = format!(
                "{what} with first trigger zone {first_tt:?}, initiator zone {initiator:?}"
            );
            match (&ours, &expected) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}"),
                // Both fail alike when the target hour falls into a DST gap of the cron zone
                // (Lord Howe's clocks skip 02:00-02:30, and the hour reads back as 02:00).
                (Err(a), Err(b)) => {
                    assert!(a.contains("[DERIVED_RUN_TS]"), "{case}: {a}");
                    assert!(b.contains("[DERIVED_RUN_TS]"), "{case}: {b}");
                    assert!(a.contains("Illegal instant"), "{case}: {a}");
                    failures += 1;
                }
                _ => panic!("{case}: {ours:?} vs {expected:?}"),
            }
            compared += 1;
        }
    }
    assert_eq!(compared, CLOCKS.len() * ZONES.len());
    assert_eq!(failures, 1, "only the Lord Howe gap fails");

    // Spot checks that the comparison is about something.
    let mut scope = workflow_scope(1_730_626_200_000);
    scope.instance.initiator_timezone = Some("America/Los_Angeles".into());
    let r = evaluate(&baton, &scope).unwrap();
    assert_eq!(r["TARGET_RUN_DATE"], json!("20241103"));
    assert_eq!(r["TARGET_RUN_HOUR"], json!("01"));
    // The repeated hour reads back as its first occurrence (PDT, 08:00Z).
    assert_eq!(r["DERIVED_RUN_TS"], json!(1_730_620_800_000_i64));
    assert_eq!(r["DERIVED_RUN_HOUR_UTC"], json!("08"));
    assert_eq!(r["RUN_DATE"], json!("20241103"));
    assert_eq!(r["owner"], json!("owner-a"));
    assert_eq!(r["workflow_id"], json!("wf"));
    assert!(r.get("job_template_version").is_none());

    let mut scope = workflow_scope(1_735_687_800_000);
    scope.instance.first_time_trigger_timezone = Some("Asia/Tokyo".into());
    let r = evaluate(&baton, &scope).unwrap();
    assert_eq!(r["DSL_DEFAULT_TZ"], json!("Asia/Tokyo"));
    assert_eq!(r["TARGET_RUN_DATE"], json!("20250101"));
    assert_eq!(r["LOCAL_RUN_DATE"], json!("20250101"));
    assert_eq!(r["RUN_DATE"], json!("20241231"));
    assert_eq!(r["RUN_DATE_MINUS_7"], json!("20241224"));
    assert_eq!(r["DERIVED_RUN_DATE_US_PACIFIC"], json!("20241231"));
    assert_eq!(
        r["DERIVED_RUN_DATE_US_PACIFIC_MINUS_ONE"],
        json!("20241230")
    );
}

#[test]
fn overridden_targets_evaluate_like_maestros() {
    // Backfills set the target date and hour; a DST gap hour fails in both.
    let cases = [
        (json!("20240101"), json!("05"), true),
        (json!("20241103"), json!("01"), true),
        (json!("20240310"), json!("02"), false),
        (json!("2024-01-01"), json!("05"), false),
    ];
    for (date, hour, ok) in cases {
        let run = defs(json!({
            "TARGET_RUN_DATE": {"value": date, "type": "STRING"},
            "TARGET_RUN_HOUR": {"value": hour, "type": "STRING"},
            "RUN_TS": {"value": 1_700_000_000_000_i64, "type": "LONG"}
        }));
        let ours = merge_workflow_params(None, Some(&run), ParamSource::Launch).unwrap();
        let theirs = maestro_workflow_params(Some(&run)).unwrap();
        let mut scope = workflow_scope(NOW);
        scope.instance.initiator_timezone = Some("America/Los_Angeles".into());
        let a = evaluate(&ours, &scope);
        let b = evaluate(&theirs, &scope);
        assert_eq!(a.is_ok(), ok, "{date} {hour}: {a:?}");
        assert_eq!(a.is_ok(), b.is_ok(), "{date} {hour}: {a:?} vs {b:?}");
        if ok {
            assert_eq!(a, b, "{date} {hour}");
        } else {
            assert!(
                a.unwrap_err().contains("DERIVED_RUN_TS"),
                "the error names the param"
            );
        }
    }
}

fn maestro_step_params(files: &[&str], definition: &ParamMap) -> ParamMap {
    let mut all = ParamMap::new();
    for f in files {
        merge_params(
            &mut all,
            &maestro(f),
            &MergeContext::step(ParamSource::SystemDefault),
        )
        .unwrap();
    }
    merge_params(
        &mut all,
        definition,
        &MergeContext::step(ParamSource::Definition),
    )
    .unwrap();
    cleanup_params(all).unwrap()
}

fn workflow_results() -> Params {
    let merged = merge_workflow_params(None, None, ParamSource::Launch).unwrap();
    evaluate_workflow_params(&merged, &workflow_scope(NOW)).unwrap()
}

#[test]
fn step_defaults_evaluate_like_maestros() {
    let wf = workflow_results();
    let notebook = defs(json!({
        "kubernetes": {"type": "MAP", "value": {"image": {"type": "STRING", "value": "img"}}},
        "notebook": {"type": "MAP", "value": {"input_path": {"type": "STRING", "value": "in.ipynb"}}}
    }));
    let cases: &[(StepType, &[&str], ParamMap)] = &[
        (
            StepType::NoOp,
            &["default-step-params.yaml"],
            ParamMap::new(),
        ),
        (
            StepType::Notebook,
            &[
                "default-step-params.yaml",
                "default-notebook-step-params.yaml",
            ],
            notebook,
        ),
        (
            StepType::Foreach,
            &[
                "default-step-params.yaml",
                "default-foreach-step-params.yaml",
            ],
            ParamMap::new(),
        ),
    ];
    for (t, files, definition) in cases {
        for (instance_id, attempt) in [(7, 1), (123_456, 3)] {
            let mut scope = step_scope(NOW, "job.1", wf.clone());
            scope.instance.workflow_instance_id = Some(instance_id);
            if let Some(s) = scope.step.as_mut() {
                s.step_attempt_id = attempt;
            }
            let ours = merge_step_params(*t, Some(definition), None).unwrap();
            let theirs = maestro_step_params(files, definition);
            let a = results(&evaluate_step_params(&ours, &scope).unwrap());
            let b = results(&evaluate_step_params(&theirs, &scope).unwrap());
            assert_eq!(a, b, "{t}");
            assert_eq!(a["workflow_instance_id"], json!(instance_id));
            assert_eq!(a["step_attempt_id"], json!(attempt));
            assert_eq!(a["step_id"], json!("job.1"));
        }
    }
    let scope = step_scope(NOW, "job.1", wf);
    let nb = merge_step_params(StepType::Notebook, Some(&cases[1].2), None).unwrap();
    let r = results(&evaluate_step_params(&nb, &scope).unwrap());
    assert_eq!(
        r["notebook"]["output_path"],
        json!("maestro-output_20240701123456__7_3_9f0c3c52-7a0c-4a55-b7b2-4d6c1f0e2d11.ipynb")
    );
    assert_eq!(r["notebook"]["run_id"], json!("wf_7_1_job.1_2"));
}

/// The Http step's `state_expr` is SEL the step runs on the response: compare what both
/// versions decide for a range of status codes.
#[test]
fn http_state_expressions_decide_alike() {
    let text = |m: &ParamMap| -> String {
        match &m["state_expr"].value {
            Some(ParamValue::String(s)) => s.clone(),
            other => panic!("state_expr is a string literal, got {other:?}"),
        }
    };
    let ours = text(&default_step_params(StepType::Http));
    let theirs = text(&maestro("default-http-step-params.yaml"));
    assert_ne!(ours, theirs, "Baton writes its own expression");
    let run = |src: &str, code: i64| {
        baton_sel::Evaluator::new()
            .input("status_code", baton_sel::Value::Long(code))
            .eval_source(&baton_sel::sanitize(src))
            .unwrap()
    };
    for code in [
        0, 100, 199, 200, 201, 299, 300, 302, 399, 400, 404, 499, 500, 503, 999,
    ] {
        assert_eq!(run(&ours, code), run(&theirs, code), "status {code}");
    }
    assert_eq!(run(&ours, 204), baton_sel::Value::string("DONE"));
    assert_eq!(run(&ours, 404), baton_sel::Value::string("FATAL_ERROR"));
    assert_eq!(run(&ours, 503), baton_sel::Value::string("USER_ERROR"));
}

#[test]
fn reserved_defaults_cannot_be_overridden_by_users() {
    let d = defs(json!({"workflow_id": {"value": "other", "type": "STRING"}}));
    let err = merge_workflow_params(Some(&d), None, ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot modify param with mode [CONSTANT] for parameter [workflow_id]"
    );
    let d = defs(json!({"step_id": {"value": "other", "type": "STRING"}}));
    let err = merge_step_params(StepType::NoOp, Some(&d), None).unwrap_err();
    assert!(err.to_string().contains("[step_id]"), "{err}");
    // A definition may not smuggle in an internal mode either.
    let d: ParamDefinition =
        def(json!({"value": "x", "type": "STRING", "internal_mode": "OPTIONAL"}));
    let mut m = ParamMap::new();
    m.insert("RUN_DATE".into(), d);
    let err = merge_workflow_params(Some(&m), None, ParamSource::Launch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot modify system mode for parameter [RUN_DATE]"
    );
}
