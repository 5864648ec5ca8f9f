//! Activating a version and deactivating a workflow (maestro-api.md §1.8). The active version
//! is what `active`/`default` resolve to and what triggers would start; activating the version
//! that is already active changes nothing.

use baton_model::definition::User;
use baton_model::instance::{ActionEvent, TimelineEvent};
use baton_store::WriteOp;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::workflows::resolve_version;

/// What an activation or deactivation did.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationOutcome {
    pub workflow_id: String,
    /// The active version afterwards (0 after a deactivation).
    pub active_version_id: i64,
    /// The active version before.
    pub previous_version_id: i64,
    /// False when there was nothing to do.
    pub changed: bool,
    /// An ACTION event (`ACTIVATE` or `DEACTIVATE`) describing it.
    pub event: TimelineEvent,
}

fn action_event(action: &str, caller: &User, message: String, ts: i64) -> TimelineEvent {
    TimelineEvent::Action(ActionEvent {
        timestamp: ts,
        action: Some(action.to_string()),
        author: Some(caller.clone()),
        message: Some(message),
        reason: None,
        info: None,
    })
}

impl Engine {
    /// Makes `version` (`active`, `latest`, `default` or a number) the active version.
    pub async fn activate_version(
        &self,
        workflow_id: &str,
        version: &str,
        caller: User,
    ) -> Result<ActivationOutcome> {
        let row = self.workflow_row(workflow_id).await?;
        let version_id = resolve_version(&row, version)?;
        let ts = now_millis();
        let previous = row.active_version_id;
        if previous == version_id {
            return Ok(ActivationOutcome {
                workflow_id: workflow_id.to_string(),
                active_version_id: version_id,
                previous_version_id: previous,
                changed: false,
                event: action_event(
                    "ACTIVATE",
                    &caller,
                    format!(
                        "Caller [{}] do nothing as workflow version [{workflow_id}][{version_id}] is already active",
                        caller.name
                    ),
                    ts,
                ),
            });
        }
        self.set_active_version(workflow_id, version_id, Some(&caller), ts)
            .await?;
        Ok(ActivationOutcome {
            workflow_id: workflow_id.to_string(),
            active_version_id: version_id,
            previous_version_id: previous,
            changed: true,
            event: action_event(
                "ACTIVATE",
                &caller,
                format!(
                    "Caller [{}] activates workflow version [{workflow_id}][{version_id}], previous active version is [{previous}]",
                    caller.name
                ),
                ts,
            ),
        })
    }

    /// Leaves the workflow without an active version; `active` then resolves to nothing and
    /// `default` to the latest version.
    pub async fn deactivate_workflow(
        &self,
        workflow_id: &str,
        caller: User,
    ) -> Result<ActivationOutcome> {
        let row = self
            .inner
            .store
            .get_workflow(workflow_id)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "Cannot deactivate workflow [{workflow_id}] as it is not found"
                ))
            })?;
        let ts = now_millis();
        let previous = row.active_version_id;
        let message = if previous == 0 {
            format!(
                "Caller [{}] do nothing as there is no active workflow version for [{workflow_id}]",
                caller.name
            )
        } else {
            self.set_active_version(workflow_id, 0, Some(&caller), ts)
                .await?;
            format!(
                "Caller [{}] deactivated workflow [{workflow_id}], whose last active version is [{previous}]",
                caller.name
            )
        };
        Ok(ActivationOutcome {
            workflow_id: workflow_id.to_string(),
            active_version_id: 0,
            previous_version_id: previous,
            changed: previous != 0,
            event: action_event("DEACTIVATE", &caller, message, ts),
        })
    }

    async fn set_active_version(
        &self,
        workflow_id: &str,
        version_id: i64,
        caller: Option<&User>,
        ts: i64,
    ) -> Result<()> {
        let activated_by = caller
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))?;
        self.inner
            .store
            .write(vec![WriteOp::SetActiveVersion {
                workflow_id: workflow_id.to_string(),
                version_id,
                activated_by,
                ts,
            }])
            .await
            .map_err(|e| match e {
                baton_store::StoreError::NotFound(m) => {
                    EngineError::NotFound(format!("Cannot find workflow [{workflow_id}]: {m}"))
                }
                other => other.into(),
            })?;
        // Only the active version's triggers fire.
        self.refresh_triggers_logged(workflow_id).await;
        Ok(())
    }
}
