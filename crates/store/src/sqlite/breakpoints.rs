//! Step breakpoints and paused attempts on SQLite (migration 0004): the writes the writer
//! thread applies and the reads the pool answers.

use rusqlite::{Connection, Row, params};

use crate::{BreakpointRow, PausedAttemptRow, Result, RunKey, StepAttemptKey, WriteOutcome};

pub(crate) fn put_breakpoint(conn: &Connection, b: &BreakpointRow) -> Result<WriteOutcome> {
    conn.execute(
        "INSERT INTO step_breakpoint (workflow_id, step_id, version, instance_id, run_id, attempt_id, \
         created_by, create_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (workflow_id, step_id, version, instance_id, run_id, attempt_id) DO UPDATE SET \
         created_by = excluded.created_by, create_ts = excluded.create_ts",
        params![
            b.workflow_id,
            b.step_id,
            b.version,
            b.instance_id,
            b.run_id,
            b.attempt_id,
            b.created_by,
            b.create_ts
        ],
    )?;
    Ok(WriteOutcome::Done)
}

pub(crate) fn delete_breakpoints(
    conn: &Connection,
    workflow_id: &str,
    step_id: &str,
    resume: bool,
) -> Result<WriteOutcome> {
    let n = conn.execute(
        "DELETE FROM step_breakpoint WHERE workflow_id = ?1 AND step_id = ?2",
        params![workflow_id, step_id],
    )?;
    if resume {
        conn.execute(
            "DELETE FROM paused_step_attempt WHERE breakpoint_workflow_id = ?1 AND step_id = ?2",
            params![workflow_id, step_id],
        )?;
    }
    Ok(WriteOutcome::Count(n as u64))
}

pub(crate) fn add_paused(conn: &Connection, p: &PausedAttemptRow) -> Result<WriteOutcome> {
    conn.execute(
        "INSERT INTO paused_step_attempt (workflow_id, instance_id, run_id, step_id, attempt_id, \
         breakpoint_workflow_id, version, create_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT DO NOTHING",
        params![
            p.key.run.workflow_id,
            p.key.run.instance_id,
            p.key.run.run_id,
            p.key.step_id,
            p.key.attempt_id,
            p.breakpoint_workflow_id,
            p.version,
            p.create_ts
        ],
    )?;
    Ok(WriteOutcome::Done)
}

pub(crate) fn delete_paused(conn: &Connection, k: &StepAttemptKey) -> Result<WriteOutcome> {
    let n = conn.execute(
        "DELETE FROM paused_step_attempt WHERE workflow_id = ?1 AND instance_id = ?2 \
         AND run_id = ?3 AND step_id = ?4 AND attempt_id = ?5",
        params![
            k.run.workflow_id,
            k.run.instance_id,
            k.run.run_id,
            k.step_id,
            k.attempt_id
        ],
    )?;
    Ok(WriteOutcome::Count(n as u64))
}

fn breakpoint_row(r: &Row<'_>) -> rusqlite::Result<BreakpointRow> {
    Ok(BreakpointRow {
        workflow_id: r.get(0)?,
        step_id: r.get(1)?,
        version: r.get(2)?,
        instance_id: r.get(3)?,
        run_id: r.get(4)?,
        attempt_id: r.get(5)?,
        created_by: r.get(6)?,
        create_ts: r.get(7)?,
    })
}

pub(crate) fn list_breakpoints(
    c: &Connection,
    workflow_id: Option<&str>,
    step_id: Option<&str>,
) -> Result<Vec<BreakpointRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT workflow_id, step_id, version, instance_id, run_id, attempt_id, created_by, create_ts \
         FROM step_breakpoint WHERE (?1 IS NULL OR workflow_id = ?1) AND (?2 IS NULL OR step_id = ?2) \
         ORDER BY workflow_id, step_id, version, instance_id, run_id, attempt_id",
    )?;
    let rows = stmt.query_map(params![workflow_id, step_id], breakpoint_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const PAUSED_COLUMNS: &str = "workflow_id, instance_id, run_id, step_id, attempt_id, \
    breakpoint_workflow_id, version, create_ts";

fn paused_row(r: &Row<'_>) -> rusqlite::Result<PausedAttemptRow> {
    Ok(PausedAttemptRow {
        key: StepAttemptKey {
            run: RunKey {
                workflow_id: r.get(0)?,
                instance_id: r.get(1)?,
                run_id: r.get(2)?,
            },
            step_id: r.get(3)?,
            attempt_id: r.get(4)?,
        },
        breakpoint_workflow_id: r.get(5)?,
        version: r.get(6)?,
        create_ts: r.get(7)?,
    })
}

pub(crate) fn list_paused(
    c: &Connection,
    workflow_id: Option<&str>,
    step_id: Option<&str>,
) -> Result<Vec<PausedAttemptRow>> {
    let sql = format!(
        "SELECT {PAUSED_COLUMNS} FROM paused_step_attempt WHERE (?1 IS NULL OR breakpoint_workflow_id = ?1) \
         AND (?2 IS NULL OR step_id = ?2) ORDER BY workflow_id, instance_id, run_id, step_id, attempt_id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![workflow_id, step_id], paused_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_paused_of_run(c: &Connection, run: &RunKey) -> Result<Vec<PausedAttemptRow>> {
    let sql = format!(
        "SELECT {PAUSED_COLUMNS} FROM paused_step_attempt WHERE workflow_id = ?1 AND instance_id = ?2 \
         AND run_id = ?3 ORDER BY step_id, attempt_id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![run.workflow_id, run.instance_id, run.run_id],
        paused_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
