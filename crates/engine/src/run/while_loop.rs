//! While steps (maestro-model.md §6.5): iterations run one at a time as inline workflow
//! instances while the condition holds. The condition is evaluated before every iteration with
//! the loop params' current values; after an iteration succeeds, each loop param takes the
//! value of the body's step param of the same name (the last step by step instance id wins).
//!
//! The `maestro_while` artifact is the loop's durable state: the last iteration, its status
//! and overview, the rollup of the earlier ones, and every value each loop param had.

use baton_model::definition::StepKind;
use baton_model::instance::{
    Artifact, LogLevel, RuntimeState, TimelineEvent, WhileArtifact, WorkflowInstanceStatus as W,
    WorkflowRollupOverview,
};
use baton_model::params::{EvaluatedValue, ParamDefinition, ParamType, ParamValue, Parameter};
use baton_store::RunKey;
use indexmap::IndexMap;
use serde_json::Value as Json;
use std::sync::Arc;

use super::ChildEnded;
use super::actor::RunActor;
use super::children::InlineTemplate;
use super::flow::FlowState;
use crate::ids::LoopKind;
use crate::params::{self, Params};
use crate::persist;

/// Most iterations a while loop may run (Maestro's `ITERATION_LIMIT`).
pub(super) const WHILE_ITERATION_LIMIT: i64 = 25_000;

/// A while step's progress.
pub(crate) struct WhileState {
    pub attempt_id: i64,
    artifact: WhileArtifact,
    /// Loop param names and types, in declared order.
    names: Vec<(String, ParamType)>,
    template: Option<Arc<InlineTemplate>>,
    /// The iteration running now.
    in_flight: Option<i64>,
    /// After a restart: the running iteration's status still has to be read.
    unchecked: bool,
}

impl WhileState {
    pub fn artifact(&self) -> Artifact {
        Artifact::While(self.artifact.clone())
    }

    /// Forgets an iteration staged in a write that will not happen.
    pub fn unlaunch(&mut self, ids: &[i64]) {
        if let Some(id) = self.in_flight
            && ids.contains(&id)
        {
            self.in_flight = None;
            self.artifact.last_iteration = id - 1;
            self.artifact.last_status =
                (id > self.artifact.first_iteration).then_some(W::Succeeded);
        }
    }

    fn child_key(&self, id: i64) -> Option<RunKey> {
        Some(RunKey {
            workflow_id: self.artifact.loop_workflow_id.clone()?,
            instance_id: id,
            run_id: self.artifact.loop_run_id,
        })
    }

    /// The current value of each loop param.
    fn current_values(&self) -> Vec<(String, ParamValue)> {
        let values = self.artifact.loop_param_values.as_ref();
        self.names
            .iter()
            .filter_map(|(name, ty)| {
                let last = values?.get(name)?.last()?;
                let v = ParamValue::from_json(*ty, last).ok()?;
                Some((name.clone(), v))
            })
            .collect()
    }

    /// Values recorded per loop param: one more than the iterations that succeeded.
    fn values_recorded(&self) -> i64 {
        self.artifact
            .loop_param_values
            .as_ref()
            .and_then(|m| m.values().next())
            .map(|v| v.len() as i64)
            .unwrap_or(1)
    }

    fn end_iteration(
        &mut self,
        status: W,
        overview: Option<baton_model::instance::WorkflowRuntimeOverview>,
    ) {
        self.in_flight = None;
        self.artifact.last_status = Some(status);
        self.artifact.last_overview = overview;
    }
}

impl RunActor {
    fn while_state(&mut self, node: usize) -> Option<&mut WhileState> {
        match self.flow.states.get_mut(&node) {
            Some(FlowState::While(st)) => Some(st),
            _ => None,
        }
    }

