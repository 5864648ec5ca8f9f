//! The workflow catalog as the API reads it (maestro-api.md §1.6–§1.7): listing workflows,
//! paging through versions, the current properties snapshot, the overview counts and the
//! workflow timeline.
//!
//! Baton keeps no separate workflow-timeline table: the timeline is derived from what the store
//! keeps — one event per version push (by its author, at its time), the current properties
//! snapshot when a change came after the last push, and the current activation. Older property
//! changes and deactivations are not listed.

use baton_model::definition::{PropertiesSnapshot, User, WorkflowDefinition};
use baton_model::instance::WorkflowInstanceStatus;
use indexmap::IndexMap;
use serde::Serialize;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::workflows::{definition_from_rows, parse_snapshot};

/// Most events a workflow timeline returns (Maestro's limit).
pub const WORKFLOW_TIMELINE_LIMIT: usize = 300;

/// One workflow in a listing (a Baton extension: Maestro has no list endpoint).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowSummary {
    pub workflow_id: String,
    pub internal_id: i64,
    /// 0 when no version is active.
    pub active_version_id: i64,
    pub latest_version_id: i64,
    /// The highest instance id handed out so far.
    pub latest_instance_id: i64,
    pub properties_snapshot: PropertiesSnapshot,
    pub modify_time: i64,
}

/// `GET /workflows/{id}/overview` (Maestro's `WorkflowOverviewResponse`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowOverview {
    pub workflow_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_version_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_version_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_version_id: Option<i64>,
    /// With the default run strategy filled in when none is set.
    pub properties_snapshot: PropertiesSnapshot,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_concurrency: Option<i64>,
    /// Runs that are `CREATED`, `IN_PROGRESS` and `PAUSED`.
    pub nonterminal_instances: IndexMap<WorkflowInstanceStatus, i64>,
    /// Runs that are FAILED and block a STRICT_SEQUENTIAL workflow (not unblocked, not restarted).
    pub failed_instances: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_instance_id: Option<i64>,
}

/// `GET /workflows/{id}/timeline`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowTimeline {
    pub workflow_id: String,
    /// Newest first.
    pub timeline_events: Vec<WorkflowTimelineEvent>,
}

/// One change of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowTimelineEvent {
    pub author: Option<User>,
    pub log: String,
    pub timestamp: i64,
}

