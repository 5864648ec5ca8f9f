//! Triggers (maestro-model.md §9.1–§9.2, maestro-api.md §5): time triggers that start runs on
//! a cron schedule, and signal triggers that start runs when matching signals arrive.
//!
//! A workflow's triggers are *live* when it has an active version, that version defines them,
//! and its properties do not disable them (`time_trigger_disabled`,
//! `signal_trigger_disabled`). [`Engine::refresh_triggers`] re-reads one workflow and
//! (un)subscribes what changed; a push calls it, and so must every change of activation or
//! properties. Each live trigger has a durable state row in the store (kind `TIME`: per-trigger
//! watermarks; kind `SIGNAL`: per-signal checkpoints and pending executions), so a restart
//! resumes exactly where the last engine stopped.
//!
//! Every start a trigger causes carries a deterministic request id (time: workflow, trigger and
//! fire time; signal: evaluated `dedup_expr` or the matched signal ids, fixed before the
//! checkpoint moves), so a start that is repeated after a crash is recognised as a duplicate
//! instead of running twice.

mod schedule;
pub(crate) mod signal;
pub(crate) mod time;

use std::sync::Arc;

use baton_model::definition::{SignalTrigger, TimeTrigger, TriggerUuids, Workflow};
use baton_store::Store;
use indexmap::IndexMap;
use serde::Serialize;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::signals::ids::name_uuid;

/// Kind of a trigger state row.
pub(crate) const TIME: &str = "TIME";
/// Kind of a trigger state row.
pub(crate) const SIGNAL: &str = "SIGNAL";

/// The uuid shared by all time triggers of a version: a name-based UUID of their JSON.
pub(crate) fn time_trigger_uuid(triggers: &[TimeTrigger]) -> String {
    name_uuid(&serde_json::to_string(triggers).unwrap_or_default()).to_string()
}

/// The uuid of one signal trigger: a name-based UUID of its JSON.
pub(crate) fn signal_trigger_uuid(trigger: &SignalTrigger) -> String {
    name_uuid(&serde_json::to_string(trigger).unwrap_or_default()).to_string()
}

/// The `trigger_uuids` a version row records (maestro-api.md §3.3), or `None` without triggers.
pub(crate) fn trigger_uuids_json(workflow: &Workflow) -> Result<Option<String>> {
    let time = workflow
        .time_triggers
        .as_ref()
        .filter(|t| !t.is_empty())
        .map(|t| time_trigger_uuid(t));
    let signal: Option<IndexMap<String, i32>> = workflow
        .signal_triggers
        .as_ref()
        .filter(|t| !t.is_empty())
        .map(|ts| {
            ts.iter()
                .enumerate()
                .map(|(i, t)| (signal_trigger_uuid(t), i as i32))
                .collect()
        });
    if time.is_none() && signal.is_none() {
        return Ok(None);
    }
    let uuids = TriggerUuids {
        time_trigger_uuid: time,
        signal_trigger_uuids: signal,
    };
    serde_json::to_string(&uuids)
        .map(Some)
        .map_err(|e| EngineError::Internal(format!("cannot serialize trigger uuids: {e}")))
}

/// What a workflow's triggers are now.
#[derive(Debug, Clone, Default)]
pub(crate) struct Configured {
    /// The active version (0: none).
    pub version_id: i64,
    /// The version the triggers are read from: the active one, else the latest (listing only).
    pub definition: Option<Arc<Workflow>>,
    pub time_disabled: bool,
    pub signal_disabled: bool,
}

impl Configured {
    /// The live time triggers with their uuid.
    pub fn live_time(&self) -> Option<(String, Vec<TimeTrigger>)> {
        if self.version_id == 0 || self.time_disabled {
            return None;
        }
        let triggers = self.definition.as_ref()?.time_triggers.clone()?;
        (!triggers.is_empty()).then(|| (time_trigger_uuid(&triggers), triggers))
    }

    /// The live signal triggers with their uuids.
    pub fn live_signal(&self) -> Vec<(String, SignalTrigger)> {
        if self.version_id == 0 || self.signal_disabled {
            return Vec::new();
        }
        let Some(def) = &self.definition else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        def.signal_triggers
            .iter()
            .flatten()
            .map(|t| (signal_trigger_uuid(t), t.clone()))
            .filter(|(u, _)| seen.insert(u.clone()))
            .collect()
    }
}

/// Reads a workflow's trigger configuration (a workflow that does not exist has none).
pub(crate) async fn configured(store: &dyn Store, workflow_id: &str) -> Result<Configured> {
    let Some(row) = store.get_workflow(workflow_id).await? else {
        return Ok(Configured::default());
    };
    let snapshot = crate::workflows::parse_snapshot(&row.properties_snapshot)?;
    let shown = if row.active_version_id > 0 {
        row.active_version_id
    } else {
        row.latest_version_id
    };
    let definition = match store.get_version(workflow_id, shown).await? {
        Some(v) => Some(Arc::new(crate::workflows::parse_workflow(&v.definition)?)),
        None => None,
    };
    Ok(Configured {
        version_id: row.active_version_id,
        definition,
        time_disabled: snapshot.time_trigger_disabled.unwrap_or(false),
        signal_disabled: snapshot.signal_trigger_disabled.unwrap_or(false),
    })
}

