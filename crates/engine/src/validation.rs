//! Validating a definition without storing it (maestro-api.md §1.8 "Validate"): the same
//! checks a push runs — model rules, the DAG, the dry run of workflow params — and nothing is
//! written.

use baton_model::definition::WorkflowCreateRequest;
use baton_model::validate::{ValidateOptions, validate_create_request};

use crate::engine::Engine;
use crate::error::{EngineError, Result};

impl Engine {
    /// Checks a create request as [`Engine::push_workflow`] would, without writing anything.
    /// The owner is required only when the workflow does not exist yet, as on a push.
    pub async fn validate_workflow(&self, req: &WorkflowCreateRequest) -> Result<()> {
        let workflow_id = &req.workflow.id;
        let exists = self.inner.store.get_workflow(workflow_id).await?.is_some();
        let mut report = validate_create_request(
            req,
            ValidateOptions {
                require_owner: !exists,
                step_limit: self.inner.config.max_steps,
                request_size_limit: self.inner.config.max_request_bytes,
            },
        );
        if req
            .properties
            .as_ref()
            .and_then(|p| p.tags.as_ref())
            .is_some_and(|t| !t.is_empty())
            && !report
                .errors
                .iter()
                .any(|e| e.path.as_str() == "properties.tags")
        {
            report.errors.push(baton_model::FieldError::new(
                baton_model::JsonPath::root().key("properties").key("tags"),
                "tags can only be set through the tag endpoints",
            ));
        }
        if !report.is_ok() {
            return Err(EngineError::Invalid {
                message: format!("Invalid workflow definition [{workflow_id}]"),
                errors: report.errors,
            });
        }
        crate::compiled::CompiledWorkflow::new(req.workflow.clone())?;
        crate::dryrun::check_workflow_params(self, &req.workflow).await
    }
}
