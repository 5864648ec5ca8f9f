//! Reading runs and step attempts back in Maestro's shapes. A run that is still going gets its
//! runtime overview computed from its step rows (the row stores it only when the run ends).

use baton_model::instance::{StepInstance, WorkflowInstance};
use baton_store::RunKey;
use indexmap::IndexMap;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::persist;
use crate::run::RunAction;

impl Engine {
    /// A run of an instance (the latest when `run_id` is `None`).
    pub async fn get_instance_run(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
    ) -> Result<WorkflowInstance> {
        let row = self
            .inner
            .store
            .get_instance_run(workflow_id, instance_id, run_id)
            .await?
            .ok_or_else(|| match run_id {
                Some(r) => EngineError::NotFound(format!(
                    "Cannot find workflow instance [{workflow_id}][{instance_id}][{r}]"
                )),
                None => EngineError::NotFound(format!(
                    "Cannot find workflow instance [{workflow_id}][{instance_id}]"
                )),
            })?;
        let mut instance = persist::instance_from_row(&row)?;
        if instance.runtime_overview.is_none() {
            let attempts = self.latest_attempts(&row.key).await?;
            instance.runtime_overview = Some(crate::run::compute_overview(
                instance.runtime_dag.len() as i64,
                attempts
                    .iter()
                    .map(|si| (si, si.definition.step_type().is_leaf())),
            ));
        }
        Ok(instance)
    }

    /// Every attempt of every step of a run, in step order then attempt order.
    pub async fn get_step_attempts(&self, run: &RunKey) -> Result<Vec<StepInstance>> {
        self.inner
            .store
            .list_step_attempts(run)
            .await?
            .iter()
            .map(persist::step_from_row)
            .collect()
    }

    /// The latest attempt of each step of a run.
    pub async fn latest_attempts(&self, run: &RunKey) -> Result<Vec<StepInstance>> {
        let mut latest: IndexMap<String, StepInstance> = IndexMap::new();
        for si in self.get_step_attempts(run).await? {
            match latest.get(&si.step_id) {
                Some(prev) if prev.step_attempt_id >= si.step_attempt_id => {}
                _ => {
                    latest.insert(si.step_id.clone(), si);
                }
            }
        }
        Ok(latest.into_values().collect())
    }

    /// Stops or kills a running run (§7.5). Returns once the action's effect is durable.
    pub async fn act_on_run(
        &self,
        run: &RunKey,
        action: RunAction,
        user: Option<baton_model::definition::User>,
        reason: Option<String>,
    ) -> Result<()> {
        let tx = self
            .inner
            .runs
            .lock()
            .map_err(|_| EngineError::Internal("run registry poisoned".into()))?
            .get(run)
            .cloned();
        let Some(tx) = tx else {
            // Cluster mode: the run may live on the owner of its group.
            self.require_run_owner(run).await?;
            return Err(EngineError::Conflict(format!(
                "workflow instance run [{}][{}][{}] is not running on this engine",
                run.workflow_id, run.instance_id, run.run_id
            )));
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(crate::run::RunMsg::Action {
            action,
            user,
            reason,
            reply,
        })
        .map_err(|_| EngineError::Conflict("the run ended meanwhile".into()))?;
        answer
            .await
            .map_err(|_| EngineError::Conflict("the run ended meanwhile".into()))?
    }
}
