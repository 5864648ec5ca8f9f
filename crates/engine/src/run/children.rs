//! What foreach, while and subworkflow steps share: the params a child inherits, its ancestry,
//! inline workflow instances built from a template, creating children in the parent's write,
//! stopping children and waiting for them, and reading a child's outcome.

use std::sync::Arc;

use baton_model::definition::{StepTransition, Tag, TagList, Workflow};
use baton_model::instance::{
    Initiator, InitiatorType, RunConfig, RunPolicy, RunProperties, Timeline, TimelineEvent,
    UpstreamInfo, UpstreamInitiator, WORKFLOW_DEPTH_LIMIT, WorkflowInstance,
    WorkflowInstanceStatus as W, WorkflowRuntimeOverview,
};
use baton_model::params::{ParamDefinition, ParamMap, ParamSource, ParamValue};
use baton_store::{NewInstance, ParentRef, RunKey, WriteOp};
use indexmap::IndexMap;

use super::actor::RunActor;
use super::flow::StagedChild;
use super::{ChildEnded, RunAction, RunMsg};
use crate::clock::now_millis;
use crate::compiled::CompiledWorkflow;
use crate::ids::LoopKind;
use crate::params::{self, EvalScope, InstanceFacts, Params};
use crate::persist;

/// How long a terminating parent waits for one child to stop.
const CHILD_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Everything the iterations of one loop step share, built once per step attempt: the inline
/// workflow, the run params every iteration inherits and those params evaluated.
pub(super) struct InlineTemplate {
    pub kind: LoopKind,
    pub workflow_id: String,
    /// The run id every iteration gets (`foreach_run_id` / `loop_run_id`).
    pub run_id: i64,
    pub workflow: Workflow,
    pub runtime_dag: IndexMap<String, StepTransition>,
    pub version_id: i64,
    pub internal_id: Option<i64>,
    pub group_info: i64,
    /// The parent's ownership group, which every iteration shares.
    pub group: i64,
    pub correlation_id: String,
    pub run_properties: RunProperties,
    pub run_policy: RunPolicy,
    /// The one iteration a restart path goes through, with its restart config (its run is
    /// RESTART_FROM_SPECIFIC).
    pub path_iteration: Option<(i64, baton_model::instance::RestartConfig)>,
    pub ancestors: Vec<UpstreamInfo>,
    pub parent: ParentRef,
    /// Inherited run params with the per-iteration names (`loop_index`, loop params) filled with
    /// the first iteration's values.
    pub run_params: ParamMap,
    /// `run_params` merged over the defaults and evaluated, when no param needs evaluating
    /// again per iteration (then an iteration only swaps in its own values).
    pub params: Option<Params>,
    pub limits: baton_sel::Limits,
    pub services: Arc<dyn params::EvalServices>,
    pub step_ids: Arc<Vec<String>>,
}

impl InlineTemplate {
    fn source(&self) -> ParamSource {
        match self.kind {
            LoopKind::Foreach => ParamSource::Foreach,
            LoopKind::While => ParamSource::While,
        }
    }

    fn initiator_type(&self) -> InitiatorType {
        match self.kind {
            LoopKind::Foreach => InitiatorType::Foreach,
            LoopKind::While => InitiatorType::While,
        }
    }

    fn facts(&self) -> InstanceFacts {
        InstanceFacts {
            workflow_id: self.workflow_id.clone(),
            initiator_type: Some(self.initiator_type()),
            run_policy: Some(self.run_policy),
            owner: Some(self.run_properties.owner.name.clone()),
            ..InstanceFacts::default()
        }
    }

