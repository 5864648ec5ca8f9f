//! The PostgreSQL backend: the store for clusters and for anyone who already runs PostgreSQL.
//!
//! It behaves exactly like the SQLite backend (the same behavioural suite runs against both) and
//! has the same shape: one writer task owns one dedicated connection and applies callers'
//! batches in group commits (see [`writer`]), while reads run on a small pool of connections.
//! Every statement is prepared once per connection. A reader sees every batch whose `write` call
//! has returned, because the writer answers only after its COMMIT.
//!
//! Tables live in one schema (by default the connection's `search_path`; [`PgOptions::schema`]
//! picks another, which is how tests get a fresh, empty store each). Migrations run at connect
//! (see [`migrations`]). TLS is not used: the database is expected on loopback or a private
//! network.

mod apply;
mod cluster;
mod deletion;
mod migrations;
mod notify;
mod read;
mod statements;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;

use crate::{
    InstanceRow, Result, RunKey, SignalQuery, SignalRow, StepAttemptRow, Store, StoreError,
    TagPermitRow, TriggerRow, VersionRow, WorkflowDeletion, WorkflowRow, WriteOp, WriteOutcome,
};

pub use writer::WriterStats;

/// Options for [`PgStore::connect`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The schema that holds Baton's tables, created if it does not exist. `None` uses the first
    /// schema of the connection's `search_path` (usually `public`). A lower-case SQL identifier:
    /// letters, digits and `_`, not starting with a digit, at most 63 bytes.
    pub schema: Option<String>,
    /// Read connections in the pool (the writer has one more of its own).
    pub readers: usize,
    /// The most callers' batches folded into one transaction.
    pub max_batch: usize,
    /// How long to wait for a connection, unless the URL sets `connect_timeout`.
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: None,
            readers: 4,
            max_batch: 512,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The PostgreSQL store. Cheap to clone; all clones share the writer and the read pool.
///
/// The writer and the connections run as tasks of the tokio runtime that called
/// [`PgStore::connect`]; the store stops working when that runtime shuts down.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// For the notification connection.
    config: tokio_postgres::Config,
    writer: writer::WriterHandle,
    schema: String,
    description: String,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, or any form
    /// `tokio-postgres` accepts, e.g. with `?options=-csynchronous_commit%3Doff`), runs pending
    /// migrations and starts the writer. A URL may also name the schema, `?schema=baton`, which
    /// is used when `options.schema` is `None`.
    pub async fn connect(url: &str, mut options: PgOptions) -> Result<PgStore> {
        let (url, url_schema) = split_schema_param(url);
        if options.schema.is_none() {
            options.schema = url_schema;
        }
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|err| {
            // The URL may hold a password: name the problem, not the URL.
            StoreError::Database(format!("invalid PostgreSQL URL: {}", error_text(&err)))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("baton");
        }
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            // A later `-c` wins, so this overrides a search_path the URL may set.
            let mut session = config.get_options().unwrap_or_default().to_string();
            if !session.is_empty() {
                session.push(' ');
            }
            session.push_str(&format!("-c search_path={schema}"));
            config.options(session);
        }
        let target = describe_target(&config);

        let client = connect_client(&config, &target).await?;
        migrations::run(&client, options.schema.as_deref()).await?;
        let (schema, synchronous_commit) = session_facts(&client).await?;
        let writer = writer::WriterHandle::spawn(client, config.clone(), options.max_batch).await?;

        let listen_config = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.readers.max(1))
            .build()
            .map_err(|err| StoreError::Database(format!("cannot build the read pool: {err}")))?;
        let description = format!(
            "postgres {target} schema {schema} (synchronous_commit={synchronous_commit}, \
             group commit up to {} batches, {} read connections)",
            options.max_batch.max(1),
            options.readers.max(1)
        );
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                config: listen_config,
                writer,
                schema,
                description,
            }),
        })
    }

    /// The schema that holds the tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// What the group-commit writer has done so far: commits, and the batches and ops they
    /// carried.
    pub fn writer_stats(&self) -> WriterStats {
        self.inner.writer.stats()
    }

    /// A pooled read connection.
    async fn reader(&self) -> Result<deadpool_postgres::Object> {
        self.inner.pool.get().await.map_err(|err| {
            StoreError::Database(format!("cannot get a PostgreSQL read connection: {err}"))
        })
    }
}

