//! `baton signal send NAME [--param k=v]…`: announces a signal (`POST /api/v3/signals`).
//!
//! Two targets. `--server URL` is an HTTP client of a running `baton server` (the usual case:
//! the server's engine wakes the steps and triggers the signal reaches). `--db FILE|URL` works
//! on a store directly with an embedded engine: it starts on the store (resuming its unfinished
//! runs, subscribing its triggers), stores the signal, waits until every step and trigger it
//! reaches has acted on it (matched runs are created durably), and stops; runs it started or
//! woke finish with `baton resume` or the next command on that store. Do not use `--db` on a
//! store a server is running on: two engines would drive the same runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use baton_engine::{Engine, EngineConfig, EngineError};
use baton_model::api::SignalCreateRequest;
use baton_model::definition::SignalParamValue;
use indexmap::IndexMap;
use serde_json::Value;

use super::client::{Client, ClientArgs, seg};

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

/// Where the command acts: a server, or a store with an embedded engine.
#[derive(clap::Args)]
pub struct Target {
    /// A store to act on directly with an embedded engine: a SQLite file or a PostgreSQL URL.
    /// Without it the command is a client of `--server`.
    #[arg(long, env = "BATON_DB")]
    pub db: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A resolved [`Target`].
enum Via {
    Server(Client),
    Store(String),
}

impl Target {
    fn via(&self) -> anyhow::Result<Via> {
        match &self.db {
            Some(db) => Ok(Via::Store(db.clone())),
            None => Ok(Via::Server(Client::new(&self.client)?)),
        }
    }
}

/// An embedded engine on the store `db` names.
async fn embedded_engine(db: &str) -> anyhow::Result<Engine> {
    let (store, db_path) = super::server::open_store(db).await?;
    let work_dir = PathBuf::from(format!("{}.work", db_path.display()));
    Ok(Engine::start(store, EngineConfig::new(work_dir)).await?)
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
    let db = match args.target.via()? {
        Via::Server(client) => {
            let body = serde_json::to_value(&req)?;
            let instance = client.post_json("/api/v3/signals", &body).await?;
            println!("{}", serde_json::to_string_pretty(&instance)?);
            return Ok(ExitCode::SUCCESS);
        }
        Via::Store(db) => db,
    };
    let engine = embedded_engine(&db).await?;
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
    let found: Option<Value> = match args.target.via()? {
        Via::Server(client) => {
            let path = format!("/api/v3/signals/{}/instances/{}", seg(&args.name), args.seq);
            // Maestro answers an absent signal with an empty 200.
            let text = client.send_text(reqwest::Method::GET, &path, None).await?;
            if text.trim().is_empty() {
                None
            } else {
                Some(
                    serde_json::from_str(&text)
                        .with_context(|| format!("the answer to GET {path} is not JSON: {text}"))?,
                )
            }
        }
        Via::Store(db) => {
            let (store, _) = super::server::open_existing_store(&db).await?;
            baton_engine::read_signal(store.as_ref(), &args.name, seq)
                .await?
                .map(|instance| serde_json::to_value(&instance))
                .transpose()?
        }
    };
    match found {
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
