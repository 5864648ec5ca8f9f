//! `baton sel ...`: will evaluate SEL once the sel crate lands.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum SelCommand {
    /// Evaluate one expression.
    Eval { expr: String },
}

pub fn run(_cmd: SelCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("baton sel is not implemented yet")
}
