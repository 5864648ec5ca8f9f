//! Cluster failover with real processes: three `baton server --cluster` nodes share one
//! PostgreSQL schema with a 2 s lease. Workflows whose groups are spread over the three nodes
//! (a long foreach of Sleep/NoOp iterations among them) are pushed and started through nodes
//! that do not own them (the request is forwarded to the owner), then the node that owns the
//! foreach is SIGKILLed mid-run. The test checks that the survivors take its groups over within
//! the lease plus a margin, that every instance ends SUCCEEDED, and that nothing ran twice: every
//! step attempt id stays 1 (no step fails here) and every foreach iteration exists once.
//!
//! Needs PostgreSQL at `BATON_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); the test works in a fresh schema, dropped after.

mod server_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server_support::{ServerProcess, baton};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const GROUPS: i64 = 12;
const LEASE_MS: u64 = 2000;
const HEARTBEAT_MS: u64 = 250;
const ITERATIONS: usize = 40;

fn url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs SQL on the test database (in `schema` when given) and returns the rows as strings.
fn sql(schema: Option<&str>, query: &str) -> Vec<Vec<String>> {
    runtime().block_on(async {
        let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("the cluster test needs PostgreSQL at {}: {e}", url()));
        tokio::spawn(connection);
        if let Some(schema) = schema {
            client
                .batch_execute(&format!("SET search_path = {schema}"))
                .await
                .unwrap();
        }
        client
            .simple_query(query)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
}

/// Drops the test's schema when the test ends, passed or not.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            sql(None, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
        });
    }
}

fn start_node(db: &str, id: &str, work: &std::path::Path) -> ServerProcess {
    let child = baton()
        .args(["server", "--bind", "127.0.0.1:0", "--db", db, "--cluster"])
        .args(["--node-id", id, "--groups", &GROUPS.to_string()])
        .args(["--lease-ms", &LEASE_MS.to_string()])
        .args(["--heartbeat-ms", &HEARTBEAT_MS.to_string()])
        .arg("--work-dir")
        .arg(work.join(id))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start baton server");
    ServerProcess::from_child(child)
}

fn request(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let mut r = client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("user", "tester");
        if let Some(body) = body {
            r = r
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let answer = r.send().await.expect("request");
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
}

/// `(node id, held groups)` as a node reports it.
fn held(base: &str) -> (String, BTreeSet<i64>) {
    let (status, body) = request("GET", &format!("{base}/api/v3/cluster"), None);
    assert_eq!(status, 200, "{body}");
    let node = body["node"]["node_id"].as_str().unwrap_or("").to_string();
    let groups = body["node"]["held"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p[0].as_i64()).collect())
        .unwrap_or_default();
    (node, groups)
}

/// The first workflow id `prefix-N` whose group is one of `groups`.
fn id_in(prefix: &str, groups: &BTreeSet<i64>) -> String {
    (0..10_000)
        .map(|i| format!("{prefix}-{i}"))
        .find(|id| groups.contains(&baton_engine::cluster::group_of_workflow(id, GROUPS)))
        .expect("an id in the groups")
}

fn foreach_workflow(id: &str) -> Value {
    json!({
        "properties": {"owner": "tester", "step_concurrency": 20},
        "workflow": {"id": id, "steps": [
            {"foreach": {"id": "loop", "concurrency": 4,
                "params": {"loop_params": {"type": "MAP", "value": {
                    "i": {"expression": format!("Util.intsBetween(0, {ITERATIONS}, 1)"),
                          "type": "LONG_ARRAY"}}}},
                "transition": {"successors": {"done": "true"}},
                "steps": [
                    {"step": {"id": "nap", "type": "Sleep",
                        "params": {"sleep_seconds": {"value": 0.4, "type": "DOUBLE"}},
                        "transition": {"successors": {"tick": "true"}}}},
                    {"step": {"id": "tick", "type": "NoOp"}}
                ]}},
            {"step": {"id": "done", "type": "NoOp"}}
        ]}
    })
}

fn sleepy_workflow(id: &str) -> Value {
    json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": id, "steps": [
            {"step": {"id": "nap", "type": "Sleep",
                "params": {"sleep_seconds": {"value": 3, "type": "LONG"}},
                "transition": {"successors": {"after": "true"}}}},
            {"step": {"id": "after", "type": "NoOp"}}
        ]}
    })
}

