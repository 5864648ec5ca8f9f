//! Which steps a restarted run runs again and which it keeps (maestro-model.md §7.7, Maestro's
//! `DagTranslator`): a pure function of the DAG, the policy and the latest attempt of each step
//! across the earlier runs, so a restarted run rebuilt after a crash gets the same plan.
//!
//! - RESTART_FROM_BEGINNING: nothing is kept; every step runs again.
//! - RESTART_FROM_INCOMPLETE: the start steps are those whose latest attempt ended without
//!   completing (failed, stopped, timed out); they and everything downstream of them run again.
//!   Every other step that completed is *carried*: loaded into the new run as finished, so its
//!   successors see its params and outputs, and not run again. Steps never created get created as
//!   in any run, once their predecessors are done.
//! - RESTART_FROM_SPECIFIC: the named step and what lies downstream of it run again; other
//!   completed steps are carried; other incomplete steps are *blocked* (Maestro's NOT_CREATED
//!   placeholders): not run, and not counted.

use std::collections::BTreeSet;

use baton_model::dag::Dag;
use baton_model::instance::{RunPolicy, StepInstance};
use indexmap::IndexMap;

/// What a restarted run starts from.
#[derive(Debug, Default)]
pub(crate) struct RestartPlan {
    /// Steps kept from earlier runs (node, latest attempt): finished before the run begins.
    pub carried: Vec<(usize, StepInstance)>,
    /// The latest earlier attempt of each step that may run again: attempt ids and retry
    /// counters continue from it (§7.10), and a flow step restarts its children from it.
    pub prior: Vec<(usize, StepInstance)>,
    /// Steps this run must not create.
    pub blocked: BTreeSet<usize>,
    /// Steps created when the run begins whatever their predecessors did.
    pub forced: Vec<usize>,
    /// Steps that end SKIPPED without running when created.
    pub skip: BTreeSet<usize>,
}

/// Builds the plan. `latest` maps a step id to its latest attempt across the earlier runs
/// (steps of other levels or unknown ids are ignored). `specific` is the step a
/// RESTART_FROM_SPECIFIC restarts.
pub(crate) fn plan(
    dag: &Dag,
    policy: RunPolicy,
    specific: Option<&str>,
    skip_steps: &[String],
    latest: &IndexMap<String, StepInstance>,
) -> Result<RestartPlan, String> {
    let mut out = RestartPlan::default();
    let attempt = |node: usize| latest.get(dag.id(node));
    for id in skip_steps {
        let node = dag
            .index_of(id)
            .ok_or_else(|| format!("step [{id}] to skip is not in the workflow"))?;
        out.skip.insert(node);
    }
    let rerun: BTreeSet<usize> = match policy {
        RunPolicy::RestartFromBeginning => (0..dag.len()).collect(),
        RunPolicy::RestartFromIncomplete => {
            let starts: Vec<usize> = (0..dag.len())
                .filter(|n| {
                    attempt(*n).is_some_and(|si| {
                        let s = si.runtime_state.status;
                        s.is_terminal() && !s.is_complete()
                    })
                })
                .collect();
            downstream(dag, &starts)
        }
        RunPolicy::RestartFromSpecific => {
            let id = specific.ok_or("RESTART_FROM_SPECIFIC needs a step to restart")?;
            let node = dag
                .index_of(id)
                .ok_or_else(|| format!("step [{id}] is not in the workflow"))?;
            out.forced.push(node);
            downstream(dag, &[node])
        }
        other => return Err(format!("[{}] is not a restart policy", other.as_str())),
    };
    for node in 0..dag.len() {
        let si = attempt(node);
        if rerun.contains(&node) {
            if let Some(si) = si {
                out.prior.push((node, si.clone()));
            }
            continue;
        }
        match si {
            Some(si) if si.runtime_state.status.is_complete() => {
                out.carried.push((node, si.clone()))
            }
            _ if policy == RunPolicy::RestartFromSpecific => {
                out.blocked.insert(node);
            }
            Some(si) => out.prior.push((node, si.clone())),
            None => {}
        }
    }
    Ok(out)
}

