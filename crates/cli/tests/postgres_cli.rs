//! The command-line tools on PostgreSQL: `baton run --db postgres://…?schema=…` runs the README
//! example there, `baton signal send/get` and `baton triggers list` work on the same database,
//! and `baton resume` finds the runs a signal started. Each run uses a fresh schema of the
//! database at `BATON_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped at the end.

use std::process::{Command, Output};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn baton(cwd: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    // PostgreSQL stores keep their work files in `baton.work` of the current directory.
    command.current_dir(cwd);
    command
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs SQL on the test database.
fn sql(statement: &str) -> Vec<tokio_postgres::Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|err| panic!("this test needs PostgreSQL at {} ({err})", url()));
        tokio::spawn(connection);
        client.query(statement, &[]).await.expect(statement)
    })
}

/// Drops the schema when the test ends, passed or not.
struct DropSchema(String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

const WF: &str = r#"{
  "properties": {"owner": "tester"},
  "workflow": {
    "id": "pg-signal-wf",
    "signal_triggers": [{"definitions": {"cli/go": {"match_params": {"n": {"value": 1, "operator": ">="}}}}}],
    "params": {"who": {"expression": "params.getFromSignalOrDefault('cli/go', 'who', 'nobody')", "type": "STRING"}},
    "steps": [{"step": {"id": "s", "type": "NoOp"}}]
  }
}"#;

#[test]
fn run_signal_triggers_and_resume_work_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("baton_cli_{:016x}", fastrand::u64(..));
    let _drop = DropSchema(schema.clone());
    let db = format!("{}?schema={schema}", url());
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.yaml");

    let out = ok(&baton(dir.path())
        .arg("run")
        .arg(&example)
        .args(["--json", "--db", &db])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["workflow_instance"]["status"], "SUCCEEDED");
    let greet = v["step_instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == "greet")
        .expect("greet");
    assert_eq!(
        greet["params"]["greeting"]["evaluated_result"],
        "hello, world"
    );
    // The run is in the schema the URL named.
    let rows = sql(&format!(
        "SELECT status FROM {schema}.workflow_instance WHERE workflow_id = 'hello-baton'"
    ));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "SUCCEEDED");

    let wf = dir.path().join("wf.json");
    std::fs::write(&wf, WF).unwrap();
    ok(&baton(dir.path())
        .arg("run")
        .arg(&wf)
        .args(["--db", &db])
        .output()
        .unwrap());
    let sent = ok(&baton(dir.path())
        .args([
            "signal", "send", "cli/go", "--param", "n=2", "--param", "who=ann",
        ])
        .args(["--db", &db])
        .output()
        .unwrap());
    let instance: serde_json::Value = serde_json::from_str(&sent).expect("json");
    assert_eq!(instance["seq_id"], 1);
    let got = ok(&baton(dir.path())
        .args(["signal", "get", "cli/go", "latest", "--db", &db])
        .output()
        .unwrap());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got).unwrap()["params"],
        serde_json::json!({"n": 2, "who": "ann"})
    );

    // The triggered run was stored; `resume` finishes it if `signal send` did not.
    ok(&baton(dir.path())
        .args(["resume", "--db", &db])
        .output()
        .unwrap());
    let runs = sql(&format!(
        "SELECT initiator_type, status, instance FROM {schema}.workflow_instance \
         WHERE workflow_id = 'pg-signal-wf' ORDER BY instance_id"
    ));
    assert_eq!(runs.len(), 2, "the manual run and the triggered one");
    assert_eq!(runs[1].get::<_, String>(0), "SIGNAL");
    assert_eq!(runs[1].get::<_, String>(1), "SUCCEEDED");
    let doc: serde_json::Value = serde_json::from_str(&runs[1].get::<_, String>(2)).unwrap();
    assert_eq!(doc["params"]["who"]["evaluated_result"], "ann");

    let listed = ok(&baton(dir.path())
        .args(["triggers", "list", "--json", "--db", &db])
        .output()
        .unwrap());
    let triggers: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let triggers = triggers.as_array().unwrap();
    assert_eq!(triggers.len(), 1, "{triggers:?}");
    assert_eq!(triggers[0]["kind"], "SIGNAL");
    assert_eq!(triggers[0]["checkpoints"], serde_json::json!({"cli/go": 1}));

    // A SQLite file that does not exist is not created by the reading commands.
    let missing = dir.path().join("missing.db");
    let out = baton(dir.path())
        .args(["triggers", "list", "--db"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!missing.exists());
}
