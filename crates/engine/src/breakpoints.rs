//! Step breakpoints (maestro-model.md §7.9, maestro-api.md §1.11). A breakpoint on
//! (workflow, step) — 0 in version/instance/run/attempt matching all — holds every attempt of
//! that step that reaches INITIALIZED: the attempt goes PAUSED and a paused-attempt row is
//! written in the same turn; it goes on (WAITING_FOR_SIGNALS) once that row is removed, by a
//! resume of the attempt or by deleting the breakpoint with `resume`. Steps inside foreach and
//! while bodies match breakpoints set on the workflow that defines the loop.
//!
//! The store holds breakpoints and paused attempts; the engine keeps the breakpoints in memory
//! too (loaded at start, changed only through this module), so an actor checks an attempt
//! without a store read and a workflow without breakpoints pays one map lookup.

use std::collections::HashMap;
use std::sync::RwLock;

use baton_model::definition::User;
use baton_model::instance::{Initiator, WorkflowInstance, is_inline_workflow_id};
use baton_store::{BreakpointRow, PausedAttemptRow, RunKey, StepAttemptKey, WriteOp, WriteOutcome};
use serde::Serialize;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::run::RunMsg;

/// Breakpoints by (workflow id, step id), as stored.
#[derive(Default)]
pub(crate) struct BreakpointCache {
    by_step: RwLock<HashMap<(String, String), Vec<BreakpointRow>>>,
}

impl BreakpointCache {
    fn replace(&self, rows: Vec<BreakpointRow>) {
        if let Ok(mut map) = self.by_step.write() {
            map.clear();
            for b in rows {
                map.entry((b.workflow_id.clone(), b.step_id.clone()))
                    .or_default()
                    .push(b);
            }
        }
    }

    fn put(&self, b: BreakpointRow) {
        if let Ok(mut map) = self.by_step.write() {
            let list = map
                .entry((b.workflow_id.clone(), b.step_id.clone()))
                .or_default();
            list.retain(|x| {
                (x.version, x.instance_id, x.run_id, x.attempt_id)
                    != (b.version, b.instance_id, b.run_id, b.attempt_id)
            });
            list.push(b);
        }
    }

    fn remove(&self, workflow_id: &str, step_id: &str) {
        if let Ok(mut map) = self.by_step.write() {
            map.remove(&(workflow_id.to_string(), step_id.to_string()));
        }
    }

    /// Forgets every breakpoint of a workflow (it was deleted).
    pub(crate) fn forget_workflow(&self, workflow_id: &str) {
        if let Ok(mut map) = self.by_step.write() {
            map.retain(|(w, _), _| w != workflow_id);
        }
    }

    /// True when a breakpoint of `breakpoint_workflow` matches this attempt (prefix matching:
    /// 0 matches all).
    pub(crate) fn matches(
        &self,
        breakpoint_workflow: &str,
        step_id: &str,
        version: i64,
        run: &RunKey,
        attempt_id: i64,
    ) -> bool {
        let Ok(map) = self.by_step.read() else {
            return false;
        };
        if map.is_empty() {
            return false;
        }
        let Some(list) = map.get(&(breakpoint_workflow.to_string(), step_id.to_string())) else {
            return false;
        };
        let any = |want: i64, have: i64| want == 0 || want == have;
        list.iter().any(|b| {
            any(b.version, version)
                && any(b.instance_id, run.instance_id)
                && any(b.run_id, run.run_id)
                && any(b.attempt_id, attempt_id)
        })
    }
}

/// The workflow whose breakpoints apply to a run: its own, or for a foreach/while iteration
/// the closest ancestor that is not an iteration (the workflow defining the loop).
pub(crate) fn breakpoint_workflow_id(instance: &WorkflowInstance) -> String {
    if !is_inline_workflow_id(&instance.workflow_id) {
        return instance.workflow_id.clone();
    }
    let upstream = match &instance.initiator {
        Initiator::Foreach(u) | Initiator::While(u) | Initiator::Subworkflow(u) => Some(u),
        _ => None,
    };
    upstream
        .and_then(|u| {
            u.ancestors
                .iter()
                .rev()
                .find(|a| !is_inline_workflow_id(&a.workflow_id))
                .map(|a| a.workflow_id.clone())
        })
        .unwrap_or_else(|| instance.workflow_id.clone())
}

