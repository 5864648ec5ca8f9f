//! Param evaluation (maestro-model.md §3.8): every merged param becomes an evaluated
//! [`Parameter`], expressions through SEL and literals through `$` interpolation, in reference
//! order with cycle detection.
//!
//! A param is evaluated when it is reached in order or, earlier, when another param reads it.
//! Which param a name means depends on where the evaluation happens:
//!
//! * workflow params: another workflow param, else (`signal__param`) a param of the signal that
//!   started the run (`params.getFromSignal('signal', 'param')`), else an error. `params` binds nothing by itself: `params.get('x')` sees `x` only when `x` is also
//!   read by name.
//! * step params and conditions: `stepId__param` (the step itself, or an upstream step that has
//!   evaluated it, else a signal param); `params` binds every workflow param; then an already
//!   evaluated param of the step; then a workflow param; then a not yet evaluated param of the
//!   step (evaluated first). So a step param `i = i + 1` reads the *workflow* `i`.

use std::collections::HashMap;
use std::sync::Arc;

use baton_model::params::{
    EvaluatedValue, ParamDefinition, ParamMap, ParamType, ParamValue, Parameter,
};
use baton_sel::{Error as SelError, Evaluator, Value};
use indexmap::IndexMap;

use super::cache::{self, Compiled};
use super::coerce::{Coerced, coerce_result, interpolation_text, literal_result, to_sel};
use super::extension::Extension;
use super::interpolate::interpolate_with;
use super::native;
use super::{EvalScope, ParamError, Params};

/// Maestro's limit on the JSON size of a param map, in characters.
pub const PARAMS_SIZE_LIMIT: usize = 750_000;

/// The separator of `stepId__param` references.
const STEP_PARAM_SEPARATOR: &str = "__";

/// Where a name was found.
enum Found<'a> {
    /// A param of the map being evaluated, by index (evaluated).
    Own(usize),
    /// An evaluated param elsewhere (workflow params, an upstream step, the step's params).
    Other(&'a Parameter),
    /// A param of the signal that started the run (`signalName__param`).
    Signal(EvaluatedValue),
}

/// One evaluation of a param map (workflow params, step params, or a condition's scope).
struct Evaluation<'a> {
    scope: &'a EvalScope,
    defs: &'a ParamMap,
    done: Vec<Option<Parameter>>,
    /// Indices being evaluated, outermost first (for cycle detection and its message).
    stack: Vec<usize>,
    /// The current step in step context; `None` for workflow params.
    step_id: Option<&'a str>,
    /// The step's params when they are already evaluated (conditions).
    own_evaluated: Option<&'a Params>,
    ext: Extension<'a>,
}

impl<'a> Evaluation<'a> {
    fn new(
        scope: &'a EvalScope,
        defs: &'a ParamMap,
        step_id: Option<&'a str>,
        own_evaluated: Option<&'a Params>,
    ) -> Self {
        Evaluation {
            scope,
            defs,
            done: vec![None; defs.len()],
            stack: Vec::new(),
            step_id,
            own_evaluated,
            ext: Extension::new(scope, own_evaluated),
        }
    }

    /// "workflow [id]" or "step [id]", for messages.
    fn place(&self) -> String {
        match self.step_id {
            Some(s) => format!("step [{s}]"),
            None => format!("workflow [{}]", self.scope.instance.workflow_id),
        }
    }

    fn evaluate_all(&mut self) -> Result<(), ParamError> {
        for i in 0..self.defs.len() {
            self.evaluate_index(i)?;
        }
        Ok(())
    }

