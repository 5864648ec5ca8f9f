//! What `/proc` says about a process: its group and when it started, and whether it carries an
//! attempt's marker in its environment.
//!
//! A pid alone does not name a process for long: once reaped, the kernel hands the number to the
//! next process. Killing a process that a dead Baton launched is only safe when the pid still
//! belongs to that process, so a launch records the process start time (clock ticks since boot,
//! unique per pid within one boot) and the boot id, and the reaper checks both before signalling.

use std::path::Path;

/// The fields of `/proc/<pid>/stat` the runtime needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcStat {
    /// One-letter state (`R`, `S`, `Z`, …).
    pub state: char,
    /// Process group id.
    pub pgrp: i32,
    /// Start time in clock ticks after boot.
    pub start_ticks: u64,
}

impl ProcStat {
    /// A zombie has exited; it only waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Reads `/proc/<pid>/stat`; `None` when the process does not exist (or `/proc` cannot say).
pub(super) fn stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a stat line. The command name is in parentheses and may itself hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state (field 3), ppid, pgrp (5), …, starttime (22).
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// This boot's id; start times are only comparable within one boot.
pub(super) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether a process's initial environment holds `name=value` exactly. Readable only for
/// processes of the same user, which are the only ones Baton could signal anyway.
///
/// A process caught in the middle of an `exec` reads as an empty environment for an instant,
/// so an empty read is tried again a few times.
pub(super) fn environ_has(pid: i32, name: &str, value: &str) -> bool {
    let want = format!("{name}={value}");
    for _ in 0..5 {
        let Ok(bytes) = std::fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        if !bytes.is_empty() {
            return bytes
                .split(|b| *b == 0)
                .any(|entry| entry == want.as_bytes());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    false
}

/// Every pid listed in `/proc`.
pub(super) fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir(Path::new("/proc")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parens() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            s,
            ProcStat {
                state: 'S',
                pgrp: 4242,
                start_ticks: 987654
            }
        );
        assert!(parse_stat("12 (x) S 1").is_none());
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert!(!s.is_zombie());
        assert_eq!(stat(me).unwrap().start_ticks, s.start_ticks, "stable");
        assert!(boot_id().is_some());
        assert!(all_pids().contains(&me));
        assert!(!environ_has(me, "BATON_SURELY_UNSET_VARIABLE", "x"));
    }
}
