//! Workflow definitions and versions (maestro-model.md §1, §8): pushing a new version with its
//! properties, reading a version back, and resolving `active` / `latest` / `default` / numbers.

use baton_model::FieldError;
use baton_model::definition::{
    Metadata, Properties, PropertiesSnapshot, User, Workflow, WorkflowCreateRequest,
    WorkflowDefinition,
};
use baton_model::validate::{ValidateOptions, validate_create_request};
use baton_store::{NewVersion, StoreError, VersionRow, WorkflowRow, WriteOp, WriteOutcome};

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// How many times a push retries when another push of the same workflow landed first.
const PUSH_ATTEMPTS: usize = 8;

impl Engine {
    /// Validates a create request and stores it as the workflow's next version (§8 "Push").
    /// Nothing is written when the request is invalid.
    pub async fn push_workflow(
        &self,
        req: WorkflowCreateRequest,
        author: User,
    ) -> Result<WorkflowDefinition> {
        if req
            .properties
            .as_ref()
            .and_then(|p| p.tags.as_ref())
            .is_some_and(|t| !t.is_empty())
        {
            return Err(EngineError::Invalid {
                message: format!(
                    "Cannot set workflow property tags [{}] while pushing a definition; use the addWorkflowTag endpoint",
                    req.workflow.id
                ),
                errors: vec![FieldError::new(
                    baton_model::JsonPath::root().key("properties").key("tags"),
                    "tags can only be set through the tag endpoints",
                )],
            });
        }
        let workflow_id = req.workflow.id.clone();
        for _ in 0..PUSH_ATTEMPTS {
            let current = self.inner.store.get_workflow(&workflow_id).await?;
            let report = validate_create_request(
                &req,
                ValidateOptions {
                    require_owner: current.is_none(),
                    step_limit: self.inner.config.max_steps,
                    request_size_limit: self.inner.config.max_request_bytes,
                },
            );
            if !report.is_ok() {
                return Err(EngineError::Invalid {
                    message: format!("Invalid workflow definition [{workflow_id}]"),
                    errors: report.errors,
                });
            }
            crate::compiled::CompiledWorkflow::new(req.workflow.clone())?;
            crate::dryrun::check_workflow_params(self, &req.workflow).await?;

            let ts = now_millis();
            let latest = current.as_ref().map(|c| c.latest_version_id).unwrap_or(0);
            let previous = current
                .as_ref()
                .map(|c| parse_snapshot(&c.properties_snapshot))
                .transpose()?;
            let snapshot = match (&req.properties, &previous) {
                (Some(props), None) => Some(PropertiesSnapshot::create(
                    &workflow_id,
                    ts,
                    author.clone(),
                    props,
                )),
                (Some(props), Some(prev)) => {
                    Some(merge_pushed_properties(prev, props, ts, &author))
                }
                (None, None) => {
                    return Err(EngineError::invalid(format!(
                        "Cannot create workflow [{workflow_id}] without properties: its first version needs properties with an owner"
                    )));
                }
                (None, Some(_)) => None,
            };
            let metadata = Metadata {
                workflow_id: Some(workflow_id.clone()),
                workflow_version_id: Some(latest + 1),
                create_time: Some(ts),
                version_author: Some(author.clone()),
                git_info: req.git_info.clone(),
                extra: req.extra.clone(),
            };
            let activate = req.is_active_or_default();
            let op = WriteOp::PutVersion(NewVersion {
                workflow_id: workflow_id.clone(),
                expected_latest_version_id: latest,
                metadata: to_json(&metadata)?,
                definition: to_json(&req.workflow)?,
                trigger_uuids: crate::triggers::trigger_uuids_json(&req.workflow)?,
                activate,
                activated_by: Some(to_json(&author)?),
                properties_snapshot: snapshot.as_ref().map(to_json).transpose()?,
                properties_change: match (&snapshot, &req.properties) {
                    (Some(_), Some(props)) => Some((to_json(&author)?, to_json(props)?)),
                    _ => None,
                },
                ts,
            });
            match self.inner.store.write(vec![op]).await {
                Ok(outcomes) => {
                    if let Some(WriteOutcome::VersionPut { version_id, .. }) = outcomes.first() {
                        // The version is stored; a trigger refresh that fails is logged and
                        // retried by the next refresh or engine start.
                        if let Err(e) = self.refresh_triggers(&workflow_id).await {
                            tracing::error!(workflow_id = %workflow_id, error = %e, "cannot refresh triggers");
                        }
                        return self
                            .get_workflow_definition(&workflow_id, &version_id.to_string())
                            .await;
                    }
                    return Err(EngineError::Internal(
                        "version push returned no version".into(),
                    ));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(EngineError::Conflict(format!(
            "workflow [{workflow_id}] is being changed concurrently; try again"
        )))
    }

    /// A version of a workflow as the API returns it. `version` is `active`, `latest`,
    /// `default` or a version number.
    pub async fn get_workflow_definition(
        &self,
        workflow_id: &str,
        version: &str,
    ) -> Result<WorkflowDefinition> {
        let row = self.workflow_row(workflow_id).await?;
        let version_id = resolve_version(&row, version)?;
        let version_row = self.version_row(workflow_id, version_id).await?;
        definition_from_rows(&row, &version_row)
    }

    /// The workflow row, or a not-found error naming the workflow.
    pub(crate) async fn workflow_row(&self, workflow_id: &str) -> Result<WorkflowRow> {
        self.inner
            .store
            .get_workflow(workflow_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("Cannot find workflow [{workflow_id}]")))
    }

    pub(crate) async fn version_row(
        &self,
        workflow_id: &str,
        version_id: i64,
    ) -> Result<VersionRow> {
        self.inner
            .store
            .get_version(workflow_id, version_id)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "Cannot find workflow [{workflow_id}] with version [{version_id}]"
                ))
            })
    }
}

