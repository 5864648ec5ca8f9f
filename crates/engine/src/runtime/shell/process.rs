//! Launching the interpreter in its own process group and learning, without polling, when it
//! exits.
//!
//! The child is owned by a small task, not by `execute`: the engine may drop an `execute` future
//! at any time (to terminate the step), and the process must neither be lost nor leak with it.
//! The task sleeps until SIGCHLD arrives, then asks the kernel whether *its* child has exited
//! (`waitid` with `WNOHANG | WNOWAIT`), and publishes the exit on a `watch` channel that
//! `execute`, `terminate` and any number of later callers can await. No thread is held and no
//! timer polls; each SIGCHLD costs each running script's task one system call. (A pidfd would
//! wake only the one task, but tokio's `AsyncFd` constructors are now `unsafe`.)
//!
//! The task notices the exit *before* it reaps the process: while the exited leader is a zombie
//! its pid, and so its process group id, cannot be reused, which makes it safe to SIGKILL what is
//! left of the group (background processes the script did not wait for, as Kubernetes kills the
//! rest of a pod when its main process ends). Every group signal takes the same lock as the reap,
//! so no signal is ever sent to a process group id the kernel may have handed out again.

use std::fs::File;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process_group, waitid};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use super::procfs;
use super::record::{LAUNCH_RECORD_FILE, LaunchRecord};
use super::spec::ShellSpec;
use crate::runtime::StepContext;

/// The script file in the work dir.
pub const SCRIPT_FILE: &str = "script";
/// stdout and stderr of the script, interleaved.
pub const LOG_FILE: &str = "output.log";

/// Names and values of the two variables of Maestro's job output protocol (§10.2).
pub const OUTPUT_START_ENV: &str = "MAESTRO_OUTPUT_START";
/// The start token.
pub const OUTPUT_START_TOKEN: &str = "MAESTRO_OUTPUT_START_TOKEN";
/// Name of the end-token variable.
pub const OUTPUT_END_ENV: &str = "MAESTRO_OUTPUT_END";
/// The end token.
pub const OUTPUT_END_TOKEN: &str = "MAESTRO_OUTPUT_END_TOKEN";
/// The variable naming the attempt; also how the reaper recognises the attempt's processes.
pub const STEP_UUID_ENV: &str = "MAESTRO_STEP_UUID";

/// How the script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ExitOutcome {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// The exit could not be observed (an OS error while waiting).
    Unknown(String),
}

impl From<io::Result<ExitStatus>> for ExitOutcome {
    fn from(r: io::Result<ExitStatus>) -> Self {
        match r {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => ExitOutcome::Code(code),
                (None, Some(sig)) => ExitOutcome::Signal(sig),
                (None, None) => ExitOutcome::Unknown(format!("unexpected wait status {s}")),
            },
            Err(e) => ExitOutcome::Unknown(format!("waiting for the process failed: {e}")),
        }
    }
}

/// Why a launch failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum LaunchError {
    /// The interpreter program does not exist (on `PATH` or at the path given).
    #[error("interpreter `{program}` not found on this node: {source}")]
    InterpreterNotFound {
        /// The program.
        program: String,
        /// The OS error.
        source: io::Error,
    },
    /// Anything else the OS refused (work dir, files, fork, exec).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: io::Error,
    },
}

/// A launched script, shared by the runtime's registry and its callers.
#[derive(Debug)]
pub(super) struct Running {
    pub record: LaunchRecord,
    exit: watch::Receiver<Option<ExitOutcome>>,
    /// Set once the leader is reaped; held while signalling the group (see the module comment).
    reaped: Arc<Mutex<bool>>,
}

impl Running {
    /// The exit, if it has happened.
    pub fn exit_outcome(&self) -> Option<ExitOutcome> {
        self.exit.borrow().clone()
    }

