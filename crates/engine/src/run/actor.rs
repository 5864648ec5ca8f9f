//! The run actor's state, its turn loop, and the durable write at the end of each turn.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use baton_model::instance::{
    StepInstance, Timeline, TimelineEvent, WorkflowInstance, WorkflowInstanceStatus,
};
use baton_store::{InstanceUpdate, RunKey, WriteOp, WriteOutcome};
use indexmap::IndexMap;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::{RunAction, RunMsg};
use crate::clock::now_millis;
use crate::compiled::CompiledWorkflow;
use crate::engine::{Engine, EngineEvent};
use crate::error::{EngineError, Result};
use crate::params::{Params, UpstreamStep};
use crate::persist;

/// One step of the run's DAG and its latest attempt.
#[derive(Default)]
pub(super) struct StepSlot {
    /// The latest attempt, once one was created.
    pub attempt: Option<StepInstance>,
    /// The attempt's evaluated params, shared with evaluations of downstream steps.
    pub params: Option<Arc<Params>>,
    /// The stored document of the latest attempt is out of date (or absent).
    pub doc_dirty: bool,
    /// The latest attempt has a row.
    pub persisted: bool,
    /// Changed in this turn: written at the end of the turn.
    pub touched: bool,
    /// The task running the attempt's runtime call.
    pub task: Option<AbortHandle>,
    /// The attempt's step-timeout timer.
    pub timeout_timer: Option<AbortHandle>,
    /// The retry backoff timer of a retryable failure.
    pub retry_timer: Option<AbortHandle>,
    /// Predecessors that completed (successfully) in this run.
    pub preds_done: usize,
    /// Some predecessor's condition towards this step was true.
    pub any_true: bool,
    /// Kept across attempts of this step in this run.
    pub step_instance_id: Option<i64>,
    /// The attempt the next one follows when `attempt` does not say: the latest attempt of an
    /// earlier run (restarts), or a flow step's replaced attempt (its children restart from it).
    pub prior: Option<StepInstance>,
    /// Kept from an earlier run (a restart): finished, never written into this run.
    pub carried: bool,
    /// A restart does not create this step (Maestro's NOT_CREATED placeholder).
    pub blocked: bool,
    /// Created by a restart whatever its predecessors did (RESTART_FROM_SPECIFIC).
    pub forced: bool,
    /// Ends SKIPPED without running when created (a skip done as a restart).
    pub skip: bool,
}

/// Work queued by a turn's effects for the next turn.
pub(super) enum Local {
    /// A step completed durably: count it towards its successors and create those now ready.
    Release(usize),
    /// Continue a step's state machine (after a restart of the engine).
    Drive(usize),
}

/// What a turn does after its write is durable.
pub(super) enum Effect {
    /// Call `start()` of a runtime with side effects, in a task.
    LaunchStart(usize),
    /// Release a completed step's successors (next turn).
    Release(usize),
    /// Answer an action.
    Reply(oneshot::Sender<Result<()>>),
    /// Answer an in-run step restart with the new attempt.
    ReplyRestart(oneshot::Sender<Result<StepInstance>>, usize),
}

/// Why the run is being terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Termination {
    Stop,
    Kill,
    Timeout,
}

pub(crate) struct RunActor {
    pub(super) engine: Engine,
    pub(super) key: RunKey,
    /// The run's instance without its definition (held once in `wf`).
    pub(super) instance: WorkflowInstance,
    pub(super) wf: Arc<CompiledWorkflow>,
    pub(super) workflow_params: Arc<Params>,
    /// Evaluated params and statuses of steps, for downstream evaluation.
    pub(super) upstream: Arc<IndexMap<String, UpstreamStep>>,
    pub(super) steps: Vec<StepSlot>,
    pub(super) rx: mpsc::UnboundedReceiver<RunMsg>,
    pub(super) tx: mpsc::UnboundedSender<RunMsg>,
    pub(super) local: VecDeque<Local>,
    pub(super) effects: Vec<Effect>,
    pub(super) run_update: Option<InstanceUpdate>,
    /// Other rows this turn writes (paused-attempt records).
    pub(super) extra_ops: Vec<WriteOp>,
    pub(super) next_step_instance_id: i64,
    pub(super) status: WorkflowInstanceStatus,
    pub(super) terminating: Option<Termination>,
    pub(super) timeline: Timeline,
    pub(super) run_timer: Option<AbortHandle>,
    pub(super) ended: bool,
    pub(super) stopping: bool,
    /// Foreach, while and subworkflow steps: their children and progress.
    pub(super) flow: super::flow::FlowSteps,
    /// The run's ownership group (its root workflow's): every write is fenced with it in
    /// cluster mode.
    pub(super) group: i64,
}

