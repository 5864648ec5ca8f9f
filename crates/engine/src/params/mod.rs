//! Parameters at run time (maestro-model.md §3): the default params every workflow and step
//! gets, the merge rules between sources and modes, evaluation with SEL, `${...}` string
//! interpolation, and output params.
//!
//! The instance actor calls this module at three moments: when a run is created (workflow
//! params), when a step enters EVALUATING_PARAMS (step params), and when a step ends well
//! (transition conditions, output params). Every function here is synchronous and CPU-bound; the
//! actor runs SEL-heavy calls on a blocking thread, so inputs are owned snapshots (`Arc`s), not
//! borrows of actor state.
//!
//! INTERFACE CONTRACT (the actor is written against these signatures; keep them, extend freely).

use std::sync::Arc;

use baton_model::definition::StepType;
use baton_model::instance::{InitiatorType, RunPolicy, StepInstanceStatus};
use baton_model::params::{ParamMap, ParamSource, Parameter};
use indexmap::IndexMap;

/// Evaluated params by name, in merge order.
pub type Params = IndexMap<String, Parameter>;

/// Why params could not be merged or evaluated. The message names the param and the problem,
/// in Maestro's words where it has them (e.g. "[x] is a required parameter").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// A merge rule was broken (mode, source, type mismatch, missing required param, …).
    #[error("{0}")]
    Merge(String),
    /// Evaluation failed (SEL error, unknown reference, cycle, type coercion, size limit, …).
    #[error("{0}")]
    Eval(String),
}

/// What `params.getFromInstance(...)` answers, and the facts the default workflow params read.
#[derive(Debug, Clone, Default)]
pub struct InstanceFacts {
    pub workflow_id: String,
    /// `None` while workflow params are evaluated (Maestro assigns ids later; reads give `""`).
    pub workflow_instance_id: Option<i64>,
    pub workflow_run_id: Option<i64>,
    /// `None` stands for the dry-run `VALIDATION` initiator.
    pub initiator_type: Option<InitiatorType>,
    /// Time-trigger zone of the initiator (`INITIATOR_TIMEZONE`).
    pub initiator_timezone: Option<String>,
    /// The manual initiator's user name (`INITIATOR_RUNNER_NAME`).
    pub initiator_runner_name: Option<String>,
    pub run_policy: Option<RunPolicy>,
    /// Properties owner (`owner`, workflow-param context only).
    pub owner: Option<String>,
    /// Zone of the workflow's first time trigger (`FIRST_TIME_TRIGGER_TIMEZONE`).
    pub first_time_trigger_timezone: Option<String>,
}

/// What `params.getFromStep('field')` answers for the current step.
#[derive(Debug, Clone, Default)]
pub struct StepFacts {
    pub step_id: String,
    pub step_instance_id: i64,
    pub step_instance_uuid: String,
    pub step_attempt_id: i64,
    /// `sub_type` if set, else the step type name.
    pub step_type_info: String,
    pub error_retries: i64,
}

/// A finished (or at least evaluated) upstream step of the same run, for `stepId__param`,
/// `params.getFromStep(stepId, param)`, `MAESTRO_STEP_STATUS`, `MAESTRO_STEP_END_TIME`.
#[derive(Debug, Clone)]
pub struct UpstreamStep {
    pub params: Arc<Params>,
    pub status: StepInstanceStatus,
    pub end_time: Option<i64>,
}

/// Services the engine provides to evaluation that need the store or other instances. Called
/// from a blocking thread.
pub trait EvalServices: Send + Sync {
    /// `params.nextUniqueId()`.
    fn next_unique_id(&self) -> Result<i64, String>;
    /// `params.getFromForeach(foreachStepId, stepId, param)` (later issue; may return an error
    /// saying it is not available yet).
    fn get_from_foreach(
        &self,
        foreach_step_id: &str,
        step_id: &str,
        param: &str,
    ) -> Result<baton_sel::Value, String>;
    /// `params.getFromSubworkflow(subworkflowStepId, stepId, param)`.
    fn get_from_subworkflow(
        &self,
        subworkflow_step_id: &str,
        step_id: &str,
        param: &str,
    ) -> Result<baton_sel::Value, String>;
}

