//! Restarts (maestro-model.md §7.5–§7.7, §7.10; maestro-api.md §1.9–§1.10): a new run of an
//! instance whose latest run is terminal, or a new attempt of one step of a run that is still
//! active.
//!
//! A restarted run is an ordinary run of the same instance (`run_id + 1`) on the instance's
//! stored definition (the same version), queued through the workflow's current run strategy.
//! What it keeps from the earlier runs is not copied: its actor reads the earlier runs' latest
//! attempts when it starts (`earlier_attempts`) and `plan` decides which steps are carried as
//! finished, which run again and which are not created. The decision depends only on the stored
//! earlier runs and the run's own `run_config`, so a restarted run rebuilt after a crash makes
//! the same one.
//!
//! Entry points: [`Engine::restart_instance`], [`Engine::restart_step`] and
//! [`Engine::skip_step_by_restart`] (a SKIP of a step of a terminal run, for the step actions).

pub(crate) mod plan;

use std::sync::Arc;

use baton_model::api::{
    InstanceRunStatus, StepInstanceRestartRequest, StepInstanceRestartResponse,
    WorkflowInstanceRestartRequest, WorkflowStartResponse,
};
use baton_model::definition::User;
use baton_model::instance::{
    ActionEvent, Initiator, RestartConfig, RestartNode, RunConfig, RunPolicy, StepInstance,
    Timeline, TimelineEvent, WorkflowInstance, WorkflowInstanceStatus,
};
use baton_model::params::ParamMap;
use baton_model::validate::validate_run_params;
use baton_store::{InstanceRow, InstanceUpdate, WriteOp};
use indexmap::IndexMap;

use crate::clock::now_millis;
use crate::compiled::CompiledWorkflow;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::params::{self, EvalScope, InstanceFacts};
use crate::persist;
use crate::views::instance_not_found;

pub(crate) use plan::RestartPlan;

/// The latest attempt of each step across a restarted run's earlier runs.
pub(crate) struct Earlier(IndexMap<String, StepInstance>);

/// Reads what the earlier runs of a restarted run left; `None` for a fresh run.
pub(crate) async fn earlier_attempts(
    engine: &Engine,
    instance: &WorkflowInstance,
) -> Result<Option<Earlier>> {
    let restarted = instance
        .run_config
        .as_ref()
        .is_some_and(|c| !c.policy.is_fresh_run());
    if !restarted {
        return Ok(None);
    }
    let runs = engine
        .inner
        .store
        .list_instance_runs(&instance.workflow_id, instance.workflow_instance_id)
        .await?;
    let mut latest = IndexMap::new();
    for run in runs
        .iter()
        .filter(|r| r.key.run_id < instance.workflow_run_id)
    {
        for si in engine.latest_attempts(&run.key).await? {
            latest.insert(si.step_id.clone(), si);
        }
    }
    Ok(Some(Earlier(latest)))
}

/// The plan of a restarted run from its run config and its earlier runs.
pub(crate) fn plan_for(
    instance: &WorkflowInstance,
    wf: &CompiledWorkflow,
    earlier: Earlier,
) -> std::result::Result<RestartPlan, String> {
    let config = instance
        .run_config
        .as_ref()
        .ok_or("a restarted run has no run config")?;
    let (specific, skip) = current_node(instance, config.restart_config.as_ref());
    // A RESTART_FROM_SPECIFIC run whose path names no step of it (an instance restart of a
    // nested instance, reached through its ancestors) applies the user's policy.
    let policy = match (config.policy, specific) {
        (RunPolicy::RestartFromSpecific, None) => config
            .restart_config
            .as_ref()
            .map_or(RunPolicy::RestartFromIncomplete, |c| c.downstream_policy),
        (p, _) => p,
    };
    plan::plan(&wf.dag, policy, specific, &skip, &earlier.0)
}

