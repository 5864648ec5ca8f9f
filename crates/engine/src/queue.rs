//! Run-strategy queues (maestro-model.md §4.1–§4.2): every new run of a workflow (a start, a
//! subworkflow child) goes through its workflow's run strategy, which runs it at once, queues it,
//! or stores it STOPPED:
//!
//! - SEQUENTIAL / PARALLEL: FIFO by instance id, at most 1 / `workflow_concurrency` running.
//! - STRICT_SEQUENTIAL: like SEQUENTIAL, but nothing leaves the queue while a run of the
//!   workflow has the raw status `FAILED`; `unblock` turns it into `FAILED_1`.
//! - FIRST_ONLY: a new run is stored STOPPED while another run is queued or running.
//! - LAST_ONLY: a new run stops every queued run and the running one; it runs once that ended.
//! - SERIAL_LATEST_ONLY: a new run stops every queued run and waits for the running one.
//!
//! The counts live in memory, one async lock per workflow, loaded from the store on first use:
//! admitting a run that can start at once costs a single write (the insert itself, with
//! `queued = false`), and a run that ends pulls the next. Every decision is a write before it
//! is acted on (a run leaves the queue by a conditional update, stopped runs are stored
//! STOPPED in the same write that queues the newcomer), so the store stays the truth and the
//! counts are rebuilt from it after a restart. Foreach and while iterations bypass the queues:
//! their loop step limits them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_model::api::{InstanceRunStatus, WorkflowStartResponse};
use baton_model::definition::{RunStrategy, RunStrategyRule};
use baton_model::instance::{Timeline, TimelineEvent, WorkflowInstance, WorkflowInstanceStatus};
use baton_store::{
    CreateInstanceOutcome, InstanceRow, InstanceUpdate, NewInstance, ParentRef, RunKey, WriteOp,
    WriteOutcome,
};

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::persist;
use crate::run::RunAction;

/// Raw statuses of runs that are not terminal.
const ACTIVE: [&str; 3] = ["CREATED", "IN_PROGRESS", "PAUSED"];

#[derive(Default)]
struct QueueState {
    loaded: bool,
    /// Runs that left the queue and are not terminal.
    running: i64,
    /// Runs waiting in the queue.
    queued: i64,
}

/// The queues of every workflow this engine has seen.
#[derive(Default)]
pub(crate) struct Queues {
    by_workflow: Mutex<HashMap<String, Arc<tokio::sync::Mutex<QueueState>>>>,
}

/// How many runs of a strategy may run at once.
fn concurrency(strategy: &RunStrategy) -> i64 {
    match strategy.rule {
        RunStrategyRule::Parallel => strategy.workflow_concurrency.max(1),
        _ => 1,
    }
}

impl Queues {
    fn slot(&self, workflow_id: &str) -> Arc<tokio::sync::Mutex<QueueState>> {
        let mut map = match self.by_workflow.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(workflow_id.to_string()).or_default().clone()
    }

    /// Forgets every workflow's counts (cluster mode: groups moved, so other nodes may have
    /// changed them); each is loaded from the store again at its next use.
    pub async fn forget_all(&self) {
        let slots: Vec<_> = match self.by_workflow.lock() {
            Ok(m) => m.values().cloned().collect(),
            Err(p) => p.into_inner().values().cloned().collect(),
        };
        for slot in slots {
            slot.lock().await.loaded = false;
        }
    }

    async fn load(engine: &Engine, workflow_id: &str, st: &mut QueueState) -> Result<()> {
        if !st.loaded {
            let store = &engine.inner.store;
            st.running = store.count_running_runs(workflow_id).await?;
            st.queued = store
                .list_queued_runs(workflow_id, usize::MAX >> 1)
                .await?
                .len() as i64;
            st.loaded = true;
        }
        Ok(())
    }

    /// Persists a new run and starts it, queues it or stores it STOPPED, as its workflow's run
    /// strategy says. A run that failed at creation (`persist_failed_run`) is stored as it is.
    pub async fn submit(
        &self,
        engine: &Engine,
        instance: WorkflowInstance,
        strategy: RunStrategy,
    ) -> Result<WorkflowStartResponse> {
        self.submit_with(engine, instance, strategy, Vec::new())
            .await
    }

