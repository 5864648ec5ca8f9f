//! `baton signal send NAME [--param k=v]…`: announces a signal (`POST /api/v3/signals`).
//!
//! Today it works on a local store (`--db FILE`, embedded engine): the engine starts on the
//! file (resuming its unfinished runs, subscribing its triggers), stores the signal, waits until
//! every step and trigger it reaches has acted on it (matched runs are created durably), and
//! stops; runs it started or woke finish with `baton resume` or the next command on that file.
//! The command is written against [`Target`] so that a `--server URL` variant (an HTTP client of
//! `baton server`) can be added beside `--db` without changing its interface.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use baton_engine::{Engine, EngineConfig, EngineError};
use baton_model::api::SignalCreateRequest;
use baton_model::definition::SignalParamValue;
use indexmap::IndexMap;

/// Signal commands.
#[derive(clap::Subcommand)]
pub enum SignalCommand {
    /// Announce a signal; prints the stored signal instance as JSON.
    Send(SendArgs),
    /// Print a stored signal instance as JSON (`latest` or a sequence id).
    Get(GetArgs),
}

#[derive(clap::Args)]
pub struct SendArgs {
    /// The signal name.
    pub name: String,
    /// An indexed param `key=value`; a value that is an integer is a LONG, anything else a
    /// STRING (force a string with `--string-param`). Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// An indexed STRING param `key=value`, even when the value looks like a number.
    #[arg(long = "string-param", value_name = "KEY=VALUE")]
    pub string_params: Vec<String>,
    /// The request id (deduplication key); by default the name and params are the key.
    #[arg(long)]
    pub request_id: Option<String>,
    /// A JSON object whose members become the (unindexed) payload.
    #[arg(long)]
    pub payload: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args)]
pub struct GetArgs {
    /// The signal name.
    pub name: String,
    /// `latest` or a sequence id.
    #[arg(default_value = "latest")]
    pub seq: String,
    #[command(flatten)]
    pub target: Target,
}

/// Where the command acts: a local store today (a server URL later).
#[derive(clap::Args)]
pub struct Target {
    /// The database (embedded engine): a SQLite file, `sqlite://PATH`, or a PostgreSQL URL.
    #[arg(long, env = "BATON_DB")]
    pub db: String,
}

impl Target {
    /// An embedded engine on the target store.
    pub async fn engine(&self) -> anyhow::Result<Engine> {
        let (store, path) = super::server::open_store(&self.db).await?;
        let work_dir = PathBuf::from(format!("{}.work", path.display()));
        Ok(Engine::start(store, EngineConfig::new(work_dir)).await?)
    }
}

pub fn run(cmd: SignalCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        match cmd {
            SignalCommand::Send(args) => send(args).await,
            SignalCommand::Get(args) => get(args).await,
        }
    })
}

/// Parses `key=value` pairs into signal params.
pub fn parse_params(
    auto: &[String],
    strings: &[String],
) -> anyhow::Result<IndexMap<String, SignalParamValue>> {
    let mut out = IndexMap::new();
    for (text, force_string) in auto
        .iter()
        .map(|t| (t, false))
        .chain(strings.iter().map(|t| (t, true)))
    {
        let Some((k, v)) = text.split_once('=') else {
            bail!("--param {text}: expected KEY=VALUE");
        };
        if k.trim().is_empty() {
            bail!("--param {text}: the key is empty");
        }
        let value = match v.parse::<i64>() {
            Ok(n) if !force_string => SignalParamValue::Long(n),
            _ => SignalParamValue::String(v.to_string()),
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

async fn send(args: SendArgs) -> anyhow::Result<ExitCode> {
    let params = parse_params(&args.params, &args.string_params)?;
    let payload: IndexMap<String, serde_json::Value> = match &args.payload {
        Some(text) => serde_json::from_str(text).context("--payload must be a JSON object")?,
        None => IndexMap::new(),
    };
    let req = SignalCreateRequest {
        name: args.name.clone(),
        params: (!params.is_empty()).then_some(params),
        payload,
        request_id: args.request_id.clone(),
        request_time: None,
    };
    let engine = args.target.engine().await?;
    let result = engine.announce_signal(req).await;
    engine.signals_settled().await;
    engine.shutdown(Duration::from_secs(5)).await;
    match result {
        Ok(instance) => {
            println!("{}", serde_json::to_string_pretty(&instance)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(EngineError::Conflict(message)) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let seq = match args.seq.as_str() {
        "latest" => None,
        n => Some(
            n.parse::<i64>()
                .with_context(|| format!("{n}: expected `latest` or a sequence id"))?,
        ),
    };
    let (store, _) = super::server::open_existing_store(&args.target.db).await?;
    match baton_engine::read_signal(store.as_ref(), &args.name, seq).await? {
        Some(instance) => {
            println!("{}", serde_json::to_string_pretty(&instance)?);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("no signal [{}] #{}", args.name, args.seq);
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_longs_when_they_look_like_integers() {
        let p = parse_params(
            &["d=20240101".into(), "h=00x".into(), "neg=-3".into()],
            &["s=42".into()],
        )
        .unwrap();
        assert_eq!(p["d"], SignalParamValue::Long(20240101));
        assert_eq!(p["h"], SignalParamValue::String("00x".into()));
        assert_eq!(p["neg"], SignalParamValue::Long(-3));
        assert_eq!(p["s"], SignalParamValue::String("42".into()));
        assert!(parse_params(&["novalue".into()], &[]).is_err());
        assert!(parse_params(&["=1".into()], &[]).is_err());
    }
}
