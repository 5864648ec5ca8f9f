//! The store-backed services SEL evaluation may call (`params.nextUniqueId()`,
//! `params.getFromForeach(...)`, `params.getFromSubworkflow(...)`). Evaluation runs on blocking
//! threads, so these bridge back into async store calls by spawning them on the runtime and
//! waiting on a plain channel.
//!
//! [`StoreServices`] is the engine's; [`RunServices`] wraps it for one run, because the foreach
//! and subworkflow lookups name a step of the run that evaluates.

use std::future::Future;
use std::sync::Arc;

use baton_model::instance::Artifact;
use baton_model::params::{EvaluatedValue, ParamType, Parameter};
use baton_sel::Value;
use baton_store::{RunKey, StepAttemptRow, Store};
use tokio::runtime::Handle;

use crate::params::EvalServices;
use crate::params::coerce::to_sel;
use crate::persist;

pub(crate) struct StoreServices {
    store: Arc<dyn Store>,
    handle: Handle,
}

impl StoreServices {
    pub fn new(store: Arc<dyn Store>, handle: Handle) -> Self {
        StoreServices { store, handle }
    }
}

/// Runs an async store call from a blocking thread.
fn block_on<T: Send + 'static>(
    handle: &Handle,
    fut: impl Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    handle.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| "the engine is shutting down".to_string())?
}

impl EvalServices for StoreServices {
    fn next_unique_id(&self) -> Result<i64, String> {
        let store = self.store.clone();
        block_on(&self.handle, async move {
            store
                .next_sequence_value("unique_id")
                .await
                .map_err(|e| format!("cannot draw a unique id: {e}"))
        })
    }

    fn get_signal_param(
        &self,
        name: &str,
        seq_id: i64,
        param: &str,
    ) -> Result<Option<baton_model::definition::SignalParamValue>, String> {
        let store = self.store.clone();
        let name_owned = name.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(store.get_signal(&name_owned, Some(seq_id)).await);
        });
        let row = rx
            .recv()
            .map_err(|_| "the engine is shutting down".to_string())?
            .map_err(|e| format!("cannot read signal [{name}] #{seq_id}: {e}"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let instance = crate::signals::instance_from_row(&row).map_err(|e| e.to_string())?;
        Ok(instance.params.and_then(|mut p| p.shift_remove(param)))
    }

    fn get_from_foreach(
        &self,
        foreach_step_id: &str,
        _step_id: &str,
        _param: &str,
    ) -> Result<Value, String> {
        Err(format!(
            "step [{foreach_step_id}] is not a step of the workflow being evaluated"
        ))
    }

    fn get_from_subworkflow(
        &self,
        subworkflow_step_id: &str,
        _step_id: &str,
        _param: &str,
    ) -> Result<Value, String> {
        Err(format!(
            "step [{subworkflow_step_id}] is not a step of the workflow being evaluated"
        ))
    }
}

/// The services of one run.
pub(crate) struct RunServices {
    base: Arc<dyn EvalServices>,
    store: Arc<dyn Store>,
    run: RunKey,
    handle: Handle,
}

impl RunServices {
    pub fn new(base: Arc<dyn EvalServices>, store: Arc<dyn Store>, run: RunKey) -> Self {
        RunServices {
            base,
            store,
            run,
            handle: Handle::current(),
        }
    }
}

/// The latest attempt of a step of a run, with the type its definition gives it.
async fn latest_attempt(
    store: &Arc<dyn Store>,
    run: &RunKey,
    step_id: &str,
) -> Result<baton_model::instance::StepInstance, String> {
    let rows = store
        .list_attempts_of_step(run, step_id)
        .await
        .map_err(|e| e.to_string())?;
    let row = rows.last().ok_or_else(|| {
        format!("Cannot find the referenced step [{step_id}] in the current workflow run")
    })?;
    persist::step_from_row(row).map_err(|e| e.to_string())
}

/// One param of a stored step attempt, without reading the rest of its document.
fn param_of(row: &StepAttemptRow, name: &str) -> Option<Parameter> {
    let doc: serde_json::Value = serde_json::from_str(&row.instance).ok()?;
    serde_json::from_value(doc.get("params")?.get(name)?.clone()).ok()
}

impl EvalServices for RunServices {
    fn next_unique_id(&self) -> Result<i64, String> {
        self.base.next_unique_id()
    }

    fn get_signal_param(
        &self,
        name: &str,
        seq_id: i64,
        param: &str,
    ) -> Result<Option<baton_model::definition::SignalParamValue>, String> {
        self.base.get_signal_param(name, seq_id, param)
    }

    fn execution_environment(&self) -> String {
        self.base.execution_environment()
    }

