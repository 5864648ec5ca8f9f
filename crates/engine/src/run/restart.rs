//! The run actor's side of restarts (maestro-model.md §7.6–§7.7): a restarted run begins with
//! the steps its plan carries from earlier runs already finished, and a user may restart a
//! failed step of a run that is still active.
//!
//! Carried steps live in the actor like steps that completed in this run (their params feed
//! downstream evaluations, they release their successors), but they belong to their own run:
//! they are never written into this one. Steps the plan blocks are never created.

use std::sync::Arc;

use baton_model::definition::FailureMode;
use baton_model::instance::{ActionEvent, StepInstance, StepInstanceStatus as S, TimelineEvent};
use tokio::sync::oneshot;

use super::StepRestart;
use super::actor::{Effect, Local, RunActor};
use crate::clock::now_millis;
use crate::error::{EngineError, Result};
use crate::restart::RestartPlan;

impl RunActor {
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
