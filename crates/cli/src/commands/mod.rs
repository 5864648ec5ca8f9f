//! One module per subcommand.

pub mod sel;
pub mod validate;
