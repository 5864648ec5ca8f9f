//! Joda-Time compatibility: the ISO chronology, time zones (on jiff's bundled tz database), the
//! `DateTime` operations SEL exposes, the Joda pattern language and ISO parser, and word-based
//! periods. Maestro expressions are mostly date arithmetic, so this is where fidelity matters.

pub mod chrono;
pub mod datetime;
pub mod format;
pub mod period;
pub mod zone;
mod zone_links;

pub use datetime::{DateTime, JodaError, Property, Unit};
pub use format::Formatter;
pub use zone::Zone;
