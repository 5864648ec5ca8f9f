//! `baton resume --db FILE|URL`: finishes what an interrupted `baton run` (or a crashed process)
//! left behind. The engine resumes every unfinished run in the store; this command waits for
//! them to end and reports how they ended.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use baton_engine::{Engine, EngineConfig};

#[derive(clap::Args)]
pub struct Args {
    /// The database of the interrupted runs: a SQLite file, `sqlite://PATH`, or a PostgreSQL
    /// URL.
    #[arg(long, env = "BATON_DB")]
    pub db: String,
    /// Print every resumed run and its step attempts as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let (store, path) = super::server::open_existing_store(&args.db).await?;
    let pending = store.list_active_runs().await?;
    let work_dir = PathBuf::from(format!("{}.work", path.display()));
    let engine = Engine::start(store, EngineConfig::new(work_dir)).await?;
    let mut all_succeeded = true;
    let mut report = Vec::new();
    for row in &pending {
        let key = &row.key;
        let instance = loop {
            let wi = engine
                .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
                .await?;
            if wi.status.is_terminal() {
                break wi;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        all_succeeded &= instance.status.as_str() == "SUCCEEDED";
        if args.json {
            let attempts = engine.get_step_attempts(key).await?;
            report.push(serde_json::json!({
                "workflow_instance": instance,
                "step_instances": attempts,
            }));
        } else {
            println!(
                "{} instance {} run {}: {}",
                key.workflow_id,
                key.instance_id,
                key.run_id,
                instance.status.as_str()
            );
        }
    }
    engine.shutdown(Duration::from_secs(5)).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": report }))?
        );
    } else if pending.is_empty() {
        println!("nothing to resume");
    }
    Ok(if all_succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
