//! The engine: instance actors, the step state machine, param evaluation, step runtimes, run
//! strategies, timers and triggers. It knows no HTTP and no SQL: it talks to a `Store`.
//!
//! Entry point: [`Engine::start`] on a store, then [`Engine::push_workflow`],
//! [`Engine::start_workflow`], reads and actions.

mod blocking;
pub mod clock;
mod compiled;
mod dryrun;
mod engine;
mod error;
mod ids;
pub mod params;
mod permits;
mod persist;
mod queue;
mod reads;
mod recovery;
mod run;
pub mod runtime;
mod services;
mod start;
mod workflows;

pub use engine::{Engine, EngineConfig, EngineEvent};
pub use error::{EngineError, Result};
pub use permits::TagPermit;
pub use run::RunAction;