    fn evaluate_index(&mut self, i: usize) -> Result<(), ParamError> {
        if self.done.get(i).is_some_and(Option::is_some) {
            return Ok(());
        }
        let defs = self.defs;
        let Some((name, def)) = defs.get_index(i) else {
            return Err(ParamError::Eval(format!("no param at position {i}")));
        };
        if self.stack.contains(&i) {
            let chain: Vec<&str> = self
                .stack
                .iter()
                .skip_while(|j| **j != i)
                .filter_map(|j| defs.get_index(*j).map(|(n, _)| n.as_str()))
                .chain(std::iter::once(name.as_str()))
                .collect();
            return Err(ParamError::Eval(format!(
                "In {}, param [{name}] definition contains a cyclic reference chain: {}",
                self.place(),
                chain.join(" -> ")
            )));
        }
        let native = if self.step_id.is_some() {
            native::default_step_param(name, def, self.scope)
        } else {
            None
        };
        let (value, note) = match native {
            Some(v) => (v, None),
            None => {
                self.stack.push(i);
                let r = self.value_of(name, def);
                self.stack.pop();
                r?
            }
        };
        let mut def = def.clone();
        if let Some(note) = note {
            let (k, text) = note.meta_entry();
            def.meta.insert(k.to_string(), text.into());
        }
        if let Some(slot) = self.done.get_mut(i) {
            *slot = Some(Parameter::evaluated(def, value, self.scope.now_millis));
        }
        Ok(())
    }

    /// The result of one definition (a top-level param or an entry of a literal MAP).
    fn value_of(&mut self, path: &str, def: &ParamDefinition) -> Result<Coerced, ParamError> {
        if let Some(value) = &def.value {
            let result = match value {
                ParamValue::String(s) => EvaluatedValue::String(self.interpolate(path, s)?),
                ParamValue::StringArray(items) => EvaluatedValue::StringArray(
                    items
                        .iter()
                        .map(|s| self.interpolate(path, s))
                        .collect::<Result<_, _>>()?,
                ),
                ParamValue::StringMap(m) => {
                    let mut out = IndexMap::with_capacity(m.len());
                    for (k, v) in m {
                        out.insert(self.interpolate(path, k)?, self.interpolate(path, v)?);
                    }
                    EvaluatedValue::StringMap(out)
                }
                ParamValue::Map(entries) => {
                    let mut out = IndexMap::with_capacity(entries.len());
                    for (k, entry) in entries {
                        let (r, _) = self.value_of(&format!("{path}.{k}"), entry)?;
                        out.insert(k.clone(), r.to_json());
                    }
                    EvaluatedValue::Map(out)
                }
                other => literal_result(other),
            };
            return Ok((result, None));
        }
        match &def.expression {
            Some(expr) => {
                let label = format!("param [{path}]");
                self.eval_expression(&label, expr, def.param_type)
            }
            None => Err(ParamError::Eval(format!(
                "param [{path}] has neither a value nor an expression"
            ))),
        }
    }

    fn interpolate(&mut self, path: &str, text: &str) -> Result<String, ParamError> {
        interpolate_with(text, |name| {
            let found = self.resolve(path, name)?;
            self.result(&found).map(interpolation_text).ok_or_else(|| {
                ParamError::Eval(format!(
                    "Cannot interpolate [{text}] as param [{name}] is not evaluated yet"
                ))
            })
        })
    }

