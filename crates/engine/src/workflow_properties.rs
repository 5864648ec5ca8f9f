//! Changing a workflow's properties after its first push (maestro-api.md §1.7, Maestro's
//! `PropertiesUpdate`): a properties update with reset flags, and adding or removing a tag.
//! Every change writes a new snapshot (its `create_time` is the snapshot id) and a history row,
//! guarded by the snapshot it replaces, so concurrent changes never lose one another.

use baton_model::definition::{
    Alerting, Properties, PropertiesSnapshot, RunStrategy, RunStrategyRule, Tag, TagList,
    TagNamespace, User, Workflow, WorkflowCreateRequest,
};
use baton_model::instance::WorkflowInstanceStatus;
use baton_model::validate::{ValidateOptions, validate_create_request};
use baton_model::{FieldError, JsonPath};
use baton_store::{StoreError, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::workflows::parse_snapshot;

/// How many times an update retries when another change of the same workflow landed first.
const UPDATE_ATTEMPTS: usize = 8;

/// `POST /workflows/{id}/properties`: the properties to change, flat (not under `properties`),
/// plus flags that clear a setting. `tags` are not accepted here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertiesUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_strategy: Option<RunStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_concurrency: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_trigger_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_trigger_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Clears the run strategy (back to SEQUENTIAL).
    #[serde(default)]
    pub reset_run_strategy_rule: bool,
    /// Puts a PARALLEL strategy back to its default concurrency (20).
    #[serde(default)]
    pub reset_workflow_concurrency: bool,
    /// Clears the step concurrency.
    #[serde(default)]
    pub reset_step_concurrency: bool,
}

impl PropertiesUpdateRequest {
    fn properties(&self) -> Properties {
        Properties {
            owner: self.owner.clone(),
            access_control: self.access_control.clone(),
            run_strategy: self.run_strategy,
            step_concurrency: self.step_concurrency,
            alerting: self.alerting.clone(),
            alerting_disabled: self.alerting_disabled,
            signal_trigger_disabled: self.signal_trigger_disabled,
            time_trigger_disabled: self.time_trigger_disabled,
            description: self.description.clone(),
            tags: None,
        }
    }
}

impl Engine {
    /// Applies a properties update and returns the new snapshot.
    pub async fn update_properties(
        &self,
        workflow_id: &str,
        req: PropertiesUpdateRequest,
        author: User,
    ) -> Result<PropertiesSnapshot> {
        let mut errors = Vec::new();
        let root = JsonPath::root();
        if req.reset_run_strategy_rule && req.run_strategy.is_some() {
            errors.push(FieldError::new(
                root.key("run_strategy"),
                "cannot set and reset the run strategy in one request",
            ));
        }
        if req.reset_workflow_concurrency && req.run_strategy.is_some() {
            errors.push(FieldError::new(
                root.key("run_strategy"),
                "cannot set the run strategy and reset the workflow concurrency in one request",
            ));
        }
        if req.reset_step_concurrency && req.step_concurrency.is_some() {
            errors.push(FieldError::new(
                root.key("step_concurrency"),
                "cannot set and reset the step concurrency in one request",
            ));
        }
        errors.extend(check_properties(workflow_id, &req.properties()));
        if !errors.is_empty() {
            return Err(EngineError::Invalid {
                message: format!("Invalid properties update for workflow [{workflow_id}]"),
                errors,
            });
        }
        let change = serde_json::to_string(&req)
            .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?;
        self.change_properties(workflow_id, &author, &change, |prev| {
            let mut next = prev.clone();
            if req.reset_run_strategy_rule {
                next.run_strategy = None;
            }
            if req.reset_workflow_concurrency
                && !req.reset_run_strategy_rule
                && next
                    .run_strategy
                    .is_some_and(|r| r.rule == RunStrategyRule::Parallel)
            {
                next.run_strategy = Some(RunStrategy::new(RunStrategyRule::Parallel));
            }
            if req.reset_step_concurrency {
                next.step_concurrency = None;
            }
            let p = req.properties();
            next.owner = p.owner.or(next.owner);
            next.access_control = p.access_control.or(next.access_control);
            next.run_strategy = p.run_strategy.or(next.run_strategy);
            next.step_concurrency = p.step_concurrency.or(next.step_concurrency);
            next.alerting = p.alerting.or(next.alerting);
            next.alerting_disabled = p.alerting_disabled.or(next.alerting_disabled);
            next.signal_trigger_disabled =
                p.signal_trigger_disabled.or(next.signal_trigger_disabled);
            next.time_trigger_disabled = p.time_trigger_disabled.or(next.time_trigger_disabled);
            next.description = p.description.or(next.description);
            Ok(next)
        })
        .await
    }

