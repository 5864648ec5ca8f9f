//! The step state machine (maestro-model.md §5.5–§5.6, §6.2, §7.1–§7.3) as the run actor drives
//! it: creation, satisfaction, initialization, param evaluation, start, execution, outputs,
//! retries with backoff, failure modes, timeouts and termination.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use baton_model::definition::{FailureMode, RetryPolicy};
use baton_model::instance::{
    Artifact, DetailsEvent, ErrorCode, LogLevel, RuntimeState, StepInstance,
    StepInstanceStatus as S, StepInstanceTransition, StepRetry, StepRuntimeState, Timeline,
    TimelineEvent,
};
use baton_model::params::{EvaluatedValue, ParamDefinition, ParamType, ParamValue, Parameter};
use indexmap::IndexMap;

use super::actor::{Effect, Local, RunActor, Termination, sleep_until_millis};
use super::{Phase, RunMsg};
use crate::clock::now_millis;
use crate::params::{self, EvalScope, StepFacts, UpstreamStep};
use crate::runtime::{RuntimeResult, StepContext, StepRuntime};

/// Ten days, Maestro's default step timeout.
const DEFAULT_STEP_TIMEOUT_MILLIS: i64 = 10 * 24 * 3600 * 1000;

type RuntimeFuture = Pin<Box<dyn Future<Output = RuntimeResult> + Send>>;

/// Polls a future once without a real waker: a runtime call that is ready at once (NoOp) is
/// handled in the same turn; one that is not is moved to a task, which polls it again with its
/// own waker.
fn poll_once(fut: &mut RuntimeFuture) -> Poll<RuntimeResult> {
    let mut cx = Context::from_waker(Waker::noop());
    fut.as_mut().poll(&mut cx)
}

impl RunActor {
    pub(super) fn attempt(&self, node: usize) -> Option<&StepInstance> {
        self.steps[node].attempt.as_ref()
    }

    pub(super) fn attempt_mut(&mut self, node: usize) -> Option<&mut StepInstance> {
        self.steps[node].attempt.as_mut()
    }

    /// Creates the next attempt of a step in CREATED. Retry counters carry over from the
    /// previous attempt, counting the retry by the status it ended with.
    pub(super) fn create_attempt(&mut self, node: usize) {
        let now = now_millis();
        let step = self.wf.step(node).clone();
        let slot = &mut self.steps[node];
        let step_instance_id = match slot.step_instance_id {
            Some(id) => id,
            None => {
                let id = self.next_step_instance_id;
                self.next_step_instance_id += 1;
                slot.step_instance_id = Some(id);
                id
            }
        };
        let (attempt_id, step_retry) = match slot.attempt.as_ref().or(slot.prior.as_ref()) {
            Some(prev) => {
                let mut retry = prev.step_retry.clone();
                if let Some(r) = &mut retry {
                    let _ = r.increment_by_status(prev.runtime_state.status);
                }
                (prev.step_attempt_id + 1, retry)
            }
            None => (1, None),
        };
        let transition = StepInstanceTransition::from_step(&step);
        let si = StepInstance {
            workflow_id: self.instance.workflow_id.clone(),
            workflow_instance_id: self.instance.workflow_instance_id,
            workflow_run_id: self.instance.workflow_run_id,
            step_id: step.id.clone(),
            step_attempt_id: attempt_id,
            workflow_uuid: self.instance.workflow_uuid.clone(),
            step_uuid: uuid::Uuid::new_v4().to_string(),
            correlation_id: self.instance.correlation_id_or_default(),
            step_instance_id,
            workflow_version_id: self.instance.workflow_version_id,
            group_info: self.instance.group_info,
            owner: self.instance.run_properties.owner.clone(),
            tags: step.tags.clone(),
            // A retry keeps the params an in-run restart gave the attempt it follows.
            step_run_params: slot
                .attempt
                .as_ref()
                .and_then(|p| p.step_run_params.clone()),
            restart_config: None,
            params: None,
            transition: Some(transition),
            step_retry,
            timeout_in_millis: None,
            runtime_state: StepRuntimeState {
                status: S::Created,
                create_time: Some(now),
                modify_time: Some(now),
                ..StepRuntimeState::default()
            },
            signal_dependencies: None,
            signal_outputs: None,
            artifacts: None,
            timeline: None,
            // The definition lives once in `wf`; it is attached when the document is written.
            definition: placeholder_step(),
        };
        let replaced = slot.attempt.replace(si);
        let is_flow = matches!(
            step.kind,
            baton_model::definition::StepKind::Foreach(_)
                | baton_model::definition::StepKind::While(_)
                | baton_model::definition::StepKind::Subworkflow(_)
        );
        if !is_flow {
            // Only flow steps read the attempt they follow (to restart their children).
            slot.prior = None;
        } else if replaced.is_some() && !slot.carried {
            slot.prior = replaced;
        }
        slot.carried = false;
        slot.params = None;
        slot.persisted = false;
        slot.doc_dirty = true;
        slot.touched = true;
    }

