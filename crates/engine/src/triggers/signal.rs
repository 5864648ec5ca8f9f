//! Signal triggers (maestro-model.md §9.2, maestro-api.md §5.2): one actor per live trigger,
//! subscribed in the signal hub to the trigger's signal names, so a matching signal starts the
//! workflow as soon as it is stored.
//!
//! Matching, per arriving signal `s` of name `n`: `s` must be newer than the trigger's
//! checkpoint for `n` and satisfy `n`'s `match_params`; its join-key values are read; for every
//! other name the first stored signal after that name's checkpoint satisfying its
//! `match_params` and the join-key equalities is looked up. When all are found, the trigger's
//! params, `condition` and `dedup_expr` are evaluated and ONE compare-and-set write moves the
//! checkpoints to the matched ids and records the execution (matched ids, params, request id) as
//! pending. Only then is the run started; a start that a crash interrupted is repeated from the
//! pending list after the restart with the same request id, so each match starts one run.
//! Signals that are not matched are not consumed (they may complete a later match).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_model::api::WorkflowStartRequest;
use baton_model::definition::{SignalParamValue, SignalTrigger};
use baton_model::instance::{Initiator, SignalInitiator, SignalInstance};
use baton_model::params::{EvaluatedValue, ParamDefinition, ParamMap, ParamType, Parameter};
use baton_store::{StoreError, TriggerWrite, WriteOp};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Configured, SIGNAL};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::params::{self, EvalScope, InstanceFacts, SignalFacts};
use crate::signals::hub::{Deliver, Delivery, SubscriberKey};
use crate::signals::ids::name_uuid;
use crate::signals::matching;

/// Most unconsumed signals per name a trigger reconsiders when it starts.
const CATCH_UP_SCAN: usize = 1000;

/// Most deliveries matched before one state write.
const MAX_BATCH: usize = 256;

/// The state row of one signal trigger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SignalState {
    /// Signal name → last consumed sequence id.
    pub checkpoints: IndexMap<String, i64>,
    /// Matches whose run may not have been started yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Execution>,
}

/// One match of a trigger: what its run is started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Execution {
    pub signal_ids: IndexMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, Parameter>>,
    pub request_id: uuid::Uuid,
}

enum Msg {
    Signal(Arc<SignalInstance>, Delivery),
    Stop,
}

struct Live {
    tx: mpsc::UnboundedSender<Msg>,
}

/// The live signal-trigger actors of an engine.
#[derive(Default)]
pub(crate) struct Registry {
    live: Mutex<HashMap<(String, String), Live>>,
    /// Serializes refreshes, so two cannot subscribe the same trigger twice.
    refreshing: tokio::sync::Mutex<()>,
}

