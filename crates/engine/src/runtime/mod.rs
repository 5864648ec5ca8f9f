//! Step runtimes: the code that does a leaf step's work (NoOp, Sleep, Shell, …), behind one
//! small trait (maestro-model.md §5.7).
//!
//! Unlike Maestro, which polls `execute()` every few seconds, a Baton runtime's `execute` is a
//! future that resolves when the work is done (a process exits, a timer fires). The instance
//! actor runs it as a task and gets the result by message, so a running step costs no polling.
//! A runtime knows only its step's context, never the instance or the store.

mod noop;
pub mod shell;
mod sleep;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use baton_model::definition::StepType;
use baton_model::instance::{Artifact, RuntimeState, TimelineEvent};
use indexmap::IndexMap;

use crate::params::Params;

pub use noop::NoOpRuntime;
pub use shell::ShellRuntime;
pub use sleep::SleepRuntime;

/// The step attempt a runtime works on. A snapshot: changes go back through [`RuntimeResult`].
#[derive(Debug, Clone)]
pub struct StepContext {
    pub workflow_id: String,
    pub workflow_instance_id: i64,
    pub workflow_run_id: i64,
    pub step_id: String,
    pub step_attempt_id: i64,
    pub step_instance_id: i64,
    /// Unique per attempt; use it to name external work so a re-attach finds it.
    pub step_uuid: String,
    pub step_type: StepType,
    /// The evaluated step params.
    pub params: Arc<Params>,
    /// Evaluated workflow params (for interpolation that falls back to them).
    pub workflow_params: Arc<Params>,
    /// Artifacts recorded so far (e.g. by `start`), so `execute` and `terminate` can find what
    /// `start` launched, even after a restart of the process.
    pub artifacts: IndexMap<String, Artifact>,
    /// When the step entered STARTING (epoch ms).
    pub start_time: i64,
    /// Where runtimes may keep files for this attempt (logs), created by the engine.
    pub work_dir: PathBuf,
}

/// Output params and artifacts a job reported (Maestro's job output protocol, §10.2).
#[derive(Debug, Clone, Default)]
pub struct OutputData {
    pub params: Params,
    pub artifacts: IndexMap<String, Artifact>,
}

/// What a runtime call reports.
#[derive(Debug, Clone)]
pub struct RuntimeResult {
    pub state: RuntimeState,
    /// Merged into the step's artifacts by key.
    pub artifacts: IndexMap<String, Artifact>,
    /// Appended to the step's timeline.
    pub timeline: Vec<TimelineEvent>,
    /// Output data, merged at FINISHING.
    pub output: Option<OutputData>,
}

impl RuntimeResult {
    /// A result with just a state.
    pub fn state(state: RuntimeState) -> Self {
        RuntimeResult {
            state,
            artifacts: IndexMap::new(),
            timeline: Vec::new(),
            output: None,
        }
    }

    /// A result with a state and one timeline message.
    pub fn with_message(state: RuntimeState, timestamp: i64, message: impl Into<String>) -> Self {
        let mut r = RuntimeResult::state(state);
        r.timeline.push(TimelineEvent::info(timestamp, message));
        r
    }
}

/// A step runtime. Implementations must be idempotent: `start` may be called again for the same
/// attempt after a crash (at-least-once).
#[async_trait]
pub trait StepRuntime: Send + Sync {
    /// Called once when the step enters STARTING. `Continue` and `Done` both move to RUNNING.
    async fn start(&self, ctx: &StepContext) -> RuntimeResult {
        let _ = ctx;
        RuntimeResult::state(RuntimeState::Done)
    }

    /// Resolves when the work is done: `Done` moves to FINISHING; errors map to failures.
    /// `Continue` means "call me again" (the engine re-invokes it at once).
    async fn execute(&self, ctx: &StepContext) -> RuntimeResult;

    /// Stops the work (the engine has already dropped a pending `execute` future). Must end in
    /// `Stopped`; an error here is retried.
    async fn terminate(&self, ctx: &StepContext) -> RuntimeResult {
        let _ = ctx;
        RuntimeResult::state(RuntimeState::Stopped)
    }

    /// Whether an attempt that was RUNNING when the process died can simply be executed again
    /// (true for NoOp and Sleep). When false, the engine records a platform failure and retries
    /// under the platform retry policy (a process launched by a dead engine is lost with it).
    fn resumable(&self) -> bool {
        false
    }
}

/// The runtimes by step type.
#[derive(Clone, Default)]
pub struct RuntimeRegistry {
    runtimes: HashMap<StepType, Arc<dyn StepRuntime>>,
}

impl RuntimeRegistry {
    /// NoOp, Sleep and Shell.
    pub fn with_builtins() -> Self {
        let mut r = RuntimeRegistry::default();
        r.register(StepType::NoOp, Arc::new(NoOpRuntime));
        r.register(StepType::Sleep, Arc::new(SleepRuntime));
        r.register(StepType::Shell, Arc::new(ShellRuntime::default()));
        r
    }

    /// Adds or replaces the runtime of a step type.
    pub fn register(&mut self, step_type: StepType, runtime: Arc<dyn StepRuntime>) {
        self.runtimes.insert(step_type, runtime);
    }

    /// The runtime of a step type, if Baton has one.
    pub fn get(&self, step_type: StepType) -> Option<Arc<dyn StepRuntime>> {
        self.runtimes.get(&step_type).cloned()
    }
}
