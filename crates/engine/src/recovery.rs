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
    let store = engine.inner.store.clone();
    for permit in store.list_tag_permits().await? {
        engine
            .inner
            .permits
            .set_limit(&permit.tag, Some(permit.max_allowed));
    }
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