/// The step of this instance a restart path names (its last node) and, at the path's leaf, the
/// steps to skip.
fn current_node<'a>(
    instance: &WorkflowInstance,
    config: Option<&'a RestartConfig>,
) -> (Option<&'a str>, Vec<String>) {
    let Some(config) = config else {
        return (None, Vec::new());
    };
    let node = config.restart_path.last().filter(|n| {
        n.workflow_id == instance.workflow_id && n.instance_id == instance.workflow_instance_id
    });
    let skip = if config.restart_path.len() <= 1 {
        config.skip_steps.clone().unwrap_or_default()
    } else {
        Vec::new()
    };
    (node.and_then(|n| n.step_id.as_deref()), skip)
}

/// What a new run of an instance is asked to do.
pub(crate) struct NewRun {
    pub policy: RunPolicy,
    pub restart_config: RestartConfig,
    /// Workflow params to change (merged as `RESTART`).
    pub run_params: Option<ParamMap>,
    /// Params for one step of the new run.
    pub step_params: Option<(String, ParamMap)>,
    pub request_id: Option<uuid::Uuid>,
    pub request_time: Option<i64>,
    pub caller: User,
    /// The ACTION recorded on the new run's timeline (`RESTART`, `SKIP`).
    pub action: &'static str,
    pub reason: String,
    /// A subworkflow child restarted by its parent step's new attempt: the new parent.
    pub initiator: Option<Initiator>,
}

/// The outcome of a step restart.
#[derive(Debug, Clone)]
pub enum StepRestartOutcome {
    /// The run was active: the step has a new attempt in it.
    InRun(Box<StepInstance>),
    /// The run was terminal: a new run restarts from the step.
    NewRun(Box<WorkflowStartResponse>),
}

impl StepRestartOutcome {
    /// Maestro's `StepInstanceRestartResponse`.
    pub fn response(&self, step_id: &str) -> StepInstanceRestartResponse {
        match self {
            StepRestartOutcome::InRun(si) => StepInstanceRestartResponse {
                workflow_id: si.workflow_id.clone(),
                workflow_version_id: si.workflow_version_id,
                workflow_instance_id: si.workflow_instance_id,
                workflow_run_id: si.workflow_run_id,
                step_id: step_id.to_string(),
                step_attempt_id: Some(si.step_attempt_id),
                status: InstanceRunStatus::Created,
                timeline_event: si
                    .timeline
                    .as_ref()
                    .and_then(|t| t.events().last().cloned()),
            },
            StepRestartOutcome::NewRun(r) => StepInstanceRestartResponse {
                workflow_id: r.workflow_id.clone(),
                workflow_version_id: r.workflow_version_id,
                workflow_instance_id: r.workflow_instance_id,
                workflow_run_id: r.workflow_run_id,
                step_id: step_id.to_string(),
                step_attempt_id: None,
                status: r.status,
                timeline_event: r.timeline_event.clone(),
            },
        }
    }
}

impl Engine {
    /// Restarts an instance (§7.5, §7.7): a new run of it from its latest run, which must be
    /// terminal, with `RESTART_FROM_INCOMPLETE` (the default) or `RESTART_FROM_BEGINNING`.
    pub async fn restart_instance(
        &self,
        workflow_id: &str,
        instance_id: i64,
        req: WorkflowInstanceRestartRequest,
        caller: User,
    ) -> Result<WorkflowStartResponse> {
        check_run_params(workflow_id, req.run_params.as_ref())?;
        let row = self.latest_run_row(workflow_id, instance_id).await?;
        if !row_is_terminal(&row) {
            return Err(still_running(&row));
        }
        let user_policy: RunPolicy = req.restart_policy.into();
        let (row, restart_path) = self.path_to_root(row, None).await?;
        // A nested instance restarts through its root: RESTART_FROM_SPECIFIC down the path,
        // the user's policy at the instance itself.
        let policy = if restart_path.len() > 1 {
            RunPolicy::RestartFromSpecific
        } else {
            user_policy
        };
        let run = NewRun {
            policy,
            restart_config: RestartConfig {
                restart_path,
                restart_policy: policy,
                downstream_policy: user_policy,
                restart_params: req.run_params.clone(),
                step_restart_params: None,
                skip_steps: None,
            },
            run_params: req.run_params,
            step_params: None,
            request_id: req.request_id,
            request_time: req.request_time,
            reason: format!(
                "restart of workflow instance [{workflow_id}][{instance_id}] with policy [{}]",
                user_policy.as_str()
            ),
            caller,
            action: "RESTART",
            initiator: None,
        };
        self.start_new_run(row, run).await
    }

