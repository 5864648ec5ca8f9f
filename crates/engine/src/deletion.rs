//! Deleting a workflow with all its data (maestro-api.md §1.7 "Delete"): refused while any run
//! is queued or running; otherwise the store removes the workflow, its versions, properties
//! history, runs (foreach/while iterations included) and step attempts in one transaction, and
//! the engine forgets what it cached and removes the runs' work files. Unlike Maestro, which
//! purges asynchronously, the data is gone when the call returns, so pushing the same id again
//! at once is fine; its instance ids continue after the deleted ones.

use baton_model::definition::User;
use baton_model::instance::{TimelineEvent, is_inline_workflow_id};
use baton_store::{StoreError, WorkflowDeletion};

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

impl Engine {
    /// Deletes a workflow and everything it owns; returns Maestro's LOG event and what was
    /// removed.
    pub async fn delete_workflow(
        &self,
        workflow_id: &str,
        caller: User,
    ) -> Result<(TimelineEvent, WorkflowDeletion)> {
        if is_inline_workflow_id(workflow_id) {
            return Err(EngineError::Unprocessable(format!(
                "Cannot delete an inline foreach workflow [{workflow_id}], please delete its parent concrete workflow instead."
            )));
        }
        let deleted = match self.inner.store.delete_workflow(workflow_id).await {
            Ok(d) => d,
            Err(StoreError::NotFound(_)) => {
                return Err(EngineError::NotFound(format!(
                    "No workflow is deleted because workflow [{workflow_id}] is non-existing or has queued or running instances."
                )));
            }
            Err(StoreError::Conflict(m)) => {
                return Err(EngineError::invalid(format!(
                    "Cannot delete the workflow [{workflow_id}] because {m}. Please delete it after taking care of them, e.g. stopping all of them."
                )));
            }
            Err(e) => return Err(e.into()),
        };
        self.inner.compiled.forget(workflow_id);
        self.inner.breakpoints.forget_workflow(workflow_id);
        // Its trigger subscriptions end with it.
        self.refresh_triggers_logged(workflow_id).await;
        let dir = self
            .inner
            .config
            .work_dir
            .join(crate::run::sanitize_path(workflow_id));
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(workflow_id, dir = %dir.display(), error = %e, "cannot remove the work files of a deleted workflow");
        }
        tracing::info!(workflow_id, user = %caller.name, ?deleted, "deleted workflow");
        Ok((
            TimelineEvent::info(
                now_millis(),
                format!(
                    "The workflow is deleted by [{}]. All associated workflow data (e.g. versions and instances) are deleted.",
                    caller.name
                ),
            ),
            deleted,
        ))
    }
}
