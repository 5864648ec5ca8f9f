//! Params: types, modes, literal and evaluated values, definitions and evaluated parameters
//! (maestro-model.md §3).

mod definition;
mod mode;
mod parameter;
mod value;

pub use definition::{META_INTERNAL_MODE, META_SOURCE, ParamDefinition};
pub use mode::{InternalParamMode, ParamMode, ParamSource, ParamType};
pub use parameter::Parameter;
pub use value::{EvaluatedValue, ParamValue, derive_param_value};

/// Params by name, in the order they were written.
pub type ParamMap = indexmap::IndexMap<String, ParamDefinition>;
