//! Signal matching rules (maestro-model.md §9.2, §9.4) shared by step dependencies and signal
//! triggers: a condition holds when the signal has the param with a value of the same type that
//! satisfies the operator (longs numerically, strings lexicographically; a long never matches a
//! string). The store narrows candidates with its index; every candidate is checked again here
//! with the model's exact comparison before it counts.

use baton_model::definition::{SignalMatchParam, SignalOperator, SignalParamValue};
use baton_model::instance::SignalInstance;
use baton_store::{CompareOp, SignalCondition, SignalQuery, Store};
use indexmap::IndexMap;

use crate::error::Result;

/// A condition on one param.
pub(crate) type Conditions = IndexMap<String, SignalMatchParam>;

/// True when `instance` satisfies every condition.
pub(crate) fn satisfies(instance: &SignalInstance, conditions: &Conditions) -> bool {
    conditions.iter().all(|(param, cond)| {
        instance
            .params
            .as_ref()
            .and_then(|p| p.get(param))
            .is_some_and(|v| cond.is_satisfied(v))
    })
}

fn store_op(op: SignalOperator) -> CompareOp {
    match op {
        SignalOperator::EqualsTo => CompareOp::Eq,
        SignalOperator::GreaterThan => CompareOp::Gt,
        SignalOperator::GreaterThanEqualsTo => CompareOp::Ge,
        SignalOperator::LessThan => CompareOp::Lt,
        SignalOperator::LessThanEqualsTo => CompareOp::Le,
    }
}

/// The store query for signals of `name` after `after_seq` that satisfy `conditions`.
pub(crate) fn query(
    name: &str,
    after_seq: i64,
    conditions: &Conditions,
    limit: usize,
) -> SignalQuery {
    SignalQuery {
        name: name.to_string(),
        after_seq,
        conditions: conditions
            .iter()
            .map(|(param, c)| SignalCondition {
                param: param.clone(),
                op: store_op(c.operator),
                value: super::store_value(&c.value),
            })
            .collect(),
        limit,
    }
}

/// The first stored signal of `name` after `after_seq` that satisfies `conditions`.
pub(crate) async fn first_match(
    store: &dyn Store,
    name: &str,
    after_seq: i64,
    conditions: &Conditions,
) -> Result<Option<SignalInstance>> {
    // A few candidates at a time: the index already applied the conditions, so the exact check
    // rejects only values the two orders rank differently (non-BMP text), which are rare.
    let mut after = after_seq;
    loop {
        let rows = store
            .find_signals(&query(name, after, conditions, 16))
            .await?;
        let Some(last) = rows.last().map(|r| r.seq_id) else {
            return Ok(None);
        };
        for row in &rows {
            let instance = super::instance_from_row(row)?;
            if satisfies(&instance, conditions) {
                return Ok(Some(instance));
            }
        }
        after = last;
    }
}

/// `{value, operator}` conditions of equality on the given values (trigger join keys).
pub(crate) fn equalities(values: &[(String, SignalParamValue)]) -> Conditions {
    values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                SignalMatchParam {
                    value: v.clone(),
                    operator: SignalOperator::EqualsTo,
                },
            )
        })
        .collect()
}
