//! The run actor's side of restarts (maestro-model.md §7.6–§7.7): a restarted run begins with
//! the steps its plan carries from earlier runs already finished, and a user may restart a
//! failed step of a run that is still active.
//!
//! Carried steps live in the actor like steps that completed in this run (their params feed
//! downstream evaluations, they release their successors), but they belong to their own run:
//! they are never written into this one. Steps the plan blocks are never created.

use std::sync::Arc;

use baton_model::definition::FailureMode;
use baton_model::instance::{
    ActionEvent, RestartConfig, RestartNode, RunPolicy, StepInstance, StepInstanceStatus as S,
    TimelineEvent,
};
use tokio::sync::oneshot;

use super::StepRestart;
use super::actor::{Effect, Local, RunActor};
use crate::clock::now_millis;
use crate::error::{EngineError, Result};
use crate::restart::RestartPlan;

/// How a flow step that runs again restarts the children its previous attempt had (§7.7
/// "Nested specifics").
#[derive(Debug, Clone)]
pub(super) struct ChildRestart {
    /// The policy of the children's new runs.
    pub policy: RunPolicy,
    /// The child a restart path goes through: its node, and the restart config (path popped)
    /// its new run gets (RESTART_FROM_SPECIFIC).
    pub path: Option<(RestartNode, RestartConfig)>,
}

impl RunActor {
    /// How the children of flow step `node` restart, when its attempt follows one (`prior`)
    /// that had children: an attempt of this same run (an in-run retry or restart) keeps what
    /// completed; a restarted run passes its policy down (the downstream policy under
    /// RESTART_FROM_SPECIFIC), and a restart path through this step names one child.
    pub(super) fn child_restart(&self, node: usize) -> Option<ChildRestart> {
        let prior = self.steps[node].prior.as_ref()?;
        if prior.workflow_run_id == self.key.run_id {
            return Some(ChildRestart {
                policy: RunPolicy::RestartFromIncomplete,
                path: None,
            });
        }
        let config = self.instance.run_config.as_ref()?;
        let restart = config.restart_config.clone().unwrap_or_default();
        let policy = match config.policy {
            RunPolicy::RestartFromSpecific => restart.downstream_policy,
            p if p.is_fresh_run() => return None,
            p => p,
        };
        let step_id = self.wf.dag.id(node);
        let path = restart.restart_path.as_slice();
        let through_here = config.policy == RunPolicy::RestartFromSpecific
            && path.len() > 1
            && path.last().is_some_and(|n| {
                n.workflow_id == self.key.workflow_id
                    && n.instance_id == self.key.instance_id
                    && n.step_id.as_deref() == Some(step_id)
            });
        let path = through_here.then(|| {
            let rest = path[..path.len() - 1].to_vec();
            let child = rest[rest.len() - 1].clone();
            (
                child,
                RestartConfig {
                    restart_path: rest,
                    restart_policy: RunPolicy::RestartFromSpecific,
                    ..restart.clone()
                },
            )
        });
        Some(ChildRestart { policy, path })
    }

    /// Loads a restart plan into the step slots (before the run begins or resumes).
    pub(super) fn apply_plan(&mut self, plan: RestartPlan) {
        for (node, mut si) in plan.carried {
            self.next_step_instance_id = self.next_step_instance_id.max(si.step_instance_id + 1);
            let slot = &mut self.steps[node];
            slot.step_instance_id = Some(si.step_instance_id);
            slot.params = si.params.take().map(Arc::new);
            si.definition = super::step::placeholder_step();
            slot.persisted = true;
            slot.doc_dirty = false;
            slot.carried = true;
            slot.attempt = Some(si);
            self.record_upstream(node);
        }
        for (node, mut si) in plan.prior {
            // Only the identity, retry counters and artifacts are read from it.
            si.params = None;
            si.definition = super::step::placeholder_step();
            si.timeline = None;
            self.steps[node].prior = Some(si);
        }
        for node in plan.blocked {
            self.steps[node].blocked = true;
        }
        for node in plan.forced {
            self.steps[node].forced = true;
        }
        for node in plan.skip {
            self.steps[node].skip = true;
        }
    }