/// Opens one connection and drives it on its own task.
async fn connect_client(
    config: &tokio_postgres::Config,
    target: &str,
) -> Result<tokio_postgres::Client> {
    let (client, connection) = config.connect(NoTls).await.map_err(|err| {
        StoreError::Database(format!(
            "cannot connect to PostgreSQL at {target}: {}",
            error_text(&err)
        ))
    })?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::warn!(error = %error_text(&err), "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The schema the session writes into and its commit durability, for [`Store::describe`].
async fn session_facts(client: &tokio_postgres::Client) -> Result<(String, String)> {
    let row = client
        .query_one(
            "SELECT current_schema(), current_setting('synchronous_commit')",
            &[],
        )
        .await?;
    let schema: Option<String> = row.try_get(0)?;
    Ok((schema.unwrap_or_default(), row.try_get(1)?))
}

/// `user@host:port/db`, without the password.
fn describe_target(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("{user}@{host}:{port}/{db}")
}

/// Takes Baton's own `schema` query parameter out of a URL (`tokio-postgres` refuses parameters
/// it does not know).
fn split_schema_param(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return (url.to_string(), None);
    }
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(value) => {
                schema = Some(value.to_string());
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema)
}

/// Schema names go into SQL and the connection options unquoted, so only plain identifiers are
/// accepted (an unquoted identifier is lower-cased by PostgreSQL, hence lower case only).
fn check_schema_name(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "invalid schema name {schema:?}: use lower-case letters, digits and _ (not first), \
             at most 63 bytes"
        )))
    }
}

