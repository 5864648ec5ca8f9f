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
    /// Run a workflow on an embedded store and show it live; exit 0 only if it succeeded.
    Run(commands::run::Args),
    /// Finish the runs an interrupted process left unfinished in a store.
    Resume(commands::resume::Args),
    /// Measure orchestration overhead (chain, fanout, starts, parked, signals).
    Bench(commands::bench::Args),
    /// Evaluate SEL expressions.
    #[command(subcommand)]
    Sel(commands::sel::SelCommand),
    /// Serve Maestro's REST API (/api/v3) on a durable store.
    Server(commands::server::Args),
    /// Push a workflow definition (JSON or YAML DSL) to a server.
    Push(commands::push::Args),
    /// Start a workflow instance on a server.
    Start(commands::start::Args),
    /// Show a workflow (overview, recent instances) or one instance with its steps.
    Status(commands::status::StatusArgs),
    /// Follow an instance until it ends; exit 0 only if it succeeded.
    Watch(commands::watch::Args),
    /// Print a Shell step's output.
    Logs(commands::logs::Args),
    /// Stop an instance, or every unfinished instance of a workflow.
    Stop(commands::control::Args),
    /// Kill an instance, or every unfinished instance of a workflow.
    Kill(commands::control::Args),
    /// Restart an instance.
    Restart(commands::control::RestartArgs),
    /// Stop, kill or skip one step of a running instance.
    #[command(subcommand)]
    Step(commands::step::StepCommand),
    /// Add, list, delete step breakpoints; list and resume paused attempts.
    #[command(subcommand)]
    Breakpoint(commands::breakpoint::BreakpointCommand),
    /// List workflows, or the instances of one workflow.
    List(commands::status::ListArgs),
    /// Announce and read signals.
    #[command(subcommand)]
    Signal(commands::signal::SignalCommand),
    /// Inspect time and signal triggers.
    #[command(subcommand)]
    Triggers(commands::triggers::TriggersCommand),
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
        Command::Run(args) => commands::run::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Resume(args) => commands::resume::run(args),
        Command::Server(args) => commands::server::run(args),
        Command::Push(args) => commands::push::run(args),
        Command::Start(args) => commands::start::run(args),
        Command::Status(args) => commands::status::status(args),
        Command::Watch(args) => commands::watch::run(args),
        Command::Logs(args) => commands::logs::run(args),
        Command::Stop(args) => commands::control::terminate(args, "stop"),
        Command::Kill(args) => commands::control::terminate(args, "kill"),
        Command::Restart(args) => commands::control::restart(args),
        Command::List(args) => commands::status::list(args),
        Command::Step(cmd) => commands::step::run(cmd),
        Command::Breakpoint(cmd) => commands::breakpoint::run(cmd),
        Command::Signal(cmd) => commands::signal::run(cmd),
        Command::Triggers(cmd) => commands::triggers::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