    /// STARTING: record the loop params' initial values in the artifact.
    pub(super) async fn start_while(&mut self, node: usize) -> bool {
        let step_id = self.wf.step(node).id.clone();
        let params = self.steps[node].params.clone().unwrap_or_default();
        let (names, initial) = match loop_scalars(params.get("loop_params")) {
            Ok(x) => x,
            Err(e) => return self.fail_flow_step(node, e).await,
        };
        let Some(workflow_id) = crate::ids::inline_workflow_id(
            LoopKind::While,
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
        let values: IndexMap<String, Vec<Json>> = initial
            .into_iter()
            .map(|(name, v)| (name, vec![v]))
            .collect();
        // A while step that runs again after a restart starts over from iteration 1 with a
        // new `loop_run_id` (its iterations are new runs of the same iteration instances).
        let loop_run_id = self.steps[node]
            .prior
            .as_ref()
            .and_then(|p| p.artifacts.as_ref())
            .and_then(|a| match a.get("maestro_while") {
                Some(baton_model::instance::Artifact::While(w))
                    if w.loop_workflow_id.as_deref() == Some(workflow_id.as_str()) =>
                {
                    Some(w.loop_run_id + 1)
                }
                _ => None,
            })
            .unwrap_or(1);
        let artifact = WhileArtifact {
            loop_workflow_id: Some(workflow_id),
            loop_identity: Some(self.step_identity(node)),
            loop_run_id,
            run_policy: self.instance.run_config.as_ref().map(|c| c.policy),
            run_id: self.key.run_id,
            first_iteration: 1,
            last_iteration: 0,
            last_status: None,
            last_overview: None,
            rollup: Some(WorkflowRollupOverview::default()),
            loop_param_values: Some(values),
        };
        let state = WhileState {
            attempt_id: self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(1),
            artifact,
            names,
            template: None,
            in_flight: None,
            unchecked: false,
        };
        self.flow
            .states
            .insert(node, FlowState::While(Box::new(state)));
        self.flow.dirty.insert(node);
        self.set_status(node, baton_model::instance::StepInstanceStatus::Running);
        true
    }

    fn restore_while(&mut self, node: usize) -> Result<(), String> {
        let si = self.attempt(node).ok_or("no attempt")?;
        let attempt_id = si.step_attempt_id;
        let artifact = match si.artifacts.as_ref().and_then(|a| a.get("maestro_while")) {
            Some(Artifact::While(a)) => a.clone(),
            _ => return Err("the while step lost its artifact".into()),
        };
        let params = self.steps[node].params.clone().unwrap_or_default();
        let (names, _) = loop_scalars(params.get("loop_params"))?;
        let running = artifact.last_iteration >= artifact.first_iteration
            && artifact.last_status.is_none_or(|s| !s.is_terminal());
        let state = WhileState {
            attempt_id,
            in_flight: running.then_some(artifact.last_iteration),
            artifact,
            names,
            template: None,
            unchecked: true,
        };
        self.flow
            .states
            .insert(node, FlowState::While(Box::new(state)));
        Ok(())
    }

    fn ensure_while(&mut self, node: usize) -> Result<(), String> {
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id);
        let fresh = matches!(self.flow.states.get(&node), Some(FlowState::While(st)) if Some(st.attempt_id) == attempt_id);
        if fresh {
            Ok(())
        } else {
            self.restore_while(node)
        }
    }

    /// RUNNING: after each iteration, update the loop params, evaluate the condition and launch
    /// the next iteration or end.
    pub(super) async fn advance_while(&mut self, node: usize) -> bool {
        if let Err(e) = self.ensure_while(node) {
            return self.fail_flow_step(node, e).await;
        }
        // After a restart, the running iteration may have ended meanwhile.
        if let Some(st) = self.while_state(node)
            && st.unchecked
        {
            st.unchecked = false;
            if let Some(key) = st.in_flight.and_then(|id| st.child_key(id)) {
                match self.read_child(&key).await {
                    Some((status, overview)) if status.is_terminal() => {
                        if let Some(st) = self.while_state(node) {
                            st.end_iteration(status, overview);
                        }
                        self.flow.dirty.insert(node);
                    }
                    Some(_) => {}
                    None => {
                        if let Some(st) = self.while_state(node) {
                            st.unlaunch(&[key.instance_id]);
                        }
                    }
                }
            }
        }
        let Some(st) = self.while_state(node) else {
            return false;
        };
        if st.in_flight.is_some() {
            return false;
        }
        let last = st.artifact.last_iteration;
        if last >= st.artifact.first_iteration {
            let status = st.artifact.last_status.unwrap_or(W::Succeeded);
            let state = match status {
                W::Succeeded => None,
                W::Failed => Some(RuntimeState::FatalError),
                W::Stopped => Some(RuntimeState::Stopped),
                W::TimedOut => Some(RuntimeState::TimedOut),
                _ => return false,
            };
            if let Some(state) = state {
                let event = TimelineEvent::info(
                    crate::clock::now_millis(),
                    format!(
                        "While step is in [{}] status because its loop instance [{}][{last}][{}] is in [{}] status",
                        state.as_str(),
                        st.artifact.loop_workflow_id.as_deref().unwrap_or_default(),
                        st.artifact.loop_run_id,
                        status.as_str()
                    ),
                );
                return self.complete_flow_step(node, state, Some(event)).await;
            }
            if st.values_recorded() <= last - st.artifact.first_iteration + 1
                && let Err(e) = self.update_loop_values(node).await
            {
                return self.fail_flow_step(node, e).await;
            }
        }
        let go = match self.evaluate_while_condition(node).await {
            Ok(go) => go,
            Err(e) => return self.fail_flow_step(node, e).await,
        };
        let Some(st) = self.while_state(node) else {
            return false;
        };
        let last = st.artifact.last_iteration;
        if !go {
            let event = TimelineEvent::info(
                crate::clock::now_millis(),
                format!(
                    "while step is done at iteration [{last}] because its next condition is false"
                ),
            );
            return self
                .complete_flow_step(node, RuntimeState::Done, Some(event))
                .await;
        }
        let next = last + 1;
        if next > WHILE_ITERATION_LIMIT {
            let msg = format!(
                "While loop iteration count [{next}] is over the loop size limit [{WHILE_ITERATION_LIMIT}] for step {}",
                self.step_identity(node)
            );
            return self.fail_flow_step(node, msg).await;
        }
        if let Err(e) = self.launch_while_iteration(node, next).await {
            return self.fail_flow_step(node, e).await;
        }
        false
    }

