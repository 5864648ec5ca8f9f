//! Runs and step attempts as the API shows them (maestro-api.md §1.6, §1.9, §1.10): the
//! aggregated view of an instance across its runs, timelines enriched with status events, the
//! step view across runs, instance ranges for id-ranged pagination, and Shell step logs.

use baton_model::instance::{
    StepAggregatedView, StepInstance, StepInstanceStatus, Timeline, TimelineEvent,
    WorkflowInstance, WorkflowInstanceAggregatedInfo, WorkflowInstanceStatus,
};
use baton_store::{InstanceRow, RunKey};
use indexmap::IndexMap;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::persist;

/// How to shape a run read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceViewOptions {
    /// Add STATUS events for the create, start and end times to the timeline.
    pub enriched: bool,
    /// Fill `aggregated_info` (the view across runs).
    pub aggregated: bool,
}

impl Engine {
    /// One run (the latest when `run_id` is `None`) in Maestro's shape.
    pub async fn instance_view(
        &self,
        workflow_id: &str,
        instance_id: i64,
        run_id: Option<i64>,
        options: InstanceViewOptions,
    ) -> Result<WorkflowInstance> {
        let row = self
            .inner
            .store
            .get_instance_run(workflow_id, instance_id, run_id)
            .await?
            .ok_or_else(|| instance_not_found(workflow_id, instance_id, run_id.unwrap_or(0)))?;
        self.shape_run(row, options).await
    }

    /// The lowest and highest instance ids of a workflow, if it has instances.
    pub async fn instance_id_range(&self, workflow_id: &str) -> Result<Option<(i64, i64)>> {
        Ok(self.inner.store.instance_id_range(workflow_id).await?)
    }

    /// The latest run of each instance with `low <= id <= high`, newest first.
    pub async fn instances_in_range(
        &self,
        workflow_id: &str,
        low: i64,
        high: i64,
        options: InstanceViewOptions,
    ) -> Result<Vec<WorkflowInstance>> {
        if high < low {
            return Ok(Vec::new());
        }
        let limit = usize::try_from(high - low + 1).unwrap_or(usize::MAX);
        let rows = self
            .inner
            .store
            .list_instances(workflow_id, high.checked_add(1), limit)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.into_iter().filter(|r| r.key.instance_id >= low) {
            out.push(self.shape_run(row, options).await?);
        }
        Ok(out)
    }

