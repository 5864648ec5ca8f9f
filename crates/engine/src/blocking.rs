//! Runs CPU-bound work (SEL evaluation) on tokio's blocking pool, so a slow expression never
//! stalls the threads that drive actors and I/O.

use crate::error::{EngineError, Result};

/// Runs `f` on a blocking thread and returns its result.
pub(crate) async fn run<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Internal(format!("evaluation task failed: {e}")))
}
