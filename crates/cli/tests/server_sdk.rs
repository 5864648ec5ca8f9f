//! Netflix's Python SDK (`maestro-sdk` from PyPI, installed in a virtual environment under the
//! system temp dir) drives the real `baton server`: push a YAML workflow, start it with run
//! params, watch it to completion, read the instance — using exactly the SDK's own calls.
//!
//! The SDK's `watch.py` needs Python 3.12+ (it nests quotes in an f-string); with an older
//! interpreter the test polls through the SDK's `get_instance`, as `watch` does. Set
//! `BATON_TEST_PYTHON` to choose the interpreter.

mod server_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use server_support::ServerProcess;

/// Python interpreters to try, best first.
fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(p) = std::env::var("BATON_TEST_PYTHON") {
        out.push(PathBuf::from(p));
    }
    for name in ["python3.13", "python3.12"] {
        out.push(PathBuf::from(name));
    }
    if let Ok(home) = std::env::var("HOME")
        && let Ok(entries) = std::fs::read_dir(Path::new(&home).join(".pyenv/versions"))
    {
        let mut versions: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        versions.sort();
        versions.reverse();
        out.extend(versions.into_iter().map(|v| v.join("bin/python3")));
    }
    out.push(PathBuf::from("python3"));
    out
}

/// The newest usable interpreter: (path, minor version).
fn find_python() -> Option<(PathBuf, u32)> {
    let mut best: Option<(PathBuf, u32)> = None;
    for p in candidates() {
        let Ok(out) = Command::new(&p)
            .args([
                "-c",
                "import sys, venv; print(sys.version_info[0], sys.version_info[1])",
            ])
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut it = text.split_whitespace();
        let (Some("3"), Some(minor)) = (it.next(), it.next().and_then(|m| m.parse::<u32>().ok()))
        else {
            continue;
        };
        if minor >= 10 && best.as_ref().is_none_or(|(_, m)| minor > *m) {
            best = Some((p, minor));
        }
        if minor >= 12 {
            break;
        }
    }
    best
}

/// A virtual environment with `maestro-sdk`, made once per interpreter version and reused.
fn sdk_python() -> PathBuf {
    let (python, minor) = find_python().expect("a Python 3.10+ interpreter with venv");
    let venv = std::env::temp_dir().join(format!("baton-test-maestro-sdk-py3{minor}"));
    let bin = venv.join("bin/python");
    let ready = Command::new(&bin)
        .args(["-c", "import maestro.client.client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let made = Command::new(&python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .expect("python -m venv");
        assert!(made.success(), "cannot create the virtual environment");
        let installed = Command::new(&bin)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "maestro-sdk",
            ])
            .status()
            .expect("pip install");
        assert!(
            installed.success(),
            "pip install maestro-sdk failed (PyPI must be reachable)"
        );
    }
    bin
}

const WORKFLOW_YAML: &str = "\
Workflow:
  id: sdk-wf
  name: driven by the Python SDK
  owner: tester
  foo: default
  jobs:
    - job:
        id: first
        type: NoOp
    - job:
        id: nap
        type: Sleep
        sleep_seconds: 1
    - job:
        id: last
        type: NoOp
  dag: sequential
";

const SCRIPT: &str = r#"
import contextlib, io, json, sys, time
from maestro.client.client import MaestroClient

base, yaml_path = sys.argv[1], sys.argv[2]
client = MaestroClient(base_url=base, user="tester")
out = {}
out["validate"] = client.validate(yaml_path)
out["push"] = client.push(yaml_path)
started = client.start(workflow_id="sdk-wf", run_params={"foo": {"value": "bar", "type": "STRING"}})
out["start"] = started
iid = started["workflow_instance_id"]
try:
    from maestro.client.watch import watch_workflow
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        watch_workflow(client, "sdk-wf", iid, poll_interval=1)
    out["watch"] = buf.getvalue()
except SyntaxError:
    # watch.py needs Python 3.12+: poll as it does.
    while True:
        wi = client.get_instance("sdk-wf", iid)
        status = wi.get("aggregated_info", {}).get("workflow_instance_status")
        if status in ("TIMED_OUT", "STOPPED", "FAILED", "SUCCEEDED"):
            break
        time.sleep(0.2)
    out["watch"] = None
out["instance"] = client.get_instance("sdk-wf", iid)
out["run"] = client.get_instance("sdk-wf", iid, run_id=1)
out["step"] = client.get_instance("sdk-wf", iid, step_id="nap")
out["attempt"] = client.get_instance("sdk-wf", iid, run_id=1, step_id="nap", attempt_id=1)
out["workflow"] = client.get_workflow("sdk-wf", version="latest")
out["missing"] = client.get_instance("sdk-wf", 99)
out["stop_done"] = client.stop("sdk-wf", iid)
print(json.dumps(out))
"#;

#[test]
fn python_sdk_drives_the_server() {
    if std::env::var_os("BATON_SKIP_SDK_TEST").is_some() {
        eprintln!("BATON_SKIP_SDK_TEST is set; skipping");
        return;
    }
    let python = sdk_python();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("sdk-wf.yaml");
    std::fs::write(&yaml, WORKFLOW_YAML).unwrap();
    let script = dir.path().join("drive.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut server = ServerProcess::start(&dir.path().join("baton.db"));
    let out = Command::new(&python)
        .arg(&script)
        .arg(&server.base)
        .arg(&yaml)
        .output()
        .expect("run the SDK script");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(r["validate"]["action"], "VALIDATE", "{}", r["validate"]);
    let def = &r["push"]["workflow_definition"];
    assert_eq!(def["metadata"]["workflow_id"], "sdk-wf");
    assert_eq!(def["workflow"]["steps"].as_array().unwrap().len(), 3);
    assert_eq!(r["start"]["status"], "CREATED");
    assert_eq!(r["start"]["workflow_instance_id"], 1);

    let instance = &r["instance"];
    assert_eq!(instance["status"], "SUCCEEDED");
    assert_eq!(
        instance["aggregated_info"]["workflow_instance_status"],
        "SUCCEEDED"
    );
    let views = instance["aggregated_info"]["step_aggregated_views"]
        .as_object()
        .unwrap();
    assert_eq!(views.keys().collect::<Vec<_>>(), ["first", "nap", "last"]);
    assert_eq!(instance["params"]["foo"]["evaluated_result"], "bar");
    assert_eq!(instance["run_params"]["foo"]["value"], "bar");
    if let Some(watch) = r["watch"].as_str() {
        assert!(
            watch.contains("Watching workflow instance [sdk-wf][1]"),
            "{watch}"
        );
        assert!(watch.contains("nap -> SUCCEEDED"), "{watch}");
        assert!(
            watch.contains("completed with status [SUCCEEDED]"),
            "{watch}"
        );
    }
    assert_eq!(r["run"]["workflow_run_id"], 1);
    assert!(r["run"].get("aggregated_info").is_none());
    assert_eq!(r["step"]["step_id"], "nap");
    assert_eq!(r["step"]["runtime_state"]["status"], "SUCCEEDED");
    assert_eq!(r["attempt"]["step_attempt_id"], 1);
    assert_eq!(r["workflow"]["metadata"]["workflow_version_id"], 1);
    // The SDK's watch treats this error body as terminal.
    assert_eq!(r["missing"]["status"], "NOT_FOUND");
    // Stopping a SUCCEEDED instance is refused, as in Maestro.
    assert_eq!(r["stop_done"]["status"], "BAD_REQUEST");
    assert!(
        r["stop_done"]["message"]
            .as_str()
            .unwrap()
            .contains("Cannot terminate")
    );
    assert!(server.terminate());
}
