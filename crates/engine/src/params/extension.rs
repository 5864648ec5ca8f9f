//! The engine's side of SEL's `params` object (maestro-model.md §3.10, sel.md §7.3): instance
//! and step facts, upstream step params, unique ids, and the lookups that need the store
//! (through [`EvalServices`](super::EvalServices)).
//!
//! Signal lookups (`getFromSignal`, `getFromSignalOrDefault`, `getFromSignalDependency`) come
//! with signal support; until then they fail with a clear error instead of a made-up value.

use baton_model::instance::InitiatorType;
use baton_sel::{ExtensionError, ParamsExtension, Value};

use super::coerce::to_sel;
use super::{EvalScope, Params};

/// What Maestro's `getFromInstance('INITIATOR_TYPE')` answers during a dry run.
const VALIDATION_INITIATOR: &str = "VALIDATION";

/// The message of every signal lookup until signals are supported.
pub const SIGNALS_NOT_SUPPORTED: &str = "signals are not supported yet";

/// `params.*` for one evaluation.
pub struct Extension<'a> {
    scope: &'a EvalScope,
    /// The current step's evaluated params, when they exist (transition conditions).
    own_params: Option<&'a Params>,
}

impl<'a> Extension<'a> {
    /// The extension for `scope`; `own_params` are the current step's evaluated params when the
    /// evaluation happens after they exist (conditions).
    pub fn new(scope: &'a EvalScope, own_params: Option<&'a Params>) -> Self {
        Extension { scope, own_params }
    }

    fn is_workflow_context(&self) -> bool {
        self.scope.step.is_none()
    }

    fn instance_field(&self, field: &str) -> Result<Value, ExtensionError> {
        let i = &self.scope.instance;
        let text = |s: &Option<String>| Value::string(s.clone().unwrap_or_default());
        let workflow_only = || {
            if self.is_workflow_context() {
                Ok(())
            } else {
                Err(ExtensionError::failed(format!(
                    "getFromInstance('{field}') call can only be used to define a workflow parameter"
                )))
            }
        };
        Ok(match field {
            "INITIATOR_TIMEZONE" => text(&i.initiator_timezone),
            "INITIATOR_TYPE" => Value::string(
                i.initiator_type
                    .map(|t| t.as_str())
                    .unwrap_or(VALIDATION_INITIATOR),
            ),
            "INITIATOR_RUNNER_NAME" => {
                if i.initiator_type != Some(InitiatorType::Manual) {
                    return Err(ExtensionError::failed(format!(
                        "Method [INITIATOR_RUNNER_NAME] (only for MANUAL run) does not support initiator [{}]",
                        i.initiator_type
                            .map(|t| t.as_str())
                            .unwrap_or(VALIDATION_INITIATOR)
                    )));
                }
                text(&i.initiator_runner_name)
            }
            "RUN_POLICY" => Value::string(i.run_policy.map(|p| p.as_str()).unwrap_or_default()),
            "owner" => {
                workflow_only()?;
                text(&i.owner)
            }
            "FIRST_TIME_TRIGGER_TIMEZONE" => {
                workflow_only()?;
                text(&i.first_time_trigger_timezone)
            }
            "workflow_id" => Value::string(i.workflow_id.clone()),
            "workflow_instance_id" => i
                .workflow_instance_id
                .map(Value::Long)
                .unwrap_or_else(|| Value::string("")),
            "workflow_run_id" => i
                .workflow_run_id
                .map(Value::Long)
                .unwrap_or_else(|| Value::string("")),
            _ => {
                return Err(ExtensionError::failed(format!(
                    "Invalid field name [{field}] for getFromInstance call"
                )));
            }
        })
    }

    fn current_step_field(&self, field: &str) -> Result<Value, ExtensionError> {
        let step = self.scope.step.as_ref().ok_or_else(|| {
            ExtensionError::failed(format!(
                "fromStep [{field}] is only available in step execution context"
            ))
        })?;
        Ok(match field {
            "step_id" => Value::string(step.step_id.clone()),
            "step_instance_id" => Value::Long(step.step_instance_id),
            "step_instance_uuid" => Value::string(step.step_instance_uuid.clone()),
            "step_attempt_id" => Value::Long(step.step_attempt_id),
            "step_type_info" => Value::string(step.step_type_info.clone()),
            "MAESTRO_STEP_ERROR_RETRIES" => Value::Long(step.error_retries),
            _ => {
                return Err(ExtensionError::failed(format!(
                    "Invalid field name [{field}] for getFromStep call"
                )));
            }
        })
    }

