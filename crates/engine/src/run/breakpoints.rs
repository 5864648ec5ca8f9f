//! The run actor's side of breakpoints (`crate::breakpoints`): an attempt reaching
//! INITIALIZED that a breakpoint matches goes PAUSED with its paused-attempt row written in the
//! same turn; a `Resume` (its row was removed) moves it on to WAITING_FOR_SIGNALS; leaving
//! PAUSED any other way (stop, kill, skip) removes the row (`set_status`). After an engine
//! restart a PAUSED attempt whose row is gone was resumed meanwhile and goes on.

use std::collections::HashSet;

use baton_model::definition::User;
use baton_model::instance::{ActionEvent, StepInstanceStatus as S, TimelineEvent};
use baton_store::{PausedAttemptRow, StepAttemptKey, WriteOp};

use super::actor::RunActor;
use crate::clock::now_millis;

impl RunActor {
    pub(super) fn attempt_key(&self, node: usize) -> StepAttemptKey {
        StepAttemptKey {
            run: self.key.clone(),
            step_id: self.wf.dag.id(node).to_string(),
            attempt_id: self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(0),
        }
    }

    pub(super) fn hits_breakpoint(&self, node: usize) -> bool {
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(0);
        let on = crate::breakpoints::breakpoint_workflow_id(&self.instance);
        self.engine.inner.breakpoints.matches(
            &on,
            self.wf.dag.id(node),
            self.instance.workflow_version_id,
            &self.key,
            attempt_id,
        )
    }

    pub(super) fn pause(&mut self, node: usize) {
        let now = now_millis();
        self.set_status(node, S::Paused);
        self.add_timeline(
            node,
            TimelineEvent::info(now, "Step attempt is paused at a breakpoint"),
        );
        self.steps[node].doc_dirty = true;
        self.extra_ops
            .push(WriteOp::AddPausedAttempt(PausedAttemptRow {
                key: self.attempt_key(node),
                breakpoint_workflow_id: crate::breakpoints::breakpoint_workflow_id(&self.instance),
                version: self.instance.workflow_version_id,
                create_ts: now,
            }));
    }

    pub(super) async fn on_resume(&mut self, step_id: &str, attempt_id: i64, user: Option<User>) {
        let Some(node) = self.wf.dag.index_of(step_id) else {
            return;
        };
        let current = self
            .attempt(node)
            .map(|si| (si.step_attempt_id, si.runtime_state.status));
        if current != Some((attempt_id, S::Paused)) || self.terminating.is_some() {
            return;
        }
        let now = now_millis();
        let who = user
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "unknown".into());
        self.add_timeline(
            node,
            TimelineEvent::Action(ActionEvent {
                timestamp: now,
                action: Some("RESUME".into()),
                author: user,
                message: Some(format!(
                    "Step attempt is resumed from its breakpoint by user [{who}]"
                )),
                reason: None,
                info: None,
            }),
        );
        self.steps[node].doc_dirty = true;
        self.set_status(node, S::WaitingForSignals);
        self.drive(node).await;
    }

    /// After an engine restart: PAUSED attempts whose row was removed meanwhile go on.
    pub(super) async fn resume_unpaused(&mut self) {
        let paused: Vec<usize> = (0..self.steps.len())
            .filter(|n| self.attempt(*n).map(|si| si.runtime_state.status) == Some(S::Paused))
            .collect();
        if paused.is_empty() {
            return;
        }
        let rows = match self
            .engine
            .inner
            .store
            .list_paused_attempts_of_run(&self.key)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                // Kept paused: a resume sent later still reaches the actor.
                tracing::warn!(run = ?self.key, error = %e, "cannot read paused attempts");
                return;
            }
        };
        let held: HashSet<(String, i64)> = rows
            .into_iter()
            .map(|r| (r.key.step_id, r.key.attempt_id))
            .collect();
        for node in paused {
            let key = self.attempt_key(node);
            if !held.contains(&(key.step_id.clone(), key.attempt_id)) {
                self.on_resume(&key.step_id, key.attempt_id, None).await;
            }
        }
    }
}