#[test]
fn a_killed_node_s_runs_are_taken_over_within_the_lease_and_finish_once() {
    let schema = Schema(format!(
        "baton_cluster_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    let db = format!("{}?schema={}", url(), schema.0);
    let dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<ServerProcess> = ["n1", "n2", "n3"]
        .iter()
        .map(|id| start_node(&db, id, dir.path()))
        .collect();
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    // The three nodes settle on an even share (4 groups each).
    let deadline = Instant::now() + Duration::from_secs(15);
    let shares = loop {
        let shares: Vec<(String, BTreeSet<i64>)> = bases.iter().map(|b| held(b)).collect();
        if shares.iter().all(|(_, g)| g.len() == (GROUPS / 3) as usize) {
            break shares;
        }
        assert!(Instant::now() < deadline, "no even share: {shares:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let all: BTreeSet<i64> = shares.iter().flat_map(|(_, g)| g.iter().copied()).collect();
    assert_eq!(
        all.len(),
        GROUPS as usize,
        "every group has one owner: {shares:?}"
    );

    // A foreach owned by the victim (node 0), and two sleepy workflows per node.
    let victim = 0usize;
    let mut workflows: Vec<(String, Value)> = Vec::new();
    let foreach_id = id_in("loop", &shares[victim].1);
    workflows.push((foreach_id.clone(), foreach_workflow(&foreach_id)));
    for (n, (_, groups)) in shares.iter().enumerate() {
        for k in 0..2 {
            let id = id_in(&format!("nap{n}x{k}"), groups);
            workflows.push((id.clone(), sleepy_workflow(&id)));
        }
    }
    // Pushed and started through a node that does not own them: starts are forwarded.
    let mut started: Vec<(String, i64)> = Vec::new();
    for (i, (id, body)) in workflows.iter().enumerate() {
        let owner = shares
            .iter()
            .position(|(_, g)| g.contains(&baton_engine::cluster::group_of_workflow(id, GROUPS)))
            .unwrap();
        let via = &bases[(owner + 1 + i % 2) % 3];
        let (status, answer) = request(
            "POST",
            &format!("{via}/api/v3/workflows"),
            Some(body.clone()),
        );
        assert_eq!(status, 200, "push {id}: {answer}");
        let (status, answer) = request(
            "POST",
            &format!("{via}/api/v3/workflows/{id}/versions/latest/actions/start"),
            Some(json!({"initiator": {"type": "manual"}})),
        );
        assert_eq!(status, 200, "start {id} via a non-owner: {answer}");
        started.push((id.clone(), answer["workflow_instance_id"].as_i64().unwrap()));
    }

    // Kill the foreach's owner while iterations are in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = sql(
            Some(&schema.0),
            "SELECT count(*) FROM workflow_instance WHERE workflow_id LIKE 'maestro_foreach%' \
             AND status = 'SUCCEEDED'",
        )[0][0]
            .parse::<usize>()
            .unwrap();
        if done >= 4 {
            assert!(
                done < ITERATIONS / 2,
                "the foreach was nearly over before the kill"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the foreach did not progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    let victim_groups = shares[victim].1.clone();
    nodes[victim].child.kill().expect("SIGKILL the victim");
    let killed = Instant::now();
    let _ = nodes[victim].child.wait();

    // The survivors take every group over within the lease plus a margin.
    let survivors: Vec<&String> = bases
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, b)| b)
        .collect();
    let takeover = loop {
        let held_now: BTreeSet<i64> = survivors.iter().flat_map(|b| held(b).1).collect();
        if victim_groups.is_subset(&held_now) {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the victim's groups were not taken over"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("takeover of {victim_groups:?} after {takeover:?}");
    assert!(
        takeover < Duration::from_millis(LEASE_MS) + Duration::from_millis(2 * HEARTBEAT_MS + 1000),
        "takeover took {takeover:?}"
    );

    // Every instance ends SUCCEEDED (read through a survivor).
    let deadline = Instant::now() + Duration::from_secs(40);
    for (id, instance) in &started {
        loop {
            let (status, body) = request(
                "GET",
                &format!(
                    "{}/api/v3/workflows/{id}/instances/{instance}",
                    survivors[0]
                ),
                None,
            );
            assert_eq!(status, 200, "{body}");
            let state = body["status"].as_str().unwrap_or("").to_string();
            if state == "SUCCEEDED" {
                break;
            }
            assert!(
                !matches!(state.as_str(), "FAILED" | "STOPPED" | "TIMED_OUT"),
                "{id} ended {state}: {body}"
            );
            assert!(Instant::now() < deadline, "{id} is still {state}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Nothing ran twice: one attempt per step, one run per iteration, every iteration once.
    let retried = sql(
        Some(&schema.0),
        "SELECT workflow_id, workflow_instance_id, step_id, step_attempt_id, status \
         FROM step_instance WHERE step_attempt_id <> 1",
    );
    assert!(retried.is_empty(), "steps ran again: {retried:?}");
    let runs = sql(
        Some(&schema.0),
        "SELECT workflow_id, instance_id, count(*) FROM workflow_instance \
         GROUP BY workflow_id, instance_id HAVING count(*) > 1",
    );
    assert!(runs.is_empty(), "instances with several runs: {runs:?}");
    let iterations: BTreeMap<String, String> = sql(
        Some(&schema.0),
        "SELECT instance_id, status FROM workflow_instance WHERE workflow_id LIKE 'maestro_foreach%'",
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    assert_eq!(iterations.len(), ITERATIONS, "{iterations:?}");
    assert!(
        iterations.values().all(|s| s == "SUCCEEDED"),
        "{iterations:?}"
    );
    let steps_per_iteration = sql(
        Some(&schema.0),
        "SELECT count(*) FROM step_instance WHERE workflow_id LIKE 'maestro_foreach%'",
    )[0][0]
        .parse::<usize>()
        .unwrap();
    assert_eq!(steps_per_iteration, ITERATIONS * 2);
    // The runs of the victim's groups were written by a new generation: the groups moved.
    let generations = sql(
        Some(&schema.0),
        &format!(
            "SELECT min(generation) FROM flow_group WHERE group_id IN ({})",
            victim_groups
                .iter()
                .map(|g| g.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    assert!(generations[0][0].parse::<i64>().unwrap() >= 2);

    for (i, node) in nodes.iter_mut().enumerate() {
        if i != victim {
            assert!(node.terminate(), "node {i} did not stop cleanly");
        }
    }
}

/// A signal announced on one node reaches a step waiting for it on another (PostgreSQL
/// LISTEN/NOTIFY wakes the owner, which reads the signal from the store).
#[test]
fn a_signal_announced_on_one_node_wakes_a_step_waiting_on_another() {
    let schema = Schema(format!(
        "baton_cluster_sig_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    let db = format!("{}?schema={}", url(), schema.0);
    let dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<ServerProcess> = ["s1", "s2"]
        .iter()
        .map(|id| start_node(&db, id, dir.path()))
        .collect();
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    let shares = loop {
        let shares: Vec<(String, BTreeSet<i64>)> = bases.iter().map(|b| held(b)).collect();
        if shares.iter().all(|(_, g)| g.len() == (GROUPS / 2) as usize) {
            break shares;
        }
        assert!(Instant::now() < deadline, "no even share: {shares:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let id = id_in("waiter", &shares[0].1);
    let body = json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": id, "steps": [
            {"step": {"id": "wait", "type": "NoOp",
                "signal_dependencies": [{"name": "cluster/go"}],
                "transition": {"successors": {"after": "true"}}}},
            {"step": {"id": "after", "type": "NoOp"}}
        ]}
    });
    let (status, answer) = request(
        "POST",
        &format!("{}/api/v3/workflows", bases[0]),
        Some(body),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = request(
        "POST",
        &format!(
            "{}/api/v3/workflows/{id}/versions/latest/actions/start",
            bases[0]
        ),
        Some(json!({"initiator": {"type": "manual"}})),
    );
    assert_eq!(status, 200, "{answer}");
    let instance = answer["workflow_instance_id"].as_i64().unwrap();
    let status_of = |base: &str| {
        request(
            "GET",
            &format!("{base}/api/v3/workflows/{id}/instances/{instance}"),
            None,
        )
        .1["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status_of(&bases[1]), "IN_PROGRESS", "waits for the signal");
    // Announced on the node that does not run the instance.
    let (status, answer) = request(
        "POST",
        &format!("{}/api/v3/signals", bases[1]),
        Some(json!({"name": "cluster/go"})),
    );
    assert_eq!(status, 200, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_of(&bases[1]) != "SUCCEEDED" {
        assert!(
            Instant::now() < deadline,
            "the waiting step never heard the signal"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for node in nodes.iter_mut() {
        assert!(node.terminate(), "a node did not stop cleanly");
    }
}