impl Engine {
    /// Workflows in id order after `after`, at most `limit`.
    pub async fn list_workflows(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WorkflowSummary>> {
        let rows = self.inner.store.list_workflows(after, limit).await?;
        rows.into_iter()
            .map(|row| {
                Ok(WorkflowSummary {
                    properties_snapshot: parse_snapshot(&row.properties_snapshot)?,
                    workflow_id: row.workflow_id,
                    internal_id: row.internal_id,
                    active_version_id: row.active_version_id,
                    latest_version_id: row.latest_version_id,
                    latest_instance_id: row.latest_instance_id,
                    modify_time: row.modify_ts,
                })
            })
            .collect()
    }

    /// The latest version id of a workflow, `None` when the workflow does not exist.
    pub async fn latest_version_id(&self, workflow_id: &str) -> Result<Option<i64>> {
        Ok(self
            .inner
            .store
            .get_workflow(workflow_id)
            .await?
            .map(|row| row.latest_version_id))
    }

    /// Versions strictly below `before` (all when `None`), newest first, at most `limit`.
    pub async fn list_workflow_versions(
        &self,
        workflow_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<WorkflowDefinition>> {
        let row = self.workflow_row(workflow_id).await?;
        let versions = self
            .inner
            .store
            .list_versions(workflow_id, before, limit)
            .await?;
        versions
            .iter()
            .map(|v| definition_from_rows(&row, v))
            .collect()
    }

    /// The properties snapshot; only `latest` is supported (as in Maestro).
    pub async fn properties_snapshot(
        &self,
        workflow_id: &str,
        snapshot_id: &str,
    ) -> Result<PropertiesSnapshot> {
        if !snapshot_id.eq_ignore_ascii_case("latest") {
            return Err(EngineError::invalid(format!(
                "Invalid properties snapshot id [{snapshot_id}] for workflow [{workflow_id}]: only [latest] is supported"
            )));
        }
        let row = self.inner.store.get_workflow(workflow_id).await?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "Cannot find workflow [{workflow_id}]'s current properties-snapshot. It has not been created yet or has been deleted."
            ))
        })?;
        parse_snapshot(&row.properties_snapshot)
    }

    /// Version ids, properties and instance counts of a workflow.
    pub async fn workflow_overview(&self, workflow_id: &str) -> Result<WorkflowOverview> {
        let row = self.inner.store.get_workflow(workflow_id).await?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "Cannot find workflow [{workflow_id}], which is either not created or has been deleted."
            ))
        })?;
        let counts = self.inner.store.count_runs_by_status(workflow_id).await?;
        let count = |status: &str| {
            counts
                .iter()
                .filter(|(s, _)| s == status)
                .map(|(_, n)| *n)
                .sum::<i64>()
        };
        let mut snapshot = parse_snapshot(&row.properties_snapshot)?;
        if snapshot.run_strategy.is_none() {
            snapshot.run_strategy = Some(Default::default());
        }
        let active = (row.active_version_id > 0).then_some(row.active_version_id);
        let latest = (row.latest_version_id > 0).then_some(row.latest_version_id);
        let mut nonterminal = IndexMap::new();
        for status in [
            WorkflowInstanceStatus::Created,
            WorkflowInstanceStatus::InProgress,
            WorkflowInstanceStatus::Paused,
        ] {
            nonterminal.insert(status, count(status.as_str()));
        }
        Ok(WorkflowOverview {
            workflow_id: workflow_id.to_string(),
            active_version_id: active,
            latest_version_id: latest,
            default_version_id: active.or(latest),
            step_concurrency: snapshot.step_concurrency,
            properties_snapshot: snapshot,
            nonterminal_instances: nonterminal,
            failed_instances: count("FAILED"),
            latest_instance_id: (row.latest_instance_id > 0).then_some(row.latest_instance_id),
        })
    }

    /// The workflow's changes, newest first (see the module docs for what is listed).
    pub async fn workflow_timeline(&self, workflow_id: &str) -> Result<WorkflowTimeline> {
        let row = self.workflow_row(workflow_id).await?;
        let versions = self
            .inner
            .store
            .list_versions(workflow_id, None, WORKFLOW_TIMELINE_LIMIT)
            .await?;
        let mut events = Vec::new();
        for v in &versions {
            let metadata: baton_model::definition::Metadata = serde_json::from_str(&v.metadata)
                .map_err(|e| {
                    EngineError::Internal(format!("stored metadata is unreadable: {e}"))
                })?;
            events.push(WorkflowTimelineEvent {
                author: metadata.version_author,
                log: format!(
                    "Created a new workflow version [{}] for workflow id [{workflow_id}]",
                    v.version_id
                ),
                timestamp: metadata.create_time.unwrap_or(v.create_ts),
            });
        }
        let snapshot = parse_snapshot(&row.properties_snapshot)?;
        if let Some(ts) = snapshot.create_time
            && !versions.iter().any(|v| v.create_ts == ts)
        {
            events.push(WorkflowTimelineEvent {
                author: snapshot.author.clone(),
                log: format!("Update the properties for workflow: {workflow_id}"),
                timestamp: ts,
            });
        }
        if let Some(ts) = row.activate_ts
            && row.active_version_id > 0
            && !versions
                .iter()
                .any(|v| v.create_ts == ts && v.version_id == row.active_version_id)
        {
            let author: Option<User> = row
                .activated_by
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok());
            events.push(WorkflowTimelineEvent {
                log: format!(
                    "Caller [{}] activates workflow version [{workflow_id}][{}]",
                    author
                        .as_ref()
                        .map(|a| a.name.as_str())
                        .unwrap_or("unknown"),
                    row.active_version_id
                ),
                author,
                timestamp: ts,
            });
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        events.truncate(WORKFLOW_TIMELINE_LIMIT);
        Ok(WorkflowTimeline {
            workflow_id: workflow_id.to_string(),
            timeline_events: events,
        })
    }
}