    /// The workflow params of one iteration: the template's with `values` swapped in (cast to
    /// the types the merge gave them), or a full merge and evaluation when the inherited params
    /// hold expressions that Maestro evaluates again for every child (IMMUTABLE params).
    fn iteration_params(
        &self,
        values: &[(String, ParamValue)],
        now: i64,
    ) -> Result<(ParamMap, Params), String> {
        // What the iteration stores as its run params: only what is its own. The params every
        // iteration inherits are in its evaluated `params`; repeating them in `run_params`
        // (as Maestro does) would double the size of every iteration's row.
        let own: ParamMap = values
            .iter()
            .map(|(name, v)| (name.clone(), ParamDefinition::literal(v.clone())))
            .collect();
        match &self.params {
            Some(base) => {
                let mut out = base.clone();
                for (name, v) in values {
                    let Some(p) = out.get_mut(name) else {
                        continue;
                    };
                    let v = if v.param_type() == p.definition.param_type {
                        v.clone()
                    } else {
                        params::coerce::cast_literal(v, p.definition.param_type)
                            .map_err(|e| format!("loop param [{name}]: {e}"))?
                    };
                    p.evaluated_result = Some(params::coerce::literal_result(&v));
                    p.definition.value = Some(v);
                    p.evaluated_time = Some(now);
                }
                Ok((own, out))
            }
            None => {
                let mut run_params = self.run_params.clone();
                run_params.extend(own.clone());
                let scope = self.scope(now);
                let merged = params::merge_workflow_params(None, Some(&run_params), self.source())
                    .map_err(|e| e.to_string())?;
                let evaluated =
                    params::evaluate_workflow_params(&merged, &scope).map_err(|e| e.to_string())?;
                Ok((own, evaluated))
            }
        }
    }

    fn scope(&self, now: i64) -> EvalScope {
        EvalScope {
            now_millis: now,
            limits: self.limits,
            instance: self.facts(),
            workflow_params: Arc::new(IndexMap::new()),
            step: None,
            upstream: Arc::new(IndexMap::new()),
            step_ids: self.step_ids.clone(),
            services: self.services.clone(),
        }
    }

    /// One iteration as a run and its row. `dedup_key` becomes the run's uuid. Iterations skip
    /// the run-strategy queue, so they are created IN_PROGRESS: that saves rewriting the row
    /// (and its document) just to move it from CREATED.
    pub fn iteration(
        &self,
        iteration_id: i64,
        values: &[(String, ParamValue)],
        dedup_key: &str,
    ) -> Result<(WorkflowInstance, NewInstance), String> {
        let now = now_millis();
        let (run_params, evaluated) = self.iteration_params(values, now)?;
        let uuid = crate::ids::name_uuid(dedup_key).to_string();
        let initiator = match self.kind {
            LoopKind::Foreach => Initiator::Foreach(UpstreamInitiator {
                ancestors: self.ancestors.clone(),
            }),
            LoopKind::While => Initiator::While(UpstreamInitiator {
                ancestors: self.ancestors.clone(),
            }),
        };
        let tag = match self.kind {
            LoopKind::Foreach => "maestro_foreach",
            LoopKind::While => "maestro_while",
        };
        let timeline = Timeline::new([TimelineEvent::info(
            now,
            "Workflow instance status is updated to [IN_PROGRESS]",
        )]);
        let instance = WorkflowInstance {
            workflow_id: self.workflow_id.clone(),
            workflow_instance_id: iteration_id,
            workflow_run_id: self.run_id,
            workflow_uuid: uuid.clone(),
            correlation_id: Some(self.correlation_id.clone()),
            workflow_version_id: self.version_id,
            group_info: self.group_info,
            internal_id: self.internal_id,
            execution_id: None,
            run_config: Some(match &self.path_iteration {
                Some((id, config)) if *id == iteration_id => RunConfig {
                    runtime_tags: Some(vec![Tag::new(tag)]),
                    correlation_id: Some(self.correlation_id.clone()),
                    policy: RunPolicy::RestartFromSpecific,
                    restart_config: Some(config.clone()),
                },
                _ => RunConfig {
                    runtime_tags: Some(vec![Tag::new(tag)]),
                    correlation_id: Some(self.correlation_id.clone()),
                    policy: self.run_policy,
                    restart_config: None,
                },
            }),
            run_params: Some(run_params),
            step_run_params: None,
            run_properties: self.run_properties.clone(),
            runtime_workflow: self.workflow.clone(),
            runtime_dag: self.runtime_dag.clone(),
            timeout_in_millis: None,
            params: Some(evaluated),
            initiator: initiator.clone(),
            status: W::InProgress,
            request_time: Some(now),
            create_time: Some(now),
            start_time: Some(now),
            end_time: None,
            modify_time: Some(now),
            runtime_overview: None,
            artifacts: None,
            timeline: Some(timeline.clone()),
            aggregated_info: None,
        };
        let row = NewInstance {
            workflow_id: self.workflow_id.clone(),
            instance_id: Some(iteration_id),
            run_id: self.run_id,
            uuid,
            correlation_id: Some(self.correlation_id.clone()),
            initiator_type: self.initiator_type().as_str().to_string(),
            depth: self.ancestors.len() as i64,
            parent: Some(self.parent.clone()),
            group_id: self.group,
            status: W::InProgress.as_str().to_string(),
            queued: false,
            create_ts: now,
            start_ts: Some(now),
            end_ts: None,
            instance: persist::instance_document(&instance).map_err(|e| e.to_string())?,
            timeline: Some(persist::timeline_json(&timeline).map_err(|e| e.to_string())?),
        };
        Ok((instance, row))
    }
}

