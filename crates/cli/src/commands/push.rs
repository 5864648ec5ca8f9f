//! `baton push FILE`: sends a workflow definition to the server — a JSON create request to
//! `POST /api/v3/workflows`, a YAML DSL document to `POST /api/v3/workflows/yaml`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use reqwest::Method;

use super::client::{Client, ClientArgs, block_on, print_json};

#[derive(clap::Args)]
pub struct Args {
    /// The definition: JSON (`.json` or starting with `{`) or Maestro's YAML DSL.
    pub file: PathBuf,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    block_on(push(args))
}

async fn push(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let name = args.file.file_name().and_then(|n| n.to_str());
    let (path, content_type) = match baton_model::load::Format::detect(&text, name) {
        baton_model::load::Format::Json => ("/api/v3/workflows", "application/json"),
        baton_model::load::Format::Yaml => ("/api/v3/workflows/yaml", "application/yaml"),
    };
    let resp = client
        .send(Method::POST, path, Some((content_type, text.into_bytes())))
        .await?;
    if client.json {
        print_json(&resp)?;
    } else {
        let def = &resp["workflow_definition"];
        println!(
            "pushed {} version {}{}",
            def["metadata"]["workflow_id"].as_str().unwrap_or("?"),
            def["metadata"]["workflow_version_id"],
            if def["is_active"] == true {
                " (active)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
