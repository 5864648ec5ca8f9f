//! When a run is over and how it ended (maestro-model.md §5.3), and its runtime overview
//! (step counts by status, leaf rollup).

use baton_model::instance::{
    Artifact, CountReference, StepInstance, StepInstanceStatus as S, TimelineEvent,
    WorkflowInstanceStatus as W, WorkflowRollupOverview, WorkflowRuntimeOverview,
    WorkflowStepStatusSummary,
};
use indexmap::IndexMap;

use super::actor::{Effect, RunActor, Termination};
use crate::clock::now_millis;
use crate::persist;

impl RunActor {
    /// Ends the run when nothing can happen any more: no attempt is running or waiting to be
    /// retried and no completed step still has successors to release.
    pub(super) fn maybe_finish_run(&mut self) {
        if self.ended || self.stopping {
            return;
        }
        // Releasing a step without successors creates nothing: the run may end in the same
        // write that makes its last step complete.
        let releases_work = self.effects.iter().any(
            |e| matches!(e, Effect::Release(node) if !self.wf.dag.successors(*node).is_empty()),
        );
        if !self.local.is_empty() || releases_work {
            return;
        }
        let busy = self.steps.iter().any(|slot| {
            slot.attempt.as_ref().is_some_and(|si| {
                let s = si.runtime_state.status;
                !s.is_terminal() || (s.is_retryable() && slot.retry_timer.is_some())
            })
        });
        if busy {
            return;
        }
        let latest: Vec<&StepInstance> = self
            .steps
            .iter()
            .filter_map(|s| s.attempt.as_ref())
            .collect();
        let status = run_status(&latest, self.terminating);
        let now = now_millis();
        self.status = status;
        self.ended = true;
        self.instance.end_time = Some(now);
        self.timeline.add(TimelineEvent::info(
            now,
            format!(
                "Workflow instance status is updated to [{}]",
                status.as_str()
            ),
        ));
        let mut overview = compute_overview(
            self.wf.len() as i64,
            self.steps.iter().enumerate().filter_map(|(node, s)| {
                s.attempt
                    .as_ref()
                    .map(|si| (si, self.wf.step(node).step_type().is_leaf()))
            }),
        );
        overview.run_status = Some(status);
        let overview_json = persist::overview_json(&overview).ok();
        // Kept for the parent step, which gets it when this run ends.
        self.instance.runtime_overview = Some(overview);
        let timeline_json = persist::timeline_json(&self.timeline).ok();
        self.update_run(|u| {
            u.status = Some(status.as_str().to_string());
            u.end_ts = Some(now);
            u.runtime_overview = overview_json;
            u.timeline = timeline_json;
        });
        if let Some(h) = self.run_timer.take() {
            h.abort();
        }
    }
}

/// The status of a finished run from the latest attempt of each created step (§5.3).
pub(super) fn run_status(latest: &[&StepInstance], terminating: Option<Termination>) -> W {
    if latest.is_empty() {
        return match terminating {
            Some(Termination::Stop) => W::Stopped,
            Some(Termination::Timeout) => W::TimedOut,
            _ => W::Failed,
        };
    }
    let has = |f: &dyn Fn(S) -> bool| latest.iter().any(|si| f(si.runtime_state.status));
    if has(&|s| {
        matches!(
            s,
            S::FatallyFailed
                | S::InternallyFailed
                | S::UserFailed
                | S::PlatformFailed
                | S::TimeoutFailed
        )
    }) {
        W::Failed
    } else if has(&|s| s == S::TimedOut) {
        W::TimedOut
    } else if has(&|s| s == S::Stopped) {
        W::Stopped
    } else {
        match terminating {
            Some(Termination::Stop) => W::Stopped,
            Some(Termination::Kill) => W::Failed,
            Some(Termination::Timeout) => W::TimedOut,
            None => W::Succeeded,
        }
    }
}

/// The runtime overview of a run from the latest attempt of each of its steps.
/// `latest` pairs each attempt with whether its step is a leaf. The leaf rollup covers the
/// whole tree (§6.7): foreach, while and subworkflow steps add their children's rollups, kept
/// in their artifacts.
pub(crate) fn compute_overview<'a>(
    total_step_count: i64,
    latest: impl Iterator<Item = (&'a StepInstance, bool)>,
) -> WorkflowRuntimeOverview {
    let mut step_overview: IndexMap<S, WorkflowStepStatusSummary> = IndexMap::new();
    let mut rollup: IndexMap<S, CountReference> = IndexMap::new();
    let mut leaves = 0;
    for (si, leaf) in latest {
        let rs = &si.runtime_state;
        step_overview.entry(rs.status).or_default().add_step(vec![
            si.step_instance_id,
            rs.start_time.unwrap_or(0),
            rs.end_time.unwrap_or(0),
        ]);
        if !leaf {
            if let Some(r) = child_rollup(si) {
                leaves += r.total_leaf_count;
                for (status, count) in r.overview.iter().flatten() {
                    let entry = rollup.entry(*status).or_default();
                    entry.cnt += count.cnt;
                    if let Some(refs) = &count.reference {
                        let mine = entry.reference.get_or_insert_with(IndexMap::new);
                        for (k, v) in refs {
                            mine.entry(k.clone()).or_default().extend(v.iter().cloned());
                        }
                    }
                }
            }
        } else {
            leaves += 1;
            let entry = rollup.entry(rs.status).or_default();
            entry.cnt += 1;
            if rs.status.is_overview() {
                entry
                    .reference
                    .get_or_insert_with(IndexMap::new)
                    .entry(si.workflow_id.clone())
                    .or_default()
                    .push(format!(
                        "{}:{}:{}:{}",
                        si.workflow_instance_id, si.workflow_run_id, si.step_id, si.step_attempt_id
                    ));
            }
        }
    }
    step_overview.sort_keys();
    rollup.sort_keys();
    WorkflowRuntimeOverview {
        total_step_count,
        step_overview,
        rollup_overview: Some(WorkflowRollupOverview {
            total_leaf_count: leaves,
            overview: Some(rollup),
        }),
        run_status: None,
    }
}

/// The leaf rollup of the children of a foreach, while or subworkflow step, from its artifact.
fn child_rollup(si: &StepInstance) -> Option<WorkflowRollupOverview> {
    let artifacts = si.artifacts.as_ref()?;
    let mut out = WorkflowRollupOverview::default();
    let mut any = false;
    for artifact in artifacts.values() {
        match artifact {
            Artifact::Foreach(a) => {
                if let Some(o) = &a.foreach_overview {
                    for r in [&o.rollup, &o.running_rollup].into_iter().flatten() {
                        out.aggregate(r);
                        any = true;
                    }
                }
            }
            Artifact::While(a) => {
                if let Some(r) = &a.rollup {
                    out.aggregate(r);
                    any = true;
                }
                if let Some(r) = a
                    .last_overview
                    .as_ref()
                    .and_then(|o| o.rollup_overview.as_ref())
                {
                    out.aggregate(r);
                    any = true;
                }
            }
            Artifact::Subworkflow(a) => {
                if let Some(r) = a
                    .subworkflow_overview
                    .as_ref()
                    .and_then(|o| o.rollup_overview.as_ref())
                {
                    out.aggregate(r);
                    any = true;
                }
            }
            _ => {}
        }
    }
    any.then_some(out)
}
