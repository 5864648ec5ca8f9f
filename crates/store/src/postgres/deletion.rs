//! Deleting a workflow with everything it owns (see `Store::delete_workflow`), on the writer's
//! connection, in a transaction of its own.
//!
//! The workflow row is locked first: a run created concurrently by another process (which
//! allocates its instance id under that lock) either lands before and is seen — an active run
//! refuses the deletion — or waits and then finds no workflow. The runs to remove, foreach and
//! while iterations at every depth below them included, are one recursive query; every delete
//! is one statement that reports its count.

use tokio_postgres::Client;

use crate::{Result, StoreError, WorkflowDeletion, instance_floor_key};

const LOCK_WORKFLOW: &str = "SELECT internal_id, latest_instance_id FROM workflow \
    WHERE workflow_id = $1::TEXT FOR UPDATE";

const COUNT_ACTIVE: &str = "SELECT COUNT(*) FROM workflow_instance WHERE workflow_id = $1::TEXT \
    AND status IN ('CREATED', 'IN_PROGRESS', 'PAUSED')";

// Data-modifying CTEs all run, whatever the final SELECT reads. The instance-id floor is
// remembered so that a workflow created again with this id continues after the deleted ids.
const DELETE_ALL: &str = "WITH RECURSIVE doomed (workflow_id, instance_id, run_id) AS ( \
      SELECT workflow_id, instance_id, run_id FROM workflow_instance WHERE workflow_id = $1::TEXT \
      UNION \
      SELECT w.workflow_id, w.instance_id, w.run_id FROM workflow_instance w JOIN doomed d \
      ON w.parent_workflow_id = d.workflow_id AND w.parent_instance_id = d.instance_id \
      AND w.parent_run_id = d.run_id WHERE w.initiator_type IN ('FOREACH', 'WHILE') \
    ), steps AS ( \
      DELETE FROM step_instance s USING doomed d WHERE s.workflow_id = d.workflow_id \
      AND s.workflow_instance_id = d.instance_id AND s.workflow_run_id = d.run_id RETURNING 1 \
    ), runs AS ( \
      DELETE FROM workflow_instance w USING doomed d WHERE w.workflow_id = d.workflow_id \
      AND w.instance_id = d.instance_id AND w.run_id = d.run_id RETURNING 1 \
    ), versions AS ( \
      DELETE FROM workflow_version WHERE workflow_id = $1::TEXT RETURNING 1 \
    ), properties AS ( \
      DELETE FROM workflow_properties WHERE workflow_id = $1::TEXT \
    ), workflow_row AS ( \
      DELETE FROM workflow WHERE workflow_id = $1::TEXT \
    ), floor AS ( \
      INSERT INTO sequence AS s (name, value) VALUES ($2::TEXT, $3::BIGINT) \
      ON CONFLICT (name) DO UPDATE SET value = GREATEST(s.value, excluded.value) \
    ) \
    SELECT (SELECT COUNT(*) FROM versions), (SELECT COUNT(*) FROM runs), \
      (SELECT COUNT(*) FROM steps)";

/// Deletes the workflow; also says whether the session has left the transaction (false when a
/// rollback failed: the connection must not be used again).
pub(crate) async fn delete_workflow(
    client: &Client,
    workflow_id: &str,
) -> (Result<WorkflowDeletion>, bool) {
    match in_transaction(client, workflow_id).await {
        Ok(deleted) => match client.batch_execute("COMMIT").await {
            Ok(()) => (Ok(deleted), true),
            Err(err) => (
                Err(StoreError::Database(format!(
                    "commit failed: {}",
                    super::error_text(&err)
                ))),
                rollback(client).await,
            ),
        },
        Err(err) => (Err(err), rollback(client).await),
    }
}

async fn rollback(client: &Client) -> bool {
    client.batch_execute("ROLLBACK").await.is_ok()
}

async fn in_transaction(client: &Client, workflow_id: &str) -> Result<WorkflowDeletion> {
    client.batch_execute("BEGIN").await?;
    let Some(row) = client.query_opt(LOCK_WORKFLOW, &[&workflow_id]).await? else {
        return Err(StoreError::NotFound(format!("workflow [{workflow_id}]")));
    };
    let internal_id: i64 = row.try_get(0)?;
    let latest_instance_id: i64 = row.try_get(1)?;
    let active: i64 = client
        .query_one(COUNT_ACTIVE, &[&workflow_id])
        .await?
        .try_get(0)?;
    if active > 0 {
        return Err(StoreError::Conflict(format!(
            "workflow [{workflow_id}] still has [{active}] queued or running instance runs"
        )));
    }
    let counts = client
        .query_one(
            DELETE_ALL,
            &[
                &workflow_id,
                &instance_floor_key(workflow_id),
                &latest_instance_id,
            ],
        )
        .await?;
    let count = |i: usize| -> Result<u64> { Ok(counts.try_get::<_, i64>(i)?.max(0) as u64) };
    Ok(WorkflowDeletion {
        internal_id,
        versions: count(0)?,
        runs: count(1)?,
        step_attempts: count(2)?,
    })
}
