//! Signals and trigger state on SQLite: the writes (inside the writer's transaction) and the
//! match query.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::ops::{AddSignalOutcome, NewSignal, TriggerWrite};
use crate::signal_codec::{encode, type_range};
use crate::{Result, SignalQuery, SignalRow, StoreError, TriggerRow};

pub(crate) fn add_signal(conn: &Connection, s: &NewSignal) -> Result<AddSignalOutcome> {
    let existing: Option<i64> = conn
        .prepare_cached("SELECT seq_id FROM signal_instance WHERE name = ?1 AND instance_id = ?2")?
        .query_row(params![s.name, s.instance_id], |r| r.get(0))
        .optional()?;
    if let Some(seq_id) = existing {
        return Ok(AddSignalOutcome::Duplicated { seq_id });
    }
    // The writer thread is the only writer, so MAX + 1 cannot race.
    let seq_id: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq_id), 0) + 1 FROM signal_instance WHERE name = ?1")?
        .query_row(params![s.name], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO signal_instance (name, seq_id, instance_id, instance, create_ts) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![s.name, seq_id, s.instance_id, s.instance, s.create_ts])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO signal_param (signal_name, param_name, encoded_val, signal_seq_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (param, value) in &s.params {
        insert.execute(params![s.name, param, encode(value), seq_id])?;
    }
    Ok(AddSignalOutcome::Created { seq_id })
}

pub(crate) fn put_trigger(conn: &Connection, t: &TriggerWrite) -> Result<()> {
    if t.expected_version == 0 {
        let inserted = conn.execute(
            "INSERT INTO workflow_trigger (workflow_id, trigger_uuid, kind, definition, state, version, modify_ts) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT (workflow_id, trigger_uuid) DO NOTHING",
            params![t.workflow_id, t.trigger_uuid, t.kind, t.definition, t.state, t.ts],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "trigger [{}] of workflow [{}] already exists",
                t.trigger_uuid, t.workflow_id
            )));
        }
        return Ok(());
    }
    let changed = conn
        .prepare_cached(
            "UPDATE workflow_trigger SET kind = ?3, definition = ?4, state = ?5, version = version + 1, modify_ts = ?6 \
             WHERE workflow_id = ?1 AND trigger_uuid = ?2 AND version = ?7",
        )?
        .execute(params![
            t.workflow_id,
            t.trigger_uuid,
            t.kind,
            t.definition,
            t.state,
            t.ts,
            t.expected_version
        ])?;
    if changed == 0 {
        return Err(StoreError::Conflict(format!(
            "trigger [{}] of workflow [{}] is not at version {}",
            t.trigger_uuid, t.workflow_id, t.expected_version
        )));
    }
    Ok(())
}

pub(crate) fn delete_trigger(
    conn: &Connection,
    workflow_id: &str,
    trigger_uuid: &str,
) -> Result<()> {
    conn.execute(
        "DELETE FROM workflow_trigger WHERE workflow_id = ?1 AND trigger_uuid = ?2",
        params![workflow_id, trigger_uuid],
    )?;
    Ok(())
}

fn signal_row(r: &Row<'_>) -> rusqlite::Result<SignalRow> {
    Ok(SignalRow {
        name: r.get(0)?,
        seq_id: r.get(1)?,
        instance_id: r.get(2)?,
        instance: r.get(3)?,
        create_ts: r.get(4)?,
    })
}

const SIGNAL_COLUMNS: &str = "i.name, i.seq_id, i.instance_id, i.instance, i.create_ts";

pub(crate) fn get_signal(
    c: &Connection,
    name: &str,
    seq_id: Option<i64>,
) -> Result<Option<SignalRow>> {
    let sql = format!(
        "SELECT {SIGNAL_COLUMNS} FROM signal_instance i WHERE i.name = ?1 AND (?2 IS NULL OR i.seq_id = ?2) \
         ORDER BY i.seq_id DESC LIMIT 1"
    );
    Ok(c.prepare_cached(&sql)?
        .query_row(params![name, seq_id], signal_row)
        .optional()?)
}

/// One condition as SQL on the alias `alias`, with its bound values appended to `args`.
fn condition_sql(
    alias: &str,
    cond: &crate::SignalCondition,
    args: &mut Vec<rusqlite::types::Value>,
) -> String {
    let (lo, hi) = type_range(&cond.value);
    args.push(cond.param.clone().into());
    let p = args.len();
    args.push(encode(&cond.value).into());
    let v = args.len();
    args.push(lo.to_string().into());
    let l = args.len();
    args.push(hi.to_string().into());
    let h = args.len();
    format!(
        "{alias}.param_name = ?{p} AND {alias}.encoded_val {} ?{v} AND {alias}.encoded_val >= ?{l} AND {alias}.encoded_val < ?{h}",
        cond.op.sql()
    )
}

/// The match query. With an equality condition, its index range drives the scan (ordered by
/// sequence id); every other condition is a point lookup by sequence id. Without one, the
/// signals of the name are scanned in sequence order.
pub(crate) fn find_signals(c: &Connection, q: &SignalQuery) -> Result<Vec<SignalRow>> {
    let mut args: Vec<rusqlite::types::Value> = vec![q.name.clone().into(), q.after_seq.into()];
    let driver = q
        .conditions
        .iter()
        .position(|c| c.op == crate::CompareOp::Eq)
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
                 WHERE d.signal_name = ?1 AND d.signal_seq_id > ?2 AND {cond}"
            )
        }
        None => format!(
            "SELECT {SIGNAL_COLUMNS} FROM signal_instance i WHERE i.name = ?1 AND i.seq_id > ?2"
        ),
    };
    for (k, cond) in q.conditions.iter().enumerate() {
        if Some(k) == driver {
            continue;
        }
        let alias = format!("c{k}");
        let text = condition_sql(&alias, cond, &mut args);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM signal_param {alias} WHERE {alias}.signal_name = ?1 \
             AND {alias}.signal_seq_id = i.seq_id AND {text})"
        ));
    }
    args.push((q.limit.min(i64::MAX as usize) as i64).into());
    sql.push_str(&format!(" ORDER BY i.seq_id LIMIT ?{}", args.len()));
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), signal_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_triggers(c: &Connection, workflow_id: Option<&str>) -> Result<Vec<TriggerRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT workflow_id, trigger_uuid, kind, definition, state, version, modify_ts FROM workflow_trigger \
         WHERE ?1 IS NULL OR workflow_id = ?1 ORDER BY workflow_id, trigger_uuid",
    )?;
    let rows = stmt.query_map(params![workflow_id], |r| {
        Ok(TriggerRow {
            workflow_id: r.get(0)?,
            trigger_uuid: r.get(1)?,
            kind: r.get(2)?,
            definition: r.get(3)?,
            state: r.get(4)?,
            version: r.get(5)?,
            modify_ts: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
