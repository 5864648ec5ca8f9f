//! `baton bench`: measures the engine's orchestration overhead on a real store. Each scenario
//! prints a human summary and, as its last line, one JSON object with the figures, so results can
//! be collected by scripts. These are benchmarks, never tests: nothing here asserts a speed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_engine::{Engine, EngineConfig, EngineEvent};
use baton_model::api::WorkflowStartRequest;
use baton_model::definition::WorkflowCreateRequest;
use baton_model::instance::{Initiator, StepInstanceStatus};
use baton_store::RunKey;
use baton_store::sqlite::{Durability, SqliteOptions, SqliteStore};
use serde_json::{Value, json};

use super::util::{current_user, percentile, rss_kb};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub scenario: Scenario,
    /// The database to use: a SQLite file, `sqlite://PATH`, or a PostgreSQL URL
    /// (`postgres://user@host:5432/db?schema=NAME`; use a fresh schema per run). Default: a
    /// temporary SQLite file.
    #[arg(long, global = true)]
    pub db: Option<String>,
    /// SQLite durability: `full` (every commit on disk, the default) or `normal`. PostgreSQL
    /// commits as the server's `synchronous_commit` says.
    #[arg(long, global = true, default_value = "full")]
    pub sync: String,
}

#[derive(clap::Subcommand)]
pub enum Scenario {
    /// One instance, N NoOp steps in a line: the overhead between a step's end and the next
    /// step's start.
    Chain {
        #[arg(long, default_value_t = 1000)]
        steps: usize,
    },
    /// One root, N parallel NoOp steps, one join: steps per second.
    Fanout {
        #[arg(long, default_value_t = 5000)]
        width: usize,
    },
    /// N one-step instances started back to back: start latency and instances per second.
    Starts {
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// N instances parked in a one-hour Sleep step: resident memory per running instance.
    Parked {
        #[arg(long, default_value_t = 10000)]
        count: usize,
    },
    /// HTTP load over loopback: start and get-instance requests per second and latency.
    Api {
        /// Requests per phase (at most).
        #[arg(long, default_value_t = 10000)]
        requests: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per phase (at most).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Workflows the starts are spread over.
        #[arg(long, default_value_t = 1)]
        workflows: usize,
        /// Drive running `baton server` processes (comma-separated base URLs, e.g. the nodes
        /// of a cluster) instead of an in-process server.
        #[arg(long, value_delimiter = ',')]
        servers: Vec<String>,
        /// With --servers: spread each workflow's starts over the servers (`spread`, as a load
        /// balancer) or send them to the node owning the workflow's group (`owner`).
        #[arg(long, value_enum, default_value = "spread")]
        route: super::bench_api::Route,
    },
    /// Signals accepted per second (announced and stored), and matched per second (each signal
    /// completes a signal-trigger match that creates a run; each wakes a waiting step).
    Signals {
        #[arg(long, default_value_t = 5000)]
        count: usize,
        /// Concurrent announcers.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Running servers (one node, or several nodes of a cluster) driven over HTTP: N
    /// instances of an S-step NoOp chain started round-robin across the servers; starts/s and
    /// completed steps/s end to end. Starts no engine of its own (`--db` is ignored).
    Cluster {
        /// The servers' base URLs, comma-separated (`http://127.0.0.1:8080,http://…:8081`).
        #[arg(long, value_delimiter = ',', required = true)]
        servers: Vec<String>,
        #[arg(long, default_value_t = 2000)]
        instances: usize,
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Workflows the instances are spread over (in a cluster, each lives on its group's
        /// owner).
        #[arg(long, default_value_t = 16)]
        workflows: usize,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds to wait for all instances to end.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// One foreach step of N NoOp iterations, C at a time: iterations per second and peak
    /// memory (which must not grow with N).
    Foreach {
        #[arg(long, default_value_t = 10000)]
        iterations: u64,
        #[arg(long, default_value_t = 100)]
        concurrency: u64,
    },
}

pub fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(run_async(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

struct Bench {
    engine: Engine,
    _temp: tempfile::TempDir,
}

async fn open(args: &Args) -> anyhow::Result<Bench> {
    let durability = match args.sync.as_str() {
        "full" => Durability::Full,
        "normal" => Durability::Normal,
        other => bail!("--sync {other}: expected full or normal"),
    };
    let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let store: Arc<dyn baton_store::Store> = match &args.db {
        Some(db) if super::server::is_postgres_url(db) => super::server::open_store(db).await?.0,
        db => {
            let path = match db {
                Some(db) => PathBuf::from(db.strip_prefix("sqlite://").unwrap_or(db)),
                None => temp.path().join("bench.db"),
            };
            Arc::new(SqliteStore::open(
                &path,
                SqliteOptions {
                    durability,
                    ..SqliteOptions::default()
                },
            )?)
        }
    };
    let mut config = EngineConfig::new(temp.path().join("work"));
    config.max_steps = 1_000_000;
    config.max_request_bytes = 1 << 30;
    let engine = Engine::start(store, config).await?;
    println!("store: {}", engine.store().describe());
    println!(
        "machine: {} cpus, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        std::env::consts::ARCH
    );
    Ok(Bench {
        engine,
        _temp: temp,
    })
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    if let Scenario::Cluster {
        servers,
        instances,
        steps,
        workflows,
        concurrency,
        timeout,
    } = &args.scenario
    {
        let load = super::bench_cluster::ClusterLoad {
            servers: servers.clone(),
            instances: *instances,
            steps: *steps,
            workflows: *workflows,
            concurrency: *concurrency,
            timeout: *timeout,
        };
        let figures = super::bench_cluster::run(load).await?;
        println!("{figures}");
        return Ok(());
    }
    let bench = open(&args).await?;
    let figures = match args.scenario {
        Scenario::Chain { steps } => chain(&bench.engine, steps).await?,
        Scenario::Fanout { width } => fanout(&bench.engine, width).await?,
        Scenario::Starts { count } => starts(&bench.engine, count).await?,
        Scenario::Parked { count } => parked(&bench.engine, count).await?,
        Scenario::Api {
            requests,
            concurrency,
            seconds,
            workflows,
            servers,
            route,
        } => {
            let load = super::bench_api::ApiLoad {
                requests,
                concurrency,
                seconds,
                workflows,
            };
            if servers.is_empty() {
                super::bench_api::run(&bench.engine, load).await?
            } else {
                super::bench_api::run_remote(&servers, load, route).await?
            }
        }
        Scenario::Signals { count, concurrency } => {
            super::bench_signals::signals(&bench.engine, count, concurrency).await?
        }
        Scenario::Foreach {
            iterations,
            concurrency,
        } => foreach(&bench.engine, iterations, concurrency).await?,
        Scenario::Cluster { .. } => bail!("the cluster scenario runs without an engine"),
    };
    bench.engine.shutdown(Duration::from_secs(10)).await;
    println!("{figures}");
    Ok(())
}

/// A bench workflow. Step concurrency limits (§4.3) are raised to their maximum: Maestro's
/// defaults (20 running steps per workflow, 20 per step id) would otherwise be what is measured.
fn workflow(id: &str, strategy: Value, steps: Vec<Value>) -> anyhow::Result<WorkflowCreateRequest> {
    let req = json!({
        "properties": {"owner": "bench", "run_strategy": strategy, "step_concurrency": 1000},
        "workflow": {"id": id, "instance_step_concurrency": 999, "steps": steps},
    });
    Ok(serde_json::from_value(req)?)
}

async fn push(engine: &Engine, req: WorkflowCreateRequest) -> anyhow::Result<()> {
    match engine.push_workflow(req, current_user()).await {
        Ok(_) => Ok(()),
        Err(baton_engine::EngineError::Invalid { message, errors }) => {
            let details: Vec<String> = errors
                .iter()
                .take(5)
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect();
            bail!("{message}: {}", details.join("; "))
        }
        Err(e) => Err(e.into()),
    }
}

fn noop(id: &str, successors: &[String]) -> Value {
    let succ: serde_json::Map<String, Value> = successors
        .iter()
        .map(|s| (s.clone(), json!("true")))
        .collect();
    json!({"step": {"id": id, "type": "NoOp", "transition": {"successors": succ}}})
}

fn start_request() -> WorkflowStartRequest {
    WorkflowStartRequest {
        initiator: Initiator::manual(Some(current_user())),
        request_time: None,
        request_id: None,
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: false,
    }
}

async fn start(engine: &Engine, workflow_id: &str) -> anyhow::Result<RunKey> {
    let r = engine
        .start_workflow(workflow_id, "latest", start_request(), None)
        .await?;
    Ok(RunKey {
        workflow_id: workflow_id.to_string(),
        instance_id: r.workflow_instance_id,
        run_id: r.workflow_run_id,
    })
}

async fn wait_terminal(engine: &Engine, key: &RunKey) -> anyhow::Result<()> {
    let mut events = engine.subscribe();
    loop {
        let wi = engine
            .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
            .await?;
        if wi.status.is_terminal() {
            if wi.status.as_str() != "SUCCEEDED" {
                bail!("run ended {}", wi.status.as_str());
            }
            return Ok(());
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                if let Ok(EngineEvent::Run { run, status }) = events.recv().await
                    && &run == key
                    && status.is_terminal()
                {
                    return;
                }
            }
        })
        .await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn chain(engine: &Engine, n: usize) -> anyhow::Result<Value> {
    let n = n.max(2);
    let ids: Vec<String> = (1..=n).map(|i| format!("s{i}")).collect();
    let steps = (0..n)
        .map(|i| noop(&ids[i], if i + 1 < n { &ids[i + 1..i + 2] } else { &[] }))
        .collect();
    push(engine, workflow("bench-chain", json!("sequential"), steps)?).await?;
    let mut events = engine.subscribe();
    let begin = Instant::now();
    let key = start(engine, "bench-chain").await?;
    // Microsecond view: when each step's success became durable (events come after commit).
    let collector = tokio::spawn(async move {
        let mut done: Vec<Instant> = Vec::with_capacity(n);
        while let Ok(ev) = events.recv().await {
            if let EngineEvent::Step { status, .. } = ev
                && status == StepInstanceStatus::Succeeded
            {
                done.push(Instant::now());
                if done.len() == n {
                    break;
                }
            }
        }
        done
    });
    wait_terminal(engine, &key).await?;
    let wall = begin.elapsed();
    let done = tokio::time::timeout(Duration::from_secs(5), collector)
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default();
    let mut attempts = engine.latest_attempts(&key).await?;
    attempts.sort_by_key(|s| s.step_instance_id);
    let mut overhead: Vec<f64> = attempts
        .windows(2)
        .filter_map(|w| {
            let end = w[0].runtime_state.end_time?;
            let start = w[1].runtime_state.start_time?;
            Some((start - end) as f64)
        })
        .collect();
    overhead.sort_by(f64::total_cmp);
    let mut cycle: Vec<f64> = done.windows(2).map(|w| ms(w[1] - w[0])).collect();
    cycle.sort_by(f64::total_cmp);
    let wall_ms = ms(wall);
    println!(
        "chain of {n} NoOp steps: {wall_ms:.0} ms wall, {:.3} ms per step",
        wall_ms / n as f64
    );
    println!(
        "step overhead from stored timestamps (ms resolution): p50 {} ms, p99 {} ms",
        percentile(&overhead, 0.5),
        percentile(&overhead, 0.99)
    );
    println!(
        "durable step-to-step cycle (µs resolution, from commit events): p50 {:.3} ms, p99 {:.3} ms",
        percentile(&cycle, 0.5),
        percentile(&cycle, 0.99)
    );
    Ok(json!({
        "scenario": "chain",
        "steps": n,
        "wall_ms": round(wall_ms),
        "step_overhead_ms_p50": percentile(&overhead, 0.5),
        "step_overhead_ms_p99": percentile(&overhead, 0.99),
        "step_cycle_ms_p50": round(percentile(&cycle, 0.5)),
        "step_cycle_ms_p99": round(percentile(&cycle, 0.99)),
    }))
}

async fn fanout(engine: &Engine, width: usize) -> anyhow::Result<Value> {
    let width = width.max(1);
    let mids: Vec<String> = (1..=width).map(|i| format!("m{i}")).collect();
    let mut steps = vec![noop("root", &mids)];
    for m in &mids {
        steps.push(noop(m, &["join".to_string()]));
    }
    steps.push(noop("join", &[]));
    push(
        engine,
        workflow("bench-fanout", json!("sequential"), steps)?,
    )
    .await?;
    let begin = Instant::now();
    let key = start(engine, "bench-fanout").await?;
    wait_terminal(engine, &key).await?;
    let wall = ms(begin.elapsed());
    let total = width + 2;
    let per_sec = total as f64 / (wall / 1000.0);
    println!(
        "fan-out of {width} NoOp steps (+ root and join): {wall:.0} ms wall, {per_sec:.0} steps/s"
    );
    Ok(json!({
        "scenario": "fanout",
        "width": width,
        "steps": total,
        "wall_ms": round(wall),
        "steps_per_sec": per_sec.round(),
    }))
}

async fn starts(engine: &Engine, count: usize) -> anyhow::Result<Value> {
    let count = count.max(1);
    engine
        .push_workflow(
            workflow(
                "bench-starts",
                json!({"rule": "parallel", "workflow_concurrency": 1000}),
                vec![noop("only", &[])],
            )?,
            current_user(),
        )
        .await?;
    let mut events = engine.subscribe();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let collector = tokio::spawn(async move {
        let mut first_step: HashMap<i64, Instant> = HashMap::new();
        let mut ended = 0usize;
        let mut last_end = Instant::now();
        let mut rx = rx;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(EngineEvent::Step { run, .. }) => {
                        first_step.entry(run.instance_id).or_insert_with(Instant::now);
                    }
                    Ok(EngineEvent::Run { status, .. }) if status.is_terminal() => {
                        ended += 1;
                        last_end = Instant::now();
                        if ended == count { break; }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                _ = &mut rx => {}
            }
        }
        (first_step, last_end)
    });
    let begin = Instant::now();
    let mut started: Vec<(i64, Instant)> = Vec::with_capacity(count);
    for _ in 0..count {
        let t0 = Instant::now();
        let key = start(engine, "bench-starts").await?;
        started.push((key.instance_id, t0));
    }
    let (first_step, last_end) = tokio::time::timeout(Duration::from_secs(300), collector)
        .await
        .context("instances did not finish within 300 s")??;
    drop(tx);
    let mut latency: Vec<f64> = started
        .iter()
        .filter_map(|(id, t0)| {
            first_step
                .get(id)
                .map(|t| ms(t.saturating_duration_since(*t0)))
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    let wall = ms(last_end - begin);
    let per_sec = count as f64 / (wall / 1000.0);
    println!(
        "{count} one-step instances: start to first step durable p50 {:.2} ms, p99 {:.2} ms; {per_sec:.0} instances/s",
        percentile(&latency, 0.5),
        percentile(&latency, 0.99)
    );
    Ok(json!({
        "scenario": "starts",
        "count": count,
        "wall_ms": round(wall),
        "start_ms_p50": round(percentile(&latency, 0.5)),
        "start_ms_p99": round(percentile(&latency, 0.99)),
        "instances_per_sec": per_sec.round(),
    }))
}

async fn parked(engine: &Engine, count: usize) -> anyhow::Result<Value> {
    let count = count.max(1);
    let step = json!({"step": {"id": "nap", "type": "Sleep",
        "params": {"sleep_seconds": {"value": 3600, "type": "LONG"}}}});
    engine
        .push_workflow(
            workflow(
                "bench-parked",
                json!({"rule": "parallel", "workflow_concurrency": 1000}),
                vec![step],
            )?,
            current_user(),
        )
        .await?;
    // Workflow concurrency is capped at 1000, so park instances across several workflows.
    let workflows = count.div_ceil(1000);
    for w in 1..workflows {
        let step = json!({"step": {"id": "nap", "type": "Sleep",
            "params": {"sleep_seconds": {"value": 3600, "type": "LONG"}}}});
        engine
            .push_workflow(
                workflow(
                    &format!("bench-parked-{w}"),
                    json!({"rule": "parallel", "workflow_concurrency": 1000}),
                    vec![step],
                )?,
                current_user(),
            )
            .await?;
    }
    let before = rss_kb().unwrap_or(0);
    let begin = Instant::now();
    for i in 0..count {
        let id = if i / 1000 == 0 {
            "bench-parked".to_string()
        } else {
            format!("bench-parked-{}", i / 1000)
        };
        start(engine, &id).await?;
    }
    // Wait until every run is live.
    let deadline = Instant::now() + Duration::from_secs(600);
    while engine.live_runs() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kb().unwrap_or(0);
    let per = (after.saturating_sub(before)) as f64 / count as f64;
    println!(
        "{count} instances parked in a Sleep step in {:.1} s: RSS {before} KB -> {after} KB, {per:.1} KB per instance",
        begin.elapsed().as_secs_f64()
    );
    Ok(json!({
        "scenario": "parked",
        "count": count,
        "live_runs": engine.live_runs(),
        "rss_before_kb": before,
        "rss_after_kb": after,
        "rss_per_instance_kb": round(per),
    }))
}

/// Two loop params whose cross product has exactly `n` elements, each short enough for SEL's
/// array limit.
fn loop_split(n: u64) -> anyhow::Result<(u64, u64)> {
    if n <= 10_000 {
        return Ok((n, 1));
    }
    (1..=10_000u64)
        .rev()
        .find(|a| n.is_multiple_of(*a) && n / a <= 10_000)
        .map(|a| (a, n / a))
        .with_context(|| format!("--iterations {n}: use a product of two numbers up to 10,000"))
}

async fn foreach(engine: &Engine, n: u64, concurrency: u64) -> anyhow::Result<Value> {
    let (a, b) = loop_split(n.max(1))?;
    let concurrency = concurrency.clamp(1, 500);
    let step = json!({"foreach": {"id": "loop", "concurrency": concurrency,
        "params": {"loop_params": {"type": "MAP", "value": {
            "a": {"expression": format!("Util.intsBetween(0, {a}, 1)"), "type": "LONG_ARRAY"},
            "b": {"expression": format!("Util.intsBetween(0, {b}, 1)"), "type": "LONG_ARRAY"}}}},
        "steps": [{"step": {"id": "job", "type": "NoOp"}}]}});
    // The foreach limit is min(concurrency, step_concurrency): raise the latter to match.
    let req: WorkflowCreateRequest = serde_json::from_value(json!({
        "properties": {"owner": "bench", "step_concurrency": concurrency},
        "workflow": {"id": "bench-foreach", "steps": [step]},
    }))?;
    push(engine, req).await?;
    let rss_before = rss_kb().unwrap_or(0);
    let begin = Instant::now();
    let key = start(engine, "bench-foreach").await?;
    // Progress: every 10% of the iterations.
    let mut events = engine.subscribe();
    let progress = tokio::spawn(async move {
        let mut ended = 0u64;
        let step = (n / 10).max(1);
        while let Ok(ev) = events.recv().await {
            if let EngineEvent::Run { run, status } = ev
                && run.workflow_id.starts_with("maestro_foreach")
                && status.is_terminal()
            {
                ended += 1;
                if ended.is_multiple_of(step) {
                    println!(
                        "  {ended} iterations in {:.1} s, RSS {} KB",
                        begin.elapsed().as_secs_f64(),
                        rss_kb().unwrap_or(0)
                    );
                }
            }
        }
    });
    wait_terminal(engine, &key).await?;
    let wall = begin.elapsed();
    progress.abort();
    let per_sec = n as f64 / wall.as_secs_f64();
    let peak = peak_rss_kb().unwrap_or(0);
    println!(
        "foreach of {n} NoOp iterations ({a} x {b}), concurrency {concurrency}: {:.1} s wall, {per_sec:.0} iterations/s, peak RSS {peak} KB (before {rss_before} KB)",
        wall.as_secs_f64()
    );
    Ok(json!({
        "scenario": "foreach",
        "iterations": n,
        "concurrency": concurrency,
        "wall_ms": round(ms(wall)),
        "iterations_per_sec": per_sec.round(),
        "peak_rss_kb": peak,
        "rss_before_kb": rss_before,
    }))
}

/// The peak resident set size of this process (VmHWM), in kilobytes.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
