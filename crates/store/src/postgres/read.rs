//! Read queries: the same SQL as the SQLite backend's, in PostgreSQL's dialect. Each statement is
//! prepared once per pooled connection (the pool caches it); each function maps rows into the
//! store's row types without panicking on an unexpected column type.

use deadpool_postgres::Object;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::signal_codec::{encode, type_range};
use crate::{
    CompareOp, InstanceRow, ParentRef, Result, RunKey, SignalCondition, SignalQuery, SignalRow,
    StepAttemptKey, StepAttemptRow, TagPermitRow, TriggerRow, VersionRow, WorkflowRow,
};

/// Runs a cached prepared statement.
async fn query(c: &Object, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

/// A `LIMIT` value: PostgreSQL's is a BIGINT.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn map_rows<T>(rows: Vec<Row>, f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

const WORKFLOW_COLUMNS: &str = "workflow_id, internal_id, active_version_id, latest_version_id, \
    latest_instance_id, properties_snapshot, activate_ts, activated_by, modify_ts";

fn workflow_row(r: &Row) -> Result<WorkflowRow> {
    Ok(WorkflowRow {
        workflow_id: r.try_get(0)?,
        internal_id: r.try_get(1)?,
        active_version_id: r.try_get(2)?,
        latest_version_id: r.try_get(3)?,
        latest_instance_id: r.try_get(4)?,
        properties_snapshot: r.try_get(5)?,
        activate_ts: r.try_get(6)?,
        activated_by: r.try_get(7)?,
        modify_ts: r.try_get(8)?,
    })
}

pub(crate) async fn workflow(c: &Object, id: &str) -> Result<Option<WorkflowRow>> {
    let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE workflow_id = $1::TEXT");
    let rows = query(c, &sql, &[&id]).await?;
    rows.first().map(workflow_row).transpose()
}

pub(crate) async fn workflows(
    c: &Object,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<WorkflowRow>> {
    let sql = format!(
        "SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE $1::TEXT IS NULL OR workflow_id > $1::TEXT \
         ORDER BY workflow_id LIMIT $2::BIGINT"
    );
    let rows = query(c, &sql, &[&after, &limit_param(limit)]).await?;
    map_rows(rows, workflow_row)
}

const VERSION_COLUMNS: &str =
    "workflow_id, version_id, metadata, definition, trigger_uuids, create_ts";

fn version_row(r: &Row) -> Result<VersionRow> {
    Ok(VersionRow {
        workflow_id: r.try_get(0)?,
        version_id: r.try_get(1)?,
        metadata: r.try_get(2)?,
        definition: r.try_get(3)?,
        trigger_uuids: r.try_get(4)?,
        create_ts: r.try_get(5)?,
    })
}

pub(crate) async fn version(c: &Object, id: &str, version_id: i64) -> Result<Option<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM workflow_version WHERE workflow_id = $1::TEXT \
         AND version_id = $2::BIGINT"
    );
    let rows = query(c, &sql, &[&id, &version_id]).await?;
    rows.first().map(version_row).transpose()
}

pub(crate) async fn versions(
    c: &Object,
    id: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM workflow_version WHERE workflow_id = $1::TEXT \
         AND ($2::BIGINT IS NULL OR version_id < $2::BIGINT) ORDER BY version_id DESC LIMIT $3::BIGINT"
    );
    let rows = query(c, &sql, &[&id, &before, &limit_param(limit)]).await?;
    map_rows(rows, version_row)
}

pub(super) const INSTANCE_COLUMNS: &str = "workflow_id, instance_id, run_id, uuid, correlation_id, initiator_type, depth, \
    parent_workflow_id, parent_instance_id, parent_run_id, parent_step_id, parent_attempt_id, group_id, status, \
    queued, create_ts, start_ts, end_ts, modify_ts, instance, runtime_overview, artifacts, timeline";

