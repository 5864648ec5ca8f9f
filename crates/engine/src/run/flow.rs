//! Foreach, while and subworkflow steps in the run actor (maestro-model.md §6.4–§6.6).
//!
//! These are non-leaf steps: they go through the ordinary state machine up to STARTING, and
//! their "runtime" is the set of child runs they start — loop iterations (inline workflow
//! instances) or a subworkflow instance — each run by its own actor, exactly like a root run.
//! A child tells its parent when it has ended (after its terminal status is durable); the parent
//! folds the outcome into the step's artifact and decides what to launch next.
//!
//! Persist, then act: loop iterations are created by the parent's own turn write, together with
//! the artifact that records them (so the two can never disagree), and their actors start only
//! after that write. A subworkflow child is created through its workflow's run-strategy queue,
//! which makes it durable before the parent records it; its dedup uuid comes from the parent
//! step's attempt, so a relaunch after a crash finds the same child. After a restart a parent
//! rebuilds its loop from the artifact and reads the statuses of the children it had in flight.
//!
//! Only the in-flight window of a loop exists as rows and actors: iterations not yet launched
//! are a number (`next_loop_index`), ended ones are counts, a rollup and ranges of ids.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use baton_model::definition::StepKind;
use baton_model::instance::WorkflowInstance;
use baton_store::{WriteOp, WriteOutcome};

use super::actor::{Local, RunActor};
use super::foreach::ForeachState;
use super::subworkflow::SubworkflowState;
use super::while_loop::WhileState;
use super::{ChildEnded, RunMsg};
use crate::params::{EvalServices, Params};

/// The progress of one flow step (its latest attempt).
pub(super) enum FlowState {
    Foreach(Box<ForeachState>),
    While(Box<WhileState>),
    Subworkflow(Box<SubworkflowState>),
}

/// A child created by this turn's write; its actor starts once the write is durable.
pub(super) struct StagedChild {
    pub node: usize,
    pub instance: WorkflowInstance,
}

/// The flow state of a run actor.
#[derive(Default)]
pub(crate) struct FlowSteps {
    pub(super) states: HashMap<usize, FlowState>,
    /// Children to create in this turn's write (`ops[i]` creates `staged[i]`).
    pub(super) staged: Vec<StagedChild>,
    pub(super) staged_ops: Vec<WriteOp>,
    /// Steps whose artifact changed in this turn.
    pub(super) dirty: BTreeSet<usize>,
    /// Subworkflow steps whose RUNNING state must be durable before their child starts.
    pub(super) launch_after_write: Vec<usize>,
    /// This run's workflow params with their definitions, read once when a child needs them.
    pub(super) full_params: Option<Arc<Params>>,
    /// The services evaluations of this run use (`params.getFromForeach`, …).
    pub(super) services: OnceLock<Arc<dyn EvalServices>>,
    /// `instance_step_concurrency` of this run (a parent's overrides the definition's).
    pub(super) instance_step_concurrency: Option<i64>,
}

impl FlowSteps {
    pub(super) fn new(instance_step_concurrency: Option<i64>) -> Self {
        FlowSteps {
            instance_step_concurrency,
            ..FlowSteps::default()
        }
    }
}

impl RunActor {
    /// Foreach, while and subworkflow steps.
    pub(super) fn is_flow_step(&self, node: usize) -> bool {
        matches!(
            self.wf.step(node).kind,
            StepKind::Foreach(_) | StepKind::While(_) | StepKind::Subworkflow(_)
        )
    }

    /// STARTING of a flow step. True when the state machine should go on at once.
    pub(super) async fn start_flow_step(&mut self, node: usize) -> bool {
        match &self.wf.step(node).kind {
            StepKind::Foreach(_) => self.start_foreach(node).await,
            StepKind::While(_) => self.start_while(node).await,
            StepKind::Subworkflow(_) => self.start_subworkflow(node),
            _ => false,
        }
    }

    /// RUNNING of a flow step: launch what can be launched, finish when everything ended.
    /// True when the step moved on (to FINISHING) and the state machine should continue.
    pub(super) async fn run_flow_step(&mut self, node: usize) -> bool {
        match &self.wf.step(node).kind {
            StepKind::Foreach(_) => self.advance_foreach(node).await,
            StepKind::While(_) => self.advance_while(node).await,
            StepKind::Subworkflow(_) => self.advance_subworkflow(node).await,
            _ => false,
        }
    }

    /// Stops the children of a flow step that is being terminated, and waits for them.
    pub(super) async fn stop_flow_step(&mut self, node: usize) {
        self.unstage(node);
        match &self.wf.step(node).kind {
            StepKind::Foreach(_) => self.stop_foreach(node).await,
            StepKind::While(_) => self.stop_while(node).await,
            StepKind::Subworkflow(_) => self.stop_subworkflow(node).await,
            _ => {}
        }
        self.sync_artifacts();
    }

    /// A flow step that was STARTING or RUNNING when the engine stopped: its progress is
    /// rebuilt from the artifact when it is driven next.
    pub(super) fn resume_flow_step(&mut self, node: usize) {
        self.arm_flow_timeout(node);
        self.local.push_back(Local::Drive(node));
    }

    fn arm_flow_timeout(&mut self, node: usize) {
        let running = self.attempt(node).is_some_and(|si| {
            matches!(
                si.runtime_state.status,
                baton_model::instance::StepInstanceStatus::Running
                    | baton_model::instance::StepInstanceStatus::Starting
            )
        });
        if running {
            self.arm_step_timeout(node);
        }
    }