    fn result<'s>(&'s self, found: &'s Found<'a>) -> Option<&'s EvaluatedValue> {
        match found {
            Found::Own(i) => self
                .done
                .get(*i)
                .and_then(Option::as_ref)
                .and_then(|p| p.evaluated_result.as_ref()),
            Found::Other(p) => p.evaluated_result.as_ref(),
            Found::Signal(v) => Some(v),
        }
    }

    /// `signalName__param`: the param of the signal that started the run (§3.8), read as
    /// `params.getFromSignal('signalName', 'param')` would.
    fn signal_reference(&self, label: &str, name: &str) -> Result<Found<'a>, ParamError> {
        let (signal, param) = name.split_once(STEP_PARAM_SEPARATOR).unwrap_or((name, ""));
        match self.ext.signal_param(signal, param) {
            Ok(Value::Long(n)) => Ok(Found::Signal(EvaluatedValue::Long(n))),
            Ok(Value::String(Some(s))) => Ok(Found::Signal(EvaluatedValue::String(s))),
            Ok(other) => Err(ParamError::Eval(format!(
                "{label} reads [{name}] as a signal param, which is a {}",
                other.type_name()
            ))),
            Err(e) => Err(ParamError::Eval(format!(
                "{label}: Failed to evaluate the param with a definition: [{name}] as a signal param (signalName__paramName): {e}"
            ))),
        }
    }

    /// Evaluates an SEL expression read in this evaluation's scope and coerces the result.
    fn eval_expression(
        &mut self,
        label: &str,
        expr: &str,
        ty: ParamType,
    ) -> Result<Coerced, ParamError> {
        let compiled: Arc<Compiled> = cache::compile(expr, &self.scope.limits).map_err(|e| {
            ParamError::Eval(format!(
                "Failed to evaluate {label}: Expression evaluation throws an exception for expr=[{expr}]: {e}"
            ))
        })?;
        let mut inputs: HashMap<String, Value> = HashMap::with_capacity(compiled.referenced.len());
        let mut bind_workflow_params = false;
        for name in &compiled.referenced {
            if name == "params" {
                bind_workflow_params = self.step_id.is_some() && compiled.reads_params_inputs;
                continue;
            }
            let found = self.resolve(label, name)?;
            let value = self.result(&found).map(to_sel).ok_or_else(|| {
                ParamError::Eval(format!(
                    "Failed to evaluate {label}: referenced param [{name}] is not evaluated yet"
                ))
            })?;
            inputs.insert(name.clone(), value);
        }
        if bind_workflow_params {
            for (name, p) in self.scope.workflow_params.iter() {
                if let Some(r) = &p.evaluated_result
                    && !inputs.contains_key(name)
                {
                    inputs.insert(name.clone(), to_sel(r));
                }
            }
        }
        let mut evaluator = Evaluator::new()
            .limits(self.scope.limits)
            .now_millis(self.scope.now_millis)
            .extension(&self.ext);
        evaluator.set_inputs(inputs);
        let value = match evaluator.eval(&compiled.program) {
            Ok(v) => v,
            Err(SelError::Thrown { message }) => {
                return Err(ParamError::Eval(format!(
                    "Failed to evaluate {label}: Expression throws an error [ERROR: {message}] for expr=[{expr}]"
                )));
            }
            Err(e) => {
                return Err(ParamError::Eval(format!(
                    "Failed to evaluate {label}: Expression evaluation throws an exception for expr=[{expr}]: {e}"
                )));
            }
        };
        if !is_result_type(&value) {
            return Err(ParamError::Eval(format!(
                "Failed to evaluate {label}: Invalid return type [{}] for expr=[{expr}]",
                value.type_name()
            )));
        }
        coerce_result(ty, value).map_err(|e| ParamError::Eval(format!("{label} {e}")))
    }

    /// Finds what `name` means where `label` reads it (see the module comment).
    fn resolve(&mut self, label: &str, name: &str) -> Result<Found<'a>, ParamError> {
        let defs = self.defs;
        let scope = self.scope;
        let Some(step_id) = self.step_id else {
            if let Some(i) = defs.get_index_of(name) {
                self.evaluate_index(i)?;
                return Ok(Found::Own(i));
            }
            if name.contains(STEP_PARAM_SEPARATOR) {
                return self.signal_reference(label, name);
            }
            return Err(ParamError::Eval(format!(
                "{label} referenced a non-existing param [{name}] in {}",
                self.place()
            )));
        };

        if name.contains(STEP_PARAM_SEPARATOR) {
            let (ref_step, ref_param) = self.split_reference(name)?;
            if ref_step == step_id {
                if let Some(p) = self.own_evaluated.and_then(|own| own.get(ref_param)) {
                    return Ok(Found::Other(p));
                }
                if let Some(i) = defs.get_index_of(ref_param) {
                    self.evaluate_index(i)?;
                    return Ok(Found::Own(i));
                }
                return Err(ParamError::Eval(format!(
                    "{label} referenced a non-existing param [{name}] in step [{step_id}]"
                )));
            }
            if let Some(up) = scope.upstream.get(ref_step) {
                let p = up.params.get(ref_param).ok_or_else(|| {
                    ParamError::Eval(format!(
                        "{label}: Cannot find the referenced param name [{ref_param}] in step [{ref_step}]"
                    ))
                })?;
                if !p.is_evaluated() || p.evaluated_result.is_none() {
                    return Err(not_upstream(label, ref_step, ref_param));
                }
                return Ok(Found::Other(p));
            }
            if scope.step_ids.iter().any(|s| s == ref_step) {
                return Err(not_upstream(label, ref_step, ref_param));
            }
            return self.signal_reference(label, name);
        }

        let own_index = defs.get_index_of(name);
        if let Some(i) = own_index
            && self.done.get(i).is_some_and(Option::is_some)
        {
            return Ok(Found::Own(i));
        }
        if let Some(p) = self.own_evaluated.and_then(|own| own.get(name))
            && p.is_evaluated()
        {
            return Ok(Found::Other(p));
        }
        if let Some(p) = scope.workflow_params.get(name) {
            return Ok(Found::Other(p));
        }
        if let Some(i) = own_index {
            self.evaluate_index(i)?;
            return Ok(Found::Own(i));
        }
        Err(ParamError::Eval(format!(
            "{label}: Cannot find the referenced param [{name}] in step [{step_id}] or upstream steps or the workflow"
        )))
    }

    /// Splits `stepId__param`. When the separator overlaps (`_a___b`: step `_a` or `_a_`?), the
    /// step id that exists wins, as in Maestro.
    fn split_reference<'n>(&self, name: &'n str) -> Result<(&'n str, &'n str), ParamError> {
        let sep = STEP_PARAM_SEPARATOR;
        let (Some(mut idx), Some(last)) = (name.find(sep), name.rfind(sep)) else {
            return Ok((name, ""));
        };
        if idx != last {
            let known = |id: &str| {
                self.step_id == Some(id)
                    || self.scope.upstream.contains_key(id)
                    || self.scope.step_ids.iter().any(|s| s == id)
            };
            let id1 = name.get(..idx).unwrap_or_default();
            let id2 = name.get(..idx + 1).unwrap_or_default();
            match (known(id1), known(id2)) {
                (false, true) => idx += 1,
                (true, true) => {
                    return Err(ParamError::Eval(format!(
                        "reference [{name}] cannot be parsed due to ambiguity (both step ids [{id1}] and [{id2}] exist in the workflow"
                    )));
                }
                (false, false) => {
                    return Err(ParamError::Eval(format!(
                        "reference [{name}] cannot be parsed as cannot find either step id [{id1}] or [{id2}] in the workflow"
                    )));
                }
                (true, false) => {}
            }
        }
        let step = name.get(..idx).unwrap_or_default();
        let param = name.get(idx + sep.len()..).unwrap_or_default();
        Ok((step, param))
    }

    fn finish(self) -> Result<Params, ParamError> {
        let mut out = Params::with_capacity(self.defs.len());
        for ((name, _), p) in self.defs.iter().zip(self.done) {
            let p =
                p.ok_or_else(|| ParamError::Eval(format!("param [{name}] was not evaluated")))?;
            out.insert(name.clone(), p);
        }
        Ok(out)
    }
}

