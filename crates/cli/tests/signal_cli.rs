//! `baton signal` and `baton triggers` end to end on a local store: a signal sent from the
//! command line starts the workflow its trigger matches, a duplicate is refused, the signal
//! reads back, and `triggers list` shows the trigger and its checkpoint.

use std::process::Command;

fn baton() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baton"))
}

const WF: &str = r#"{
  "properties": {"owner": "tester"},
  "workflow": {
    "id": "cli-signal-wf",
    "time_triggers": [{"type": "CRON", "cron": "0 3 * * *", "timezone": "Europe/London"}],
    "signal_triggers": [{"definitions": {"cli/go": {"match_params": {"n": {"value": 1, "operator": ">="}}}}}],
    "params": {"who": {"expression": "params.getFromSignalOrDefault('cli/go', 'who', 'nobody')", "type": "STRING"}},
    "steps": [{"step": {"id": "s", "type": "NoOp"}}]
  }
}"#;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_signal_sent_from_the_command_line_starts_the_triggered_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let wf = dir.path().join("wf.json");
    std::fs::write(&wf, WF).unwrap();
    // `baton run` stores the workflow (and runs it once by hand).
    ok(&baton()
        .arg("run")
        .arg(&wf)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap());

    let sent = ok(&baton()
        .args([
            "signal", "send", "cli/go", "--param", "n=2", "--param", "who=ann",
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap());
    let instance: serde_json::Value = serde_json::from_str(&sent).expect("json");
    assert_eq!(instance["seq_id"], 1);
    assert_eq!(
        instance["params"],
        serde_json::json!({"n": 2, "who": "ann"})
    );

    // The same name and params again: a duplicate, refused.
    let dup = baton()
        .args([
            "signal", "send", "cli/go", "--param", "who=ann", "--param", "n=2",
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let got = ok(&baton()
        .args(["signal", "get", "cli/go", "latest"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got).unwrap()["seq_id"],
        1
    );

    // The triggered run was created durably (and `resume` finishes it if the command stopped
    // before it ended).
    ok(&baton().arg("resume").arg("--db").arg(&db).output().unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let runs: Vec<(String, String, String)> = conn
        .prepare(
            "SELECT initiator_type, status, instance FROM workflow_instance \
             WHERE workflow_id = 'cli-signal-wf' ORDER BY instance_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(runs.len(), 2, "the manual run and the triggered one");
    let (kind, status, doc) = &runs[1];
    assert_eq!((kind.as_str(), status.as_str()), ("SIGNAL", "SUCCEEDED"));
    let doc: serde_json::Value = serde_json::from_str(doc).unwrap();
    assert_eq!(doc["params"]["who"]["evaluated_result"], "ann");

    let listed = ok(&baton()
        .args(["triggers", "list", "--json"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap());
    let triggers: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let triggers = triggers.as_array().unwrap();
    assert_eq!(triggers.len(), 2, "{triggers:?}");
    let time = triggers.iter().find(|t| t["kind"] == "TIME").unwrap();
    assert_eq!(time["enabled"], true);
    assert!(time["next_fire_time"].as_i64().is_some());
    let signal = triggers.iter().find(|t| t["kind"] == "SIGNAL").unwrap();
    assert_eq!(signal["checkpoints"], serde_json::json!({"cli/go": 1}));

    let table = ok(&baton()
        .args(["triggers", "list"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap());
    assert!(
        table.contains("cli-signal-wf\tTIME") && table.contains("cli-signal-wf\tSIGNAL"),
        "{table}"
    );
}

#[test]
fn bad_params_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = baton()
        .args(["signal", "send", "x", "--param", "novalue", "--db"])
        .arg(dir.path().join("b.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected KEY=VALUE"));
}

#[path = "server_support/mod.rs"]
mod server_support;

#[test]
fn a_signal_sent_to_a_server_starts_the_triggered_workflow_there() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("wf.json");
    std::fs::write(&wf, WF).unwrap();
    let server = server_support::ServerProcess::start(&dir.path().join("b.db"));
    ok(&server.client().arg("push").arg(&wf).output().unwrap());

    let sent = ok(&server
        .client()
        .args([
            "signal", "send", "cli/go", "--param", "n=2", "--param", "who=bob",
        ])
        .output()
        .unwrap());
    let instance: serde_json::Value = serde_json::from_str(&sent).expect("json");
    assert_eq!(instance["seq_id"], 1);

    // The same signal again: the server's 409 is the command's error.
    let dup = server
        .client()
        .args([
            "signal", "send", "cli/go", "--param", "n=2", "--param", "who=bob",
        ])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("409"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );

    // The server's trigger started a run, which finishes there.
    let url = format!(
        "{}/api/v3/workflows/cli-signal-wf/instances/1/runs/1",
        server.base
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let run = loop {
        let (status, body) = server_support::get_json(&url);
        if status == 200 && body["status"] == "SUCCEEDED" {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no finished triggered run: {status} {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(run["initiator"]["type"], "SIGNAL");
    assert_eq!(run["params"]["who"]["evaluated_result"], "bob");

    let got = ok(&server
        .client()
        .args(["signal", "get", "cli/go", "1"])
        .output()
        .unwrap());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got).unwrap()["params"]["who"],
        "bob"
    );
    let missing = server
        .client()
        .args(["signal", "get", "cli/none"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no signal [cli/none]"));
}
