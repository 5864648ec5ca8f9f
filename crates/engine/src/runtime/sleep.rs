//! Sleep: waits `sleep_seconds` (default 3 s, as Maestro) measured from the step's start time,
//! so a step resumed after a restart only sleeps what is left.

use async_trait::async_trait;
use baton_model::instance::RuntimeState;
use baton_model::params::EvaluatedValue;

use super::{RuntimeResult, StepContext, StepRuntime};

/// The Sleep runtime.
pub struct SleepRuntime;

const DEFAULT_SLEEP_SECONDS: i64 = 3;

fn sleep_millis(ctx: &StepContext) -> i64 {
    let seconds = match ctx
        .params
        .get("sleep_seconds")
        .and_then(|p| p.evaluated_result.as_ref())
    {
        Some(EvaluatedValue::Long(v)) => *v,
        Some(EvaluatedValue::Double(v)) => *v as i64,
        Some(EvaluatedValue::String(s)) => s.trim().parse().unwrap_or(DEFAULT_SLEEP_SECONDS),
        _ => DEFAULT_SLEEP_SECONDS,
    };
    seconds.max(0).saturating_mul(1000)
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