    /// [`Queues::submit`] with more ops written atomically with the new run (a restart marks
    /// the instance's earlier FAILED runs `FAILED_2`). A run with a non-zero instance id is a
    /// new run of that instance (a restart); otherwise the next instance id is allocated.
    pub async fn submit_with(
        &self,
        engine: &Engine,
        mut instance: WorkflowInstance,
        strategy: RunStrategy,
        extra_ops: Vec<WriteOp>,
    ) -> Result<WorkflowStartResponse> {
        let restarting =
            (instance.workflow_instance_id > 0).then_some(instance.workflow_instance_id);
        // Cluster mode: the queue of a workflow lives with its group's owner.
        let group = engine.inner.ownership.group_of(&instance);
        engine.require_owner(group).await?;
        let slot = self.slot(&instance.workflow_id);
        let mut st = slot.lock().await;
        Self::load(engine, &instance.workflow_id, &mut st).await?;
        let terminal = instance.status.is_terminal();
        let now = now_millis();
        let mut supersede: Vec<InstanceRow> = Vec::new();
        let mut stop_running = false;
        let (run_now, store_stopped) = if terminal {
            (false, false)
        } else {
            match strategy.rule {
                RunStrategyRule::FirstOnly => {
                    let busy = st.running + st.queued > 0;
                    (!busy, busy)
                }
                RunStrategyRule::LastOnly | RunStrategyRule::SerialLatestOnly => {
                    supersede = engine
                        .inner
                        .store
                        .list_queued_runs(&instance.workflow_id, usize::MAX >> 1)
                        .await?;
                    stop_running = strategy.rule == RunStrategyRule::LastOnly && st.running > 0;
                    (st.running == 0, false)
                }
                RunStrategyRule::StrictSequential => {
                    let free = st.queued == 0 && st.running < 1;
                    (
                        free && !has_failed_run_except(engine, &instance.workflow_id, restarting)
                            .await?,
                        false,
                    )
                }
                RunStrategyRule::Sequential | RunStrategyRule::Parallel => {
                    (st.queued == 0 && st.running < concurrency(&strategy), false)
                }
            }
        };
        let mut event = None;
        if store_stopped {
            let e = TimelineEvent::info(
                now,
                "Workflow instance status is set to [STOPPED] by the FIRST_ONLY run strategy as another instance is queued or running",
            );
            instance.status = WorkflowInstanceStatus::Stopped;
            instance.end_time = Some(now);
            instance
                .timeline
                .get_or_insert_with(Timeline::default)
                .add(e.clone());
            event = Some(e);
        }
        let stored_terminal = terminal || store_stopped;
        let document = persist::instance_document(&instance)?;
        let new = NewInstance {
            workflow_id: instance.workflow_id.clone(),
            instance_id: restarting,
            run_id: instance.workflow_run_id,
            uuid: instance.workflow_uuid.clone(),
            correlation_id: instance.correlation_id.clone(),
            initiator_type: instance.initiator.initiator_type().as_str().to_string(),
            depth: instance.initiator.depth() as i64,
            parent: instance.initiator.parent().map(|p| ParentRef {
                run: RunKey {
                    workflow_id: p.workflow_id.clone(),
                    instance_id: p.instance_id,
                    run_id: p.run_id,
                },
                step_id: p.step_id.clone(),
                attempt_id: p.step_attempt_id,
            }),
            group_id: group,
            status: instance.status.as_str().to_string(),
            queued: !stored_terminal && !run_now,
            create_ts: instance.create_time.unwrap_or(0),
            start_ts: None,
            end_ts: instance.end_time,
            instance: document,
            timeline: instance
                .timeline
                .as_ref()
                .map(persist::timeline_json)
                .transpose()?,
        };
        let ops = engine.inner.ownership.fenced(
            group,
            std::iter::once(WriteOp::CreateInstance(new))
                .chain(extra_ops)
                .collect(),
        )?;
        // A run that starts at once under SEQUENTIAL or PARALLEL takes its slot now and lets go
        // of the lock before the insert commits, so starts of one workflow share commits (group
        // commit) instead of waiting for each other's fsync. The other rules decide from what
        // is stored and keep the lock across the write.
        let reserved = run_now
            && !stored_terminal
            && supersede.is_empty()
            && !stop_running
            && matches!(
                strategy.rule,
                RunStrategyRule::Sequential | RunStrategyRule::Parallel
            );
        let mut guard = Some(st);
        if reserved && let Some(mut st) = guard.take() {
            st.running += 1;
        }
        let outcome = match engine.inner.store.write(ops).await {
            Ok(outcome) => outcome,
            Err(e) => {
                drop(guard);
                if reserved {
                    self.release_slot(engine, &instance.workflow_id).await;
                }
                return Err(e.into());
            }
        };
        // A fence may come first, the extra ops after.
        match outcome
            .iter()
            .find(|o| matches!(o, WriteOutcome::Instance(_)))
        {
            Some(WriteOutcome::Instance(CreateInstanceOutcome::Created {
                instance_id,
                run_id,
                correlation_id,
            })) => {
                instance.workflow_instance_id = *instance_id;
                instance.workflow_run_id = *run_id;
                instance.correlation_id = Some(correlation_id.clone());
                // The newcomer is durable; now the runs it supersedes. A crash in between is
                // repaired at start-up (`drain` keeps only the newest queued run).
                let reason = format!(
                    "Workflow instance status is set to [STOPPED] by the {} run strategy: a newer instance arrived",
                    strategy.rule.as_str()
                );
                let stopped = stop_queued_rows(engine, &supersede, &reason).await?;
                if let Some(st) = guard.as_mut() {
                    st.queued -= stopped;
                }
                let status = if terminal {
                    InstanceRunStatus::InternalError
                } else if store_stopped {
                    InstanceRunStatus::Stopped
                } else {
                    InstanceRunStatus::Created
                };
                let response = crate::start::start_response(&instance, status, event);
                if stop_running {
                    stop_running_runs(engine, &instance.workflow_id, &strategy).await?;
                }
                if stored_terminal {
                    return Ok(response);
                }
                if run_now {
                    if let Some(mut st) = guard.take() {
                        st.running += 1;
                    }
                    crate::run::spawn(engine, instance, Vec::new()).await?;
                } else if let Some(st) = guard.as_mut() {
                    st.queued += 1;
                }
                Ok(response)
            }
            Some(WriteOutcome::Instance(CreateInstanceOutcome::Duplicated {
                instance_id,
                run_id,
            })) => {
                drop(guard);
                if reserved {
                    self.release_slot(engine, &instance.workflow_id).await;
                }
                instance.workflow_instance_id = *instance_id;
                instance.workflow_run_id = *run_id;
                Ok(crate::start::start_response(
                    &instance,
                    InstanceRunStatus::Duplicated,
                    None,
                ))
            }
            other => {
                drop(guard);
                if reserved {
                    self.release_slot(engine, &instance.workflow_id).await;
                }
                Err(EngineError::Internal(format!(
                    "instance create returned {other:?}"
                )))
            }
        }
    }