    /// Restarts one step (§7.6, §7.7). While the instance's latest run is active, the step
    /// (terminal, not complete, not retryable, FAIL_AFTER_RUNNING) gets a new attempt in that
    /// run with `step_run_params`. Once the run is terminal, a new run restarts from the step
    /// (`RESTART_FROM_SPECIFIC`: the step and what lies downstream of it run again, with the
    /// request's policy for what lies downstream).
    pub async fn restart_step(
        &self,
        workflow_id: &str,
        instance_id: i64,
        step_id: &str,
        req: StepInstanceRestartRequest,
        caller: User,
    ) -> Result<StepRestartOutcome> {
        if let Some(p) = &req.step_run_params {
            let report =
                validate_run_params(p, &baton_model::JsonPath::root().key("step_run_params"));
            if !report.is_ok() {
                return Err(EngineError::Invalid {
                    message: format!(
                        "Invalid step run params for step [{step_id}] of workflow instance [{workflow_id}][{instance_id}]"
                    ),
                    errors: report.errors,
                });
            }
        }
        let row = self.latest_run_row(workflow_id, instance_id).await?;
        // Cluster mode: an in-run restart is a message to the run's actor on its group's owner.
        self.require_owner(row.group_id).await?;
        let instance = persist::instance_from_row(&row)?;
        if !instance
            .runtime_workflow
            .steps
            .iter()
            .any(|s| s.id == step_id)
        {
            return Err(step_not_in_instance(workflow_id, instance_id, step_id));
        }
        if !instance.status.is_terminal() {
            let si = self
                .restart_step_in_run(&row, step_id, req.step_run_params, caller)
                .await?;
            return Ok(StepRestartOutcome::InRun(Box::new(si)));
        }
        self.require_created(&row, step_id).await?;
        let (row, restart_path) = self.path_to_root(row, Some(step_id)).await?;
        let nested = restart_path.len() > 1;
        let policy = if nested {
            RunPolicy::RestartFromSpecific
        } else {
            req.run_policy()
        };
        let run = NewRun {
            policy,
            restart_config: RestartConfig {
                restart_path,
                restart_policy: policy,
                downstream_policy: req.restart_policy.into(),
                restart_params: None,
                step_restart_params: req.step_run_params.clone().map(|p| {
                    let mut m = IndexMap::new();
                    m.insert(step_id.to_string(), p);
                    m
                }),
                skip_steps: None,
            },
            run_params: None,
            // A nested step gets its params through the restart config, at its own level.
            step_params: req
                .step_run_params
                .filter(|_| !nested)
                .map(|p| (step_id.to_string(), p)),
            request_id: req.request_id,
            request_time: req.request_time,
            reason: format!(
                "restart of step [{step_id}] of workflow instance [{workflow_id}][{instance_id}] with policy [{}]",
                policy.as_str()
            ),
            caller,
            action: "RESTART",
            initiator: None,
        };
        self.start_new_run(row, run)
            .await
            .map(|r| StepRestartOutcome::NewRun(Box::new(r)))
    }

