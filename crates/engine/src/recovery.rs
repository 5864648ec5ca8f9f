//! Resuming after a restart: every run the store shows as not terminal gets an actor again,
//! rebuilt from its stored step attempts, and every workflow's queue is drained. The store alone
//! is enough: nothing of the previous process's memory is needed.

use std::collections::BTreeSet;

use crate::engine::Engine;
use crate::error::Result;
use crate::persist;

/// Resumes every unfinished run of the store.
pub(crate) async fn resume_all(engine: &Engine) -> Result<()> {
    let store = engine.inner.store.clone();
    let runs = store.list_active_runs().await?;
    let mut workflows = BTreeSet::new();
    let mut resumed = 0usize;
    for row in runs {
        workflows.insert(row.key.workflow_id.clone());
        if row.queued {
            continue;
        }
        let instance = match persist::instance_from_row(&row) {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(run = ?row.key, error = %e, "cannot resume run");
                continue;
            }
        };
        let attempts = store
            .list_step_attempts(&row.key)
            .await?
            .iter()
            .map(persist::step_from_row)
            .collect::<Result<Vec<_>>>()?;
        crate::run::spawn(engine, instance, attempts).await?;
        resumed += 1;
    }
    if resumed > 0 {
        tracing::info!(resumed, "resumed unfinished runs");
    }
    for workflow_id in workflows {
        engine.inner.queues.drain(engine, &workflow_id).await?;
    }
    Ok(())
}