    /// Gives back a slot taken for a run that was not created after all (a duplicate, a failed
    /// write), and starts what queued behind it meanwhile.
    async fn release_slot(&self, engine: &Engine, workflow_id: &str) {
        let slot = self.slot(workflow_id);
        let mut st = slot.lock().await;
        st.running = (st.running - 1).max(0);
        if let Err(e) = self.dequeue(engine, workflow_id, &mut st).await {
            tracing::warn!(workflow_id, error = %e, "cannot start queued runs after a released slot");
        }
    }

    /// Ends a run that still waits in its queue (never started) with `status`, under the
    /// queue's lock so it cannot be dequeued meanwhile. False when the run is no longer queued
    /// (it started, or ended) — the caller then acts on the live run instead.
    pub async fn terminate_queued(
        &self,
        engine: &Engine,
        key: &RunKey,
        status: WorkflowInstanceStatus,
        timeline: Option<String>,
    ) -> Result<bool> {
        let slot = self.slot(&key.workflow_id);
        let mut st = slot.lock().await;
        let row = engine
            .inner
            .store
            .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
            .await?;
        let Some(row) = row else { return Ok(false) };
        if !row.queued || row.status != WorkflowInstanceStatus::Created.as_str() {
            return Ok(false);
        }
        let now = crate::clock::now_millis();
        let update = InstanceUpdate {
            key: key.clone(),
            expect_status: Some(vec![WorkflowInstanceStatus::Created.as_str().to_string()]),
            status: Some(status.as_str().to_string()),
            queued: Some(false),
            end_ts: Some(now),
            modify_ts: now,
            timeline,
            ..InstanceUpdate::default()
        };
        engine
            .inner
            .store
            .write(vec![WriteOp::UpdateInstance(update)])
            .await?;
        if st.loaded {
            st.queued = (st.queued - 1).max(0);
        }
        engine.publish(crate::engine::EngineEvent::Run {
            run: key.clone(),
            status,
        });
        // A queued subworkflow child stopped by a user: its parent step must hear of it.
        notify_parent_of_ended(engine, &row, status);
        Ok(true)
    }

