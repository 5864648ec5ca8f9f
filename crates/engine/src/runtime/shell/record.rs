//! The record of a launch: what `start` ran and how to recognise the process later.
//!
//! It is kept twice: in the step's `maestro_shell` artifact (so the API shows it and a recovering
//! engine finds it) and in `<work_dir>/shell-launch.json`, written right after the spawn, so that a
//! `start` repeated after a crash — before the engine could persist the artifact — still finds
//! the process the first `start` launched.

use std::path::Path;

use baton_model::instance::Artifact;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The artifact key the Shell runtime writes (a `DEFAULT` artifact).
pub const SHELL_ARTIFACT_KEY: &str = "maestro_shell";
/// The launch record file in the attempt's work dir.
pub const LAUNCH_RECORD_FILE: &str = "shell-launch.json";

/// What was launched for one attempt. Serialized flat into the `maestro_shell` artifact, which
/// later also gets `exit_code`, `signal`, `end_time` and `execution_output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchRecord {
    /// The attempt (also in the process environment as `MAESTRO_STEP_UUID`).
    pub step_uuid: String,
    /// The interpreter's pid.
    pub pid: i32,
    /// Its process group (its own: `pgid == pid`).
    pub pgid: i32,
    /// Start time of the process in clock ticks after boot (`/proc/<pid>/stat` field 22), to
    /// tell it from a later process that got the same pid.
    #[serde(default)]
    pub process_start_ticks: Option<u64>,
    /// The boot the start time belongs to.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// `shell.interpreter` as written.
    pub interpreter: String,
    /// The full command line (interpreter, its arguments, the script file, `shell.args`).
    pub command: Vec<String>,
    /// The attempt's work dir (the process's current directory).
    pub work_dir: String,
    /// The script file.
    pub script_path: String,
    /// stdout and stderr, interleaved.
    pub log_path: String,
    /// When it was launched (epoch ms).
    pub launch_time: i64,
}

impl LaunchRecord {
    /// The record as a `DEFAULT` artifact's fields.
    pub fn to_fields(&self) -> IndexMap<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m.into_iter().collect(),
            _ => IndexMap::new(),
        }
    }

    /// The record kept in a step's artifacts, if any.
    pub fn from_artifacts(artifacts: &IndexMap<String, Artifact>) -> Option<LaunchRecord> {
        match artifacts.get(SHELL_ARTIFACT_KEY)? {
            Artifact::Default(fields) => {
                let obj: serde_json::Map<String, Value> =
                    fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                serde_json::from_value(Value::Object(obj)).ok()
            }
            _ => None,
        }
    }

    /// Reads the record file of a work dir, if one was written.
    pub fn read_file(work_dir: &Path) -> Option<LaunchRecord> {
        let text = std::fs::read(work_dir.join(LAUNCH_RECORD_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Writes the record file.
    pub fn write_file(&self, work_dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(work_dir.join(LAUNCH_RECORD_FILE), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_artifact_and_file() {
        let r = LaunchRecord {
            step_uuid: "u".into(),
            pid: 10,
            pgid: 10,
            process_start_ticks: Some(99),
            boot_id: Some("b".into()),
            interpreter: "bash".into(),
            command: vec!["bash".into(), "/w/script".into()],
            work_dir: "/w".into(),
            script_path: "/w/script".into(),
            log_path: "/w/output.log".into(),
            launch_time: 5,
        };
        let mut fields = r.to_fields();
        fields.insert("exit_code".into(), Value::from(0));
        let arts: IndexMap<String, Artifact> =
            [(SHELL_ARTIFACT_KEY.to_string(), Artifact::Default(fields))]
                .into_iter()
                .collect();
        assert_eq!(LaunchRecord::from_artifacts(&arts), Some(r.clone()));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LaunchRecord::read_file(dir.path()), None);
        r.write_file(dir.path()).unwrap();
        assert_eq!(LaunchRecord::read_file(dir.path()), Some(r));
    }
}