/// The engine's trigger machinery: the time-trigger scheduler and the signal-trigger actors.
#[derive(Default)]
pub(crate) struct Triggers {
    time: std::sync::Mutex<Option<time::Handle>>,
    pub signal: signal::Registry,
}

impl Triggers {
    fn time_handle(&self) -> Option<time::Handle> {
        self.time.lock().ok().and_then(|h| h.clone())
    }

    /// Stops the scheduler and every signal-trigger actor (engine shutdown).
    pub(crate) fn stop(&self) {
        if let Some(h) = self.time.lock().ok().and_then(|mut h| h.take()) {
            h.stop();
        }
        self.signal.stop_all();
    }
}

/// Starts the triggers of every workflow in the store (engine start).
/// Starts the time-trigger scheduler with nothing scheduled yet.
pub(crate) fn start_scheduler(engine: &Engine) {
    let handle = time::spawn(engine);
    if let Ok(mut slot) = engine.inner.triggers.time.lock() {
        *slot = Some(handle);
    }
}

/// Cluster mode: starts the triggers of every workflow whose group was just claimed.
pub(crate) async fn start_groups(
    engine: &Engine,
    groups: &std::collections::HashSet<i64>,
) -> Result<()> {
    let store = engine.inner.store.clone();
    let own = &engine.inner.ownership;
    let mut after: Option<String> = None;
    loop {
        let page = store.list_workflows(after.as_deref(), 500).await?;
        let Some(last) = page.last().map(|w| w.workflow_id.clone()) else {
            break;
        };
        for row in &page {
            if groups.contains(&own.group_of_workflow(&row.workflow_id))
                && let Err(e) = engine.refresh_triggers(&row.workflow_id).await
            {
                tracing::error!(workflow_id = %row.workflow_id, error = %e, "cannot start triggers");
            }
        }
        after = Some(last);
    }
    Ok(())
}

/// Cluster mode: stops (in memory only) the triggers of workflows in groups this node no
/// longer holds.
pub(crate) async fn stop_groups(engine: &Engine, groups: &std::collections::HashSet<i64>) {
    let own = &engine.inner.ownership;
    let in_groups = |w: &str| groups.contains(&own.group_of_workflow(w));
    if let Some(h) = engine.inner.triggers.time_handle() {
        let ids = match store_workflow_ids(engine).await {
            Ok(ids) => ids.into_iter().filter(|w| in_groups(w)).collect(),
            Err(_) => Vec::new(),
        };
        h.unload(ids);
    }
    engine.inner.triggers.signal.unload(engine, in_groups).await;
}

async fn store_workflow_ids(engine: &Engine) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = engine
            .inner
            .store
            .list_workflows(after.as_deref(), 500)
            .await?;
        let Some(last) = page.last().map(|w| w.workflow_id.clone()) else {
            break;
        };
        ids.extend(page.into_iter().map(|w| w.workflow_id));
        after = Some(last);
    }
    Ok(ids)
}

pub(crate) async fn start(engine: &Engine) -> Result<()> {
    start_scheduler(engine);
    let store = engine.inner.store.clone();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_workflows(after.as_deref(), 500).await?;
        let Some(last) = page.last().map(|w| w.workflow_id.clone()) else {
            break;
        };
        for row in &page {
            if let Err(e) = engine.refresh_triggers(&row.workflow_id).await {
                tracing::error!(workflow_id = %row.workflow_id, error = %e, "cannot start triggers");
            }
        }
        after = Some(last);
    }
    // Trigger state of workflows that no longer exist.
    for row in store.list_triggers(None).await? {
        if store.get_workflow(&row.workflow_id).await?.is_none() {
            engine.refresh_triggers(&row.workflow_id).await?;
        }
    }
    Ok(())
}

impl Engine {
    /// Re-reads a workflow's triggers and (un)subscribes what changed: call it after a version
    /// is pushed, activated or deactivated, after its properties change, and after it is
    /// deleted. Triggers that stay the same keep their state (watermarks, checkpoints); new
    /// ones start from now (time) or from the next signal (signal).
    pub async fn refresh_triggers(&self, workflow_id: &str) -> Result<()> {
        let group = self.inner.ownership.group_of_workflow(workflow_id);
        if !self.inner.ownership.owns(group) {
            // Cluster mode: the owner of the workflow's group runs its triggers (it is told
            // of the change through the store's notifications).
            crate::cluster::notice::send(
                self,
                crate::cluster::notice::workflow_changed(self, workflow_id),
            )
            .await;
            return Ok(());
        }
        let configured = configured(self.inner.store.as_ref(), workflow_id).await?;
        if let Some(h) = self.inner.triggers.time_handle() {
            h.refresh(workflow_id, configured.clone()).await?;
        }
        self.inner
            .triggers
            .signal
            .refresh(self, workflow_id, &configured)
            .await
    }

