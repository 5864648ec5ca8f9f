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
//!
//! Layout: `defaults` (Baton's default params, `defaults.yaml`), `merge` (§3.5 merge and
//! cleanup), `eval` (§3.8 evaluation and name resolution), `interpolate` (§3.9), `extension`
//! (SEL's `params.*`), `coerce` (results into declared types and back), `cache` (compiled
//! expressions), `native` (the default step params without SEL), `output` (§10.1).

pub mod cache;
pub mod coerce;
mod defaults;
mod eval;
mod extension;
pub mod interpolate;
pub mod merge;
mod native;
mod output;

use std::sync::Arc;

use baton_model::definition::{SignalParamValue, SignalTrigger, StepType};
use baton_model::instance::{InitiatorType, RunPolicy, SignalDependencies, StepInstanceStatus};
use baton_model::params::{ParamMap, ParamSource, Parameter};
use indexmap::IndexMap;

pub use eval::{PARAMS_SIZE_LIMIT, check_size};
pub use merge::{MergeContext, cleanup_params, is_upstream_source, merge_params};

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
    /// What `params.getFromSignal(...)` and `signalName__param` read: the SIGNAL initiator's
    /// data, or (dry run) the workflow's signal triggers. `None` for other runs.
    pub signals: Option<Arc<SignalFacts>>,
}

/// The signal side of an instance (maestro-model.md §3.8, §3.10).
#[derive(Debug, Clone, Default)]
pub struct SignalFacts {
    /// The evaluated params of the signal trigger that started the run (`getFromSignal('p')`).
    pub trigger_params: IndexMap<String, Parameter>,
    /// Signal name → sequence id of the signals that started the run
    /// (`getFromSignal('name', 'p')`).
    pub signal_ids: IndexMap<String, i64>,
    /// Dry run only: the workflow's signal triggers, against which names are checked before a
    /// placeholder value is returned (as Maestro's validation does).
    pub declared: Option<Arc<Vec<SignalTrigger>>>,
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
    /// The step's signal dependency states, for `params.getFromSignalDependency(idx, p)`.
    pub signal_dependencies: Option<Arc<SignalDependencies>>,
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
    /// The value of param `param` of the stored signal `name` #`seq_id` (`None` when the
    /// signal or the param does not exist), for `params.getFromSignal*`.
    fn get_signal_param(
        &self,
        name: &str,
        seq_id: i64,
        param: &str,
    ) -> Result<Option<SignalParamValue>, String> {
        let _ = (seq_id, param);
        Err(format!("signal [{name}] cannot be read in this evaluation"))
    }
    /// `params.getExecutionEnvironment()`: the server's configured environment name. The
    /// default is Maestro's default server configuration (`stepruntime.env: test`).
    fn execution_environment(&self) -> String {
        DEFAULT_EXECUTION_ENVIRONMENT.to_string()
    }
}

/// What `params.getExecutionEnvironment()` answers unless the engine says otherwise.
pub const DEFAULT_EXECUTION_ENVIRONMENT: &str = "test";

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

/// The default workflow params (`default-workflow-params.yaml`), built into Baton: modes and
/// internal modes as Maestro's file has them (the source, `SYSTEM_DEFAULT`, is set when they
/// are merged).
pub fn default_workflow_params() -> &'static ParamMap {
    defaults::workflow()
}

/// The default step params for a step type: `default-step-params.yaml` then
/// `default-<type>-step-params.yaml` where one exists (foreach, while, subworkflow, kubernetes,
/// notebook, http; Baton's `shell` adds its own: `shell` MAP REQUIRED with `script` REQUIRED,
/// `interpreter` default `bash`, `env` STRING_MAP default `{}`).
pub fn default_step_params(step_type: StepType) -> ParamMap {
    let mut out = defaults::step().clone();
    for (name, def) in defaults::step_type(step_type) {
        out.insert(name.clone(), def.clone());
    }
    out
}

/// The params only a dry run (create-time validation) gets: `FROM_DATE`, `TO_DATE`.
pub fn default_dry_run_params() -> &'static ParamMap {
    defaults::dry_run()
}

/// Merges workflow params for a fresh run (§3.6): defaults, then the definition's params
/// (`DEFINITION`), then run params with `run_source` (`LAUNCH` for manual/time/signal starts,
/// or the upstream initiator's source), then cleanup (§3.5).
///
/// A `run_source` of `SUBWORKFLOW`, `FOREACH`, `WHILE` or `TEMPLATE` makes the whole merge an
/// upstream merge, as Maestro does for runs a parent step starts: the parent may keep stricter
/// modes and pass params that carry their own `source`.
pub fn merge_workflow_params(
    definition: Option<&ParamMap>,
    run_params: Option<&ParamMap>,
    run_source: ParamSource,
) -> Result<ParamMap, ParamError> {
    let upstream = is_upstream_source(run_source);
    let mut all = defaults::merged_workflow().clone();
    if let Some(def) = definition {
        merge_params(
            &mut all,
            def,
            &MergeContext::workflow(ParamSource::Definition, upstream, false),
        )?;
    }
    if let Some(run) = run_params {
        merge_params(
            &mut all,
            run,
            &MergeContext::workflow(run_source, upstream, false),
        )?;
    }
    cleanup_params(all)
}

