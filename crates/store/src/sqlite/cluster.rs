//! Cluster membership on SQLite (see `crate::cluster`). A SQLite store serves one process, so
//! nothing here is needed in production; it exists so that both backends answer the same calls
//! and pass the same suite. Lease writes run on a read connection inside `BEGIN IMMEDIATE`
//! (SQLite serializes them with the writer thread); "now" is the system clock.

use rusqlite::{Connection, OptionalExtension, params};

use super::read::{INSTANCE_COLUMNS, instance_row};
use crate::{GroupLease, InstanceRow, NodeHeartbeat, NodeInfo, Result, StoreError};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs `f` in an IMMEDIATE transaction on `c`, rolling back on error.
fn immediate<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    match f(c) {
        Ok(value) => {
            c.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(err) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(err)
        }
    }
}

pub(crate) fn active_runs_in_group(c: &Connection, group_id: i64) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance \
         WHERE group_id = ?1 AND status IN ('CREATED', 'IN_PROGRESS', 'PAUSED') \
         ORDER BY depth, create_ts, workflow_id, instance_id, run_id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([group_id], instance_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn join(c: &Connection, node: &NodeInfo, groups: i64, lease_ms: i64) -> Result<()> {
    immediate(c, |c| {
        let mut insert =
            c.prepare_cached("INSERT OR IGNORE INTO flow_group (group_id) VALUES (?1)")?;
        for g in 0..groups.max(0) {
            insert.execute([g])?;
        }
        c.execute(
            "UPDATE flow_group SET owner_node = NULL, owner_address = NULL WHERE owner_node = ?1",
            [&node.node_id],
        )?;
        upsert_node(c, node, lease_ms)
    })
}

fn upsert_node(c: &Connection, node: &NodeInfo, lease_ms: i64) -> Result<()> {
    let now = now_ms();
    c.execute(
        "INSERT INTO cluster_node (node_id, address, heartbeat_ms, expires_ms) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, \
         heartbeat_ms = excluded.heartbeat_ms, expires_ms = excluded.expires_ms",
        params![node.node_id, node.address, now, now.saturating_add(lease_ms)],
    )?;
    Ok(())
}

pub(crate) fn heartbeat(c: &Connection, node: &NodeInfo, lease_ms: i64) -> Result<NodeHeartbeat> {
    immediate(c, |c| {
        upsert_node(c, node, lease_ms)?;
        let live_nodes: i64 = c.query_row(
            "SELECT count(*) FROM cluster_node WHERE expires_ms >= ?1",
            [now_ms()],
            |r| r.get(0),
        )?;
        let mut stmt = c.prepare_cached(
            "SELECT group_id, generation FROM flow_group WHERE owner_node = ?1 ORDER BY group_id",
        )?;
        let held = stmt
            .query_map([&node.node_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(NodeHeartbeat { live_nodes, held })
    })
}

pub(crate) fn claim(c: &Connection, node: &NodeInfo, max: usize) -> Result<Vec<GroupLease>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    immediate(c, |c| {
        let now = now_ms();
        let candidates: Vec<i64> = {
            let mut stmt = c.prepare_cached(
                "SELECT f.group_id FROM flow_group f LEFT JOIN cluster_node n ON n.node_id = f.owner_node \
                 WHERE f.owner_node IS NULL OR n.node_id IS NULL OR n.expires_ms < ?1 \
                 ORDER BY f.group_id LIMIT ?2",
            )?;
            stmt.query_map(params![now, max as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut claimed = Vec::with_capacity(candidates.len());
        for group_id in candidates {
            let generation: i64 = c.query_row(
                "UPDATE flow_group SET generation = generation + 1, owner_node = ?2, \
                 owner_address = ?3, claimed_ms = ?4 WHERE group_id = ?1 RETURNING generation",
                params![group_id, node.node_id, node.address, now],
                |r| r.get(0),
            )?;
            claimed.push(GroupLease {
                group_id,
                generation,
                owner_node: Some(node.node_id.clone()),
                owner_address: Some(node.address.clone()),
                owner_live: true,
            });
        }
        Ok(claimed)
    })
}

pub(crate) fn release(
    c: &Connection,
    node_id: &str,
    group_id: i64,
    generation: i64,
) -> Result<bool> {
    let n = c.execute(
        "UPDATE flow_group SET owner_node = NULL, owner_address = NULL \
         WHERE group_id = ?1 AND generation = ?2 AND owner_node = ?3",
        params![group_id, generation, node_id],
    )?;
    Ok(n > 0)
}

pub(crate) fn leave(c: &Connection, node_id: &str) -> Result<()> {
    immediate(c, |c| {
        c.execute(
            "UPDATE flow_group SET owner_node = NULL, owner_address = NULL WHERE owner_node = ?1",
            [node_id],
        )?;
        c.execute("DELETE FROM cluster_node WHERE node_id = ?1", [node_id])?;
        Ok(())
    })
}

pub(crate) fn list_groups(c: &Connection) -> Result<Vec<GroupLease>> {
    let mut stmt = c.prepare_cached(
        "SELECT f.group_id, f.generation, f.owner_node, f.owner_address, \
         COALESCE(n.expires_ms >= ?1, 0) \
         FROM flow_group f LEFT JOIN cluster_node n ON n.node_id = f.owner_node ORDER BY f.group_id",
    )?;
    let rows = stmt.query_map([now_ms()], |r| {
        Ok(GroupLease {
            group_id: r.get(0)?,
            generation: r.get(1)?,
            owner_node: r.get(2)?,
            owner_address: r.get(3)?,
            owner_live: r.get::<_, i64>(4)? != 0,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The check of [`crate::WriteOp::Fence`], inside the writer's transaction.
pub(crate) fn fence(c: &Connection, group_id: i64, generation: i64) -> Result<()> {
    let current: Option<i64> = c
        .query_row(
            "SELECT generation FROM flow_group WHERE group_id = ?1 AND owner_node IS NOT NULL",
            [group_id],
            |r| r.get(0),
        )
        .optional()?;
    if current == Some(generation) {
        Ok(())
    } else {
        Err(fenced(group_id, generation, current))
    }
}

pub(crate) fn fenced(group_id: i64, generation: i64, current: Option<i64>) -> StoreError {
    StoreError::Fenced(match current {
        Some(now) => format!(
            "group [{group_id}] is at generation [{now}], the write was fenced at [{generation}]"
        ),
        None => format!("group [{group_id}] has no owner, the write was fenced at [{generation}]"),
    })
}
