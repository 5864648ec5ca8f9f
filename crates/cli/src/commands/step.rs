//! `baton step stop|kill|skip WORKFLOW INSTANCE STEP [--run N] [--reason TEXT]`: step actions
//! through the server (maestro-api.md §1.10). The server acts on the instance's latest run;
//! `--run` states which run the caller means, and a mismatch is refused before anything is
//! sent.

use std::process::ExitCode;

use super::client::{Client, ClientArgs, block_on, cell, print_json, seg};

#[derive(clap::Subcommand)]
pub enum StepCommand {
    /// Stop a step (it ends STOPPED).
    Stop(Args),
    /// Kill a step (it ends FATALLY_FAILED; its failure mode applies).
    Kill(Args),
    /// Skip a step (it ends SKIPPED; downstream continues).
    Skip(Args),
}

#[derive(clap::Args)]
pub struct Args {
    /// The workflow id.
    pub workflow: String,
    /// The instance id.
    pub instance: i64,
    /// The step id.
    pub step: String,
    /// The run meant (must be the latest; step actions act on the latest run).
    #[arg(long)]
    pub run: Option<i64>,
    /// Why, recorded in the step's timeline.
    #[arg(long)]
    pub reason: Option<String>,
    /// Return once the server has the action instead of waiting for the step to react.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(cmd: StepCommand) -> anyhow::Result<ExitCode> {
    let (action, args) = match cmd {
        StepCommand::Stop(a) => ("stop", a),
        StepCommand::Kill(a) => ("kill", a),
        StepCommand::Skip(a) => ("skip", a),
    };
    block_on(async move {
        let client = Client::new(&args.client)?;
        let wid = seg(&args.workflow);
        let iid = args.instance;
        if let Some(run) = args.run {
            let latest = client
                .get(&format!("/api/v3/workflows/{wid}/instances/{iid}"))
                .await?;
            let latest_run = latest["workflow_run_id"].as_i64().unwrap_or(0);
            if latest_run != run {
                anyhow::bail!(
                    "run {run} of instance {iid} is not its latest run ({latest_run}); step actions act on the latest run"
                );
            }
        }
        let mut path = format!(
            "/api/v3/workflows/{wid}/instances/{iid}/steps/{}/actions/{action}?blocking={}",
            seg(&args.step),
            !args.no_wait
        );
        if let Some(r) = &args.reason {
            path.push_str(&format!("&reason={}", seg(r)));
        }
        let resp = client.put(&path).await?;
        if client.json {
            print_json(&resp)?;
        } else {
            let state = &resp["step_runtime_state"]["status"];
            println!(
                "{} instance {} run {} step {} attempt {}: {}",
                cell(&resp["workflow_id"]),
                cell(&resp["workflow_instance_id"]),
                cell(&resp["workflow_run_id"]),
                cell(&resp["step_id"]),
                cell(&resp["step_attempt_id"]),
                if state.is_null() {
                    format!("{action} accepted")
                } else {
                    cell(state)
                }
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