impl RunActor {
    /// This run's workflow params with their definitions (the actor keeps only results).
    pub(super) async fn full_workflow_params(&mut self) -> Result<Arc<Params>, String> {
        if let Some(p) = &self.flow.full_params {
            return Ok(p.clone());
        }
        let row = self
            .engine
            .inner
            .store
            .get_instance_run(
                &self.key.workflow_id,
                self.key.instance_id,
                Some(self.key.run_id),
            )
            .await
            .map_err(|e| format!("cannot read the workflow params: {e}"))?
            .ok_or_else(|| "the run's row is gone".to_string())?;
        let instance = persist::instance_from_row(&row).map_err(|e| e.to_string())?;
        let params = Arc::new(instance.params.unwrap_or_default());
        self.flow.full_params = Some(params.clone());
        Ok(params)
    }

    /// `[workflow][instance][run]` + `[step][attempt][uuid]`, Maestro's identity of a step
    /// attempt (dedup keys and loop identities are made of it).
    pub(super) fn step_identity(&self, node: usize) -> String {
        let (step_id, attempt, uuid) = self
            .attempt(node)
            .map(|si| (si.step_id.clone(), si.step_attempt_id, si.step_uuid.clone()))
            .unwrap_or_default();
        format!(
            "[{}][{}][{}][{step_id}][{attempt}][{uuid}]",
            self.key.workflow_id, self.key.instance_id, self.key.run_id
        )
    }

    /// The ancestry of a child of `node`: this run's ancestors, then this step. Errors at
    /// Maestro's depth limit.
    pub(super) fn child_ancestors(
        &self,
        node: usize,
        sync: Option<bool>,
    ) -> Result<Vec<UpstreamInfo>, String> {
        let mut ancestors = self
            .instance
            .initiator
            .upstream()
            .map(|u| u.ancestors.clone())
            .unwrap_or_default();
        ancestors.push(UpstreamInfo {
            workflow_id: self.key.workflow_id.clone(),
            instance_id: self.key.instance_id,
            run_id: self.key.run_id,
            step_id: self.wf.step(node).id.clone(),
            step_attempt_id: self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(1),
            sync,
        });
        if ancestors.len() >= WORKFLOW_DEPTH_LIMIT {
            return Err(format!(
                "the child run would have {} ancestors, not less than the depth limit {WORKFLOW_DEPTH_LIMIT}",
                ancestors.len()
            ));
        }
        Ok(ancestors)
    }

    /// The instance id a loop's inline workflow id is keyed by: this run's, or for an inline
    /// run the closest ancestor's that is not inline.
    pub(super) fn base_instance_id(&self) -> i64 {
        if self.instance.is_inline()
            && let Some(up) = self.instance.initiator.upstream()
            && let Some(base) = up.non_inline_parent()
        {
            return base.instance_id;
        }
        self.key.instance_id
    }

    /// The params a child inherits (§6.4–§6.6): this run's workflow params (all of them, or
    /// none for `explicit_params` subworkflows), then the step's own user-defined params with
    /// their evaluated values, minus `exclude`.
    pub(super) async fn inherited_params(
        &mut self,
        node: usize,
        all_workflow_params: bool,
        exclude: &[&str],
    ) -> Result<ParamMap, String> {
        let mut out = ParamMap::new();
        if all_workflow_params {
            let full = self.full_workflow_params().await?;
            for (name, p) in full.iter() {
                out.insert(name.clone(), p.to_definition());
            }
        }
        let step = self.wf.step(node);
        let evaluated = self.steps[node].params.clone().unwrap_or_default();
        if let Some(defs) = &step.params {
            for name in defs.keys() {
                if let Some(p) = evaluated.get(name) {
                    out.insert(name.clone(), p.to_definition());
                }
            }
        }
        for name in exclude {
            out.shift_remove(*name);
        }
        Ok(out)
    }