    /// Every run of an instance, oldest first (not-found when it has none).
    pub async fn instance_runs(
        &self,
        workflow_id: &str,
        instance_id: i64,
        options: InstanceViewOptions,
    ) -> Result<Vec<WorkflowInstance>> {
        let rows = self
            .inner
            .store
            .list_instance_runs(workflow_id, instance_id)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.shape_run(row, options).await?);
        }
        Ok(out)
    }

    /// The latest attempt of each step of a run, in step order.
    pub async fn run_steps(&self, run: &RunKey, enriched: bool) -> Result<Vec<StepInstance>> {
        self.require_run(run).await?;
        let mut steps = self.latest_attempts(run).await?;
        if enriched {
            steps.iter_mut().for_each(enrich_step);
        }
        Ok(steps)
    }

    /// The latest attempt of each step of an instance, from the latest run that has the step.
    pub async fn instance_steps(
        &self,
        workflow_id: &str,
        instance_id: i64,
        enriched: bool,
    ) -> Result<Vec<StepInstance>> {
        let runs = self
            .inner
            .store
            .list_instance_runs(workflow_id, instance_id)
            .await?;
        if runs.is_empty() {
            return Err(instance_not_found(workflow_id, instance_id, 0));
        }
        let mut by_step: IndexMap<String, StepInstance> = IndexMap::new();
        for run in &runs {
            for si in self.latest_attempts(&run.key).await? {
                by_step.insert(si.step_id.clone(), si);
            }
        }
        let mut steps: Vec<StepInstance> = by_step.into_values().collect();
        steps.sort_by_key(|s| (s.step_instance_id, s.workflow_run_id));
        if enriched {
            steps.iter_mut().for_each(enrich_step);
        }
        Ok(steps)
    }

    /// One step of an instance: its latest attempt in the latest run that has it.
    pub async fn step_view(
        &self,
        workflow_id: &str,
        instance_id: i64,
        step_id: &str,
        enriched: bool,
    ) -> Result<StepInstance> {
        let runs = self
            .inner
            .store
            .list_instance_runs(workflow_id, instance_id)
            .await?;
        for run in runs.iter().rev() {
            let attempts = self
                .inner
                .store
                .list_attempts_of_step(&run.key, step_id)
                .await?;
            if let Some(last) = attempts.last() {
                let mut si = persist::step_from_row(last)?;
                if enriched {
                    enrich_step(&mut si);
                }
                return Ok(si);
            }
        }
        Err(step_not_found(workflow_id, instance_id, None, step_id))
    }

    /// One attempt of a step in a run (`attempt` `None` = the latest).
    pub async fn step_attempt(
        &self,
        run: &RunKey,
        step_id: &str,
        attempt: Option<i64>,
        enriched: bool,
    ) -> Result<StepInstance> {
        let attempts = self.inner.store.list_attempts_of_step(run, step_id).await?;
        let row = match attempt {
            None => attempts.last(),
            Some(a) => attempts.iter().find(|r| r.key.attempt_id == a),
        };
        let Some(row) = row else {
            self.require_run(run).await?;
            return Err(step_not_found(
                &run.workflow_id,
                run.instance_id,
                Some((run.run_id, attempt)),
                step_id,
            ));
        };
        let mut si = persist::step_from_row(row)?;
        if enriched {
            enrich_step(&mut si);
        }
        Ok(si)
    }

    /// The output of a Shell step attempt (the last `tail_bytes` bytes, or all of it).
    pub async fn step_log(
        &self,
        run: &RunKey,
        step_id: &str,
        attempt: Option<i64>,
        tail_bytes: Option<u64>,
    ) -> Result<String> {
        let si = self.step_attempt(run, step_id, attempt, false).await?;
        let record = si
            .artifacts
            .as_ref()
            .and_then(crate::runtime::shell::LaunchRecord::from_artifacts)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "step [{step_id}] attempt [{}] of workflow instance [{}][{}][{}] has no log: it is not a Shell step or it has not been launched",
                    si.step_attempt_id, run.workflow_id, run.instance_id, run.run_id
                ))
            })?;
        let dir = std::path::PathBuf::from(&record.work_dir);
        tokio::task::spawn_blocking(move || crate::runtime::shell::read_log(&dir, tail_bytes))
            .await
            .map_err(|e| EngineError::Internal(format!("log read task failed: {e}")))?
            .or_else(|e| match e.kind() {
                // Launched, nothing written yet (or the files were cleaned up).
                std::io::ErrorKind::NotFound => Ok(String::new()),
                _ => Err(EngineError::Internal(format!(
                    "cannot read the log of step [{step_id}]: {e}"
                ))),
            })
    }

    async fn require_run(&self, run: &RunKey) -> Result<InstanceRow> {
        self.inner
            .store
            .get_instance_run(&run.workflow_id, run.instance_id, Some(run.run_id))
            .await?
            .ok_or_else(|| instance_not_found(&run.workflow_id, run.instance_id, run.run_id))
    }

    /// A stored run with its overview (computed for a live run), aggregated view and enriched
    /// timeline as asked.
    async fn shape_run(
        &self,
        row: InstanceRow,
        options: InstanceViewOptions,
    ) -> Result<WorkflowInstance> {
        let mut instance = persist::instance_from_row(&row)?;
        let needs_steps = instance.runtime_overview.is_none() || options.aggregated;
        let latest = if needs_steps {
            self.latest_attempts(&row.key).await?
        } else {
            Vec::new()
        };
        if instance.runtime_overview.is_none() {
            instance.runtime_overview = Some(crate::run::compute_overview(
                instance.runtime_dag.len() as i64,
                latest
                    .iter()
                    .map(|si| (si, si.definition.step_type().is_leaf())),
            ));
        }
        if options.aggregated {
            let mut earlier = Vec::new();
            if row.key.run_id > 1 {
                for run in self
                    .inner
                    .store
                    .list_instance_runs(&row.key.workflow_id, row.key.instance_id)
                    .await?
                    .iter()
                    .filter(|r| r.key.run_id < row.key.run_id)
                {
                    earlier.push(self.latest_attempts(&run.key).await?);
                }
            }
            instance.aggregated_info = Some(aggregated_info(&instance, &earlier, &latest));
        } else {
            instance.aggregated_info = None;
        }
        if options.enriched {
            enrich_instance(&mut instance);
        }
        Ok(instance)
    }
}

