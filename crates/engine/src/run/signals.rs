//! A run's signal work (maestro-model.md §9.4, §9.5, §7.6): steps that wait in
//! WAITING_FOR_SIGNALS until matching signals exist, the BYPASS_STEP_DEPENDENCIES action, and the
//! signals a step announces in FINISHING before it may succeed.
//!
//! Waiting is event-driven: a step's pending dependency names are subscribed in the engine's
//! signal hub *before* the store is searched for signals that already exist, so a signal is
//! either found by the search or delivered to the actor's mailbox afterwards, never lost in
//! between. Matching a dependency consumes nothing: any stored signal that satisfies it counts.

use std::sync::Arc;
use std::time::Duration;

use baton_model::definition::{
    SignalDependencyDefinition, SignalMatchParam, SignalOutputDefinition, SignalParamValue, User,
};
use baton_model::instance::{
    Artifact, SignalDependencies, SignalDependency, SignalInstance, SignalOutput, SignalOutputs,
    StepDependencyMatchStatus as M, StepInstanceStatus as S, TimelineEvent,
};
use baton_model::params::{EvaluatedValue, ParamMap};
use indexmap::IndexMap;
use serde_json::Value;
use tokio::sync::oneshot;

use super::RunMsg;
use super::actor::{Effect, RunActor};
use crate::clock::now_millis;
use crate::error::{EngineError, Result};
use crate::params::{self, Params};
use crate::signals::hub::{Deliver, Delivery, SubscriberKey};
use crate::signals::matching;

/// How long a step waits before it tries again after the store failed it.
const RECHECK_DELAY: Duration = Duration::from_secs(5);

impl RunActor {
    fn subscriber(&self) -> SubscriberKey {
        SubscriberKey::Run(self.key.clone())
    }