    /// Moves a step's attempt to `status`, stamping the matching runtime-state time.
    pub(super) fn set_status(&mut self, node: usize, status: S) {
        let now = now_millis();
        let Some(si) = self.attempt_mut(node) else {
            return;
        };
        let rs = &mut si.runtime_state;
        let left_pause = rs.status == S::Paused && status != S::Paused;
        rs.status = status;
        rs.modify_time = Some(now);
        match status {
            S::Initialized => rs.initialize_time = Some(now),
            S::Paused => rs.pause_time = Some(now),
            S::WaitingForSignals => rs.wait_signal_time = Some(now),
            S::EvaluatingParams => rs.evaluate_param_time = Some(now),
            S::WaitingForPermits => rs.wait_permit_time = Some(now),
            S::Starting => rs.start_time = Some(now),
            S::Running => rs.execute_time = Some(now),
            S::Finishing => rs.finish_time = Some(now),
            s if s.is_terminal() => rs.end_time = Some(now),
            _ => {}
        }
        if left_pause {
            let key = self.attempt_key(node);
            self.extra_ops
                .push(baton_store::WriteOp::DeletePausedAttempt(key));
        }
        self.touch(node);
        if status.is_terminal() {
            self.release_permits(node);
        }
    }

    pub(super) fn add_timeline(&mut self, node: usize, event: TimelineEvent) {
        if let Some(si) = self.attempt_mut(node) {
            si.timeline.get_or_insert_with(Timeline::default).add(event);
        }
    }

    pub(super) fn fail_internally(&mut self, node: usize, message: String) {
        let now = now_millis();
        self.add_timeline(
            node,
            TimelineEvent::Details(DetailsEvent {
                timestamp: now,
                status: ErrorCode::InternalError,
                message: Some(message),
                errors: None,
                retryable: false,
            }),
        );
        self.set_status(node, S::InternallyFailed);
    }

    /// Runs the synchronous part of a step's state machine until the step waits for something
    /// (a runtime call, a timer) or ends.
    pub(super) async fn drive(&mut self, node: usize) {
        loop {
            let Some(status) = self.attempt(node).map(|si| si.runtime_state.status) else {
                return;
            };
            if self.terminating.is_some() && !status.is_terminal() {
                let to = match self.terminating {
                    Some(Termination::Kill) => S::FatallyFailed,
                    Some(Termination::Timeout) => S::TimedOut,
                    _ => S::Stopped,
                };
                self.terminate_step(node, to).await;
                return;
            }
            match status {
                S::Created => {
                    if std::mem::take(&mut self.steps[node].skip) {
                        self.skip_by_restart(node);
                        self.finish(node).await;
                        return;
                    }
                    if !self.is_satisfied(node) {
                        self.mark_unsatisfied(node);
                        self.finish(node).await;
                        return;
                    }
                    if let Err(message) = self.initialize(node) {
                        self.fail_internally(node, message);
                        self.finish(node).await;
                        return;
                    }
                    self.set_status(node, S::Initialized);
                }
                S::Initialized => {
                    if self.hits_breakpoint(node) {
                        self.pause(node);
                        return;
                    }
                    self.set_status(node, S::WaitingForSignals)
                }
                S::Paused => return,
                S::WaitingForSignals => {
                    // Signal dependencies (run/signals.rs): wait until all are matched.
                    if !self.signals_ready(node).await {
                        return;
                    }
                    self.set_status(node, S::EvaluatingParams)
                }
                S::EvaluatingParams => match self.evaluate_params(node).await {
                    Ok(()) => self.set_status(node, S::WaitingForPermits),
                    Err(message) => {
                        self.fail_internally(node, message);
                        self.finish(node).await;
                        return;
                    }
                },
                S::WaitingForPermits => {
                    if !self.acquire_permits(node) {
                        return;
                    }
                    self.set_status(node, S::Starting);
                    self.arm_step_timeout(node);
                }
                S::Starting => {
                    if self.is_flow_step(node) {
                        if !self.start_flow_step(node).await {
                            return;
                        }
                        continue;
                    }
                    let Some(runtime) = self.runtime_of(node) else {
                        let ty = self.wf.step(node).step_type();
                        self.fail_internally(
                            node,
                            format!("Baton has no runtime for step type [{ty}] yet"),
                        );
                        self.finish(node).await;
                        return;
                    };
                    if !runtime.resumable() {
                        // External work: the STARTING state must be durable before launching.
                        self.effects.push(Effect::LaunchStart(node));
                        return;
                    }
                    let ctx = self.step_context(node);
                    let mut fut: RuntimeFuture = Box::pin(async move { runtime.start(&ctx).await });
                    match poll_once(&mut fut) {
                        Poll::Ready(result) => {
                            if !self.apply_result(node, Phase::Start, result).await {
                                return;
                            }
                        }
                        Poll::Pending => {
                            self.spawn_call(node, Phase::Start, fut);
                            return;
                        }
                    }
                }
                S::Running => {
                    if self.is_flow_step(node) {
                        if !self.run_flow_step(node).await {
                            return;
                        }
                        continue;
                    }
                    let Some(runtime) = self.runtime_of(node) else {
                        return;
                    };
                    let ctx = self.step_context(node);
                    let mut fut: RuntimeFuture =
                        Box::pin(async move { runtime.execute(&ctx).await });
                    match poll_once(&mut fut) {
                        Poll::Ready(result) => {
                            if !self.apply_result(node, Phase::Execute, result).await {
                                return;
                            }
                        }
                        Poll::Pending => {
                            self.spawn_call(node, Phase::Execute, fut);
                            return;
                        }
                    }
                }
                S::Finishing => {
                    // Output signals (run/signals.rs) are durable before the step succeeds.
                    if !self.signal_outputs_sent(node).await {
                        return;
                    }
                    self.set_status(node, S::Succeeded);
                    self.finish(node).await;
                    return;
                }
                _ => return,
            }
        }
    }

