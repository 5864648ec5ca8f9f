//! The engine: instance actors, the step state machine, param evaluation, step runtimes, run
//! strategies, timers and triggers. It knows no HTTP and no SQL: it talks to a `Store`.
//!
//! Entry point: [`Engine::start`] on a store, then [`Engine::push_workflow`],
//! [`Engine::start_workflow`], reads and actions.

mod activation;
mod blocking;
pub mod breakpoints;
pub mod catalog;
pub mod clock;
pub mod cluster;
mod compiled;
mod deletion;
mod dryrun;
mod engine;
mod error;
mod ids;
pub mod instance_actions;
pub mod params;
mod permits;
mod persist;
mod queue;
mod reads;
mod recovery;
pub mod restart;
mod run;
pub mod runtime;
mod services;
mod signals;
mod start;
pub mod step_actions;
pub mod triggers;
mod validation;
pub mod views;
pub mod workflow_properties;
mod workflows;

pub use activation::ActivationOutcome;
pub use clock::{Clock, ManualClock, SystemClock};
pub use cluster::{ClusterConfig, ClusterStatus, GroupOwner};
pub use engine::{Engine, EngineConfig, EngineEvent};
pub use error::{EngineError, Result};
pub use permits::TagPermit;
pub use restart::StepRestartOutcome;
pub use run::RunAction;
pub use signals::read_signal;
pub use triggers::TriggerInfo;
