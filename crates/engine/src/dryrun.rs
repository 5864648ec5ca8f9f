//! The dry run at create time (maestro-model.md §1.8): workflow params are merged and evaluated
//! as a validation run would, so a push with a broken expression or a mode violation is rejected
//! before anything is stored.

use std::sync::Arc;

use baton_model::definition::Workflow;
use baton_model::params::ParamSource;
use indexmap::IndexMap;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::params::{self, EvalScope, InstanceFacts};

/// Merges and evaluates the workflow's params with a VALIDATION initiator.
pub(crate) async fn check_workflow_params(engine: &Engine, workflow: &Workflow) -> Result<()> {
    let definition = workflow.params.clone();
    let scope = EvalScope {
        now_millis: now_millis(),
        limits: engine.inner.config.sel_limits,
        instance: InstanceFacts {
            workflow_id: workflow.id.clone(),
            first_time_trigger_timezone: crate::start::first_time_trigger_timezone(workflow),
            signals: Some(Arc::new(crate::params::SignalFacts {
                declared: Some(Arc::new(
                    workflow.signal_triggers.clone().unwrap_or_default(),
                )),
                ..Default::default()
            })),
            ..InstanceFacts::default()
        },
        workflow_params: Arc::new(IndexMap::new()),
        step: None,
        upstream: Arc::new(IndexMap::new()),
        step_ids: Arc::new(workflow.steps.iter().map(|s| s.id.clone()).collect()),
        services: engine.inner.services.clone(),
    };
    crate::blocking::run(move || {
        let merged = params::merge_workflow_params(definition.as_ref(), None, ParamSource::Launch)?;
        params::evaluate_workflow_params(&merged, &scope).map(|_| ())
    })
    .await?
    .map_err(|e| EngineError::invalid(format!("Invalid workflow params of [{}]: {e}", workflow.id)))
}