    /// SKIP of a step of an instance whose latest run is terminal (§7.6 "Skip semantics"): a
    /// `RESTART_FROM_SPECIFIC` new run with `skip_steps = [step_id]`, in which the step ends
    /// SKIPPED without running and what lies downstream of it runs. (Skipping a step of an
    /// active run is a step action on that run.)
    pub async fn skip_step_by_restart(
        &self,
        workflow_id: &str,
        instance_id: i64,
        step_id: &str,
        caller: User,
    ) -> Result<WorkflowStartResponse> {
        let row = self.latest_run_row(workflow_id, instance_id).await?;
        let instance = persist::instance_from_row(&row)?;
        if !instance
            .runtime_workflow
            .steps
            .iter()
            .any(|s| s.id == step_id)
        {
            return Err(step_not_in_instance(workflow_id, instance_id, step_id));
        }
        if !instance.status.is_terminal() {
            return Err(EngineError::invalid(format!(
                "Cannot skip step [{step_id}] by a restart: workflow instance {} is still [{}]",
                instance.identity(),
                instance.status.as_str()
            )));
        }
        self.require_created(&row, step_id).await?;
        let (row, restart_path) = self.path_to_root(row, Some(step_id)).await?;
        let policy = RunPolicy::RestartFromSpecific;
        let run = NewRun {
            policy,
            restart_config: RestartConfig {
                restart_path,
                restart_policy: policy,
                downstream_policy: RunPolicy::RestartFromIncomplete,
                restart_params: None,
                step_restart_params: None,
                skip_steps: Some(vec![step_id.to_string()]),
            },
            run_params: None,
            step_params: None,
            request_id: None,
            request_time: None,
            reason: format!(
                "skip of step [{step_id}] of workflow instance [{workflow_id}][{instance_id}] by a restart"
            ),
            caller,
            action: "SKIP",
            initiator: None,
        };
        self.start_new_run(row, run).await
    }

    /// Restarts the child of a subworkflow step whose new attempt follows one that had it
    /// (§7.7 "Subworkflow restart"): a new run of the same child instance, started by the new
    /// attempt. `request_id` makes a relaunch after a crash find the run it created.
    pub(crate) async fn restart_child(
        &self,
        child: &baton_store::RunKey,
        policy: RunPolicy,
        restart_config: RestartConfig,
        initiator: Initiator,
        request_id: uuid::Uuid,
        caller: User,
    ) -> Result<WorkflowStartResponse> {
        let row = self
            .latest_run_row(&child.workflow_id, child.instance_id)
            .await?;
        if row.uuid == request_id.to_string() {
            let instance = persist::instance_from_row(&row)?;
            return Ok(crate::start::start_response(
                &instance,
                InstanceRunStatus::Duplicated,
                None,
            ));
        }
        let run = NewRun {
            policy,
            restart_config,
            run_params: None,
            step_params: None,
            request_id: Some(request_id),
            request_time: None,
            reason: format!(
                "restart of the subworkflow instance [{}][{}] by its parent step",
                child.workflow_id, child.instance_id
            ),
            caller,
            action: "RESTART",
            initiator: Some(initiator),
        };
        self.start_new_run(row, run).await
    }

    async fn latest_run_row(&self, workflow_id: &str, instance_id: i64) -> Result<InstanceRow> {
        self.inner
            .store
            .get_instance_run(workflow_id, instance_id, None)
            .await?
            .ok_or_else(|| instance_not_found(workflow_id, instance_id, 0))
    }