    /// Adds (or replaces, by name) a workflow tag: the tag goes into the PLATFORM namespace
    /// with `creator` and `created_at_milli` attributes.
    pub async fn add_workflow_tag(
        &self,
        workflow_id: &str,
        mut tag: Tag,
        author: User,
    ) -> Result<PropertiesSnapshot> {
        if let Some(problem) = baton_model::validate::ids::check_name(&tag.name) {
            return Err(EngineError::Invalid {
                message: format!("Invalid tag for workflow [{workflow_id}]"),
                errors: vec![FieldError::new(JsonPath::root().key("name"), problem)],
            });
        }
        let now = now_millis();
        tag.namespace = Some(TagNamespace::Platform);
        tag.attributes.insert(
            "creator".into(),
            serde_json::to_value(&author).unwrap_or(Value::Null),
        );
        tag.attributes
            .insert("created_at_milli".into(), Value::from(now));
        let change = serde_json::json!({ "add_tag": tag }).to_string();
        self.change_properties(workflow_id, &author, &change, |prev| {
            let mut next = prev.clone();
            let mut tags = next.tags.take().unwrap_or_default().0;
            match tags.iter_mut().find(|t| t.name == tag.name) {
                Some(existing) => *existing = tag.clone(),
                None => tags.push(tag.clone()),
            }
            next.tags = Some(TagList(tags));
            Ok(next)
        })
        .await
    }

    /// Removes a workflow tag by name; not-found when the workflow has no such tag.
    pub async fn delete_workflow_tag(
        &self,
        workflow_id: &str,
        tag_name: &str,
        author: User,
    ) -> Result<PropertiesSnapshot> {
        let change = serde_json::json!({ "delete_tag": tag_name }).to_string();
        self.change_properties(workflow_id, &author, &change, |prev| {
            let mut next = prev.clone();
            let tags = next.tags.take().unwrap_or_default().0;
            if !tags.iter().any(|t| t.name == tag_name) {
                return Err(EngineError::NotFound(format!(
                    "no workflow tag with name [{tag_name}] found in the current workflow tags for workflow [{workflow_id}]."
                )));
            }
            next.tags = Some(TagList(
                tags.into_iter().filter(|t| t.name != tag_name).collect(),
            ));
            Ok(next)
        })
        .await
    }

