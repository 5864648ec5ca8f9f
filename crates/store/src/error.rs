//! The one error type of the store, so callers can tell a conflict (retry or report) from an
//! I/O failure (give up) without knowing the backend.

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's precondition did not hold (someone else changed the row first, or a key that
    /// must not exist yet does). The message says which.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row the write needed does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed (I/O, corruption, lost connection, bad SQL).
    #[error("database error: {0}")]
    Database(String),
    /// A fenced write batch ([`crate::WriteOp::Fence`]) found its ownership group claimed by
    /// another node (or released): nothing of the batch was written, and the writer must stop
    /// acting for that group.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The store was closed or its writer is gone.
    #[error("store is closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Database(err.to_string())
    }
}
