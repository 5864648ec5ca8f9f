//! Starting a workflow (maestro-model.md §7.8, §3.6–§3.8, §4.1): resolve the version, merge and
//! evaluate the workflow params, build the instance, and hand it to the run-strategy queue,
//! which persists it (allocating the instance id) and starts it when its turn comes.

use std::sync::Arc;

use baton_model::api::{InstanceRunStatus, WorkflowStartRequest, WorkflowStartResponse};
use baton_model::definition::{StepTransition, TimeTrigger, User, Workflow};
use baton_model::instance::{
    Initiator, InitiatorType, RunConfig, RunPolicy, RunProperties, Timeline, TimelineEvent,
    WorkflowInstance, WorkflowInstanceStatus,
};
use baton_model::params::ParamSource;
use baton_model::validate::validate_run_params;
use indexmap::IndexMap;

use crate::clock::now_millis;
use crate::compiled::CompiledWorkflow;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::params::{self, EvalScope, InstanceFacts};
use crate::workflows::{parse_snapshot, parse_workflow, resolve_version};

/// Ten days, Maestro's default run timeout.
pub(crate) const DEFAULT_TIMEOUT_MILLIS: i64 = 10 * 24 * 3600 * 1000;

/// A run a subworkflow step starts (§6.6): who starts it, its dedup key, the params passed
/// down, and what it inherits from the tree it joins.
pub(crate) struct ChildStart {
    pub initiator: Initiator,
    pub request_id: uuid::Uuid,
    pub run_params: baton_model::params::ParamMap,
    pub correlation_id: String,
    pub instance_step_concurrency: Option<i64>,
    pub group_info: i64,
}

/// What a child run inherits instead of what a root run would get.
struct Inherited {
    correlation_id: String,
    instance_step_concurrency: Option<i64>,
    group_info: i64,
}

impl Engine {
    /// Starts an instance of `version` (`active`, `latest`, `default` or a number) of a workflow.
    /// `caller` fills a manual initiator's user when the request has none.
    pub async fn start_workflow(
        &self,
        workflow_id: &str,
        version: &str,
        req: WorkflowStartRequest,
        caller: Option<User>,
    ) -> Result<WorkflowStartResponse> {
        if let Some(run_params) = &req.run_params {
            let report =
                validate_run_params(run_params, &baton_model::JsonPath::root().key("run_params"));
            if !report.is_ok() {
                return Err(EngineError::Invalid {
                    message: format!("Invalid run params for workflow [{workflow_id}]"),
                    errors: report.errors,
                });
            }
        }
        self.start_run(workflow_id, version, req, caller, None)
            .await
    }

    /// Starts the child of a subworkflow step through the child workflow's run strategy, with
    /// the version resolved now and bound to the child.
    pub(crate) async fn start_child(
        &self,
        workflow_id: &str,
        version: &str,
        child: ChildStart,
    ) -> Result<WorkflowStartResponse> {
        let req = WorkflowStartRequest {
            initiator: child.initiator,
            request_time: None,
            request_id: Some(child.request_id),
            runtime_tags: Some(vec![baton_model::definition::Tag::new(
                "maestro_subworkflow",
            )]),
            run_params: Some(child.run_params),
            artifacts: None,
            persist_failed_run: false,
        };
        let inherited = Inherited {
            correlation_id: child.correlation_id,
            instance_step_concurrency: child.instance_step_concurrency,
            group_info: child.group_info,
        };
        self.start_run(workflow_id, version, req, None, Some(inherited))
            .await
    }