    /// The restart path from a (terminal) instance up to its root (§7.7 `restartRecursively`):
    /// leaf first, one node per instance with the step restarted in it (`step_id` at the leaf,
    /// the parent step above), and the root's latest run. Every ancestor must be terminal and
    /// the child must belong to its parent's latest run.
    async fn path_to_root(
        &self,
        row: InstanceRow,
        step_id: Option<&str>,
    ) -> Result<(InstanceRow, Vec<RestartNode>)> {
        let mut path = vec![RestartNode {
            workflow_id: row.key.workflow_id.clone(),
            instance_id: row.key.instance_id,
            step_id: step_id.map(str::to_string),
        }];
        let mut current = row;
        while let Some(parent) = current.parent.clone() {
            let up = self
                .latest_run_row(&parent.run.workflow_id, parent.run.instance_id)
                .await?;
            if up.key.run_id != parent.run.run_id {
                return Err(EngineError::invalid(format!(
                    "Cannot restart workflow instance [{}][{}]: it belongs to run [{}] of workflow instance [{}][{}], which has a newer run [{}]",
                    current.key.workflow_id,
                    current.key.instance_id,
                    parent.run.run_id,
                    parent.run.workflow_id,
                    parent.run.instance_id,
                    up.key.run_id
                )));
            }
            if !row_is_terminal(&up) {
                return Err(EngineError::Conflict(format!(
                    "Cannot restart workflow instance [{}][{}] as a new run: its ancestor [{}][{}] is still running (restarting an iteration or a child of a running step is not supported)",
                    current.key.workflow_id,
                    current.key.instance_id,
                    up.key.workflow_id,
                    up.key.instance_id
                )));
            }
            path.push(RestartNode {
                workflow_id: parent.run.workflow_id.clone(),
                instance_id: parent.run.instance_id,
                step_id: Some(parent.step_id.clone()),
            });
            current = up;
        }
        Ok((current, path))
    }

    /// A step restarted or skipped in a new run must have run in some earlier run.
    async fn require_created(&self, row: &InstanceRow, step_id: &str) -> Result<()> {
        for run in self
            .inner
            .store
            .list_instance_runs(&row.key.workflow_id, row.key.instance_id)
            .await?
            .iter()
            .rev()
        {
            if !self
                .inner
                .store
                .list_attempts_of_step(&run.key, step_id)
                .await?
                .is_empty()
            {
                return Ok(());
            }
        }
        Err(EngineError::invalid(format!(
            "Cannot restart or skip step [{step_id}] of workflow instance [{}][{}]: it was never created (NOT_CREATED)",
            row.key.workflow_id, row.key.instance_id
        )))
    }