    /// Waits for the exit. `None` only if the waiting task is gone (the tokio runtime is
    /// shutting down).
    pub async fn wait(&self) -> Option<ExitOutcome> {
        let mut rx = self.exit.clone();
        rx.wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|v| v.clone())
    }

    /// Sends a signal to the whole process group unless the leader has been reaped. Returns
    /// whether a signal was sent.
    pub fn signal_group(&self, signal: Signal) -> io::Result<bool> {
        let reaped = lock(&self.reaped);
        if *reaped {
            return Ok(false);
        }
        signal_group(self.record.pgid, signal)
    }
}

/// `kill(-pgid, signal)`; a group that no longer exists is not an error.
pub(super) fn signal_group(pgid: i32, signal: Signal) -> io::Result<bool> {
    let Some(pgid) = Pid::from_raw(pgid) else {
        return Ok(false);
    };
    match kill_process_group(pgid, signal) {
        Ok(()) => Ok(true),
        Err(Errno::SRCH) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The environment Baton adds for the script, after the engine's own and `shell.env` (so these
/// always win): the output protocol tokens and the attempt's identity.
pub(super) fn baton_env(ctx: &StepContext) -> Vec<(&'static str, String)> {
    vec![
        (OUTPUT_START_ENV, OUTPUT_START_TOKEN.to_string()),
        (OUTPUT_END_ENV, OUTPUT_END_TOKEN.to_string()),
        ("MAESTRO_WORKFLOW_ID", ctx.workflow_id.clone()),
        ("MAESTRO_INSTANCE_ID", ctx.workflow_instance_id.to_string()),
        ("MAESTRO_RUN_ID", ctx.workflow_run_id.to_string()),
        ("MAESTRO_STEP_ID", ctx.step_id.clone()),
        ("MAESTRO_STEP_INSTANCE_ID", ctx.step_instance_id.to_string()),
        ("MAESTRO_STEP_ATTEMPT_ID", ctx.step_attempt_id.to_string()),
        (STEP_UUID_ENV, ctx.step_uuid.clone()),
    ]
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Writes the script, spawns the interpreter in a new process group with stdout and stderr on
/// the log file, records the launch and starts the task that waits for the exit. Must run on a
/// tokio runtime.
pub(super) fn launch(
    spec: &ShellSpec,
    ctx: &StepContext,
    now: i64,
) -> Result<Running, LaunchError> {
    let work_dir: PathBuf = std::path::absolute(&ctx.work_dir).map_err(io_err(format!(
        "cannot resolve the work dir {}",
        ctx.work_dir.display()
    )))?;
    std::fs::create_dir_all(&work_dir).map_err(io_err(format!(
        "cannot create the work dir {}",
        work_dir.display()
    )))?;
    // A stale record would make a later `start` of this attempt reap a process that is gone.
    let _ = std::fs::remove_file(work_dir.join(LAUNCH_RECORD_FILE));
    let script_path = work_dir.join(SCRIPT_FILE);
    std::fs::write(&script_path, &spec.script).map_err(io_err(format!(
        "cannot write the script file {}",
        script_path.display()
    )))?;
    let log_path = work_dir.join(LOG_FILE);
    let log = File::create(&log_path).map_err(io_err(format!(
        "cannot create the log file {}",
        log_path.display()
    )))?;
    // One open file for both streams: they share the offset, so the log keeps their order.
    let log_for_stderr = log
        .try_clone()
        .map_err(io_err("cannot duplicate the log file handle"))?;

    let program = &spec.interpreter_argv[0];
    let mut command = Command::new(program);
    command
        .args(&spec.interpreter_argv[1..])
        .arg(&script_path)
        .args(&spec.args)
        .current_dir(&work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_for_stderr))
        .envs(&spec.env)
        .envs(baton_env(ctx))
        .process_group(0);
    let child = command.spawn().map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            LaunchError::InterpreterNotFound {
                program: program.clone(),
                source,
            }
        } else {
            LaunchError::Io {
                what: format!("cannot start interpreter `{program}`"),
                source,
            }
        }
    })?;

    let pid = child.id() as i32;
    // Not yet reaped, so /proc has it even if it exited at once.
    let stat = procfs::stat(pid);
    let mut full_command: Vec<String> = spec.interpreter_argv.clone();
    full_command.push(lossy(&script_path));
    full_command.extend(spec.args.iter().cloned());
    let record = LaunchRecord {
        step_uuid: ctx.step_uuid.clone(),
        pid,
        pgid: stat.map(|s| s.pgrp).unwrap_or(pid),
        process_start_ticks: stat.map(|s| s.start_ticks),
        boot_id: procfs::boot_id(),
        interpreter: spec.interpreter.clone(),
        command: full_command,
        work_dir: lossy(&work_dir),
        script_path: lossy(&script_path),
        log_path: lossy(&log_path),
        launch_time: now,
    };
    if let Err(e) = record.write_file(&work_dir) {
        tracing::warn!(step_uuid = %ctx.step_uuid, error = %e, "cannot write the shell launch record");
    }

    let (tx, rx) = watch::channel(None);
    let reaped = Arc::new(Mutex::new(false));
    tokio::spawn(watch_exit(child, record.pgid, reaped.clone(), tx));
    Ok(Running {
        record,
        exit: rx,
        reaped,
    })
}