impl Registry {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Live>> {
        match self.live.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        }
    }

    /// Stops the actors of the workflows `keep` rejects, in memory only (cluster: their group
    /// moved to another node, which runs them from the same state rows).
    pub async fn unload(&self, engine: &Engine, unload: impl Fn(&str) -> bool) {
        let _guard = self.refreshing.lock().await;
        let keys: Vec<(String, String)> = self
            .live()
            .keys()
            .filter(|(w, _)| unload(w))
            .cloned()
            .collect();
        for key in keys {
            if let Some(l) = self.live().remove(&key) {
                let _ = l.tx.send(Msg::Stop);
                engine
                    .inner
                    .signals
                    .unsubscribe_all(&SubscriberKey::Trigger(key.0.clone(), key.1.clone()));
            }
        }
    }

    /// Stops every actor (engine shutdown).
    pub fn stop_all(&self) {
        for (_, l) in self.live().drain() {
            let _ = l.tx.send(Msg::Stop);
        }
    }

    /// Subscribes the workflow's live signal triggers that are not running yet and drops the
    /// ones that are no longer live (their state rows go too: re-enabled triggers count only
    /// signals announced after that).
    pub async fn refresh(&self, engine: &Engine, workflow_id: &str, c: &Configured) -> Result<()> {
        let _guard = self.refreshing.lock().await;
        let store = engine.inner.store.clone();
        let stored: Vec<_> = store
            .list_triggers(Some(workflow_id))
            .await?
            .into_iter()
            .filter(|r| r.kind == SIGNAL)
            .collect();
        let live = c.live_signal();
        let running: Vec<(String, String)> = self
            .live()
            .keys()
            .filter(|(w, _)| w == workflow_id)
            .cloned()
            .collect();
        for key in running {
            if !live.iter().any(|(u, _)| *u == key.1)
                && let Some(l) = self.live().remove(&key)
            {
                let _ = l.tx.send(Msg::Stop);
                engine
                    .inner
                    .signals
                    .unsubscribe_all(&SubscriberKey::Trigger(key.0.clone(), key.1.clone()));
            }
        }
        for row in &stored {
            if !live.iter().any(|(u, _)| *u == row.trigger_uuid) {
                store
                    .write(vec![WriteOp::DeleteTrigger {
                        workflow_id: row.workflow_id.clone(),
                        trigger_uuid: row.trigger_uuid.clone(),
                    }])
                    .await?;
            }
        }
        for (uuid, trigger) in live {
            let key = (workflow_id.to_string(), uuid.clone());
            if self.live().contains_key(&key) {
                continue;
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let names: Vec<String> = {
                let mut n: Vec<String> = trigger.definitions.keys().cloned().collect();
                n.sort();
                n
            };
            // Subscribe first: a signal stored from now on is delivered; one stored before is
            // at most the checkpoint read below, or found by the actor's catch-up scan.
            let sub = SubscriberKey::Trigger(workflow_id.to_string(), uuid.clone());
            for name in &names {
                let tx = tx.clone();
                let deliver: Deliver = Arc::new(move |s, d| tx.send(Msg::Signal(s, d)).is_ok());
                engine.inner.signals.subscribe(name, sub.clone(), deliver);
            }
            let token = engine.inner.signals.token();
            let definition = serde_json::to_string(&trigger)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            let (state, version) = match stored.iter().find(|r| r.trigger_uuid == uuid) {
                Some(row) => (
                    serde_json::from_str::<SignalState>(&row.state).unwrap_or_default(),
                    row.version,
                ),
                None => {
                    let mut checkpoints = IndexMap::new();
                    for name in &names {
                        let max = store.get_signal(name, None).await?.map_or(0, |r| r.seq_id);
                        checkpoints.insert(name.clone(), max);
                    }
                    let state = SignalState {
                        checkpoints,
                        pending: Vec::new(),
                    };
                    let write = TriggerWrite {
                        workflow_id: workflow_id.to_string(),
                        trigger_uuid: uuid.clone(),
                        kind: SIGNAL.to_string(),
                        definition: definition.clone(),
                        state: serde_json::to_string(&state).unwrap_or_default(),
                        expected_version: 0,
                        ts: crate::clock::now_millis(),
                    };
                    store.write(vec![WriteOp::PutTrigger(write)]).await?;
                    (state, 1)
                }
            };
            let actor = TriggerActor {
                engine: engine.clone(),
                workflow_id: workflow_id.to_string(),
                uuid: uuid.clone(),
                trigger,
                seen: state.checkpoints.clone().into_iter().collect(),
                committed: state.clone(),
                dirty: false,
                names,
                definition,
                state,
                version,
            };
            self.live().insert(key, Live { tx });
            tokio::spawn(actor.run(rx, token));
        }
        Ok(())
    }
}

struct TriggerActor {
    engine: Engine,
    workflow_id: String,
    uuid: String,
    trigger: SignalTrigger,
    /// Sorted signal names.
    names: Vec<String>,
    definition: String,
    state: SignalState,
    version: i64,
    /// Per name, the highest sequence id considered. Deliveries of concurrent announcements can
    /// arrive out of order; a gap is filled from the store first, so signals are considered in
    /// sequence order and a late lower one is never skipped by a checkpoint it did not see.
    seen: HashMap<String, i64>,
    /// The state as last written (`state` runs ahead of it between flushes).
    committed: SignalState,
    /// `state` has matches `committed` lacks.
    dirty: bool,
}

