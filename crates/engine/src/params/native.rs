//! The four default step params, computed without SEL.
//!
//! Every step of every run gets `workflow_instance_id`, `step_instance_uuid`, `step_attempt_id`
//! and `step_id`, each an expression that only reads a fact the engine already holds. They are
//! RESERVED, so users cannot change them; while a param still carries the built-in definition,
//! its value is read directly. A param whose definition differs (a parent may pass its own)
//! goes through SEL like any other. The `native_matches_sel` test holds both paths together.

use baton_model::params::{EvaluatedValue, ParamDefinition};

use super::EvalScope;
use super::defaults;

/// The value of a default step param, when `def` is the built-in definition of `name` and the
/// fact it reads is known; `None` means "evaluate it with SEL".
pub fn default_step_param(
    name: &str,
    def: &ParamDefinition,
    scope: &EvalScope,
) -> Option<EvaluatedValue> {
    let step = scope.step.as_ref()?;
    let builtin = defaults::step().get(name)?;
    if def.value.is_some()
        || def.param_type != builtin.param_type
        || def.expression != builtin.expression
    {
        return None;
    }
    Some(match name {
        "workflow_instance_id" => EvaluatedValue::Long(scope.instance.workflow_instance_id?),
        "step_instance_uuid" => EvaluatedValue::String(step.step_instance_uuid.clone()),
        "step_attempt_id" => EvaluatedValue::Long(step.step_attempt_id),
        "step_id" => EvaluatedValue::String(step.step_id.clone()),
        _ => return None,
    })
}
