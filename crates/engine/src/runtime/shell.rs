//! Shell: runs a local script as a subprocess (implemented on the shell branch).

use async_trait::async_trait;
use baton_model::instance::RuntimeState;

use super::{RuntimeResult, StepContext, StepRuntime};

/// The Shell runtime.
#[derive(Default)]
pub struct ShellRuntime;

#[async_trait]
impl StepRuntime for ShellRuntime {
    async fn execute(&self, _ctx: &StepContext) -> RuntimeResult {
        RuntimeResult::with_message(
            RuntimeState::FatalError,
            crate::clock::now_millis(),
            "the Shell runtime is not implemented yet",
        )
    }
}