    /// Called when a dequeued run of `workflow_id` reaches a terminal status: frees its slot and
    /// starts the next queued runs.
    pub async fn run_ended(&self, engine: &Engine, workflow_id: &str) -> Result<()> {
        let slot = self.slot(workflow_id);
        let mut st = slot.lock().await;
        if st.loaded {
            st.running = (st.running - 1).max(0);
        }
        Self::load(engine, workflow_id, &mut st).await?;
        self.dequeue(engine, workflow_id, &mut st).await
    }

    /// Starts queued runs of a workflow while its strategy has room (also used at start-up,
    /// when a LAST_ONLY newcomer that was queued behind a running run stops that run again).
    pub async fn drain(&self, engine: &Engine, workflow_id: &str) -> Result<()> {
        let slot = self.slot(workflow_id);
        let mut st = slot.lock().await;
        Self::load(engine, workflow_id, &mut st).await?;
        let strategy = current_strategy(engine, workflow_id).await?;
        if let Some(s) = strategy
            && matches!(
                s.rule,
                RunStrategyRule::LastOnly | RunStrategyRule::SerialLatestOnly
            )
            && st.queued > 0
        {
            // Only the newest queued run may stay queued; under LAST_ONLY it also stops the
            // running one (an interrupted arrival finishes its work here).
            let mut queued = engine
                .inner
                .store
                .list_queued_runs(workflow_id, usize::MAX >> 1)
                .await?;
            queued.pop();
            let reason = format!(
                "Workflow instance status is set to [STOPPED] by the {} run strategy: a newer instance arrived",
                s.rule.as_str()
            );
            let stopped = stop_queued_rows(engine, &queued, &reason).await?;
            st.queued -= stopped;
            if s.rule == RunStrategyRule::LastOnly && st.running > 0 {
                stop_running_runs(engine, workflow_id, &s).await?;
            }
        }
        self.dequeue(engine, workflow_id, &mut st).await
    }

    /// Dequeues after a STRICT_SEQUENTIAL queue may have been unblocked.
    pub async fn recheck(&self, engine: &Engine, workflow_id: &str) -> Result<()> {
        let slot = self.slot(workflow_id);
        let mut st = slot.lock().await;
        Self::load(engine, workflow_id, &mut st).await?;
        self.dequeue(engine, workflow_id, &mut st).await
    }

