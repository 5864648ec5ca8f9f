//! A workflow definition prepared for execution: its DAG built once and shared by every run of
//! the same version, so a run actor holds an `Arc`, not its own copy of the definition.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_model::dag::Dag;
use baton_model::definition::{Step, Workflow};

use crate::error::{EngineError, Result};

/// A definition with its top-level DAG.
#[derive(Debug)]
pub struct CompiledWorkflow {
    pub workflow: Workflow,
    pub dag: Dag,
    /// DAG node → index into `workflow.steps`.
    node_steps: Vec<usize>,
    /// Every top-level step id (for `stepId__param` resolution).
    pub step_ids: Arc<Vec<String>>,
}

impl CompiledWorkflow {
    /// Builds the DAG of the top-level steps.
    pub fn new(workflow: Workflow) -> Result<CompiledWorkflow> {
        let dag = Dag::from_steps(&workflow.steps).map_err(|errors| {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            EngineError::invalid(format!(
                "workflow [{}] has an invalid DAG: {}",
                workflow.id,
                text.join("; ")
            ))
        })?;
        let mut node_steps = Vec::with_capacity(dag.len());
        for node in 0..dag.len() {
            let id = dag.id(node);
            let index = workflow
                .steps
                .iter()
                .position(|s| s.id == id)
                .ok_or_else(|| EngineError::Internal(format!("DAG node [{id}] has no step")))?;
            node_steps.push(index);
        }
        let step_ids = Arc::new(workflow.steps.iter().map(|s| s.id.clone()).collect());
        Ok(CompiledWorkflow {
            workflow,
            dag,
            node_steps,
            step_ids,
        })
    }

    /// The step definition of a DAG node.
    pub fn step(&self, node: usize) -> &Step {
        &self.workflow.steps[self.node_steps[node]]
    }

    /// Number of steps.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.dag.len()
    }
}

/// Compiled definitions by (workflow id, version id). Versions are immutable, so entries never
/// go stale; the cache is bounded by dropping everything when it grows past its cap.
#[derive(Default)]
pub(crate) struct Cache {
    entries: Mutex<HashMap<(String, i64), Arc<CompiledWorkflow>>>,
}

const CACHE_CAP: usize = 1024;

impl Cache {
    /// The compiled form of a version, compiling `workflow` on a miss.
    pub fn get_or_compile(
        &self,
        workflow_id: &str,
        version_id: i64,
        workflow: impl FnOnce() -> Result<Workflow>,
    ) -> Result<Arc<CompiledWorkflow>> {
        let key = (workflow_id.to_string(), version_id);
        if let Ok(entries) = self.entries.lock()
            && let Some(hit) = entries.get(&key)
        {
            return Ok(hit.clone());
        }
        let compiled = Arc::new(CompiledWorkflow::new(workflow()?)?);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_CAP {
                entries.clear();
            }
            entries.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    /// Drops every version of a workflow (it was deleted: a re-created workflow reuses the
    /// version numbers with other definitions).
    pub fn forget(&self, workflow_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(id, _), _| id != workflow_id);
        }
    }
}
