//! One module per subcommand.

pub mod bench;
pub mod bench_signals;
pub mod resume;
pub mod run;
pub mod sel;
pub mod signal;
pub mod triggers;
pub mod util;
pub mod validate;
