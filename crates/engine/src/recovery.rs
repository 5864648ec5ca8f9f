//! Resuming after a restart: every run the store shows as not terminal gets an actor again,
//! rebuilt from its stored step attempts, and every workflow's queue is drained. The store alone
//! is enough: nothing of the previous process's memory is needed.
//!
//! Tag permits are rebuilt first: the user-set limits are loaded, and every step attempt stored
//! in STARTING, RUNNING or FINISHING holds its permits again before anything is granted. Only
//! then do waiting steps get permits, so a restart never lets more steps run than the limits
//! allow. Parents are resumed before their children (the store lists runs by depth), so a child
//! that ends at once finds its parent's actor to tell.

use std::collections::BTreeSet;

use baton_model::instance::{StepInstance, StepInstanceStatus as S, WorkflowInstance};

use crate::engine::Engine;
use crate::error::Result;
use crate::permits::{StepTagFacts, step_tags};
use crate::persist;

/// Resumes every unfinished run of the store.
pub(crate) async fn resume_all(engine: &Engine) -> Result<()> {
    let result = resume_runs(engine).await;
    // Grant permits even if something failed: steps must not wait forever.
    engine.inner.permits.open();
    let workflows = result?;
    for workflow_id in workflows {
        engine.inner.queues.drain(engine, &workflow_id).await?;
    }
    Ok(())
}

async fn resume_runs(engine: &Engine) -> Result<BTreeSet<String>> {
    load_limits(engine).await?;
    let runs = engine.inner.store.list_active_runs().await?;
    resume_rows(engine, runs).await
}

/// The user-set tag-permit limits (cluster mode: once at start; runs come per group).
async fn load_limits(engine: &Engine) -> Result<()> {
    for permit in engine.inner.store.list_tag_permits().await? {
        engine
            .inner
            .permits
            .set_limit(&permit.tag, Some(permit.max_allowed));
    }
    Ok(())
}

/// Cluster mode, at start: permit limits are loaded and permits are granted from now on; the
/// runs themselves are resumed group by group as the node claims groups.
pub(crate) async fn load_permit_limits(engine: &Engine) -> Result<()> {
    let result = load_limits(engine).await;
    engine.inner.permits.open();
    result
}

/// Cluster mode: a group was just claimed — its unfinished runs get actors (unless one is
/// already live here), parents before children, and its workflows' queues are drained.
pub(crate) async fn resume_group(engine: &Engine, group: i64) -> Result<()> {
    // Breakpoints are set through the owner of their workflow's group, so the cache this node
    // loaded at start may miss some set since: read them again before the runs resume.
    engine.load_breakpoints().await?;
    let runs = engine.inner.store.list_active_runs_in_group(group).await?;
    let workflows = resume_rows(engine, runs).await?;
    for workflow_id in workflows {
        if engine.inner.ownership.owns(group) {
            engine.inner.queues.drain(engine, &workflow_id).await?;
        }
    }
    Ok(())
}

async fn resume_rows(
    engine: &Engine,
    runs: Vec<baton_store::InstanceRow>,
) -> Result<BTreeSet<String>> {
    let store = engine.inner.store.clone();
    let mut workflows = BTreeSet::new();
    let mut resumed = 0usize;
    for row in runs {
        workflows.insert(row.key.workflow_id.clone());
        if row.queued || engine.is_live(&row.key) {
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
        hold_permits(engine, &instance, &attempts);
        crate::run::spawn(engine, instance, attempts).await?;
        resumed += 1;
    }
    if resumed > 0 {
        tracing::info!(resumed, "resumed unfinished runs");
    }
    Ok(workflows)
}

/// Steps that had started hold their permits again.
fn hold_permits(engine: &Engine, instance: &WorkflowInstance, attempts: &[StepInstance]) {
    let correlation = instance.correlation_id_or_default();
    for si in attempts {
        if !matches!(
            si.runtime_state.status,
            S::Starting | S::Running | S::Finishing
        ) {
            continue;
        }
        let tags = step_tags(&StepTagFacts {
            workflow_id: &instance.workflow_id,
            correlation_id: &correlation,
            step_concurrency: instance.run_properties.step_concurrency,
            instance_step_concurrency: instance.runtime_workflow.instance_step_concurrency,
            step_id: &si.step_id,
            is_leaf: si.definition.step_type().is_leaf(),
            tags: si.tags.as_ref(),
        });
        engine.inner.permits.hold(&si.step_uuid, &tags);
    }
}