impl RunActor {
    pub(super) fn spawn(
        engine: &Engine,
        mut instance: WorkflowInstance,
        attempts: Vec<StepInstance>,
        earlier: Option<crate::restart::Earlier>,
    ) -> Result<()> {
        let runtime_workflow = std::mem::take(&mut instance.runtime_workflow);
        // The run's own definition may differ from the cached one in what a parent passed down.
        let flow = super::flow::FlowSteps::new(runtime_workflow.instance_step_concurrency);
        let wf = engine.inner.compiled.get_or_compile(
            &instance.workflow_id,
            instance.workflow_version_id,
            || Ok(runtime_workflow),
        )?;
        instance.runtime_dag = IndexMap::new();
        let key = RunKey {
            workflow_id: instance.workflow_id.clone(),
            instance_id: instance.workflow_instance_id,
            run_id: instance.workflow_run_id,
        };
        let group = engine.inner.ownership.group_of(&instance);
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut runs = engine
                .inner
                .runs
                .lock()
                .map_err(|_| EngineError::Internal("run registry poisoned".into()))?;
            if runs.contains_key(&key) {
                return Err(EngineError::Internal(format!(
                    "run {key:?} already has an actor"
                )));
            }
            runs.insert(key.clone(), tx.clone());
            engine.inner.ownership.track_run(&key, group);
        }
        // Held once, shared with evaluations; the instance keeps no copy. Evaluation only reads
        // results, types and modes, so the definition text (expressions, literals) is dropped:
        // the stored document keeps it.
        let workflow_params = Arc::new(slim(instance.params.take().unwrap_or_default()));
        let steps = (0..wf.len()).map(|_| StepSlot::default()).collect();
        let plan = match earlier {
            Some(e) => match crate::restart::plan_for(&instance, &wf, e) {
                Ok(p) => Some(p),
                Err(message) => {
                    // Checked before the run was created; a stored run that no longer fits
                    // its definition runs as a fresh run rather than not at all.
                    tracing::error!(workflow_id = %instance.workflow_id, error = %message, "restart plan failed; running every step");
                    None
                }
            },
            None => None,
        };
        let mut actor = RunActor {
            engine: engine.clone(),
            key,
            status: instance.status,
            timeline: instance.timeline.clone().unwrap_or_default(),
            instance,
            wf,
            workflow_params,
            upstream: Arc::new(IndexMap::new()),
            steps,
            rx,
            tx,
            local: VecDeque::new(),
            effects: Vec::new(),
            run_update: None,
            extra_ops: Vec::new(),
            next_step_instance_id: 1,
            terminating: None,
            run_timer: None,
            ended: false,
            stopping: false,
            flow,
            group,
        };
        if let Some(plan) = plan {
            actor.apply_plan(plan);
        }
        tokio::spawn(actor.run(attempts));
        Ok(())
    }

    async fn run(mut self, attempts: Vec<StepInstance>) {
        // The nested futures of a turn are boxed: a parked run then holds only its state and a
        // pointer, not the largest future it could ever await (memory per parked run).
        if attempts.is_empty() && self.status == WorkflowInstanceStatus::Created {
            Box::pin(self.begin()).await;
        } else {
            self.resume(attempts);
            Box::pin(self.resume_unpaused()).await;
        }
        self.arm_run_timeout();
        Box::pin(self.end_turn()).await;
        while !self.ended && !self.stopping {
            if self.local.is_empty() {
                match self.rx.recv().await {
                    Some(msg) => Box::pin(self.handle(msg)).await,
                    None => break,
                }
            }
            Box::pin(self.turn()).await;
        }
        self.abort_tasks();
        if let Ok(mut runs) = self.engine.inner.runs.lock() {
            runs.remove(&self.key);
            self.engine.inner.ownership.untrack_run(&self.key);
        }
        self.engine
            .inner
            .signals
            .unsubscribe_all(&crate::signals::hub::SubscriberKey::Run(self.key.clone()));
        if self.ended {
            self.notify_parent();
        }
        if self.ended
            && !self.instance.is_inline()
            && let Err(e) = Box::pin(
                self.engine
                    .inner
                    .queues
                    .run_ended(&self.engine, &self.key.workflow_id),
            )
            .await
        {
            tracing::error!(workflow_id = %self.key.workflow_id, error = %e, "cannot start queued runs");
        }
    }

    /// A fresh run: IN_PROGRESS, then its root steps.
    async fn begin(&mut self) {
        let now = now_millis();
        self.status = WorkflowInstanceStatus::InProgress;
        self.instance.start_time = Some(now);
        self.timeline.add(TimelineEvent::info(
            now,
            "Workflow instance status is updated to [IN_PROGRESS]",
        ));
        self.update_run(|u| {
            u.status = Some(WorkflowInstanceStatus::InProgress.as_str().to_string());
            u.start_ts = Some(now);
        });
        for node in self.wf.dag.roots() {
            if self.steps[node].attempt.is_none() && !self.steps[node].blocked {
                self.create_attempt(node);
                self.drive(node).await;
            }
        }
        self.begin_restart().await;
    }

    /// Rebuilds the run from its stored attempts after a restart of the engine.
    fn resume(&mut self, attempts: Vec<StepInstance>) {
        if self.status == WorkflowInstanceStatus::Created {
            // Dequeued but never began: begin now (roots are created by `Drive` of each).
            let now = now_millis();
            self.status = WorkflowInstanceStatus::InProgress;
            self.instance.start_time = Some(now);
            self.update_run(|u| {
                u.status = Some(WorkflowInstanceStatus::InProgress.as_str().to_string());
                u.start_ts = Some(now);
            });
        }
        let mut latest: IndexMap<String, StepInstance> = IndexMap::new();
        for si in attempts {
            self.next_step_instance_id = self.next_step_instance_id.max(si.step_instance_id + 1);
            match latest.get(&si.step_id) {
                Some(prev) if prev.step_attempt_id >= si.step_attempt_id => {}
                _ => {
                    latest.insert(si.step_id.clone(), si);
                }
            }
        }
        for (step_id, si) in latest {
            if let Some(node) = self.wf.dag.index_of(&step_id) {
                self.resume_step(node, si);
            }
        }
        for node in self.wf.dag.roots() {
            if self.steps[node].attempt.is_none() && !self.steps[node].blocked {
                self.create_attempt(node);
                self.local.push_back(Local::Drive(node));
            }
        }
        self.resume_restart();
    }

    /// The rest of a turn after its first message: queued follow-ups, every waiting message,
    /// then the durable write and the effects.
    async fn turn(&mut self) {
        while let Some(item) = self.local.pop_front() {
            match item {
                Local::Release(node) => self.release(node).await,
                Local::Drive(node) => self.drive(node).await,
            }
        }
        while let Ok(msg) = self.rx.try_recv() {
            self.handle(msg).await;
        }
        self.end_turn().await;
    }

    async fn handle(&mut self, msg: RunMsg) {
        match msg {
            RunMsg::Runtime {
                node,
                attempt_id,
                phase,
                result,
            } => {
                self.on_runtime_result(node, attempt_id, phase, *result)
                    .await
            }
            RunMsg::RetryDue { node, attempt_id } => self.on_retry_due(node, attempt_id).await,
            RunMsg::StepTimeout { node, attempt_id } => {
                self.on_step_timeout(node, attempt_id).await
            }
            RunMsg::RunTimeout => self.terminate_run(Termination::Timeout, None, None).await,
            RunMsg::Action {
                action,
                user,
                reason,
                reply,
            } => {
                if self.ended {
                    let _ = reply.send(Err(EngineError::Conflict(format!(
                        "workflow instance run {} is already terminal",
                        self.instance.identity()
                    ))));
                    return;
                }
                let kind = match action {
                    RunAction::Stop => Termination::Stop,
                    RunAction::Kill => Termination::Kill,
                };
                self.terminate_run(kind, user, reason).await;
                self.effects.push(Effect::Reply(reply));
            }
            RunMsg::ChildEnded(ended) => self.on_child_ended(*ended).await,
            RunMsg::PermitGranted { node, attempt_id } => {
                self.on_permit_granted(node, attempt_id).await
            }
            RunMsg::Shutdown => self.stopping = true,
            RunMsg::Signal { instance, delivery } => self.on_signal(instance, delivery).await,
            RunMsg::BypassSignals {
                step_id,
                user,
                reply,
            } => self.on_bypass(step_id, user, reply).await,
            RunMsg::StepAction {
                step_id,
                action,
                user,
                reason,
                reply,
            } => {
                self.on_step_action(step_id, action, user, reason, reply)
                    .await
            }
            RunMsg::Resume {
                step_id,
                attempt_id,
                user,
            } => self.on_resume(&step_id, attempt_id, user).await,
            RunMsg::RecheckSignals { node, attempt_id } => {
                self.on_recheck_signals(node, attempt_id).await
            }
            RunMsg::RestartStep { request, reply } => self.on_restart_step(request, reply).await,
        }
    }

    /// Records a change of the run's own row for this turn's write.
    pub(super) fn update_run(&mut self, f: impl FnOnce(&mut InstanceUpdate)) {
        let key = self.key.clone();
        let update = self.run_update.get_or_insert_with(|| InstanceUpdate {
            key,
            ..InstanceUpdate::default()
        });
        f(update);
    }

    /// Marks a step as changed in this turn.
    pub(super) fn touch(&mut self, node: usize) {
        self.steps[node].touched = true;
    }

    /// The end of a turn: decide whether the run is over, write everything durably, then
    /// perform the effects.
    async fn end_turn(&mut self) {
        let flow_ops = self.flow_before_write();
        self.maybe_finish_run();
        let mut ops = Vec::new();
        let mut events = Vec::new();
        for node in 0..self.steps.len() {
            if !self.steps[node].touched {
                continue;
            }
            let slot = &mut self.steps[node];
            slot.touched = false;
            if slot.carried {
                continue;
            }
            let Some(si) = &slot.attempt else { continue };
            let with_doc = slot.doc_dirty || !slot.persisted;
            let doc = with_doc.then(|| (self.wf.step(node), slot.params.as_deref()));
            match persist::step_write(si, doc) {
                Ok(w) => ops.push(WriteOp::UpsertStepAttempt(w)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialize step attempt");
                    continue;
                }
            }
            slot.doc_dirty = false;
            slot.persisted = true;
            events.push(EngineEvent::Step {
                run: self.key.clone(),
                step_id: si.step_id.clone(),
                attempt_id: si.step_attempt_id,
                status: si.runtime_state.status,
            });
        }
        if let Some(mut update) = self.run_update.take() {
            update.modify_ts = now_millis();
            if update.status.is_some() {
                events.push(EngineEvent::Run {
                    run: self.key.clone(),
                    status: self.status,
                });
            }
            ops.push(WriteOp::UpdateInstance(update));
        }
        ops.append(&mut self.extra_ops);
        let flow_first = ops.len();
        ops.extend(flow_ops);
        let outcomes = if ops.is_empty() {
            Vec::new()
        } else {
            match self.write_durably(ops).await {
                Some(outcomes) => outcomes,
                None => {
                    // The store refuses our writes: stop acting on this run. It resumes from
                    // the store when an engine starts again.
                    self.stopping = true;
                    return;
                }
            }
        };
        for event in events {
            self.engine.publish(event);
        }
        let effects = std::mem::take(&mut self.effects);
        for effect in effects {
            match effect {
                Effect::LaunchStart(node) => self.launch_start(node),
                Effect::Release(node) => self.local.push_back(Local::Release(node)),
                Effect::Reply(reply) => {
                    let _ = reply.send(Ok(()));
                }
                Effect::ReplyRestart(reply, node) => {
                    let _ = reply.send(self.restarted_attempt(node));
                }
            }
        }
        self.flow_after_write(outcomes.get(flow_first..).unwrap_or_default())
            .await;
    }

    /// Writes a turn, retrying transient failures with backoff. `None` when the store keeps
    /// failing.
    ///
    /// In cluster mode the batch starts with the group's fence: when this node no longer holds
    /// the group (or the store says another node claimed it), nothing is written and `None`
    /// parks the run at once — the group's new owner resumes it from the store.
    async fn write_durably(&self, mut ops: Vec<WriteOp>) -> Option<Vec<WriteOutcome>> {
        let mut delay = Duration::from_millis(50);
        let fenced = match self.engine.inner.ownership.fence(self.group) {
            Ok(Some(fence)) => {
                ops.insert(0, fence);
                true
            }
            Ok(None) => false,
            Err(()) => {
                tracing::info!(run = ?self.key, group = self.group, "group no longer held here: parking the run");
                return None;
            }
        };
        for attempt in 0..12 {
            match self.engine.inner.store.write(ops.clone()).await {
                Ok(mut outcomes) => {
                    if fenced && !outcomes.is_empty() {
                        outcomes.remove(0);
                    }
                    return Some(outcomes);
                }
                Err(baton_store::StoreError::Fenced(m)) => {
                    tracing::warn!(run = ?self.key, group = self.group, reason = %m, "write fenced out: another node owns the group now");
                    return None;
                }
                Err(e) => {
                    tracing::warn!(run = ?self.key, attempt, error = %e, "run write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::error!(run = ?self.key, "run write keeps failing; the run is parked until restart");
        None
    }

    fn arm_run_timeout(&mut self) {
        if self.ended || self.instance.is_inline() {
            return;
        }
        let timeout = self
            .instance
            .timeout_in_millis
            .unwrap_or(crate::start::DEFAULT_TIMEOUT_MILLIS);
        let start = self.instance.start_time.unwrap_or_else(now_millis);
        let due = start.saturating_add(timeout);
        let tx = self.tx.clone();
        let handle = tokio::spawn(async move {
            sleep_until_millis(due).await;
            let _ = tx.send(RunMsg::RunTimeout);
        });
        self.run_timer = Some(handle.abort_handle());
    }

    fn abort_tasks(&mut self) {
        for slot in &mut self.steps {
            for h in [
                slot.task.take(),
                slot.timeout_timer.take(),
                slot.retry_timer.take(),
            ]
            .into_iter()
            .flatten()
            {
                h.abort();
            }
        }
        if let Some(h) = self.run_timer.take() {
            h.abort();
        }
    }
}

/// Params reduced to what evaluation reads: type, mode, result. (The meta map alone — a
/// `source` entry per param — was a fifth of a parked run's memory.)
fn slim(mut params: Params) -> Params {
    for p in params.values_mut() {
        p.definition.expression = None;
        p.definition.value = None;
        p.definition.validator = None;
        p.definition.tags = None;
        p.definition.meta = Default::default();
    }
    params.shrink_to_fit();
    params
}

/// Sleeps until an epoch-millisecond time (at once if it is past).
pub(super) async fn sleep_until_millis(due: i64) {
    let now = now_millis();
    if due > now {
        tokio::time::sleep(Duration::from_millis((due - now) as u64)).await;
    }
}
