//! Nothing in params panics, whatever the input: generated definitions, layers, sources,
//! expressions and interpolated text either work or fail with an error.

mod support;

use baton_engine::params::{
    MergeContext, Params, evaluate_condition, evaluate_step_params, evaluate_workflow_params,
    interpolate, merge_output_params, merge_params, merge_step_params, merge_workflow_params,
};
use baton_model::definition::StepType;
use baton_model::params::{ParamMap, ParamSource};
use proptest::prelude::*;
use serde_json::{Value as Json, json};
use support::*;

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "c",
        "RUN_TS",
        "RUN_DATE",
        "owner",
        "step_id",
        "loop_params",
        "shell",
        "x__y",
        "job__a",
        "params",
    ])
    .prop_map(str::to_string)
}

fn expression() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "b",
        "c",
        "1",
        "'s'",
        "2.5",
        "true",
        "RUN_TS",
        "params.get('a')",
        "params.getFromStep('step_id')",
        "params.getFromInstance('owner')",
        "x__y",
        "job__a",
        "new DateTime(0)",
        "null",
        "throw 'e'",
        "{",
        "}",
        "(",
        ";",
        "+",
        "==",
        "$",
        "}",
    ]);
    prop::collection::vec(atoms, 0..6).prop_map(|v| v.join(" "))
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "$", "$$", "{", "}", "a", "b", "x__y", "é", " ", "${a}", "$b",
        ]),
        0..8,
    )
    .prop_map(|v| v.concat())
}

fn definition() -> impl Strategy<Value = Json> {
    let ty = prop::sample::select(vec![
        "STRING",
        "LONG",
        "DOUBLE",
        "BOOLEAN",
        "STRING_ARRAY",
        "STRING_MAP",
        "MAP",
    ]);
    let mode = prop::option::of(prop::sample::select(vec![
        "MUTABLE",
        "MUTABLE_ON_START",
        "MUTABLE_ON_START_RESTART",
        "IMMUTABLE",
        "CONSTANT",
    ]));
    let internal = prop::option::of(prop::sample::select(vec![
        "REQUIRED", "OPTIONAL", "PROVIDED", "RESERVED",
    ]));
    let source = prop::option::of(prop::sample::select(vec![
        "DEFINITION",
        "SUBWORKFLOW",
        "SYSTEM",
    ]));
    (ty, mode, internal, source, prop::bool::ANY, expression(), text()).prop_map(
        |(ty, mode, internal, source, literal, expr, text)| {
            let mut d = serde_json::Map::new();
            d.insert("type".into(), json!(ty));
            if literal {
                let v = match ty {
                    "STRING" => json!(text),
                    "LONG" => json!(7),
                    "DOUBLE" => json!(1.5),
                    "BOOLEAN" => json!(true),
                    "STRING_ARRAY" => json!([text, "z"]),
                    "STRING_MAP" => json!({ "k": text }),
                    _ => json!({"a": {"type": "STRING", "value": text}, "e": {"type": "LONG", "expression": expr}}),
                };
                d.insert("value".into(), v);
            } else if !expr.is_empty() {
                d.insert("expression".into(), json!(expr));
            }
            if let Some(m) = mode {
                d.insert("mode".into(), json!(m));
            }
            if let Some(i) = internal {
                d.insert("internal_mode".into(), json!(i));
            }
            if let Some(s) = source {
                d.insert("source".into(), json!(s));
            }
            Json::Object(d)
        },
    )
}

fn layer() -> impl Strategy<Value = ParamMap> {
    prop::collection::vec((name(), definition()), 0..5).prop_map(|v| {
        let obj: serde_json::Map<String, Json> = v.into_iter().collect();
        defs(Json::Object(obj))
    })
}

fn source() -> impl Strategy<Value = ParamSource> {
    prop::sample::select(ParamSource::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn escaped_text_reads_back(s in "[a-z${}é _.]{0,24}") {
        let escaped = s.replace('$', "$$");
        prop_assert_eq!(interpolate(&escaped, &[]).unwrap(), s);
    }

    #[test]
    fn interpolation_never_panics(s in text(), t in any::<String>()) {
        let p = evaluate_workflow_params(
            &defs(json!({"a": {"type": "LONG", "value": 1}, "b": {"type": "STRING", "value": "x"}})),
            &workflow_scope(NOW),
        ).unwrap();
        let _ = interpolate(&s, &[&p]);
        let _ = interpolate(&t, &[&p]);
    }

    #[test]
    fn workflow_params_never_panic(definition in layer(), run in layer(), src in source()) {
        if let Ok(merged) = merge_workflow_params(Some(&definition), Some(&run), src) {
            let _ = evaluate_workflow_params(&merged, &workflow_scope(NOW));
        }
    }

    #[test]
    fn step_params_and_outputs_never_panic(
        definition in layer(),
        run in layer(),
        out in layer(),
        ty in prop::sample::select(StepType::ALL.to_vec()),
        cond in expression(),
    ) {
        let w = evaluate_workflow_params(
            &defs(json!({"a": {"type": "LONG", "value": 1}, "RUN_TS": {"type": "LONG", "value": 5}})),
            &workflow_scope(NOW),
        ).unwrap();
        let mut scope = step_scope(NOW, "job", w);
        with_upstream(&mut scope, "x", Params::new(), None);
        if let Ok(merged) = merge_step_params(ty, Some(&definition), Some(&run))
            && let Ok(params) = evaluate_step_params(&merged, &scope)
        {
            let _ = evaluate_condition(&cond, &params, &scope);
            // Outputs: the layer's literals as reported results.
            let reported: Params = out
                .iter()
                .filter_map(|(k, d)| {
                    let v = d.value.as_ref()?;
                    let r = baton_engine::params::coerce::literal_result(v);
                    Some((k.clone(), baton_model::params::Parameter::evaluated(d.clone(), r, 1)))
                })
                .collect();
            let _ = merge_output_params(&params, &reported, NOW);
        }
    }

    #[test]
    fn merges_never_panic(a in layer(), b in layer(), src in source(), up in any::<bool>(), restart in any::<bool>()) {
        let mut base = ParamMap::new();
        let _ = merge_params(&mut base, &a, &MergeContext::workflow(ParamSource::Definition, false, false));
        let _ = merge_params(&mut base, &b, &MergeContext::workflow(src, up, restart));
        let _ = baton_engine::params::cleanup_params(base);
    }
}