fn is_result_type(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_)
            | Value::Long(_)
            | Value::Double(_)
            | Value::Boolean(_)
            | Value::StringArray(_)
            | Value::LongArray(_)
            | Value::DoubleArray(_)
            | Value::BooleanArray(_)
            | Value::Map(_)
    )
}

fn not_upstream(label: &str, step: &str, param: &str) -> ParamError {
    ParamError::Eval(format!(
        "{label}: Referenced param [{param}] in step [{step}] is not evaluated yet. Note that a step can only reference its upstream step's param."
    ))
}

/// Evaluates merged workflow params.
pub fn evaluate_workflow_params(
    merged: &ParamMap,
    scope: &EvalScope,
) -> Result<Params, ParamError> {
    let mut ev = Evaluation::new(scope, merged, None, None);
    ev.evaluate_all()?;
    let params = ev.finish()?;
    check_size(&params)?;
    Ok(params)
}

/// Evaluates merged step params in the scope's step.
pub fn evaluate_step_params(merged: &ParamMap, scope: &EvalScope) -> Result<Params, ParamError> {
    let step_id = scope
        .step
        .as_ref()
        .map(|s| s.step_id.as_str())
        .ok_or_else(|| {
            ParamError::Eval(
                "step params are evaluated in a step: EvalScope.step is not set".into(),
            )
        })?;
    let mut ev = Evaluation::new(scope, merged, Some(step_id), None);
    ev.evaluate_all()?;
    let params = ev.finish()?;
    check_size(&params)?;
    Ok(params)
}

