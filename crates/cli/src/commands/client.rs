//! What the client commands (`push`, `start`, `status`, `watch`, `logs`, `stop`, `kill`,
//! `restart`, `list`) share: the server address and caller, an HTTP client that turns Maestro's
//! error bodies into readable errors, and table printing.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use reqwest::Method;
use serde_json::Value;

/// Where the server is and who is calling.
#[derive(clap::Args, Clone, Debug)]
pub struct ClientArgs {
    /// The Baton (or Maestro) server.
    #[arg(long, env = "BATON_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The caller sent in the `user` header (default: $USER).
    #[arg(long, env = "BATON_USER")]
    pub user: Option<String>,
    /// Print the server's JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// An error answer of the server: its Maestro error body.
#[derive(Debug)]
pub struct ServerError {
    pub http_status: u16,
    pub status: String,
    pub message: String,
    pub errors: Vec<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status, self.http_status, self.message
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// A connection to the server.
pub struct Client {
    http: reqwest::Client,
    base: String,
    user: String,
    pub json: bool,
}

impl Client {
    pub fn new(args: &ClientArgs) -> anyhow::Result<Client> {
        let user = args
            .user
            .clone()
            .unwrap_or_else(|| super::util::current_user().name);
        let http = reqwest::Client::builder()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            base: args.server.trim_end_matches('/').to_string(),
            user,
            json: args.json,
        })
    }

    /// Sends a request to `path` (starting with `/`) and returns the response text.
    pub async fn send_text(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header("user", &self.user);
        if let Some((content_type, bytes)) = body {
            req = req.header("Content-Type", content_type).body(bytes);
        }
        let resp = req.send().await.map_err(|e| {
            anyhow!(
                "cannot reach the server at {}: {e} (start one with `baton server`, or set --server / BATON_SERVER)",
                self.base
            )
        })?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("cannot read the answer to {method} {path}"))?;
        if status.is_success() {
            return Ok(text);
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Err(ServerError {
            http_status: status.as_u16(),
            status: body["status"]
                .as_str()
                .unwrap_or(status.canonical_reason().unwrap_or("ERROR"))
                .to_string(),
            message: body["message"].as_str().unwrap_or(&text).to_string(),
            errors: body["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| {
                            e.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| e.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
        .into())
    }

    /// Sends a request and parses the JSON answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> anyhow::Result<Value> {
        let text = self.send_text(method.clone(), path, body).await?;
        serde_json::from_str(&text)
            .with_context(|| format!("the answer to {method} {path} is not JSON: {text}"))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(
            Method::POST,
            path,
            Some(("application/json", serde_json::to_vec(body)?)),
        )
        .await
    }

    pub async fn put(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::PUT, path, None).await
    }
}

/// Percent-encodes one path segment (workflow and step ids may hold `.`, `-`, `_`, `:` only,
/// but a caller's typo should not change the path).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Prints a value as pretty JSON.
pub fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Prints rows as an aligned table with a header.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A JSON field as table text (`-` when absent).
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A duration between two epoch-ms fields, for tables.
pub fn span(start: &Value, end: &Value) -> String {
    match (start.as_i64(), end.as_i64()) {
        (Some(a), Some(b)) if b >= a => super::util::fmt_duration(b - a),
        _ => "-".into(),
    }
}

/// Runs an async client command on a small runtime and maps a server error to exit code 1.
pub fn block_on(
    f: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match rt.block_on(f) {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast_ref::<ServerError>() {
            Some(se) => {
                eprintln!("error: {se}");
                Ok(ExitCode::from(1))
            }
            None => Err(e),
        },
    }
}
