//! Read queries. Plain SQL, kept visible; each function maps rows into the store's row types.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{
    InstanceRow, ParentRef, Result, RunKey, StepAttemptKey, StepAttemptRow, TagPermitRow,
    VersionRow, WorkflowRow,
};

const WORKFLOW_COLUMNS: &str = "workflow_id, internal_id, active_version_id, latest_version_id, \
    latest_instance_id, properties_snapshot, activate_ts, activated_by, modify_ts";

fn workflow_row(r: &Row<'_>) -> rusqlite::Result<WorkflowRow> {
    Ok(WorkflowRow {
        workflow_id: r.get(0)?,
        internal_id: r.get(1)?,
        active_version_id: r.get(2)?,
        latest_version_id: r.get(3)?,
        latest_instance_id: r.get(4)?,
        properties_snapshot: r.get(5)?,
        activate_ts: r.get(6)?,
        activated_by: r.get(7)?,
        modify_ts: r.get(8)?,
    })
}

pub(crate) fn workflow(c: &Connection, id: &str) -> Result<Option<WorkflowRow>> {
    let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE workflow_id = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row(params![id], workflow_row)
        .optional()?)
}

pub(crate) fn workflows(
    c: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<WorkflowRow>> {
    let sql = format!(
        "SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE ?1 IS NULL OR workflow_id > ?1 ORDER BY workflow_id LIMIT ?2"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![after, limit as i64], workflow_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const VERSION_COLUMNS: &str =
    "workflow_id, version_id, metadata, definition, trigger_uuids, create_ts";

fn version_row(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        workflow_id: r.get(0)?,
        version_id: r.get(1)?,
        metadata: r.get(2)?,
        definition: r.get(3)?,
        trigger_uuids: r.get(4)?,
        create_ts: r.get(5)?,
    })
}

pub(crate) fn version(c: &Connection, id: &str, version_id: i64) -> Result<Option<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM workflow_version WHERE workflow_id = ?1 AND version_id = ?2"
    );
    Ok(c.prepare_cached(&sql)?
        .query_row(params![id, version_id], version_row)
        .optional()?)
}

pub(crate) fn versions(
    c: &Connection,
    id: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM workflow_version WHERE workflow_id = ?1 AND (?2 IS NULL OR version_id < ?2) \
         ORDER BY version_id DESC LIMIT ?3"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![id, before, limit as i64], version_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) const INSTANCE_COLUMNS: &str = "workflow_id, instance_id, run_id, uuid, correlation_id, initiator_type, depth, \
    parent_workflow_id, parent_instance_id, parent_run_id, parent_step_id, parent_attempt_id, group_id, status, \
    queued, create_ts, start_ts, end_ts, modify_ts, instance, runtime_overview, artifacts, timeline";

pub(super) fn instance_row(r: &Row<'_>) -> rusqlite::Result<InstanceRow> {
    let parent_workflow_id: Option<String> = r.get(7)?;
    let parent = match parent_workflow_id {
        Some(workflow_id) => Some(ParentRef {
            run: RunKey {
                workflow_id,
                instance_id: r.get(8)?,
                run_id: r.get(9)?,
            },
            step_id: r.get(10)?,
            attempt_id: r.get(11)?,
        }),
        None => None,
    };
    Ok(InstanceRow {
        key: RunKey {
            workflow_id: r.get(0)?,
            instance_id: r.get(1)?,
            run_id: r.get(2)?,
        },
        uuid: r.get(3)?,
        correlation_id: r.get(4)?,
        initiator_type: r.get(5)?,
        depth: r.get(6)?,
        parent,
        group_id: r.get(12)?,
        status: r.get(13)?,
        queued: r.get(14)?,
        create_ts: r.get(15)?,
        start_ts: r.get(16)?,
        end_ts: r.get(17)?,
        modify_ts: r.get(18)?,
        instance: r.get(19)?,
        runtime_overview: r.get(20)?,
        artifacts: r.get(21)?,
        timeline: r.get(22)?,
    })
}

pub(crate) fn instance_run(
    c: &Connection,
    id: &str,
    instance_id: i64,
    run_id: Option<i64>,
) -> Result<Option<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = ?1 AND instance_id = ?2 \
         AND (?3 IS NULL OR run_id = ?3) ORDER BY run_id DESC LIMIT 1"
    );
    Ok(c.prepare_cached(&sql)?
        .query_row(params![id, instance_id, run_id], instance_row)
        .optional()?)
}