pub(super) fn instance_row(r: &Row) -> Result<InstanceRow> {
    let parent_workflow_id: Option<String> = r.try_get(7)?;
    let parent = match parent_workflow_id {
        Some(workflow_id) => Some(ParentRef {
            run: RunKey {
                workflow_id,
                instance_id: r.try_get(8)?,
                run_id: r.try_get(9)?,
            },
            step_id: r.try_get(10)?,
            attempt_id: r.try_get(11)?,
        }),
        None => None,
    };
    Ok(InstanceRow {
        key: RunKey {
            workflow_id: r.try_get(0)?,
            instance_id: r.try_get(1)?,
            run_id: r.try_get(2)?,
        },
        uuid: r.try_get(3)?,
        correlation_id: r.try_get(4)?,
        initiator_type: r.try_get(5)?,
        depth: r.try_get(6)?,
        parent,
        group_id: r.try_get(12)?,
        status: r.try_get(13)?,
        queued: r.try_get(14)?,
        create_ts: r.try_get(15)?,
        start_ts: r.try_get(16)?,
        end_ts: r.try_get(17)?,
        modify_ts: r.try_get(18)?,
        instance: r.try_get(19)?,
        runtime_overview: r.try_get(20)?,
        artifacts: r.try_get(21)?,
        timeline: r.try_get(22)?,
    })
}

pub(crate) async fn instance_run(
    c: &Object,
    id: &str,
    instance_id: i64,
    run_id: Option<i64>,
) -> Result<Option<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = $1::TEXT \
         AND instance_id = $2::BIGINT AND ($3::BIGINT IS NULL OR run_id = $3::BIGINT) \
         ORDER BY run_id DESC LIMIT 1"
    );
    let rows = query(c, &sql, &[&id, &instance_id, &run_id]).await?;
    rows.first().map(instance_row).transpose()
}

pub(crate) async fn instance_runs(
    c: &Object,
    id: &str,
    instance_id: i64,
) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = $1::TEXT \
         AND instance_id = $2::BIGINT ORDER BY run_id"
    );
    let rows = query(c, &sql, &[&id, &instance_id]).await?;
    map_rows(rows, instance_row)
}

pub(crate) async fn instances(
    c: &Object,
    id: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance w WHERE workflow_id = $1::TEXT \
         AND ($2::BIGINT IS NULL OR instance_id < $2::BIGINT) \
         AND run_id = (SELECT MAX(run_id) FROM workflow_instance x WHERE x.workflow_id = w.workflow_id \
         AND x.instance_id = w.instance_id) ORDER BY instance_id DESC LIMIT $3::BIGINT"
    );
    let rows = query(c, &sql, &[&id, &before, &limit_param(limit)]).await?;
    map_rows(rows, instance_row)
}

pub(crate) async fn active_runs(c: &Object) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance \
         WHERE status IN ('CREATED', 'IN_PROGRESS', 'PAUSED') \
         ORDER BY depth, create_ts, workflow_id, instance_id, run_id"
    );
    let rows = query(c, &sql, &[]).await?;
    map_rows(rows, instance_row)
}

pub(crate) async fn queued_runs(c: &Object, id: &str, limit: usize) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = $1::TEXT \
         AND status = 'CREATED' AND queued ORDER BY instance_id, run_id LIMIT $2::BIGINT"
    );
    let rows = query(c, &sql, &[&id, &limit_param(limit)]).await?;
    map_rows(rows, instance_row)
}

pub(crate) async fn count_running(c: &Object, id: &str) -> Result<i64> {
    let rows = query(
        c,
        "SELECT COUNT(*) FROM workflow_instance WHERE workflow_id = $1::TEXT \
         AND status IN ('CREATED', 'IN_PROGRESS', 'PAUSED') AND NOT queued",
        &[&id],
    )
    .await?;
    match rows.first() {
        Some(row) => Ok(row.try_get(0)?),
        None => Ok(0),
    }
}

