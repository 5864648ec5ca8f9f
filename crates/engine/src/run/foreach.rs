//! Foreach steps (maestro-model.md §6.4, §4.3): loop params evaluated to arrays, one iteration
//! per element of their cross product (the first loop param varies fastest), run as inline
//! workflow instances `1..=total` with `loop_index` and the loop values as params, at most
//! `concurrency` at a time, in index order.
//!
//! The `maestro_foreach` artifact is the loop's durable state: `next_loop_index` and the
//! overview (counts, rollup, ids by status as ranges, the in-flight ids under IN_PROGRESS).

use std::collections::BTreeSet;
use std::sync::Arc;

use baton_model::definition::{FailureMode, StepKind};
use baton_model::instance::{
    Artifact, DetailsEvent, ErrorCode, ForeachArtifact, ForeachStepOverview, LogLevel,
    RuntimeState, TimelineEvent, WorkflowInstanceStatus as W, WorkflowRollupOverview,
};
use baton_model::params::{EvaluatedValue, ParamType, ParamValue, Parameter};
use baton_store::RunKey;
use indexmap::IndexMap;
use serde_json::Value as Json;

use super::ChildEnded;
use super::Phase;
use super::actor::{Local, RunActor};
use super::children::InlineTemplate;
use super::flow::FlowState;
use super::intervals::IntervalSet;
use crate::ids::LoopKind;
use crate::runtime::RuntimeResult;

/// Most iterations one foreach step may have. Maestro's limit is 25,000; Baton keeps only the
/// in-flight window in memory, so it allows far more.
pub(super) const FOREACH_ITERATION_LIMIT: i64 = 1_000_000;

/// Most iterations created in one turn (one write); more follow in the next turns.
const LAUNCH_BATCH: i64 = 64;

/// One loop param's values.
#[derive(Debug, Clone)]
pub(super) enum LoopArray {
    Strings(Vec<String>),
    Longs(Vec<i64>),
    Doubles(Vec<f64>),
    Booleans(Vec<bool>),
}

impl LoopArray {
    fn len(&self) -> usize {
        match self {
            LoopArray::Strings(v) => v.len(),
            LoopArray::Longs(v) => v.len(),
            LoopArray::Doubles(v) => v.len(),
            LoopArray::Booleans(v) => v.len(),
        }
    }

    fn value(&self, i: usize) -> Option<ParamValue> {
        Some(match self {
            LoopArray::Strings(v) => ParamValue::String(v.get(i)?.clone()),
            LoopArray::Longs(v) => ParamValue::Long(*v.get(i)?),
            LoopArray::Doubles(v) => ParamValue::Double(serde_json::Number::from_f64(*v.get(i)?)?),
            LoopArray::Booleans(v) => ParamValue::Boolean(*v.get(i)?),
        })
    }