    /// Sends an in-run restart to the run's actor.
    async fn restart_step_in_run(
        &self,
        row: &InstanceRow,
        step_id: &str,
        step_run_params: Option<ParamMap>,
        caller: User,
    ) -> Result<StepInstance> {
        let tx = self
            .inner
            .runs
            .lock()
            .map_err(|_| EngineError::Internal("run registry poisoned".into()))?
            .get(&row.key)
            .cloned();
        let not_running = || {
            EngineError::Conflict(format!(
                "workflow instance run [{}][{}][{}] is not running on this engine",
                row.key.workflow_id, row.key.instance_id, row.key.run_id
            ))
        };
        let Some(tx) = tx else {
            return Err(if row.queued {
                EngineError::invalid(format!(
                    "Cannot restart step [{step_id}]: workflow instance run [{}][{}][{}] is queued and has not started",
                    row.key.workflow_id, row.key.instance_id, row.key.run_id
                ))
            } else {
                not_running()
            });
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(crate::run::RunMsg::RestartStep {
            request: crate::run::StepRestart {
                step_id: step_id.to_string(),
                step_run_params,
                user: caller,
            },
            reply,
        })
        .map_err(|_| not_running())?;
        answer.await.map_err(|_| not_running())?
    }

    /// Creates the next run of an instance whose latest run is `row` and queues it.
    pub(crate) async fn start_new_run(
        &self,
        row: InstanceRow,
        run: NewRun,
    ) -> Result<WorkflowStartResponse> {
        let previous = persist::instance_from_row(&row)?;
        if !previous.status.is_terminal() {
            return Err(EngineError::invalid(format!(
                "There is already a workflow instance run {} in status [{}]: cannot restart another run until it is terminal",
                previous.identity(),
                previous.status.as_str()
            )));
        }
        let workflow_id = previous.workflow_id.clone();
        let workflow_row = self.workflow_row(&workflow_id).await?;
        let snapshot = crate::workflows::parse_snapshot(&workflow_row.properties_snapshot)?;
        let compiled = self.inner.compiled.get_or_compile(
            &workflow_id,
            previous.workflow_version_id,
            || Ok(previous.runtime_workflow.clone()),
        )?;
        let (specific, skip) = current_node(&previous, Some(&run.restart_config));
        for id in specific.into_iter().chain(skip.iter().map(String::as_str)) {
            if compiled.dag.index_of(id).is_none() {
                return Err(step_not_in_instance(
                    &workflow_id,
                    previous.workflow_instance_id,
                    id,
                ));
            }
        }
        let now = now_millis();
        let new_run_id = row.key.run_id + 1;
        let mut instance = previous.clone();
        instance.workflow_run_id = new_run_id;
        instance.workflow_uuid = run
            .request_id
            .map(|u| u.to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        instance.execution_id = None;
        instance.status = WorkflowInstanceStatus::Created;
        instance.request_time = run.request_time.or(Some(now));
        instance.create_time = Some(now);
        instance.start_time = None;
        instance.end_time = None;
        instance.modify_time = Some(now);
        instance.runtime_overview = None;
        instance.aggregated_info = None;
        if let Some(initiator) = &run.initiator {
            instance.initiator = initiator.clone();
        } else if let Initiator::Manual(m) = &mut instance.initiator {
            m.user = Some(run.caller.clone());
        }
        let previous_config = previous.run_config.clone();
        instance.run_config = Some(RunConfig {
            runtime_tags: previous_config
                .as_ref()
                .and_then(|c| c.runtime_tags.clone()),
            correlation_id: previous_config.and_then(|c| c.correlation_id),
            policy: run.policy,
            restart_config: Some(run.restart_config.clone()),
        });
        if let Some(layer) = &run.run_params {
            let merged = instance.run_params.get_or_insert_with(ParamMap::new);
            for (k, v) in layer {
                merged.insert(k.clone(), v.clone());
            }
        }
        if let Some((step_id, p)) = &run.step_params {
            let all = instance.step_run_params.get_or_insert_with(IndexMap::new);
            let merged = all.entry(step_id.clone()).or_default();
            for (k, v) in p {
                merged.insert(k.clone(), v.clone());
            }
        }
        let evaluated = self
            .evaluate_restart_params(&instance, &compiled, previous.params.clone(), &run, now)
            .await
            .map_err(|message| {
                EngineError::invalid(format!(
                    "Cannot restart workflow instance {}: {message}",
                    previous.identity()
                ))
            })?;
        let timeout = crate::start::run_timeout_millis(&compiled.workflow, &evaluated)
            .map_err(EngineError::invalid)?;
        instance.params = Some(evaluated);
        instance.timeout_in_millis = Some(timeout);
        let event = TimelineEvent::Action(ActionEvent {
            timestamp: now,
            action: Some(run.action.to_string()),
            author: Some(run.caller.clone()),
            message: Some(format!(
                "User [{}] {} workflow instance [{}][{}]: new run [{new_run_id}] with policy [{}]",
                run.caller.name,
                if run.action == "SKIP" {
                    "skipped a step of"
                } else {
                    "restarted"
                },
                workflow_id,
                previous.workflow_instance_id,
                run.policy.as_str()
            )),
            reason: Some(run.reason.clone()),
            info: None,
        });
        instance.timeline = Some(Timeline::new([event.clone()]));
        // Earlier FAILED runs of the instance stop blocking STRICT_SEQUENTIAL (`FAILED_2`), in
        // the same write as the new run.
        let mut extra = Vec::new();
        for earlier in self
            .inner
            .store
            .list_instance_runs(&workflow_id, previous.workflow_instance_id)
            .await?
        {
            if matches!(earlier.status.as_str(), "FAILED" | "FAILED_1") {
                extra.push(WriteOp::UpdateInstance(InstanceUpdate {
                    key: earlier.key.clone(),
                    expect_status: Some(vec![
                        "FAILED".to_string(),
                        "FAILED_1".to_string(),
                        "FAILED_2".to_string(),
                    ]),
                    status: Some("FAILED_2".to_string()),
                    modify_ts: now,
                    ..InstanceUpdate::default()
                }));
            }
        }
        let strategy = snapshot.run_strategy_or_default();
        let mut response = self
            .inner
            .queues
            .submit_with(self, instance, strategy, extra.clone())
            .await
            .map_err(|e| match e {
                EngineError::Store(baton_store::StoreError::Conflict(m)) => EngineError::Conflict(
                    format!("Cannot restart workflow instance {}: another restart created its next run first ({m})", previous.identity()),
                ),
                other => other,
            })?;
        if !extra.is_empty() || response.status == InstanceRunStatus::Created {
            // The write may have unblocked a STRICT_SEQUENTIAL queue (the new run, queued behind
            // older instances, is first in line as its instance id is lower).
            self.inner.queues.recheck(self, &workflow_id).await?;
        }
        if response.timeline_event.is_none() {
            response.timeline_event = Some(event);
        }
        Ok(response)
    }

    /// The workflow params of a new run: the previous run's, with the restart's changes.
    async fn evaluate_restart_params(
        &self,
        instance: &WorkflowInstance,
        compiled: &Arc<CompiledWorkflow>,
        previous: Option<params::Params>,
        run: &NewRun,
        now: i64,
    ) -> std::result::Result<params::Params, String> {
        let facts = InstanceFacts {
            workflow_id: instance.workflow_id.clone(),
            workflow_instance_id: Some(instance.workflow_instance_id),
            workflow_run_id: Some(instance.workflow_run_id),
            initiator_type: Some(instance.initiator.initiator_type()),
            initiator_timezone: match &instance.initiator {
                Initiator::Time(t) => Some(t.timezone.clone()),
                _ => None,
            },
            initiator_runner_name: match &instance.initiator {
                Initiator::Manual(m) => m.user.as_ref().map(|u| u.name.clone()),
                _ => None,
            },
            run_policy: Some(run.policy),
            owner: Some(instance.run_properties.owner.name.clone()),
            first_time_trigger_timezone: crate::start::first_time_trigger_timezone(
                &compiled.workflow,
            ),
            signals: crate::signals::signal_facts(&instance.initiator),
        };
        let scope = EvalScope {
            now_millis: now,
            limits: self.inner.config.sel_limits,
            instance: facts,
            workflow_params: Arc::new(IndexMap::new()),
            step: None,
            upstream: Arc::new(IndexMap::new()),
            step_ids: compiled.step_ids.clone(),
            services: self.inner.services.clone(),
        };
        let previous = previous.unwrap_or_default();
        let layer = run.run_params.clone();
        let result = crate::blocking::run(move || {
            let merged = params::merge_restart_workflow_params(&previous, layer.as_ref())?;
            params::evaluate_workflow_params(&merged, &scope)
        })
        .await;
        match result {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn row_is_terminal(row: &InstanceRow) -> bool {
    WorkflowInstanceStatus::from_raw(&row.status).is_some_and(|s| s.is_terminal())
}

fn still_running(row: &InstanceRow) -> EngineError {
    EngineError::invalid(format!(
        "There is already a workflow instance run [{}][{}][{}] in status [{}]: cannot restart another run until it is terminal",
        row.key.workflow_id,
        row.key.instance_id,
        row.key.run_id,
        WorkflowInstanceStatus::from_raw(&row.status).map_or(row.status.as_str(), |s| s.as_str())
    ))
}

fn check_run_params(workflow_id: &str, run_params: Option<&ParamMap>) -> Result<()> {
    if let Some(p) = run_params {
        let report = validate_run_params(p, &baton_model::JsonPath::root().key("run_params"));
        if !report.is_ok() {
            return Err(EngineError::Invalid {
                message: format!("Invalid run params for workflow [{workflow_id}]"),
                errors: report.errors,
            });
        }
    }
    Ok(())
}

fn step_not_in_instance(workflow_id: &str, instance_id: i64, step_id: &str) -> EngineError {
    EngineError::NotFound(format!(
        "step [{step_id}] is not a step of workflow instance [{workflow_id}][{instance_id}]"
    ))
}
