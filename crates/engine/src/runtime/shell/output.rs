//! Reading a script's log: the output block of Maestro's job output protocol (§10.2) and the tail
//! kept in the step's artifact and shown by the API and CLI.
//!
//! Logs can be large, so nothing here loads a whole log: the tokens are searched from the end
//! of the file backwards (the *last* pair wins, as in Maestro), and only the block between them is
//! read.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use baton_model::instance::Artifact;
use baton_model::params::Parameter;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::process::{LOG_FILE, OUTPUT_END_TOKEN, OUTPUT_START_TOKEN};
use crate::runtime::OutputData;

/// Lines kept in `execution_output` (as Maestro's Kubernetes runtime).
pub const TAIL_LINES: usize = 128;
/// Bytes kept in `execution_output` (as Maestro's Kubernetes runtime).
pub const TAIL_BYTES: u64 = 10 * 1024;
/// The largest output block read; a bigger one is a user error rather than a memory spike.
pub const MAX_OUTPUT_BLOCK_BYTES: u64 = 16 * 1024 * 1024;

const CHUNK: u64 = 64 * 1024;

/// The path of a step attempt's log in its work dir.
pub fn log_path(work_dir: &Path) -> std::path::PathBuf {
    work_dir.join(LOG_FILE)
}

/// Reads a step attempt's log (stdout and stderr interleaved) from its work dir: all of it, or
/// only its last `tail_bytes` bytes. Invalid UTF-8 (also a character cut by the tail) is
/// replaced, not an error. A missing log is `NotFound`.
pub fn read_log(work_dir: &Path, tail_bytes: Option<u64>) -> io::Result<String> {
    read_tail(&log_path(work_dir), tail_bytes.unwrap_or(u64::MAX))
}

