//! Validation of definitions and requests with Maestro's rules and limits (§1.7, §1.8, §2, §3,
//! §9). Every problem is reported with the JSON path of its field, and all of them at once.
//!
//! Where Baton is stricter than Maestro it says so: loop bodies are checked as graphs up front
//! (Maestro does it when an iteration starts), a foreach concurrency below 1 and loop bodies
//! without steps are rejected, and the step types whose runtimes require params (Kubernetes,
//! Notebook, Http, Shell, subworkflow, foreach, while) are checked for them as Maestro's dry run
//! does for top-level steps — here for every level. Things Maestro accepts but Baton cannot run
//! (Titus steps, unresolved job-template steps) are warnings, not errors. SEL expressions are not
//! parsed here.

pub mod cron;
pub mod ids;
mod params;
mod steps;
mod workflow;

use crate::definition::{JobTemplateCreateRequest, Workflow, WorkflowCreateRequest};
use crate::params::ParamMap;
use crate::path::{FieldError, JsonPath};

pub use params::{PARAM_MAP_SIZE_LIMIT, RESERVED_PARAM_NAMES};
pub use steps::{MAX_LOOP_NESTING, STEP_LIST_SIZE_LIMIT};
pub use workflow::WORKFLOW_CREATE_REQUEST_SIZE_LIMIT;

/// What to check beyond the definition itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Require `properties.owner` (true for a workflow's first version).
    pub require_owner: bool,
    /// Most steps a workflow may have, nested ones included (Maestro: 300). Baton lets an
    /// operator raise it.
    pub step_limit: usize,
    /// Largest serialized create request in bytes (Maestro: 256 KB); 0 means the default.
    pub request_size_limit: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            require_owner: true,
            step_limit: STEP_LIST_SIZE_LIMIT,
            request_size_limit: WORKFLOW_CREATE_REQUEST_SIZE_LIMIT,
        }
    }
}

/// The outcome of a validation: errors make the document invalid, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Problems that make the document invalid.
    pub errors: Vec<FieldError>,
    /// Things worth knowing that do not make it invalid.
    pub warnings: Vec<FieldError>,
}

impl Report {
    /// True when there is no error.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Collects errors and warnings while walking a document.
#[derive(Default)]
pub(crate) struct Ctx {
    report: Report,
    /// See [`ValidateOptions::step_limit`]; 0 means the default.
    pub(crate) step_limit: usize,
}

impl Ctx {
    pub(crate) fn error(&mut self, path: JsonPath, message: impl Into<String>) {
        self.report.errors.push(FieldError::new(path, message));
    }

    pub(crate) fn warn(&mut self, path: JsonPath, message: impl Into<String>) {
        self.report.warnings.push(FieldError::new(path, message));
    }

    /// Records `check`'s message, if any, at `path`.
    pub(crate) fn check(&mut self, path: JsonPath, check: Option<String>) {
        if let Some(m) = check {
            self.error(path, m);
        }
    }

    fn finish(self) -> Report {
        self.report
    }
}

/// Validates a workflow create request (properties, workflow, extras).
pub fn validate_create_request(req: &WorkflowCreateRequest, options: ValidateOptions) -> Report {
    let mut ctx = Ctx {
        step_limit: options.step_limit,
        ..Ctx::default()
    };
    workflow::create_request(&mut ctx, req, options);
    ctx.finish()
}

/// Validates a workflow definition on its own; paths start at `base` (e.g. `workflow`).
pub fn validate_workflow(wf: &Workflow, base: &JsonPath) -> Report {
    let mut ctx = Ctx::default();
    workflow::workflow(&mut ctx, wf, base);
    ctx.finish()
}

/// Validates the run params of a start or restart request (`RunParamsConstraint`): at most 128,
/// no reserved names, no `source` meta, and each a valid definition.
pub fn validate_run_params(run_params: &ParamMap, base: &JsonPath) -> Report {
    let mut ctx = Ctx::default();
    params::run_params(&mut ctx, run_params, base);
    ctx.finish()
}

/// Validates a job template create request.
pub fn validate_job_template(req: &JobTemplateCreateRequest) -> Report {
    let mut ctx = Ctx::default();
    workflow::job_template(&mut ctx, req);
    ctx.finish()
}
