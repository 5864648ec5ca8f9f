//! `baton breakpoint add|list|delete|paused|resume`: step breakpoints through the server
//! (maestro-api.md §1.11).

use std::process::ExitCode;

use reqwest::Method;
use serde_json::json;

use super::client::{Client, ClientArgs, block_on, cell, print_json, print_table, seg};

const BASE: &str = "/api/v3/workflows/steps/breakpoints";

#[derive(clap::Subcommand)]
pub enum BreakpointCommand {
    /// Pause every attempt of a step (loop body steps: of every iteration) at INITIALIZED.
    Add(StepArgs),
    /// List a step's breakpoints.
    List(StepArgs),
    /// Remove a step's breakpoints and resume the attempts paused at them.
    Delete(DeleteArgs),
    /// List paused attempts (of a step, of a workflow, or all).
    Paused(PausedArgs),
    /// Resume one paused attempt.
    Resume(ResumeArgs),
}

#[derive(clap::Args)]
pub struct StepArgs {
    /// The workflow id.
    pub workflow: String,
    /// The step id.
    pub step: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    /// The workflow id.
    pub workflow: String,
    /// The step id.
    pub step: String,
    /// Keep the paused attempts paused.
    #[arg(long)]
    pub keep_paused: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args)]
pub struct PausedArgs {
    /// The workflow id the breakpoints are on.
    pub workflow: Option<String>,
    /// The step id.
    pub step: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args)]
pub struct ResumeArgs {
    /// The workflow id of the paused run (an iteration's own id for a loop body step).
    pub workflow: String,
    /// The instance id.
    pub instance: i64,
    /// The step id.
    pub step: String,
    /// The attempt id.
    pub attempt: i64,
    /// The run (the latest when absent).
    #[arg(long)]
    pub run: Option<i64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(cmd: BreakpointCommand) -> anyhow::Result<ExitCode> {
    block_on(async move {
        match cmd {
            BreakpointCommand::Add(a) => {
                let client = Client::new(&a.client)?;
                let resp = client
                    .post_json(BASE, &json!({"workflow_id": a.workflow, "step_id": a.step}))
                    .await?;
                if client.json {
                    print_json(&resp)?;
                } else {
                    println!(
                        "breakpoint on {} step {}",
                        cell(&resp["workflow_id"]),
                        cell(&resp["step_id"])
                    );
                }
            }
            BreakpointCommand::List(a) => {
                let client = Client::new(&a.client)?;
                let resp = client
                    .get(&format!(
                        "{BASE}?workflowId={}&stepId={}",
                        seg(&a.workflow),
                        seg(&a.step)
                    ))
                    .await?;
                if client.json {
                    print_json(&resp)?;
                } else {
                    let rows: Vec<Vec<String>> = resp
                        .as_array()
                        .map(|a| a.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .map(|b| {
                            vec![
                                cell(&b["workflow_id"]),
                                cell(&b["step_id"]),
                                cell(&b["created_by"]),
                                cell(&b["create_time"]),
                            ]
                        })
                        .collect();
                    print_table(&["WORKFLOW", "STEP", "BY", "CREATED"], &rows);
                }
            }
            BreakpointCommand::Delete(a) => {
                let client = Client::new(&a.client)?;
                let resp = client
                    .send(
                        Method::DELETE,
                        &format!(
                            "{BASE}?workflowId={}&stepId={}&resume={}",
                            seg(&a.workflow),
                            seg(&a.step),
                            !a.keep_paused
                        ),
                        None,
                    )
                    .await?;
                if client.json {
                    print_json(&resp)?;
                } else {
                    println!("{}", cell(&resp["timeline_event"]["message"]));
                }
            }
            BreakpointCommand::Paused(a) => {
                let client = Client::new(&a.client)?;
                let mut path = format!("{BASE}/paused-step-attempts");
                let mut sep = '?';
                if let Some(w) = &a.workflow {
                    path.push_str(&format!("{sep}workflowId={}", seg(w)));
                    sep = '&';
                }
                if let Some(s) = &a.step {
                    path.push_str(&format!("{sep}stepId={}", seg(s)));
                }
                let resp = client.get(&path).await?;
                if client.json {
                    print_json(&resp)?;
                } else {
                    let rows: Vec<Vec<String>> = resp
                        .as_array()
                        .map(|a| a.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .map(|p| {
                            vec![
                                cell(&p["workflow_id"]),
                                cell(&p["workflow_instance_id"]),
                                cell(&p["workflow_run_id"]),
                                cell(&p["step_id"]),
                                cell(&p["step_attempt_id"]),
                            ]
                        })
                        .collect();
                    print_table(&["WORKFLOW", "INSTANCE", "RUN", "STEP", "ATTEMPT"], &rows);
                }
            }
            BreakpointCommand::Resume(a) => {
                let client = Client::new(&a.client)?;
                let run = a
                    .run
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "latest".into());
                let resp = client
                    .put(&format!(
                        "{BASE}/{}/instances/{}/runs/{run}/steps/{}/attempts/{}/actions/resume",
                        seg(&a.workflow),
                        a.instance,
                        seg(&a.step),
                        a.attempt
                    ))
                    .await?;
                if client.json {
                    print_json(&resp)?;
                } else {
                    println!(
                        "resumed {} instance {} run {} step {} attempt {}",
                        cell(&resp["workflow_id"]),
                        cell(&resp["workflow_instance_id"]),
                        cell(&resp["workflow_run_id"]),
                        cell(&resp["step_id"]),
                        cell(&resp["step_attempt_id"])
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