/// The last `max_lines` lines within the last `max_bytes` bytes of a log (Maestro's
/// `execution_output`). A missing log reads as empty.
pub(super) fn log_tail(log: &Path, max_bytes: u64, max_lines: usize) -> String {
    let Ok(text) = read_tail(log, max_bytes) else {
        return String::new();
    };
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let start = body
        .rmatch_indices('\n')
        .nth(max_lines.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    text[start..].to_string()
}

fn read_tail(log: &Path, tail_bytes: u64) -> io::Result<String> {
    let mut file = File::open(log)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(tail_bytes)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Why the output block could not be taken.
#[derive(Debug, thiserror::Error)]
pub(super) enum OutputError {
    /// The log could not be read.
    #[error("cannot read the log: {0}")]
    Io(#[from] io::Error),
    /// The block is too big to read.
    #[error("the output block is {0} bytes, more than the {MAX_OUTPUT_BLOCK_BYTES} allowed")]
    TooLarge(u64),
    /// The block is not valid output JSON.
    #[error("invalid output data between {OUTPUT_START_TOKEN} and {OUTPUT_END_TOKEN}: {0}")]
    Invalid(String),
}

/// The JSON a job prints between the tokens (Maestro's `OutputData`). The identity fields are
/// accepted because Maestro's JSON has them, and ignored: the engine knows the attempt.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputBlock {
    #[serde(default)]
    params: Option<IndexMap<String, Parameter>>,
    #[serde(default)]
    artifacts: Option<IndexMap<String, Artifact>>,
    #[serde(default)]
    #[allow(dead_code)]
    external_job_type: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    external_job_id: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    workflow_id: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    create_time: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    modify_time: Option<Value>,
}

/// Parses the text between the tokens.
pub(super) fn parse_output_block(text: &[u8]) -> Result<OutputData, OutputError> {
    let block: OutputBlock =
        serde_json::from_slice(text).map_err(|e| OutputError::Invalid(e.to_string()))?;
    Ok(OutputData {
        params: block.params.unwrap_or_default(),
        artifacts: block.artifacts.unwrap_or_default(),
    })
}

/// The output data a log carries: the JSON between the last start token and the last end token.
/// `None` when there is no such pair (no tokens, or the last start token comes after the last end
/// token), as in Maestro.
pub(super) fn read_output(log: &Path) -> Result<Option<OutputData>, OutputError> {
    let mut file = match File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    let Some(end) = rfind(&mut file, len, OUTPUT_END_TOKEN.as_bytes())? else {
        return Ok(None);
    };
    let Some(start) = rfind(&mut file, len, OUTPUT_START_TOKEN.as_bytes())? else {
        return Ok(None);
    };
    let from = start + OUTPUT_START_TOKEN.len() as u64;
    if from >= end {
        return Ok(None);
    }
    let size = end - from;
    if size > MAX_OUTPUT_BLOCK_BYTES {
        return Err(OutputError::TooLarge(size));
    }
    file.seek(SeekFrom::Start(from))?;
    let mut block = vec![0; size as usize];
    file.read_exact(&mut block)?;
    parse_output_block(&block).map(Some)
}

/// The offset of the last occurrence of `needle` in the first `len` bytes of `file`, reading
/// backwards chunk by chunk (chunks overlap so a match across a boundary is found).
fn rfind(file: &mut File, len: u64, needle: &[u8]) -> io::Result<Option<u64>> {
    let overlap = needle.len().saturating_sub(1) as u64;
    let mut end = len;
    let mut buf = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(CHUNK + overlap);
        buf.resize((end - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        if let Some(i) = memchr::memmem::rfind(&buf, needle) {
            return Ok(Some(start + i as u64));
        }
        if start == 0 {
            break;
        }
        end = start + overlap;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log_with(content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path());
        File::create(&path).unwrap().write_all(content).unwrap();
        (dir, path)
    }

    #[test]
    fn rfind_across_chunk_boundaries() {
        let needle = b"MAESTRO_OUTPUT_END_TOKEN";
        for at in [0u64, 1, CHUNK - 5, CHUNK, 2 * CHUNK + 3, 3 * CHUNK - 24] {
            let mut content = vec![b'x'; (3 * CHUNK) as usize];
            content[at as usize..at as usize + needle.len()].copy_from_slice(needle);
            let (_d, path) = log_with(&content);
            let mut f = File::open(&path).unwrap();
            let len = content.len() as u64;
            assert_eq!(rfind(&mut f, len, needle).unwrap(), Some(at), "at {at}");
        }
        let (_d, path) = log_with(b"nothing here");
        let mut f = File::open(&path).unwrap();
        assert_eq!(rfind(&mut f, 12, needle).unwrap(), None);
    }

    #[test]
    fn last_pair_wins_and_unpaired_tokens_give_nothing() {
        let log = b"a\nMAESTRO_OUTPUT_START_TOKEN{\"params\":{}}MAESTRO_OUTPUT_END_TOKEN\nMAESTRO_OUTPUT_START_TOKEN{\"artifacts\":{\"x\":{\"k\":1}}}MAESTRO_OUTPUT_END_TOKEN\n";
        let (_d, path) = log_with(log);
        let out = read_output(&path).unwrap().unwrap();
        assert!(out.artifacts.contains_key("x"));

        let (_d, path) = log_with(
            b"MAESTRO_OUTPUT_START_TOKEN{}MAESTRO_OUTPUT_END_TOKEN MAESTRO_OUTPUT_START_TOKEN{",
        );
        assert!(read_output(&path).unwrap().is_none(), "start after end");
        let (_d, path) = log_with(b"{}MAESTRO_OUTPUT_END_TOKEN");
        assert!(read_output(&path).unwrap().is_none(), "no start");
        let (_d, path) = log_with(b"MAESTRO_OUTPUT_START_TOKENMAESTRO_OUTPUT_END_TOKEN");
        assert!(read_output(&path).unwrap().is_none(), "empty block");
        let dir = tempfile::tempdir().unwrap();
        assert!(read_output(&log_path(dir.path())).unwrap().is_none());
    }

    #[test]
    fn invalid_blocks_are_errors() {
        for bad in [
            &b"MAESTRO_OUTPUT_START_TOKEN{not json}MAESTRO_OUTPUT_END_TOKEN"[..],
            b"MAESTRO_OUTPUT_START_TOKEN{\"parms\":{}}MAESTRO_OUTPUT_END_TOKEN",
            b"MAESTRO_OUTPUT_START_TOKEN{\"params\":{\"x\":{\"type\":\"LONG\",\"evaluated_result\":\"a\"}}}MAESTRO_OUTPUT_END_TOKEN",
        ] {
            let (_d, path) = log_with(bad);
            let err = read_output(&path).unwrap_err();
            assert!(
                matches!(err, OutputError::Invalid(_)),
                "{}: {err}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn tail_keeps_last_lines_and_bytes() {
        let text: String = (0..300).map(|i| format!("line {i}\n")).collect();
        let (dir, path) = log_with(text.as_bytes());
        let tail = log_tail(&path, TAIL_BYTES, TAIL_LINES);
        assert!(
            tail.starts_with("line 172\n") && tail.ends_with("line 299\n"),
            "{tail}"
        );
        assert_eq!(tail.lines().count(), 128);
        let tail = log_tail(&path, 20, TAIL_LINES);
        assert_eq!(tail, "7\nline 298\nline 299\n");
        assert_eq!(read_log(dir.path(), None).unwrap(), text);
        assert_eq!(read_log(dir.path(), Some(9)).unwrap(), "line 299\n");
        assert_eq!(read_log(dir.path(), Some(1 << 40)).unwrap(), text);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            read_log(empty.path(), None).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(log_tail(&log_path(empty.path()), 10, 10), "");
    }
}
