//! Sandbox limits. SEL runs user-written programs inside the server, so every evaluation is
//! bounded: source length, operand-stack depth, loop iterations, array sizes, AST-node visits,
//! allocated bytes and wall-clock time. The first six are the reference's own limits with its
//! exact boundaries (§8.1); the time limit replaces its abandoned-thread timeout.

use std::time::Duration;

/// The limits of one evaluation. `Default` gives Maestro's production values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Operand-stack slots (production 128).
    pub stack: u64,
    /// Completed iterations per loop execution; reaching it aborts (production 25,001).
    pub loop_: u64,
    /// Array size; `new T[n]` with `n >=` this aborts (production 25,001).
    pub array: u64,
    /// Source length in UTF-16 units; a source this long or longer is rejected (production 10,000).
    pub length: u64,
    /// AST-node visits; reaching it aborts (production 100,000,000).
    pub visit: u64,
    /// Allocated bytes (32 per value, 2 per string character); reaching it aborts
    /// (production 100,000,000).
    pub memory: u64,
    /// Wall-clock time for one evaluation (production 120 s); `None` for no limit.
    pub time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stack: 128,
            loop_: 25_001,
            array: 25_001,
            length: 10_000,
            visit: 100_000_000,
            memory: 100_000_000,
            time: Some(Duration::from_millis(120_000)),
        }
    }
}

impl Limits {
    /// Production limits with a different operand-stack size.
    pub fn with_stack(mut self, stack: u64) -> Self {
        self.stack = stack;
        self
    }

    /// Production limits with a different loop limit.
    pub fn with_loop(mut self, loop_: u64) -> Self {
        self.loop_ = loop_;
        self
    }

    /// With a different array limit.
    pub fn with_array(mut self, array: u64) -> Self {
        self.array = array;
        self
    }

    /// With a different length limit.
    pub fn with_length(mut self, length: u64) -> Self {
        self.length = length;
        self
    }

    /// With a different visit limit.
    pub fn with_visit(mut self, visit: u64) -> Self {
        self.visit = visit;
        self
    }

    /// With a different memory limit.
    pub fn with_memory(mut self, memory: u64) -> Self {
        self.memory = memory;
        self
    }

    /// With a different time limit.
    pub fn with_time(mut self, time: Option<Duration>) -> Self {
        self.time = time;
        self
    }
}