/// Maestro's not-found message for a run (`run_id` 0 = the latest).
pub fn instance_not_found(workflow_id: &str, instance_id: i64, run_id: i64) -> EngineError {
    EngineError::NotFound(format!(
        "workflow instance [{workflow_id}][{instance_id}][{run_id}] not found (either not created or deleted)"
    ))
}

fn step_not_found(
    workflow_id: &str,
    instance_id: i64,
    run: Option<(i64, Option<i64>)>,
    step_id: &str,
) -> EngineError {
    EngineError::NotFound(match run {
        None => format!(
            "step instance [{step_id}] of workflow instance [{workflow_id}][{instance_id}] not found (either not created or deleted)"
        ),
        Some((run_id, attempt)) => format!(
            "step instance [{step_id}][{}] of workflow instance [{workflow_id}][{instance_id}][{run_id}] not found (either not created or deleted)",
            attempt.map_or("latest".to_string(), |a| a.to_string())
        ),
    })
}

/// The view of an instance across runs (Maestro's `AggregatedViewHelper`): each step's status
/// from the latest run that has it, steps of the definition not created yet as NOT_CREATED.
/// `earlier` holds the latest attempts of each earlier run, oldest first.
pub fn aggregated_info(
    instance: &WorkflowInstance,
    earlier: &[Vec<StepInstance>],
    latest: &[StepInstance],
) -> WorkflowInstanceAggregatedInfo {
    let mut views: IndexMap<String, StepAggregatedView> = IndexMap::new();
    for si in earlier.iter().flatten().chain(latest) {
        let rs = &si.runtime_state;
        views.insert(
            si.step_id.clone(),
            StepAggregatedView {
                workflow_run_id: Some(si.workflow_run_id),
                status: rs.status,
                start_time: rs.start_time,
                end_time: rs.end_time,
            },
        );
    }
    for step in &instance.runtime_workflow.steps {
        if !views.contains_key(&step.id) {
            views.insert(
                step.id.clone(),
                StepAggregatedView {
                    workflow_run_id: None,
                    status: StepInstanceStatus::NotCreated,
                    start_time: None,
                    end_time: None,
                },
            );
        }
    }
    let status = if !instance.status.is_terminal()
        || instance.is_fresh_run()
        || instance.status != WorkflowInstanceStatus::Succeeded
    {
        instance.status
    } else {
        aggregated_status(views.values())
    };
    WorkflowInstanceAggregatedInfo {
        workflow_instance_status: Some(status),
        step_aggregated_views: views,
    }
}

/// The status of a SUCCEEDED restarted run once earlier runs' steps are counted: any failed
/// step fails it, then timed out beats stopped, and a step never created keeps it running.
fn aggregated_status<'a>(
    views: impl Iterator<Item = &'a StepAggregatedView>,
) -> WorkflowInstanceStatus {
    use StepInstanceStatus as S;
    let mut status = None;
    let mut all_created = true;
    for v in views {
        match v.status {
            S::InternallyFailed
            | S::FatallyFailed
            | S::UserFailed
            | S::PlatformFailed
            | S::TimeoutFailed => return WorkflowInstanceStatus::Failed,
            S::TimedOut => status = Some(WorkflowInstanceStatus::TimedOut),
            S::Stopped if status != Some(WorkflowInstanceStatus::TimedOut) => {
                status = Some(WorkflowInstanceStatus::Stopped);
            }
            S::NotCreated => all_created = false,
            _ => {}
        }
    }
    status.unwrap_or(if all_created {
        WorkflowInstanceStatus::Succeeded
    } else {
        WorkflowInstanceStatus::InProgress
    })
}

