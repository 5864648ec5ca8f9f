//! The curl walkthrough of Maestro's README, verbatim, against the real `baton server`: create
//! `sample-dag-test-1.json`, read `versions/latest`, start with `{"initiator": {"type":
//! "manual"}}`, poll `instances/1/runs/1` until SUCCEEDED, delete.

mod server_support;

use std::process::Command;
use std::time::{Duration, Instant};

use server_support::{ServerProcess, samples_dir};

fn curl(args: &str) -> (bool, serde_json::Value) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("curl -s --fail-with-body {args}"))
        .current_dir(samples_dir())
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.success(),
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[test]
fn readme_curl_walkthrough() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is not installed; skipping the walkthrough");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&dir.path().join("baton.db"));
    let base = server.base.clone();

    // The README's commands with its host replaced by the test server's.
    let (ok, created) = curl(&format!(
        r#"--header "user: tester" -X POST {base}/api/v3/workflows -H "Content-Type: application/json" -d @sample-dag-test-1.json"#
    ));
    assert!(ok, "{created}");
    let def = &created["workflow_definition"];
    assert_eq!(def["metadata"]["workflow_version_id"], 1);
    assert_eq!(def["is_active"], true);
    assert_eq!(def["is_latest"], true);
    assert_eq!(def["is_default"], true);
    assert!(def["internal_id"].as_i64().unwrap() >= 10000);
    assert_eq!(def["properties_snapshot"]["owner"], "tester");
    assert_eq!(
        def["properties_snapshot"]["run_strategy"]["rule"],
        "SEQUENTIAL"
    );
    assert_eq!(
        def["properties_snapshot"]["run_strategy"]["workflow_concurrency"],
        1
    );

    let (ok, latest) = curl(&format!(
        "-X GET {base}/api/v3/workflows/sample-dag-test-1/versions/latest"
    ));
    assert!(ok, "{latest}");
    assert_eq!(latest["workflow"]["id"], "sample-dag-test-1");

    let (ok, started) = curl(&format!(
        r#"--header "user: tester" -X POST {base}/api/v3/workflows/sample-dag-test-1/versions/latest/actions/start -H "Content-Type: application/json" -d '{{"initiator": {{"type": "manual"}}}}'"#
    ));
    assert!(ok, "{started}");
    assert_eq!(started["workflow_id"], "sample-dag-test-1");
    assert_eq!(started["workflow_version_id"], 1);
    assert_eq!(started["workflow_instance_id"], 1);
    assert_eq!(started["workflow_run_id"], 1);
    assert_eq!(started["status"], "CREATED");
    assert_eq!(started["timeline_event"]["type"], "LOG");
    assert_eq!(
        started["timeline_event"]["message"],
        "Manually run a new workflow instance by a user [tester]"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let instance = loop {
        let (ok, instance) = curl(&format!(
            "-X GET {base}/api/v3/workflows/sample-dag-test-1/instances/1/runs/1"
        ));
        assert!(ok, "{instance}");
        if instance["status"] == "SUCCEEDED" {
            break instance;
        }
        assert!(
            ["CREATED", "IN_PROGRESS"].contains(&instance["status"].as_str().unwrap()),
            "{}",
            instance["status"]
        );
        assert!(Instant::now() < deadline, "not SUCCEEDED in time");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(instance.get("aggregated_info").is_none());
    assert!(
        instance["runtime_overview"]["total_step_count"]
            .as_i64()
            .unwrap()
            > 0
    );

    let (ok, deleted) = curl(&format!(
        r#"--header "user: tester" -X DELETE {base}/api/v3/workflows/sample-dag-test-1"#
    ));
    assert!(ok, "{deleted}");
    assert_eq!(deleted["type"], "LOG");
    assert!(
        deleted["message"]
            .as_str()
            .unwrap()
            .contains("deleted by [tester]")
    );
    let (ok, gone) = curl(&format!(
        "-X GET {base}/api/v3/workflows/sample-dag-test-1/versions/latest"
    ));
    assert!(!ok);
    assert_eq!(gone["status"], "NOT_FOUND");
    assert!(server.terminate(), "the server exits 0 on SIGTERM");
}
