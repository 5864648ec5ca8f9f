//! Stop, kill and skip of one step of a running workflow instance (maestro-model.md §7.6,
//! maestro-api.md §1.10). The action is a message to the run's actor, the only writer of the
//! run's rows: the actor checks the step's status against Maestro's action table
//! (`StepInstanceStatus::allowed_actions`), ends the attempt, and answers once the new state is
//! durable. A caller that blocks waits for that answer (at most [`ACTION_TIMEOUT`]); one that
//! does not returns as soon as the actor has the message.

use std::time::Duration;

use baton_model::definition::User;
use baton_model::instance::{StepInstance, StepInstanceAction};
use baton_store::RunKey;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::run::RunMsg;

/// How long a blocking step action waits for the step to react (Maestro's `action-timeout`).
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A terminating step action a user can send to a running step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAction {
    /// The attempt ends STOPPED.
    Stop,
    /// The attempt ends FATALLY_FAILED; the step's failure mode then applies.
    Kill,
    /// The attempt ends SKIPPED and downstream continues.
    Skip,
}

impl StepAction {
    /// Maestro's name of the action.
    pub fn as_model(self) -> StepInstanceAction {
        match self {
            StepAction::Stop => StepInstanceAction::Stop,
            StepAction::Kill => StepInstanceAction::Kill,
            StepAction::Skip => StepInstanceAction::Skip,
        }
    }
}

/// What a step action did.
#[derive(Debug, Clone)]
pub struct StepActionOutcome {
    /// The run the step belongs to (the instance's latest run).
    pub run: RunKey,
    /// The step's latest attempt after the action: when the caller blocked, the state the
    /// action led to; otherwise the state when the action was handed over.
    pub attempt: Option<StepInstance>,
    /// True when the caller waited and the action took effect.
    pub completed: bool,
}

impl Engine {
    /// Stops, kills or skips a step of an instance's latest run. The run must be active on
    /// this engine; the step's status must allow the action. A skip of a step of a terminal
    /// run is a restart (`RESTART_FROM_SPECIFIC` with `skip_steps`).
    #[allow(clippy::too_many_arguments)]
    pub async fn act_on_step(
        &self,
        workflow_id: &str,
        instance_id: i64,
        step_id: &str,
        action: StepAction,
        user: User,
        reason: Option<String>,
        blocking: bool,
    ) -> Result<StepActionOutcome> {
        let run = self
            .get_instance_run(workflow_id, instance_id, None)
            .await?;
        let key = RunKey {
            workflow_id: workflow_id.to_string(),
            instance_id,
            run_id: run.workflow_run_id,
        };
        // Cluster mode: the run's actor lives on the owner of its group.
        self.require_run_owner(&key).await?;
        if !run.runtime_dag.contains_key(step_id) && !run.runtime_dag.is_empty() {
            return Err(EngineError::NotFound(format!(
                "Cannot find step [{step_id}] in workflow instance {}",
                run.identity()
            )));
        }
        let name = action.as_model().as_str();
        if run.status.is_terminal() {
            if action == StepAction::Skip {
                return self.skip_by_restart(&key, step_id, user, reason).await;
            }
            return Err(EngineError::invalid(format!(
                "Cannot {name} step [{step_id}] because workflow instance {} is in a terminal status [{}]",
                run.identity(),
                run.status.as_str()
            )));
        }
        let tx = match self.run_sender(&key) {
            Ok(tx) => tx,
            // Still queued by its run strategy: no step exists yet.
            Err(_) if run.status == baton_model::instance::WorkflowInstanceStatus::Created => {
                return Err(EngineError::invalid(format!(
                    "Cannot {name} step [{step_id}] in status [NOT_CREATED]: workflow instance {} has not started yet",
                    run.identity()
                )));
            }
            Err(e) => return Err(e),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(RunMsg::StepAction {
            step_id: step_id.to_string(),
            action,
            user,
            reason,
            reply,
        })
        .map_err(|_| EngineError::Conflict("the run ended meanwhile".into()))?;
        let completed = if blocking {
            match tokio::time::timeout(ACTION_TIMEOUT, answer).await {
                Ok(Ok(result)) => {
                    result?;
                    true
                }
                Ok(Err(_)) => {
                    return Err(EngineError::Conflict("the run ended meanwhile".into()));
                }
                Err(_) => {
                    return Err(EngineError::Timeout(format!(
                        "The {name} action on step [{step_id}] of workflow instance {} did not take effect within {} s; it is still being processed",
                        run.identity(),
                        ACTION_TIMEOUT.as_secs()
                    )));
                }
            }
        } else {
            // The actor validates and acts on its own; a refusal is logged by nobody, as with
            // Maestro's non-blocking calls, so the caller re-reads the step to see the outcome.
            drop(answer);
            false
        };
        let attempt = self
            .latest_attempts(&key)
            .await?
            .into_iter()
            .find(|a| a.step_id == step_id);
        Ok(StepActionOutcome {
            run: key,
            attempt,
            completed,
        })
    }

    /// SKIP of a step of a terminal run: as in Maestro, a `RESTART_FROM_SPECIFIC` new run with
    /// the step in `skip_steps` (see `Engine::skip_step_by_restart`); the outcome names the new
    /// run, in which the step ends SKIPPED without running.
    async fn skip_by_restart(
        &self,
        run: &RunKey,
        step_id: &str,
        user: User,
        _reason: Option<String>,
    ) -> Result<StepActionOutcome> {
        let started = self
            .skip_step_by_restart(&run.workflow_id, run.instance_id, step_id, user)
            .await?;
        Ok(StepActionOutcome {
            run: RunKey {
                workflow_id: run.workflow_id.clone(),
                instance_id: started.workflow_instance_id,
                run_id: started.workflow_run_id,
            },
            attempt: None,
            completed: true,
        })
    }

    /// The mailbox of a run's actor, if the run is live on this engine.
    pub(crate) fn run_sender(
        &self,
        run: &RunKey,
    ) -> Result<tokio::sync::mpsc::UnboundedSender<RunMsg>> {
        self.inner
            .runs
            .lock()
            .map_err(|_| EngineError::Internal("run registry poisoned".into()))?
            .get(run)
            .cloned()
            .ok_or_else(|| {
                EngineError::Conflict(format!(
                    "workflow instance run [{}][{}][{}] is not running on this engine",
                    run.workflow_id, run.instance_id, run.run_id
                ))
            })
    }
}
