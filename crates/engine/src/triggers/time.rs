//! The time-trigger scheduler: one task that knows every live time trigger, sleeps on the
//! engine's [`Clock`](crate::clock::Clock) until the earliest due fire time, and starts the runs
//! that are due.
//!
//! Durability: each workflow's time triggers have a state row holding one *watermark* per
//! trigger, the last fire time handled. A fire time after the watermark is started (request id
//! derived from workflow, trigger and fire time) and only then is the watermark moved past it.
//! A crash in between repeats the start after the restart, which the request id turns into a
//! duplicate: no fire time is skipped and none runs twice.
//!
//! Catch-up rule: fire times missed while no engine ran are back-filled, oldest first, each with
//! its own `RUN_TS`, up to [`EngineConfig::time_trigger_catch_up`](crate::EngineConfig) of them per
//! trigger (the most recent ones; older ones are skipped with a warning). Maestro back-fills all
//! of them in batches of 100; the bound keeps a long outage of a frequent schedule from
//! flooding the queue on restart while still covering days of hourly or months of daily runs.

use std::collections::{HashMap, VecDeque};

use baton_model::api::WorkflowStartRequest;
use baton_model::instance::{Initiator, TimeInitiator};
use baton_model::params::{ParamDefinition, ParamMap, ParamValue};
use baton_store::{StoreError, TriggerWrite, WriteOp};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::schedule::Schedule;
use super::{Configured, TIME};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::signals::ids::name_uuid;

/// How long the scheduler waits after a start failed for a reason that may pass.
const RETRY_MILLIS: i64 = 5_000;

/// The state row of a workflow's time triggers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TimeState {
    /// Per trigger (in definition order): the last fire time handled, epoch ms.
    pub watermarks: Vec<i64>,
}

enum Cmd {
    Refresh {
        workflow_id: String,
        configured: Box<Configured>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Forget the workflows' entries without touching the store (cluster: their group moved
    /// to another node, which schedules them from the same state rows).
    Unload {
        workflow_ids: Vec<String>,
    },
    Stop,
}

/// The scheduler's mailbox.
#[derive(Clone)]
pub(crate) struct Handle {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl Handle {
    /// Re-reads one workflow's time triggers.
    pub async fn refresh(&self, workflow_id: &str, configured: Configured) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Cmd::Refresh {
                workflow_id: workflow_id.to_string(),
                configured: Box::new(configured),
                reply,
            })
            .map_err(|_| EngineError::Conflict("the time-trigger scheduler has stopped".into()))?;
        answer
            .await
            .map_err(|_| EngineError::Conflict("the time-trigger scheduler has stopped".into()))?
    }

    /// Forgets some workflows' time triggers in memory only.
    pub fn unload(&self, workflow_ids: Vec<String>) {
        let _ = self.tx.send(Cmd::Unload { workflow_ids });
    }

    /// Stops the scheduler.
    pub fn stop(&self) {
        let _ = self.tx.send(Cmd::Stop);
    }
}

/// Starts the scheduler task.
pub(crate) fn spawn(engine: &Engine) -> Handle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(engine.clone(), rx));
    Handle { tx }
}

/// The live time triggers of one workflow.
struct Entry {
    workflow_id: String,
    version_id: i64,
    uuid: String,
    definition: String,
    /// `None` for a trigger that cannot be scheduled (logged when read).
    schedules: Vec<Option<Schedule>>,
    watermarks: Vec<i64>,
    row_version: i64,
    retry_at: Option<i64>,
}

impl Entry {
    fn next_due(&self) -> Option<i64> {
        let next = self
            .schedules
            .iter()
            .zip(&self.watermarks)
            .filter_map(|(s, w)| {
                let s = s.as_ref()?;
                s.next_after(*w).map(|t| t.saturating_add(s.jitter_ms))
            })
            .min()?;
        Some(match self.retry_at {
            Some(r) => next.max(r),
            None => next,
        })
    }
}

