//! Subworkflow steps (maestro-model.md §6.6): the child is an instance of another workflow,
//! started through that workflow's own run strategy with the version bound at launch, the
//! parent's params passed down, the parent's correlation id and `instance_step_concurrency`.
//! A sync step follows the child to its end; an async one (`sync: false`) succeeds once the
//! child exists.
//!
//! The child is launched only after the step's RUNNING state is durable, with a dedup uuid made
//! of the step attempt's identity: a relaunch after a crash finds the same child.

use baton_model::definition::StepKind;
use baton_model::instance::{
    Artifact, Initiator, RuntimeState, SubworkflowArtifact, TimelineEvent, UpstreamInitiator,
    WorkflowInstanceStatus as W,
};
use baton_store::RunKey;

use super::ChildEnded;
use super::actor::RunActor;
use super::flow::FlowState;
use crate::start::ChildStart;

/// A subworkflow step's progress.
pub(crate) struct SubworkflowState {
    pub attempt_id: i64,
    sync: bool,
    /// The step's RUNNING state is durable: the child may be launched.
    may_launch: bool,
    child: Option<RunKey>,
    artifact: Option<SubworkflowArtifact>,
    /// After a restart: the child's status still has to be read.
    unchecked: bool,
}

impl SubworkflowState {
    pub fn artifact(&self) -> Option<Artifact> {
        self.artifact.clone().map(Artifact::Subworkflow)
    }
}

/// What a child's status means for the step (`trackSubworkflowInstance`).
fn outcome(status: W) -> Option<RuntimeState> {
    match status {
        W::Created | W::InProgress | W::Paused => None,
        W::Succeeded => Some(RuntimeState::Done),
        W::Failed => Some(RuntimeState::FatalError),
        W::Stopped => Some(RuntimeState::Stopped),
        W::TimedOut => Some(RuntimeState::TimedOut),
    }
}

impl RunActor {
    fn subworkflow_state(&mut self, node: usize) -> Option<&mut SubworkflowState> {
        match self.flow.states.get_mut(&node) {
            Some(FlowState::Subworkflow(st)) => Some(st),
            _ => None,
        }
    }

    fn is_sync(&self, node: usize) -> bool {
        match &self.wf.step(node).kind {
            StepKind::Subworkflow(s) => s.sync.unwrap_or(true),
            _ => true,
        }
    }

    /// STARTING: move to RUNNING; the child is launched once that is durable.
    pub(super) fn start_subworkflow(&mut self, node: usize) -> bool {
        let state = SubworkflowState {
            attempt_id: self.attempt(node).map(|si| si.step_attempt_id).unwrap_or(1),
            sync: self.is_sync(node),
            may_launch: false,
            child: None,
            artifact: None,
            unchecked: false,
        };
        self.flow
            .states
            .insert(node, FlowState::Subworkflow(Box::new(state)));
        self.set_status(node, baton_model::instance::StepInstanceStatus::Running);
        self.flow.launch_after_write.push(node);
        false
    }

    /// The RUNNING write is durable.
    pub(super) fn subworkflow_running_durable(&mut self, node: usize) {
        if let Some(st) = self.subworkflow_state(node) {
            st.may_launch = true;
        }
    }

    /// Rebuilds the step after a restart: its child from the artifact, if it has one.
    fn ensure_subworkflow(&mut self, node: usize) {
        let attempt_id = self.attempt(node).map(|si| si.step_attempt_id);
        let fresh = matches!(self.flow.states.get(&node), Some(FlowState::Subworkflow(st)) if Some(st.attempt_id) == attempt_id);
        if fresh {
            return;
        }
        let artifact = match self
            .attempt(node)
            .and_then(|si| si.artifacts.as_ref())
            .and_then(|a| a.get("maestro_subworkflow"))
        {
            Some(Artifact::Subworkflow(a)) => Some(a.clone()),
            _ => None,
        };
        let child = artifact.as_ref().and_then(|a| {
            Some(RunKey {
                workflow_id: a.subworkflow_id.clone()?,
                instance_id: a.subworkflow_instance_id,
                run_id: a.subworkflow_run_id,
            })
        });
        let state = SubworkflowState {
            attempt_id: attempt_id.unwrap_or(1),
            sync: self.is_sync(node),
            may_launch: true,
            unchecked: child.is_some(),
            child,
            artifact,
        };
        self.flow
            .states
            .insert(node, FlowState::Subworkflow(Box::new(state)));
    }

