//! The engine's error type. Each variant says what kind of failure it is, so the API can pick a
//! status code without parsing messages: bad input, a missing thing, a state conflict, or a
//! failure of the engine or its store.

use baton_model::FieldError;
use baton_store::StoreError;

/// What went wrong in an engine call.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request is malformed or breaks a rule; `errors` names each offending field.
    #[error("{message}")]
    Invalid {
        message: String,
        errors: Vec<FieldError>,
    },
    /// A workflow, version, instance or step that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. a run that is not terminal).
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but cannot be processed now (e.g. a trigger is disabled).
    #[error("{0}")]
    Unprocessable(String),
    /// A change whose precondition on other data does not hold (e.g. a run-strategy change
    /// while too many runs are active).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The request was accepted but did not take effect within the time the caller waits
    /// (Maestro's 408 for a blocking step action); it still completes later.
    #[error("{0}")]
    Timeout(String),
    /// A capability this build does not have yet (answered 501).
    #[error("{0}")]
    NotImplemented(String),
    /// Cluster mode: the request must be served by the node that owns the run's group, and this
    /// node does not. `owner` is the owner's advertised address when a live node holds the
    /// group (the server forwards the request there), `None` while the group has no live owner
    /// (a takeover is under way: retry shortly).
    #[error("ownership group [{group}] is owned by {}", owner.as_deref().unwrap_or("no live node right now"))]
    NotOwner { group: i64, owner: Option<String> },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an unexpected state inside the engine.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// An `Invalid` error with only a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        EngineError::Invalid {
            message: message.into(),
            errors: Vec::new(),
        }
    }
}

/// Result alias for engine calls.
pub type Result<T> = std::result::Result<T, EngineError>;
