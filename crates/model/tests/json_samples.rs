//! Every JSON sample of Maestro parses, and parse → serialize → parse is lossless: the typed
//! values are equal, the JSON written is stable, and every field of the input is still there in
//! the output (up to Maestro's canonical spellings).

use baton_model::definition::WorkflowCreateRequest;
use serde_json::Value;
use std::path::PathBuf;

fn samples_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/maestro-samples"
    ))
}

fn json_samples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .expect("samples directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Keys whose string values are enum names, written canonically (so compared ignoring case).
const ENUM_KEYS: &[&str] = &[
    "type",
    "mode",
    "failure_mode",
    "rule",
    "namespace",
    "criticality",
    "severity",
    "granularity",
];

/// Rewrites Maestro's short input forms into the long forms it writes back.
fn canonical(v: &Value, key: &str) -> Value {
    match (key, v) {
        ("run_strategy", Value::String(rule)) => {
            let rule = rule.to_ascii_uppercase();
            let c = if rule == "PARALLEL" { 20 } else { 1 };
            serde_json::json!({"rule": rule, "workflow_concurrency": c})
        }
        ("run_strategy", Value::Number(n)) => {
            serde_json::json!({"rule": "PARALLEL", "workflow_concurrency": n})
        }
        ("run_strategy", Value::Object(o)) if !o.contains_key("workflow_concurrency") => {
            let rule = o["rule"].as_str().unwrap_or_default().to_ascii_uppercase();
            let c = if rule == "PARALLEL" { 20 } else { 1 };
            serde_json::json!({"rule": rule, "workflow_concurrency": c})
        }
        ("tags", Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|t| match t {
                    Value::String(s) => serde_json::json!({"name": s}),
                    other => canonical(other, ""),
                })
                .collect(),
        ),
        (wrapper, Value::Object(o))
            if ["step", "foreach", "while", "subworkflow", "template"].contains(&wrapper)
                && !o.contains_key("transition")
                && o.contains_key("id") =>
        {
            let mut o = o.clone();
            o.insert("transition".into(), serde_json::json!({}));
            canonical(&Value::Object(o), "")
        }
        (_, Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), canonical(v, k)))
                .collect(),
        ),
        (_, Value::Array(items)) => Value::Array(items.iter().map(|i| canonical(i, "")).collect()),
        _ => v.clone(),
    }
}

/// Asserts `expected` and `actual` hold the same fields and values, ignoring case for enum values.
fn assert_equivalent(expected: &Value, actual: &Value, key: &str, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> = e.keys().collect();
            let mut ak: Vec<&String> = a.keys().collect();
            let mut ek_sorted = ek.clone();
            ek_sorted.sort();
            ak.sort();
            assert_eq!(ek_sorted, ak, "keys differ at {path}");
            for (k, ev) in e {
                assert_equivalent(ev, &a[k], k, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "array length differs at {path}");
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_equivalent(ev, av, key, &format!("{path}[{i}]"));
            }
        }
        (Value::String(e), Value::String(a)) if ENUM_KEYS.contains(&key) => {
            assert!(e.eq_ignore_ascii_case(a), "{path}: {e} vs {a}");
        }
        (e, a) => assert_eq!(e, a, "value differs at {path}"),
    }
}

#[test]
fn every_json_sample_round_trips() {
    let files = json_samples();
    assert!(
        files.len() >= 27,
        "expected Maestro's samples, found {}",
        files.len()
    );
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).expect("read sample");
        let original: Value = serde_json::from_str(&text).expect("sample is JSON");

        let parsed: WorkflowCreateRequest = serde_path_to_error::deserialize(&original)
            .unwrap_or_else(|e| panic!("{name}: {} at {}", e.inner(), e.path()));
        let written = serde_json::to_value(&parsed).expect("serialize");
        let reparsed: WorkflowCreateRequest =
            serde_json::from_value(written.clone()).expect("re-parse");
        assert_eq!(
            reparsed, parsed,
            "{name}: typed values differ after a round trip"
        );
        assert_eq!(
            serde_json::to_value(&reparsed).expect("serialize again"),
            written,
            "{name}: JSON output is not stable"
        );
        assert_equivalent(&canonical(&original, ""), &written, "", &name);
    }
}

#[test]
fn samples_keep_what_matters() {
    let text = std::fs::read_to_string(samples_dir().join("sample-dag-test-7.json")).expect("read");
    let r: WorkflowCreateRequest = serde_json::from_str(&text).expect("parse");
    let props = r.properties.expect("properties");
    assert_eq!(
        props.run_strategy.expect("run strategy").rule,
        baton_model::definition::RunStrategyRule::StrictSequential
    );
    assert_eq!(r.workflow.steps.len(), 8);
    let p = r.workflow.steps[3].param("sleep_seconds").expect("param");
    assert_eq!(
        p.param_type,
        baton_model::params::ParamType::Long,
        "`lonG` is LONG"
    );

    let text = std::fs::read_to_string(samples_dir().join("sample-dag-test-9.json")).expect("read");
    let r: WorkflowCreateRequest = serde_json::from_str(&text).expect("parse");
    assert_eq!(
        r.git_info.and_then(|g| g.branch).as_deref(),
        Some("foo"),
        "git_info is a field, not an extra"
    );
    assert!(r.extra.is_empty());
}
