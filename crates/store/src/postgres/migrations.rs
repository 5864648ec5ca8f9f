//! Numbered schema migrations, applied in order at connect, each in its own transaction (DDL is
//! transactional in PostgreSQL, so a failed migration leaves nothing behind). A migration is
//! never edited once it has shipped; a schema change is a new file here and in SQLite's folder.
//!
//! Several processes may open the same database at once (a cluster starting up). A session
//! advisory lock, one per schema, makes them take turns: the first applies what is missing, the
//! others then find nothing to do. The lock also covers creating the schema and the
//! `schema_migrations` table. A store whose schema is up to date opens with a role that may
//! only read and write rows.

use tokio_postgres::Client;

use crate::{Result, StoreError};

/// (version, SQL) in ascending order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_flow.sql")),
    (
        3,
        include_str!("../../migrations/postgres/0003_signals_triggers.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_breakpoints.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_cluster.sql"),
    ),
];

/// The advisory-lock class of Baton's migrations (`pg_advisory_lock(int4, int4)`'s first key;
/// the second is a hash of the schema name). "BATN" in ASCII.
const LOCK_CLASS: i32 = 0x4241_544E;

/// Creates `schema` when given (else uses the session's current schema) and applies every
/// migration it has not recorded.
pub(crate) async fn run(client: &Client, schema: Option<&str>) -> Result<()> {
    let schema_name = match schema {
        Some(schema) => schema.to_string(),
        None => client
            .query_one("SELECT current_schema()", &[])
            .await?
            .try_get::<_, Option<String>>(0)?
            .ok_or_else(|| {
                StoreError::Database(
                    "no schema to create Baton's tables in: the connection's search_path names \
                     no existing schema"
                        .to_string(),
                )
            })?,
    };
    let key = lock_key(&schema_name);
    client
        .execute("SELECT pg_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])
        .await?;
    let outcome = apply(client, schema).await;
    if outcome.is_err() {
        // Leave the session usable for the unlock below.
        let _ = client.batch_execute("ROLLBACK").await;
    }
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1, $2)", &[&LOCK_CLASS, &key])
        .await;
    outcome?;
    unlocked?;
    Ok(())
}

async fn apply(client: &Client, schema: Option<&str>) -> Result<()> {
    // Existence is checked first: `CREATE … IF NOT EXISTS` needs the CREATE privilege even when
    // there is nothing to create, which a role that only reads and writes rows lacks.
    if let Some(schema) = schema {
        let exists = client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
            .await?
            .is_some();
        if !exists {
            // The name was checked to be a plain identifier.
            client
                .batch_execute(&format!("CREATE SCHEMA {schema}"))
                .await?;
        }
    }
    let recorded = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .try_get::<_, bool>(0)?;
    if !recorded {
        client
            .batch_execute(
                "CREATE TABLE schema_migrations \
                 (version BIGINT PRIMARY KEY, applied_ts BIGINT NOT NULL)",
            )
            .await?;
    }
    let applied: std::collections::HashSet<i64> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.try_get::<_, i64>(0))
        .collect::<std::result::Result<_, _>>()?;
    if let Some(unknown) = applied
        .iter()
        .find(|v| !MIGRATIONS.iter().any(|(known, _)| known == *v))
    {
        tracing::warn!(
            version = unknown,
            "the PostgreSQL schema has a migration this binary does not know"
        );
    }
    // Membership, not a high-water mark, decides (as on SQLite): branches developed in
    // parallel may land migrations out of order.
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        client.batch_execute("BEGIN").await?;
        client.batch_execute(sql).await?;
        client
            .execute(
                "INSERT INTO schema_migrations (version, applied_ts) VALUES ($1, $2)",
                &[version, &now_millis()],
            )
            .await?;
        client.batch_execute("COMMIT").await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    Ok(())
}

/// FNV-1a of the schema name folded to 32 bits: stable across processes and versions.
fn lock_key(schema: &str) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schema.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((hash >> 32) ^ hash) as u32 as i32
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_differ_by_schema() {
        assert_eq!(lock_key("public"), lock_key("public"));
        assert_ne!(lock_key("public"), lock_key("baton"));
    }
}
