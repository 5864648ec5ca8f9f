//! Shell: runs a local script as a subprocess, for work that needs no cluster (Baton's own step
//! type; Maestro runs such scripts as Kubernetes jobs).
//!
//! A Shell step's `shell` MAP param holds `script` (required), `interpreter` (default `bash`;
//! split on whitespace, so `bash -eu` works), `env` (STRING_MAP) and, as a Baton extension,
//! `args` (STRING_ARRAY, positional arguments after the script, so that a Kubernetes
//! `sh -c '<script>' sh <arg>` command carries over as `{script, args}`). The params module hands
//! the param over evaluated and interpolated; nothing here interpolates again.
//!
//! * `start` writes the script to `<work_dir>/script` and runs `<interpreter> <script> <args…>`
//!   in the work dir, in a new process group, stdin from `/dev/null`, stdout and stderr both on
//!   `<work_dir>/output.log`. A file rather than stdin, because `bash` reads a script from stdin
//!   line by line as it runs, so a command in the script that reads stdin would eat the rest of
//!   the script; every interpreter (`bash`, `sh`, `python3`, `perl`, `node`, …) takes a file.
//!   The environment is the engine's own, then `shell.env`, then Baton's variables, which win:
//!   `MAESTRO_OUTPUT_START`/`MAESTRO_OUTPUT_END` (the job output protocol tokens) and the
//!   attempt's identity — `MAESTRO_WORKFLOW_ID`, `MAESTRO_INSTANCE_ID`, `MAESTRO_RUN_ID`,
//!   `MAESTRO_STEP_ID`, `MAESTRO_STEP_INSTANCE_ID`, `MAESTRO_STEP_ATTEMPT_ID`,
//!   `MAESTRO_STEP_UUID`. The launch is recorded in the `maestro_shell` artifact (see
//!   [`LaunchRecord`]). An interpreter that does not exist is a fatal error (retrying on the same
//!   node cannot make it appear; it is a mistake in the definition); any other launch failure is a
//!   platform error.
//! * `execute` resolves when the process exits. Exit 0 ⇒ `Done` with the output data of the last
//!   `MAESTRO_OUTPUT_START_TOKEN…MAESTRO_OUTPUT_END_TOKEN` block of the log (an invalid block ⇒
//!   user error, as in Maestro); another exit code ⇒ user error; killed by a signal, or not
//!   launched by this Baton process ⇒ platform error. On a failure, artifacts the script reported
//!   (such as `maestro_retry`) are returned with the result's artifacts so the engine can apply
//!   them. The log tail (128 lines / 10 KB) goes to `execution_output`, as Maestro's Kubernetes
//!   runtime does.
//! * `terminate` sends SIGTERM to the process group, SIGKILL after a grace period, and waits.
//! * When the script's main process exits, whatever is left of its group is killed (as
//!   Kubernetes kills the rest of a pod), so background processes do not outlive the step.
//!
//! The runtime keeps the processes it launched in memory, so the engine must keep one
//! `ShellRuntime` for its lifetime (the [`crate::runtime::RuntimeRegistry`] does); dropping it
//! kills what it still runs. A process left by a dead engine is lost (`resumable` is false) and
//! [`ShellRuntime::reap_orphan`] stops it.

mod orphan;
mod output;
mod process;
mod procfs;
mod record;
mod spec;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use baton_model::instance::{
    Artifact, DetailsEvent, ErrorCode, LogLevel, RuntimeState, TimelineEvent,
};
use indexmap::IndexMap;
use rustix::process::Signal;
use serde_json::Value;

use super::{OutputData, RuntimeResult, StepContext, StepRuntime};
use crate::clock::now_millis;

