//! `baton server`: serves Maestro's REST API (`/api/v3`) on an engine with a durable store.
//! Unfinished runs resume when it starts; SIGTERM or Ctrl-C stops accepting connections, lets
//! requests in flight finish, parks running runs at a turn boundary (their state is already in
//! the store) and exits — the next start on the same database resumes them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use baton_engine::{Engine, EngineConfig};
use baton_store::Store;
use baton_store::sqlite::{SqliteOptions, SqliteStore};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, env = "BATON_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The database: a SQLite file (created if missing), `sqlite://PATH`, or a PostgreSQL URL
    /// (`postgres://user@host:5432/db`, `?schema=NAME` for a schema of its own).
    #[arg(long, env = "BATON_DB", default_value = "baton.db")]
    pub db: String,
    /// Where steps keep their files (Shell logs). Default: `<db>.work` beside the database.
    #[arg(long, env = "BATON_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Largest request body in bytes (larger ones get 413).
    #[arg(long, default_value_t = baton_server::DEFAULT_MAX_BODY_BYTES)]
    pub max_body: usize,
    /// Seconds to wait on shutdown for runs to reach a turn boundary.
    #[arg(long, default_value_t = 10)]
    pub shutdown_grace: u64,
    /// Cluster mode: share the PostgreSQL database with other `baton server --cluster`
    /// processes, each running the runs of the ownership groups it leases.
    #[arg(long, env = "BATON_CLUSTER")]
    pub cluster: bool,
    /// Cluster mode: this node's id, unique in the cluster (default: host name and port).
    #[arg(long, env = "BATON_NODE_ID")]
    pub node_id: Option<String>,
    /// Cluster mode: the URL other nodes reach this one at (default: http:// + the bound
    /// address, right only when the others run on the same machine).
    #[arg(long, env = "BATON_ADVERTISE")]
    pub advertise: Option<String>,
    /// Ownership groups runs hash into. Fixed for the life of a database: every node of a
    /// cluster must use the same value.
    #[arg(long, env = "BATON_GROUPS", default_value_t = baton_engine::cluster::DEFAULT_GROUPS)]
    pub groups: i64,
    /// Cluster mode: milliseconds a node's lease lasts without a heartbeat — how long a dead
    /// node's runs wait before another node takes them over.
    #[arg(long, env = "BATON_LEASE_MS", default_value_t = 10_000)]
    pub lease_ms: u64,
    /// Cluster mode: milliseconds between heartbeats (default: a fifth of the lease).
    #[arg(long, env = "BATON_HEARTBEAT_MS")]
    pub heartbeat_ms: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(args))
}

/// Opens the store a `--db` value names: SQLite for a path or `sqlite://PATH`, PostgreSQL for a
/// `postgres://` or `postgresql://` URL. The second value is where the work dir goes by default:
/// beside a SQLite file, or `baton.work` in the current directory for PostgreSQL.
pub(crate) async fn open_store(db: &str) -> anyhow::Result<(Arc<dyn Store>, PathBuf)> {
    if is_postgres_url(db) {
        let store = baton_store::open(db)
            .await
            .with_context(|| format!("cannot open the PostgreSQL store {}", redact(db)))?;
        return Ok((store, PathBuf::from("baton")));
    }
    let path = PathBuf::from(db.strip_prefix("sqlite://").unwrap_or(db));
    if path.as_os_str().is_empty() {
        bail!("--db names no database file");
    }
    let open_path = path.clone();
    let store = tokio::task::spawn_blocking(move || {
        SqliteStore::open(&open_path, SqliteOptions::default())
    })
    .await
    .context("opening the store failed")?
    .with_context(|| format!("cannot open {}", path.display()))?;
    Ok((Arc::new(store), path))
}

/// Like [`open_store`], for commands that act on existing data (`resume`, `signal get`,
/// `triggers list`): a SQLite file that does not exist is an error rather than created empty.
pub(crate) async fn open_existing_store(db: &str) -> anyhow::Result<(Arc<dyn Store>, PathBuf)> {
    if !is_postgres_url(db) {
        let path = std::path::Path::new(db.strip_prefix("sqlite://").unwrap_or(db));
        if !path.as_os_str().is_empty() && !path.exists() {
            bail!("{} does not exist", path.display());
        }
    }
    open_store(db).await
}

/// Whether a `--db` value names a PostgreSQL database.
pub(crate) fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn serve(args: Args) -> anyhow::Result<ExitCode> {
    let (store, db_path) = open_store(&args.db).await?;
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.work", db_path.display())));
    let description = store.describe();
    // Bound first: the advertised address defaults to the bound one.
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let mut config = EngineConfig::new(&work_dir);
    if args.groups < 1 {
        bail!("--groups must be at least 1");
    }
    config.groups = args.groups;
    if args.cluster {
        if !args.db.starts_with("postgres://") && !args.db.starts_with("postgresql://") {
            bail!("--cluster needs a PostgreSQL database (--db postgres://…)");
        }
        let heartbeat = args.heartbeat_ms.unwrap_or(args.lease_ms / 5);
        if heartbeat == 0 || heartbeat >= args.lease_ms {
            bail!("--heartbeat-ms must be above 0 and below --lease-ms");
        }
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "baton".to_string());
        config.cluster = Some(baton_engine::ClusterConfig {
            node_id: args
                .node_id
                .clone()
                .unwrap_or_else(|| format!("{host}:{}", addr.port())),
            address: args
                .advertise
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            lease: Duration::from_millis(args.lease_ms),
            heartbeat: Duration::from_millis(heartbeat),
        });
    }
    let cluster_note = config
        .cluster
        .as_ref()
        .map(|c| {
            format!(
                "; cluster node {} at {}, {} groups, lease {} ms",
                c.node_id,
                c.address,
                args.groups,
                c.lease.as_millis()
            )
        })
        .unwrap_or_default();
    let engine = Engine::start(store, config)
        .await
        .context("cannot start the engine")?;
    let app = baton_server::app(
        engine.clone(),
        baton_server::ServerOptions {
            max_body_bytes: args.max_body,
        },
    );
    eprintln!(
        "baton server listening on http://{addr} ({description}; work dir {}; {} runs resumed{cluster_note})",
        work_dir.display(),
        engine.live_runs()
    );
    baton_server::serve(listener, app, shutdown_signal())
        .await
        .context("the server failed")?;
    eprintln!(
        "baton server: shutting down, parking {} live runs",
        engine.live_runs()
    );
    engine
        .shutdown(Duration::from_secs(args.shutdown_grace))
        .await;
    eprintln!("baton server: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
