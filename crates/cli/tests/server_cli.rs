//! The real binaries together: `baton server` and the client commands (`push`, `start`,
//! `watch`, `status`, `list`, `logs`, `stop`, `kill`, `restart`), and a graceful shutdown on
//! SIGTERM with a run in flight that finishes after the next start on the same database.

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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

const SHELL_WF: &str = r#"{"properties": {"owner": "tester"}, "workflow": {"id": "cli-wf",
  "params": {"greeting": {"type": "STRING", "value": "hello"}, "times": {"type": "LONG", "value": 1}},
  "steps": [
    {"step": {"id": "say", "type": "Shell", "transition": {"successors": {"done": "true"}},
      "params": {"shell": {"type": "MAP", "value": {"script": {"type": "STRING", "value": "for i in $(seq 1 ${times}); do echo ${greeting} $$i; done"}}}}}},
    {"step": {"id": "done", "type": "NoOp"}}]}}"#;

const NAP_YAML: &str = "Workflow:\n  id: nap-wf\n  owner: tester\n  jobs:\n    - job:\n        id: nap\n        type: Sleep\n        sleep_seconds: 60\n";

#[test]
fn client_commands_against_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("baton.db"));
    let wf = dir.path().join("cli-wf.json");
    std::fs::write(&wf, SHELL_WF).unwrap();
    let nap = dir.path().join("nap.yaml");
    std::fs::write(&nap, NAP_YAML).unwrap();

    let o = server.client().arg("push").arg(&wf).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o).trim(), "pushed cli-wf version 1 (active)");
    let o = server
        .client()
        .args(["push", "--json"])
        .arg(&nap)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let pushed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        pushed["workflow_definition"]["metadata"]["workflow_id"],
        "nap-wf"
    );

    let o = server
        .client()
        .args([
            "start",
            "cli-wf",
            "--param",
            "greeting=hi there",
            "-p",
            "times=3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        stdout(&o).trim(),
        "started cli-wf instance 1 run 1 (version 1): CREATED"
    );

    let o = server
        .client()
        .args(["watch", "cli-wf", "1", "--interval", "50"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("say -> SUCCEEDED"), "{out}");
    assert!(out.contains("cli-wf instance 1 run 1: SUCCEEDED"), "{out}");

    let o = server
        .client()
        .args(["logs", "cli-wf", "1", "say"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o), "hi there 1\nhi there 2\nhi there 3\n");
    let o = server
        .client()
        .args(["logs", "cli-wf", "1", "say", "--tail", "11"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "hi there 3\n");

    let o = server
        .client()
        .args(["status", "cli-wf", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("say") && l.contains("SUCCEEDED")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("done") && l.contains("SUCCEEDED")),
        "{out}"
    );
    let o = server
        .client()
        .args(["status", "cli-wf", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["overview"]["latest_instance_id"], 1);
    assert_eq!(status["instances"]["elements"][0]["status"], "SUCCEEDED");

    let o = server.client().arg("list").output().unwrap();
    let out = stdout(&o);
    assert!(out.starts_with("WORKFLOW"), "{out}");
    assert!(out.contains("cli-wf") && out.contains("nap-wf"), "{out}");
    let o = server.client().args(["list", "cli-wf"]).output().unwrap();
    assert!(stdout(&o).lines().nth(1).unwrap().contains("SUCCEEDED"));

    // A long run: stop one instance, kill the other through the workflow-wide action.
    let o = server.client().args(["start", "nap-wf"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = server
        .client()
        .args(["stop", "nap-wf", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = server
        .client()
        .args(["watch", "nap-wf", "1", "--interval", "50"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "watch exits 1 when the run did not succeed"
    );
    assert!(stdout(&o).contains("STOPPED"));
    server.client().args(["start", "nap-wf"]).output().unwrap();
    let o = server.client().args(["kill", "nap-wf"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("Terminated"), "{}", text(&o));

    // Restarts: instance 1 (STOPPED) as run 2; again while run 2 runs is refused with the
    // server's message (exit 1); a step restart with a param makes run 3.
    let o = server
        .client()
        .args(["restart", "nap-wf", "1", "--policy", "beginning"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        stdout(&o).trim(),
        "restarted nap-wf instance 1 as run 2: CREATED"
    );
    let o = server
        .client()
        .args(["restart", "nap-wf", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("BAD_REQUEST (400)"),
        "{}",
        text(&o)
    );
    let o = server
        .client()
        .args(["kill", "nap-wf", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = server
        .client()
        .args([
            "restart",
            "nap-wf",
            "1",
            "--step",
            "nap",
            "--param",
            "sleep_seconds=1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let restarted: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(restarted["workflow_run_id"], 3);
    assert_eq!(restarted["step_id"], "nap");
    let o = server
        .client()
        .args(["watch", "nap-wf", "1", "--interval", "50"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the 1 s nap of run 3 succeeds: {}",
        text(&o)
    );
    let o = server
        .client()
        .args(["restart", "nap-wf", "1", "--policy", "sideways"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    let o = server.client().args(["start", "ghost"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("NOT_FOUND (404)"),
        "{}",
        text(&o)
    );
    let o = server_support::baton()
        .args(["status", "x", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot reach the server"));
}

#[test]
fn sigterm_parks_running_runs_and_the_next_start_finishes_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let wf = dir.path().join("slow.json");
    std::fs::write(
        &wf,
        r#"{"properties": {"owner": "tester"}, "workflow": {"id": "slow", "steps": [
          {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"nap": "true"}}}},
          {"step": {"id": "nap", "type": "Sleep", "transition": {"successors": {"z": "true"}},
            "params": {"sleep_seconds": {"type": "DOUBLE", "value": 2.0}}}},
          {"step": {"id": "z", "type": "NoOp"}}]}}"#,
    )
    .unwrap();
    let mut server = ServerProcess::start(&db);
    assert!(
        server
            .client()
            .arg("push")
            .arg(&wf)
            .output()
            .unwrap()
            .status
            .success()
    );
    assert!(
        server
            .client()
            .args(["start", "slow"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let url = format!(
        "{}/api/v3/workflows/slow/instances/1/steps/nap",
        server.base
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = get_json(&url);
        if status == 200 && body["runtime_state"]["status"] == "RUNNING" {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let base = server.base.clone();
    let t = Instant::now();
    assert!(server.terminate(), "exit 0 on SIGTERM");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        t.elapsed()
    );
    // No longer accepting.
    assert!(std::net::TcpStream::connect(base.trim_start_matches("http://")).is_err());

    // The run was parked, not ended.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let status: String = conn
        .query_row(
            "SELECT status FROM workflow_instance WHERE workflow_id = 'slow'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "IN_PROGRESS");
    drop(conn);

    let server = ServerProcess::start(&db);
    let url = format!("{}/api/v3/workflows/slow/instances/1", server.base);
    let deadline = Instant::now() + Duration::from_secs(20);
    let instance = loop {
        let (_, body) = get_json(&url);
        if body["status"] == "SUCCEEDED" {
            break body;
        }
        assert!(body["status"] == "IN_PROGRESS", "{body}");
        assert!(Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let views = &instance["aggregated_info"]["step_aggregated_views"];
    for step in ["a", "nap", "z"] {
        assert_eq!(views[step]["status"], "SUCCEEDED", "{instance}");
    }
    // Resumed, not restarted: one attempt of the sleeping step.
    let (_, steps) = get_json(&format!(
        "{}/api/v3/workflows/slow/instances/1/runs/1/steps",
        server.base
    ));
    let nap = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == "nap")
        .unwrap();
    assert_eq!(nap["step_attempt_id"], 1);
}