    fn runtime_of(&self, node: usize) -> Option<Arc<dyn StepRuntime>> {
        let ty = self.wf.step(node).step_type();
        self.engine.inner.config.runtimes.get(ty)
    }

    /// A step is satisfied when it has no predecessors or some predecessor's condition towards
    /// it was true (§6.2 item 3).
    fn is_satisfied(&self, node: usize) -> bool {
        self.wf.dag.predecessors(node).is_empty()
            || self.steps[node].any_true
            || self.steps[node].forced
    }

    fn mark_unsatisfied(&mut self, node: usize) {
        let now = now_millis();
        let satisfied = Parameter::evaluated(
            ParamDefinition::literal(ParamValue::Boolean(false)),
            EvaluatedValue::Boolean(false),
            now,
        );
        let mut p = IndexMap::new();
        p.insert("maestro_step_satisfied".to_string(), satisfied);
        self.steps[node].params = Some(Arc::new(p));
        self.steps[node].doc_dirty = true;
        self.set_status(node, S::Unsatisfied);
    }

    /// INITIALIZED: the step's timeout and retry policy, interpolated with workflow params.
    fn initialize(&mut self, node: usize) -> Result<(), String> {
        let step = self.wf.step(node);
        let wp = self.workflow_params.clone();
        let timeout = match &step.timeout {
            None => DEFAULT_STEP_TIMEOUT_MILLIS,
            Some(t) => match baton_model::duration::timeout_millis(t, |text| {
                params::interpolate(text, &[&wp])
            }) {
                Ok(Ok(ms)) => ms,
                Ok(Err(e)) => return Err(format!("invalid step timeout: {e}")),
                Err(e) => return Err(format!("invalid step timeout: {e}")),
            },
        };
        let first_attempt = self.attempt(node).is_some_and(|si| si.step_retry.is_none());
        let retry = if first_attempt {
            let merged = RetryPolicy::merged_with_default(step.retry_policy());
            // As Maestro: a policy that does not parse falls back to the default one.
            let parsed = merged
                .parse_with(&mut |text: &str| params::interpolate(text, &[&wp]))
                .unwrap_or_else(|e| {
                    tracing::warn!(step = %step.id, error = %e, "invalid retry policy; using the default");
                    RetryPolicy::default_policy()
                });
            Some(StepRetry::from_policy(&parsed))
        } else {
            None
        };
        let Some(si) = self.attempt_mut(node) else {
            return Ok(());
        };
        si.timeout_in_millis = Some(timeout);
        if let Some(r) = retry {
            si.step_retry = Some(r);
        }
        self.steps[node].doc_dirty = true;
        Ok(())
    }

    pub(super) fn eval_scope(&self, node: usize) -> EvalScope {
        let si = self.attempt(node);
        let step = self.wf.step(node);
        let step_type_info = match &step.kind {
            baton_model::definition::StepKind::Typed(t) => t
                .sub_type
                .clone()
                .unwrap_or_else(|| t.step_type.as_str().to_string()),
            _ => step.step_type().as_str().to_string(),
        };
        EvalScope {
            now_millis: now_millis(),
            limits: self.engine.inner.config.sel_limits,
            instance: self.instance_facts(),
            workflow_params: self.workflow_params.clone(),
            step: si.map(|si| StepFacts {
                step_id: si.step_id.clone(),
                step_instance_id: si.step_instance_id,
                step_instance_uuid: si.step_uuid.clone(),
                step_attempt_id: si.step_attempt_id,
                step_type_info,
                error_retries: si.step_retry.as_ref().map(|r| r.error_retries).unwrap_or(0),
                signal_dependencies: si.signal_dependencies.clone().map(Arc::new),
            }),
            upstream: self.upstream.clone(),
            step_ids: self.wf.step_ids.clone(),
            services: self.run_services(),
        }
    }

