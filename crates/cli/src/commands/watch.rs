//! `baton watch WORKFLOW INSTANCE`: follows an instance until it is terminal, printing each
//! step's status changes as they happen, then the final table. Exits 0 only if it SUCCEEDED.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use super::client::{Client, ClientArgs, block_on, print_json, seg};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow id.
    pub workflow: String,
    /// The instance id.
    pub instance: i64,
    /// Milliseconds between polls.
    #[arg(long, default_value_t = 500)]
    pub interval: u64,
    #[command(flatten)]
    pub client: ClientArgs,
}

const TERMINAL: &[&str] = &["SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT"];

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    block_on(watch(args))
}

async fn watch(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let wid = seg(&args.workflow);
    let iid = args.instance;
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut last_status = String::new();
    let instance = loop {
        let instance = client
            .get(&format!(
                "/api/v3/workflows/{wid}/instances/{iid}?enriched=false"
            ))
            .await?;
        let status = instance["aggregated_info"]["workflow_instance_status"]
            .as_str()
            .or(instance["status"].as_str())
            .unwrap_or("UNKNOWN")
            .to_string();
        if !client.json {
            if status != last_status {
                println!("{} instance {iid}: {status}", args.workflow);
                last_status = status.clone();
            }
            if let Some(views) = instance["aggregated_info"]["step_aggregated_views"].as_object() {
                for (step, view) in views {
                    let s = view["status"].as_str().unwrap_or("UNKNOWN");
                    if s == "NOT_CREATED" {
                        continue;
                    }
                    if seen.get(step).map(String::as_str) != Some(s) {
                        println!("  {step} -> {s}");
                        seen.insert(step.clone(), s.to_string());
                    }
                }
            }
        }
        if TERMINAL.contains(&status.as_str()) {
            break instance;
        }
        tokio::time::sleep(Duration::from_millis(args.interval.max(10))).await;
    };
    let steps = client
        .get(&format!(
            "/api/v3/workflows/{wid}/instances/{iid}/steps?enriched=false"
        ))
        .await?;
    if client.json {
        print_json(&serde_json::json!({"workflow_instance": instance, "step_instances": steps}))?;
    } else {
        super::status::print_instance(&instance, &steps);
    }
    Ok(if instance["status"] == "SUCCEEDED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
