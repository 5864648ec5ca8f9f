//! `baton logs WORKFLOW INSTANCE STEP`: a Shell step attempt's output (stdout and stderr
//! interleaved), through the server's log endpoint; `--follow` keeps printing until the attempt
//! is terminal.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;

use super::client::{Client, ClientArgs, block_on, seg};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow id.
    pub workflow: String,
    /// The instance id.
    pub instance: i64,
    /// The step id.
    pub step: String,
    /// The run: a number or latest.
    #[arg(long, default_value = "latest")]
    pub run: String,
    /// The attempt: a number or latest.
    #[arg(long, default_value = "latest")]
    pub attempt: String,
    /// Only the last N bytes.
    #[arg(long)]
    pub tail: Option<u64>,
    /// Keep printing new output until the attempt ends.
    #[arg(long, short = 'f')]
    pub follow: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    block_on(logs(args))
}

async fn logs(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let attempt_path = format!(
        "/api/v3/workflows/{}/instances/{}/runs/{}/steps/{}/attempts/{}",
        seg(&args.workflow),
        args.instance,
        seg(&args.run),
        seg(&args.step),
        seg(&args.attempt)
    );
    let log_path = match args.tail {
        Some(n) => format!("{attempt_path}/logs?tail={n}"),
        None => format!("{attempt_path}/logs"),
    };
    let mut printed = 0usize;
    loop {
        let text = client.send_text(Method::GET, &log_path, None).await?;
        let mut out = std::io::stdout().lock();
        // A log only grows; a shorter answer means the file was replaced (a new attempt).
        let start = if text.len() >= printed { printed } else { 0 };
        out.write_all(text.as_bytes().get(start..).unwrap_or_default())?;
        out.flush()?;
        printed = text.len();
        if !args.follow {
            break;
        }
        let attempt = client
            .get(&format!("{attempt_path}?enriched=false"))
            .await?;
        let status = attempt["runtime_state"]["status"].as_str().unwrap_or("");
        let terminal = matches!(
            status,
            "SUCCEEDED"
                | "FATALLY_FAILED"
                | "INTERNALLY_FAILED"
                | "STOPPED"
                | "TIMED_OUT"
                | "COMPLETED_WITH_ERROR"
                | "SKIPPED"
                | "UNSATISFIED"
                | "DISABLED"
                | "USER_FAILED"
                | "PLATFORM_FAILED"
                | "TIMEOUT_FAILED"
        );
        if terminal {
            let text = client.send_text(Method::GET, &log_path, None).await?;
            let start = if text.len() >= printed { printed } else { 0 };
            std::io::stdout().write_all(text.as_bytes().get(start..).unwrap_or_default())?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(ExitCode::SUCCESS)
}