pub(crate) async fn count_by_status(c: &Object, id: &str) -> Result<Vec<(String, i64)>> {
    let rows = query(
        c,
        "SELECT status, COUNT(*) FROM workflow_instance WHERE workflow_id = $1::TEXT \
         GROUP BY status ORDER BY status",
        &[&id],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub(crate) async fn instance_id_range(c: &Object, id: &str) -> Result<Option<(i64, i64)>> {
    let rows = query(
        c,
        "SELECT MIN(instance_id), MAX(instance_id) FROM workflow_instance WHERE workflow_id = $1::TEXT",
        &[&id],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let (low, high): (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    Ok(low.zip(high))
}

fn step_row(r: &Row) -> Result<StepAttemptRow> {
    Ok(StepAttemptRow {
        key: StepAttemptKey {
            run: RunKey {
                workflow_id: r.try_get(0)?,
                instance_id: r.try_get(1)?,
                run_id: r.try_get(2)?,
            },
            step_id: r.try_get(3)?,
            attempt_id: r.try_get(4)?,
        },
        step_instance_id: r.try_get(5)?,
        step_uuid: r.try_get(6)?,
        status: r.try_get(7)?,
        create_ts: r.try_get(8)?,
        start_ts: r.try_get(9)?,
        end_ts: r.try_get(10)?,
        modify_ts: r.try_get(11)?,
        instance: r.try_get(12)?,
        runtime_state: r.try_get(13)?,
        artifacts: r.try_get(14)?,
        timeline: r.try_get(15)?,
        dependencies: r.try_get(16)?,
        outputs: r.try_get(17)?,
    })
}

/// Ties (steps that share a step instance id) break by step id: the order SQLite returns them in,
/// as it reads them in primary-key order.
pub(crate) async fn step_attempts(
    c: &Object,
    run: &RunKey,
    step_id: Option<&str>,
) -> Result<Vec<StepAttemptRow>> {
    let rows = query(
        c,
        "SELECT workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id, step_instance_id, \
         step_uuid, status, create_ts, start_ts, end_ts, modify_ts, instance, runtime_state, artifacts, timeline, \
         dependencies, outputs FROM step_instance \
         WHERE workflow_id = $1::TEXT AND workflow_instance_id = $2::BIGINT AND workflow_run_id = $3::BIGINT \
         AND ($4::TEXT IS NULL OR step_id = $4::TEXT) \
         ORDER BY step_instance_id, step_attempt_id, step_id",
        &[&run.workflow_id, &run.instance_id, &run.run_id, &step_id],
    )
    .await?;
    map_rows(rows, step_row)
}

pub(crate) async fn runs_with_status(
    c: &Object,
    id: &str,
    statuses: &[String],
    queued: Option<bool>,
    limit: usize,
) -> Result<Vec<InstanceRow>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance WHERE workflow_id = $1::TEXT \
         AND ($2::BOOLEAN IS NULL OR queued = $2::BOOLEAN) AND status = ANY($3::TEXT[]) \
         ORDER BY instance_id, run_id LIMIT $4::BIGINT"
    );
    let rows = query(c, &sql, &[&id, &queued, &statuses, &limit_param(limit)]).await?;
    map_rows(rows, instance_row)
}

pub(crate) async fn latest_step_attempts(
    c: &Object,
    id: &str,
    step_id: &str,
) -> Result<Vec<StepAttemptRow>> {
    let rows = query(
        c,
        "SELECT DISTINCT ON (workflow_instance_id) workflow_id, workflow_instance_id, workflow_run_id, step_id, \
         step_attempt_id, step_instance_id, step_uuid, status, create_ts, start_ts, end_ts, modify_ts, instance, \
         runtime_state, artifacts, timeline, dependencies, outputs FROM step_instance \
         WHERE workflow_id = $1::TEXT AND step_id = $2::TEXT \
         ORDER BY workflow_instance_id, workflow_run_id DESC, step_attempt_id DESC",
        &[&id, &step_id],
    )
    .await?;
    map_rows(rows, step_row)
}

const TAG_PERMIT_COLUMNS: &str = "tag, max_allowed, timeline, extra_info, create_ts, modify_ts";

fn tag_permit_row(r: &Row) -> Result<TagPermitRow> {
    Ok(TagPermitRow {
        tag: r.try_get(0)?,
        max_allowed: r.try_get(1)?,
        timeline: r.try_get(2)?,
        extra_info: r.try_get(3)?,
        create_ts: r.try_get(4)?,
        modify_ts: r.try_get(5)?,
    })
}

pub(crate) async fn tag_permit(c: &Object, tag: &str) -> Result<Option<TagPermitRow>> {
    let sql = format!("SELECT {TAG_PERMIT_COLUMNS} FROM tag_permit WHERE tag = $1::TEXT");
    let rows = query(c, &sql, &[&tag]).await?;
    rows.first().map(tag_permit_row).transpose()
}

pub(crate) async fn tag_permits(c: &Object) -> Result<Vec<TagPermitRow>> {
    let sql = format!("SELECT {TAG_PERMIT_COLUMNS} FROM tag_permit ORDER BY tag");
    let rows = query(c, &sql, &[]).await?;
    map_rows(rows, tag_permit_row)
}

const SIGNAL_COLUMNS: &str = "i.name, i.seq_id, i.instance_id, i.instance, i.create_ts";

fn signal_row(r: &Row) -> Result<SignalRow> {
    Ok(SignalRow {
        name: r.try_get(0)?,
        seq_id: r.try_get(1)?,
        instance_id: r.try_get(2)?,
        instance: r.try_get(3)?,
        create_ts: r.try_get(4)?,
    })
}

pub(crate) async fn signal(
    c: &Object,
    name: &str,
    seq_id: Option<i64>,
) -> Result<Option<SignalRow>> {
    let sql = format!(
        "SELECT {SIGNAL_COLUMNS} FROM signal_instance i WHERE i.name = $1::TEXT \
         AND ($2::BIGINT IS NULL OR i.seq_id = $2::BIGINT) ORDER BY i.seq_id DESC LIMIT 1"
    );
    let rows = query(c, &sql, &[&name, &seq_id]).await?;
    rows.first().map(signal_row).transpose()
}

/// The bound values of a match query, in parameter order.
enum Arg {
    Text(String),
    Long(i64),
}

impl Arg {
    fn as_param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(text) => text,
            Arg::Long(n) => n,
        }
    }
}

