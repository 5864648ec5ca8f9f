//! Run-strategy queues (maestro-model.md §4.1–§4.2): every new run of a workflow enters its
//! workflow's queue; a run leaves it when fewer than `workflow_concurrency` runs are going.
//!
//! The counts live in memory, one async lock per workflow, loaded from the store on first use:
//! admitting a run that can start at once costs a single write (the insert itself, with
//! `queued = false`), and a run that ends pulls the next queued ones. The store stays the truth:
//! the counts are rebuilt from it after a restart.
//!
//! Implemented here: SEQUENTIAL and PARALLEL (FIFO by instance id, bounded concurrency). The
//! other rules (STRICT_SEQUENTIAL, FIRST_ONLY, LAST_ONLY, SERIAL_LATEST_ONLY) currently queue like
//! SEQUENTIAL; their own admission rules come with the run-strategy work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_model::api::{InstanceRunStatus, WorkflowStartResponse};
use baton_model::definition::RunStrategy;
use baton_model::instance::{WorkflowInstance, WorkflowInstanceStatus};
use baton_store::{
    CreateInstanceOutcome, InstanceUpdate, NewInstance, RunKey, WriteOp, WriteOutcome,
};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::persist;

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

impl Queues {
    fn slot(&self, workflow_id: &str) -> Arc<tokio::sync::Mutex<QueueState>> {
        let mut map = match self.by_workflow.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(workflow_id.to_string()).or_default().clone()
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

    /// Persists a new run and starts it if its workflow's run strategy has room, else leaves it
    /// queued. A run that failed at creation (`persist_failed_run`) is stored as it is.
    pub async fn submit(
        &self,
        engine: &Engine,
        mut instance: WorkflowInstance,
        strategy: RunStrategy,
    ) -> Result<WorkflowStartResponse> {
        let slot = self.slot(&instance.workflow_id);
        let mut st = slot.lock().await;
        Self::load(engine, &instance.workflow_id, &mut st).await?;
        let terminal = instance.status.is_terminal();
        let run_now =
            !terminal && st.queued == 0 && st.running < strategy.workflow_concurrency.max(1);
        let document = persist::instance_document(&instance)?;
        let new = NewInstance {
            workflow_id: instance.workflow_id.clone(),
            instance_id: None,
            run_id: instance.workflow_run_id,
            uuid: instance.workflow_uuid.clone(),
            correlation_id: instance.correlation_id.clone(),
            initiator_type: instance.initiator.initiator_type().as_str().to_string(),
            depth: instance.initiator.depth() as i64,
            parent: None,
            group_id: 0,
            status: instance.status.as_str().to_string(),
            queued: !terminal && !run_now,
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
        let outcome = engine
            .inner
            .store
            .write(vec![WriteOp::CreateInstance(new)])
            .await?;
        match outcome.first() {
            Some(WriteOutcome::Instance(CreateInstanceOutcome::Created {
                instance_id,
                run_id,
                correlation_id,
            })) => {
                instance.workflow_instance_id = *instance_id;
                instance.workflow_run_id = *run_id;
                instance.correlation_id = Some(correlation_id.clone());
                let response = crate::start::start_response(
                    &instance,
                    if terminal {
                        InstanceRunStatus::InternalError
                    } else {
                        InstanceRunStatus::Created
                    },
                    None,
                );
                if terminal {
                    return Ok(response);
                }
                if run_now {
                    st.running += 1;
                    drop(st);
                    crate::run::spawn(engine, instance, Vec::new()).await?;
                } else {
                    st.queued += 1;
                }
                Ok(response)
            }
            Some(WriteOutcome::Instance(CreateInstanceOutcome::Duplicated {
                instance_id,
                run_id,
            })) => {
                instance.workflow_instance_id = *instance_id;
                instance.workflow_run_id = *run_id;
                Ok(crate::start::start_response(
                    &instance,
                    InstanceRunStatus::Duplicated,
                    None,
                ))
            }
            other => Err(EngineError::Internal(format!(
                "instance create returned {other:?}"
            ))),
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

    /// Starts queued runs of a workflow while its strategy has room (also used at start-up).
    pub async fn drain(&self, engine: &Engine, workflow_id: &str) -> Result<()> {
        let slot = self.slot(workflow_id);
        let mut st = slot.lock().await;
        Self::load(engine, workflow_id, &mut st).await?;
        self.dequeue(engine, workflow_id, &mut st).await
    }

    async fn dequeue(&self, engine: &Engine, workflow_id: &str, st: &mut QueueState) -> Result<()> {
        if st.queued <= 0 {
            return Ok(());
        }
        let Some(row) = engine.inner.store.get_workflow(workflow_id).await? else {
            return Ok(());
        };
        let strategy =
            crate::workflows::parse_snapshot(&row.properties_snapshot)?.run_strategy_or_default();
        let room = strategy.workflow_concurrency.max(1) - st.running;
        if room <= 0 {
            return Ok(());
        }
        let rows = engine
            .inner
            .store
            .list_queued_runs(workflow_id, room as usize)
            .await?;
        for row in rows {
            let key: RunKey = row.key.clone();
            let update = InstanceUpdate {
                key: key.clone(),
                expect_status: Some(vec![WorkflowInstanceStatus::Created.as_str().to_string()]),
                queued: Some(false),
                modify_ts: crate::clock::now_millis(),
                ..InstanceUpdate::default()
            };
            match engine
                .inner
                .store
                .write(vec![WriteOp::UpdateInstance(update)])
                .await
            {
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