    /// [`Engine::refresh_triggers`] after a change that has already been made durable: a
    /// failure here must not turn that change into an error, so it is logged (the triggers are
    /// re-read at the next start of the engine).
    pub(crate) async fn refresh_triggers_logged(&self, workflow_id: &str) {
        if let Err(e) = self.refresh_triggers(workflow_id).await {
            tracing::error!(workflow_id, error = %e, "cannot refresh the workflow's triggers");
        }
    }

    /// Every trigger of every workflow with its state (`baton triggers list`).
    pub async fn list_triggers(&self) -> Result<Vec<TriggerInfo>> {
        list_triggers(
            self.inner.store.as_ref(),
            self.inner.config.clock.now_millis(),
        )
        .await
    }
}

/// One trigger as `baton triggers list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerInfo {
    pub workflow_id: String,
    /// `TIME` or `SIGNAL`.
    pub kind: String,
    /// The time-trigger set's uuid (shared by all time triggers of a version) or the signal
    /// trigger's.
    pub trigger_uuid: String,
    /// The trigger as defined.
    pub definition: serde_json::Value,
    /// Whether it fires now.
    pub enabled: bool,
    /// Why not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Time triggers: the last fire time handled (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fire_time: Option<i64>,
    /// Time triggers: the next fire time (ms, jitter included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_fire_time: Option<i64>,
    /// Signal triggers: last consumed sequence id per signal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<IndexMap<String, i64>>,
}

/// Every trigger of every workflow in `store` with its state, reading only (no engine needed).
pub async fn list_triggers(store: &dyn Store, now_millis: i64) -> Result<Vec<TriggerInfo>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_workflows(after.as_deref(), 500).await?;
        let Some(last) = page.last().map(|w| w.workflow_id.clone()) else {
            break;
        };
        for row in &page {
            let c = configured(store, &row.workflow_id).await?;
            let states = store.list_triggers(Some(&row.workflow_id)).await?;
            out.extend(describe(&row.workflow_id, &c, &states, now_millis));
        }
        after = Some(last);
    }
    Ok(out)
}

fn describe(
    workflow_id: &str,
    c: &Configured,
    states: &[baton_store::TriggerRow],
    now: i64,
) -> Vec<TriggerInfo> {
    let mut out = Vec::new();
    let Some(def) = &c.definition else {
        return out;
    };
    let inactive = (c.version_id == 0).then(|| "the workflow has no active version".to_string());
    if let Some(triggers) = def.time_triggers.as_ref().filter(|t| !t.is_empty()) {
        let uuid = time_trigger_uuid(triggers);
        let state = states
            .iter()
            .find(|s| s.kind == TIME && s.trigger_uuid == uuid)
            .and_then(|s| serde_json::from_str::<time::TimeState>(&s.state).ok());
        for (i, t) in triggers.iter().enumerate() {
            let schedule = schedule::Schedule::new(t, workflow_id);
            let reason = inactive
                .clone()
                .or_else(|| {
                    c.time_disabled
                        .then(|| "time_trigger_disabled is set".to_string())
                })
                .or_else(|| schedule.as_ref().err().cloned());
            let last = state.as_ref().and_then(|s| s.watermarks.get(i).copied());
            let next = schedule
                .as_ref()
                .ok()
                .and_then(|s| s.next_after(last.unwrap_or(now)).map(|n| n + s.jitter_ms));
            out.push(TriggerInfo {
                workflow_id: workflow_id.to_string(),
                kind: TIME.to_string(),
                trigger_uuid: uuid.clone(),
                definition: serde_json::to_value(t).unwrap_or_default(),
                enabled: reason.is_none(),
                disabled_reason: reason,
                last_fire_time: last,
                next_fire_time: next,
                checkpoints: None,
            });
        }
    }
    for t in def.signal_triggers.iter().flatten() {
        let uuid = signal_trigger_uuid(t);
        let state = states
            .iter()
            .find(|s| s.kind == SIGNAL && s.trigger_uuid == uuid)
            .and_then(|s| serde_json::from_str::<signal::SignalState>(&s.state).ok());
        let reason = inactive.clone().or_else(|| {
            c.signal_disabled
                .then(|| "signal_trigger_disabled is set".to_string())
        });
        out.push(TriggerInfo {
            workflow_id: workflow_id.to_string(),
            kind: SIGNAL.to_string(),
            trigger_uuid: uuid,
            definition: serde_json::to_value(t).unwrap_or_default(),
            enabled: reason.is_none(),
            disabled_reason: reason,
            last_fire_time: None,
            next_fire_time: None,
            checkpoints: state.map(|s| s.checkpoints),
        });
    }
    out
}
