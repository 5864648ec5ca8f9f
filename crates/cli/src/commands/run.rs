//! `baton run FILE`: runs one workflow on an embedded store and shows it live — the quickest way
//! to try a definition. Exits 0 only when the run SUCCEEDED.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use baton_engine::{Engine, EngineConfig, EngineEvent};
use baton_model::api::WorkflowStartRequest;
use baton_model::instance::{Initiator, StepInstance, WorkflowInstance};
use baton_model::params::{ParamDefinition, ParamMap, ParamType, ParamValue};
use baton_store::RunKey;
use baton_store::sqlite::{SqliteOptions, SqliteStore};

use super::util::{current_user, fmt_duration};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow definition (JSON create request or YAML DSL).
    pub file: PathBuf,
    /// A run param, `NAME=VALUE` (repeatable). The value is read as the type the workflow
    /// declares for NAME, else as a number, a boolean or a string.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The database to use: a SQLite file, `sqlite://PATH`, or a PostgreSQL URL
    /// (`postgres://user@host:5432/db?schema=NAME`). Default: a temporary SQLite file, removed
    /// afterwards.
    #[arg(long, env = "BATON_DB")]
    pub db: Option<String>,
    /// Print the final instance and every step attempt as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let file_name = args.file.file_name().and_then(|n| n.to_str());
    let mut request = match baton_model::load::parse_definition(&text, file_name) {
        Ok(r) => r,
        Err(e) => {
            for err in e.field_errors() {
                eprintln!("{}: {}", path_or_root(&err.path.to_string()), err.message);
            }
            bail!("{} is not a valid workflow definition", args.file.display());
        }
    };
    if request.properties.is_none() {
        let props = baton_model::definition::Properties {
            owner: Some(current_user()),
            ..Default::default()
        };
        request.properties = Some(props);
    }
    let run_params = parse_params(&args.params, request.workflow.params.as_ref())?;

    let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (store, work_dir) = match &args.db {
        Some(db) => {
            let (store, path) = super::server::open_store(db).await?;
            (store, PathBuf::from(format!("{}.work", path.display())))
        }
        None => {
            let db = temp.path().join("baton.db");
            let store = SqliteStore::open(&db, SqliteOptions::default())
                .with_context(|| format!("cannot open {}", db.display()))?;
            (
                Arc::new(store) as Arc<dyn baton_store::Store>,
                temp.path().join("work"),
            )
        }
    };
    let engine = Engine::start(store, EngineConfig::new(work_dir))
        .await
        .context("cannot start the engine")?;
    let workflow_id = request.workflow.id.clone();
    let user = current_user();
    match engine.push_workflow(request, user.clone()).await {
        Ok(_) => {}
        Err(baton_engine::EngineError::Invalid { message, errors }) => {
            for err in &errors {
                eprintln!("{}: {}", path_or_root(&err.path.to_string()), err.message);
            }
            bail!("{message}");
        }
        Err(e) => return Err(e.into()),
    }
    let mut events = engine.subscribe();
    let response = engine
        .start_workflow(
            &workflow_id,
            "latest",
            WorkflowStartRequest {
                initiator: Initiator::manual(Some(user.clone())),
                request_time: None,
                request_id: None,
                runtime_tags: None,
                run_params,
                artifacts: None,
                persist_failed_run: false,
            },
            Some(user),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot start [{workflow_id}]: {e}"))?;
    let key = RunKey {
        workflow_id: workflow_id.clone(),
        instance_id: response.workflow_instance_id,
        run_id: response.workflow_run_id,
    };
    let live = !args.json && std::io::stderr().is_terminal();
    let mut display = Progress::new(live);
    let instance = loop {
        let wi = engine
            .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
            .await?;
        let steps = engine.latest_attempts(&key).await?;
        if !args.json {
            display.show(&wi, &steps);
        }
        if wi.status.is_terminal() {
            break wi;
        }
        wait_for_change(&mut events, &key).await;
    };
    let attempts = engine.get_step_attempts(&key).await?;
    engine.shutdown(Duration::from_secs(5)).await;
    if args.json {
        let out = serde_json::json!({
            "workflow_instance": instance,
            "step_instances": attempts,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        display.finish();
        print_summary(&instance, &attempts);
    }
    Ok(if instance.status.as_str() == "SUCCEEDED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn path_or_root(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

/// Waits for an event of this run, or a short while (so a missed event costs little).
async fn wait_for_change(events: &mut tokio::sync::broadcast::Receiver<EngineEvent>, key: &RunKey) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(EngineEvent::Run { run, .. } | EngineEvent::Step { run, .. })) if &run == key => {
                // Let a burst of changes land before redrawing.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return;
            }
            Ok(Ok(_)) => continue,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => return,
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// Reads `NAME=VALUE` run params, typed by the workflow's declaration when there is one.
pub(crate) fn parse_params(
    raw: &[String],
    declared: Option<&ParamMap>,
) -> anyhow::Result<Option<ParamMap>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let mut out = ParamMap::new();
    for item in raw {
        let Some((name, value)) = item.split_once('=') else {
            bail!("--param {item}: expected NAME=VALUE");
        };
        let ty = declared.and_then(|d| d.get(name)).map(|d| d.param_type);
        let json = match ty {
            Some(ParamType::String) => serde_json::Value::String(value.to_string()),
            Some(_) => serde_json::from_str(value)
                .unwrap_or_else(|_| serde_json::Value::String(value.to_string())),
            None => infer(value),
        };
        let ty = ty.unwrap_or(match &json {
            serde_json::Value::Number(n) if n.is_i64() => ParamType::Long,
            serde_json::Value::Number(_) => ParamType::Double,
            serde_json::Value::Bool(_) => ParamType::Boolean,
            _ => ParamType::String,
        });
        let value = ParamValue::from_json(ty, &json)
            .map_err(|(_, msg)| anyhow::anyhow!("--param {name}: {msg}"))?;
        out.insert(name.to_string(), ParamDefinition::literal(value));
    }
    Ok(Some(out))
}

fn infer(value: &str) -> serde_json::Value {
    if let Ok(v) = value.parse::<i64>() {
        return v.into();
    }
    if let Ok(v) = value.parse::<f64>()
        && v.is_finite()
        && value.contains('.')
    {
        return serde_json::json!(v);
    }
    match value {
        "true" => true.into(),
        "false" => false.into(),
        _ => value.into(),
    }
}

/// The live view: a table redrawn in place on a terminal, one line per change otherwise.
struct Progress {
    live: bool,
    drawn_lines: usize,
    last: Vec<(String, String)>,
}

impl Progress {
    fn new(live: bool) -> Self {
        Progress {
            live,
            drawn_lines: 0,
            last: Vec::new(),
        }
    }

    fn show(&mut self, wi: &WorkflowInstance, steps: &[StepInstance]) {
        let mut err = std::io::stderr().lock();
        if self.live {
            if self.drawn_lines > 0 {
                let _ = write!(err, "\x1b[{}A\x1b[J", self.drawn_lines);
            }
            let mut lines = vec![format!(
                "{} instance {} run {}: {}",
                wi.workflow_id,
                wi.workflow_instance_id,
                wi.workflow_run_id,
                wi.status.as_str()
            )];
            for s in steps {
                lines.push(format!(
                    "  {:<30} {:<20} attempt {}",
                    s.step_id,
                    s.runtime_state.status.as_str(),
                    s.step_attempt_id
                ));
            }
            for l in &lines {
                let _ = writeln!(err, "{l}");
            }
            self.drawn_lines = lines.len();
        } else {
            for s in steps {
                let status = format!(
                    "{} (attempt {})",
                    s.runtime_state.status.as_str(),
                    s.step_attempt_id
                );
                let known = self
                    .last
                    .iter()
                    .any(|(id, st)| id == &s.step_id && st == &status);
                if !known {
                    let _ = writeln!(err, "step {} {}", s.step_id, status);
                    self.last.retain(|(id, _)| id != &s.step_id);
                    self.last.push((s.step_id.clone(), status));
                }
            }
        }
    }

    fn finish(&mut self) {
        if self.live && self.drawn_lines > 0 {
            let _ = write!(std::io::stderr(), "\x1b[{}A\x1b[J", self.drawn_lines);
            self.drawn_lines = 0;
        }
    }
}

fn print_summary(wi: &WorkflowInstance, attempts: &[StepInstance]) {
    println!(
        "{} instance {} run {}: {}",
        wi.workflow_id,
        wi.workflow_instance_id,
        wi.workflow_run_id,
        wi.status.as_str()
    );
    println!(
        "{:<30} {:<22} {:>8} {:>10}",
        "STEP", "STATUS", "ATTEMPTS", "DURATION"
    );
    let mut seen: Vec<&str> = Vec::new();
    for s in attempts {
        if !seen.contains(&s.step_id.as_str()) {
            seen.push(&s.step_id);
        }
    }
    for id in seen {
        let all: Vec<&StepInstance> = attempts.iter().filter(|s| s.step_id == id).collect();
        let Some(last) = all.last() else { continue };
        let rs = &last.runtime_state;
        let duration = match (rs.start_time.or(rs.create_time), rs.end_time) {
            (Some(a), Some(b)) => fmt_duration(b - a),
            _ => "-".to_string(),
        };
        println!(
            "{:<30} {:<22} {:>8} {:>10}",
            id,
            rs.status.as_str(),
            all.len(),
            duration
        );
    }
    if let (Some(a), Some(b)) = (wi.start_time.or(wi.create_time), wi.end_time) {
        println!("total {}", fmt_duration(b - a));
    }
}