/// Adds STATUS events for the run's create, start and end times and sorts by time (only when
/// the run has a timeline, as Maestro does).
pub fn enrich_instance(instance: &mut WorkflowInstance) {
    let Some(timeline) = &instance.timeline else {
        return;
    };
    let mut events = timeline.events().to_vec();
    if let Some(t) = instance.create_time {
        events.push(TimelineEvent::status(t, "CREATED"));
    }
    if let Some(t) = instance.start_time {
        events.push(TimelineEvent::status(t, "IN_PROGRESS"));
    }
    if let Some(t) = instance.end_time {
        events.push(TimelineEvent::status(t, instance.status.as_str()));
    }
    instance.timeline = Some(unbounded_timeline(events));
}

/// Adds STATUS events for every state the attempt entered, sorted by time.
pub fn enrich_step(si: &mut StepInstance) {
    let Some(timeline) = &si.timeline else {
        return;
    };
    let mut events = timeline.events().to_vec();
    let rs = &si.runtime_state;
    let stamps = [
        (rs.create_time, StepInstanceStatus::Created),
        (rs.initialize_time, StepInstanceStatus::Initialized),
        (rs.pause_time, StepInstanceStatus::Paused),
        (rs.wait_signal_time, StepInstanceStatus::WaitingForSignals),
        (rs.evaluate_param_time, StepInstanceStatus::EvaluatingParams),
        (rs.wait_permit_time, StepInstanceStatus::WaitingForPermits),
        (rs.start_time, StepInstanceStatus::Starting),
        (rs.execute_time, StepInstanceStatus::Running),
        (rs.finish_time, StepInstanceStatus::Finishing),
        (rs.end_time, rs.status),
    ];
    for (t, status) in stamps {
        if let Some(t) = t {
            events.push(TimelineEvent::status(t, status.as_str()));
        }
    }
    si.timeline = Some(unbounded_timeline(events));
}

/// A timeline of exactly these events, sorted by time (stable), without the 32-event bound and
/// de-duplication that [`Timeline::new`] applies: enrichment is for display, not storage.
fn unbounded_timeline(mut events: Vec<TimelineEvent>) -> Timeline {
    events.sort_by_key(TimelineEvent::timestamp);
    serde_json::to_value(&events)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_else(|| Timeline::new(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: StepInstanceStatus) -> StepAggregatedView {
        StepAggregatedView {
            workflow_run_id: Some(1),
            status,
            start_time: None,
            end_time: None,
        }
    }

    #[test]
    fn aggregated_status_prefers_failure_then_timeout_then_stop() {
        use StepInstanceStatus as S;
        let s = |v: &[S]| aggregated_status(v.iter().map(|s| view(*s)).collect::<Vec<_>>().iter());
        assert_eq!(
            s(&[S::Succeeded, S::Skipped]),
            WorkflowInstanceStatus::Succeeded
        );
        assert_eq!(
            s(&[S::Stopped, S::TimedOut]),
            WorkflowInstanceStatus::TimedOut
        );
        assert_eq!(
            s(&[S::TimedOut, S::Stopped]),
            WorkflowInstanceStatus::TimedOut
        );
        assert_eq!(
            s(&[S::Stopped, S::UserFailed]),
            WorkflowInstanceStatus::Failed
        );
        assert_eq!(
            s(&[S::Succeeded, S::NotCreated]),
            WorkflowInstanceStatus::InProgress
        );
    }

    #[test]
    fn enrichment_keeps_every_event_sorted() {
        let events: Vec<TimelineEvent> = (0..40)
            .map(|i| TimelineEvent::info(100 + i, format!("e{i}")))
            .collect();
        let t = unbounded_timeline(events);
        assert_eq!(t.events().len(), 40);
        let t = unbounded_timeline(vec![
            TimelineEvent::info(5, "b"),
            TimelineEvent::status(1, "CREATED"),
        ]);
        assert_eq!(t.events()[0].timestamp(), 1);
    }
}
