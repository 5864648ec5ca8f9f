//! NoOp: does nothing and succeeds. The cheapest step, and what the overhead benchmarks run.

use async_trait::async_trait;
use baton_model::instance::RuntimeState;

use super::{RuntimeResult, StepContext, StepRuntime};

/// The NoOp runtime.
pub struct NoOpRuntime;

#[async_trait]
impl StepRuntime for NoOpRuntime {
    async fn execute(&self, _ctx: &StepContext) -> RuntimeResult {
        RuntimeResult::state(RuntimeState::Done)
    }

    fn resumable(&self) -> bool {
        true
    }
}