pub use orphan::ReapOutcome;
pub use output::{MAX_OUTPUT_BLOCK_BYTES, TAIL_BYTES, TAIL_LINES, log_path, read_log};
pub use process::{
    LOG_FILE, OUTPUT_END_ENV, OUTPUT_END_TOKEN, OUTPUT_START_ENV, OUTPUT_START_TOKEN, SCRIPT_FILE,
    STEP_UUID_ENV,
};
pub use record::{LAUNCH_RECORD_FILE, LaunchRecord, SHELL_ARTIFACT_KEY};
pub use spec::{DEFAULT_INTERPRETER, ShellSpecError};

use output::{OutputError, log_tail, read_output};
use process::{ExitOutcome, LaunchError, Running};
use spec::ShellSpec;

/// How long `terminate` waits after SIGTERM before SIGKILL, unless configured.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);
/// How long `terminate` waits for the exit after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// Log lines quoted in a failure's timeline event (the full tail is in the artifact).
const TIMELINE_TAIL_LINES: usize = 20;
/// Characters kept of each quoted line.
const TIMELINE_LINE_CHARS: usize = 512;

/// The Shell runtime. Cheap to clone; clones share the processes.
#[derive(Clone)]
pub struct ShellRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    /// Launched and not yet collected, by step uuid.
    running: Mutex<HashMap<String, Arc<Running>>>,
    grace: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Nobody could collect these any more: stop them rather than leak them.
        for running in lock(&self.running).values() {
            let _ = running.signal_group(Signal::KILL);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for ShellRuntime {
    fn default() -> Self {
        ShellRuntime::with_grace_period(DEFAULT_GRACE_PERIOD)
    }
}

impl ShellRuntime {
    /// A runtime whose `terminate` waits `grace` between SIGTERM and SIGKILL.
    pub fn with_grace_period(grace: Duration) -> Self {
        ShellRuntime {
            inner: Arc::new(Inner {
                running: Mutex::new(HashMap::new()),
                grace,
            }),
        }
    }

    /// How many launched processes have not been collected yet (by `execute` or `terminate`).
    pub fn tracked(&self) -> usize {
        lock(&self.inner.running).len()
    }

    /// Stops the processes a lost attempt left running (its engine died): SIGTERM to its process
    /// group, SIGKILL after the grace period. The launch is read from the attempt's
    /// `maestro_shell` artifact, else from its work dir's launch record. Nothing is signalled
    /// unless it is provably the attempt's (see [`LaunchRecord::process_start_ticks`]); an
    /// attempt this runtime is still watching is left alone.
    pub async fn reap_orphan(&self, ctx: &StepContext) -> ReapOutcome {
        if self.get(&ctx.step_uuid).is_some() {
            return ReapOutcome::NotAnOrphan;
        }
        match recorded_launch(ctx) {
            None => ReapOutcome::NothingRecorded,
            Some(rec) => orphan::reap(&rec, self.inner.grace).await,
        }
    }

    fn get(&self, step_uuid: &str) -> Option<Arc<Running>> {
        lock(&self.inner.running).get(step_uuid).cloned()
    }

    /// Keeps a launched process; if the same attempt was launched concurrently, the first
    /// launch stays and this one is killed.
    fn register(&self, step_uuid: &str, running: Arc<Running>) -> Arc<Running> {
        let mut map = lock(&self.inner.running);
        if let Some(first) = map.get(step_uuid) {
            let _ = running.signal_group(Signal::KILL);
            return first.clone();
        }
        map.insert(step_uuid.to_string(), running.clone());
        running
    }

    /// Forgets a collected process (only that one: a later launch of the uuid stays).
    fn forget(&self, step_uuid: &str, running: &Arc<Running>) {
        let mut map = lock(&self.inner.running);
        if map.get(step_uuid).is_some_and(|r| Arc::ptr_eq(r, running)) {
            map.remove(step_uuid);
        }
    }

    async fn launch(&self, ctx: &StepContext, spec: &ShellSpec) -> RuntimeResult {
        let mut timeline = Vec::new();
        if let Some(running) = self.get(&ctx.step_uuid) {
            return launched(running.as_ref(), timeline, now_millis());
        }
        // A `start` repeated after a crash: the first one's process is an orphan now.
        if let Some(prev) =
            LaunchRecord::read_file(&ctx.work_dir).filter(|r| r.step_uuid == ctx.step_uuid)
        {
            let outcome = orphan::reap(&prev, self.inner.grace).await;
            if let ReapOutcome::Stopped { pids, .. } = &outcome {
                timeline.push(TimelineEvent::log(
                    now_millis(),
                    LogLevel::Warn,
                    format!("Stopped processes {pids:?} left by an earlier start of this attempt"),
                ));
            }
        }
        let now = now_millis();
        // Files and fork/exec: off the async workers, in case the work dir is on a slow disk.
        let (spec_owned, ctx_owned) = (spec.clone(), ctx.clone());
        let attempt = match tokio::task::spawn_blocking(move || {
            process::launch(&spec_owned, &ctx_owned, now)
        })
        .await
        {
            Ok(r) => r.map(|running| self.register(&ctx.step_uuid, Arc::new(running))),
            Err(e) => Err(LaunchError::Io {
                what: "the launch task failed".to_string(),
                source: std::io::Error::other(e.to_string()),
            }),
        };
        match attempt {
            Ok(running) => launched(running.as_ref(), timeline, now),
            Err(e) => {
                let (state, code) = match e {
                    LaunchError::InterpreterNotFound { .. } => {
                        (RuntimeState::FatalError, ErrorCode::BadRequest)
                    }
                    LaunchError::Io { .. } => {
                        (RuntimeState::PlatformError, ErrorCode::InternalError)
                    }
                };
                timeline.push(details(
                    now,
                    code,
                    format!("Cannot start the Shell step: {e}"),
                    Vec::new(),
                    state != RuntimeState::FatalError,
                ));
                RuntimeResult {
                    state,
                    artifacts: IndexMap::new(),
                    timeline,
                    output: None,
                }
            }
        }
    }

    /// `execute` for an attempt this runtime did not launch (or already collected).
    async fn lost(&self, ctx: &StepContext) -> RuntimeResult {
        let mut message = "The Shell process of this attempt is lost: it does not run under \
                           this Baton process (was the engine restarted?)"
            .to_string();
        if let Some(rec) = recorded_launch(ctx)
            && let ReapOutcome::Stopped { pids, .. } = orphan::reap(&rec, self.inner.grace).await
        {
            message.push_str(&format!("; stopped its leftover processes {pids:?}"));
        }
        let mut r = RuntimeResult::state(RuntimeState::PlatformError);
        r.timeline.push(details(
            now_millis(),
            ErrorCode::InternalError,
            message,
            Vec::new(),
            true,
        ));
        r
    }
}

/// `start`'s result once the script runs.
fn launched(running: &Running, mut timeline: Vec<TimelineEvent>, now: i64) -> RuntimeResult {
    let rec = &running.record;
    timeline.push(TimelineEvent::info(
        now,
        format!(
            "Launched `{}` as pid {} (log: {})",
            rec.interpreter, rec.pid, rec.log_path
        ),
    ));
    RuntimeResult {
        state: RuntimeState::Continue,
        artifacts: shell_artifact(rec.to_fields()),
        timeline,
        output: None,
    }
}

/// The launch of an attempt: from its artifact, else from its work dir.
fn recorded_launch(ctx: &StepContext) -> Option<LaunchRecord> {
    LaunchRecord::from_artifacts(&ctx.artifacts)
        .or_else(|| LaunchRecord::read_file(&ctx.work_dir).filter(|r| r.step_uuid == ctx.step_uuid))
}

fn shell_artifact(fields: IndexMap<String, Value>) -> IndexMap<String, Artifact> {
    [(SHELL_ARTIFACT_KEY.to_string(), Artifact::Default(fields))]
        .into_iter()
        .collect()
}

fn details(
    timestamp: i64,
    status: ErrorCode,
    message: String,
    errors: Vec<String>,
    retryable: bool,
) -> TimelineEvent {
    TimelineEvent::Details(DetailsEvent {
        timestamp,
        status,
        message: Some(message),
        errors: (!errors.is_empty()).then_some(errors),
        retryable,
    })
}

/// The last lines of a log tail, shortened for a timeline event.
fn quoted_lines(tail: &str) -> Vec<String> {
    let lines: Vec<&str> = tail.lines().collect();
    let from = lines.len().saturating_sub(TIMELINE_TAIL_LINES);
    lines[from..]
        .iter()
        .map(|l| {
            let n = l.chars().count();
            if n > TIMELINE_LINE_CHARS {
                let cut: String = l.chars().skip(n - TIMELINE_LINE_CHARS).collect();
                format!("…{cut}")
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// `SIGKILL (9)` for the common signals, `signal 42` otherwise.
fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return format!("signal {sig}"),
    };
    format!("{name} ({sig})")
}

/// The `maestro_shell` artifact after the exit, and the log tail.
async fn finished_artifact(
    rec: &LaunchRecord,
    outcome: Option<&ExitOutcome>,
) -> (IndexMap<String, Value>, String) {
    let log = PathBuf::from(&rec.log_path);
    let tail = tokio::task::spawn_blocking(move || log_tail(&log, TAIL_BYTES, TAIL_LINES))
        .await
        .unwrap_or_default();
    let mut fields = rec.to_fields();
    match outcome {
        Some(ExitOutcome::Code(c)) => {
            fields.insert("exit_code".into(), Value::from(*c));
        }
        Some(ExitOutcome::Signal(s)) => {
            fields.insert("signal".into(), Value::from(signal_name(*s)));
        }
        Some(ExitOutcome::Unknown(_)) | None => {}
    }
    fields.insert("end_time".into(), Value::from(now_millis()));
    fields.insert("execution_output".into(), Value::from(tail.clone()));
    (fields, tail)
}

/// The result of an exited script.
async fn collect(rec: &LaunchRecord, outcome: Option<ExitOutcome>) -> RuntimeResult {
    let (fields, tail) = finished_artifact(rec, outcome.as_ref()).await;
    let log = PathBuf::from(&rec.log_path);
    let output: Result<Option<OutputData>, OutputError> =
        match tokio::task::spawn_blocking(move || read_output(&log)).await {
            Ok(r) => r,
            Err(e) => Err(OutputError::Io(std::io::Error::other(e.to_string()))),
        };
    let now = now_millis();
    let mut result = RuntimeResult {
        state: RuntimeState::Done,
        artifacts: shell_artifact(fields),
        timeline: Vec::new(),
        output: None,
    };
    let failure = match outcome {
        Some(ExitOutcome::Code(0)) => {
            match output {
                Ok(data) => {
                    result.output = data;
                    result.timeline.push(TimelineEvent::info(
                        now,
                        "The Shell script exited with code 0",
                    ));
                }
                Err(e) => {
                    result.state = RuntimeState::UserError;
                    result.timeline.push(details(
                        now,
                        ErrorCode::UnprocessableEntity,
                        format!("Error processing the output data of the Shell script: {e}"),
                        Vec::new(),
                        true,
                    ));
                }
            }
            return result;
        }
        Some(ExitOutcome::Code(code)) => (
            RuntimeState::UserError,
            ErrorCode::UnprocessableEntity,
            format!("The Shell script exited with code {code}"),
        ),
        Some(ExitOutcome::Signal(sig)) => (
            RuntimeState::PlatformError,
            ErrorCode::InternalError,
            format!("The Shell script was killed by {}", signal_name(sig)),
        ),
        Some(ExitOutcome::Unknown(why)) => (
            RuntimeState::PlatformError,
            ErrorCode::InternalError,
            format!("The exit of the Shell script is unknown: {why}"),
        ),
        None => (
            RuntimeState::PlatformError,
            ErrorCode::InternalError,
            "The Shell script's watcher stopped (is Baton shutting down?)".to_string(),
        ),
    };
    let (state, code, message) = failure;
    result.state = state;
    result
        .timeline
        .push(details(now, code, message, quoted_lines(&tail), true));
    // What a failed job reports still counts for its retry (`maestro_retry`, §7.1).
    match output {
        Ok(Some(data)) => result.artifacts.extend(data.artifacts),
        Ok(None) => {}
        Err(e) => result.timeline.push(TimelineEvent::log(
            now,
            LogLevel::Warn,
            format!("Ignored the output data of the failed Shell script: {e}"),
        )),
    }
    result
}

#[async_trait]
impl StepRuntime for ShellRuntime {
    async fn start(&self, ctx: &StepContext) -> RuntimeResult {
        match ShellSpec::from_params(&ctx.params) {
            Ok(spec) => self.launch(ctx, &spec).await,
            Err(e) => {
                let mut r = RuntimeResult::state(RuntimeState::FatalError);
                r.timeline.push(details(
                    now_millis(),
                    ErrorCode::BadRequest,
                    format!("Invalid Shell step: {e}"),
                    Vec::new(),
                    false,
                ));
                r
            }
        }
    }

    async fn execute(&self, ctx: &StepContext) -> RuntimeResult {
        let Some(running) = self.get(&ctx.step_uuid) else {
            return self.lost(ctx).await;
        };
        let outcome = running.wait().await;
        let result = collect(&running.record, outcome).await;
        self.forget(&ctx.step_uuid, &running);
        result
    }

    async fn terminate(&self, ctx: &StepContext) -> RuntimeResult {
        let Some(running) = self.get(&ctx.step_uuid) else {
            let message = match recorded_launch(ctx) {
                None => "No Shell process was launched for this attempt".to_string(),
                Some(rec) => match orphan::reap(&rec, self.inner.grace).await {
                    ReapOutcome::Stopped { pids, forced } => format!(
                        "Stopped the Shell processes {pids:?} of this attempt{}",
                        if forced { " with SIGKILL" } else { "" }
                    ),
                    ReapOutcome::Failed(why) => {
                        format!("Could not stop the Shell processes of this attempt: {why}")
                    }
                    _ => "The Shell process of this attempt is not running".to_string(),
                },
            };
            return RuntimeResult::with_message(RuntimeState::Stopped, now_millis(), message);
        };
        let already = running.exit_outcome();
        let mut message = String::new();
        if already.is_none() {
            let _ = running.signal_group(Signal::TERM);
            message = "Stopped the Shell script (SIGTERM)".to_string();
            if tokio::time::timeout(self.inner.grace, running.wait())
                .await
                .is_err()
            {
                let _ = running.signal_group(Signal::KILL);
                message = format!(
                    "Stopped the Shell script (SIGKILL after a {} ms grace period)",
                    self.inner.grace.as_millis()
                );
                if tokio::time::timeout(KILL_WAIT, running.wait())
                    .await
                    .is_err()
                {
                    message = "The Shell script did not exit after SIGKILL".to_string();
                }
            }
        }
        let outcome = running.exit_outcome();
        if let Some(o) = &already {
            message = match o {
                ExitOutcome::Code(c) => {
                    format!("The Shell script had already exited with code {c}")
                }
                ExitOutcome::Signal(s) => {
                    format!(
                        "The Shell script had already been killed by {}",
                        signal_name(*s)
                    )
                }
                ExitOutcome::Unknown(_) => "The Shell script had already ended".to_string(),
            };
        }
        let (fields, _) = finished_artifact(&running.record, outcome.as_ref()).await;
        self.forget(&ctx.step_uuid, &running);
        let mut r = RuntimeResult::with_message(RuntimeState::Stopped, now_millis(), message);
        r.artifacts = shell_artifact(fields);
        r
    }
}