    async fn start_run(
        &self,
        workflow_id: &str,
        version: &str,
        mut req: WorkflowStartRequest,
        caller: Option<User>,
        inherited: Option<Inherited>,
    ) -> Result<WorkflowStartResponse> {
        let row = self.workflow_row(workflow_id).await?;
        let version_id = resolve_version(&row, version)?;
        let version_row = self.version_row(workflow_id, version_id).await?;
        let compiled = self
            .inner
            .compiled
            .get_or_compile(workflow_id, version_id, || {
                parse_workflow(&version_row.definition)
            })?;
        let snapshot = parse_snapshot(&row.properties_snapshot)?;
        if let Initiator::Manual(m) = &mut req.initiator
            && m.user.is_none()
        {
            m.user = caller;
        }
        let now = now_millis();
        let uuid = req
            .request_id
            .map(|u| u.to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let owner = snapshot
            .owner
            .clone()
            .unwrap_or_else(|| User::new("unknown"));
        let run_properties = RunProperties {
            create_time: snapshot.create_time,
            owner: owner.clone(),
            alerting: snapshot.alerting.clone(),
            step_concurrency: snapshot.step_concurrency,
            tags: snapshot.tags.clone(),
        };
        let mut workflow = compiled.workflow.clone();
        if let Some(tags) = &req.runtime_tags {
            let mut all = workflow.tags.clone().unwrap_or_default();
            for t in tags {
                if !all.0.iter().any(|x| x.name == t.name) {
                    all.0.push(t.clone());
                }
            }
            workflow.tags = Some(all);
        }
        if let Some(isc) = inherited.as_ref().and_then(|i| i.instance_step_concurrency) {
            // Passed down the whole tree (§4.3).
            workflow.instance_step_concurrency = Some(isc);
        }
        let facts = InstanceFacts {
            workflow_id: workflow_id.to_string(),
            workflow_instance_id: None,
            workflow_run_id: None,
            initiator_type: Some(req.initiator.initiator_type()),
            initiator_timezone: match &req.initiator {
                Initiator::Time(t) => Some(t.timezone.clone()),
                _ => None,
            },
            initiator_runner_name: match &req.initiator {
                Initiator::Manual(m) => m.user.as_ref().map(|u| u.name.clone()),
                _ => None,
            },
            run_policy: Some(RunPolicy::StartFreshNewRun),
            owner: Some(owner.name.clone()),
            first_time_trigger_timezone: first_time_trigger_timezone(&workflow),
            signals: crate::signals::signal_facts(&req.initiator),
        };
        let run_source = match req.initiator.initiator_type() {
            InitiatorType::Subworkflow => ParamSource::Subworkflow,
            InitiatorType::Foreach => ParamSource::Foreach,
            InitiatorType::While => ParamSource::While,
            InitiatorType::Template => ParamSource::Template,
            _ => ParamSource::Launch,
        };
        let evaluated = evaluate_run_params(
            self,
            &compiled,
            req.run_params.clone(),
            run_source,
            facts,
            now,
        )
        .await;

        let mut instance = WorkflowInstance {
            workflow_id: workflow_id.to_string(),
            workflow_instance_id: 0,
            workflow_run_id: 1,
            workflow_uuid: uuid.clone(),
            correlation_id: inherited.as_ref().map(|i| i.correlation_id.clone()),
            workflow_version_id: version_id,
            group_info: inherited.as_ref().map_or(0, |i| i.group_info),
            internal_id: Some(row.internal_id),
            execution_id: None,
            run_config: Some(RunConfig {
                runtime_tags: req.runtime_tags.clone(),
                correlation_id: inherited.as_ref().map(|i| i.correlation_id.clone()),
                policy: RunPolicy::StartFreshNewRun,
                restart_config: None,
            }),
            run_params: req.run_params.clone(),
            step_run_params: None,
            run_properties,
            runtime_dag: runtime_dag(&compiled),
            timeout_in_millis: None,
            params: None,
            initiator: req.initiator.clone(),
            status: WorkflowInstanceStatus::Created,
            request_time: req.request_time.or(Some(now)),
            create_time: Some(now),
            start_time: None,
            end_time: None,
            modify_time: Some(now),
            runtime_overview: None,
            artifacts: req.artifacts.clone(),
            timeline: None,
            aggregated_info: None,
            runtime_workflow: Workflow::default(),
        };
        let failure = match evaluated {
            Ok(params) => match run_timeout_millis(&workflow, &params) {
                Ok(timeout) => {
                    instance.params = Some(params);
                    instance.timeout_in_millis = Some(timeout);
                    None
                }
                Err(e) => Some(e),
            },
            Err(e) => Some(e),
        };
        instance.runtime_workflow = workflow;
        if let Some(message) = failure {
            if !req.persist_failed_run {
                return Err(EngineError::invalid(message));
            }
            instance.status = WorkflowInstanceStatus::Failed;
            instance.end_time = Some(now);
            instance.timeline = Some(Timeline::new([TimelineEvent::log(
                now,
                baton_model::instance::LogLevel::Error,
                format!("Failed to create the workflow instance: {message}"),
            )]));
        }
        let snapshot_strategy = snapshot.run_strategy_or_default();
        let outcome = self
            .inner
            .queues
            .submit(self, instance, snapshot_strategy)
            .await?;
        Ok(outcome)
    }
}

/// Merges and evaluates the workflow params of a new run on a blocking thread.
async fn evaluate_run_params(
    engine: &Engine,
    compiled: &Arc<CompiledWorkflow>,
    run_params: Option<baton_model::params::ParamMap>,
    run_source: ParamSource,
    facts: InstanceFacts,
    now: i64,
) -> std::result::Result<crate::params::Params, String> {
    let definition = compiled.workflow.params.clone();
    let scope = EvalScope {
        now_millis: now,
        limits: engine.inner.config.sel_limits,
        instance: facts,
        workflow_params: Arc::new(IndexMap::new()),
        step: None,
        upstream: Arc::new(IndexMap::new()),
        step_ids: compiled.step_ids.clone(),
        services: engine.inner.services.clone(),
    };
    let result = crate::blocking::run(move || {
        let merged =
            params::merge_workflow_params(definition.as_ref(), run_params.as_ref(), run_source)?;
        params::evaluate_workflow_params(&merged, &scope)
    })
    .await;
    match result {
        Ok(Ok(params)) => Ok(params),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The run timeout (§7.3): the workflow's `timeout` interpolated with its params, default 10 days.
pub(crate) fn run_timeout_millis(
    workflow: &Workflow,
    params: &crate::params::Params,
) -> std::result::Result<i64, String> {
    let Some(timeout) = &workflow.timeout else {
        return Ok(DEFAULT_TIMEOUT_MILLIS);
    };
    match baton_model::duration::timeout_millis(timeout, |text| {
        params::interpolate(text, &[params])
    }) {
        Ok(Ok(ms)) => Ok(ms),
        Ok(Err(e)) => Err(format!("invalid workflow timeout: {e}")),
        Err(e) => Err(format!("invalid workflow timeout: {e}")),
    }
}

/// `runtime_dag` of a fresh run: every step with its derived predecessors and successors.
pub(crate) fn runtime_dag(compiled: &CompiledWorkflow) -> IndexMap<String, StepTransition> {
    let dag = &compiled.dag;
    (0..dag.len())
        .map(|node| {
            (
                dag.id(node).to_string(),
                StepTransition {
                    predecessors: dag
                        .predecessor_ids(node)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    successors: compiled.step(node).transition.successors.clone(),
                },
            )
        })
        .collect()
}

/// The zone of the workflow's first time trigger, read by the default `DSL_DEFAULT_TZ` param.
pub(crate) fn first_time_trigger_timezone(workflow: &Workflow) -> Option<String> {
    workflow
        .time_triggers
        .as_ref()
        .and_then(|t| t.first())
        .and_then(TimeTrigger::timezone)
        .map(str::to_string)
}

/// The response to a start request.
pub(crate) fn start_response(
    instance: &WorkflowInstance,
    status: InstanceRunStatus,
    timeline_event: Option<TimelineEvent>,
) -> WorkflowStartResponse {
    WorkflowStartResponse {
        workflow_id: instance.workflow_id.clone(),
        workflow_version_id: instance.workflow_version_id,
        workflow_instance_id: instance.workflow_instance_id,
        workflow_run_id: instance.workflow_run_id,
        workflow_uuid: Some(instance.workflow_uuid.clone()),
        status,
        timeline_event,
    }
}