impl TriggerActor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, startup: Delivery) {
        self.execute_pending().await;
        self.catch_up().await;
        self.flush().await;
        drop(startup);
        // Every delivery waiting in the mailbox is matched in memory, then ONE write records all
        // the matches and their runs start together: under load, matches share a commit.
        'outer: while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            let mut tokens = Vec::with_capacity(batch.len());
            let mut stop = false;
            for msg in batch {
                match msg {
                    Msg::Signal(s, delivery) => {
                        self.deliver(&s).await;
                        tokens.push(delivery);
                    }
                    Msg::Stop => stop = true,
                }
            }
            self.flush().await;
            drop(tokens);
            if stop {
                break 'outer;
            }
        }
        self.engine
            .inner
            .signals
            .unsubscribe_all(&SubscriberKey::Trigger(
                self.workflow_id.clone(),
                self.uuid.clone(),
            ));
    }

    /// Makes the matches made since the last flush durable (one compare-and-set write), then
    /// starts their runs. If the write fails, the matches are forgotten and their signals will
    /// be considered again (the next delivery fills the gap from the store).
    async fn flush(&mut self) {
        if self.dirty {
            let state = self.state.clone();
            if let Err(e) = self.write(&state).await {
                tracing::error!(workflow_id = %self.workflow_id, trigger = %self.uuid, error = %e,
                    "cannot record signal trigger matches; their signals stay unconsumed");
                self.state = self.committed.clone();
                self.seen = self.state.checkpoints.clone().into_iter().collect();
                self.dirty = false;
                return;
            }
            self.committed = state;
            self.dirty = false;
        }
        if !self.state.pending.is_empty() {
            self.execute_pending().await;
        }
    }

    /// Reconsiders signals stored after the checkpoints, in arrival order (after a restart, or
    /// signals stored while the trigger was being subscribed).
    async fn catch_up(&mut self) {
        let store = self.engine.inner.store.clone();
        let mut all = Vec::new();
        for name in &self.names {
            let after = self.state.checkpoints.get(name).copied().unwrap_or(0);
            let q = matching::query(name, after, &IndexMap::new(), CATCH_UP_SCAN);
            match store.find_signals(&q).await {
                Ok(rows) => all.extend(rows),
                Err(e) => {
                    tracing::warn!(workflow_id = %self.workflow_id, error = %e, "signal trigger catch-up failed")
                }
            }
        }
        all.sort_by(|a, b| (a.create_ts, a.seq_id, &a.name).cmp(&(b.create_ts, b.seq_id, &b.name)));
        for row in all {
            if let Ok(s) = crate::signals::instance_from_row(&row) {
                self.on_signal(&s).await;
            }
        }
    }

    /// A delivered signal: considered after every lower one of its name.
    async fn deliver(&mut self, s: &SignalInstance) {
        let seen = self.seen.get(&s.name).copied().unwrap_or(0);
        if s.seq_id <= seen {
            return;
        }
        if s.seq_id > seen + 1 {
            let store = self.engine.inner.store.clone();
            let mut after = seen;
            while after < s.seq_id - 1 {
                let q = matching::query(&s.name, after, &IndexMap::new(), CATCH_UP_SCAN);
                let rows = match store.find_signals(&q).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(workflow_id = %self.workflow_id, error = %e, "cannot read earlier signals");
                        break;
                    }
                };
                let Some(last) = rows.last().map(|r| r.seq_id) else {
                    break;
                };
                for row in rows.iter().filter(|r| r.seq_id < s.seq_id) {
                    if let Ok(earlier) = crate::signals::instance_from_row(row) {
                        self.on_signal(&earlier).await;
                    }
                }
                after = last;
            }
        }
        self.on_signal(s).await;
    }

    async fn on_signal(&mut self, s: &SignalInstance) {
        let seen = self.seen.entry(s.name.clone()).or_insert(0);
        *seen = (*seen).max(s.seq_id);
        match self.try_match(s).await {
            Ok(Some((ids, execution))) => {
                for (name, seq) in &ids {
                    self.state.checkpoints.insert(name.clone(), *seq);
                }
                self.state.pending.extend(execution);
                self.dirty = true;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(workflow_id = %self.workflow_id, trigger = %self.uuid, signal = %s.name, error = %e,
                    "signal trigger matching failed; the signal stays unconsumed")
            }
        }
    }

    /// The match `s` completes, with its execution (`None` in the execution slot when the
    /// condition said no or the params failed: the signals are consumed without a run).
    async fn try_match(&self, s: &SignalInstance) -> Result<Option<Matched>> {
        let checkpoint = self.state.checkpoints.get(&s.name).copied().unwrap_or(0);
        if s.seq_id <= checkpoint {
            return Ok(None);
        }
        let Some(entry) = self.trigger.definitions.get(&s.name) else {
            return Ok(None);
        };
        if !matching::satisfies(s, &entry.match_params.clone().unwrap_or_default()) {
            return Ok(None);
        }
        let mut join_values: Vec<SignalParamValue> = Vec::new();
        for k in entry.join_keys.iter().flatten() {
            match s.params.as_ref().and_then(|p| p.get(k)) {
                Some(v) => join_values.push(v.clone()),
                None => return Ok(None),
            }
        }
        let store = self.engine.inner.store.clone();
        let mut ids = IndexMap::new();
        for name in &self.names {
            if *name == s.name {
                ids.insert(name.clone(), s.seq_id);
                continue;
            }
            let Some(other) = self.trigger.definitions.get(name) else {
                return Ok(None);
            };
            let keys = other.join_keys.clone().unwrap_or_default();
            if keys.len() != join_values.len() {
                return Ok(None);
            }
            let mut conditions = other.match_params.clone().unwrap_or_default();
            let joins: Vec<(String, SignalParamValue)> =
                keys.into_iter().zip(join_values.iter().cloned()).collect();
            conditions.extend(matching::equalities(&joins));
            let after = self.state.checkpoints.get(name).copied().unwrap_or(0);
            match matching::first_match(store.as_ref(), name, after, &conditions).await? {
                Some(found) => {
                    ids.insert(name.clone(), found.seq_id);
                }
                None => return Ok(None),
            }
        }
        let execution = self.evaluate(ids.clone()).await;
        Ok(Some((ids, execution)))
    }

    /// Params, condition and request id of a match. `None` when the params or the condition
    /// fail, or the condition is false (logged).
    async fn evaluate(&self, ids: IndexMap<String, i64>) -> Option<Execution> {
        let engine = &self.engine;
        let scope = EvalScope {
            now_millis: crate::clock::now_millis(),
            limits: engine.inner.config.sel_limits,
            instance: InstanceFacts {
                workflow_id: self.workflow_id.clone(),
                initiator_type: Some(baton_model::instance::InitiatorType::Signal),
                signals: Some(Arc::new(SignalFacts {
                    signal_ids: ids.clone(),
                    ..SignalFacts::default()
                })),
                ..InstanceFacts::default()
            },
            workflow_params: Arc::new(IndexMap::new()),
            step: None,
            upstream: Arc::new(IndexMap::new()),
            step_ids: Arc::new(Vec::new()),
            services: engine.inner.services.clone(),
        };
        let trigger = self.trigger.clone();
        let default_id = name_uuid(
            &serde_json::json!({
                "workflow_id": self.workflow_id,
                "trigger_uuid": self.uuid,
                "signal_ids": ids,
            })
            .to_string(),
        );
        let result = crate::blocking::run(move || evaluate_match(&trigger, &scope)).await;
        let (params, ok, dedup) = match result {
            Ok(Ok(v)) => v,
            Ok(Err(e)) | Err(EngineError::Internal(e)) => {
                tracing::warn!(workflow_id = %self.workflow_id, trigger = %self.uuid, error = %e,
                    "signal trigger params or condition failed; the match starts no run");
                return None;
            }
            Err(e) => {
                tracing::warn!(workflow_id = %self.workflow_id, error = %e, "signal trigger evaluation failed");
                return None;
            }
        };
        if !ok {
            tracing::info!(workflow_id = %self.workflow_id, trigger = %self.uuid, "signal trigger condition is false; the match starts no run");
            return None;
        }
        Some(Execution {
            signal_ids: ids,
            params: (!params.is_empty()).then_some(params),
            request_id: dedup.map(|d| name_uuid(&d)).unwrap_or(default_id),
        })
    }

    async fn write(&mut self, state: &SignalState) -> Result<()> {
        let write = TriggerWrite {
            workflow_id: self.workflow_id.clone(),
            trigger_uuid: self.uuid.clone(),
            kind: SIGNAL.to_string(),
            definition: self.definition.clone(),
            state: serde_json::to_string(state)
                .map_err(|e| EngineError::Internal(e.to_string()))?,
            expected_version: self.version,
            ts: crate::clock::now_millis(),
        };
        match self
            .engine
            .inner
            .store
            .write(vec![WriteOp::PutTrigger(write)])
            .await
        {
            Ok(_) => {
                self.version += 1;
                Ok(())
            }
            Err(StoreError::Conflict(m)) => {
                // Someone else moved the row: take its state as the committed one; the flush
                // falls back to it and the lost matches are considered again.
                if let Ok(rows) = self
                    .engine
                    .inner
                    .store
                    .list_triggers(Some(&self.workflow_id))
                    .await
                    && let Some(row) = rows.iter().find(|r| r.trigger_uuid == self.uuid)
                {
                    self.version = row.version;
                    self.committed = serde_json::from_str(&row.state).unwrap_or_default();
                }
                Err(EngineError::Conflict(m))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Starts the pending executions, concurrently; the started ones leave the list (persisted
    /// with the next state write: until then a restart repeats them, which their request ids
    /// make duplicates).
    async fn execute_pending(&mut self) {
        let pending = std::mem::take(&mut self.state.pending);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, execution) in pending.iter().enumerate() {
            let engine = self.engine.clone();
            let workflow_id = self.workflow_id.clone();
            let uuid = self.uuid.clone();
            let execution = execution.clone();
            tasks.spawn(async move { (i, start(&engine, &workflow_id, &uuid, &execution).await) });
        }
        let mut done = vec![false; pending.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, ok)) = joined
                && let Some(d) = done.get_mut(i)
            {
                *d = ok;
            }
        }
        self.state.pending = pending
            .into_iter()
            .zip(done)
            .filter(|(_, ok)| !ok)
            .map(|(e, _)| e)
            .collect();
    }
}

