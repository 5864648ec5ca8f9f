//! The Maestro workflow model: the JSON types of definitions, params, instances and statuses,
//! validation with field paths, DAG building and the YAML DSL.
//!
//! Everything else in Baton stands on these types, so they know nothing of storage, HTTP or
//! execution.
