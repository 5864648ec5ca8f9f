//! Running the real `baton server` binary for tests: a child process on a free port over a
//! database in a temporary directory, stopped by SIGTERM when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn baton() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baton"))
}

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    /// stderr lines after the "listening" line, as the server writes them.
    pub stderr: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts `baton server` on `db` and waits until it listens.
    pub fn start(db: &Path) -> ServerProcess {
        let child = baton()
            .args(["server", "--bind", "127.0.0.1:0", "--db"])
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start baton server");
        Self::from_child(child)
    }

    /// Waits until a started `baton server` (stderr piped) listens.
    pub fn from_child(mut child: Child) -> ServerProcess {
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let base = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                .expect("the server printed its address");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        ServerProcess {
            child,
            base,
            stderr: rx,
        }
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let status = self.child.wait().expect("wait for the server");
        status.success()
    }

    /// The CLI pointed at this server.
    pub fn client(&self) -> Command {
        let mut c = baton();
        c.env("BATON_SERVER", &self.base)
            .env("BATON_USER", "tester");
        c
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Maestro's sample from the README walkthrough (its directory, and its path).
pub fn samples_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/maestro-samples"
    ))
}

/// A blocking GET returning (status, JSON body).
pub fn get_json(url: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    })
}