/// Starts one execution's run. True when it is done with (started, a duplicate, or refused for
/// good).
async fn start(engine: &Engine, workflow_id: &str, uuid: &str, execution: &Execution) -> bool {
    let req = WorkflowStartRequest {
        initiator: Initiator::Signal(SignalInitiator {
            trigger_uuid: uuid.to_string(),
            depth: 0,
            signal_id_map: Some(execution.signal_ids.clone()),
            params: execution.params.clone(),
        }),
        request_time: Some(crate::clock::now_millis()),
        request_id: Some(execution.request_id),
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: true,
    };
    match engine
        .start_workflow(workflow_id, "active", req, None)
        .await
    {
        Ok(resp) => {
            tracing::debug!(workflow_id, instance_id = resp.workflow_instance_id,
                status = ?resp.status, "signal trigger started a run");
            true
        }
        Err(e @ (EngineError::Store(_) | EngineError::Internal(_))) => {
            tracing::warn!(workflow_id, error = %e, "signal trigger start failed; kept pending");
            false
        }
        Err(e) => {
            tracing::warn!(workflow_id, error = %e, "signal trigger start refused; dropped");
            true
        }
    }
}

/// A match's evaluated trigger params, condition result and dedup value.
type Evaluated = (IndexMap<String, Parameter>, bool, Option<String>);