    /// Reads the current snapshot, applies `change` and writes the result guarded by the
    /// snapshot it read, retrying when another change won the race.
    async fn change_properties(
        &self,
        workflow_id: &str,
        author: &User,
        change_json: &str,
        change: impl Fn(&PropertiesSnapshot) -> Result<PropertiesSnapshot>,
    ) -> Result<PropertiesSnapshot> {
        let author_json = serde_json::to_string(author)
            .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?;
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(row) = self.inner.store.get_workflow(workflow_id).await? else {
                return Err(EngineError::invalid(format!(
                    "Cannot update workflow properties while the workflow [{workflow_id}] does not exist"
                )));
            };
            let prev = parse_snapshot(&row.properties_snapshot)?;
            let mut next = change(&prev)?;
            self.check_strategy_change(workflow_id, &prev, &next)
                .await?;
            // A snapshot id is its create time: keep it increasing even within a millisecond.
            let ts = now_millis().max(prev.create_time.unwrap_or(0) + 1);
            next.workflow_id = Some(workflow_id.to_string());
            next.create_time = Some(ts);
            next.author = Some(author.clone());
            let snapshot = serde_json::to_string(&next)
                .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?;
            let op = WriteOp::SetProperties {
                workflow_id: workflow_id.to_string(),
                expected_snapshot: row.properties_snapshot.clone(),
                snapshot,
                author: author_json.clone(),
                change: change_json.to_string(),
                ts,
            };
            match self.inner.store.write(vec![op]).await {
                Ok(_) => {
                    // Trigger flags (`*_trigger_disabled`) may have changed.
                    self.refresh_triggers_logged(workflow_id).await;
                    return Ok(next);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Conflict(format!(
            "the properties of workflow [{workflow_id}] are being changed concurrently; try again"
        )))
    }

    /// Maestro's preconditions for a run-strategy change (412): FIRST_ONLY/LAST_ONLY allow at
    /// most one non-terminal run, STRICT_SEQUENTIAL no blocking FAILED run.
    async fn check_strategy_change(
        &self,
        workflow_id: &str,
        prev: &PropertiesSnapshot,
        next: &PropertiesSnapshot,
    ) -> Result<()> {
        let before = prev.run_strategy_or_default();
        let after = next.run_strategy_or_default();
        if before.rule == after.rule {
            return Ok(());
        }
        let counts = self.inner.store.count_runs_by_status(workflow_id).await?;
        let count = |statuses: &[WorkflowInstanceStatus]| -> i64 {
            counts
                .iter()
                .filter(|(s, _)| statuses.iter().any(|x| x.as_str() == s))
                .map(|(_, n)| *n)
                .sum()
        };
        match after.rule {
            RunStrategyRule::FirstOnly | RunStrategyRule::LastOnly => {
                let n = count(&[
                    WorkflowInstanceStatus::Created,
                    WorkflowInstanceStatus::InProgress,
                    WorkflowInstanceStatus::Paused,
                ]);
                if n > 1 {
                    return Err(EngineError::PreconditionFailed(format!(
                        "Cannot update run strategy from {} to {} because there are {n} nonterminal workflow instances. As at most ONE nonterminal workflow instance is allowed by {}, please review them and either manually stop them or wait for them to complete and then update the run strategy.",
                        before.rule, after.rule, after.rule
                    )));
                }
            }
            RunStrategyRule::StrictSequential => {
                let n = count(&[WorkflowInstanceStatus::Failed]);
                if n > 0 {
                    return Err(EngineError::PreconditionFailed(format!(
                        "Cannot update run strategy from {} to {} because there are {n} FAILED workflow instances. {} will be blocked if there is any failure in the history due to {}. Please review them and either manually UNBLOCK or RESTART those failed instances and then update the run strategy.",
                        before.rule, after.rule, after.rule, after.rule
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The model's property rules, applied to an update. They live with the create request, so the
/// update is checked as the properties of a minimal request; paths are made relative to the
/// flat update body.
fn check_properties(workflow_id: &str, p: &Properties) -> Vec<FieldError> {
    let req = WorkflowCreateRequest {
        properties: Some(p.clone()),
        ..WorkflowCreateRequest::new(Workflow {
            id: workflow_id.to_string(),
            ..Workflow::default()
        })
    };
    let report = validate_create_request(
        &req,
        ValidateOptions {
            require_owner: false,
            ..ValidateOptions::default()
        },
    );
    report
        .errors
        .into_iter()
        .filter_map(|e| {
            let path = e.path.as_str();
            let rest = path.strip_prefix("properties")?;
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            Some(FieldError::new(JsonPath::from_string(rest), e.message))
        })
        .collect()
}