pub(crate) fn instance_runs(
    c: &Connection,
    id: &str,
    instance_id: i64,
) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = ?1 AND instance_id = ?2 ORDER BY run_id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![id, instance_id], instance_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn instances(
    c: &Connection,
    id: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance w WHERE workflow_id = ?1 AND (?2 IS NULL OR instance_id < ?2) \
         AND run_id = (SELECT MAX(run_id) FROM workflow_instance x WHERE x.workflow_id = w.workflow_id \
         AND x.instance_id = w.instance_id) ORDER BY instance_id DESC LIMIT ?3"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![id, before, limit as i64], instance_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn active_runs(c: &Connection) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE status IN ('CREATED', 'IN_PROGRESS', 'PAUSED') \
         ORDER BY depth, create_ts, workflow_id, instance_id, run_id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([], instance_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn queued_runs(c: &Connection, id: &str, limit: usize) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = ?1 AND status = 'CREATED' \
         AND queued = 1 ORDER BY instance_id, run_id LIMIT ?2"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![id, limit as i64], instance_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn count_running(c: &Connection, id: &str) -> Result<i64> {
    Ok(c.prepare_cached(
        "SELECT COUNT(*) FROM workflow_instance WHERE workflow_id = ?1 \
         AND status IN ('CREATED', 'IN_PROGRESS', 'PAUSED') AND queued = 0",
    )?
    .query_row(params![id], |r| r.get(0))?)
}

pub(crate) fn count_by_status(c: &Connection, id: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT status, COUNT(*) FROM workflow_instance WHERE workflow_id = ?1 GROUP BY status ORDER BY status",
    )?;
    let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn instance_id_range(c: &Connection, id: &str) -> Result<Option<(i64, i64)>> {
    let (low, high): (Option<i64>, Option<i64>) = c
        .prepare_cached(
            "SELECT MIN(instance_id), MAX(instance_id) FROM workflow_instance WHERE workflow_id = ?1",
        )?
        .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(low.zip(high))
}

fn step_row(r: &Row<'_>) -> rusqlite::Result<StepAttemptRow> {
    Ok(StepAttemptRow {
        key: StepAttemptKey {
            run: RunKey {
                workflow_id: r.get(0)?,
                instance_id: r.get(1)?,
                run_id: r.get(2)?,
            },
            step_id: r.get(3)?,
            attempt_id: r.get(4)?,
        },
        step_instance_id: r.get(5)?,
        step_uuid: r.get(6)?,
        status: r.get(7)?,
        create_ts: r.get(8)?,
        start_ts: r.get(9)?,
        end_ts: r.get(10)?,
        modify_ts: r.get(11)?,
        instance: r.get(12)?,
        runtime_state: r.get(13)?,
        artifacts: r.get(14)?,
        timeline: r.get(15)?,
        dependencies: r.get(16)?,
        outputs: r.get(17)?,
    })
}

const STEP_COLUMNS: &str = "workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id, \
    step_instance_id, step_uuid, status, create_ts, start_ts, end_ts, modify_ts, instance, runtime_state, artifacts, \
    timeline, dependencies, outputs";

pub(crate) fn step_attempts(
    c: &Connection,
    run: &RunKey,
    step_id: Option<&str>,
) -> Result<Vec<StepAttemptRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id, step_instance_id, \
         step_uuid, status, create_ts, start_ts, end_ts, modify_ts, instance, runtime_state, artifacts, timeline, \
         dependencies, outputs FROM step_instance \
         WHERE workflow_id = ?1 AND workflow_instance_id = ?2 AND workflow_run_id = ?3 AND (?4 IS NULL OR step_id = ?4) \
         ORDER BY step_instance_id, step_attempt_id",
    )?;
    let rows = stmt.query_map(
        params![run.workflow_id, run.instance_id, run.run_id, step_id],
        step_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn runs_with_status(
    c: &Connection,
    id: &str,
    statuses: &[String],
    queued: Option<bool>,
    limit: usize,
) -> Result<Vec<InstanceRow>> {
    // The status list is small and its length varies: one placeholder per status.
    let placeholders: Vec<String> = (0..statuses.len()).map(|i| format!("?{}", i + 4)).collect();
    if placeholders.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = ?1 AND (?2 IS NULL OR queued = ?2) \
         AND status IN ({}) ORDER BY instance_id, run_id LIMIT ?3",
        placeholders.join(", ")
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&id, &queued];
    let limit = limit.min(i64::MAX as usize) as i64;
    values.push(&limit);
    for s in statuses {
        values.push(s);
    }
    let rows = stmt.query_map(values.as_slice(), instance_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn latest_step_attempts(
    c: &Connection,
    id: &str,
    step_id: &str,
) -> Result<Vec<StepAttemptRow>> {
    let sql = format!(
        "SELECT {STEP_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY workflow_instance_id \
         ORDER BY workflow_run_id DESC, step_attempt_id DESC) AS rank FROM step_instance \
         WHERE workflow_id = ?1 AND step_id = ?2) WHERE rank = 1 ORDER BY workflow_instance_id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![id, step_id], step_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn tag_permit_row(r: &Row<'_>) -> rusqlite::Result<TagPermitRow> {
    Ok(TagPermitRow {
        tag: r.get(0)?,
        max_allowed: r.get(1)?,
        timeline: r.get(2)?,
        extra_info: r.get(3)?,
        create_ts: r.get(4)?,
        modify_ts: r.get(5)?,
    })
}

const TAG_PERMIT_COLUMNS: &str = "tag, max_allowed, timeline, extra_info, create_ts, modify_ts";

pub(crate) fn tag_permit(c: &Connection, tag: &str) -> Result<Option<TagPermitRow>> {
    let sql = format!("SELECT {TAG_PERMIT_COLUMNS} FROM tag_permit WHERE tag = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row(params![tag], tag_permit_row)
        .optional()?)
}

pub(crate) fn tag_permits(c: &Connection) -> Result<Vec<TagPermitRow>> {
    let sql = format!("SELECT {TAG_PERMIT_COLUMNS} FROM tag_permit ORDER BY tag");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([], tag_permit_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
