//! Sleep: waits `sleep_seconds` (default 3 s, as Maestro) measured from the step's start time,
//! so a step resumed after a restart only sleeps what is left.

use async_trait::async_trait;
use baton_model::instance::RuntimeState;
use baton_model::params::EvaluatedValue;

use super::{RuntimeResult, StepContext, StepRuntime};

/// The Sleep runtime.
pub struct SleepRuntime;

const DEFAULT_SLEEP_SECONDS: i64 = 3;

/// `sleep_seconds` in milliseconds; a DOUBLE keeps its fraction (Baton accepts `0.5`).
fn sleep_millis(ctx: &StepContext) -> i64 {
    let seconds = match ctx
        .params
        .get("sleep_seconds")
        .and_then(|p| p.evaluated_result.as_ref())
    {
        Some(EvaluatedValue::Long(v)) => *v as f64,
        Some(EvaluatedValue::Double(v)) => *v,
        Some(EvaluatedValue::String(s)) => s.trim().parse().unwrap_or(DEFAULT_SLEEP_SECONDS as f64),
        _ => DEFAULT_SLEEP_SECONDS as f64,
    };
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).min(i64::MAX as f64) as i64
    } else {
        0
    }
}

#[async_trait]
impl StepRuntime for SleepRuntime {
    async fn execute(&self, ctx: &StepContext) -> RuntimeResult {
        let due = ctx.start_time.saturating_add(sleep_millis(ctx));
        let now = crate::clock::now_millis();
        if due > now {
            tokio::time::sleep(std::time::Duration::from_millis((due - now) as u64)).await;
        }
        RuntimeResult::state(RuntimeState::Done)
    }

    fn resumable(&self) -> bool {
        true
    }
}
