//! Crash safety for real: `baton run` is killed with SIGKILL in the middle of a run, then
//! `baton resume` on the same store finishes it. Completed steps are never run again, and every
//! step ends with exactly one SUCCEEDED attempt.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn baton() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baton"))
}

/// Statuses of the latest attempt of each step, read straight from the SQLite file.
fn step_statuses(db: &Path) -> Vec<(String, i64, String)> {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare("SELECT step_id, step_attempt_id, status FROM step_instance ORDER BY step_instance_id, step_attempt_id") else {
        return Vec::new();
    };
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
    match rows {
        Ok(rows) => rows.filter_map(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

fn write_workflow(dir: &Path, steps: &str) -> std::path::PathBuf {
    let path = dir.join("wf.json");
    let json = format!(
        r#"{{"properties": {{"owner": "tester"}}, "workflow": {{"id": "crash-wf", "steps": [{steps}]}}}}"#
    );
    std::fs::write(&path, json).expect("write workflow");
    path
}

fn chain(steps: &[(&str, Option<f64>)]) -> String {
    let mut out = Vec::new();
    for (i, (id, sleep)) in steps.iter().enumerate() {
        let succ = match steps.get(i + 1) {
            Some((next, _)) => format!(r#"{{"{next}": "true"}}"#),
            None => "{}".to_string(),
        };
        let body = match sleep {
            Some(s) => format!(
                r#"{{"step": {{"id": "{id}", "type": "Sleep", "transition": {{"successors": {succ}}},
                   "params": {{"sleep_seconds": {{"value": {s}, "type": "DOUBLE"}}}}}}}}"#
            ),
            None => format!(
                r#"{{"step": {{"id": "{id}", "type": "NoOp", "transition": {{"successors": {succ}}}}}}}"#
            ),
        };
        out.push(body);
    }
    out.join(",")
}

/// Runs the workflow, kills the process when `kill_when` holds (or after `max_wait`), then
/// resumes. Returns the resume output.
fn run_kill_resume(
    dir: &Path,
    wf: &Path,
    kill_when: impl Fn(&[(String, i64, String)]) -> bool,
    max_wait: Duration,
) -> serde_json::Value {
    let db = dir.join("baton.db");
    let mut child = baton()
        .args(["run", "--db"])
        .arg(&db)
        .arg(wf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn baton run");
    let begin = Instant::now();
    loop {
        if kill_when(&step_statuses(&db)) || begin.elapsed() > max_wait {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    if !db.exists() {
        // Killed before the store was even created.
        return serde_json::json!({"runs": []});
    }
    let out = baton()
        .args(["resume", "--json", "--db"])
        .arg(&db)
        .output()
        .expect("run baton resume");
    assert!(
        out.status.code().is_some(),
        "resume crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "resume printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every step has exactly one SUCCEEDED attempt and nothing after it.
fn assert_each_step_succeeded_once(db: &Path, steps: &[&str]) {
    let rows = step_statuses(db);
    for id in steps {
        let attempts: Vec<&(String, i64, String)> = rows.iter().filter(|r| r.0 == *id).collect();
        let succeeded = attempts.iter().filter(|r| r.2 == "SUCCEEDED").count();
        assert_eq!(succeeded, 1, "step {id} attempts {attempts:?}");
        assert_eq!(
            attempts.last().map(|r| r.2.as_str()),
            Some("SUCCEEDED"),
            "step {id}: {attempts:?}"
        );
    }
}

#[test]
fn a_run_killed_while_a_step_sleeps_resumes_without_rerunning_finished_steps() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write_workflow(
        dir.path(),
        &chain(&[("a", None), ("b", Some(1.5)), ("c", None)]),
    );
    let resumed = run_kill_resume(
        dir.path(),
        &wf,
        |rows| rows.iter().any(|r| r.0 == "b" && r.2 == "RUNNING"),
        Duration::from_secs(20),
    );
    let runs = resumed["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run was interrupted: {resumed}");
    assert_eq!(runs[0]["workflow_instance"]["status"], "SUCCEEDED");
    let db = dir.path().join("baton.db");
    assert_each_step_succeeded_once(&db, &["a", "b", "c"]);
    // `a` finished before the crash: it has a single attempt.
    let a: Vec<_> = step_statuses(&db)
        .into_iter()
        .filter(|r| r.0 == "a")
        .collect();
    assert_eq!(a.len(), 1);
}

#[test]
fn kills_at_many_moments_never_lose_or_repeat_a_step() {
    let steps: Vec<(&str, Option<f64>)> = vec![
        ("s1", None),
        ("s2", Some(0.3)),
        ("s3", None),
        ("s4", None),
        ("s5", Some(0.3)),
        ("s6", None),
        ("s7", Some(0.2)),
        ("s8", None),
    ];
    let ids: Vec<&str> = steps.iter().map(|s| s.0).collect();
    for (i, delay_ms) in [0u64, 30, 120, 250, 400, 600, 800].iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let wf = write_workflow(dir.path(), &chain(&steps));
        let begin = Instant::now();
        let delay = Duration::from_millis(*delay_ms);
        let resumed = run_kill_resume(
            dir.path(),
            &wf,
            |_| begin.elapsed() >= delay,
            Duration::from_secs(20),
        );
        let db = dir.path().join("baton.db");
        let rows = step_statuses(&db);
        if rows.is_empty() {
            // Killed before the run was even created: nothing to resume, nothing lost.
            continue;
        }
        for run in resumed["runs"].as_array().into_iter().flatten() {
            assert_eq!(
                run["workflow_instance"]["status"], "SUCCEEDED",
                "case {i}: {run}"
            );
        }
        let finished = rows.iter().any(|r| r.0 == "s8" && r.2 == "SUCCEEDED");
        assert!(
            finished,
            "case {i} (kill after {delay_ms} ms) did not finish: {rows:?}"
        );
        assert_each_step_succeeded_once(&db, &ids);
    }
}