async fn run(engine: Engine, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    let clock = engine.inner.config.clock.clone();
    let mut entries: HashMap<String, Entry> = HashMap::new();
    loop {
        let now = clock.now_millis();
        let due: Vec<String> = entries
            .iter()
            .filter(|(_, e)| e.next_due().is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(e) = entries.get_mut(&id) {
                fire_due(&engine, e, now).await;
            }
        }
        let next = entries.values().filter_map(Entry::next_due).min();
        let sleep = async {
            match next {
                Some(t) => clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            cmd = rx.recv() => match cmd {
                None | Some(Cmd::Stop) => return,
                Some(Cmd::Refresh { workflow_id, configured, reply }) => {
                    let result = refresh(&engine, &mut entries, &workflow_id, &configured).await;
                    let _ = reply.send(result);
                }
                Some(Cmd::Unload { workflow_ids }) => {
                    for id in workflow_ids {
                        entries.remove(&id);
                    }
                }
            },
        }
    }
}

/// Starts every fire time that is due and moves the watermarks past them.
async fn fire_due(engine: &Engine, e: &mut Entry, now: i64) {
    let limit = engine.inner.config.time_trigger_catch_up.max(1);
    e.retry_at = None;
    let mut marks = e.watermarks.clone();
    let mut fires: Vec<(i64, usize)> = Vec::new();
    for (i, schedule) in e.schedules.iter().enumerate() {
        let Some(s) = schedule else { continue };
        let mut t = e.watermarks[i];
        let mut due: VecDeque<i64> = VecDeque::new();
        let mut skipped = 0u64;
        while let Some(next) = s.next_after(t) {
            if next.saturating_add(s.jitter_ms) > now {
                break;
            }
            due.push_back(next);
            if due.len() > limit
                && let Some(old) = due.pop_front()
            {
                marks[i] = old;
                skipped += 1;
            }
            t = next;
        }
        if skipped > 0 {
            tracing::warn!(workflow_id = %e.workflow_id, trigger = %s.json, skipped,
                "time trigger missed more fire times than it back-fills; the oldest are skipped");
        }
        fires.extend(due.into_iter().map(|t| (t, i)));
    }
    fires.sort_unstable();
    for (t, i) in fires {
        let Some(s) = e.schedules[i].as_ref() else {
            continue;
        };
        match start(engine, e, s, t, now).await {
            Ok(()) => marks[i] = marks[i].max(t),
            Err(()) => {
                e.retry_at = Some(now + RETRY_MILLIS);
                break;
            }
        }
    }
    if marks != e.watermarks {
        save(engine, e, marks).await;
    }
}

/// Starts the run of fire time `t`; `Err` only when the failure may pass (try again later).
async fn start(
    engine: &Engine,
    e: &Entry,
    s: &Schedule,
    t: i64,
    now: i64,
) -> std::result::Result<(), ()> {
    let mut run_params = ParamMap::new();
    run_params.insert(
        "RUN_TS".to_string(),
        ParamDefinition::literal(ParamValue::Long(t)),
    );
    let request_id = name_uuid(&format!(
        "{}:{}:{}",
        e.workflow_id,
        s.json,
        t.div_euclid(1000)
    ));
    let req = WorkflowStartRequest {
        initiator: Initiator::Time(TimeInitiator {
            trigger_uuid: e.uuid.clone(),
            trigger_time: t,
            timezone: s.timezone.clone(),
            depth: 0,
        }),
        request_time: Some(now),
        request_id: Some(request_id),
        runtime_tags: None,
        run_params: Some(run_params),
        artifacts: None,
        persist_failed_run: true,
    };
    match engine
        .start_workflow(&e.workflow_id, &e.version_id.to_string(), req, None)
        .await
    {
        Ok(resp) => {
            tracing::debug!(workflow_id = %e.workflow_id, fire_time = t, instance_id = resp.workflow_instance_id,
                status = ?resp.status, "time trigger fired");
            Ok(())
        }
        Err(err @ (EngineError::Store(_) | EngineError::Internal(_))) => {
            tracing::warn!(workflow_id = %e.workflow_id, fire_time = t, error = %err, "time trigger start failed; will retry");
            Err(())
        }
        Err(err) => {
            tracing::warn!(workflow_id = %e.workflow_id, fire_time = t, error = %err, "time trigger start refused; skipping this fire time");
            Ok(())
        }
    }
}

/// Persists new watermarks (compare-and-set on the row version).
async fn save(engine: &Engine, e: &mut Entry, marks: Vec<i64>) {
    let state = TimeState {
        watermarks: marks.clone(),
    };
    let write = TriggerWrite {
        workflow_id: e.workflow_id.clone(),
        trigger_uuid: e.uuid.clone(),
        kind: TIME.to_string(),
        definition: e.definition.clone(),
        state: serde_json::to_string(&state).unwrap_or_default(),
        expected_version: e.row_version,
        ts: crate::clock::now_millis(),
    };
    match engine
        .inner
        .store
        .write(vec![WriteOp::PutTrigger(write)])
        .await
    {
        Ok(_) => {
            e.row_version += 1;
            e.watermarks = marks;
        }
        Err(err) => {
            // The starts are durable; repeating them after a reload is harmless (duplicates).
            tracing::warn!(workflow_id = %e.workflow_id, error = %err, "cannot save time trigger watermarks");
            e.retry_at = Some(engine.inner.config.clock.now_millis() + RETRY_MILLIS);
            if let Ok(rows) = engine.inner.store.list_triggers(Some(&e.workflow_id)).await
                && let Some(row) = rows
                    .iter()
                    .find(|r| r.kind == TIME && r.trigger_uuid == e.uuid)
                && let Ok(st) = serde_json::from_str::<TimeState>(&row.state)
                && st.watermarks.len() == e.watermarks.len()
            {
                e.row_version = row.version;
                e.watermarks = st.watermarks;
            }
        }
    }
}

async fn refresh(
    engine: &Engine,
    entries: &mut HashMap<String, Entry>,
    workflow_id: &str,
    configured: &Configured,
) -> Result<()> {
    let store = engine.inner.store.clone();
    let stored: Vec<_> = store
        .list_triggers(Some(workflow_id))
        .await?
        .into_iter()
        .filter(|r| r.kind == TIME)
        .collect();
    let live = configured.live_time();
    let keep = live.as_ref().map(|(uuid, _)| uuid.clone());
    match live {
        None => {
            entries.remove(workflow_id);
        }
        Some((uuid, triggers)) => {
            let same = entries.get(workflow_id).is_some_and(|e| e.uuid == uuid);
            if same {
                if let Some(e) = entries.get_mut(workflow_id) {
                    e.version_id = configured.version_id;
                }
            } else {
                let definition = serde_json::to_string(&triggers)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let schedules: Vec<Option<Schedule>> = triggers
                    .iter()
                    .map(|t| match Schedule::new(t, workflow_id) {
                        Ok(s) => Some(s),
                        Err(err) => {
                            tracing::error!(workflow_id, error = %err, "time trigger cannot be scheduled");
                            None
                        }
                    })
                    .collect();
                let now = engine.inner.config.clock.now_millis();
                let existing = stored.iter().find(|r| r.trigger_uuid == uuid);
                let (watermarks, row_version) = match existing {
                    Some(row) => {
                        let mut marks = serde_json::from_str::<TimeState>(&row.state)
                            .map(|s| s.watermarks)
                            .unwrap_or_default();
                        marks.resize(triggers.len(), now);
                        (marks, row.version)
                    }
                    None => {
                        // A new subscription starts at now: no back-fill before it existed.
                        let marks = vec![now; triggers.len()];
                        let state = TimeState {
                            watermarks: marks.clone(),
                        };
                        let write = TriggerWrite {
                            workflow_id: workflow_id.to_string(),
                            trigger_uuid: uuid.clone(),
                            kind: TIME.to_string(),
                            definition: definition.clone(),
                            state: serde_json::to_string(&state).unwrap_or_default(),
                            expected_version: 0,
                            ts: crate::clock::now_millis(),
                        };
                        match store.write(vec![WriteOp::PutTrigger(write)]).await {
                            Ok(_) => (marks, 1),
                            Err(StoreError::Conflict(m)) => {
                                return Err(EngineError::Conflict(format!(
                                    "time triggers of workflow [{workflow_id}] changed concurrently: {m}"
                                )));
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                };
                entries.insert(
                    workflow_id.to_string(),
                    Entry {
                        workflow_id: workflow_id.to_string(),
                        version_id: configured.version_id,
                        uuid,
                        definition,
                        schedules,
                        watermarks,
                        row_version,
                        retry_at: None,
                    },
                );
            }
        }
    }
    for row in stored {
        if Some(&row.trigger_uuid) != keep.as_ref() {
            store
                .write(vec![WriteOp::DeleteTrigger {
                    workflow_id: row.workflow_id,
                    trigger_uuid: row.trigger_uuid,
                }])
                .await?;
        }
    }
    Ok(())
}