    fn step_param(&self, step_id: &str, name: &str) -> Result<Value, ExtensionError> {
        let current = self.scope.step.as_ref().map(|s| s.step_id.as_str());
        if current == Some(step_id)
            && let Some(own) = self.own_params
        {
            return param_value(own, step_id, name);
        }
        let Some(up) = self.scope.upstream.get(step_id) else {
            return Err(ExtensionError::failed(format!(
                "Cannot find the referenced step id [{step_id}] in the current workflow"
            )));
        };
        match name {
            "MAESTRO_STEP_STATUS" => Ok(Value::string(up.status.as_str())),
            "MAESTRO_STEP_END_TIME" => up.end_time.map(Value::Long).ok_or_else(|| {
                ExtensionError::failed(format!(
                    "ERROR: step [{step_id}]'s [MAESTRO_STEP_END_TIME] is not set yet."
                ))
            }),
            _ => param_value(&up.params, step_id, name),
        }
    }
}

fn param_value(params: &Params, step_id: &str, name: &str) -> Result<Value, ExtensionError> {
    let p = params.get(name).ok_or_else(|| {
        ExtensionError::failed(format!(
            "Cannot find the referenced param name [{name}] in step [{step_id}]"
        ))
    })?;
    match &p.evaluated_result {
        Some(r) if p.is_evaluated() => Ok(to_sel(r)),
        _ => Err(ExtensionError::failed(format!(
            "Referenced param [{name}] in step [{step_id}] is not evaluated yet. Note that a step can only reference its upstream step's param."
        ))),
    }
}

impl ParamsExtension for Extension<'_> {
    fn call(&self, method: &str, args: &[&str]) -> Result<Value, ExtensionError> {
        let services = &self.scope.services;
        match (method, args) {
            ("nextUniqueId", []) => services
                .next_unique_id()
                .map(Value::Long)
                .map_err(|e| ExtensionError::failed(format!("nextUniqueId throws an exception: {e}"))),
            ("getExecutionEnvironment", []) => Ok(Value::string(services.execution_environment())),
            ("getFromInstance", [field]) => self.instance_field(field),
            ("getFromStep", [field]) => self.current_step_field(field),
            ("getFromStep", [step_id, name]) => self.step_param(step_id, name),
            ("getFromForeach", [foreach_step_id, step_id, name]) => {
                let v = services
                    .get_from_foreach(foreach_step_id, step_id, name)
                    .map_err(|e| {
                        ExtensionError::failed(format!(
                            "getFromForeach throws an exception for foreachStepId=[{foreach_step_id}], stepId=[{step_id}], paramName=[{name}]: {e}"
                        ))
                    })?;
                match v {
                    Value::StringArray(_)
                    | Value::LongArray(_)
                    | Value::DoubleArray(_)
                    | Value::BooleanArray(_) => Ok(v),
                    other => Err(ExtensionError::failed(format!(
                        "getFromForeach must return an array instead of {}",
                        other.type_name()
                    ))),
                }
            }
            ("getFromSubworkflow", [sub_step_id, step_id, name]) => services
                .get_from_subworkflow(sub_step_id, step_id, name)
                .map_err(|e| {
                    ExtensionError::failed(format!(
                        "getFromSubworkflow throws an exception for subworkflowStepId=[{sub_step_id}], stepId=[{step_id}], paramName=[{name}]: {e}"
                    ))
                }),
            ("getFromSignal", [_] | [_, _])
            | ("getFromSignalOrDefault", [_, _, _])
            | ("getFromSignalDependency", [_, _]) => Err(ExtensionError::failed(format!(
                "params.{method}({}): {SIGNALS_NOT_SUPPORTED}",
                quoted(args)
            ))),
            _ => Err(ExtensionError::unsupported(if args.is_empty() {
                format!("MaestroParamExtension DO NOT support calling method: {method}")
            } else {
                format!(
                    "MaestroParamExtension DO NOT support calling method: {method} with args: {}",
                    args.join(",")
                )
            })),
        }
    }
}

fn quoted(args: &[&str]) -> String {
    args.iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