    pub(super) fn instance_facts(&self) -> params::InstanceFacts {
        let i = &self.instance;
        params::InstanceFacts {
            workflow_id: i.workflow_id.clone(),
            workflow_instance_id: Some(i.workflow_instance_id),
            workflow_run_id: Some(i.workflow_run_id),
            initiator_type: Some(i.initiator.initiator_type()),
            initiator_timezone: match &i.initiator {
                baton_model::instance::Initiator::Time(t) => Some(t.timezone.clone()),
                _ => None,
            },
            initiator_runner_name: match &i.initiator {
                baton_model::instance::Initiator::Manual(m) => {
                    m.user.as_ref().map(|u| u.name.clone())
                }
                _ => None,
            },
            run_policy: i.run_config.as_ref().map(|c| c.policy),
            owner: Some(i.run_properties.owner.name.clone()),
            first_time_trigger_timezone: crate::start::first_time_trigger_timezone(
                &self.wf.workflow,
            ),
            signals: crate::signals::signal_facts(&i.initiator),
        }
    }

    /// EVALUATING_PARAMS: merge the step's params with its defaults and evaluate them.
    async fn evaluate_params(&mut self, node: usize) -> Result<(), String> {
        let step = self.wf.step(node);
        let step_type = step.step_type();
        let definition = step.params.clone();
        // An in-run restart's params, else a restart's params for the step (at the restart
        // path's leaf), else the run's params for the step.
        let step_run_params = self
            .attempt(node)
            .and_then(|si| si.step_run_params.clone())
            .or_else(|| {
                self.instance
                    .run_config
                    .as_ref()
                    .and_then(|c| c.restart_config.as_ref())
                    .filter(|rc| rc.restart_path.len() <= 1)
                    .and_then(|rc| rc.step_restart_params.as_ref())
                    .and_then(|m| m.get(&step.id))
                    .cloned()
            })
            .or_else(|| {
                self.instance
                    .step_run_params
                    .as_ref()
                    .and_then(|m| m.get(&step.id))
                    .cloned()
            });
        let scope = self.eval_scope(node);
        // A step without params of its own gets only the defaults, computed natively (no SEL):
        // cheaper here than a hop to a blocking thread.
        let defaults_only = definition.as_ref().is_none_or(|d| d.is_empty())
            && step_run_params.is_none()
            && step_type != baton_model::definition::StepType::Notebook;
        let evaluate = move || {
            let merged = params::merge_step_params(
                step_type,
                definition.as_ref(),
                step_run_params.as_ref(),
            )?;
            params::evaluate_step_params(&merged, &scope)
        };
        let evaluated = if defaults_only {
            evaluate()
        } else {
            crate::blocking::run(evaluate)
                .await
                .map_err(|e| e.to_string())?
        }
        .map_err(|e| e.to_string())?;
        let mut evaluated = evaluated;
        evaluated.insert(
            "maestro_step_satisfied".to_string(),
            Parameter::evaluated(
                ParamDefinition::literal(ParamValue::Boolean(true)),
                EvaluatedValue::Boolean(true),
                now_millis(),
            ),
        );
        self.steps[node].params = Some(Arc::new(evaluated));
        self.steps[node].doc_dirty = true;
        Ok(())
    }

    pub(super) fn step_context(&self, node: usize) -> StepContext {
        let si = self.attempt(node);
        let step = self.wf.step(node);
        let attempt_id = si.map(|s| s.step_attempt_id).unwrap_or(1);
        let work_dir = self
            .engine
            .inner
            .config
            .work_dir
            .join(sanitize_path(&self.key.workflow_id))
            .join(self.key.instance_id.to_string())
            .join(self.key.run_id.to_string())
            .join(sanitize_path(&step.id))
            .join(attempt_id.to_string());
        StepContext {
            workflow_id: self.key.workflow_id.clone(),
            workflow_instance_id: self.key.instance_id,
            workflow_run_id: self.key.run_id,
            step_id: step.id.clone(),
            step_attempt_id: attempt_id,
            step_instance_id: si.map(|s| s.step_instance_id).unwrap_or(0),
            step_uuid: si.map(|s| s.step_uuid.clone()).unwrap_or_default(),
            step_type: step.step_type(),
            params: self.steps[node].params.clone().unwrap_or_default(),
            workflow_params: self.workflow_params.clone(),
            artifacts: si.and_then(|s| s.artifacts.clone()).unwrap_or_default(),
            start_time: si
                .and_then(|s| s.runtime_state.start_time)
                .unwrap_or_else(now_millis),
            work_dir,
        }
    }

    /// Runs a pending runtime call in a task that reports back by message.
    fn spawn_call(&mut self, node: usize, phase: Phase, fut: RuntimeFuture) {
        let tx = self.tx.clone();
        let attempt_id = self.attempt(node).map(|s| s.step_attempt_id).unwrap_or(0);
        let handle = tokio::spawn(async move {
            let result = fut.await;
            let _ = tx.send(RunMsg::Runtime {
                node,
                attempt_id,
                phase,
                result: Box::new(result),
            });
        });
        self.steps[node].task = Some(handle.abort_handle());
    }