    /// RUNNING: launch the child, then follow it.
    pub(super) async fn advance_subworkflow(&mut self, node: usize) -> bool {
        self.ensure_subworkflow(node);
        let Some(st) = self.subworkflow_state(node) else {
            return false;
        };
        if st.child.is_none() {
            if !st.may_launch {
                return false;
            }
            if let Err(e) = self.launch_subworkflow(node).await {
                return self
                    .fail_flow_step(node, format!("Failed to start subworkflow: {e}"))
                    .await;
            }
        }
        let Some(st) = self.subworkflow_state(node) else {
            return false;
        };
        if !st.sync {
            let event = st.child.as_ref().map(|c| {
                TimelineEvent::info(
                    crate::clock::now_millis(),
                    format!(
                        "Started an async subworkflow instance [{}][{}][{}]",
                        c.workflow_id, c.instance_id, c.run_id
                    ),
                )
            });
            return self
                .complete_flow_step(node, RuntimeState::Done, event)
                .await;
        }
        if st.unchecked {
            st.unchecked = false;
            let Some(key) = st.child.clone() else {
                return false;
            };
            if let Some((status, overview)) = self.read_child(&key).await
                && status.is_terminal()
            {
                return self.subworkflow_child_done(node, status, overview).await;
            }
        }
        false
    }