    /// Stores a queued run as STOPPED (its parent step was stopped). False when the run was not
    /// queued (any more).
    pub async fn stop_queued(&self, engine: &Engine, key: &RunKey, reason: &str) -> Result<bool> {
        let slot = self.slot(&key.workflow_id);
        let mut st = slot.lock().await;
        Self::load(engine, &key.workflow_id, &mut st).await?;
        let Some(row) = engine
            .inner
            .store
            .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
            .await?
        else {
            return Ok(false);
        };
        if !row.queued || row.status != WorkflowInstanceStatus::Created.as_str() {
            return Ok(false);
        }
        let update = stop_update(&row, reason, now_millis())?;
        match engine
            .inner
            .store
            .write(vec![WriteOp::UpdateInstance(update)])
            .await
        {
            Ok(_) => {
                st.queued = (st.queued - 1).max(0);
                Ok(true)
            }
            Err(baton_store::StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn dequeue(&self, engine: &Engine, workflow_id: &str, st: &mut QueueState) -> Result<()> {
        if st.queued <= 0 {
            return Ok(());
        }
        let Some(strategy) = current_strategy(engine, workflow_id).await? else {
            return Ok(());
        };
        // STRICT_SEQUENTIAL: nothing leaves the queue while a run is FAILED (asked of the store
        // each time: an unblock or a failure elsewhere changes it).
        if strategy.rule == RunStrategyRule::StrictSequential
            && has_failed_run(engine, workflow_id).await?
        {
            return Ok(());
        }
        let room = concurrency(&strategy) - st.running;
        if room <= 0 {
            return Ok(());
        }
        let rows = engine
            .inner
            .store
            .list_queued_runs(workflow_id, room as usize)
            .await?;
        if rows.is_empty() {
            // The count was stale (runs stopped while queued).
            st.queued = 0;
        }
        for row in rows {
            let key: RunKey = row.key.clone();
            let update = InstanceUpdate {
                key: key.clone(),
                expect_status: Some(vec![WorkflowInstanceStatus::Created.as_str().to_string()]),
                queued: Some(false),
                modify_ts: now_millis(),
                ..InstanceUpdate::default()
            };
            let ops = engine
                .inner
                .ownership
                .fenced(row.group_id, vec![WriteOp::UpdateInstance(update)])?;
            match engine.inner.store.write(ops).await {
                Ok(_) => {
                    st.queued -= 1;
                    st.running += 1;
                    let instance = persist::instance_from_row(&row)?;
                    crate::run::spawn(engine, instance, Vec::new()).await?;
                }
                Err(baton_store::StoreError::Conflict(_)) => {
                    // Stopped while queued; it no longer counts.
                    st.queued -= 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// The run strategy in the workflow's current properties (read at dequeue time, as Maestro).
async fn current_strategy(engine: &Engine, workflow_id: &str) -> Result<Option<RunStrategy>> {
    let Some(row) = engine.inner.store.get_workflow(workflow_id).await? else {
        return Ok(None);
    };
    Ok(Some(
        crate::workflows::parse_snapshot(&row.properties_snapshot)?.run_strategy_or_default(),
    ))
}

/// Whether a run of another instance than `except` (the one being restarted, whose FAILED run
/// stops blocking in the same write) has the raw status `FAILED`.
async fn has_failed_run_except(
    engine: &Engine,
    workflow_id: &str,
    except: Option<i64>,
) -> Result<bool> {
    let Some(except) = except else {
        return has_failed_run(engine, workflow_id).await;
    };
    // An instance has few runs: a page a little larger than them finds any other instance.
    Ok(engine
        .inner
        .store
        .list_runs_with_status(workflow_id, &["FAILED".to_string()], None, 64)
        .await?
        .iter()
        .any(|r| r.key.instance_id != except))
}

async fn has_failed_run(engine: &Engine, workflow_id: &str) -> Result<bool> {
    Ok(!engine
        .inner
        .store
        .list_runs_with_status(workflow_id, &["FAILED".to_string()], None, 1)
        .await?
        .is_empty())
}

/// The update that stores a queued run as STOPPED, with a timeline entry saying why.
fn stop_update(row: &InstanceRow, reason: &str, now: i64) -> Result<InstanceUpdate> {
    let mut timeline: Timeline = row
        .timeline
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    timeline.add(TimelineEvent::info(now, reason));
    Ok(InstanceUpdate {
        key: row.key.clone(),
        expect_status: Some(vec![WorkflowInstanceStatus::Created.as_str().to_string()]),
        status: Some(WorkflowInstanceStatus::Stopped.as_str().to_string()),
        queued: Some(false),
        end_ts: Some(now),
        modify_ts: now,
        timeline: Some(persist::timeline_json(&timeline)?),
        ..InstanceUpdate::default()
    })
}

/// Stores queued runs as STOPPED; returns how many were still queued.
async fn stop_queued_rows(engine: &Engine, rows: &[InstanceRow], reason: &str) -> Result<i64> {
    let mut stopped = 0;
    let now = now_millis();
    for row in rows {
        let update = stop_update(row, reason, now)?;
        match engine
            .inner
            .store
            .write(vec![WriteOp::UpdateInstance(update)])
            .await
        {
            Ok(_) => {
                stopped += 1;
                notify_parent_of_stopped(engine, row);
            }
            Err(baton_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(stopped)
}

/// A queued child run was stopped without ever running: its parent step must hear of it.
fn notify_parent_of_stopped(engine: &Engine, row: &InstanceRow) {
    notify_parent_of_ended(engine, row, WorkflowInstanceStatus::Stopped);
}

/// A queued child run ended (`status`) without ever running: its parent step must hear of it.
fn notify_parent_of_ended(engine: &Engine, row: &InstanceRow, status: WorkflowInstanceStatus) {
    let Some(parent) = &row.parent else {
        return;
    };
    let tx = engine
        .inner
        .runs
        .lock()
        .ok()
        .and_then(|r| r.get(&parent.run).cloned());
    if let Some(tx) = tx {
        let _ = tx.send(crate::run::RunMsg::ChildEnded(Box::new(
            crate::run::ChildEnded {
                step_id: parent.step_id.clone(),
                attempt_id: parent.attempt_id,
                child: row.key.clone(),
                status,
                overview: None,
            },
        )));
    }
}

/// LAST_ONLY: stop the running runs so the newest one can run. Not awaited: each stopped run
/// frees its slot through `run_ended`, which dequeues the newcomer.
async fn stop_running_runs(
    engine: &Engine,
    workflow_id: &str,
    strategy: &RunStrategy,
) -> Result<()> {
    let statuses: Vec<String> = ACTIVE.iter().map(|s| s.to_string()).collect();
    let rows = engine
        .inner
        .store
        .list_runs_with_status(workflow_id, &statuses, Some(false), 1000)
        .await?;
    let reason = format!(
        "stopped by the {} run strategy: a newer instance arrived",
        strategy.rule.as_str()
    );
    for row in rows {
        let engine = engine.clone();
        let reason = reason.clone();
        tokio::spawn(async move {
            if let Err(e) = engine
                .act_on_run(&row.key, RunAction::Stop, None, Some(reason))
                .await
            {
                tracing::debug!(run = ?row.key, error = %e, "run strategy could not stop a run");
            }
        });
    }
    Ok(())
}

impl Engine {
    /// STRICT_SEQUENTIAL `unblock` of one instance (§7.5): its latest run's raw status `FAILED`
    /// becomes `FAILED_1`, which still reads as FAILED but no longer blocks the queue.
    /// `user`, when known, is named in the run's timeline.
    pub async fn unblock_instance(
        &self,
        workflow_id: &str,
        instance_id: i64,
        user: Option<&baton_model::definition::User>,
    ) -> Result<()> {
        self.require_owner(self.group_of_workflow(workflow_id))
            .await?;
        let row = self
            .inner
            .store
            .get_instance_run(workflow_id, instance_id, None)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "Cannot find workflow instance [{workflow_id}][{instance_id}]"
                ))
            })?;
        match row.status.as_str() {
            "FAILED" => {
                self.set_unblocked(&row, user).await?;
            }
            "FAILED_1" | "FAILED_2" => {}
            other => {
                return Err(EngineError::Conflict(format!(
                    "Cannot unblock workflow instance [{workflow_id}][{instance_id}] in status [{}]: only a FAILED instance can be unblocked",
                    WorkflowInstanceStatus::from_raw(other)
                        .map(|s| s.as_str())
                        .unwrap_or(other)
                )));
            }
        }
        self.inner.queues.recheck(self, workflow_id).await
    }

    /// STRICT_SEQUENTIAL `unblock` of a whole workflow (§7.4): every FAILED run is unblocked,
    /// in batches of 100. Returns how many.
    pub async fn unblock_workflow(
        &self,
        workflow_id: &str,
        user: Option<&baton_model::definition::User>,
    ) -> Result<usize> {
        self.workflow_row(workflow_id).await?;
        self.require_owner(self.group_of_workflow(workflow_id))
            .await?;
        let mut total = 0;
        loop {
            let rows = self
                .inner
                .store
                .list_runs_with_status(workflow_id, &["FAILED".to_string()], None, 100)
                .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                self.set_unblocked(row, user).await?;
            }
            total += rows.len();
        }
        self.inner.queues.recheck(self, workflow_id).await?;
        Ok(total)
    }

    async fn set_unblocked(
        &self,
        row: &InstanceRow,
        user: Option<&baton_model::definition::User>,
    ) -> Result<()> {
        let now = now_millis();
        let mut timeline: Timeline = row
            .timeline
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        timeline.add(TimelineEvent::Action(baton_model::instance::ActionEvent {
            timestamp: now,
            action: Some("UNBLOCK".to_string()),
            author: user.cloned(),
            message: Some(match user {
                Some(u) => format!(
                    "Workflow instance is unblocked for the STRICT_SEQUENTIAL run strategy by user [{}]",
                    u.name
                ),
                None => "Workflow instance is unblocked for the STRICT_SEQUENTIAL run strategy"
                    .to_string(),
            }),
            reason: None,
            info: None,
        }));
        let update = InstanceUpdate {
            key: row.key.clone(),
            expect_status: Some(vec!["FAILED".to_string()]),
            status: Some("FAILED_1".to_string()),
            modify_ts: now,
            timeline: Some(persist::timeline_json(&timeline)?),
            ..InstanceUpdate::default()
        };
        match self
            .inner
            .store
            .write(vec![WriteOp::UpdateInstance(update)])
            .await
        {
            Ok(_) | Err(baton_store::StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