/// Owns the child until it exits: waits without reaping, kills the rest of its group, reaps,
/// publishes.
async fn watch_exit(
    mut child: Child,
    pgid: i32,
    reaped: Arc<Mutex<bool>>,
    tx: watch::Sender<Option<ExitOutcome>>,
) {
    if wait_exited_unreaped(child.id() as i32).await.is_ok() {
        let outcome = {
            let mut reaped = lock(&reaped);
            // The zombie leader still holds the group id: no other group can have it.
            let _ = signal_group(pgid, Signal::KILL);
            match child.try_wait() {
                Ok(Some(status)) => {
                    *reaped = true;
                    Some(ExitOutcome::from(Ok(status)))
                }
                _ => None,
            }
        };
        if let Some(outcome) = outcome {
            let _ = tx.send(Some(outcome));
            return;
        }
    }
    // Could not watch the exit without reaping: plain blocking wait, no group clean-up.
    let status = tokio::task::spawn_blocking(move || child.wait()).await;
    *lock(&reaped) = true;
    let outcome = match status {
        Ok(r) => ExitOutcome::from(r),
        Err(e) => ExitOutcome::Unknown(format!("the wait task failed: {e}")),
    };
    let _ = tx.send(Some(outcome));
}

/// Resolves once the child `pid` has exited, leaving it a zombie. The SIGCHLD listener is set up
/// before the first check, so an exit between the two is not missed (SIGCHLDs may coalesce,
/// hence a check after every one).
async fn wait_exited_unreaped(pid: i32) -> io::Result<()> {
    let mut sigchld = signal(SignalKind::child())?;
    while !has_exited(pid)? {
        if sigchld.recv().await.is_none() {
            return Err(io::Error::other("the SIGCHLD listener stopped"));
        }
    }
    Ok(())
}

/// Whether the child `pid` has exited, without reaping it.
fn has_exited(pid: i32) -> io::Result<bool> {
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::other("invalid pid"))?;
    loop {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(pid), options) {
            Ok(status) => return Ok(status.is_some()),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_exit_without_reaping() {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("sleep 0.2; exit 3")
            .spawn()
            .unwrap();
        assert!(!has_exited(child.id() as i32).unwrap());
        wait_exited_unreaped(child.id() as i32).await.unwrap();
        let stat = procfs::stat(child.id() as i32).expect("still there as a zombie");
        assert!(stat.is_zombie());
        assert_eq!(
            ExitOutcome::from(child.wait()),
            ExitOutcome::Code(3),
            "the status is still there to reap"
        );
        assert!(procfs::stat(child.id() as i32).is_none());
    }
}
