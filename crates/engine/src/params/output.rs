//! Output params (maestro-model.md §10.1): a step reports new values for params it already
//! has, and they are merged into its evaluated params with source `OUTPUT_PARAMETER`.
//!
//! Only `MUTABLE` params may change. A literal MAP or STRING_MAP output is merged entry by
//! entry into the current value; anything else replaces it, coerced into the param's type.
//! An output that repeats the current value is not a change, so it passes whatever the mode
//! (Maestro rejects it for non-MUTABLE params when the output carries no literal `value`).

use baton_model::params::{EvaluatedValue, ParamSource, ParamType, ParamValue, Parameter};

use super::coerce::{coerce_result, literal_result, to_sel};
use super::merge::{MergeContext, build_merged, merge_at};
use super::{ParamError, Params};

/// Merges `outputs` into `step_params` and returns the new params.
pub fn merge_output_params(
    step_params: &Params,
    outputs: &Params,
    now_millis: i64,
) -> Result<Params, ParamError> {
    let ctx = MergeContext::step(ParamSource::OutputParameter);
    let mut all = step_params.clone();
    for (name, output) in outputs {
        let base = all.get(name).ok_or_else(|| {
            ParamError::Merge(format!(
                "Invalid output parameter [{name}], not defined in params"
            ))
        })?;
        let base_def = base.to_definition();
        if output.evaluated_result.is_none() && output.definition.value.is_none() {
            return Err(ParamError::Merge(format!(
                "Invalid output parameter [{name}]: it has neither an evaluated_result nor a value"
            )));
        }
        let out_def = output.to_definition();
        let time = output.evaluated_time.unwrap_or(now_millis);
        let is_literal = output.definition.value.is_some();

        let merged = match (&out_def.value, &base_def.value) {
            (Some(ParamValue::Map(entries)), Some(ParamValue::Map(current))) if is_literal => {
                let mut value = current.clone();
                merge_at(
                    &mut value,
                    entries,
                    &ctx.with_parent_mode(base_def.mode),
                    name,
                )
                .map_err(|e| in_output(name, e))?;
                let def = build_merged(
                    name,
                    &out_def,
                    Some(&base_def),
                    &ctx,
                    Some(ParamValue::Map(value)),
                )?;
                let result = def
                    .value
                    .as_ref()
                    .map(literal_result)
                    .unwrap_or(EvaluatedValue::Map(Default::default()));
                Parameter::evaluated(def, result, time)
            }
            (Some(ParamValue::StringMap(entries)), Some(ParamValue::StringMap(current)))
                if is_literal =>
            {
                let mut value = current.clone();
                for (k, v) in entries {
                    value.insert(k.clone(), v.clone());
                }
                let result = EvaluatedValue::StringMap(value.clone());
                let def = build_merged(
                    name,
                    &out_def,
                    Some(&base_def),
                    &ctx,
                    Some(ParamValue::StringMap(value)),
                )?;
                Parameter::evaluated(def, result, time)
            }
            _ => {
                let reported = match (&output.evaluated_result, &output.definition.value) {
                    (Some(r), _) => r.clone(),
                    (None, Some(v)) => literal_result(v),
                    (None, None) => EvaluatedValue::String(String::new()),
                };
                let result = coerce_into(name, base.param_type(), reported)?;
                let def = build_merged(
                    name,
                    &out_def,
                    Some(&base_def),
                    &ctx,
                    Some(result.to_param_value()),
                )?;
                Parameter::evaluated(def, result, time)
            }
        };
        all.insert(name.clone(), merged);
    }
    Ok(all)
}

fn coerce_into(
    name: &str,
    ty: ParamType,
    reported: EvaluatedValue,
) -> Result<EvaluatedValue, ParamError> {
    if reported.param_type() == ty {
        return Ok(reported);
    }
    coerce_result(ty, to_sel(&reported))
        .map(|(v, _)| v)
        .map_err(|e| {
            ParamError::Merge(format!(
                "Invalid output parameter [{name}] of type [{ty}]: the reported {} {e}",
                reported.param_type()
            ))
        })
}

fn in_output(name: &str, e: ParamError) -> ParamError {
    ParamError::Merge(format!("Invalid output parameter [{name}]: {e}"))
}
