//! `baton bench api`: load on the HTTP API over loopback. An in-process server on a free port
//! (the same router `baton server` serves) and N concurrent keep-alive clients: first they start
//! instances of a one-step workflow (`POST …/actions/start`), then they read instances (`GET
//! …/instances/{id}`, the Python SDK's call, aggregated and enriched). Each phase stops at a
//! request count or a time limit, whichever comes first. Client and server share the machine's
//! cores, so the figures are what one box serves to local callers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_engine::Engine;
use serde_json::{Value, json};

use super::util::percentile;

/// Settings of the scenario.
#[derive(Debug, Clone, Copy)]
pub struct ApiLoad {
    pub requests: usize,
    pub concurrency: usize,
    pub seconds: u64,
    /// Workflows the starts are spread over (run-strategy queues are per workflow).
    pub workflows: usize,
}

struct Phase {
    latencies_ms: Vec<f64>,
    errors: usize,
    elapsed: Duration,
}

impl Phase {
    fn figures(&mut self) -> Value {
        self.latencies_ms.sort_by(f64::total_cmp);
        let n = self.latencies_ms.len();
        json!({
            "requests": n,
            "errors": self.errors,
            "seconds": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "req_per_s": (n as f64 / self.elapsed.as_secs_f64().max(1e-9)).round(),
            "p50_ms": round3(percentile(&self.latencies_ms, 0.50)),
            "p99_ms": round3(percentile(&self.latencies_ms, 0.99)),
            "max_ms": round3(self.latencies_ms.last().copied().unwrap_or(0.0)),
        })
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Where the starts of a workflow go when several servers are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Route {
    /// Round-robin over the servers, as a load balancer would: in a cluster, the requests
    /// that reach a node not owning the workflow are forwarded by it.
    Spread,
    /// Each workflow's starts go to the node owning its group (read from `/api/v3/cluster`).
    Owner,
}

/// Runs the scenario on `engine` (an in-process server) and returns its figures.
pub async fn run(engine: &Engine, load: ApiLoad) -> anyhow::Result<Value> {
    if load.concurrency == 0 || load.requests == 0 {
        bail!("--concurrency and --requests must be at least 1");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = baton_server::app(engine.clone(), baton_server::ServerOptions::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(baton_server::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let figures = drive(&[base], load, Route::Spread, Some(engine)).await;
    let _ = stop.send(());
    let _ = server.await;
    figures
}

/// Runs the scenario against running `baton server` processes (e.g. the nodes of a cluster).
pub async fn run_remote(servers: &[String], load: ApiLoad, route: Route) -> anyhow::Result<Value> {
    if load.concurrency == 0 || load.requests == 0 {
        bail!("--concurrency and --requests must be at least 1");
    }
    let bases: Vec<String> = servers
        .iter()
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    drive(&bases, load, route, None).await
}

/// The server each workflow's starts go to.
async fn targets(
    http: &reqwest::Client,
    bases: &[String],
    workflows: usize,
    route: Route,
) -> anyhow::Result<Vec<Vec<String>>> {
    if route == Route::Spread {
        return Ok(vec![bases.to_vec(); workflows]);
    }
    let view: Value = serde_json::from_str(
        &http
            .get(format!("{}/api/v3/cluster", bases[0]))
            .send()
            .await?
            .text()
            .await?,
    )?;
    let groups = view["node"]["groups"].as_i64().unwrap_or(1);
    let owners: Vec<(i64, String)> = view["groups"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| {
                    Some((
                        g["group_id"].as_i64()?,
                        g["owner_address"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((0..workflows)
        .map(|w| {
            let group = baton_engine::cluster::group_of_workflow(&format!("api-bench-{w}"), groups);
            match owners.iter().find(|(g, _)| *g == group) {
                Some((_, owner)) => vec![owner.clone()],
                None => bases.to_vec(),
            }
        })
        .collect())
}

async fn drive(
    bases: &[String],
    load: ApiLoad,
    route: Route,
    engine: Option<&Engine>,
) -> anyhow::Result<Value> {
    let base = bases[0].clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(load.concurrency)
        .build()?;
    let workflows = load.workflows.max(1);
    for w in 0..workflows {
        let created = http
            .post(format!("{base}/api/v3/workflows"))
            .header("user", "bench")
            .header("Content-Type", "application/json")
            .body(
                json!({
                    "properties": {"owner": "bench", "run_strategy": {"rule": "PARALLEL", "workflow_concurrency": 1000}},
                    "workflow": {"id": format!("api-bench-{w}"), "steps": [{"step": {"id": "only", "type": "NoOp"}}]}
                })
                .to_string(),
            )
            .send()
            .await?;
        if !created.status().is_success() {
            bail!("push failed: {}", created.text().await?);
        }
    }
    println!(
        "api: {} requests or {} s per phase, {} concurrent clients, {workflows} workflow(s), servers {}, route {route:?}",
        load.requests,
        load.seconds,
        load.concurrency,
        bases.join(" ")
    );

    let start_urls: Arc<Vec<Vec<String>>> = Arc::new(
        targets(&http, bases, workflows, route)
            .await?
            .into_iter()
            .enumerate()
            .map(|(w, servers)| {
                servers
                    .iter()
                    .map(|s| {
                        format!("{s}/api/v3/workflows/api-bench-{w}/versions/latest/actions/start")
                    })
                    .collect()
            })
            .collect(),
    );
    let mut starts = phase(load, {
        let http = http.clone();
        move |i| {
            let http = http.clone();
            let urls = &start_urls[i % workflows];
            let url = urls[(i / workflows) % urls.len()].clone();
            async move {
                let r = http
                    .post(url)
                    .header("user", "bench")
                    .header("Content-Type", "application/json")
                    .body(r#"{"initiator": {"type": "manual"}}"#)
                    .send()
                    .await?;
                let ok = r.status().is_success();
                r.bytes().await?;
                Ok(ok)
            }
        }
    })
    .await?;
    let started = starts.latencies_ms.len() - starts.errors;
    println!(
        "start: {} requests in {:.2} s",
        starts.latencies_ms.len(),
        starts.elapsed.as_secs_f64()
    );
    // Let the runs finish so the reads see settled instances.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live = match engine {
            Some(engine) => engine.live_runs(),
            None => {
                let mut live = 0;
                for b in bases {
                    let health: Value = serde_json::from_str(
                        &http.get(format!("{b}/health")).send().await?.text().await?,
                    )?;
                    live += health["live_runs"].as_u64().unwrap_or(0) as usize;
                }
                live
            }
        };
        if live == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Instance ids of each workflow run 1..=started/workflows.
    let per_workflow = (started / workflows).max(1);
    let get_bases: Arc<Vec<String>> = Arc::new(
        bases
            .iter()
            .map(|b| format!("{b}/api/v3/workflows/api-bench-"))
            .collect(),
    );
    let mut gets = phase(load, {
        let http = http.clone();
        move |i| {
            let http = http.clone();
            let get_base = &get_bases[i % get_bases.len()];
            let url = format!(
                "{get_base}{}/instances/{}",
                i % workflows,
                (i / workflows) % per_workflow + 1
            );
            async move {
                let r = http.get(url).send().await?;
                let ok = r.status().is_success();
                r.bytes().await?;
                Ok(ok)
            }
        }
    })
    .await?;
    println!(
        "get-instance: {} requests in {:.2} s",
        gets.latencies_ms.len(),
        gets.elapsed.as_secs_f64()
    );
    let start_figures = starts.figures();
    let get_figures = gets.figures();
    for (name, f) in [("start", &start_figures), ("get-instance", &get_figures)] {
        println!(
            "{name:>12}: {} req/s, p50 {} ms, p99 {} ms, max {} ms, {} errors",
            f["req_per_s"], f["p50_ms"], f["p99_ms"], f["max_ms"], f["errors"]
        );
    }
    Ok(json!({
        "scenario": "api",
        "servers": bases.len(),
        "route": format!("{route:?}"),
        "concurrency": load.concurrency,
        "workflows": workflows,
        "start": start_figures,
        "get_instance": get_figures,
    }))
}

/// Runs `request(i)` from `concurrency` workers until `requests` were sent or time is up.
async fn phase<F, Fut>(load: ApiLoad, request: F) -> anyhow::Result<Phase>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let deadline = began + Duration::from_secs(load.seconds.max(1));
    let mut workers = Vec::new();
    for _ in 0..load.concurrency {
        let next = next.clone();
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= load.requests || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                match request(i).await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => errors += 1,
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (latencies, errors)
        }));
    }
    let mut out = Phase {
        latencies_ms: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for w in workers {
        let (l, e) = w.await.context("a load worker failed")?;
        out.latencies_ms.extend(l);
        out.errors += e;
    }
    out.elapsed = began.elapsed();
    Ok(out)
}