/// The error's text with the server's message, code and detail (the `Display` of a
/// `tokio_postgres::Error` alone says only "db error").
fn error_text(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(": ");
            text.push_str(detail);
        }
        return text;
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        // A unique key that already exists is a conflict by definition (it is how a race with
        // another process shows up); everything else is a database failure.
        if err.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict(error_text(&err))
        } else {
            StoreError::Database(error_text(&err))
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.inner.writer.submit(ops).await
    }

    fn describe(&self) -> String {
        self.inner.description.clone()
    }

    async fn get_workflow(&self, workflow_id: &str) -> Result<Option<WorkflowRow>> {
        read::workflow(&self.reader().await?, workflow_id).await
    }

    async fn list_workflows(&self, after: Option<&str>, limit: usize) -> Result<Vec<WorkflowRow>> {
        read::workflows(&self.reader().await?, after, limit).await
    }

    async fn get_version(&self, workflow_id: &str, version_id: i64) -> Result<Option<VersionRow>> {
        read::version(&self.reader().await?, workflow_id, version_id).await
    }

    async fn list_versions(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        read::versions(&self.reader().await?, workflow_id, before, limit).await
    }

    async fn get_instance_run(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
    ) -> Result<Option<InstanceRow>> {
        read::instance_run(&self.reader().await?, workflow_id, instance_id, run_id).await
    }

    async fn list_instance_runs(
        &self,
        workflow_id: &str,
        instance_id: i64,
    ) -> Result<Vec<InstanceRow>> {
        read::instance_runs(&self.reader().await?, workflow_id, instance_id).await
    }

    async fn list_instances(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>> {
        read::instances(&self.reader().await?, workflow_id, before, limit).await
    }

    async fn list_active_runs(&self) -> Result<Vec<InstanceRow>> {
        read::active_runs(&self.reader().await?).await
    }

    async fn list_queued_runs(&self, workflow_id: &str, limit: usize) -> Result<Vec<InstanceRow>> {
        read::queued_runs(&self.reader().await?, workflow_id, limit).await
    }

    async fn count_running_runs(&self, workflow_id: &str) -> Result<i64> {
        read::count_running(&self.reader().await?, workflow_id).await
    }

    async fn list_runs_with_status(
        &self,
        workflow_id: &str,
        statuses: &[String],
        queued: Option<bool>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>> {
        read::runs_with_status(&self.reader().await?, workflow_id, statuses, queued, limit).await
    }

    async fn list_latest_step_attempts(
        &self,
        workflow_id: &str,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>> {
        read::latest_step_attempts(&self.reader().await?, workflow_id, step_id).await
    }

    async fn get_tag_permit(&self, tag: &str) -> Result<Option<TagPermitRow>> {
        read::tag_permit(&self.reader().await?, tag).await
    }

    async fn list_tag_permits(&self) -> Result<Vec<TagPermitRow>> {
        read::tag_permits(&self.reader().await?).await
    }

    async fn list_breakpoints(
        &self,
        workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<crate::BreakpointRow>> {
        read::breakpoints(&self.reader().await?, workflow_id, step_id).await
    }

    async fn list_paused_attempts(
        &self,
        breakpoint_workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<crate::PausedAttemptRow>> {
        read::paused(&self.reader().await?, breakpoint_workflow_id, step_id).await
    }

    async fn list_paused_attempts_of_run(
        &self,
        run: &RunKey,
    ) -> Result<Vec<crate::PausedAttemptRow>> {
        read::paused_of_run(&self.reader().await?, run).await
    }

    async fn list_step_attempts(&self, run: &RunKey) -> Result<Vec<StepAttemptRow>> {
        read::step_attempts(&self.reader().await?, run, None).await
    }

    async fn list_attempts_of_step(
        &self,
        run: &RunKey,
        step_id: &str,
    ) -> Result<Vec<StepAttemptRow>> {
        read::step_attempts(&self.reader().await?, run, Some(step_id)).await
    }

    async fn list_active_runs_in_group(&self, group_id: i64) -> Result<Vec<InstanceRow>> {
        cluster::active_runs_in_group(&self.reader().await?, group_id).await
    }

    async fn join_cluster(&self, node: &crate::NodeInfo, groups: i64, lease_ms: i64) -> Result<()> {
        cluster::join(&mut self.reader().await?, node, groups, lease_ms).await
    }

    async fn heartbeat_node(
        &self,
        node: &crate::NodeInfo,
        lease_ms: i64,
    ) -> Result<crate::NodeHeartbeat> {
        cluster::heartbeat(&self.reader().await?, node, lease_ms).await
    }

    async fn claim_groups(
        &self,
        node: &crate::NodeInfo,
        max: usize,
    ) -> Result<Vec<crate::GroupLease>> {
        cluster::claim(&self.reader().await?, node, max).await
    }

    async fn release_group(&self, node_id: &str, group_id: i64, generation: i64) -> Result<bool> {
        cluster::release(&self.reader().await?, node_id, group_id, generation).await
    }

    async fn leave_cluster(&self, node_id: &str) -> Result<()> {
        cluster::leave(&mut self.reader().await?, node_id).await
    }

    async fn list_groups(&self) -> Result<Vec<crate::GroupLease>> {
        cluster::list_groups(&self.reader().await?).await
    }

    async fn notify(&self, message: &str) -> Result<()> {
        let c = self.reader().await?;
        let stmt = c
            .prepare_cached("SELECT pg_notify($1::TEXT, $2::TEXT)")
            .await?;
        c.execute(&stmt, &[&notify::channel(&self.inner.schema), &message])
            .await?;
        Ok(())
    }

    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        Ok(Some(notify::listen(
            self.inner.config.clone(),
            notify::channel(&self.inner.schema),
        )))
    }

    async fn count_runs_by_status(&self, workflow_id: &str) -> Result<Vec<(String, i64)>> {
        read::count_by_status(&self.reader().await?, workflow_id).await
    }

    async fn instance_id_range(&self, workflow_id: &str) -> Result<Option<(i64, i64)>> {
        read::instance_id_range(&self.reader().await?, workflow_id).await
    }

    async fn delete_workflow(&self, workflow_id: &str) -> Result<WorkflowDeletion> {
        self.inner.writer.delete_workflow(workflow_id).await
    }

    async fn get_signal(&self, name: &str, seq_id: Option<i64>) -> Result<Option<SignalRow>> {
        read::signal(&self.reader().await?, name, seq_id).await
    }

    async fn find_signals(&self, query: &SignalQuery) -> Result<Vec<SignalRow>> {
        read::find_signals(&self.reader().await?, query).await
    }

    async fn list_triggers(&self, workflow_id: Option<&str>) -> Result<Vec<TriggerRow>> {
        read::triggers(&self.reader().await?, workflow_id).await
    }

    async fn next_sequence_value(&self, name: &str) -> Result<i64> {
        let outcome = self
            .write(vec![WriteOp::NextSequence {
                name: name.to_string(),
            }])
            .await?;
        match outcome.first() {
            Some(WriteOutcome::Sequence(v)) => Ok(*v),
            other => Err(StoreError::Database(format!(
                "sequence write returned {other:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("baton").is_ok());
        assert!(check_schema_name("_t1_x").is_ok());
        for bad in ["", "1x", "Baton", "a-b", "a b", "x;drop", &"a".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_schema_parameter_is_taken_out_of_the_url() {
        let split = |url: &str| split_schema_param(url);
        assert_eq!(split("postgres://h/db"), ("postgres://h/db".into(), None));
        assert_eq!(
            split("postgres://h/db?schema=baton"),
            ("postgres://h/db".into(), Some("baton".into()))
        );
        assert_eq!(
            split("postgresql://h/db?connect_timeout=3&schema=b&application_name=x"),
            (
                "postgresql://h/db?connect_timeout=3&application_name=x".into(),
                Some("b".into())
            )
        );
        // Key-value connection strings are left alone.
        assert_eq!(
            split("host=h dbname=db?schema=x"),
            ("host=h dbname=db?schema=x".into(), None)
        );
    }

    #[test]
    fn targets_never_show_the_password() {
        let config =
            tokio_postgres::Config::from_str("postgres://bob:secret@db.example:6543/baton")
                .unwrap();
        assert_eq!(describe_target(&config), "bob@db.example:6543/baton");
    }
}
