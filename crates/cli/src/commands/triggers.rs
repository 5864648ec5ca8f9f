//! `baton triggers list`: every trigger of every workflow, whether it fires and why not, with
//! its state (time: last and next fire time; signal: checkpoints). Reads the store only: no
//! engine is started, so listing never fires a trigger. Like `baton signal`, it takes `--db`
//! now and is shaped for a `--server URL` variant later.

use std::process::ExitCode;

use anyhow::Context;

/// Trigger commands.
#[derive(clap::Subcommand)]
pub enum TriggersCommand {
    /// List triggers and their state.
    List(ListArgs),
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// The database: a SQLite file, `sqlite://PATH`, or a PostgreSQL URL.
    #[arg(long, env = "BATON_DB")]
    pub db: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: TriggersCommand) -> anyhow::Result<ExitCode> {
    let TriggersCommand::List(args) = cmd;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(list(args))
}

fn time_text(ms: Option<i64>) -> String {
    ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".to_string())
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let (store, _) = super::server::open_existing_store(&args.db).await?;
    let now = baton_engine::clock::now_millis();
    let triggers = baton_engine::triggers::list_triggers(store.as_ref(), now).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&triggers)?);
        return Ok(ExitCode::SUCCESS);
    }
    if triggers.is_empty() {
        println!("no triggers");
        return Ok(ExitCode::SUCCESS);
    }
    for t in &triggers {
        let state = if t.enabled {
            "enabled".to_string()
        } else {
            format!(
                "disabled ({})",
                t.disabled_reason.as_deref().unwrap_or("unknown")
            )
        };
        let detail = match t.kind.as_str() {
            "TIME" => format!(
                "last {} next {}",
                time_text(t.last_fire_time),
                time_text(t.next_fire_time)
            ),
            _ => format!(
                "checkpoints {}",
                serde_json::to_string(&t.checkpoints).unwrap_or_default()
            ),
        };
        println!(
            "{}\t{}\t{}\t{}\t{}",
            t.workflow_id, t.kind, t.definition, state, detail
        );
    }
    Ok(ExitCode::SUCCESS)
}