    /// A child run ended: fold it into its step.
    pub(super) async fn on_child_ended(&mut self, ended: ChildEnded) {
        let Some(node) = self.wf.dag.index_of(&ended.step_id) else {
            return;
        };
        let current = self
            .attempt(node)
            .map(|si| (si.step_attempt_id, si.runtime_state.status));
        if current
            != Some((
                ended.attempt_id,
                baton_model::instance::StepInstanceStatus::Running,
            ))
        {
            return;
        }
        let go_on = match &self.wf.step(node).kind {
            StepKind::Foreach(_) => self.foreach_child_ended(node, ended).await,
            StepKind::While(_) => self.while_child_ended(node, ended).await,
            StepKind::Subworkflow(_) => self.subworkflow_child_ended(node, ended).await,
            _ => false,
        };
        if go_on {
            self.drive(node).await;
        }
    }

    /// Before the turn's write: artifacts that changed go into their attempts, and the children
    /// created in this turn become ops of the same write.
    pub(super) fn flow_before_write(&mut self) -> Vec<WriteOp> {
        self.sync_artifacts();
        std::mem::take(&mut self.flow.staged_ops)
    }

    /// After the turn's write: start the actors of the children it created, and let subworkflow
    /// steps whose RUNNING state is now durable launch their child.
    pub(super) async fn flow_after_write(&mut self, outcomes: &[WriteOutcome]) {
        let staged = std::mem::take(&mut self.flow.staged);
        for (i, child) in staged.into_iter().enumerate() {
            match outcomes.get(i) {
                Some(WriteOutcome::Instance(baton_store::CreateInstanceOutcome::Created {
                    ..
                })) => {
                    if let Err(e) =
                        crate::run::spawn(&self.engine, child.instance, Vec::new()).await
                    {
                        tracing::error!(run = ?self.key, error = %e, "cannot start a child run");
                    }
                }
                _ => {
                    // The child existed already (a relaunch): find out where it is.
                    self.probe_child(child.node, &child.instance).await;
                }
            }
        }
        for node in std::mem::take(&mut self.flow.launch_after_write) {
            self.subworkflow_running_durable(node);
            self.local.push_back(Local::Drive(node));
        }
    }

    /// Drops the children a step staged in this turn (not durable yet), e.g. when the step is
    /// stopped in the same turn.
    fn unstage(&mut self, node: usize) {
        if !self.flow.staged.iter().any(|c| c.node == node) {
            return;
        }
        let staged = std::mem::take(&mut self.flow.staged);
        let ops = std::mem::take(&mut self.flow.staged_ops);
        let mut dropped = Vec::new();
        for (child, op) in staged.into_iter().zip(ops) {
            if child.node == node {
                dropped.push(child.instance.workflow_instance_id);
            } else {
                self.flow.staged.push(child);
                self.flow.staged_ops.push(op);
            }
        }
        match self.flow.states.get_mut(&node) {
            Some(FlowState::Foreach(st)) => st.unlaunch(&dropped),
            Some(FlowState::While(st)) => st.unlaunch(&dropped),
            _ => {}
        }
        self.flow.dirty.insert(node);
    }

    /// Writes each changed flow step's artifact into its attempt.
    fn sync_artifacts(&mut self) {
        let dirty = std::mem::take(&mut self.flow.dirty);
        for node in dirty {
            let artifact = match self.flow.states.get(&node) {
                Some(FlowState::Foreach(st)) => st.artifact(),
                Some(FlowState::While(st)) => st.artifact(),
                Some(FlowState::Subworkflow(st)) => match st.artifact() {
                    Some(a) => a,
                    None => continue,
                },
                None => continue,
            };
            let attempt_id = match self.flow.states.get(&node) {
                Some(FlowState::Foreach(st)) => st.attempt_id,
                Some(FlowState::While(st)) => st.attempt_id,
                Some(FlowState::Subworkflow(st)) => st.attempt_id,
                None => continue,
            };
            let key = artifact
                .artifact_type()
                .key()
                .unwrap_or("maestro_artifact")
                .to_string();
            if let Some(si) = self.attempt_mut(node)
                && si.step_attempt_id == attempt_id
            {
                si.artifacts
                    .get_or_insert_with(indexmap::IndexMap::new)
                    .insert(key, artifact);
                self.touch(node);
            }
        }
    }

    /// Tells the parent step, if any, that this run has ended. Called once the terminal status
    /// is durable. A parent that is not live (its engine restarted) reads its children's
    /// statuses when it resumes.
    pub(super) fn notify_parent(&self) {
        let Some(parent) = self.instance.initiator.parent() else {
            return;
        };
        if parent.is_async() {
            return;
        }
        let key = baton_store::RunKey {
            workflow_id: parent.workflow_id.clone(),
            instance_id: parent.instance_id,
            run_id: parent.run_id,
        };
        let tx = match self.engine.inner.runs.lock() {
            Ok(runs) => runs.get(&key).cloned(),
            Err(_) => None,
        };
        if let Some(tx) = tx {
            let _ = tx.send(RunMsg::ChildEnded(Box::new(ChildEnded {
                step_id: parent.step_id.clone(),
                attempt_id: parent.step_attempt_id,
                child: self.key.clone(),
                status: self.status,
                overview: self.instance.runtime_overview.clone(),
            })));
        }
    }

    /// The eval services of this run: the engine's, plus the lookups that need to know which
    /// run asks (`params.getFromForeach`, `params.getFromSubworkflow`).
    pub(super) fn run_services(&self) -> Arc<dyn EvalServices> {
        self.flow
            .services
            .get_or_init(|| {
                Arc::new(crate::services::RunServices::new(
                    self.engine.inner.services.clone(),
                    self.engine.inner.store.clone(),
                    self.key.clone(),
                ))
            })
            .clone()
    }
}