    /// Effect of a durable STARTING for a runtime with side effects: call `start()`.
    pub(super) fn launch_start(&mut self, node: usize) {
        let Some(runtime) = self.runtime_of(node) else {
            return;
        };
        if self.attempt(node).map(|s| s.runtime_state.status) != Some(S::Starting) {
            return;
        }
        let ctx = self.step_context(node);
        let fut: RuntimeFuture = Box::pin(async move { runtime.start(&ctx).await });
        self.spawn_call(node, Phase::Start, fut);
    }

    pub(super) async fn on_runtime_result(
        &mut self,
        node: usize,
        attempt_id: i64,
        phase: Phase,
        result: RuntimeResult,
    ) {
        let current = self
            .attempt(node)
            .map(|s| (s.step_attempt_id, s.runtime_state.status));
        let expected = match phase {
            Phase::Start => S::Starting,
            Phase::Execute => S::Running,
        };
        if current != Some((attempt_id, expected)) {
            return; // a stale result of an attempt that was stopped or timed out meanwhile
        }
        self.steps[node].task = None;
        if self.apply_result(node, phase, result).await {
            self.drive(node).await;
        }
    }

    /// Applies a runtime result. True when the state machine should continue (`drive`).
    pub(super) async fn apply_result(
        &mut self,
        node: usize,
        phase: Phase,
        result: RuntimeResult,
    ) -> bool {
        let RuntimeResult {
            state,
            artifacts,
            timeline,
            output,
        } = result;
        let mut non_retryable = false;
        if let Some(si) = self.attempt_mut(node) {
            if !artifacts.is_empty() {
                let all = si.artifacts.get_or_insert_with(IndexMap::new);
                for (k, v) in artifacts {
                    if let Artifact::Retry(r) = &v
                        && !r.retryable
                    {
                        non_retryable = true;
                    }
                    all.insert(k, v);
                }
            }
            if !timeline.is_empty() {
                si.timeline
                    .get_or_insert_with(Timeline::default)
                    .add_all(timeline);
            }
        }
        self.touch(node);
        match (phase, state) {
            (Phase::Start, RuntimeState::Continue | RuntimeState::Done) => {
                self.set_status(node, S::Running);
                true
            }
            (Phase::Execute, RuntimeState::Continue) => true,
            (Phase::Execute, RuntimeState::Done) => {
                self.set_status(node, S::Finishing);
                if let Some(output) = output {
                    if let Some(si) = self.attempt_mut(node) {
                        let arts = si.artifacts.get_or_insert_with(IndexMap::new);
                        for (k, v) in output.artifacts {
                            if let Artifact::Retry(r) = &v
                                && !r.retryable
                            {
                                non_retryable = true;
                            }
                            arts.insert(k, v);
                        }
                    }
                    if !output.params.is_empty() {
                        let current = self.steps[node].params.clone().unwrap_or_default();
                        match params::merge_output_params(&current, &output.params, now_millis()) {
                            Ok(merged) => {
                                self.steps[node].params = Some(Arc::new(merged));
                                self.steps[node].doc_dirty = true;
                            }
                            Err(e) => {
                                self.add_timeline(
                                    node,
                                    TimelineEvent::log(
                                        now_millis(),
                                        LogLevel::Error,
                                        format!("Invalid output params: {e}"),
                                    ),
                                );
                                self.fail_with(node, S::UserFailed, non_retryable).await;
                                return false;
                            }
                        }
                    }
                }
                true
            }
            (_, RuntimeState::UserError) => {
                self.fail_with(node, S::UserFailed, non_retryable).await;
                false
            }
            (_, RuntimeState::PlatformError) => {
                self.fail_with(node, S::PlatformFailed, non_retryable).await;
                false
            }
            (_, RuntimeState::FatalError) => {
                self.set_status(node, S::FatallyFailed);
                self.finish(node).await;
                false
            }
            (_, RuntimeState::Stopped) => {
                self.set_status(node, S::Stopped);
                self.finish(node).await;
                false
            }
            (_, RuntimeState::TimedOut) => {
                self.set_status(node, S::TimedOut);
                self.finish(node).await;
                false
            }
        }
    }

    /// A retryable failure: retried while its retries last, else FATALLY_FAILED (§7.1).
    async fn fail_with(&mut self, node: usize, retryable: S, non_retryable: bool) {
        let exhausted = non_retryable
            || self
                .attempt(node)
                .and_then(|si| si.step_retry.as_ref())
                .is_none_or(|r| match retryable {
                    S::UserFailed => r.has_reached_error_retry_limit(),
                    S::PlatformFailed => r.has_reached_platform_retry_limit(),
                    S::TimeoutFailed => r.has_reached_timeout_retry_limit(),
                    _ => true,
                });
        let status = if exhausted {
            if retryable == S::TimeoutFailed {
                S::TimedOut
            } else {
                S::FatallyFailed
            }
        } else {
            retryable
        };
        self.set_status(node, status);
        self.finish(node).await;
    }

