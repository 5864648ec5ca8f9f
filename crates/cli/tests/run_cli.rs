//! `baton run` end to end: the README's example, `--json` output, `--param`, and exit codes.

use std::process::Command;

fn baton() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baton"))
}

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.yaml")
}

fn step<'a>(out: &'a serde_json::Value, id: &str) -> Vec<&'a serde_json::Value> {
    out["step_instances"]
        .as_array()
        .expect("step_instances")
        .iter()
        .filter(|s| s["step_id"] == id)
        .collect()
}

#[test]
fn the_readme_example_runs_and_reports_json() {
    let out = baton()
        .arg("run")
        .arg(example())
        .arg("--json")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["workflow_instance"]["status"], "SUCCEEDED");
    let greet = step(&v, "greet");
    assert_eq!(greet.len(), 1);
    // The Shell step's output param, reported through Maestro's output protocol.
    assert_eq!(
        greet[0]["params"]["greeting"]["evaluated_result"],
        "hello, world"
    );
    assert_eq!(
        step(&v, "celebrate")[0]["runtime_state"]["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        step(&v, "wonder")[0]["runtime_state"]["status"],
        "UNSATISFIED"
    );
    assert_eq!(step(&v, "done")[0]["runtime_state"]["status"], "SUCCEEDED");
}

#[test]
fn run_params_change_the_outcome() {
    let out = baton()
        .arg("run")
        .arg(example())
        .args(["--json", "--param", "name_to_greet=Baton"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        step(&v, "greet")[0]["params"]["greeting"]["evaluated_result"],
        "hello, Baton"
    );
    assert_eq!(
        step(&v, "celebrate")[0]["runtime_state"]["status"],
        "UNSATISFIED"
    );
    assert_eq!(
        step(&v, "wonder")[0]["runtime_state"]["status"],
        "SUCCEEDED"
    );
}

#[test]
fn a_failing_workflow_exits_non_zero_with_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("fail.json");
    std::fs::write(
        &wf,
        r#"{"properties": {"owner": "me"}, "workflow": {"id": "fails", "steps": [
            {"step": {"id": "boom", "type": "Shell", "retry_policy": {"error_retry_limit": 0},
              "params": {"shell": {"type": "MAP", "value": {"script": {"type": "STRING", "value": "echo bad; exit 3"}}}}}}]}}"#,
    )
    .unwrap();
    let out = baton().arg("run").arg(&wf).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAILED"), "{text}");
    assert!(
        text.contains("boom") && text.contains("FATALLY_FAILED"),
        "{text}"
    );
}

#[test]
fn an_invalid_definition_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("bad.json");
    std::fs::write(
        &wf,
        r#"{"properties": {"owner": "me"}, "workflow": {"id": "bad", "steps": [
            {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"nowhere": "true"}}}}]}}"#,
    )
    .unwrap();
    let out = baton().arg("run").arg(&wf).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("workflow.steps[0]") && err.contains("nowhere"),
        "{err}"
    );
}
