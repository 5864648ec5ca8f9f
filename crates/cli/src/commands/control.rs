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
    /// What runs again: `incomplete` (the default: what did not complete and what lies
    /// downstream of it) or `beginning` (everything); with `--step`, the policy for what lies
    /// downstream of the step.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<String>,
    /// Same as `--policy beginning`.
    #[arg(long, conflicts_with = "policy")]
    pub from_beginning: bool,
    /// Restart from this step: a new attempt of it if the run is still active, else a new run
    /// from it (RESTART_FROM_SPECIFIC).
    #[arg(long, value_name = "STEP")]
    pub step: Option<String>,
    /// A run param `NAME=VALUE` (repeatable), typed by the instance's declarations; with
    /// `--step`, a param of that step.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Maestro's name of a restart policy from the command line's.
fn restart_policy(args: &RestartArgs) -> anyhow::Result<&'static str> {
    if args.from_beginning {
        return Ok("RESTART_FROM_BEGINNING");
    }
    match args
        .policy
        .as_deref()
        .map(|p| p.to_ascii_uppercase().replace('-', "_"))
        .as_deref()
    {
        None | Some("INCOMPLETE") | Some("RESTART_FROM_INCOMPLETE") => {
            Ok("RESTART_FROM_INCOMPLETE")
        }
        Some("BEGINNING") | Some("RESTART_FROM_BEGINNING") => Ok("RESTART_FROM_BEGINNING"),
        Some(_) => anyhow::bail!(
            "--policy {}: expected incomplete or beginning",
            args.policy.as_deref().unwrap_or_default()
        ),
    }
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

/// `restart`: an instance restart, or with `--step` a step restart.
pub fn restart(args: RestartArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let client = Client::new(&args.client)?;
        let policy = restart_policy(&args)?;
        let wid = seg(&args.workflow);
        let iid = args.instance;
        let mut params = None;
        if !args.params.is_empty() {
            // Typed by the declarations of the instance's own definition.
            let instance = client
                .get(&format!("/api/v3/workflows/{wid}/instances/{iid}"))
                .await?;
            let declared_json = match &args.step {
                None => instance["runtime_workflow"]["params"].clone(),
                Some(step) => instance["runtime_workflow"]["steps"]
                    .as_array()
                    .and_then(|steps| {
                        steps.iter().find_map(|s| {
                            s.as_object()
                                .and_then(|o| o.values().next())
                                .filter(|inner| inner["id"] == step.as_str())
                                .map(|inner| inner["params"].clone())
                        })
                    })
                    .unwrap_or_default(),
            };
            let declared: Option<baton_model::params::ParamMap> =
                serde_json::from_value(declared_json).ok();
            params = super::run::parse_params(&args.params, declared.as_ref())?;
        }
        let (path, mut body) = match &args.step {
            None => (
                format!("/api/v3/workflows/{wid}/instances/{iid}/actions/restart"),
                json!({"restart_policy": policy}),
            ),
            Some(step) => (
                format!(
                    "/api/v3/workflows/{wid}/instances/{iid}/steps/{}/actions/restart",
                    seg(step)
                ),
                json!({"restart_policy": policy}),
            ),
        };
        if let Some(p) = params {
            let key = if args.step.is_some() {
                "step_run_params"
            } else {
                "run_params"
            };
            body[key] = serde_json::to_value(p)?;
        }
        let resp = client.post_json(&path, &body).await?;
        if client.json {
            print_json(&resp)?;
        } else if let Some(step) = &args.step {
            let attempt = match resp.get("step_attempt_id") {
                Some(a) => format!(" attempt {}", cell(a)),
                None => String::new(),
            };
            println!(
                "restarted step {step} of {} instance {} in run {}{attempt}: {}",
                cell(&resp["workflow_id"]),
                cell(&resp["workflow_instance_id"]),
                cell(&resp["workflow_run_id"]),
                cell(&resp["status"])
            );
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
