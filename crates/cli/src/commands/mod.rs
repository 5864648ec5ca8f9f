//! One module per subcommand.

pub mod bench;
pub mod bench_api;
pub mod bench_cluster;
pub mod bench_signals;
pub mod breakpoint;
pub mod client;
pub mod control;
pub mod logs;
pub mod push;
pub mod resume;
pub mod run;
pub mod sel;
pub mod server;
pub mod signal;
pub mod start;
pub mod status;
pub mod step;
pub mod triggers;
pub mod util;
pub mod validate;
pub mod watch;
