//! The engine: instance actors, the step state machine, param evaluation, step runtimes, run
//! strategies, timers and triggers. It knows no HTTP and no SQL: it talks to a `Store`.

pub mod clock;
pub mod params;
pub mod runtime;
