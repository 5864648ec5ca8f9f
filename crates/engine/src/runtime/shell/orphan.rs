//! Stopping what a dead Baton process left running.
//!
//! A script runs in its own process group, so when the engine that launched it dies the script
//! keeps going: it is then an orphan whose attempt the recovering engine has already declared
//! lost. This module finds and stops it, and must never hit anything else:
//!
//! * the leader counts as the attempt's only if the recorded pid still has the recorded start
//!   time in the same boot (a recycled pid has another start time), and only then is the whole
//!   recorded group signalled;
//! * other processes count only if they are in the recorded group *and* carry the attempt's
//!   `MAESTRO_STEP_UUID` in their environment (for when the leader is gone but children live).
//!
//! An orphan is not our child, so its exit cannot be awaited: the reaper re-checks `/proc` on a
//! short period during the grace period. This runs only on recovery, never on the hot path.

use std::io;
use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process};

use super::process::{STEP_UUID_ENV, signal_group};
use super::procfs;
use super::record::LaunchRecord;

/// How long to wait for processes to vanish after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);
const RECHECK: Duration = Duration::from_millis(20);

/// What [`super::ShellRuntime::reap_orphan`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReapOutcome {
    /// No launch was recorded for the attempt (neither in its artifacts nor in its work dir).
    NothingRecorded,
    /// The attempt's process is watched by this Baton process: not an orphan, left alone.
    NotAnOrphan,
    /// Nothing of the attempt is alive (it ended, its pid now names another process, or the
    /// machine rebooted).
    NotRunning,
    /// These processes of the attempt were stopped; `forced` when SIGTERM was not enough.
    Stopped {
        /// The processes signalled.
        pids: Vec<i32>,
        /// Whether SIGKILL was needed.
        forced: bool,
    },
    /// They could not be stopped (the message says why).
    Failed(String),
}

/// The attempt's live processes, as far as they can be recognised.
#[derive(Debug, Default, PartialEq)]
struct Live {
    /// The recorded leader is alive, is the same process, and still leads the recorded group.
    leader_leads_group: bool,
    /// Every recognised pid (the leader included when alive).
    pids: Vec<i32>,
}

fn find_live(rec: &LaunchRecord) -> Live {
    let mut live = Live::default();
    if let (Some(recorded), Some(now)) = (&rec.boot_id, procfs::boot_id())
        && *recorded != now
    {
        return live;
    }
    let leader = rec.process_start_ticks.and_then(|ticks| {
        procfs::stat(rec.pid).filter(|s| s.start_ticks == ticks && !s.is_zombie())
    });
    if let Some(stat) = leader {
        live.leader_leads_group = stat.pgrp == rec.pgid;
        live.pids.push(rec.pid);
    }
    for pid in procfs::all_pids() {
        if pid == rec.pid {
            continue;
        }
        let in_group = procfs::stat(pid).is_some_and(|s| s.pgrp == rec.pgid && !s.is_zombie());
        if in_group && procfs::environ_has(pid, STEP_UUID_ENV, &rec.step_uuid) {
            live.pids.push(pid);
        }
    }
    live
}

/// Signals every recognised process; returns the ones found.
fn signal_live(rec: &LaunchRecord, signal: Signal) -> io::Result<Vec<i32>> {
    let live = find_live(rec);
    if live.leader_leads_group {
        // Also reaches group members that cleared their environment.
        signal_group(rec.pgid, signal)?;
    }
    for pid in &live.pids {
        let Some(p) = Pid::from_raw(*pid) else {
            continue;
        };
        match kill_process(p, signal) {
            Ok(()) | Err(Errno::SRCH) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(live.pids)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Waits until nothing of the attempt is alive, or the time is up; returns whether it is gone.
async fn wait_gone(rec: &LaunchRecord, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = rec.clone();
        if blocking(move || find_live(&r).pids.is_empty())
            .await
            .unwrap_or(false)
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(RECHECK).await;
    }
}

/// Stops the attempt's processes: SIGTERM, then SIGKILL after `grace`.
pub(super) async fn reap(rec: &LaunchRecord, grace: Duration) -> ReapOutcome {
    let r = rec.clone();
    let pids = match blocking(move || signal_live(&r, Signal::TERM)).await {
        Some(Ok(pids)) => pids,
        Some(Err(e)) => return ReapOutcome::Failed(format!("cannot signal the processes: {e}")),
        None => return ReapOutcome::Failed("the reaper task failed".to_string()),
    };
    if pids.is_empty() {
        return ReapOutcome::NotRunning;
    }
    if wait_gone(rec, grace).await {
        return ReapOutcome::Stopped {
            pids,
            forced: false,
        };
    }
    let r = rec.clone();
    if let Some(Err(e)) = blocking(move || signal_live(&r, Signal::KILL)).await {
        return ReapOutcome::Failed(format!("cannot kill the processes: {e}"));
    }
    if wait_gone(rec, KILL_WAIT).await {
        ReapOutcome::Stopped { pids, forced: true }
    } else {
        ReapOutcome::Failed(format!(
            "processes of group {} still alive after SIGKILL",
            rec.pgid
        ))
    }
}
