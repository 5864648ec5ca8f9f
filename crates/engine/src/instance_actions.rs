//! Stopping and killing runs on a user's request (maestro-api.md §1.8–§1.9): one instance's
//! latest run, or every unfinished run of a workflow. A run still waiting in its run-strategy
//! queue is ended at once; a running one is handed to its actor (`Engine::act_on_run`), which
//! must live in this process.

use baton_model::definition::User;
use baton_model::instance::{
    ActionEvent, Timeline, TimelineEvent, WorkflowInstance, WorkflowInstanceStatus,
};
use baton_store::RunKey;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::run::RunAction;
use crate::views::instance_not_found;

/// What a stop or kill of one run did.
#[derive(Debug, Clone)]
pub struct RunActionOutcome {
    /// The run as it is after the action.
    pub instance: WorkflowInstance,
    /// True when the run reached the action's status (or had it already); false when the
    /// action was accepted and the run is still winding down (e.g. a Shell step being stopped).
    pub completed: bool,
    /// A LOG event with the reason.
    pub event: TimelineEvent,
}

/// The status a run action leads to.
pub fn action_status(action: RunAction) -> WorkflowInstanceStatus {
    match action {
        RunAction::Stop => WorkflowInstanceStatus::Stopped,
        RunAction::Kill => WorkflowInstanceStatus::Failed,
    }
}

fn action_name(action: RunAction) -> &'static str {
    match action {
        RunAction::Stop => "STOP",
        RunAction::Kill => "KILL",
    }
}

impl Engine {
    /// Stops or kills the latest run of an instance. `run_id`, when given, must be the latest.
    pub async fn terminate_instance(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
        action: RunAction,
        caller: User,
    ) -> Result<RunActionOutcome> {
        let name = action_name(action);
        let row = self
            .inner
            .store
            .get_instance_run(workflow_id, instance_id, None)
            .await?
            .ok_or_else(|| instance_not_found(workflow_id, instance_id, run_id.unwrap_or(0)))?;
        // Cluster mode: the group's owner runs (or queues) the run.
        self.require_owner(row.group_id).await?;
        if let Some(r) = run_id
            && r != row.key.run_id
        {
            return Err(EngineError::invalid(format!(
                "Cannot {name} the workflow instance run [{r}] as it is not the latest run [{}]",
                row.key.run_id
            )));
        }
        let key = row.key.clone();
        let target = action_status(action);
        let reason = format!(
            "User [{}] take an action to {name} the running workflow instance run",
            caller.name
        );
        let event = TimelineEvent::info(now_millis(), reason.clone());
        if row.queued {
            let timeline = serde_json::to_string(&Timeline::new([event.clone()]))
                .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?;
            if self
                .inner
                .queues
                .terminate_queued(self, &key, target, Some(timeline))
                .await?
            {
                return Ok(RunActionOutcome {
                    instance: self
                        .get_instance_run(workflow_id, instance_id, Some(key.run_id))
                        .await?,
                    completed: true,
                    event,
                });
            }
        }
        let instance = self
            .get_instance_run(workflow_id, instance_id, Some(key.run_id))
            .await?;
        if instance.run_status() == target {
            return Ok(RunActionOutcome {
                instance,
                completed: true,
                event,
            });
        }
        if instance.status.is_terminal() {
            return Err(EngineError::invalid(format!(
                "Cannot terminate a workflow instance {} from status [{}] to [{}]",
                instance.identity(),
                instance.status.as_str(),
                target.as_str()
            )));
        }
        match self
            .act_on_run(&key, action, Some(caller), Some(reason))
            .await
        {
            Ok(()) => {}
            // It finished between the read and the action: report what it is now.
            Err(EngineError::Conflict(_)) if !self.is_live(&key) => {
                let now = self
                    .get_instance_run(workflow_id, instance_id, Some(key.run_id))
                    .await?;
                if now.status.is_terminal() && now.run_status() != target {
                    return Err(EngineError::invalid(format!(
                        "Cannot terminate a workflow instance {} from status [{}] to [{}]",
                        now.identity(),
                        now.status.as_str(),
                        target.as_str()
                    )));
                }
                if !now.status.is_terminal() {
                    return Err(EngineError::Conflict(format!(
                        "workflow instance run {} is not running on this server",
                        now.identity()
                    )));
                }
            }
            Err(e) => return Err(e),
        }
        let instance = self
            .get_instance_run(workflow_id, instance_id, Some(key.run_id))
            .await?;
        Ok(RunActionOutcome {
            completed: instance.status.is_terminal(),
            instance,
            event,
        })
    }

    /// Stops or kills every unfinished run of a workflow: queued ones end at once, running
    /// ones are told to stop. Returns Maestro's ACTION event with both counts.
    pub async fn terminate_workflow_runs(
        &self,
        workflow_id: &str,
        action: RunAction,
        caller: User,
    ) -> Result<TimelineEvent> {
        self.workflow_row(workflow_id).await?;
        self.require_owner(self.group_of_workflow(workflow_id))
            .await?;
        let name = action_name(action);
        let target = action_status(action);
        let reason = format!(
            "All workflow instances of workflow id [{workflow_id}] are terminated to status [{}] by the caller [{}]",
            target.as_str(),
            caller.name
        );
        let runs: Vec<_> = self
            .inner
            .store
            .list_active_runs()
            .await?
            .into_iter()
            .filter(|r| r.key.workflow_id == workflow_id)
            .collect();
        // Queued runs first: a running run that ends would otherwise start the next one.
        let (mut queued, mut running) = (0usize, 0usize);
        let mut live = Vec::new();
        for row in runs {
            if row.queued {
                let timeline = serde_json::to_string(&Timeline::new([TimelineEvent::info(
                    now_millis(),
                    reason.clone(),
                )]))
                .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?;
                if self
                    .inner
                    .queues
                    .terminate_queued(self, &row.key, target, Some(timeline))
                    .await?
                {
                    queued += 1;
                    continue;
                }
            }
            live.push(row.key);
        }
        for key in live {
            match self
                .act_on_run(&key, action, Some(caller.clone()), Some(reason.clone()))
                .await
            {
                Ok(()) => running += 1,
                Err(EngineError::Conflict(m)) => {
                    tracing::info!(run = ?key, reason = %m, "run not terminated");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(TimelineEvent::Action(ActionEvent {
            timestamp: now_millis(),
            action: Some(name.to_string()),
            author: Some(caller),
            message: Some(format!(
                "Terminated [{queued}] queued instances and terminating [{running}] running instances"
            )),
            reason: Some(reason),
            info: None,
        }))
    }

    pub(crate) fn is_live(&self, key: &RunKey) -> bool {
        self.inner
            .runs
            .lock()
            .map(|r| r.contains_key(key))
            .unwrap_or(false)
    }
}
