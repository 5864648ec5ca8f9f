//! `baton validate` end to end: the built binary on Maestro's samples and on broken fixtures.

use std::path::PathBuf;
use std::process::{Command, Output};

fn samples() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/maestro-samples"
    ))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("validate")
        .args(args)
        .output()
        .expect("run baton")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: PathBuf) -> String {
    path.display().to_string()
}

#[test]
fn valid_files_get_one_summary_line_each() {
    let out = baton(&[
        &p(samples().join("sample-dag-test-1.json")),
        &p(samples().join("sample-foreach-wf.json")),
        &p(samples().join("yaml/sample-http-wf.yaml")),
        &p(samples().join("yaml/sample-job-template-1.yaml")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = text(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("ok ")
            && lines[0].ends_with("workflow sample-dag-test-1, 6 steps, DAG depth 4"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with("workflow sample-foreach-wf, 1 step (7 with loop bodies), DAG depth 1"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with("workflow sample-http-wf, 5 steps, DAG depth 5"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].ends_with("job template shell v1 (Notebook)"),
        "{}",
        lines[3]
    );
}

#[test]
fn invalid_files_list_every_error_and_exit_1() {
    let out = baton(&[
        &p(samples().join("sample-dag-test-1.json")),
        &p(fixture("invalid-workflow.json")),
        &p(fixture("invalid-dsl.yaml")),
        &p(fixture("invalid-syntax.json")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out);
    for expected in [
        "invalid-workflow.json: 4 errors",
        "  properties.step_concurrency: [workflow properties] step_concurrency should be positive",
        "  workflow.params.count: a param must be defined with either a literal value or an expression, not both",
        "  workflow.steps[2].foreach.params: [loop_params] is a required parameter of a foreach step",
        "  workflow.steps: the steps form a cycle: extract -> load -> extract",
        "invalid-dsl.yaml: 2 errors",
        "  Workflow.dag: Invalid DAG order: sideways",
        "  Workflow.jobs[0].job.transition[0]: 'OTHERWISE' must be the last row",
        "invalid-syntax.json: 1 error",
        "  (root): not valid JSON",
    ] {
        assert!(
            stdout.lines().any(|l| l.contains(expected)),
            "missing `{expected}` in:\n{stdout}"
        );
    }
    assert!(stdout.lines().next().is_some_and(|l| l.starts_with("ok ")));
}

#[test]
fn json_output_is_machine_readable() {
    let out = baton(&[
        "--json",
        &p(samples().join("sample-while-wf.json")),
        &p(fixture("invalid-workflow.json")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(v["valid"], false);
    let files = v["files"].as_array().expect("files");
    assert_eq!(files[0]["valid"], true);
    assert_eq!(files[0]["summary"]["workflow_id"], "sample-while-wf");
    assert_eq!(files[0]["summary"]["total_steps"], 2);
    assert_eq!(files[1]["valid"], false);
    let paths: Vec<&str> = files[1]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(paths.contains(&"workflow.steps"), "{paths:?}");
}

#[test]
fn print_dag_shows_edges_conditions_and_bodies() {
    let out = baton(&[
        "--print-dag",
        &p(samples().join("sample-conditional-wf.json")),
        &p(samples().join("sample-nested-foreach-wf.json")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out);
    for expected in [
        "[2] job.3 (NoOp)",
        "-> job.4  if param2 < 0",
        "-> job.6  if param2 >= 0",
        "[0] foreach-job (foreach)",
        "body of foreach-job (2 steps, depth 2):",
        "body of job1 (1 step, depth 1):",
        "-> job.2",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}

#[test]
fn job_templates_resolve_dsl_job_types() {
    let dsl = p(samples().join("yaml/sample-dsl-wf-1.yaml"));
    let out = baton(&[&dsl]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains(
        "warning: workflow.steps[1].foreach.steps[0].while.steps[0].step.type: job type [shell]"
    ));
    let out = baton(&[
        "--job-template",
        &p(samples().join("yaml/sample-job-template-1.yaml")),
        "--print-dag",
        &dsl,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out);
    assert!(stdout.contains("process_data (Notebook)"), "{stdout}");
    assert!(!stdout.contains("job type [shell]"), "{stdout}");
}