    async fn launch_subworkflow(&mut self, node: usize) -> Result<(), String> {
        let step = self.wf.step(node).clone();
        let StepKind::Subworkflow(def) = &step.kind else {
            return Ok(());
        };
        let params = self.steps[node].params.clone().unwrap_or_default();
        let text = |name: &str| -> Option<String> {
            match params.get(name)?.evaluated_result.as_ref()? {
                baton_model::params::EvaluatedValue::String(s) => Some(s.clone()),
                other => Some(other.to_json().to_string()),
            }
        };
        let workflow_id = text("subworkflow_id")
            .filter(|s| !s.is_empty())
            .ok_or("the param subworkflow_id is required")?;
        let version = text("subworkflow_version").unwrap_or_else(|| "active".to_string());
        let all = !def.explicit_params.unwrap_or(false);
        // Always-pass-down names (`stepruntime.subworkflow.always-pass-down-param-names`) are
        // empty in Maestro's default configuration, so explicit params pass only the step's own.
        let run_params = self
            .inherited_params(node, all, &["subworkflow_id", "subworkflow_version"])
            .await?;
        let ancestors = self.child_ancestors(node, def.sync)?;
        let request_id = crate::ids::name_uuid(&self.step_identity(node));
        let initiator = Initiator::Subworkflow(UpstreamInitiator { ancestors });
        let resp = match self.subworkflow_restart(node, &workflow_id) {
            Some((child, policy, config)) => self
                .engine
                .restart_child(
                    &child,
                    policy,
                    config,
                    initiator,
                    request_id,
                    self.instance.run_properties.owner.clone(),
                )
                .await
                .map_err(|e| e.to_string())?,
            None => {
                let child = ChildStart {
                    initiator,
                    request_id,
                    run_params,
                    correlation_id: self.instance.correlation_id_or_default(),
                    instance_step_concurrency: self.flow.instance_step_concurrency,
                    group_info: self.instance.group_info,
                };
                self.engine
                    .start_child(&workflow_id, &version, child)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        let key = RunKey {
            workflow_id: resp.workflow_id.clone(),
            instance_id: resp.workflow_instance_id,
            run_id: resp.workflow_run_id,
        };
        let artifact = SubworkflowArtifact {
            subworkflow_id: Some(resp.workflow_id.clone()),
            subworkflow_version_id: resp.workflow_version_id,
            subworkflow_instance_id: resp.workflow_instance_id,
            subworkflow_run_id: resp.workflow_run_id,
            subworkflow_uuid: resp.workflow_uuid.clone(),
            subworkflow_overview: None,
        };
        self.add_timeline(
            node,
            TimelineEvent::info(
                crate::clock::now_millis(),
                format!(
                    "Started a subworkflow with uuid: {}",
                    resp.workflow_uuid.as_deref().unwrap_or_default()
                ),
            ),
        );
        if let Some(st) = self.subworkflow_state(node) {
            st.child = Some(key);
            st.artifact = Some(artifact);
            // A duplicate or a run stored as STOPPED by the child's run strategy may already
            // be over: look.
            st.unchecked = true;
        }
        self.flow.dirty.insert(node);
        Ok(())
    }

    /// The child to restart when this attempt follows one that started a child of the same
    /// workflow (§7.7): its key, the policy of its new run and the restart config it gets (the
    /// path popped when a restart path goes through it).
    fn subworkflow_restart(
        &self,
        node: usize,
        workflow_id: &str,
    ) -> Option<(
        RunKey,
        baton_model::instance::RunPolicy,
        baton_model::instance::RestartConfig,
    )> {
        let children = self.child_restart(node)?;
        let prior = self.steps[node].prior.as_ref()?;
        let Some(Artifact::Subworkflow(a)) = prior
            .artifacts
            .as_ref()
            .and_then(|a| a.get("maestro_subworkflow"))
        else {
            return None;
        };
        if a.subworkflow_id.as_deref() != Some(workflow_id) {
            return None;
        }
        let key = RunKey {
            workflow_id: workflow_id.to_string(),
            instance_id: a.subworkflow_instance_id,
            run_id: a.subworkflow_run_id,
        };
        match children.path {
            Some((n, config))
                if n.workflow_id == key.workflow_id && n.instance_id == key.instance_id =>
            {
                Some((
                    key,
                    baton_model::instance::RunPolicy::RestartFromSpecific,
                    config,
                ))
            }
            _ => Some((
                key.clone(),
                children.policy,
                baton_model::instance::RestartConfig {
                    restart_path: vec![baton_model::instance::RestartNode {
                        workflow_id: key.workflow_id,
                        instance_id: key.instance_id,
                        step_id: None,
                    }],
                    restart_policy: children.policy,
                    downstream_policy: children.policy,
                    ..Default::default()
                },
            )),
        }
    }

    async fn subworkflow_child_done(
        &mut self,
        node: usize,
        status: W,
        overview: Option<baton_model::instance::WorkflowRuntimeOverview>,
    ) -> bool {
        let Some(st) = self.subworkflow_state(node) else {
            return false;
        };
        if let Some(a) = st.artifact.as_mut() {
            a.subworkflow_overview = overview;
        }
        self.flow.dirty.insert(node);
        let Some(state) = outcome(status) else {
            return false;
        };
        let event = TimelineEvent::info(
            crate::clock::now_millis(),
            format!(
                "Step is in {} status because its subworkflow instance is in {} status",
                state.as_str(),
                status.as_str()
            ),
        );
        self.complete_flow_step(node, state, Some(event)).await
    }

    /// The child ended. True when the step moved on.
    pub(super) async fn subworkflow_child_ended(&mut self, node: usize, ended: ChildEnded) -> bool {
        self.ensure_subworkflow(node);
        let Some(st) = self.subworkflow_state(node) else {
            return false;
        };
        if st.child.as_ref() != Some(&ended.child) {
            return false;
        }
        self.subworkflow_child_done(node, ended.status, ended.overview)
            .await
    }

    /// The step is terminated: a sync child is stopped with it (an async one is not).
    pub(super) async fn stop_subworkflow(&mut self, node: usize) {
        self.ensure_subworkflow(node);
        let Some(st) = self.subworkflow_state(node) else {
            return;
        };
        if !st.sync {
            return;
        }
        let Some(key) = st.child.clone() else {
            return;
        };
        let stopped = self.stop_children(vec![key]).await;
        if let Some(st) = self.subworkflow_state(node)
            && let Some(a) = st.artifact.as_mut()
        {
            for (_, _, overview) in stopped {
                a.subworkflow_overview = overview;
            }
        }
        self.flow.dirty.insert(node);
    }
}