    fn from_json(name: &str, ty: ParamType, v: &Json) -> Result<LoopArray, String> {
        let items = v
            .as_array()
            .ok_or_else(|| format!("loop param [{name}] must be an array, got {v}"))?;
        let bad = || format!("loop param [{name}] is not a valid {ty}");
        Ok(match ty {
            ParamType::StringArray => LoopArray::Strings(
                items
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            ParamType::LongArray => LoopArray::Longs(
                items
                    .iter()
                    .map(|x| x.as_i64().ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            ParamType::DoubleArray => LoopArray::Doubles(
                items
                    .iter()
                    .map(|x| x.as_f64().ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            ParamType::BooleanArray => LoopArray::Booleans(
                items
                    .iter()
                    .map(|x| x.as_bool().ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(format!(
                    "Invalid loop param with name [{name}] and type [{other}]: foreach loop params must be arrays"
                ));
            }
        })
    }
}

/// The evaluated `loop_params` of a foreach step as typed arrays, in declared order.
pub(super) fn loop_arrays(
    loop_params: Option<&Parameter>,
) -> Result<Vec<(String, LoopArray)>, String> {
    let Some(p) = loop_params else {
        return Err("the foreach step has no evaluated loop_params".into());
    };
    let entries = match &p.evaluated_result {
        Some(EvaluatedValue::Map(m)) => m,
        Some(other) => {
            return Err(format!(
                "loop_params must be a MAP, got a {}",
                other.param_type()
            ));
        }
        None => return Err("loop_params is not evaluated".into()),
    };
    let declared = match &p.definition.value {
        Some(ParamValue::Map(defs)) => Some(defs),
        _ => None,
    };
    entries
        .iter()
        .map(|(name, v)| {
            let ty = declared
                .and_then(|d| d.get(name))
                .map(|d| d.param_type)
                .unwrap_or_else(|| derived_array_type(v));
            LoopArray::from_json(name, ty, v).map(|a| (name.clone(), a))
        })
        .collect()
}

fn derived_array_type(v: &Json) -> ParamType {
    let Some(items) = v.as_array() else {
        return ParamType::String;
    };
    if items.iter().all(Json::is_string) {
        ParamType::StringArray
    } else if items.iter().all(Json::is_boolean) {
        ParamType::BooleanArray
    } else if items.iter().all(|x| x.as_i64().is_some()) {
        ParamType::LongArray
    } else {
        ParamType::DoubleArray
    }
}

/// The values of iteration `index` (0-based): `loop_index`, then each loop param's element,
/// the first loop param varying fastest.
pub(super) fn iteration_values(
    loops: &[(String, LoopArray)],
    index: i64,
) -> Vec<(String, ParamValue)> {
    let mut out = Vec::with_capacity(loops.len() + 1);
    out.push(("loop_index".to_string(), ParamValue::Long(index)));
    let mut k = index.max(0) as usize;
    for (name, arr) in loops {
        let len = arr.len().max(1);
        if let Some(v) = arr.value(k % len) {
            out.push((name.clone(), v));
        }
        k /= len;
    }
    out
}

/// The number of iterations: the product of the array lengths (1 for no loop params).
pub(super) fn total_count(loops: &[(String, LoopArray)]) -> Option<i64> {
    loops
        .iter()
        .try_fold(1i64, |acc, (_, a)| acc.checked_mul(a.len() as i64))
}

/// A foreach step's progress.
pub(crate) struct ForeachState {
    pub attempt_id: i64,
    /// Identity fields of the artifact (the overview is rebuilt from the fields below).
    artifact: ForeachArtifact,
    loops: Vec<(String, LoopArray)>,
    template: Option<Arc<InlineTemplate>>,
    /// Concurrency limit (§4.3).
    limit: i64,
    /// `strict_ordering`: the window runs from the lowest iteration in flight to the highest
    /// launched one, so iterations never run far ahead of a slow one.
    strict: bool,
    /// Iterations launched and not known to have ended.
    in_flight: BTreeSet<i64>,
    /// Ended iterations by status.
    done: IndexMap<W, IntervalSet>,
    stats: IndexMap<W, i64>,
    rollup: WorkflowRollupOverview,
    /// Some iteration failed: no more launches.
    failed: bool,
    /// After a restart: the in-flight children's statuses still have to be read.
    unchecked: bool,
    /// This attempt restarts the iterations of an earlier one (§7.7 "Foreach restart").
    restart: Option<super::restart::ChildRestart>,
}

impl ForeachState {
    /// The artifact as it is stored.
    pub fn artifact(&self) -> Artifact {
        let mut a = self.artifact.clone();
        let mut details: IndexMap<W, Vec<baton_model::instance::Interval>> = self
            .done
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(st, s)| (*st, s.to_intervals()))
            .collect();
        let mut running = IntervalSet::default();
        for id in &self.in_flight {
            running.insert(*id);
        }
        if !running.is_empty() {
            details.insert(W::InProgress, running.to_intervals());
        }
        details.sort_keys();
        let mut stats = self.stats.clone();
        stats.sort_keys();
        a.foreach_overview = Some(ForeachStepOverview {
            checkpoint: self
                .in_flight
                .first()
                .copied()
                .unwrap_or(a.next_loop_index + 1),
            stats: (!stats.is_empty()).then_some(stats),
            running_stats: (!self.in_flight.is_empty()).then(|| {
                let mut m = IndexMap::new();
                m.insert(W::InProgress, self.in_flight.len() as i64);
                m
            }),
            rollup: Some(self.rollup.clone()),
            running_rollup: None,
            details: (!details.is_empty()).then_some(details),
            restart_info: None,
        });
        Artifact::Foreach(a)
    }

    fn fold(
        &mut self,
        id: i64,
        status: W,
        overview: Option<&baton_model::instance::WorkflowRuntimeOverview>,
    ) {
        *self.stats.entry(status).or_insert(0) += 1;
        self.done.entry(status).or_default().insert(id);
        if let Some(r) = overview.and_then(|o| o.rollup_overview.as_ref()) {
            self.rollup.aggregate(r);
        }
        if status == W::Failed {
            self.failed = true;
        }
    }

    /// Forgets iterations staged in a write that will not happen.
    pub fn unlaunch(&mut self, ids: &[i64]) {
        for id in ids {
            self.in_flight.remove(id);
        }
        if let Some(min) = ids.iter().min() {
            self.artifact.next_loop_index = self.artifact.next_loop_index.min(min - 1);
        }
    }

    fn child_key(&self, id: i64) -> Option<RunKey> {
        Some(RunKey {
            workflow_id: self.artifact.foreach_workflow_id.clone()?,
            instance_id: id,
            run_id: self.artifact.foreach_run_id,
        })
    }

    fn has(&self, status: W) -> bool {
        self.stats.get(&status).is_some_and(|n| *n > 0)
    }

    /// Whether iteration `id` has ended (a restart keeps succeeded ones as ended).
    fn is_done(&self, id: i64) -> bool {
        self.done.values().any(|s| s.contains(id))
    }

    /// Moves `next_loop_index` past iterations that are done already, so the loop ends when
    /// the last ones were kept by a restart.
    fn skip_done(&mut self) {
        while self.artifact.next_loop_index < self.artifact.total_loop_count
            && self.is_done(self.artifact.next_loop_index + 1)
        {
            self.artifact.next_loop_index += 1;
        }
    }
}

/// What a foreach attempt that restarts an earlier one's iterations starts from.
pub(super) struct ForeachRestart {
    /// `foreach_run_id`: one more than the earlier attempt's.
    pub run_id: i64,
    /// Succeeded iterations kept (not launched again).
    pub kept: IntervalSet,
    /// The kept iterations' leaf rollup.
    pub rollup: WorkflowRollupOverview,
    pub children: super::restart::ChildRestart,
}

impl RunActor {
    fn foreach_state(&mut self, node: usize) -> Option<&mut ForeachState> {
        match self.flow.states.get_mut(&node) {
            Some(FlowState::Foreach(st)) => Some(st),
            _ => None,
        }
    }

    /// Ends a flow step with a runtime outcome (DONE moves it to FINISHING). True when the
    /// state machine should continue.
    pub(super) async fn complete_flow_step(
        &mut self,
        node: usize,
        state: RuntimeState,
        event: Option<TimelineEvent>,
    ) -> bool {
        self.flow.dirty.insert(node);
        let mut result = RuntimeResult::state(state);
        result.timeline.extend(event);
        self.apply_result(node, Phase::Execute, result).await
    }

    /// A flow step that cannot run: FATALLY_FAILED with the reason on its timeline.
    pub(super) async fn fail_flow_step(&mut self, node: usize, message: String) -> bool {
        let event = TimelineEvent::Details(DetailsEvent {
            timestamp: crate::clock::now_millis(),
            status: ErrorCode::InternalError,
            message: Some(message),
            errors: None,
            retryable: false,
        });
        self.complete_flow_step(node, RuntimeState::FatalError, Some(event))
            .await
    }

    /// STARTING: evaluate the cross product and create the artifact.
    pub(super) async fn start_foreach(&mut self, node: usize) -> bool {
        let step = self.wf.step(node);
        let StepKind::Foreach(def) = &step.kind else {
            return false;
        };
        let step_id = step.id.clone();
        let concurrency = def.concurrency;
        let strict = def.strict_ordering.unwrap_or(false);
        let params = self.steps[node].params.clone().unwrap_or_default();
        let loops = match loop_arrays(params.get("loop_params")) {
            Ok(l) => l,
            Err(e) => return self.fail_flow_step(node, e).await,
        };
        let Some(total) = total_count(&loops).filter(|t| *t <= FOREACH_ITERATION_LIMIT) else {
            let msg = format!(
                "Foreach iteration number is over the loop size limit [{FOREACH_ITERATION_LIMIT}] for step {}",
                self.step_identity(node)
            );
            return self.fail_flow_step(node, msg).await;
        };
        let Some(workflow_id) = crate::ids::inline_workflow_id(
            LoopKind::Foreach,
            self.instance.internal_id.unwrap_or(0),
            self.base_instance_id(),
            &step_id,
            self.key.instance_id,
            &self.key.workflow_id,
        ) else {
            return self
                .fail_flow_step(node, "the workflow has no internal id".into())
                .await;
        };
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(1);
        let restarted = self.foreach_restart(node, &workflow_id, total).await;
        let artifact = ForeachArtifact {
            foreach_workflow_id: Some(workflow_id),
            foreach_identity: Some(self.step_identity(node)),
            foreach_run_id: restarted.as_ref().map_or(1, |r| r.run_id),
            run_policy: self.instance.run_config.as_ref().map(|c| c.policy),
            run_id: self.key.run_id,
            ancestor_iteration_count: None,
            total_loop_count: total,
            next_loop_index: 0,
            foreach_overview: None,
            pending_action: None,
        };
        let limit = self.foreach_limit(concurrency);
        let mut state = ForeachState {
            attempt_id,
            artifact,
            loops,
            template: None,
            limit,
            strict,
            in_flight: BTreeSet::new(),
            done: IndexMap::new(),
            stats: IndexMap::new(),
            rollup: WorkflowRollupOverview::default(),
            failed: false,
            unchecked: false,
            restart: None,
        };
        if let Some(r) = restarted {
            if !r.kept.is_empty() {
                state.stats.insert(W::Succeeded, r.kept.count());
                state.done.insert(W::Succeeded, r.kept);
            }
            state.rollup = r.rollup;
            state.restart = Some(r.children);
            state.skip_done();
        }
        self.flow
            .states
            .insert(node, FlowState::Foreach(Box::new(state)));
        self.flow.dirty.insert(node);
        self.set_status(node, baton_model::instance::StepInstanceStatus::Running);
        true
    }

    /// The restart of the iterations of the attempt this one follows, if it had any (§7.7):
    /// a new `foreach_run_id`; under RESTART_FROM_INCOMPLETE (and SPECIFIC) the succeeded
    /// iterations are kept, the others run again as new runs of the same iteration instances
    /// and the never-launched ones run fresh; under RESTART_FROM_BEGINNING all run again. The
    /// iteration a restart path goes through runs again whatever it did.
    async fn foreach_restart(
        &mut self,
        node: usize,
        workflow_id: &str,
        total: i64,
    ) -> Option<ForeachRestart> {
        let children = self.child_restart(node)?;
        let prior = self.steps[node].prior.as_ref()?;
        let Some(Artifact::Foreach(before)) = prior
            .artifacts
            .as_ref()
            .and_then(|a| a.get("maestro_foreach"))
        else {
            return None;
        };
        if before.foreach_workflow_id.as_deref() != Some(workflow_id) {
            return None;
        }
        let run_id = before.foreach_run_id + 1;
        let mut kept = IntervalSet::default();
        let keep = children.policy != baton_model::instance::RunPolicy::RestartFromBeginning
            && before.total_loop_count == total;
        if keep {
            let succeeded = before
                .foreach_overview
                .as_ref()
                .and_then(|o| o.details.as_ref())
                .and_then(|d| d.get(&W::Succeeded));
            for interval in succeeded.into_iter().flatten() {
                kept.insert_range(interval.start, interval.end);
            }
        }
        let mut rollup = WorkflowRollupOverview::default();
        let path_child = children
            .path
            .as_ref()
            .filter(|(n, _)| n.workflow_id == workflow_id)
            .map(|(n, _)| n.instance_id);
        let ids: Vec<i64> = kept.ids().filter(|id| Some(*id) != path_child).collect();
        let mut kept = IntervalSet::default();
        for id in ids {
            kept.insert(id);
            // The kept iterations' leaves still count in the step's rollup.
            if let Ok(Some(row)) = self
                .engine
                .inner
                .store
                .get_instance_run(workflow_id, id, None)
                .await
                && let Some(r) = row
                    .runtime_overview
                    .as_deref()
                    .and_then(|o| {
                        serde_json::from_str::<baton_model::instance::WorkflowRuntimeOverview>(o)
                            .ok()
                    })
                    .and_then(|o| o.rollup_overview)
            {
                rollup.aggregate(&r);
            }
        }
        Some(ForeachRestart {
            run_id,
            kept,
            rollup,
            children,
        })
    }

    /// `min(concurrency, instance step concurrency)` (§4.3), the latter defaulting to 20.
    fn foreach_limit(&self, concurrency: Option<i64>) -> i64 {
        let isc = self.flow.instance_step_concurrency;
        let sc = self.instance.run_properties.step_concurrency;
        let derived = match (isc, sc) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => crate::permits::DEFAULT_STEP_CONCURRENCY,
        };
        concurrency.map_or(derived, |c| c.min(derived)).max(1)
    }

    /// Rebuilds a foreach step from its artifact after a restart.
    fn restore_foreach(&mut self, node: usize) -> Result<(), String> {
        let step = self.wf.step(node);
        let StepKind::Foreach(def) = &step.kind else {
            return Err("not a foreach step".into());
        };
        let concurrency = def.concurrency;
        let strict = def.strict_ordering.unwrap_or(false);
        let si = self.attempt(node).ok_or("no attempt")?;
        let attempt_id = si.step_attempt_id;
        let artifact = match si.artifacts.as_ref().and_then(|a| a.get("maestro_foreach")) {
            Some(Artifact::Foreach(a)) => a.clone(),
            _ => return Err("the foreach step lost its artifact".into()),
        };
        let params = self.steps[node].params.clone().unwrap_or_default();
        let loops = loop_arrays(params.get("loop_params"))?;
        let overview = artifact.foreach_overview.clone().unwrap_or_default();
        let mut in_flight = BTreeSet::new();
        let mut done = IndexMap::new();
        for (status, intervals) in overview.details.iter().flatten() {
            let set = IntervalSet::from_intervals(intervals);
            if status.is_terminal() {
                done.insert(*status, set);
            } else {
                in_flight.extend(set.ids());
            }
        }
        let stats = overview.stats.clone().unwrap_or_default();
        let state = ForeachState {
            attempt_id,
            failed: stats.get(&W::Failed).is_some_and(|n| *n > 0),
            artifact,
            loops,
            template: None,
            limit: self.foreach_limit(concurrency),
            strict,
            in_flight,
            done,
            stats,
            rollup: overview.rollup.unwrap_or_default(),
            unchecked: true,
            restart: self.child_restart(node),
        };
        self.flow
            .states
            .insert(node, FlowState::Foreach(Box::new(state)));
        Ok(())
    }

    /// RUNNING: launch iterations while there is room, end when all have ended.
    pub(super) async fn advance_foreach(&mut self, node: usize) -> bool {
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id);
        let fresh = matches!(self.flow.states.get(&node), Some(FlowState::Foreach(st)) if Some(st.attempt_id) == attempt_id);
        if !fresh && let Err(e) = self.restore_foreach(node) {
            return self.fail_flow_step(node, e).await;
        }
        self.check_in_flight_foreach(node).await;
        let failure_mode = self.wf.step(node).failure_mode_or_default();
        let Some(st) = self.foreach_state(node) else {
            return false;
        };
        let total = st.artifact.total_loop_count;
        if st.failed {
            if failure_mode == FailureMode::FailImmediately && !st.in_flight.is_empty() {
                let keys: Vec<RunKey> = st
                    .in_flight
                    .iter()
                    .filter_map(|id| st.child_key(*id))
                    .collect();
                self.add_timeline(
                    node,
                    TimelineEvent::log(
                        crate::clock::now_millis(),
                        LogLevel::Warn,
                        "Terminating the foreach step with FAIL_IMMEDIATELY because of a failed iteration. It will terminate all running iterations as well.",
                    ),
                );
                let stopped = self.stop_children(keys).await;
                self.fold_stopped(node, stopped);
            }
            let Some(st) = self.foreach_state(node) else {
                return false;
            };
            if !st.in_flight.is_empty() {
                return false;
            }
            let event = TimelineEvent::log(
                crate::clock::now_millis(),
                LogLevel::Warn,
                "Foreach step failed because of a failed iteration.",
            );
            return self
                .complete_flow_step(node, RuntimeState::FatalError, Some(event))
                .await;
        }
        if st.artifact.next_loop_index >= total && st.in_flight.is_empty() {
            let state = if st.has(W::Failed) {
                RuntimeState::FatalError
            } else if st.has(W::TimedOut) {
                RuntimeState::TimedOut
            } else if st.has(W::Stopped) {
                RuntimeState::Stopped
            } else {
                RuntimeState::Done
            };
            return self.complete_flow_step(node, state, None).await;
        }
        let busy = match (st.strict, st.in_flight.first()) {
            (true, Some(lowest)) => st.artifact.next_loop_index - lowest + 1,
            _ => st.in_flight.len() as i64,
        };
        let room = (st.limit - busy)
            .min(total - st.artifact.next_loop_index)
            .max(0);
        if room > 0 {
            self.launch_iterations(node, room.min(LAUNCH_BATCH)).await;
            if room > LAUNCH_BATCH {
                self.local.push_back(Local::Drive(node));
            }
        }
        false
    }

    /// Creates the next `n` iterations in this turn's write.
    async fn launch_iterations(&mut self, node: usize, n: i64) {
        if self
            .foreach_state(node)
            .is_some_and(|st| st.template.is_none())
        {
            let Some(st) = self.foreach_state(node) else {
                return;
            };
            let first = iteration_values(&st.loops, 0);
            let workflow_id = st.artifact.foreach_workflow_id.clone().unwrap_or_default();
            let run_id = st.artifact.foreach_run_id;
            let restart = st.restart.clone();
            match self
                .inline_template(
                    node,
                    LoopKind::Foreach,
                    &workflow_id,
                    run_id,
                    first,
                    restart.as_ref(),
                )
                .await
            {
                Ok(t) => {
                    if let Some(st) = self.foreach_state(node) {
                        st.template = Some(t);
                    }
                }
                Err(e) => {
                    self.foreach_launch_failed(node, e);
                    return;
                }
            }
        }
        let Some(st) = self.foreach_state(node) else {
            return;
        };
        let Some(template) = st.template.clone() else {
            return;
        };
        // Iterations a restart kept (done already) are not launched again.
        let total = st.artifact.total_loop_count;
        let mut ids = Vec::new();
        let mut next = st.artifact.next_loop_index + 1;
        while (ids.len() as i64) < n && next <= total {
            if !st.is_done(next) {
                ids.push(next);
            }
            next += 1;
        }
        let loops = st.loops.clone();
        let literal = template.params.is_some();
        let build = move || {
            ids.into_iter()
                .map(|id| id - 1)
                .map(|index| {
                    let values = iteration_values(&loops, index);
                    let key = format!("[{}][{}][{index}]", template.workflow_id, template.run_id);
                    template.iteration(index + 1, &values, &key)
                })
                .collect::<Vec<_>>()
        };
        // Per-iteration SEL (IMMUTABLE params) runs off the async workers.
        let built = if literal {
            build()
        } else {
            match crate::blocking::run(build).await {
                Ok(b) => b,
                Err(e) => {
                    self.foreach_launch_failed(node, e.to_string());
                    return;
                }
            }
        };
        for item in built {
            match item {
                Ok((instance, row)) => {
                    let id = instance.workflow_instance_id;
                    self.stage_child(node, instance, row);
                    if let Some(st) = self.foreach_state(node) {
                        st.in_flight.insert(id);
                        st.artifact.next_loop_index = id;
                        st.skip_done();
                    }
                }
                Err(e) => {
                    self.foreach_launch_failed(node, e);
                    break;
                }
            }
        }
        self.flow.dirty.insert(node);
    }

    /// An iteration could not be created: no more launches; the step fails once the running
    /// iterations end.
    fn foreach_launch_failed(&mut self, node: usize, message: String) {
        self.add_timeline(
            node,
            TimelineEvent::Details(DetailsEvent {
                timestamp: crate::clock::now_millis(),
                status: ErrorCode::InternalError,
                message: Some(format!("Cannot create a foreach iteration: {message}")),
                errors: None,
                retryable: false,
            }),
        );
        if let Some(st) = self.foreach_state(node) {
            st.failed = true;
        }
        self.flow.dirty.insert(node);
        self.local.push_back(Local::Drive(node));
    }

    /// After a restart: iterations that ended while nobody listened are folded in now.
    async fn check_in_flight_foreach(&mut self, node: usize) {
        let Some(st) = self.foreach_state(node) else {
            return;
        };
        if !st.unchecked {
            return;
        }
        st.unchecked = false;
        let keys: Vec<(i64, RunKey)> = st
            .in_flight
            .iter()
            .filter_map(|id| st.child_key(*id).map(|k| (*id, k)))
            .collect();
        for (id, key) in keys {
            match self.read_child(&key).await {
                Some((status, overview)) if status.is_terminal() => {
                    if let Some(st) = self.foreach_state(node)
                        && st.in_flight.remove(&id)
                    {
                        st.fold(id, status, overview.as_ref());
                    }
                    self.flow.dirty.insert(node);
                }
                Some(_) => {}
                None => {
                    // The write that created it did not happen: launch it again.
                    if let Some(st) = self.foreach_state(node) {
                        st.unlaunch(&[id]);
                    }
                    self.flow.dirty.insert(node);
                }
            }
        }
    }

    fn fold_stopped(
        &mut self,
        node: usize,
        stopped: Vec<(
            RunKey,
            W,
            Option<baton_model::instance::WorkflowRuntimeOverview>,
        )>,
    ) {
        if let Some(st) = self.foreach_state(node) {
            for (key, status, overview) in stopped {
                if st.in_flight.remove(&key.instance_id) {
                    st.fold(key.instance_id, status, overview.as_ref());
                }
            }
        }
        self.flow.dirty.insert(node);
    }

    /// An iteration ended. True when the step moved on.
    pub(super) async fn foreach_child_ended(&mut self, node: usize, ended: ChildEnded) -> bool {
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id);
        let fresh = matches!(self.flow.states.get(&node), Some(FlowState::Foreach(st)) if Some(st.attempt_id) == attempt_id);
        if !fresh && self.restore_foreach(node).is_err() {
            return false;
        }
        let Some(st) = self.foreach_state(node) else {
            return false;
        };
        if st.artifact.foreach_workflow_id.as_deref() != Some(ended.child.workflow_id.as_str())
            || st.artifact.foreach_run_id != ended.child.run_id
            || !st.in_flight.remove(&ended.child.instance_id)
        {
            return false;
        }
        st.fold(
            ended.child.instance_id,
            ended.status,
            ended.overview.as_ref(),
        );
        self.flow.dirty.insert(node);
        self.advance_foreach(node).await
    }

    /// The step is terminated: stop every iteration in flight.
    pub(super) async fn stop_foreach(&mut self, node: usize) {
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id);
        let fresh = matches!(self.flow.states.get(&node), Some(FlowState::Foreach(st)) if Some(st.attempt_id) == attempt_id);
        if !fresh && self.restore_foreach(node).is_err() {
            return;
        }
        let Some(st) = self.foreach_state(node) else {
            return;
        };
        let keys: Vec<RunKey> = st
            .in_flight
            .iter()
            .filter_map(|id| st.child_key(*id))
            .collect();
        let stopped = self.stop_children(keys).await;
        self.fold_stopped(node, stopped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_loop_param_varies_fastest() {
        let loops = vec![
            ("i".to_string(), LoopArray::Longs(vec![1, 2, 3])),
            (
                "j".to_string(),
                LoopArray::Strings(vec!["a".into(), "b".into()]),
            ),
        ];
        assert_eq!(total_count(&loops), Some(6));
        let seen: Vec<(i64, String)> = (0..6)
            .map(|k| {
                let v = iteration_values(&loops, k);
                assert_eq!(v[0], ("loop_index".to_string(), ParamValue::Long(k)));
                let i = match &v[1].1 {
                    ParamValue::Long(n) => *n,
                    _ => panic!(),
                };
                let j = match &v[2].1 {
                    ParamValue::String(s) => s.clone(),
                    _ => panic!(),
                };
                (i, j)
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, "a".into()),
                (2, "a".into()),
                (3, "a".into()),
                (1, "b".into()),
                (2, "b".into()),
                (3, "b".into())
            ]
        );
        assert_eq!(total_count(&[]), Some(1));
        assert_eq!(
            total_count(&[("e".into(), LoopArray::Booleans(vec![]))]),
            Some(0)
        );
    }

    #[test]
    fn loop_params_must_be_arrays() {
        let p: Parameter = serde_json::from_value(serde_json::json!({
            "value": {"i": {"value": [1, 2], "type": "LONG_ARRAY"}, "s": {"value": "x", "type": "STRING"}},
            "type": "MAP",
            "evaluated_result": {"i": [1, 2], "s": "x"},
            "evaluated_time": 1
        }))
        .unwrap();
        let err = loop_arrays(Some(&p)).unwrap_err();
        assert!(err.contains("[s]"), "{err}");
    }
}
