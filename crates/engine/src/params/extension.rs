//! The engine's side of SEL's `params` object (maestro-model.md §3.10, sel.md §7.3): instance
//! and step facts, upstream step params, unique ids, and the lookups that need the store
//! (through [`EvalServices`](super::EvalServices)).
//!
//! Signal lookups read the SIGNAL initiator (`getFromSignal('p')`: the trigger's evaluated
//! params; `getFromSignal('name', 'p')`: the matched signal's params, read from the store) and
//! the step's matched signal dependencies (`getFromSignalDependency('idx', 'p')`). In a dry run
//! they check the name against the workflow's signal triggers and answer a placeholder, as
//! Maestro's validation does.

use baton_model::definition::SignalParamValue;
use baton_model::instance::InitiatorType;
use baton_sel::{ExtensionError, ParamsExtension, Value};

use super::coerce::to_sel;
use super::{EvalScope, Params};

/// What Maestro's `getFromInstance('INITIATOR_TYPE')` answers during a dry run.
const VALIDATION_INITIATOR: &str = "VALIDATION";

/// What a signal lookup answers in a dry run (Maestro's `DUMMY_VALIDATION_VALUE`).
pub const DRY_RUN_SIGNAL_VALUE: i64 = 20220101;

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

impl Extension<'_> {
    fn initiator_name(&self) -> &'static str {
        self.scope
            .instance
            .initiator_type
            .map(|t| t.as_str())
            .unwrap_or(VALIDATION_INITIATOR)
    }

    /// `getFromSignal('p')`: a param of the signal trigger that started the run.
    fn signal_trigger_param(&self, param: &str) -> Result<Value, ExtensionError> {
        let facts = self.scope.instance.signals.as_deref();
        match self.scope.instance.initiator_type {
            None => {
                let declared = facts.and_then(|f| f.declared.as_deref());
                let known = declared.is_some_and(|triggers| {
                    triggers
                        .iter()
                        .any(|t| t.params.as_ref().is_some_and(|p| p.contains_key(param)))
                });
                if !known {
                    return Err(ExtensionError::failed(format!(
                        "Signal param name [{param}] does not exist in the signal trigger definition for workflow [{}]",
                        self.scope.instance.workflow_id
                    )));
                }
                return Ok(Value::Long(DRY_RUN_SIGNAL_VALUE));
            }
            Some(InitiatorType::Signal) => {}
            Some(_) => {
                return Err(ExtensionError::failed(format!(
                    "Initiator [{}] is not a signal trigger and cannot get a param [{param}] from it",
                    self.initiator_name()
                )));
            }
        }
        let p = facts
            .and_then(|f| f.trigger_params.get(param))
            .ok_or_else(|| {
                ExtensionError::failed(format!(
                    "Cannot find param [{param}] from the signal initiator"
                ))
            })?;
        p.evaluated_result.as_ref().map(to_sel).ok_or_else(|| {
            ExtensionError::failed(format!(
                "Param [{param}] of the signal initiator is not evaluated"
            ))
        })
    }

    /// `getFromSignal('name', 'p')`: a param of the signal named `name` that started the run.
    pub(crate) fn signal_param(&self, name: &str, param: &str) -> Result<Value, ExtensionError> {
        let facts = self.scope.instance.signals.as_deref();
        match self.scope.instance.initiator_type {
            None => {
                let declared = facts.and_then(|f| f.declared.as_deref());
                if !declared.is_some_and(|t| t.iter().any(|t| t.definitions.contains_key(name))) {
                    return Err(ExtensionError::failed(format!(
                        "Signal name [{name}] does not exist in the signal trigger definition for workflow [{}]",
                        self.scope.instance.workflow_id
                    )));
                }
                return Ok(Value::Long(DRY_RUN_SIGNAL_VALUE));
            }
            Some(InitiatorType::Signal) => {}
            Some(_) => {
                return Err(ExtensionError::failed(format!(
                    "Initiator [{}] is not a signal trigger and cannot get a param [{param}] from the signal [{name}]",
                    self.initiator_name()
                )));
            }
        }
        let seq_id = facts.and_then(|f| f.signal_ids.get(name)).copied();
        match seq_id.map(|seq| self.stored_signal_param(name, seq, param)) {
            Some(Ok(Some(v))) => Ok(v),
            Some(Err(e)) => Err(e),
            _ => Err(ExtensionError::failed(format!(
                "Cannot find param [{param}] for signal [{name}] in the initiator"
            ))),
        }
    }

    /// `getFromSignalDependency('idx', 'p')`: a param of the signal matched by the current
    /// step's `idx`-th signal dependency.
    fn signal_dependency_param(&self, index: &str, param: &str) -> Result<Value, ExtensionError> {
        let deps = self
            .scope
            .step
            .as_ref()
            .and_then(|s| s.signal_dependencies.as_deref());
        if let Some(deps) = deps {
            let size = deps.dependencies.len();
            let idx = index
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|i| *i < size)
                .ok_or_else(|| {
                    ExtensionError::failed(format!(
                        "Signal dependency index is out of bound [{index} > {size}]"
                    ))
                })?;
            if let Some(dep) = deps.dependencies.get(idx)
                && let Some(seq) = dep.signal_id
                && let Some(v) = self.stored_signal_param(&dep.name, seq, param)?
            {
                return Ok(v);
            }
        }
        Err(ExtensionError::failed(format!(
            "Cannot find param [{param}] for signal dependency index [{index}]"
        )))
    }

    fn stored_signal_param(
        &self,
        name: &str,
        seq_id: i64,
        param: &str,
    ) -> Result<Option<Value>, ExtensionError> {
        let value = self
            .scope
            .services
            .get_signal_param(name, seq_id, param)
            .map_err(ExtensionError::failed)?;
        Ok(value.map(|v| match v {
            SignalParamValue::Long(n) => Value::Long(n),
            SignalParamValue::String(s) => Value::string(s),
        }))
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
            ("getFromSignal", [param]) => self.signal_trigger_param(param).map_err(|e| {
                ExtensionError::failed(format!(
                    "getFromSignal throws an exception for paramName=[{param}]: {e}"
                ))
            }),
            ("getFromSignal", [name, param]) => self.signal_param(name, param).map_err(|e| {
                ExtensionError::failed(format!(
                    "getFromSignal throws an exception for signalName=[{name}], paramName=[{param}]: {e}"
                ))
            }),
            ("getFromSignalOrDefault", [name, param, default]) => Ok(self
                .signal_param(name, param)
                .unwrap_or_else(|_| Value::string(*default))),
            ("getFromSignalDependency", [index, param]) => {
                self.signal_dependency_param(index, param).map_err(|e| {
                    ExtensionError::failed(format!(
                        "getFromSignalDependency throws an exception for signalDependencyIndex=[{index}], paramName=[{param}]: {e}"
                    ))
                })
            }
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
