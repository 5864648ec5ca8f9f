//! Measures the store's hot write — the narrow update of one step attempt, what every step
//! transition costs — first one write at a time (commit latency), then from many concurrent
//! writers (group-commit throughput). A measuring tool, not a test; `baton bench` drives the
//! whole engine, this isolates the store:
//!
//! ```text
//! cargo run --release -p baton-store --example write_bench -- <db> [--writers N] [--seconds S]
//! ```
//!
//! `<db>` is a PostgreSQL URL (the bench works in a fresh schema and drops it afterwards) or a
//! SQLite file path (created; `synchronous=FULL`).

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_store::postgres::{PgOptions, PgStore};
use baton_store::sqlite::{SqliteOptions, SqliteStore};
use baton_store::{
    NewInstance, NewVersion, RunKey, StepAttemptKey, StepAttemptWrite, Store, WriteOp,
};

type AnyResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

struct Args {
    db: String,
    writers: usize,
    seconds: f64,
}

fn parse_args() -> AnyResult<Args> {
    let mut args = std::env::args().skip(1);
    let mut db = None;
    let mut writers = 50;
    let mut seconds = 5.0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--writers" => writers = args.next().ok_or("--writers needs a value")?.parse()?,
            "--seconds" => seconds = args.next().ok_or("--seconds needs a value")?.parse()?,
            _ if db.is_none() => db = Some(arg),
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    Ok(Args {
        db: db
            .ok_or("usage: write_bench <postgres-url|sqlite-path> [--writers N] [--seconds S]")?,
        writers: writers.max(1),
        seconds,
    })
}

fn main() -> AnyResult<()> {
    let args = parse_args()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// The store under test and, for PostgreSQL, what is needed to report on and clean up after it.
struct Target {
    store: Arc<dyn Store>,
    pg: Option<(PgStore, tokio_postgres::Client)>,
}

async fn open(db: &str) -> AnyResult<Target> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let (client, connection) = tokio_postgres::connect(db, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let schema = format!("baton_bench_{:08x}", fastrand::u32(..));
        let store = PgStore::connect(
            db,
            PgOptions {
                schema: Some(schema),
                ..PgOptions::default()
            },
        )
        .await?;
        for setting in [
            "server_version",
            "synchronous_commit",
            "fsync",
            "shared_buffers",
        ] {
            let value: String = client
                .query_one(&format!("SHOW {setting}"), &[])
                .await?
                .get(0);
            println!("postgres {setting} = {value}");
        }
        Ok(Target {
            store: Arc::new(store.clone()),
            pg: Some((store, client)),
        })
    } else {
        let store = SqliteStore::open(db, SqliteOptions::default())?;
        Ok(Target {
            store: Arc::new(store),
            pg: None,
        })
    }
}

fn attempt(run: &RunKey, status: &str, instance: Option<&str>) -> StepAttemptWrite {
    StepAttemptWrite {
        key: StepAttemptKey {
            run: run.clone(),
            step_id: "step".to_string(),
            attempt_id: 1,
        },
        step_instance_id: 1,
        step_uuid: format!("{}-step-1", run.instance_id),
        status: status.to_string(),
        create_ts: 1,
        start_ts: Some(2),
        end_ts: None,
        modify_ts: 3,
        instance: instance.map(str::to_string),
        runtime_state: format!(r#"{{"status":"{status}","modify_time":3}}"#),
        artifacts: None,
        timeline: None,
        dependencies: None,
        outputs: None,
    }
}

/// One workflow, one run per writer, one step attempt per run.
async fn set_up(store: &dyn Store, writers: usize) -> AnyResult<Vec<RunKey>> {
    let workflow_id = format!("bench_{:08x}", fastrand::u32(..));
    store
        .write(vec![WriteOp::PutVersion(NewVersion {
            workflow_id: workflow_id.clone(),
            expected_latest_version_id: 0,
            metadata: "{}".to_string(),
            definition: r#"{"id":"bench","steps":[]}"#.to_string(),
            trigger_uuids: None,
            activate: true,
            activated_by: None,
            properties_snapshot: Some("{}".to_string()),
            properties_change: None,
            ts: 1,
        })])
        .await?;
    let mut runs = Vec::with_capacity(writers);
    for i in 0..writers {
        let instance_id = i as i64 + 1;
        store
            .write(vec![WriteOp::CreateInstance(NewInstance {
                workflow_id: workflow_id.clone(),
                instance_id: Some(instance_id),
                run_id: 1,
                uuid: format!("run-{i}"),
                correlation_id: None,
                initiator_type: "MANUAL".to_string(),
                depth: 0,
                parent: None,
                group_id: 0,
                status: "IN_PROGRESS".to_string(),
                queued: false,
                create_ts: 1,
                start_ts: Some(1),
                end_ts: None,
                instance: "{}".to_string(),
                timeline: None,
            })])
            .await?;
        let run = RunKey {
            workflow_id: workflow_id.clone(),
            instance_id,
            run_id: 1,
        };
        store
            .write(vec![WriteOp::UpsertStepAttempt(attempt(
                &run,
                "CREATED",
                Some(r#"{"step_id":"step"}"#),
            ))])
            .await?;
        runs.push(run);
    }
    Ok(runs)
}

/// Every writer updates its own attempt in a loop until the time is up; returns the latencies.
async fn hammer(store: &Arc<dyn Store>, runs: &[RunKey], seconds: f64) -> AnyResult<Vec<Duration>> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = runs
        .iter()
        .cloned()
        .map(|run| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let status = if n.is_multiple_of(2) {
                        "RUNNING"
                    } else {
                        "FINISHING"
                    };
                    n += 1;
                    let started = Instant::now();
                    store
                        .write(vec![WriteOp::UpsertStepAttempt(attempt(
                            &run, status, None,
                        ))])
                        .await?;
                    latencies.push(started.elapsed());
                }
                Ok::<_, baton_store::StoreError>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

fn report(label: &str, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{label}: {} writes in {:.2} s = {:.0} writes/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        pick(1.0).as_secs_f64() * 1e3,
    );
}

async fn run(args: Args) -> AnyResult<()> {
    let target = open(&args.db).await?;
    println!("store: {}", target.store.describe());
    let runs = set_up(&*target.store, args.writers).await?;
    let phases = [("1 writer", 1), ("concurrent writers", args.writers)];
    for (label, writers) in phases {
        let before = target.pg.as_ref().map(|(s, _)| s.writer_stats());
        let started = Instant::now();
        let latencies = hammer(&target.store, &runs[..writers], args.seconds).await?;
        let elapsed = started.elapsed();
        report(&format!("{label} ({writers})"), latencies, elapsed);
        if let (Some((store, _)), Some(before)) = (&target.pg, before) {
            let after = store.writer_stats();
            let commits = after.commits - before.commits;
            let ops = after.ops - before.ops;
            println!(
                "  {commits} commits = {:.0} commits/s, {:.1} rows per commit",
                commits as f64 / elapsed.as_secs_f64(),
                ops as f64 / commits.max(1) as f64
            );
        }
    }
    if let Some((store, client)) = target.pg {
        let schema = store.schema().to_string();
        drop(store);
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
    }
    Ok(())
}
