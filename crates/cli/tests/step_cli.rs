//! `baton step stop|kill|skip` and `baton breakpoint …` against a real `baton server`: a step
//! paused at a breakpoint is listed, resumed, skipped; a running step is stopped with a reason;
//! a refused action exits 1 with the server's message.

mod server_support;

use std::process::Output;
use std::time::{Duration, Instant};

use server_support::{ServerProcess, get_json};

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(server: &ServerProcess, args: &[&str]) -> String {
    let o = server.client().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn step_status(base: &str, wid: &str, iid: i64, step: &str) -> String {
    let (_, body) = get_json(&format!(
        "{base}/api/v3/workflows/{wid}/instances/{iid}/steps/{step}"
    ));
    body["runtime_state"]["status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn wait_status(base: &str, wid: &str, iid: i64, step: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = step_status(base, wid, iid, step);
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "{step} is {now}, never {want}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const WF: &str = r#"{"properties": {"owner": "tester", "run_strategy": "PARALLEL"},
  "workflow": {"id": "step-cli", "steps": [
    {"step": {"id": "gate", "type": "NoOp", "transition": {"successors": {"nap": "true"}}}},
    {"step": {"id": "nap", "type": "Sleep",
      "params": {"sleep_seconds": {"value": 60, "type": "LONG"}},
      "transition": {"successors": {"end": "true"}}}},
    {"step": {"id": "end", "type": "NoOp"}}]}}"#;

#[test]
fn step_and_breakpoint_commands() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("baton.db"));
    let base = server.base.clone();
    let wf = dir.path().join("wf.json");
    std::fs::write(&wf, WF).unwrap();
    ok(&server, &["push", wf.to_str().unwrap()]);

    let out = ok(&server, &["breakpoint", "add", "step-cli", "gate"]);
    assert_eq!(out.trim(), "breakpoint on step-cli step gate");
    let out = ok(&server, &["breakpoint", "list", "step-cli", "gate"]);
    assert!(out.contains("step-cli") && out.contains("tester"), "{out}");

    ok(&server, &["start", "step-cli"]);
    ok(&server, &["start", "step-cli"]);
    wait_status(&base, "step-cli", 1, "gate", "PAUSED");
    wait_status(&base, "step-cli", 2, "gate", "PAUSED");
    let out = ok(&server, &["breakpoint", "paused", "step-cli", "--json"]);
    let paused: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(paused.as_array().unwrap().len(), 2, "{out}");

    // Resume instance 1; skip the paused step of instance 2.
    let out = ok(
        &server,
        &["breakpoint", "resume", "step-cli", "1", "gate", "1"],
    );
    assert!(out.starts_with("resumed step-cli instance 1"), "{out}");
    wait_status(&base, "step-cli", 1, "nap", "RUNNING");
    let out = ok(&server, &["step", "skip", "step-cli", "2", "gate"]);
    assert!(out.trim().ends_with("SKIPPED"), "{out}");
    wait_status(&base, "step-cli", 2, "nap", "RUNNING");

    // Stop a running step with a reason; skip the other.
    let out = ok(
        &server,
        &[
            "step",
            "stop",
            "step-cli",
            "1",
            "nap",
            "--run",
            "1",
            "--reason",
            "not today",
        ],
    );
    assert!(out.trim().ends_with("STOPPED"), "{out}");
    let (_, step) = get_json(&format!(
        "{base}/api/v3/workflows/step-cli/instances/1/steps/nap"
    ));
    assert!(step["timeline"].to_string().contains("not today"), "{step}");
    ok(&server, &["step", "skip", "step-cli", "2", "nap"]);
    wait_status(&base, "step-cli", 2, "end", "SUCCEEDED");

    // Refusals: an older run, a step that is over.
    let o = server
        .client()
        .args(["step", "kill", "step-cli", "2", "nap", "--run", "7"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("latest run"),
        "{}",
        text(&o)
    );
    let o = server
        .client()
        .args(["step", "stop", "step-cli", "2", "end"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("terminal"),
        "{}",
        text(&o)
    );

    let out = ok(&server, &["breakpoint", "delete", "step-cli", "gate"]);
    assert!(
        out.contains("Total of [0] steps have been resumed"),
        "{out}"
    );
    let out = ok(
        &server,
        &["breakpoint", "list", "step-cli", "gate", "--json"],
    );
    assert_eq!(out.trim(), "[]");
}
