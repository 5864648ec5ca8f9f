//! Runs every case of the compatibility corpus (`shared/compat/sel/cases.jsonl`, sel.md §10)
//! and checks type and value (or, for failing cases, that they fail, with the Java exception
//! class where the case pins it). Prints the pass count and every failure.

use baton_sel::Error;
use baton_sel::cases::{Outcome, run_case};
use serde_json::Value as Json;
use std::io::Write;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/sel/cases.jsonl"
);

fn numbers_close(a: &Json, b: &Json, tolerance: f64) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= tolerance,
        _ => false,
    }
}

/// Compares a result with the expectation (maps ignore key order; floats may have a tolerance).
fn same(expected: &Json, got: &Json, tolerance: Option<f64>) -> bool {
    match (expected, got) {
        (Json::Number(_), Json::Number(_)) => match tolerance {
            Some(t) => numbers_close(expected, got, t),
            None => {
                expected.as_f64() == got.as_f64()
                    && (expected.is_f64() || got.is_i64() || got.is_u64())
            }
        },
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y, tolerance))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same(v, w, tolerance)))
        }
        _ => expected == got,
    }
}

/// `None` when the case passes, else the reason.
fn check(case: &Json) -> Option<String> {
    let expect = case.get("expect")?;
    let outcome = run_case(case);
    let is_error = expect.get("error").and_then(Json::as_bool) == Some(true);
    if is_error {
        let Outcome::Error(err) = &outcome else {
            return Some(format!("expected an error, got {}", outcome.to_json()));
        };
        if let Some(thrown) = expect.get("thrown").and_then(Json::as_str) {
            return match err {
                Error::Thrown { message } if message == thrown => None,
                other => Some(format!("expected throw {thrown:?}, got {other}")),
            };
        }
        if let Some(class) = expect.get("error_class").and_then(Json::as_str) {
            let got = err.java_class();
            if !got.is_some_and(|c| c.is_a(class)) {
                return Some(format!(
                    "expected {class}, got {:?}: {err}",
                    got.map(|c| c.name())
                ));
            }
        }
        if let Some(text) = expect.get("message_contains").and_then(Json::as_str)
            && !err.to_string().contains(text)
        {
            return Some(format!("expected message containing {text:?}, got {err}"));
        }
        return None;
    }
    let got = outcome.to_json();
    let want_type = case.get("type").and_then(Json::as_str).unwrap_or("?");
    let got_type = got.get("type").and_then(Json::as_str).unwrap_or("error");
    if got_type != want_type {
        return Some(format!("expected {want_type} {expect}, got {got}"));
    }
    let tolerance = case.get("tolerance").and_then(Json::as_f64);
    let value = got.get("value").cloned().unwrap_or(Json::Null);
    if !same(expect, &value, tolerance) {
        return Some(format!("expected {expect}, got {value}"));
    }
    None
}

#[test]
fn compatibility_corpus() {
    let text = std::fs::read_to_string(CORPUS).expect("corpus file");
    let mut total = 0;
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut jailbreak_escapes = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Json = serde_json::from_str(line).expect("corpus line is JSON");
        let id = case
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_string();
        total += 1;
        if case.get("category").and_then(Json::as_str) == Some("jailbreak")
            && !matches!(run_case(&case), Outcome::Error(_))
        {
            jailbreak_escapes.push(id.clone());
        }
        match check(&case) {
            None => passed += 1,
            Some(reason) => failures.push(format!("{id}: {} => {reason}", case["expr"])),
        }
    }
    // Written to the stderr handle directly so that the count shows without --nocapture.
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "SEL corpus: {passed} of {total} cases pass ({:.2}%)",
        100.0 * passed as f64 / total as f64
    );
    for f in &failures {
        let _ = writeln!(err, "  FAIL {f}");
    }
    assert!(
        jailbreak_escapes.is_empty(),
        "jailbreak cases that did not fail: {jailbreak_escapes:?}"
    );
    assert!(
        passed * 100 >= total * 99,
        "only {passed} of {total} cases pass"
    );
}
