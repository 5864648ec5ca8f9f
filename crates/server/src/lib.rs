//! The HTTP API: Maestro's `/api/v3` paths and JSON on top of the engine.