    /// What happens when an attempt reaches a terminal status.
    pub(super) async fn finish(&mut self, node: usize) {
        if let Some(h) = self.steps[node].timeout_timer.take() {
            h.abort();
        }
        let Some(mut status) = self.attempt(node).map(|s| s.runtime_state.status) else {
            return;
        };
        if status == S::FatallyFailed
            && self.wf.step(node).failure_mode_or_default() == FailureMode::IgnoreFailure
            && self.terminating.is_none()
        {
            self.set_status(node, S::CompletedWithError);
            status = S::CompletedWithError;
        }
        self.record_upstream(node);
        if status.is_retryable() {
            if self.terminating.is_some() {
                return;
            }
            self.arm_retry(node, status);
            return;
        }
        if status.is_complete() {
            if let Err(message) = self.evaluate_conditions(node, status).await {
                self.fail_internally(node, message);
                self.record_upstream(node);
                return;
            }
            self.effects.push(Effect::Release(node));
            return;
        }
        if status == S::FatallyFailed
            && self.wf.step(node).failure_mode_or_default() == FailureMode::FailImmediately
            && self.terminating.is_none()
        {
            // Stop every other incomplete step of the run (§7.2).
            for other in 0..self.steps.len() {
                if other != node {
                    self.stop_step_for_fail_immediately(other).await;
                }
            }
        }
    }

    async fn stop_step_for_fail_immediately(&mut self, node: usize) {
        let Some(status) = self.attempt(node).map(|s| s.runtime_state.status) else {
            return;
        };
        if !status.is_terminal() {
            self.terminate_step(node, S::Stopped).await;
        } else if status.is_retryable() {
            if let Some(h) = self.steps[node].retry_timer.take() {
                h.abort();
            }
            self.set_status(node, S::Stopped);
            self.record_upstream(node);
        }
    }

    /// Publishes a step's params and status to downstream evaluations.
    pub(super) fn record_upstream(&mut self, node: usize) {
        let Some(si) = self.attempt(node) else {
            return;
        };
        let entry = UpstreamStep {
            params: self.steps[node].params.clone().unwrap_or_default(),
            status: si.runtime_state.status,
            end_time: si.runtime_state.end_time,
        };
        let id = si.step_id.clone();
        Arc::make_mut(&mut self.upstream).insert(id, entry);
    }