/// Evaluates a transition condition in the scope of the step that owns it.
/// Evaluates `defs` in the scope of the current step with its evaluated params `own`.
pub fn evaluate_params_in_step(
    defs: &ParamMap,
    own: Option<&Params>,
    scope: &EvalScope,
) -> Result<Params, ParamError> {
    let step_id = scope.step.as_ref().map_or("", |s| s.step_id.as_str());
    let mut ev = Evaluation::new(scope, defs, Some(step_id), own);
    ev.evaluate_all()?;
    ev.finish()
}

pub fn evaluate_condition(
    expression: &str,
    step_params: &Params,
    scope: &EvalScope,
) -> Result<bool, ParamError> {
    static NO_DEFS: std::sync::OnceLock<ParamMap> = std::sync::OnceLock::new();
    let defs = NO_DEFS.get_or_init(ParamMap::new);
    let step_id = scope.step.as_ref().map_or("", |s| s.step_id.as_str());
    let mut ev = Evaluation::new(scope, defs, Some(step_id), Some(step_params));
    let label = format!("condition [{expression}] of step [{step_id}]");
    match ev.eval_expression(&label, expression, ParamType::Boolean)? {
        (EvaluatedValue::Boolean(b), _) => Ok(b),
        (other, _) => Err(ParamError::Eval(format!(
            "{label} evaluated to a {} instead of a BOOLEAN",
            other.param_type()
        ))),
    }
}

/// Counts bytes written, so the size check needs no buffer.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Maestro's check that the JSON of a param map is at most 750,000 characters (UTF-16 units,
/// as Java counts; UTF-8 bytes are never fewer, so the exact count is only needed above it).
pub fn check_size(params: &Params) -> Result<(), ParamError> {
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, params)
        .map_err(|e| ParamError::Eval(format!("cannot write params as JSON: {e}")))?;
    if counter.0 <= PARAMS_SIZE_LIMIT {
        return Ok(());
    }
    let text = serde_json::to_string(params)
        .map_err(|e| ParamError::Eval(format!("cannot write params as JSON: {e}")))?;
    let size = text.encode_utf16().count();
    if size > PARAMS_SIZE_LIMIT {
        return Err(ParamError::Eval(format!(
            "Parameters' total size [{size}] is larger than system limit [{PARAMS_SIZE_LIMIT}]"
        )));
    }
    Ok(())
}

/// Interpolates against evaluated params, the first map that has a name winning.
pub fn interpolate(text: &str, params: &[&Params]) -> Result<String, ParamError> {
    interpolate_with(text, |name| {
        let p = params.iter().find_map(|m| m.get(name)).ok_or_else(|| {
            ParamError::Eval(format!(
                "Cannot interpolate [{text}] as param [{name}] is not found"
            ))
        })?;
        match &p.evaluated_result {
            Some(r) if p.is_evaluated() => Ok(interpolation_text(r)),
            _ => Err(ParamError::Eval(format!(
                "Cannot interpolate [{text}] as param [{name}] is not evaluated yet"
            ))),
        }
    })
}
