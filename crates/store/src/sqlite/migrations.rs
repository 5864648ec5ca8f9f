//! Numbered schema migrations, applied in order at start-up. A migration is never edited once
//! it has shipped; a schema change is a new file.

use rusqlite::Connection;

use crate::Result;

/// (version, SQL) in ascending order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_flow.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_signals_triggers.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_breakpoints.sql"),
    ),
    (6, include_str!("../../migrations/sqlite/0006_cluster.sql")),
];

/// Applies every migration the database has not recorded yet, in version order, each in its
/// own transaction. Membership, not a high-water mark, decides: branches developed in parallel
/// may land migrations out of order.
pub(crate) fn run(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ts INTEGER NOT NULL)",
    )?;
    let applied: std::collections::HashSet<i64> = {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_ts) VALUES (?1, ?2)",
            rusqlite::params![version, now_millis()],
        )?;
        tx.commit()?;
        tracing::info!(version, "applied sqlite migration");
    }
    Ok(())
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