/// Merges workflow params for a restart (§3.6 "Workflow params, restart"): the previous run's
/// evaluated params as definitions (IMMUTABLE ones keep their definition and are evaluated
/// again, the others are frozen to their values), reserved names left out, merged as `SYSTEM`
/// (defaults and the definition are not merged again); then the restart's run params, merged
/// as `RESTART` (so only MUTABLE and MUTABLE_ON_START_RESTART params may change); then cleanup.
pub fn merge_restart_workflow_params(
    previous: &Params,
    restart_params: Option<&ParamMap>,
) -> Result<ParamMap, ParamError> {
    let frozen: ParamMap = previous
        .iter()
        .filter(|(name, _)| !baton_model::validate::RESERVED_PARAM_NAMES.contains(&name.as_str()))
        .map(|(name, p)| (name.clone(), p.to_definition()))
        .collect();
    let mut all = ParamMap::new();
    merge_params(
        &mut all,
        &frozen,
        &MergeContext::workflow(ParamSource::System, false, true),
    )?;
    if let Some(layer) = restart_params {
        merge_params(
            &mut all,
            layer,
            &MergeContext::workflow(ParamSource::Restart, false, true),
        )?;
    }
    cleanup_params(all)
}

/// Evaluates merged workflow params in reference order with cycle detection (§3.8).
pub fn evaluate_workflow_params(
    merged: &ParamMap,
    scope: &EvalScope,
) -> Result<Params, ParamError> {
    eval::evaluate_workflow_params(merged, scope)
}

/// Merges a step's params (§3.6 "Step params"): step defaults for its type, the step definition,
/// step run params. (Job templates and restart params come with later issues.) Step run params
/// are merged as `LAUNCH`; see [`merge_step_params_from`] for runs a parent started.
pub fn merge_step_params(
    step_type: StepType,
    definition: Option<&ParamMap>,
    step_run_params: Option<&ParamMap>,
) -> Result<ParamMap, ParamError> {
    merge_step_params_from(step_type, definition, step_run_params, ParamSource::Launch)
}

/// [`merge_step_params`] with the source of the step run params: `LAUNCH` for runs a user or
/// trigger started, the initiator's source (`SUBWORKFLOW`, `FOREACH`, …) for runs a parent
/// started. Run params the definition does not declare are merged before the definition (so
/// the definition's own params still apply over defaults), then all run params after it.
pub fn merge_step_params_from(
    step_type: StepType,
    definition: Option<&ParamMap>,
    step_run_params: Option<&ParamMap>,
    run_source: ParamSource,
) -> Result<ParamMap, ParamError> {
    let mut all = defaults::merged_step(step_type).clone();
    let run_ctx = MergeContext::step(run_source);
    if let Some(run) = step_run_params {
        let undefined: ParamMap = run
            .iter()
            .filter(|(name, _)| !definition.is_some_and(|d| d.contains_key(*name)))
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect();
        if !undefined.is_empty() {
            merge_params(&mut all, &undefined, &run_ctx)?;
        }
    }
    if let Some(def) = definition {
        merge_params(&mut all, def, &MergeContext::step(ParamSource::Definition))?;
    }
    if let Some(run) = step_run_params {
        merge_params(&mut all, run, &run_ctx)?;
    }
    cleanup_params(all)
}

/// Evaluates merged step params with the name resolution of §3.8 (`stepId__param`, own params,
/// workflow params, …). `scope.step` must be set.
pub fn evaluate_step_params(merged: &ParamMap, scope: &EvalScope) -> Result<Params, ParamError> {
    eval::evaluate_step_params(merged, scope)
}

/// Evaluates params that belong to a step but are not its params — signal dependency match
/// params, signal output params — in the step's scope: `own` (the step's evaluated params, when
/// they exist) are readable by name, then workflow params and upstream steps (§3.8).
pub fn evaluate_params_in_step(
    defs: &ParamMap,
    own: Option<&Params>,
    scope: &EvalScope,
) -> Result<Params, ParamError> {
    eval::evaluate_params_in_step(defs, own, scope)
}

/// Evaluates a transition condition (a SEL boolean) in the scope of the step that owns it, with
/// that step's evaluated params. A `"true"`/`"false"` string result counts as a boolean, as
/// conditions are BOOLEAN params in Maestro.
pub fn evaluate_condition(
    expression: &str,
    step_params: &Params,
    scope: &EvalScope,
) -> Result<bool, ParamError> {
    eval::evaluate_condition(expression, step_params, scope)
}

/// `${name}` / `$name` / `$$` interpolation (§3.9) against evaluated params (workflow params,
/// or step params over workflow params: the first map holding a name wins). Used for
/// ParsableLong fields (timeouts, retry numbers), signal names, and the Shell script.
pub fn interpolate(text: &str, params: &[&Params]) -> Result<String, ParamError> {
    eval::interpolate(text, params)
}

/// Merges output params a step reported (§10.1) into its evaluated params: names must exist,
/// only `MUTABLE` params change, MAP/STRING_MAP are deep-merged, values are coerced to the
/// declared type. Returns the new params.
pub fn merge_output_params(
    step_params: &Params,
    outputs: &Params,
    now_millis: i64,
) -> Result<Params, ParamError> {
    output::merge_output_params(step_params, outputs, now_millis)
}
