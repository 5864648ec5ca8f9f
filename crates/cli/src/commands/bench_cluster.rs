//! `baton bench cluster`: end-to-end throughput of running servers, one or several nodes of a
//! cluster, driven over HTTP. Unlike the other scenarios it starts no engine of its own: it
//! pushes W chain workflows through the first server, spreads N starts round-robin over the
//! servers with C concurrent clients, and polls until every instance has ended. The figures
//! (starts/s, completed steps/s, start latency) compare a single node with several nodes on
//! the same database, which is what the cluster is for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::util::percentile;

/// Settings of the scenario.
#[derive(Debug, Clone)]
pub struct ClusterLoad {
    pub servers: Vec<String>,
    pub instances: usize,
    pub steps: usize,
    pub workflows: usize,
    pub concurrency: usize,
    /// Seconds to wait for the instances to end after the last start.
    pub timeout: u64,
}

/// Runs the scenario and returns its figures.
pub async fn run(load: ClusterLoad) -> anyhow::Result<Value> {
    if load.servers.is_empty() {
        bail!("--servers names no server");
    }
    if load.instances == 0 || load.steps == 0 || load.workflows == 0 || load.concurrency == 0 {
        bail!("--instances, --steps, --workflows and --concurrency must be at least 1");
    }
    let servers: Vec<String> = load
        .servers
        .iter()
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(load.concurrency)
        .build()?;
    // A fresh prefix per run, so repeated runs on one database do not mix their instances.
    let prefix = format!("bench-cluster-{}", std::process::id());
    for w in 0..load.workflows {
        let steps: Vec<Value> = (0..load.steps)
            .map(|i| {
                let mut step = json!({"id": format!("s{i}"), "type": "NoOp"});
                if i + 1 < load.steps {
                    step["transition"] = json!({"successors": {format!("s{}", i + 1): "true"}});
                }
                json!({"step": step})
            })
            .collect();
        let body = json!({
            "properties": {"owner": "bench", "step_concurrency": 1000,
                "run_strategy": {"rule": "PARALLEL", "workflow_concurrency": 1000}},
            "workflow": {"id": format!("{prefix}-{w}"), "instance_step_concurrency": 999, "steps": steps},
        });
        let r = http
            .post(format!("{}/api/v3/workflows", servers[0]))
            .header("user", "bench")
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| format!("cannot reach {}", servers[0]))?;
        if !r.status().is_success() {
            bail!("push failed: {}", r.text().await?);
        }
    }
    println!(
        "cluster: {} servers, {} instances of a {}-step chain over {} workflows, {} clients",
        servers.len(),
        load.instances,
        load.steps,
        load.workflows,
        load.concurrency
    );

    let next = Arc::new(AtomicUsize::new(0));
    let servers = Arc::new(servers);
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..load.concurrency {
        let (next, servers, http, prefix) =
            (next.clone(), servers.clone(), http.clone(), prefix.clone());
        let (instances, workflows) = (load.instances, load.workflows);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= instances {
                    break;
                }
                let url = format!(
                    "{}/api/v3/workflows/{prefix}-{}/versions/latest/actions/start",
                    servers[i % servers.len()],
                    i % workflows
                );
                let t = Instant::now();
                let sent = http
                    .post(url)
                    .header("user", "bench")
                    .header("Content-Type", "application/json")
                    .body(r#"{"initiator": {"type": "manual"}}"#)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    Ok(r) => errors.push(format!(
                        "{}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => errors.push(e.to_string()),
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for w in workers {
        let (l, e) = w.await.context("a load worker failed")?;
        latencies.extend(l);
        errors.extend(e);
    }
    let start_elapsed = began.elapsed();
    if let Some(first) = errors.first() {
        println!("{} starts failed, the first: {first}", errors.len());
    }
    let started = latencies.len() - errors.len();

    // Poll every workflow's instance list until all started instances have ended.
    let deadline = Instant::now() + Duration::from_secs(load.timeout);
    let (mut ended, mut succeeded);
    loop {
        (ended, succeeded) = (0usize, 0usize);
        for w in 0..load.workflows {
            let (e, s) = count_ended(&http, &servers[0], &format!("{prefix}-{w}")).await?;
            ended += e;
            succeeded += s;
        }
        if ended >= started || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total = began.elapsed();
    latencies.sort_by(f64::total_cmp);
    let steps_done = succeeded * load.steps;
    let figures = json!({
        "scenario": "cluster",
        "servers": servers.len(),
        "instances": load.instances,
        "steps_per_instance": load.steps,
        "workflows": load.workflows,
        "concurrency": load.concurrency,
        "start_errors": errors.len(),
        "starts_per_s": (started as f64 / start_elapsed.as_secs_f64().max(1e-9)).round(),
        "start_p50_ms": round3(percentile(&latencies, 0.50)),
        "start_p99_ms": round3(percentile(&latencies, 0.99)),
        "ended": ended,
        "succeeded": succeeded,
        "seconds": round3(total.as_secs_f64()),
        "steps_per_s": (steps_done as f64 / total.as_secs_f64().max(1e-9)).round(),
    });
    println!(
        "starts: {} in {:.2} s; all ended after {:.2} s: {succeeded}/{started} succeeded, {} steps/s",
        started,
        start_elapsed.as_secs_f64(),
        total.as_secs_f64(),
        figures["steps_per_s"]
    );
    Ok(figures)
}

/// (ended, succeeded) instances of a workflow, paging through its instance list (newest
/// first, 200 at a time; the latest run of each).
async fn count_ended(
    http: &reqwest::Client,
    server: &str,
    workflow: &str,
) -> anyhow::Result<(usize, usize)> {
    let (mut ended, mut succeeded) = (0, 0);
    let mut cursor: Option<i64> = None;
    loop {
        let mut url = format!("{server}/api/v3/workflows/{workflow}/instances?first=200");
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let text = http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("cannot reach {server}"))?
            .text()
            .await
            .with_context(|| format!("cannot read the answer to GET {url}"))?;
        let page: Value = serde_json::from_str(&text)
            .with_context(|| format!("the answer to GET {url} is not JSON: {text}"))?;
        let Some(items) = page["elements"].as_array() else {
            bail!("GET {url}: no `elements` in {page}");
        };
        for item in items {
            match item["status"].as_str().unwrap_or("") {
                "SUCCEEDED" => {
                    ended += 1;
                    succeeded += 1;
                }
                "FAILED" | "STOPPED" | "TIMED_OUT" => ended += 1,
                _ => {}
            }
        }
        let last = items
            .last()
            .and_then(|i| i["workflow_instance_id"].as_i64());
        match last {
            Some(id) if items.len() == 200 && id > 1 => cursor = Some(id),
            _ => return Ok((ended, succeeded)),
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