    fn carried_nodes(&self) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|n| self.steps[*n].carried)
            .collect()
    }

    /// A restarted run begins: the forced steps start, the carried ones release their
    /// successors (next turn, as steps completed in a turn do).
    pub(super) async fn begin_restart(&mut self) {
        for node in 0..self.steps.len() {
            if self.steps[node].forced && self.steps[node].attempt.is_none() {
                self.create_attempt(node);
                self.drive(node).await;
            }
        }
        for node in self.carried_nodes() {
            self.local.push_back(Local::Release(node));
        }
    }

    /// A restarted run rebuilt after an engine restart: as `begin_restart` for what its own
    /// attempts do not cover.
    pub(super) fn resume_restart(&mut self) {
        for node in 0..self.steps.len() {
            let slot = &mut self.steps[node];
            if slot.attempt.is_some() && !slot.carried {
                // Created already: a skip was applied (or not needed) then.
                let created = slot
                    .attempt
                    .as_ref()
                    .is_some_and(|si| si.runtime_state.status == S::Created);
                if !created {
                    slot.skip = false;
                }
            }
            if slot.forced && slot.attempt.is_none() {
                self.create_attempt(node);
                self.local.push_back(Local::Drive(node));
            }
        }
        for node in self.carried_nodes() {
            self.local.push_back(Local::Release(node));
        }
    }

    /// A step a restart skips: SKIPPED without running (§7.6 "Skip semantics").
    pub(super) fn skip_by_restart(&mut self, node: usize) {
        self.add_timeline(
            node,
            TimelineEvent::info(now_millis(), "Step is skipped by a restart of the workflow"),
        );
        self.set_status(node, S::Skipped);
    }

    /// A user's manual restart of a step of this active run (§7.6): allowed when its latest
    /// attempt is terminal, not complete, not retryable, and its failure mode is
    /// FAIL_AFTER_RUNNING. The new attempt carries the request's step params.
    pub(super) async fn on_restart_step(
        &mut self,
        request: StepRestart,
        reply: oneshot::Sender<Result<StepInstance>>,
    ) {
        match self.check_restartable(&request.step_id) {
            Err(e) => {
                let _ = reply.send(Err(e));
            }
            Ok(node) => {
                self.create_attempt(node);
                let now = now_millis();
                let event = TimelineEvent::Action(ActionEvent {
                    timestamp: now,
                    action: Some("RESTART".to_string()),
                    author: Some(request.user.clone()),
                    message: Some(format!(
                        "User [{}] restarted the step as a new attempt",
                        request.user.name
                    )),
                    reason: Some("manual restart of a step of an active run".to_string()),
                    info: None,
                });
                if let Some(si) = self.attempt_mut(node) {
                    si.step_run_params = request.step_run_params;
                }
                self.add_timeline(node, event);
                self.timeline.add(TimelineEvent::info(
                    now,
                    format!(
                        "Step [{}] is restarted by user [{}]",
                        request.step_id, request.user.name
                    ),
                ));
                if let Ok(t) = crate::persist::timeline_json(&self.timeline) {
                    self.update_run(|u| u.timeline = Some(t));
                }
                self.effects.push(Effect::ReplyRestart(reply, node));
                self.drive(node).await;
            }
        }
    }

    fn check_restartable(&self, step_id: &str) -> Result<usize> {
        let identity = self.instance.identity();
        let node = self.wf.dag.index_of(step_id).ok_or_else(|| {
            EngineError::NotFound(format!(
                "step [{step_id}] is not a step of workflow instance {identity}"
            ))
        })?;
        if self.ended || self.terminating.is_some() {
            return Err(EngineError::Conflict(format!(
                "workflow instance run {identity} is ending: restart it once it is terminal"
            )));
        }
        let slot = &self.steps[node];
        let Some(si) = slot.attempt.as_ref().filter(|_| !slot.carried) else {
            return Err(EngineError::invalid(format!(
                "Cannot restart step [{step_id}] of the running workflow instance {identity}: it has no attempt in this run"
            )));
        };
        let status = si.runtime_state.status;
        if !status.is_restartable() {
            return Err(EngineError::invalid(format!(
                "Cannot restart step [{step_id}] of the running workflow instance {identity} in status [{}]: only a terminal, not complete and not retryable step can be restarted while the run is active",
                status.as_str()
            )));
        }
        let mode = self.wf.step(node).failure_mode_or_default();
        if mode != FailureMode::FailAfterRunning {
            return Err(EngineError::invalid(format!(
                "Cannot restart step [{step_id}] of the running workflow instance {identity}: its failure mode is [{}], and only FAIL_AFTER_RUNNING steps can be restarted while the run is active",
                mode.as_str()
            )));
        }
        Ok(node)
    }

    /// The new attempt of a restarted step, as the API shows it.
    pub(super) fn restarted_attempt(&self, node: usize) -> Result<StepInstance> {
        let slot = &self.steps[node];
        let mut si = slot
            .attempt
            .clone()
            .ok_or_else(|| EngineError::Internal("the restarted attempt vanished".into()))?;
        si.definition = self.wf.step(node).clone();
        si.params = slot.params.as_deref().cloned();
        Ok(si)
    }
}