/// Maestro's `StepBreakpoint` JSON (match-all ids omitted).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepBreakpoint {
    pub workflow_id: String,
    pub step_id: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub workflow_version_id: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub workflow_instance_id: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub workflow_run_id: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub step_attempt_id: i64,
    pub create_time: i64,
    pub created_by: serde_json::Value,
}

/// Maestro's `PausedStepAttempt` JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PausedStepAttempt {
    pub workflow_id: String,
    pub workflow_version_id: i64,
    pub workflow_instance_id: i64,
    pub workflow_run_id: i64,
    pub step_id: String,
    pub step_attempt_id: i64,
    pub create_time: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn breakpoint_view(b: BreakpointRow) -> StepBreakpoint {
    StepBreakpoint {
        created_by: serde_json::from_str(&b.created_by).unwrap_or(serde_json::Value::Null),
        workflow_id: b.workflow_id,
        step_id: b.step_id,
        workflow_version_id: b.version,
        workflow_instance_id: b.instance_id,
        workflow_run_id: b.run_id,
        step_attempt_id: b.attempt_id,
        create_time: b.create_ts,
    }
}

fn paused_view(p: PausedAttemptRow) -> PausedStepAttempt {
    PausedStepAttempt {
        workflow_id: p.key.run.workflow_id,
        workflow_version_id: p.version,
        workflow_instance_id: p.key.run.instance_id,
        workflow_run_id: p.key.run.run_id,
        step_id: p.key.step_id,
        step_attempt_id: p.key.attempt_id,
        create_time: p.create_ts,
    }
}

impl Engine {
    /// Loads the stored breakpoints (engine start).
    pub(crate) async fn load_breakpoints(&self) -> Result<()> {
        let rows = self.inner.store.list_breakpoints(None, None).await?;
        self.inner.breakpoints.replace(rows);
        Ok(())
    }

    /// Adds a breakpoint on a step of a workflow (every version, instance, run and attempt, the
    /// only granularity Maestro's API offers). The step may be at any level, loop bodies
    /// included.
    pub async fn add_breakpoint(
        &self,
        workflow_id: &str,
        step_id: &str,
        user: User,
    ) -> Result<StepBreakpoint> {
        if is_inline_workflow_id(workflow_id) {
            return Err(EngineError::invalid(format!(
                "Cannot set a breakpoint on the inline workflow [{workflow_id}]: set it on the workflow that defines the loop"
            )));
        }
        let wf = self.workflow_row(workflow_id).await?;
        // Cluster mode: the owner of the workflow's group runs its steps and keeps the cache.
        self.require_owner(self.group_of_workflow(workflow_id))
            .await?;
        let version = self.version_row(workflow_id, wf.latest_version_id).await?;
        let definition: baton_model::definition::Workflow =
            serde_json::from_str(&version.definition)
                .map_err(|e| EngineError::Internal(format!("stored definition: {e}")))?;
        if !has_step(&definition.steps, step_id) {
            return Err(EngineError::NotFound(format!(
                "Cannot find step [{step_id}] in the latest version of workflow [{workflow_id}]"
            )));
        }
        let row = BreakpointRow {
            workflow_id: workflow_id.to_string(),
            step_id: step_id.to_string(),
            version: 0,
            instance_id: 0,
            run_id: 0,
            attempt_id: 0,
            created_by: serde_json::to_string(&user)
                .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?,
            create_ts: now_millis(),
        };
        self.inner
            .store
            .write(vec![WriteOp::PutBreakpoint(row.clone())])
            .await?;
        self.inner.breakpoints.put(row.clone());
        Ok(breakpoint_view(row))
    }