    /// `params.getFromForeach(foreachStepId, stepId, param)`: the param of `stepId` in every
    /// iteration of the foreach step, as an array indexed by iteration (missing iterations give
    /// the type's default, as Maestro's Java arrays do).
    fn get_from_foreach(
        &self,
        foreach_step_id: &str,
        step_id: &str,
        param: &str,
    ) -> Result<Value, String> {
        let store = self.store.clone();
        let run = self.run.clone();
        let (foreach_step_id, step_id, param) = (
            foreach_step_id.to_string(),
            step_id.to_string(),
            param.to_string(),
        );
        block_on(&self.handle, async move {
            let si = latest_attempt(&store, &run, &foreach_step_id).await?;
            let ty = si.definition.step_type();
            if ty != baton_model::definition::StepType::Foreach {
                return Err(format!(
                    "step [{foreach_step_id}] is a type of [{ty}] instead of foreach step, cannot call getFromForeach"
                ));
            }
            let artifact = match si.artifacts.as_ref().and_then(|a| a.get("maestro_foreach")) {
                Some(Artifact::Foreach(a)) => a.clone(),
                _ => {
                    return Err(format!(
                        "Cannot load param [{param}] of step [{step_id}] from foreach [{foreach_step_id}] as it is not initialized"
                    ));
                }
            };
            let inline = artifact.foreach_workflow_id.clone().unwrap_or_default();
            let rows = store
                .list_latest_step_attempts(&inline, &step_id)
                .await
                .map_err(|e| e.to_string())?;
            let size = usize::try_from(artifact.total_loop_count).unwrap_or(0);
            let mut values: Vec<(usize, EvaluatedValue)> = Vec::with_capacity(rows.len());
            let mut ty: Option<ParamType> = None;
            for row in &rows {
                let Some(p) = param_of(row, &param) else {
                    continue;
                };
                ty.get_or_insert(p.param_type());
                let index = usize::try_from(row.key.run.instance_id - 1).unwrap_or(usize::MAX);
                if let Some(v) = p.evaluated_result
                    && index < size
                {
                    values.push((index, v));
                }
            }
            let ty = ty.ok_or_else(|| {
                format!(
                    "Cannot find param [{param}] of step [{step_id}] in foreach [{foreach_step_id}]"
                )
            })?;
            Ok(match ty {
                ParamType::String => {
                    let mut out = vec![None; size];
                    for (i, v) in values {
                        if let EvaluatedValue::String(s) = v {
                            out[i] = Some(s);
                        }
                    }
                    Value::StringArray(out)
                }
                ParamType::Long => {
                    let mut out = vec![0; size];
                    for (i, v) in values {
                        if let EvaluatedValue::Long(n) = v {
                            out[i] = n;
                        }
                    }
                    Value::LongArray(out)
                }
                ParamType::Double => {
                    let mut out = vec![0.0; size];
                    for (i, v) in values {
                        match v {
                            EvaluatedValue::Double(d) => out[i] = d,
                            EvaluatedValue::Long(n) => out[i] = n as f64,
                            _ => {}
                        }
                    }
                    Value::DoubleArray(out)
                }
                ParamType::Boolean => {
                    let mut out = vec![false; size];
                    for (i, v) in values {
                        if let EvaluatedValue::Boolean(b) = v {
                            out[i] = b;
                        }
                    }
                    Value::BooleanArray(out)
                }
                other => {
                    return Err(format!(
                        "cannot get param from foreach with a type: {other}"
                    ));
                }
            })
        })
    }

    /// `params.getFromSubworkflow(subworkflowStepId, stepId, param)`: the param of `stepId` in
    /// the child instance (its latest attempt across the child's runs).
    fn get_from_subworkflow(
        &self,
        subworkflow_step_id: &str,
        step_id: &str,
        param: &str,
    ) -> Result<Value, String> {
        let store = self.store.clone();
        let run = self.run.clone();
        let (sub_step_id, step_id, param) = (
            subworkflow_step_id.to_string(),
            step_id.to_string(),
            param.to_string(),
        );
        block_on(&self.handle, async move {
            let si = latest_attempt(&store, &run, &sub_step_id).await?;
            let ty = si.definition.step_type();
            if ty != baton_model::definition::StepType::Subworkflow {
                return Err(format!(
                    "step [{sub_step_id}] is a type of [{ty}] instead of subworkflow step, cannot call getFromSubworkflow"
                ));
            }
            let artifact = match si
                .artifacts
                .as_ref()
                .and_then(|a| a.get("maestro_subworkflow"))
            {
                Some(Artifact::Subworkflow(a)) => a.clone(),
                _ => {
                    return Err(format!(
                        "Cannot load param [{param}] of step [{step_id}] from subworkflow [{sub_step_id}] as it is not initialized"
                    ));
                }
            };
            let child_wf = artifact.subworkflow_id.clone().unwrap_or_default();
            let runs = store
                .list_instance_runs(&child_wf, artifact.subworkflow_instance_id)
                .await
                .map_err(|e| e.to_string())?;
            for child in runs.iter().rev() {
                let rows = store
                    .list_attempts_of_step(&child.key, &step_id)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(row) = rows.last() {
                    return match param_of(row, &param).and_then(|p| p.evaluated_result) {
                        Some(v) => Ok(to_sel(&v)),
                        None => Err(format!("Cannot find the param name: [{param}]")),
                    };
                }
            }
            Err(format!(
                "Cannot find step [{step_id}] in the subworkflow instance [{child_wf}][{}]",
                artifact.subworkflow_instance_id
            ))
        })
    }
}