/// One condition as SQL on the alias `alias`, with its bound values appended to `args`.
fn condition_sql(alias: &str, cond: &SignalCondition, args: &mut Vec<Arg>) -> String {
    let (lo, hi) = type_range(&cond.value);
    let mut push = |arg: Arg| {
        args.push(arg);
        args.len()
    };
    let p = push(Arg::Text(cond.param.clone()));
    let v = push(Arg::Text(encode(&cond.value)));
    let l = push(Arg::Text(lo.to_string()));
    let h = push(Arg::Text(hi.to_string()));
    format!(
        "{alias}.param_name = ${p}::TEXT AND {alias}.encoded_val {} ${v}::TEXT \
         AND {alias}.encoded_val >= ${l}::TEXT AND {alias}.encoded_val < ${h}::TEXT",
        cond.op.sql()
    )
}

/// The match query, as on SQLite: with an equality condition, its index range drives the scan;
/// every other condition is a point lookup by sequence id. Without one, the signals of the name
/// are scanned in sequence order. The encoded values compare bytewise (`COLLATE "C"` columns).
pub(crate) async fn find_signals(c: &Object, q: &SignalQuery) -> Result<Vec<SignalRow>> {
    let mut args = vec![Arg::Text(q.name.clone()), Arg::Long(q.after_seq)];
    let driver =
        q.conditions
            .iter()
            .position(|c| c.op == CompareOp::Eq)
            .or(if q.conditions.is_empty() {
                None
            } else {
                Some(0)
            });
    let mut sql = match driver {
        Some(d) => {
            let cond = condition_sql("d", &q.conditions[d], &mut args);
            format!(
                "SELECT {SIGNAL_COLUMNS} FROM signal_param d JOIN signal_instance i \
                 ON i.name = d.signal_name AND i.seq_id = d.signal_seq_id \
                 WHERE d.signal_name = $1::TEXT AND d.signal_seq_id > $2::BIGINT AND {cond}"
            )
        }
        None => format!(
            "SELECT {SIGNAL_COLUMNS} FROM signal_instance i WHERE i.name = $1::TEXT \
             AND i.seq_id > $2::BIGINT"
        ),
    };
    for (k, cond) in q.conditions.iter().enumerate() {
        if Some(k) == driver {
            continue;
        }
        let alias = format!("c{k}");
        let text = condition_sql(&alias, cond, &mut args);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM signal_param {alias} WHERE {alias}.signal_name = $1::TEXT \
             AND {alias}.signal_seq_id = i.seq_id AND {text})"
        ));
    }
    args.push(Arg::Long(limit_param(q.limit)));
    sql.push_str(&format!(" ORDER BY i.seq_id LIMIT ${}::BIGINT", args.len()));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::as_param).collect();
    let rows = query(c, &sql, &params).await?;
    map_rows(rows, signal_row)
}