/// The matched sequence ids and the execution they start (if any).
type Matched = (IndexMap<String, i64>, Option<Execution>);

const CONDITION: &str = "maestro_signal_trigger_condition";
const DEDUP: &str = "maestro_signal_trigger_dedup";

/// Evaluates a trigger's params (without workflow context, as Maestro), then its condition and
/// dedup expression, which may read those params by name.
fn evaluate_match(
    trigger: &SignalTrigger,
    scope: &EvalScope,
) -> std::result::Result<Evaluated, String> {
    let mut defs: ParamMap = trigger.params.clone().unwrap_or_default();
    let declared: Vec<String> = defs.keys().cloned().collect();
    if let Some(c) = &trigger.condition {
        defs.insert(
            CONDITION.to_string(),
            ParamDefinition::expression(ParamType::Boolean, c.clone()),
        );
    }
    let evaluated = params::evaluate_workflow_params(&defs, scope).map_err(|e| e.to_string())?;
    let ok = match evaluated
        .get(CONDITION)
        .and_then(|p| p.evaluated_result.as_ref())
    {
        None => true,
        Some(EvaluatedValue::Boolean(b)) => *b,
        Some(other) => return Err(format!("condition returned {other:?}, not a boolean")),
    };
    let params: IndexMap<String, Parameter> = evaluated
        .into_iter()
        .filter(|(k, _)| declared.contains(k))
        .collect();
    let dedup = match &trigger.dedup_expr {
        Some(expr) => {
            let mut d = ParamMap::new();
            for (k, p) in &params {
                d.insert(k.clone(), p.to_definition());
            }
            d.insert(
                DEDUP.to_string(),
                ParamDefinition::expression(ParamType::String, expr.clone()),
            );
            match params::evaluate_workflow_params(&d, scope) {
                Ok(v) => match v.get(DEDUP).and_then(|p| p.evaluated_result.as_ref()) {
                    Some(EvaluatedValue::String(s)) => Some(s.clone()),
                    _ => None,
                },
                Err(e) => {
                    tracing::warn!(error = %e, "signal trigger dedup_expr failed; using the matched signal ids");
                    None
                }
            }
        }
        None => None,
    };
    Ok((params, ok, dedup))
}