    /// The values of iteration `next`: `loop_index`, the loop params, `condition = true`.
    async fn launch_while_iteration(&mut self, node: usize, next: i64) -> Result<(), String> {
        let Some(st) = self.while_state(node) else {
            return Ok(());
        };
        let mut values = vec![("loop_index".to_string(), ParamValue::Long(next - 1))];
        values.extend(st.current_values());
        values.push(("condition".to_string(), ParamValue::Boolean(true)));
        if st.template.is_none() {
            let workflow_id = st.artifact.loop_workflow_id.clone().unwrap_or_default();
            let run_id = st.artifact.loop_run_id;
            // Restarted iterations run every step again (see `start_while`).
            let restart = (run_id > 1).then(|| super::restart::ChildRestart {
                policy: baton_model::instance::RunPolicy::RestartFromBeginning,
                path: None,
            });
            let t = self
                .inline_template(
                    node,
                    LoopKind::While,
                    &workflow_id,
                    run_id,
                    values.clone(),
                    restart.as_ref(),
                )
                .await?;
            if let Some(st) = self.while_state(node) {
                st.template = Some(t);
            }
        }
        let Some(st) = self.while_state(node) else {
            return Ok(());
        };
        let Some(template) = st.template.clone() else {
            return Ok(());
        };
        let key = format!("[{}][{next}][{}]", template.workflow_id, template.run_id);
        let built = if template.params.is_some() {
            template.iteration(next, &values, &key)
        } else {
            crate::blocking::run(move || template.iteration(next, &values, &key))
                .await
                .map_err(|e| e.to_string())?
        };
        let (instance, row) = built?;
        self.stage_child(node, instance, row);
        if let Some(st) = self.while_state(node) {
            // The overview of the iteration before goes into the rollup (Maestro's
            // `setNextIteration`).
            if let Some(prev) = st
                .artifact
                .last_overview
                .take()
                .and_then(|o| o.rollup_overview)
            {
                st.artifact
                    .rollup
                    .get_or_insert_with(WorkflowRollupOverview::default)
                    .aggregate(&prev);
            }
            st.artifact.last_iteration = next;
            st.artifact.last_status = Some(W::Created);
            st.in_flight = Some(next);
        }
        self.flow.dirty.insert(node);
        Ok(())
    }

    /// Loop params take the values of the same-named params of the last iteration's steps.
    async fn update_loop_values(&mut self, node: usize) -> Result<(), String> {
        let Some(st) = self.while_state(node) else {
            return Ok(());
        };
        let Some(key) = st.child_key(st.artifact.last_iteration) else {
            return Ok(());
        };
        let rows = self
            .engine
            .inner
            .store
            .list_step_attempts(&key)
            .await
            .map_err(|e| format!("cannot read the last iteration's steps: {e}"))?;
        // Latest attempt of each step, in step instance id order.
        let mut latest: IndexMap<String, (i64, Params)> = IndexMap::new();
        for row in &rows {
            let si = persist::step_from_row(row).map_err(|e| e.to_string())?;
            latest.insert(
                si.step_id.clone(),
                (si.step_instance_id, si.params.unwrap_or_default()),
            );
        }
        let mut steps: Vec<(i64, Params)> = latest.into_values().collect();
        steps.sort_by_key(|(id, _)| *id);
        let Some(st) = self.while_state(node) else {
            return Ok(());
        };
        let mut current: IndexMap<String, Json> = st
            .artifact
            .loop_param_values
            .as_ref()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.last()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        for (_, params) in steps {
            for (name, value) in current.iter_mut() {
                if let Some(r) = params.get(name).and_then(|p| p.evaluated_result.as_ref()) {
                    *value = r.to_json();
                }
            }
        }
        let values = st
            .artifact
            .loop_param_values
            .get_or_insert_with(IndexMap::new);
        for (name, v) in current {
            values.entry(name).or_default().push(v);
        }
        self.flow.dirty.insert(node);
        Ok(())
    }

