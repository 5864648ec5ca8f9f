//! The Maestro workflow model: the JSON types of definitions, params, instances and statuses,
//! validation with field paths, DAG building and the YAML DSL.
//!
//! Everything else in Baton stands on these types, so they know nothing of storage, HTTP or
//! execution. JSON follows Maestro exactly: snake_case names, enums read case-insensitively and
//! written canonically, maps kept in the order written, unknown fields rejected except where
//! Maestro keeps them (create request extras, tag attributes, param meta, user extras).

#![warn(missing_docs)]

pub mod api;
pub mod dag;
pub mod definition;
pub mod dsl;
pub mod duration;
pub mod enums;
pub mod instance;
mod json;
pub mod load;
pub mod params;
pub mod path;
pub mod validate;

pub use path::{FieldError, JsonPath};
