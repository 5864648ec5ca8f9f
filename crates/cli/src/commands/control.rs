//! `baton stop|kill WORKFLOW [INSTANCE]` and `baton restart WORKFLOW INSTANCE`: run actions
//! through the server. Without an instance, stop and kill act on every unfinished run of the
//! workflow.

use std::process::ExitCode;

use serde_json::json;

use super::client::{Client, ClientArgs, block_on, cell, print_json, seg};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow id.
    pub workflow: String,
    /// An instance id (all unfinished runs of the workflow when absent).
    pub instance: Option<i64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args)]
pub struct RestartArgs {
    /// The workflow id.
    pub workflow: String,
    /// The instance id.
    pub instance: i64,
    /// Restart everything instead of what did not complete.
    #[arg(long)]
    pub from_beginning: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `stop` or `kill`.
pub fn terminate(args: Args, action: &'static str) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let client = Client::new(&args.client)?;
        let wid = seg(&args.workflow);
        let resp = match args.instance {
            Some(iid) => {
                client
                    .put(&format!(
                        "/api/v3/workflows/{wid}/instances/{iid}/actions/{action}"
                    ))
                    .await?
            }
            None => {
                client
                    .put(&format!("/api/v3/workflows/{wid}/actions/{action}"))
                    .await?
            }
        };
        if client.json {
            print_json(&resp)?;
        } else if args.instance.is_some() {
            println!(
                "{} instance {} run {}: {} ({})",
                cell(&resp["workflow_id"]),
                cell(&resp["workflow_instance_id"]),
                cell(&resp["workflow_run_id"]),
                cell(&resp["workflow_instance_status"]),
                cell(&resp["info"])
            );
        } else {
            println!("{}", cell(&resp["message"]));
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn restart(args: RestartArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let client = Client::new(&args.client)?;
        let policy = if args.from_beginning {
            "RESTART_FROM_BEGINNING"
        } else {
            "RESTART_FROM_INCOMPLETE"
        };
        let resp = client
            .post_json(
                &format!(
                    "/api/v3/workflows/{}/instances/{}/actions/restart",
                    seg(&args.workflow),
                    args.instance
                ),
                &json!({"restart_policy": policy}),
            )
            .await?;
        if client.json {
            print_json(&resp)?;
        } else {
            println!(
                "restarted {} instance {} as run {}: {}",
                cell(&resp["workflow_id"]),
                cell(&resp["workflow_instance_id"]),
                cell(&resp["workflow_run_id"]),
                cell(&resp["status"])
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