    /// The condition, with the loop params' current values over the step's params.
    async fn evaluate_while_condition(&mut self, node: usize) -> Result<bool, String> {
        let StepKind::While(def) = &self.wf.step(node).kind else {
            return Ok(false);
        };
        let expression = def.condition.clone();
        let Some(current) = self.while_state(node).map(|st| st.current_values()) else {
            return Ok(false);
        };
        let now = crate::clock::now_millis();
        let mut own: Params = self.steps[node]
            .params
            .as_deref()
            .cloned()
            .unwrap_or_default();
        own.shift_remove("loop_params");
        for (name, v) in current {
            let result = params::coerce::literal_result(&v);
            own.insert(
                name,
                Parameter::evaluated(ParamDefinition::literal(v), result, now),
            );
        }
        let scope = self.eval_scope(node);
        crate::blocking::run(move || params::evaluate_condition(&expression, &own, &scope))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot evaluate the while condition: {e}"))
    }

    /// The running iteration ended. True when the step moved on.
    pub(super) async fn while_child_ended(&mut self, node: usize, ended: ChildEnded) -> bool {
        if self.ensure_while(node).is_err() {
            return false;
        }
        let Some(st) = self.while_state(node) else {
            return false;
        };
        if st.in_flight != Some(ended.child.instance_id)
            || st.artifact.loop_workflow_id.as_deref() != Some(ended.child.workflow_id.as_str())
            || st.artifact.loop_run_id != ended.child.run_id
        {
            return false;
        }
        st.end_iteration(ended.status, ended.overview);
        self.flow.dirty.insert(node);
        self.advance_while(node).await
    }

    /// The step is terminated: stop the running iteration.
    pub(super) async fn stop_while(&mut self, node: usize) {
        if self.ensure_while(node).is_err() {
            return;
        }
        let Some(key) = self
            .while_state(node)
            .and_then(|st| st.in_flight.and_then(|id| st.child_key(id)))
        else {
            return;
        };
        let stopped = self.stop_children(vec![key]).await;
        if let Some(st) = self.while_state(node) {
            for (_, status, overview) in stopped {
                st.end_iteration(status, overview);
            }
        }
        self.add_timeline(
            node,
            TimelineEvent::log(
                crate::clock::now_millis(),
                LogLevel::Info,
                "Stopped all iterations because while step is terminated",
            ),
        );
        self.flow.dirty.insert(node);
    }
}

/// The evaluated `loop_params` of a while step: scalar entries with their types and values.
#[allow(clippy::type_complexity)]
fn loop_scalars(
    loop_params: Option<&Parameter>,
) -> Result<(Vec<(String, ParamType)>, Vec<(String, Json)>), String> {
    let Some(p) = loop_params else {
        return Err("the while step has no evaluated loop_params".into());
    };
    let entries = match &p.evaluated_result {
        Some(EvaluatedValue::Map(m)) => m,
        _ => return Err("loop_params is not an evaluated MAP".into()),
    };
    let declared = match &p.definition.value {
        Some(ParamValue::Map(defs)) => Some(defs),
        _ => None,
    };
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (name, v) in entries {
        let ty = declared
            .and_then(|d| d.get(name))
            .map(|d| d.param_type)
            .unwrap_or(match v {
                Json::Bool(_) => ParamType::Boolean,
                Json::Number(n) if n.is_i64() => ParamType::Long,
                Json::Number(_) => ParamType::Double,
                _ => ParamType::String,
            });
        if !matches!(
            ty,
            ParamType::String | ParamType::Long | ParamType::Double | ParamType::Boolean
        ) {
            return Err(format!(
                "Found an invalid loop param with name [{name}] and type [{ty}]: while loop params must be STRING, LONG, DOUBLE or BOOLEAN"
            ));
        }
        names.push((name.clone(), ty));
        values.push((name.clone(), v.clone()));
    }
    Ok((names, values))
}
