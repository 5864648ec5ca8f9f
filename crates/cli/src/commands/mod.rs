//! One module per subcommand.

pub mod bench;
pub mod resume;
pub mod run;
pub mod sel;
pub mod util;
pub mod validate;