/// Everything an evaluation may read. Owned, so it can move to a blocking thread.
#[derive(Clone)]
pub struct EvalScope {
    /// The clock (`System.currentTimeMillis()`, `RUN_TS` default, `evaluated_time`).
    pub now_millis: i64,
    pub limits: baton_sel::Limits,
    pub instance: InstanceFacts,
    /// Evaluated workflow params (empty while workflow params themselves are evaluated).
    pub workflow_params: Arc<Params>,
    /// The current step, in step context.
    pub step: Option<StepFacts>,
    /// Upstream steps of the run by step id (step context).
    pub upstream: Arc<IndexMap<String, UpstreamStep>>,
    /// Every step id of this workflow level, to tell `stepId__param` from `signal__param`.
    pub step_ids: Arc<Vec<String>>,
    pub services: Arc<dyn EvalServices>,
}

/// The default workflow params (`default-workflow-params.yaml`), built into Baton: source
/// `SYSTEM_DEFAULT`, modes and internal modes as the file has them.
pub fn default_workflow_params() -> &'static ParamMap {
    todo_interface()
}

/// The default step params for a step type: `default-step-params.yaml` then
/// `default-<type>-step-params.yaml` where one exists (foreach, while, subworkflow, kubernetes,
/// notebook, http; Baton's `shell` adds its own: `shell` MAP REQUIRED with `script` REQUIRED,
/// `interpreter` default `bash`, `env` STRING_MAP default `{}`).
pub fn default_step_params(step_type: StepType) -> ParamMap {
    let _ = step_type;
    todo_interface()
}

/// Merges workflow params for a fresh run (§3.6): defaults, then the definition's params
/// (`DEFINITION`), then run params with `run_source` (`LAUNCH` for manual/time/signal starts,
/// or the upstream initiator's source), then cleanup (§3.5).
pub fn merge_workflow_params(
    definition: Option<&ParamMap>,
    run_params: Option<&ParamMap>,
    run_source: ParamSource,
) -> Result<ParamMap, ParamError> {
    let _ = (definition, run_params, run_source);
    todo_interface()
}

/// Evaluates merged workflow params in reference order with cycle detection (§3.8).
pub fn evaluate_workflow_params(
    merged: &ParamMap,
    scope: &EvalScope,
) -> Result<Params, ParamError> {
    let _ = (merged, scope);
    todo_interface()
}

/// Merges a step's params (§3.6 "Step params"): step defaults for its type, the step definition,
/// step run params. (Job templates and restart params come with later issues.)
pub fn merge_step_params(
    step_type: StepType,
    definition: Option<&ParamMap>,
    step_run_params: Option<&ParamMap>,
) -> Result<ParamMap, ParamError> {
    let _ = (step_type, definition, step_run_params);
    todo_interface()
}

/// Evaluates merged step params with the name resolution of §3.8 (`stepId__param`, own params,
/// workflow params, …).
pub fn evaluate_step_params(merged: &ParamMap, scope: &EvalScope) -> Result<Params, ParamError> {
    let _ = (merged, scope);
    todo_interface()
}

/// Evaluates a transition condition (a SEL boolean) in the scope of the step that owns it, with
/// that step's evaluated params.
pub fn evaluate_condition(
    expression: &str,
    step_params: &Params,
    scope: &EvalScope,
) -> Result<bool, ParamError> {
    let _ = (expression, step_params, scope);
    todo_interface()
}

/// `${name}` / `$name` / `$$` interpolation (§3.9) against evaluated params (workflow params,
/// or step params over workflow params). Used for ParsableLong fields (timeouts, retry numbers),
/// signal names, and the Shell script.
pub fn interpolate(text: &str, params: &[&Params]) -> Result<String, ParamError> {
    let _ = (text, params);
    todo_interface()
}

/// Merges output params a step reported (§10.1) into its evaluated params: names must exist,
/// only `MUTABLE` params change, MAP/STRING_MAP are deep-merged, values are coerced to the
/// declared type. Returns the new params.
pub fn merge_output_params(
    step_params: &Params,
    outputs: &Params,
    now_millis: i64,
) -> Result<Params, ParamError> {
    let _ = (step_params, outputs, now_millis);
    todo_interface()
}

fn todo_interface() -> ! {
    unimplemented!("params interface: implemented on the params branch")
}