    /// Builds the template of a loop's iterations. `values` are the per-iteration params with
    /// the first iteration's values.
    pub(super) async fn inline_template(
        &mut self,
        node: usize,
        kind: LoopKind,
        workflow_id: &str,
        run_id: i64,
        values: Vec<(String, ParamValue)>,
        restart: Option<&super::restart::ChildRestart>,
    ) -> Result<Arc<InlineTemplate>, String> {
        let mut run_params = self.inherited_params(node, true, &["loop_params"]).await?;
        for (name, v) in values {
            run_params.insert(name, ParamDefinition::literal(v));
        }
        let step = self.wf.step(node).clone();
        let identity = self.step_identity(node);
        let tag = match kind {
            LoopKind::Foreach => "maestro_foreach",
            LoopKind::While => "maestro_while",
        };
        let mut tags = step.tags.clone().unwrap_or_default();
        if !tags.0.iter().any(|t| t.name == tag) {
            tags.0.push(Tag::new(tag));
        }
        let workflow = Workflow {
            id: workflow_id.to_string(),
            name: Some(identity.clone()),
            description: Some(format!(
                "Maestro {} inline workflow including steps created by {identity}",
                match kind {
                    LoopKind::Foreach => "foreach",
                    LoopKind::While => "while loop",
                }
            )),
            tags: Some(TagList(tags.0)),
            instance_step_concurrency: self.flow.instance_step_concurrency,
            steps: step.body().map(<[_]>::to_vec).unwrap_or_default(),
            ..Workflow::default()
        };
        let compiled: Arc<CompiledWorkflow> = self
            .engine
            .inner
            .compiled
            .get_or_compile(workflow_id, self.instance.workflow_version_id, || {
                Ok(workflow.clone())
            })
            .map_err(|e| e.to_string())?;
        let ancestors = self.child_ancestors(node, None)?;
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(1);
        let mut template = InlineTemplate {
            kind,
            workflow_id: workflow_id.to_string(),
            run_id,
            runtime_dag: crate::start::runtime_dag(&compiled),
            workflow,
            version_id: self.instance.workflow_version_id,
            internal_id: self.instance.internal_id,
            group_info: self.instance.group_info,
            group: self.group,
            correlation_id: self.instance.correlation_id_or_default(),
            run_properties: self.instance.run_properties.clone(),
            run_policy: match restart {
                Some(r) => r.policy,
                None => self
                    .instance
                    .run_config
                    .as_ref()
                    .map(|c| c.policy)
                    .unwrap_or(RunPolicy::StartFreshNewRun),
            },
            path_iteration: restart
                .and_then(|r| r.path.as_ref())
                .filter(|(n, _)| n.workflow_id == workflow_id)
                .map(|(n, c)| (n.instance_id, c.clone())),
            ancestors,
            parent: ParentRef {
                run: self.key.clone(),
                step_id: step.id.clone(),
                attempt_id,
            },
            run_params,
            params: None,
            limits: self.engine.inner.config.sel_limits,
            services: self.engine.inner.services.clone(),
            step_ids: compiled.step_ids.clone(),
        };
        // Literal run params give every iteration the same params but for its own values:
        // merge and evaluate once. Expressions (IMMUTABLE params) are evaluated per iteration.
        if template.run_params.values().all(|d| d.expression.is_none()) {
            let merged = template.run_params.clone();
            let source = template.source();
            let scope = template.scope(now_millis());
            let evaluated = crate::blocking::run(move || {
                let merged = params::merge_workflow_params(None, Some(&merged), source)?;
                params::evaluate_workflow_params(&merged, &scope)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot build the iterations' params: {e}"))?;
            template.params = Some(evaluated);
        }
        Ok(Arc::new(template))
    }

    /// Adds a child to this turn's write; its actor starts after the write.
    pub(super) fn stage_child(
        &mut self,
        node: usize,
        instance: WorkflowInstance,
        row: NewInstance,
    ) {
        self.flow.staged_ops.push(WriteOp::CreateInstance(row));
        self.flow.staged.push(StagedChild { node, instance });
    }

    /// A child this step created turned out to exist already: if it ended, report it to
    /// ourselves; if nobody runs it, run it.
    pub(super) async fn probe_child(&mut self, node: usize, instance: &WorkflowInstance) {
        let key = RunKey {
            workflow_id: instance.workflow_id.clone(),
            instance_id: instance.workflow_instance_id,
            run_id: instance.workflow_run_id,
        };
        let Ok(Some(row)) = self
            .engine
            .inner
            .store
            .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
            .await
        else {
            return;
        };
        let Ok(child) = persist::instance_from_row(&row) else {
            return;
        };
        if child.status.is_terminal() {
            let (step_id, attempt_id) = self
                .attempt(node)
                .map(|si| (si.step_id.clone(), si.step_attempt_id))
                .unwrap_or_default();
            let _ = self.tx.send(RunMsg::ChildEnded(Box::new(ChildEnded {
                step_id,
                attempt_id,
                child: key,
                status: child.status,
                overview: child.runtime_overview,
            })));
            return;
        }
        let live = self
            .engine
            .inner
            .runs
            .lock()
            .map(|r| r.contains_key(&key))
            .unwrap_or(true);
        if !live && !row.queued {
            let attempts = match self.engine.inner.store.list_step_attempts(&key).await {
                Ok(rows) => rows
                    .iter()
                    .filter_map(|r| persist::step_from_row(r).ok())
                    .collect(),
                Err(_) => return,
            };
            if let Err(e) = crate::run::spawn(&self.engine, child, attempts).await {
                tracing::warn!(run = ?key, error = %e, "cannot resume a child run");
            }
        }
    }

    /// A child's status and final overview from the store.
    pub(super) async fn read_child(
        &self,
        key: &RunKey,
    ) -> Option<(W, Option<WorkflowRuntimeOverview>)> {
        let row = self
            .engine
            .inner
            .store
            .get_instance_run(&key.workflow_id, key.instance_id, Some(key.run_id))
            .await
            .ok()??;
        let status = W::from_raw(&row.status)?;
        let overview = row
            .runtime_overview
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok());
        Some((status, overview))
    }

    /// Stops child runs (an upstream stop: their steps end STOPPED) and waits until each is
    /// terminal. Returns each child's final status and overview as stored.
    pub(super) async fn stop_children(
        &mut self,
        keys: Vec<RunKey>,
    ) -> Vec<(RunKey, W, Option<WorkflowRuntimeOverview>)> {
        let mut waits = Vec::new();
        for key in &keys {
            let tx = self
                .engine
                .inner
                .runs
                .lock()
                .ok()
                .and_then(|r| r.get(key).cloned());
            match tx {
                Some(tx) => {
                    let (reply, answer) = tokio::sync::oneshot::channel();
                    let sent = tx
                        .send(RunMsg::Action {
                            action: RunAction::Stop,
                            user: None,
                            reason: Some(format!(
                                "stopped by its upstream step {}",
                                self.instance.identity()
                            )),
                            reply,
                        })
                        .is_ok();
                    if sent {
                        waits.push(answer);
                    }
                }
                None => {
                    // Not running here: stop it if it waits in its workflow's queue.
                    if let Err(e) = self
                        .engine
                        .inner
                        .queues
                        .stop_queued(&self.engine, key, "stopped by its upstream step")
                        .await
                    {
                        tracing::warn!(child = ?key, error = %e, "cannot stop a queued child");
                    }
                }
            }
        }
        for answer in waits {
            let _ = tokio::time::timeout(CHILD_STOP_TIMEOUT, answer).await;
        }
        let mut out = Vec::new();
        for key in keys {
            // The stop reply comes once the child's terminal status is durable.
            let mut found = None;
            for _ in 0..100 {
                match self.read_child(&key).await {
                    Some((status, overview)) if status.is_terminal() => {
                        found = Some((status, overview));
                        break;
                    }
                    _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                }
            }
            if let Some((status, overview)) = found {
                out.push((key, status, overview));
            } else {
                tracing::warn!(child = ?key, "child run did not stop in time");
            }
        }
        out
    }
}
