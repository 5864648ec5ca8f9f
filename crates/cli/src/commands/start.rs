//! `baton start WORKFLOW [--param NAME=VALUE]…`: starts an instance through the server. Param
//! values are typed by the workflow's declarations (read from the server), as `baton run` does.

use std::process::ExitCode;

use serde_json::json;

use super::client::{Client, ClientArgs, block_on, print_json, seg};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow id.
    pub workflow: String,
    /// The version to start: active, latest, default or a number.
    #[arg(long, default_value = "default")]
    pub version: String,
    /// A run param, `NAME=VALUE` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    block_on(start(args))
}

async fn start(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let wid = seg(&args.workflow);
    let version = seg(&args.version);
    let mut body = json!({"initiator": {"type": "manual"}});
    if !args.params.is_empty() {
        let def = client
            .get(&format!("/api/v3/workflows/{wid}/versions/{version}"))
            .await?;
        let declared: Option<baton_model::params::ParamMap> =
            serde_json::from_value(def["workflow"]["params"].clone()).ok();
        if let Some(params) = super::run::parse_params(&args.params, declared.as_ref())? {
            body["run_params"] = serde_json::to_value(params)?;
        }
    }
    let resp = client
        .post_json(
            &format!("/api/v3/workflows/{wid}/versions/{version}/actions/start"),
            &body,
        )
        .await?;
    if client.json {
        print_json(&resp)?;
    } else {
        println!(
            "started {} instance {} run {} (version {}): {}",
            resp["workflow_id"].as_str().unwrap_or("?"),
            resp["workflow_instance_id"],
            resp["workflow_run_id"],
            resp["workflow_version_id"],
            resp["status"].as_str().unwrap_or("?")
        );
    }
    Ok(ExitCode::SUCCESS)
}