    /// Evaluates the successor conditions of a step that ended well (§6.2 item 4): forced false
    /// for an unsatisfied step; `"true"` needs no SEL.
    async fn evaluate_conditions(&mut self, node: usize, status: S) -> Result<(), String> {
        let Some(si) = self.attempt(node) else {
            return Ok(());
        };
        let Some(transition) = &si.transition else {
            return Ok(());
        };
        if transition.successors.is_empty() {
            return Ok(());
        }
        let now = now_millis();
        let mut to_eval = Vec::new();
        let mut results: IndexMap<String, bool> = IndexMap::new();
        for (succ, p) in &transition.successors {
            let expr = p.definition.expression.as_deref().unwrap_or("true");
            if status == S::Unsatisfied {
                results.insert(succ.clone(), false);
            } else if expr.trim().trim_end_matches(';').trim() == "true" {
                results.insert(succ.clone(), true);
            } else {
                results.insert(succ.clone(), false);
                to_eval.push((succ.clone(), expr.to_string()));
            }
        }
        if !to_eval.is_empty() {
            let scope = self.eval_scope(node);
            let step_params = self.steps[node].params.clone().unwrap_or_default();
            let evaluated = crate::blocking::run(move || {
                to_eval
                    .into_iter()
                    .map(|(succ, expr)| {
                        params::evaluate_condition(&expr, &step_params, &scope)
                            .map(|v| (succ.clone(), v))
                            .map_err(|e| {
                                format!("cannot evaluate the condition towards [{succ}]: {e}")
                            })
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .await
            .map_err(|e| e.to_string())??;
            for (succ, v) in evaluated {
                results.insert(succ, v);
            }
        }
        if let Some(si) = self.attempt_mut(node)
            && let Some(t) = &mut si.transition
        {
            for (succ, p) in t.successors.iter_mut() {
                let v = results.get(succ).copied().unwrap_or(false);
                p.evaluated_result = Some(EvaluatedValue::Boolean(v));
                p.evaluated_time = Some(now);
                p.definition.param_type = ParamType::Boolean;
            }
        }
        self.steps[node].doc_dirty = true;
        self.touch(node);
        Ok(())
    }

    /// A completed step (durably) counts towards its successors; those whose predecessors have
    /// all completed are created (§6.2 item 1).
    pub(super) async fn release(&mut self, node: usize) {
        if self.terminating.is_some() {
            return;
        }
        let results: Vec<(usize, bool)> = {
            let Some(si) = self.attempt(node) else {
                return;
            };
            self.wf
                .dag
                .successors(node)
                .iter()
                .map(|edge| {
                    let id = self.wf.dag.id(edge.node);
                    let v = si
                        .transition
                        .as_ref()
                        .and_then(|t| t.successors.get(id))
                        .and_then(|p| p.evaluated_result.as_ref())
                        .is_some_and(|r| matches!(r, EvaluatedValue::Boolean(true)));
                    (edge.node, v)
                })
                .collect()
        };
        for (succ, condition) in results {
            let slot = &mut self.steps[succ];
            slot.preds_done += 1;
            if condition {
                slot.any_true = true;
            }
            if slot.preds_done == self.wf.dag.predecessors(succ).len()
                && slot.attempt.is_none()
                && !slot.blocked
            {
                self.create_attempt(succ);
                self.drive(succ).await;
            }
        }
    }

    fn arm_retry(&mut self, node: usize, status: S) {
        let Some(si) = self.attempt(node) else {
            return;
        };
        let delay = si
            .step_retry
            .as_ref()
            .map(|r| r.next_retry_delay_secs(status))
            .unwrap_or(Ok(60))
            .unwrap_or(60);
        let due = si
            .runtime_state
            .end_time
            .unwrap_or_else(now_millis)
            .saturating_add(delay.saturating_mul(1000));
        let attempt_id = si.step_attempt_id;
        let tx = self.tx.clone();
        let handle = tokio::spawn(async move {
            sleep_until_millis(due).await;
            let _ = tx.send(RunMsg::RetryDue { node, attempt_id });
        });
        self.steps[node].retry_timer = Some(handle.abort_handle());
    }

    pub(super) async fn on_retry_due(&mut self, node: usize, attempt_id: i64) {
        let Some(si) = self.attempt(node) else {
            return;
        };
        if si.step_attempt_id != attempt_id
            || !si.runtime_state.status.is_retryable()
            || self.terminating.is_some()
        {
            return;
        }
        self.steps[node].retry_timer = None;
        self.create_attempt(node);
        self.drive(node).await;
    }

    pub(super) fn arm_step_timeout(&mut self, node: usize) {
        let Some(si) = self.attempt(node) else {
            return;
        };
        let timeout = si.timeout_in_millis.unwrap_or(DEFAULT_STEP_TIMEOUT_MILLIS);
        let due = si
            .runtime_state
            .start_time
            .unwrap_or_else(now_millis)
            .saturating_add(timeout);
        let attempt_id = si.step_attempt_id;
        let tx = self.tx.clone();
        let handle = tokio::spawn(async move {
            sleep_until_millis(due).await;
            let _ = tx.send(RunMsg::StepTimeout { node, attempt_id });
        });
        if let Some(old) = self.steps[node]
            .timeout_timer
            .replace(handle.abort_handle())
        {
            old.abort();
        }
    }

    /// A step ran past its timeout (§7.3): TIMEOUT_FAILED while timeout retries remain, else
    /// TIMED_OUT. Unlike Maestro, Baton terminates the running work in both cases, so a retried
    /// attempt never runs next to the one it replaces.
    pub(super) async fn on_step_timeout(&mut self, node: usize, attempt_id: i64) {
        let Some(si) = self.attempt(node) else {
            return;
        };
        if si.step_attempt_id != attempt_id || si.runtime_state.status.is_terminal() {
            return;
        }
        let exhausted = si
            .step_retry
            .as_ref()
            .is_none_or(|r| r.has_reached_timeout_retry_limit());
        self.steps[node].timeout_timer = None;
        self.stop_runtime(node).await;
        self.add_timeline(
            node,
            TimelineEvent::log(now_millis(), LogLevel::Warn, "Step attempt timed out"),
        );
        self.set_status(
            node,
            if exhausted {
                S::TimedOut
            } else {
                S::TimeoutFailed
            },
        );
        self.finish(node).await;
    }

    /// Cancels a step's runtime call and lets the runtime clean up its work.
    async fn stop_runtime(&mut self, node: usize) {
        if let Some(h) = self.steps[node].task.take() {
            h.abort();
        }
        let status = self.attempt(node).map(|s| s.runtime_state.status);
        if !matches!(status, Some(S::Starting | S::Running | S::Finishing)) {
            return;
        }
        if self.is_flow_step(node) {
            self.stop_flow_step(node).await;
            return;
        }
        let Some(runtime) = self.runtime_of(node) else {
            return;
        };
        let ctx = self.step_context(node);
        match tokio::time::timeout(std::time::Duration::from_secs(30), runtime.terminate(&ctx))
            .await
        {
            Ok(result) => {
                if let Some(si) = self.attempt_mut(node) {
                    if !result.timeline.is_empty() {
                        si.timeline
                            .get_or_insert_with(Timeline::default)
                            .add_all(result.timeline);
                    }
                    if !result.artifacts.is_empty() {
                        si.artifacts
                            .get_or_insert_with(IndexMap::new)
                            .extend(result.artifacts);
                    }
                }
            }
            Err(_) => tracing::warn!(step = node, "runtime terminate timed out"),
        }
    }

    /// Terminates a non-terminal step with `to` (STOPPED, FATALLY_FAILED or TIMED_OUT).
    pub(super) fn terminate_step(
        &mut self,
        node: usize,
        to: S,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        // Boxed: `finish` may terminate other steps (FAIL_IMMEDIATELY), which calls back here.
        Box::pin(async move {
            self.stop_runtime(node).await;
            self.set_status(node, to);
            self.finish(node).await;
        })
    }

    /// Stop, kill or time out the whole run (§7.3, §7.5).
    pub(super) async fn terminate_run(
        &mut self,
        kind: Termination,
        user: Option<baton_model::definition::User>,
        reason: Option<String>,
    ) {
        if self.terminating.is_some() || self.ended {
            return;
        }
        self.terminating = Some(kind);
        let now = now_millis();
        let what = match kind {
            Termination::Stop => "stopped",
            Termination::Kill => "killed",
            Termination::Timeout => "timed out",
        };
        let mut message = format!("Workflow instance run is {what}");
        if let Some(u) = &user {
            message.push_str(&format!(" by [{}]", u.name));
        }
        if let Some(r) = &reason {
            message.push_str(&format!(": {r}"));
        }
        self.timeline.add(TimelineEvent::info(now, message));
        let to = match kind {
            Termination::Stop => S::Stopped,
            Termination::Kill => S::FatallyFailed,
            Termination::Timeout => S::TimedOut,
        };
        for node in 0..self.steps.len() {
            let Some(status) = self.attempt(node).map(|s| s.runtime_state.status) else {
                continue;
            };
            if !status.is_terminal() {
                self.terminate_step(node, to).await;
            } else if status.is_retryable() {
                if let Some(h) = self.steps[node].retry_timer.take() {
                    h.abort();
                }
                self.set_status(node, to);
                self.record_upstream(node);
            }
        }
    }

    /// Rebuilds one step from its latest stored attempt (engine restart).
    pub(super) fn resume_step(&mut self, node: usize, mut si: StepInstance) {
        let status = si.runtime_state.status;
        let slot = &mut self.steps[node];
        slot.step_instance_id = Some(si.step_instance_id);
        slot.params = si.params.take().map(Arc::new);
        si.definition = placeholder_step();
        slot.persisted = true;
        slot.doc_dirty = false;
        slot.attempt = Some(si);
        self.record_upstream(node);
        if status.is_complete() {
            self.local.push_back(Local::Release(node));
        } else if status.is_retryable() {
            self.arm_retry(node, status);
        } else if status.is_terminal() {
            // Failed for good: nothing to do.
        } else if matches!(status, S::Starting | S::Running | S::Finishing)
            && self.is_flow_step(node)
        {
            self.resume_flow_step(node);
        } else if matches!(status, S::Starting | S::Running | S::Finishing) {
            let resumable = self.runtime_of(node).is_some_and(|r| r.resumable());
            if resumable {
                self.arm_step_timeout(node);
                self.local.push_back(Local::Drive(node));
            } else {
                let now = now_millis();
                self.add_timeline(
                    node,
                    TimelineEvent::Details(DetailsEvent {
                        timestamp: now,
                        status: ErrorCode::InternalError,
                        message: Some(
                            "The step's work was lost with the engine that ran it".to_string(),
                        ),
                        errors: None,
                        retryable: true,
                    }),
                );
                if let Some(runtime) = self.runtime_of(node) {
                    let ctx = self.step_context(node);
                    tokio::spawn(async move {
                        runtime.terminate(&ctx).await;
                    });
                }
                // Counted as a platform failure and retried under the platform policy.
                let exhausted = self
                    .attempt(node)
                    .and_then(|si| si.step_retry.as_ref())
                    .is_none_or(|r| r.has_reached_platform_retry_limit());
                let to = if exhausted {
                    S::FatallyFailed
                } else {
                    S::PlatformFailed
                };
                self.set_status(node, to);
                self.record_upstream(node);
                if to.is_retryable() {
                    self.arm_retry(node, to);
                }
            }
        } else {
            self.local.push_back(Local::Drive(node));
        }
    }
}

/// A stand-in for `StepInstance::definition` in memory: the real one is in the compiled
/// workflow and is attached when the document is written.
pub(super) fn placeholder_step() -> baton_model::definition::Step {
    baton_model::definition::Step {
        id: String::new(),
        name: None,
        description: None,
        transition: Default::default(),
        failure_mode: None,
        tags: None,
        timeout: None,
        signal_dependencies: None,
        signal_outputs: None,
        params: None,
        kind: baton_model::definition::StepKind::Template(Default::default()),
    }
}

/// Keeps a path component to safe characters.
pub(crate) fn sanitize_path(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
