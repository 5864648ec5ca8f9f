//! Crash safety of a foreach: `baton run` is killed with SIGKILL while iterations are in flight,
//! then `baton resume` on the same store finishes the loop. No iteration is lost, none is
//! created twice, and no iteration's step runs twice.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ITERATIONS: i64 = 60;

fn baton() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baton"))
}

fn open(db: &Path) -> Option<rusqlite::Connection> {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()
}

/// (instance id, run id, status) of every iteration row.
fn iterations(db: &Path) -> Vec<(i64, i64, String)> {
    let Some(conn) = open(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT instance_id, run_id, status FROM workflow_instance \
         WHERE workflow_id LIKE 'maestro_foreach%' ORDER BY instance_id, run_id",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// (iteration, attempt, status) of every attempt of the body step.
fn body_attempts(db: &Path) -> Vec<(i64, i64, String)> {
    let Some(conn) = open(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT workflow_instance_id, step_attempt_id, status FROM step_instance \
         WHERE workflow_id LIKE 'maestro_foreach%' AND step_id = 'nap' \
         ORDER BY workflow_instance_id, step_attempt_id",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

fn write_workflow(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("loop.json");
    let json = serde_json::json!({
        "properties": {"owner": "tester", "step_concurrency": 6},
        "workflow": {"id": "crash-loop", "steps": [
            {"foreach": {"id": "loop", "concurrency": 6,
                "params": {"loop_params": {"type": "MAP", "value": {
                    "i": {"expression": format!("Util.intsBetween(0, {ITERATIONS}, 1)"), "type": "LONG_ARRAY"}}}},
                "steps": [{"step": {"id": "nap", "type": "Sleep",
                    "params": {"sleep_seconds": {"value": 0.05, "type": "DOUBLE"}}}}]}}
        ]}
    });
    std::fs::write(&path, json.to_string()).expect("write workflow");
    path
}

fn kill_then_resume(dir: &Path, kill_when: impl Fn(&[(i64, i64, String)]) -> bool) {
    let db = dir.join("baton.db");
    let wf = write_workflow(dir);
    let mut child = baton()
        .args(["run", "--db"])
        .arg(&db)
        .arg(&wf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn baton run");
    let begin = Instant::now();
    while !kill_when(&iterations(&db)) && begin.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let at_kill = iterations(&db);
    let done = at_kill.iter().filter(|r| r.2 == "SUCCEEDED").count() as i64;
    assert!(done < ITERATIONS, "the loop finished before the kill");
    let out = baton()
        .args(["resume", "--db"])
        .arg(&db)
        .output()
        .expect("run baton resume");
    assert!(
        out.status.success(),
        "resume: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_every_iteration_ran_once(db: &Path) {
    let its = iterations(db);
    let ids: Vec<i64> = its.iter().map(|r| r.0).collect();
    assert_eq!(
        ids,
        (1..=ITERATIONS).collect::<Vec<_>>(),
        "iterations: {its:?}"
    );
    for (id, run, status) in &its {
        assert_eq!((*run, status.as_str()), (1, "SUCCEEDED"), "iteration {id}");
    }
    let attempts = body_attempts(db);
    assert_eq!(
        attempts.len() as i64,
        ITERATIONS,
        "one attempt per iteration: {attempts:?}"
    );
    assert!(attempts.iter().all(|a| a.1 == 1 && a.2 == "SUCCEEDED"));
    // The root finished with every iteration counted.
    let conn = open(db).expect("db");
    let root: String = conn
        .query_row(
            "SELECT status FROM workflow_instance WHERE workflow_id = 'crash-loop'",
            [],
            |r| r.get(0),
        )
        .expect("root");
    assert_eq!(root, "SUCCEEDED");
    let artifacts: String = conn
        .query_row(
            "SELECT artifacts FROM step_instance WHERE workflow_id = 'crash-loop' AND step_id = 'loop'",
            [],
            |r| r.get(0),
        )
        .expect("foreach artifact");
    let a: serde_json::Value = serde_json::from_str(&artifacts).unwrap();
    let f = &a["maestro_foreach"];
    assert_eq!(f["next_loop_index"], ITERATIONS);
    assert_eq!(f["foreach_overview"]["stats"]["SUCCEEDED"], ITERATIONS);
    assert_eq!(
        f["foreach_overview"]["details"]["SUCCEEDED"],
        serde_json::json!([[1, ITERATIONS]])
    );
}

#[test]
fn a_foreach_killed_at_many_moments_resumes_without_losing_or_repeating_iterations() {
    for done_before_kill in [0usize, 7, 25, 50] {
        let dir = tempfile::tempdir().unwrap();
        kill_then_resume(dir.path(), |rows| {
            !rows.is_empty()
                && rows.iter().filter(|r| r.2 == "SUCCEEDED").count() >= done_before_kill
        });
        assert_every_iteration_ran_once(&dir.path().join("baton.db"));
    }
}