pub(crate) async fn triggers(c: &Object, workflow_id: Option<&str>) -> Result<Vec<TriggerRow>> {
    let rows = query(
        c,
        "SELECT workflow_id, trigger_uuid, kind, definition, state, version, modify_ts \
         FROM workflow_trigger WHERE $1::TEXT IS NULL OR workflow_id = $1::TEXT \
         ORDER BY workflow_id, trigger_uuid",
        &[&workflow_id],
    )
    .await?;
    map_rows(rows, |r| {
        Ok(TriggerRow {
            workflow_id: r.try_get(0)?,
            trigger_uuid: r.try_get(1)?,
            kind: r.try_get(2)?,
            definition: r.try_get(3)?,
            state: r.try_get(4)?,
            version: r.try_get(5)?,
            modify_ts: r.try_get(6)?,
        })
    })
}

fn breakpoint_row(r: &Row) -> Result<crate::BreakpointRow> {
    Ok(crate::BreakpointRow {
        workflow_id: r.try_get(0)?,
        step_id: r.try_get(1)?,
        version: r.try_get(2)?,
        instance_id: r.try_get(3)?,
        run_id: r.try_get(4)?,
        attempt_id: r.try_get(5)?,
        created_by: r.try_get(6)?,
        create_ts: r.try_get(7)?,
    })
}

pub(crate) async fn breakpoints(
    c: &Object,
    workflow_id: Option<&str>,
    step_id: Option<&str>,
) -> Result<Vec<crate::BreakpointRow>> {
    let rows = query(
        c,
        "SELECT workflow_id, step_id, version, instance_id, run_id, attempt_id, created_by, create_ts \
         FROM step_breakpoint WHERE ($1::TEXT IS NULL OR workflow_id = $1::TEXT) \
         AND ($2::TEXT IS NULL OR step_id = $2::TEXT) \
         ORDER BY workflow_id, step_id, version, instance_id, run_id, attempt_id",
        &[&workflow_id, &step_id],
    )
    .await?;
    map_rows(rows, breakpoint_row)
}

const PAUSED_COLUMNS: &str = "workflow_id, instance_id, run_id, step_id, attempt_id, \
    breakpoint_workflow_id, version, create_ts";

fn paused_row(r: &Row) -> Result<crate::PausedAttemptRow> {
    Ok(crate::PausedAttemptRow {
        key: StepAttemptKey {
            run: RunKey {
                workflow_id: r.try_get(0)?,
                instance_id: r.try_get(1)?,
                run_id: r.try_get(2)?,
            },
            step_id: r.try_get(3)?,
            attempt_id: r.try_get(4)?,
        },
        breakpoint_workflow_id: r.try_get(5)?,
        version: r.try_get(6)?,
        create_ts: r.try_get(7)?,
    })
}

pub(crate) async fn paused(
    c: &Object,
    workflow_id: Option<&str>,
    step_id: Option<&str>,
) -> Result<Vec<crate::PausedAttemptRow>> {
    let sql = format!(
        "SELECT {PAUSED_COLUMNS} FROM paused_step_attempt \
         WHERE ($1::TEXT IS NULL OR breakpoint_workflow_id = $1::TEXT) \
         AND ($2::TEXT IS NULL OR step_id = $2::TEXT) \
         ORDER BY workflow_id, instance_id, run_id, step_id, attempt_id"
    );
    let rows = query(c, &sql, &[&workflow_id, &step_id]).await?;
    map_rows(rows, paused_row)
}

pub(crate) async fn paused_of_run(
    c: &Object,
    run: &RunKey,
) -> Result<Vec<crate::PausedAttemptRow>> {
    let sql = format!(
        "SELECT {PAUSED_COLUMNS} FROM paused_step_attempt WHERE workflow_id = $1::TEXT \
         AND instance_id = $2::BIGINT AND run_id = $3::BIGINT ORDER BY step_id, attempt_id"
    );
    let rows = query(c, &sql, &[&run.workflow_id, &run.instance_id, &run.run_id]).await?;
    map_rows(rows, paused_row)
}
