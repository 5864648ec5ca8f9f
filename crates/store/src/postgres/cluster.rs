//! Cluster membership on PostgreSQL (see `crate::cluster`): the leases of a real cluster.
//!
//! Every statement runs on a pooled connection in autocommit and reads "now" from the database
//! (`clock_timestamp()`), so the nodes' clocks never have to agree. Concurrency is settled by
//! PostgreSQL alone: a claim locks the candidate rows `FOR UPDATE SKIP LOCKED` (two claimers
//! never take the same group, and neither waits for the other), and a fenced write batch holds
//! its group row `FOR SHARE` until it commits, so a claim of that group waits for (or skips) the
//! batch and the new owner reads everything the old one wrote.

use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;

use super::read::{INSTANCE_COLUMNS, instance_row};
use crate::{GroupLease, InstanceRow, NodeHeartbeat, NodeInfo, Result};

/// The database's clock in epoch milliseconds.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::BIGINT";

async fn query(
    c: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

pub(crate) async fn active_runs_in_group(c: &Object, group_id: i64) -> Result<Vec<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM workflow_instance \
         WHERE group_id = $1::BIGINT AND status IN ('CREATED', 'IN_PROGRESS', 'PAUSED') \
         ORDER BY depth, create_ts, workflow_id, instance_id, run_id"
    );
    let rows = query(c, &sql, &[&group_id]).await?;
    rows.iter().map(instance_row).collect()
}

fn upsert_node_sql() -> String {
    format!(
        "INSERT INTO cluster_node (node_id, address, heartbeat_ms, expires_ms) \
         VALUES ($1::TEXT, $2::TEXT, {NOW_MS}, {NOW_MS} + $3::BIGINT) \
         ON CONFLICT (node_id) DO UPDATE SET address = EXCLUDED.address, \
         heartbeat_ms = EXCLUDED.heartbeat_ms, expires_ms = EXCLUDED.expires_ms"
    )
}

pub(crate) async fn join(
    c: &mut Object,
    node: &NodeInfo,
    groups: i64,
    lease_ms: i64,
) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO flow_group (group_id) SELECT g FROM generate_series(0::BIGINT, $1::BIGINT - 1) g \
         ON CONFLICT (group_id) DO NOTHING",
        &[&groups],
    )
    .await?;
    tx.execute(
        "UPDATE flow_group SET owner_node = NULL, owner_address = NULL WHERE owner_node = $1::TEXT",
        &[&node.node_id],
    )
    .await?;
    tx.execute(
        &upsert_node_sql(),
        &[&node.node_id, &node.address, &lease_ms],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn heartbeat(c: &Object, node: &NodeInfo, lease_ms: i64) -> Result<NodeHeartbeat> {
    query(
        c,
        &upsert_node_sql(),
        &[&node.node_id, &node.address, &lease_ms],
    )
    .await?;
    let live = query(
        c,
        &format!("SELECT count(*) FROM cluster_node WHERE expires_ms >= {NOW_MS}"),
        &[],
    )
    .await?;
    let live_nodes: i64 = match live.first() {
        Some(row) => row.try_get(0)?,
        None => 0,
    };
    let rows = query(
        c,
        "SELECT group_id, generation FROM flow_group WHERE owner_node = $1::TEXT ORDER BY group_id",
        &[&node.node_id],
    )
    .await?;
    let held = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    Ok(NodeHeartbeat { live_nodes, held })
}

pub(crate) async fn claim(c: &Object, node: &NodeInfo, max: usize) -> Result<Vec<GroupLease>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let sql = format!(
        "UPDATE flow_group g SET generation = g.generation + 1, owner_node = $1::TEXT, \
         owner_address = $2::TEXT, claimed_ms = {NOW_MS} \
         FROM (SELECT f.group_id FROM flow_group f \
               WHERE f.owner_node IS NULL OR NOT EXISTS (SELECT 1 FROM cluster_node n \
                 WHERE n.node_id = f.owner_node AND n.expires_ms >= {NOW_MS}) \
               ORDER BY f.group_id LIMIT $3::BIGINT FOR UPDATE OF f SKIP LOCKED) c \
         WHERE g.group_id = c.group_id RETURNING g.group_id, g.generation"
    );
    let rows = query(c, &sql, &[&node.node_id, &node.address, &limit]).await?;
    let mut claimed = rows
        .iter()
        .map(|r| {
            Ok(GroupLease {
                group_id: r.try_get(0)?,
                generation: r.try_get(1)?,
                owner_node: Some(node.node_id.clone()),
                owner_address: Some(node.address.clone()),
                owner_live: true,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|g| g.group_id);
    Ok(claimed)
}

pub(crate) async fn release(
    c: &Object,
    node_id: &str,
    group_id: i64,
    generation: i64,
) -> Result<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE flow_group SET owner_node = NULL, owner_address = NULL \
             WHERE group_id = $1::BIGINT AND generation = $2::BIGINT AND owner_node = $3::TEXT",
        )
        .await?;
    Ok(c.execute(&stmt, &[&group_id, &generation, &node_id])
        .await?
        > 0)
}

pub(crate) async fn leave(c: &mut Object, node_id: &str) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE flow_group SET owner_node = NULL, owner_address = NULL WHERE owner_node = $1::TEXT",
        &[&node_id],
    )
    .await?;
    tx.execute(
        "DELETE FROM cluster_node WHERE node_id = $1::TEXT",
        &[&node_id],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn list_groups(c: &Object) -> Result<Vec<GroupLease>> {
    let sql = format!(
        "SELECT f.group_id, f.generation, f.owner_node, f.owner_address, \
         COALESCE(n.expires_ms >= {NOW_MS}, FALSE) \
         FROM flow_group f LEFT JOIN cluster_node n ON n.node_id = f.owner_node ORDER BY f.group_id"
    );
    let rows = query(c, &sql, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(GroupLease {
                group_id: r.try_get(0)?,
                generation: r.try_get(1)?,
                owner_node: r.try_get(2)?,
                owner_address: r.try_get(3)?,
                owner_live: r.try_get(4)?,
            })
        })
        .collect()
}