    /// Breakpoints of a workflow's step.
    pub async fn list_breakpoints(
        &self,
        workflow_id: &str,
        step_id: &str,
    ) -> Result<Vec<StepBreakpoint>> {
        Ok(self
            .inner
            .store
            .list_breakpoints(Some(workflow_id), Some(step_id))
            .await?
            .into_iter()
            .map(breakpoint_view)
            .collect())
    }

    /// Attempts paused at a breakpoint of a workflow's step (`None`s: all).
    pub async fn list_paused_attempts(
        &self,
        workflow_id: Option<&str>,
        step_id: Option<&str>,
    ) -> Result<Vec<PausedStepAttempt>> {
        Ok(self
            .inner
            .store
            .list_paused_attempts(workflow_id, step_id)
            .await?
            .into_iter()
            .map(paused_view)
            .collect())
    }

    /// Removes the breakpoints of a step; with `resume` every attempt paused at them goes on.
    /// Returns (breakpoints removed, attempts resumed).
    pub async fn delete_breakpoint(
        &self,
        workflow_id: &str,
        step_id: &str,
        resume: bool,
        user: User,
    ) -> Result<(u64, usize)> {
        self.require_owner(self.group_of_workflow(workflow_id))
            .await?;
        let paused = if resume {
            self.inner
                .store
                .list_paused_attempts(Some(workflow_id), Some(step_id))
                .await?
        } else {
            Vec::new()
        };
        let outcome = self
            .inner
            .store
            .write(vec![WriteOp::DeleteBreakpoints {
                workflow_id: workflow_id.to_string(),
                step_id: step_id.to_string(),
                resume,
            }])
            .await?;
        self.inner.breakpoints.remove(workflow_id, step_id);
        let removed = match outcome.first() {
            Some(WriteOutcome::Count(n)) => *n,
            _ => 0,
        };
        let resumed = paused.len();
        for p in paused {
            self.notify_resumed(&p.key, &user);
        }
        Ok((removed, resumed))
    }

    /// Resumes one paused attempt (`run_id` `None` = the latest run). 404 when that attempt is
    /// not paused.
    pub async fn resume_paused_attempt(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
        step_id: &str,
        attempt_id: i64,
        user: User,
    ) -> Result<RunKey> {
        let run_id = match run_id {
            Some(r) => r,
            None => {
                self.get_instance_run(workflow_id, instance_id, None)
                    .await?
                    .workflow_run_id
            }
        };
        let key = StepAttemptKey {
            run: RunKey {
                workflow_id: workflow_id.to_string(),
                instance_id,
                run_id,
            },
            step_id: step_id.to_string(),
            attempt_id,
        };
        self.require_run_owner(&key.run).await?;
        let outcome = self
            .inner
            .store
            .write(vec![WriteOp::DeletePausedAttempt(key.clone())])
            .await?;
        if !matches!(outcome.first(), Some(WriteOutcome::Count(n)) if *n > 0) {
            return Err(EngineError::NotFound(format!(
                "Cannot find a paused step attempt [{workflow_id}][{instance_id}][{run_id}][{step_id}][{attempt_id}]"
            )));
        }
        self.notify_resumed(&key, &user);
        Ok(key.run)
    }

    /// Tells a live run that its paused attempt's row is gone. A run not live here notices at
    /// its recovery.
    fn notify_resumed(&self, key: &StepAttemptKey, user: &User) {
        if let Ok(tx) = self.run_sender(&key.run) {
            let _ = tx.send(RunMsg::Resume {
                step_id: key.step_id.clone(),
                attempt_id: key.attempt_id,
                user: Some(user.clone()),
            });
        }
    }
}

/// True when `id` names a step at any level (loop bodies included).
fn has_step(steps: &[baton_model::definition::Step], id: &str) -> bool {
    use baton_model::definition::StepKind;
    steps.iter().any(|s| {
        s.id == id
            || match &s.kind {
                StepKind::Foreach(f) => has_step(&f.steps, id),
                StepKind::While(w) => has_step(&w.steps, id),
                _ => false,
            }
    })
}