/// The nodes reachable from `starts`, the starts included.
fn downstream(dag: &Dag, starts: &[usize]) -> BTreeSet<usize> {
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let mut stack: Vec<usize> = starts.to_vec();
    while let Some(n) = stack.pop() {
        if seen.insert(n) {
            stack.extend(dag.successors(n).iter().map(|e| e.node));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::instance::{StepInstanceStatus as S, StepRuntimeState};

    /// a → b → d, a → c → d, e alone.
    fn dag() -> Dag {
        let steps: Vec<baton_model::definition::Step> = serde_json::from_str(
            r#"[
              {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true", "c": "true"}}}},
              {"step": {"id": "b", "type": "NoOp", "transition": {"successors": {"d": "true"}}}},
              {"step": {"id": "c", "type": "NoOp", "transition": {"successors": {"d": "true"}}}},
              {"step": {"id": "d", "type": "NoOp"}},
              {"step": {"id": "e", "type": "NoOp"}}
            ]"#,
        )
        .unwrap();
        Dag::from_steps(&steps).unwrap()
    }

    fn attempt(id: &str, status: S) -> StepInstance {
        let mut si: StepInstance = serde_json::from_value(serde_json::json!({
            "workflow_id": "w", "workflow_instance_id": 1, "workflow_run_id": 1,
            "step_id": id, "step_attempt_id": 1, "workflow_uuid": "u", "step_uuid": "s",
            "step_instance_id": 1, "workflow_version_id": 1,
            "owner": {"name": "x"},
            "definition": {"step": {"id": id, "type": "NoOp"}},
            "runtime_state": {"status": "CREATED"}
        }))
        .unwrap();
        si.runtime_state = StepRuntimeState {
            status,
            ..StepRuntimeState::default()
        };
        si
    }

    fn latest(of: &[(&str, S)]) -> IndexMap<String, StepInstance> {
        of.iter()
            .map(|(id, s)| (id.to_string(), attempt(id, *s)))
            .collect()
    }

    fn ids(dag: &Dag, nodes: impl IntoIterator<Item = usize>) -> Vec<String> {
        let mut v: Vec<String> = nodes.into_iter().map(|n| dag.id(n).to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn from_incomplete_reruns_failed_steps_and_their_downstream() {
        let dag = dag();
        let l = latest(&[
            ("a", S::Succeeded),
            ("b", S::FatallyFailed),
            ("c", S::Succeeded),
            ("e", S::Succeeded),
        ]);
        let p = plan(&dag, RunPolicy::RestartFromIncomplete, None, &[], &l).unwrap();
        assert_eq!(ids(&dag, p.carried.iter().map(|c| c.0)), ["a", "c", "e"]);
        assert_eq!(ids(&dag, p.prior.iter().map(|c| c.0)), ["b"]);
        assert!(p.blocked.is_empty() && p.forced.is_empty());
    }

    #[test]
    fn from_beginning_keeps_nothing() {
        let dag = dag();
        let l = latest(&[("a", S::Succeeded), ("b", S::Stopped)]);
        let p = plan(&dag, RunPolicy::RestartFromBeginning, None, &[], &l).unwrap();
        assert!(p.carried.is_empty());
        assert_eq!(ids(&dag, p.prior.iter().map(|c| c.0)), ["a", "b"]);
    }

    #[test]
    fn from_specific_blocks_other_incomplete_steps() {
        let dag = dag();
        let l = latest(&[
            ("a", S::Succeeded),
            ("b", S::Succeeded),
            ("c", S::Succeeded),
            ("d", S::Succeeded),
            ("e", S::FatallyFailed),
        ]);
        let p = plan(
            &dag,
            RunPolicy::RestartFromSpecific,
            Some("c"),
            &["c".to_string()],
            &l,
        )
        .unwrap();
        assert_eq!(ids(&dag, p.carried.iter().map(|c| c.0)), ["a", "b"]);
        assert_eq!(ids(&dag, p.prior.iter().map(|c| c.0)), ["c", "d"]);
        assert_eq!(ids(&dag, p.blocked.iter().copied()), ["e"]);
        assert_eq!(ids(&dag, p.forced.iter().copied()), ["c"]);
        assert_eq!(ids(&dag, p.skip.iter().copied()), ["c"]);
        assert!(plan(&dag, RunPolicy::RestartFromSpecific, Some("zz"), &[], &l).is_err());
        assert!(plan(&dag, RunPolicy::StartFreshNewRun, None, &[], &l).is_err());
    }
}
