//! `baton status WORKFLOW [INSTANCE]` and `baton list [WORKFLOW]`: a workflow's overview and
//! recent instances, one instance with its steps, every workflow, or a workflow's instances.

use std::process::ExitCode;

use serde_json::Value;

use super::client::{Client, ClientArgs, block_on, cell, print_json, print_table, seg, span};

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The workflow id.
    pub workflow: String,
    /// An instance id (its latest run and steps are shown).
    pub instance: Option<i64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// List this workflow's instances instead of the workflows.
    pub workflow: Option<String>,
    /// How many to show (1..=200).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let client = Client::new(&args.client)?;
        let wid = seg(&args.workflow);
        match args.instance {
            Some(iid) => instance_status(&client, &wid, iid).await,
            None => workflow_status(&client, &wid).await,
        }
    })
}

pub fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let client = Client::new(&args.client)?;
        let limit = args.limit.clamp(1, 200);
        match &args.workflow {
            Some(w) => {
                let page = client
                    .get(&format!(
                        "/api/v3/workflows/{}/instances?first={limit}&aggregated=false",
                        seg(w)
                    ))
                    .await?;
                if client.json {
                    print_json(&page)?;
                } else {
                    print_instances(&page["elements"]);
                }
            }
            None => {
                let resp = client
                    .get(&format!("/api/v3/workflows?limit={limit}"))
                    .await?;
                if client.json {
                    print_json(&resp)?;
                } else {
                    let rows: Vec<Vec<String>> = resp["workflows"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|w| {
                            vec![
                                cell(&w["workflow_id"]),
                                match w["active_version_id"].as_i64() {
                                    Some(0) | None => "-".into(),
                                    Some(v) => v.to_string(),
                                },
                                cell(&w["latest_version_id"]),
                                cell(&w["latest_instance_id"]),
                                cell(&w["properties_snapshot"]["owner"]),
                            ]
                        })
                        .collect();
                    print_table(
                        &["WORKFLOW", "ACTIVE", "LATEST", "INSTANCES", "OWNER"],
                        &rows,
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn workflow_status(client: &Client, wid: &str) -> anyhow::Result<ExitCode> {
    let overview = client
        .get(&format!("/api/v3/workflows/{wid}/overview"))
        .await?;
    let page = client
        .get(&format!(
            "/api/v3/workflows/{wid}/instances?first=10&aggregated=false"
        ))
        .await?;
    if client.json {
        print_json(&serde_json::json!({"overview": overview, "instances": page}))?;
        return Ok(ExitCode::SUCCESS);
    }
    let counts = &overview["nonterminal_instances"];
    println!(
        "{}: active version {}, latest {}, default {}; {} instances ({} created, {} in progress, {} failed)",
        cell(&overview["workflow_id"]),
        cell(&overview["active_version_id"]),
        cell(&overview["latest_version_id"]),
        cell(&overview["default_version_id"]),
        overview["latest_instance_id"].as_i64().unwrap_or(0),
        counts["CREATED"].as_i64().unwrap_or(0),
        counts["IN_PROGRESS"].as_i64().unwrap_or(0),
        overview["failed_instances"].as_i64().unwrap_or(0),
    );
    print_instances(&page["elements"]);
    Ok(ExitCode::SUCCESS)
}

fn print_instances(elements: &Value) {
    let rows: Vec<Vec<String>> = elements
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            vec![
                cell(&i["workflow_instance_id"]),
                cell(&i["workflow_run_id"]),
                cell(&i["workflow_version_id"]),
                cell(&i["status"]),
                span(
                    if i["start_time"].is_null() {
                        &i["create_time"]
                    } else {
                        &i["start_time"]
                    },
                    &i["end_time"],
                ),
            ]
        })
        .collect();
    print_table(&["INSTANCE", "RUN", "VERSION", "STATUS", "DURATION"], &rows);
}

async fn instance_status(client: &Client, wid: &str, iid: i64) -> anyhow::Result<ExitCode> {
    let instance = client
        .get(&format!(
            "/api/v3/workflows/{wid}/instances/{iid}?enriched=false"
        ))
        .await?;
    let steps = client
        .get(&format!(
            "/api/v3/workflows/{wid}/instances/{iid}/steps?enriched=false"
        ))
        .await?;
    if client.json {
        print_json(&serde_json::json!({"workflow_instance": instance, "step_instances": steps}))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_instance(&instance, &steps);
    Ok(ExitCode::SUCCESS)
}

/// The instance line and its steps table (also `baton watch`'s final view).
pub fn print_instance(instance: &Value, steps: &Value) {
    println!(
        "{} instance {} run {}: {}{}",
        cell(&instance["workflow_id"]),
        cell(&instance["workflow_instance_id"]),
        cell(&instance["workflow_run_id"]),
        cell(&instance["status"]),
        match span(&instance["start_time"], &instance["end_time"]).as_str() {
            "-" => String::new(),
            d => format!(" in {d}"),
        }
    );
    let mut rows: Vec<Vec<String>> = steps
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let rs = &s["runtime_state"];
            vec![
                cell(&s["step_id"]),
                cell(&rs["status"]),
                cell(&s["step_attempt_id"]),
                span(
                    if rs["start_time"].is_null() {
                        &rs["create_time"]
                    } else {
                        &rs["start_time"]
                    },
                    &rs["end_time"],
                ),
            ]
        })
        .collect();
    if let Some(views) = instance["aggregated_info"]["step_aggregated_views"].as_object() {
        for (id, v) in views {
            if v["status"] == "NOT_CREATED" && !rows.iter().any(|r| &r[0] == id) {
                rows.push(vec![
                    id.clone(),
                    "NOT_CREATED".into(),
                    "-".into(),
                    "-".into(),
                ]);
            }
        }
    }
    print_table(&["STEP", "STATUS", "ATTEMPT", "DURATION"], &rows);
}
