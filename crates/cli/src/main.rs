//! `baton`: the one binary. Each subcommand lives in its own module under `commands/`; this file
//! only parses the command line and dispatches.

mod commands;

use clap::{Parser, Subcommand};

/// A fast, durable workflow orchestrator that speaks Netflix Maestro's API.
#[derive(Parser)]
#[command(name = "baton", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check workflow definitions (JSON or YAML) and report every error with its path.
    Validate(commands::validate::Args),
    /// Evaluate SEL expressions.
    #[command(subcommand)]
    Sel(commands::sel::SelCommand),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Sel(cmd) => commands::sel::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
