//! `baton validate FILE...`: will check definitions once the model crate lands.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Workflow definition files (JSON create requests or YAML DSL).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("baton validate is not implemented yet")
}