    /// WAITING_FOR_SIGNALS: true when every dependency is matched or skipped. On first entry the
    /// dependencies are evaluated (name interpolated, match params evaluated with workflow params
    /// and upstream steps); a step whose dependencies cannot be evaluated fails.
    pub(super) async fn signals_ready(&mut self, node: usize) -> bool {
        let defs = match &self.wf.step(node).signal_dependencies {
            Some(d) if !d.is_empty() => d.clone(),
            _ => return true,
        };
        let evaluated = self.steps[node]
            .attempt
            .as_ref()
            .is_some_and(|si| si.signal_dependencies.is_some());
        if !evaluated {
            match self.evaluate_dependencies(node, &defs).await {
                Ok(deps) => {
                    if let Some(si) = self.steps[node].attempt.as_mut() {
                        si.signal_dependencies = Some(deps);
                    }
                    self.touch(node);
                }
                Err(message) => {
                    self.fail_internally(node, message);
                    self.finish(node).await;
                    return false;
                }
            }
        }
        let pending = self.pending_dependencies(node);
        if pending.is_empty() {
            return self.dependencies_done(node);
        }
        for (_, name, _) in &pending {
            self.subscribe_signal(name);
        }
        let store = self.engine.inner.store.clone();
        let mut failed = false;
        for (index, name, conditions) in pending {
            match matching::first_match(store.as_ref(), &name, 0, &conditions).await {
                Ok(Some(found)) => self.match_dependency(node, index, found.seq_id),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(run = ?self.key, step = %self.wf.step(node).id, error = %e, "cannot look up signals; will retry");
                    failed = true;
                }
            }
        }
        if failed {
            self.recheck_later(node);
        }
        self.dependencies_done(node)
    }

    /// Evaluates a step's dependency definitions into PENDING dependencies.
    async fn evaluate_dependencies(
        &mut self,
        node: usize,
        defs: &[SignalDependencyDefinition],
    ) -> std::result::Result<SignalDependencies, String> {
        let scope = self.eval_scope(node);
        let workflow_params = self.workflow_params.clone();
        let defs = defs.to_vec();
        crate::blocking::run(move || {
            let mut out = Vec::with_capacity(defs.len());
            for (i, def) in defs.iter().enumerate() {
                let name = params::interpolate(&def.name, &[&workflow_params])
                    .map_err(|e| format!("signal dependency [{i}] has an invalid name: {e}"))?;
                let mut match_defs = ParamMap::new();
                let mut operators = IndexMap::new();
                for (param, m) in def.match_params.iter().flatten() {
                    match_defs.insert(param.clone(), m.param.clone());
                    operators.insert(param.clone(), m.operator);
                }
                let values = params::evaluate_params_in_step(&match_defs, None, &scope)
                    .map_err(|e| format!("signal dependency [{name}]: {e}"))?;
                let mut match_params = IndexMap::new();
                for (param, p) in values {
                    let value = signal_value(p.evaluated_result.as_ref()).ok_or_else(|| {
                        format!(
                            "signal dependency [{name}]: match param [{param}] must be a STRING or LONG"
                        )
                    })?;
                    let operator = operators
                        .get(&param)
                        .copied()
                        .unwrap_or(baton_model::definition::SignalOperator::EqualsTo);
                    match_params.insert(param, SignalMatchParam { value, operator });
                }
                out.push(SignalDependency {
                    name,
                    status: M::Pending,
                    match_params: Some(match_params),
                    signal_id: None,
                    details: None,
                });
            }
            Ok(SignalDependencies {
                dependencies: out,
                info: None,
            })
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// (index, name, conditions) of the step's PENDING dependencies.
    fn pending_dependencies(&self, node: usize) -> Vec<(usize, String, matching::Conditions)> {
        let Some(deps) = self.steps[node]
            .attempt
            .as_ref()
            .and_then(|si| si.signal_dependencies.as_ref())
        else {
            return Vec::new();
        };
        deps.dependencies
            .iter()
            .enumerate()
            .filter(|(_, d)| d.status == M::Pending)
            .map(|(i, d)| {
                (
                    i,
                    d.name.clone(),
                    d.match_params.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn match_dependency(&mut self, node: usize, index: usize, seq_id: i64) {
        let Some(dep) = self.steps[node]
            .attempt
            .as_mut()
            .and_then(|si| si.signal_dependencies.as_mut())
            .and_then(|d| d.dependencies.get_mut(index))
        else {
            return;
        };
        if dep.status != M::Pending {
            return;
        }
        dep.status = M::Matched;
        dep.signal_id = Some(seq_id);
        self.touch(node);
    }

    /// True (and the dependencies noted as satisfied) when nothing is pending any more.
    fn dependencies_done(&mut self, node: usize) -> bool {
        let Some(deps) = self.steps[node]
            .attempt
            .as_mut()
            .and_then(|si| si.signal_dependencies.as_mut())
        else {
            return true;
        };
        if !deps.is_satisfied() {
            return false;
        }
        if deps.info.is_none() {
            deps.info = Some(TimelineEvent::info(
                now_millis(),
                "Signal step dependencies have been satisfied.",
            ));
            self.touch(node);
        }
        true
    }

    fn subscribe_signal(&self, name: &str) {
        let hub = &self.engine.inner.signals;
        let key = self.subscriber();
        if hub.is_subscribed(name, &key) {
            return;
        }
        let tx = self.tx.clone();
        let deliver: Deliver = Arc::new(move |instance, delivery| {
            tx.send(RunMsg::Signal { instance, delivery }).is_ok()
        });
        hub.subscribe(name, key, deliver);
    }

    /// Drops subscriptions no waiting step needs.
    pub(super) fn prune_signal_subscriptions(&self) {
        let mut needed = std::collections::HashSet::new();
        for node in 0..self.steps.len() {
            if self.steps[node]
                .attempt
                .as_ref()
                .is_some_and(|si| si.runtime_state.status == S::WaitingForSignals)
            {
                for (_, name, _) in self.pending_dependencies(node) {
                    needed.insert(name);
                }
            }
        }
        let hub = &self.engine.inner.signals;
        let key = self.subscriber();
        for name in hub.names_of(&key) {
            if !needed.contains(&name) {
                hub.unsubscribe(&name, &key);
            }
        }
    }

    /// A new signal: every waiting step with a pending dependency it satisfies matches it.
    pub(super) async fn on_signal(&mut self, instance: Arc<SignalInstance>, delivery: Delivery) {
        let mut ready = Vec::new();
        for node in 0..self.steps.len() {
            let waiting = self.steps[node]
                .attempt
                .as_ref()
                .is_some_and(|si| si.runtime_state.status == S::WaitingForSignals);
            if !waiting {
                continue;
            }
            let hits: Vec<usize> = self
                .pending_dependencies(node)
                .into_iter()
                .filter(|(_, name, conds)| {
                    *name == instance.name && matching::satisfies(&instance, conds)
                })
                .map(|(i, _, _)| i)
                .collect();
            if hits.is_empty() {
                continue;
            }
            for i in hits {
                self.match_dependency(node, i, instance.seq_id);
            }
            if self.dependencies_done(node) {
                ready.push(node);
            }
        }
        for node in ready {
            self.drive(node).await;
        }
        self.prune_signal_subscriptions();
        drop(delivery);
    }

    /// BYPASS_STEP_DEPENDENCIES (§7.6): the step's pending dependencies become SKIPPED and it
    /// goes on. Answered once that is durable.
    pub(super) async fn on_bypass(
        &mut self,
        step_id: String,
        user: Option<User>,
        reply: oneshot::Sender<Result<()>>,
    ) {
        let Some(node) = self.wf.dag.index_of(&step_id) else {
            let _ = reply.send(Err(EngineError::NotFound(format!(
                "Cannot find step [{step_id}] in workflow instance run {}",
                self.instance.identity()
            ))));
            return;
        };
        let status = self.steps[node]
            .attempt
            .as_ref()
            .map(|si| si.runtime_state.status);
        if status != Some(S::WaitingForSignals) || self.terminating.is_some() {
            let shown = status.map(|s| s.as_str()).unwrap_or("NOT_CREATED");
            // Maestro answers 400 for a step that is not waiting for signals.
            let _ = reply.send(Err(EngineError::invalid(format!(
                "Cannot bypass the signal dependencies of step [{step_id}] in status [{shown}]: it is not WAITING_FOR_SIGNALS"
            ))));
            return;
        }
        let now = now_millis();
        let who = user.as_ref().map(|u| u.name.as_str()).unwrap_or("unknown");
        let note = format!("Signal step dependencies are bypassed by user [{who}].");
        if let Some(deps) = self.steps[node]
            .attempt
            .as_mut()
            .and_then(|si| si.signal_dependencies.as_mut())
        {
            for d in &mut deps.dependencies {
                if d.status == M::Pending {
                    d.status = M::Skipped;
                }
            }
            deps.info = Some(TimelineEvent::info(now, note.clone()));
        }
        self.add_timeline(node, TimelineEvent::info(now, note));
        self.touch(node);
        self.drive(node).await;
        self.prune_signal_subscriptions();
        self.effects.push(Effect::Reply(reply));
    }

    /// Tries a waiting or finishing step again later (after a store failure).
    pub(super) fn recheck_later(&self, node: usize) {
        let tx = self.tx.clone();
        let attempt_id = self.steps[node]
            .attempt
            .as_ref()
            .map(|si| si.step_attempt_id)
            .unwrap_or(0);
        tokio::spawn(async move {
            tokio::time::sleep(RECHECK_DELAY).await;
            let _ = tx.send(RunMsg::RecheckSignals { node, attempt_id });
        });
    }

    /// The timer of [`Self::recheck_later`].
    pub(super) async fn on_recheck_signals(&mut self, node: usize, attempt_id: i64) {
        let current = self.steps[node]
            .attempt
            .as_ref()
            .map(|si| (si.step_attempt_id, si.runtime_state.status));
        if matches!(current, Some((a, S::WaitingForSignals | S::Finishing)) if a == attempt_id) {
            self.drive(node).await;
        }
    }

    /// FINISHING: announces the step's output signals (definitions evaluated in the step's scope,
    /// then the `maestro_dynamic_output` artifact's). True when all are announced; on a failure
    /// the step stays FINISHING and tries again later, so it never succeeds without its outputs.
    pub(super) async fn signal_outputs_sent(&mut self, node: usize) -> bool {
        let defs = self
            .wf
            .step(node)
            .signal_outputs
            .clone()
            .unwrap_or_default();
        let dynamic = self.dynamic_outputs(node);
        if defs.is_empty() && dynamic.is_empty() {
            return true;
        }
        let evaluated = self.steps[node]
            .attempt
            .as_ref()
            .is_some_and(|si| si.signal_outputs.is_some());
        if !evaluated {
            match self.evaluate_outputs(node, defs).await {
                Ok(mut outputs) => {
                    outputs.extend(dynamic);
                    if let Some(si) = self.steps[node].attempt.as_mut() {
                        si.signal_outputs = Some(SignalOutputs {
                            outputs,
                            info: None,
                        });
                    }
                    self.touch(node);
                }
                Err(message) => {
                    self.fail_internally(node, message);
                    self.finish(node).await;
                    return false;
                }
            }
        }
        let source = self.signal_source(node);
        let todo: Vec<(usize, SignalOutput)> = self.steps[node]
            .attempt
            .as_ref()
            .and_then(|si| si.signal_outputs.as_ref())
            .map(|o| {
                o.outputs
                    .iter()
                    .enumerate()
                    .filter(|(_, out)| out.signal_id.is_none())
                    .map(|(i, out)| (i, out.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut failed = false;
        for (i, out) in todo {
            let mut payload = out.payload.clone().unwrap_or_default();
            payload.insert("signal_source".into(), source.clone());
            let req = baton_model::api::SignalCreateRequest {
                name: out.name.clone(),
                params: out.params.clone(),
                payload,
                request_id: None,
                request_time: None,
            };
            match self.engine.add_signal(req).await {
                Ok(announced) => {
                    if let Some(o) = self.steps[node]
                        .attempt
                        .as_mut()
                        .and_then(|si| si.signal_outputs.as_mut())
                        .and_then(|o| o.outputs.get_mut(i))
                    {
                        o.signal_id = Some(announced.instance.seq_id);
                        o.announce_time =
                            (!announced.duplicate).then_some(announced.instance.create_time);
                    }
                    self.touch(node);
                }
                Err(EngineError::Invalid { message, .. }) => {
                    self.fail_internally(
                        node,
                        format!("invalid output signal [{}]: {message}", out.name),
                    );
                    self.finish(node).await;
                    return false;
                }
                Err(e) => {
                    tracing::warn!(run = ?self.key, signal = %out.name, error = %e, "cannot announce an output signal; will retry");
                    failed = true;
                }
            }
        }
        if failed {
            self.recheck_later(node);
            return false;
        }
        if let Some(o) = self.steps[node]
            .attempt
            .as_mut()
            .and_then(|si| si.signal_outputs.as_mut())
            && o.info.is_none()
        {
            o.info = Some(TimelineEvent::info(
                now_millis(),
                "Signal step outputs have been completed.",
            ));
        }
        true
    }

    /// Evaluates output definitions in the step's scope: `params` become indexed params
    /// (STRING or LONG), `payload` stays as JSON.
    async fn evaluate_outputs(
        &mut self,
        node: usize,
        defs: Vec<SignalOutputDefinition>,
    ) -> std::result::Result<Vec<SignalOutput>, String> {
        if defs.is_empty() {
            return Ok(Vec::new());
        }
        let scope = self.eval_scope(node);
        let own = self.steps[node].params.clone().unwrap_or_default();
        let workflow_params = self.workflow_params.clone();
        crate::blocking::run(move || {
            let mut out = Vec::with_capacity(defs.len());
            for def in &defs {
                let name =
                    params::interpolate(&def.name, &[&own, &workflow_params]).map_err(|e| {
                        format!("signal output [{}] has an invalid name: {e}", def.name)
                    })?;
                let mut all = ParamMap::new();
                for (k, d) in def.payload.iter().flatten() {
                    all.insert(k.clone(), d.clone());
                }
                for (k, d) in def.params.iter().flatten() {
                    all.insert(k.clone(), d.clone());
                }
                let values: Params = params::evaluate_params_in_step(&all, Some(&own), &scope)
                    .map_err(|e| format!("signal output [{name}]: {e}"))?;
                let mut indexed = IndexMap::new();
                let mut payload = IndexMap::new();
                for (k, p) in values {
                    let is_param = def.params.as_ref().is_some_and(|m| m.contains_key(&k));
                    if is_param {
                        let v = signal_value(p.evaluated_result.as_ref()).ok_or_else(|| {
                            format!("signal output [{name}]: param [{k}] must be a STRING or LONG")
                        })?;
                        indexed.insert(k, v);
                    } else if let Some(r) = &p.evaluated_result {
                        payload.insert(k, r.to_json());
                    }
                }
                out.push(SignalOutput {
                    name,
                    params: (!indexed.is_empty()).then_some(indexed),
                    payload: (!payload.is_empty()).then_some(payload),
                    signal_id: None,
                    announce_time: None,
                });
            }
            Ok(out)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Outputs from the step's `maestro_dynamic_output` artifact: strings and integral numbers
    /// are indexed params, anything else is payload.
    fn dynamic_outputs(&self, node: usize) -> Vec<SignalOutput> {
        let Some(Artifact::DynamicOutput(d)) = self.steps[node]
            .attempt
            .as_ref()
            .and_then(|si| si.artifacts.as_ref())
            .and_then(|a| a.get("maestro_dynamic_output"))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in d.signal_outputs.iter().flatten() {
            let Some(EvaluatedValue::Map(map)) = p.evaluated_result.as_ref() else {
                continue;
            };
            let mut name = None;
            let mut indexed = IndexMap::new();
            let mut payload = IndexMap::new();
            for (k, v) in map {
                match v {
                    Value::String(s) if k == "name" => name = Some(s.clone()),
                    Value::String(s) => {
                        indexed.insert(k.clone(), SignalParamValue::String(s.clone()));
                    }
                    Value::Number(n) if n.as_i64().is_some() => {
                        indexed.insert(k.clone(), SignalParamValue::Long(n.as_i64().unwrap_or(0)));
                    }
                    other => {
                        payload.insert(k.clone(), other.clone());
                    }
                }
            }
            if let Some(name) = name {
                out.push(SignalOutput {
                    name,
                    params: (!indexed.is_empty()).then_some(indexed),
                    payload: (!payload.is_empty()).then_some(payload),
                    signal_id: None,
                    announce_time: None,
                });
            }
        }
        out
    }

    /// The `signal_source` payload of an output: the producing workflow step.
    fn signal_source(&self, node: usize) -> Value {
        let si = self.steps[node].attempt.as_ref();
        serde_json::json!({
            "workflow_id": self.key.workflow_id,
            "workflow_instance_id": self.key.instance_id,
            "workflow_run_id": self.key.run_id,
            "step_id": self.wf.step(node).id,
            "step_attempt_id": si.map(|s| s.step_attempt_id).unwrap_or(0),
            "step_instance_id": si.map(|s| s.step_instance_id).unwrap_or(0),
        })
    }
}

/// A STRING or LONG result as a signal param value.
fn signal_value(v: Option<&EvaluatedValue>) -> Option<SignalParamValue> {
    match v? {
        EvaluatedValue::String(s) => Some(SignalParamValue::String(s.clone())),
        EvaluatedValue::Long(n) => Some(SignalParamValue::Long(*n)),
        _ => None,
    }
}