/// Resolves `active`, `latest`, `default` or a number against the workflow row.
pub(crate) fn resolve_version(row: &WorkflowRow, version: &str) -> Result<i64> {
    let id = &row.workflow_id;
    match version.to_ascii_lowercase().as_str() {
        "active" => {
            if row.active_version_id > 0 {
                Ok(row.active_version_id)
            } else {
                Err(EngineError::NotFound(format!(
                    "Cannot find an active version for workflow [{id}]"
                )))
            }
        }
        "latest" => Ok(row.latest_version_id),
        "default" => Ok(if row.active_version_id > 0 {
            row.active_version_id
        } else {
            row.latest_version_id
        }),
        other => match other.parse::<i64>() {
            Ok(v) if v >= 1 && v <= row.latest_version_id => Ok(v),
            Ok(v) => Err(EngineError::NotFound(format!(
                "Cannot find workflow [{id}] with version [{v}]"
            ))),
            Err(_) => Err(EngineError::invalid(format!(
                "Invalid workflow version [{version}]: use active, latest, default or a number"
            ))),
        },
    }
}

pub(crate) fn parse_snapshot(text: &str) -> Result<PropertiesSnapshot> {
    serde_json::from_str(text).map_err(|e| {
        EngineError::Internal(format!("stored properties snapshot is unreadable: {e}"))
    })
}

pub(crate) fn parse_workflow(text: &str) -> Result<Workflow> {
    serde_json::from_str(text).map_err(|e| {
        EngineError::Internal(format!("stored workflow definition is unreadable: {e}"))
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))
}

/// The properties after a push that carries properties (§8): fields present in the push win,
/// absent ones are kept, except `run_strategy`, `step_concurrency` and `alerting`, which a push
/// with properties resets when it does not set them.
fn merge_pushed_properties(
    prev: &PropertiesSnapshot,
    pushed: &Properties,
    ts: i64,
    author: &User,
) -> PropertiesSnapshot {
    PropertiesSnapshot {
        workflow_id: prev.workflow_id.clone(),
        create_time: Some(ts),
        author: Some(author.clone()),
        owner: pushed.owner.clone().or_else(|| prev.owner.clone()),
        access_control: pushed
            .access_control
            .clone()
            .or_else(|| prev.access_control.clone()),
        run_strategy: pushed.run_strategy,
        step_concurrency: pushed.step_concurrency,
        alerting: pushed.alerting.clone(),
        alerting_disabled: pushed.alerting_disabled.or(prev.alerting_disabled),
        signal_trigger_disabled: pushed
            .signal_trigger_disabled
            .or(prev.signal_trigger_disabled),
        time_trigger_disabled: pushed.time_trigger_disabled.or(prev.time_trigger_disabled),
        description: pushed
            .description
            .clone()
            .or_else(|| prev.description.clone()),
        tags: prev.tags.clone(),
    }
}

/// The API shape of a stored version.
pub(crate) fn definition_from_rows(
    row: &WorkflowRow,
    v: &VersionRow,
) -> Result<WorkflowDefinition> {
    let metadata: Metadata = serde_json::from_str(&v.metadata)
        .map_err(|e| EngineError::Internal(format!("stored metadata is unreadable: {e}")))?;
    let is_active = row.active_version_id == v.version_id;
    let is_latest = row.latest_version_id == v.version_id;
    let is_default = if row.active_version_id > 0 {
        is_active
    } else {
        is_latest
    };
    let activated_by = match (&row.activated_by, is_active) {
        (Some(text), true) => serde_json::from_str(text).ok(),
        _ => None,
    };
    Ok(WorkflowDefinition {
        properties_snapshot: parse_snapshot(&row.properties_snapshot)?,
        metadata,
        workflow: parse_workflow(&v.definition)?,
        is_active: Some(is_active),
        activate_time: if is_active { row.activate_ts } else { None },
        activated_by,
        is_latest: Some(is_latest),
        is_default: Some(is_default),
        internal_id: Some(row.internal_id),
        enriched_extras: None,
        modify_time: Some(row.modify_ts),
    })
}
