//! The API's error body (maestro-api.md §1.3): `{"status": "<CODE>", "message": …, "errors": […]}`
//! with the HTTP status equal to the code, for every failure — engine errors, bad input caught
//! here, unknown routes, capabilities that are not implemented yet. Clients key on `status`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_engine::EngineError;
use baton_model::FieldError;
use baton_store::StoreError;
use serde::Serialize;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// One line per problem, `path: message` for field errors (omitted when empty).
    pub errors: Vec<String>,
    /// Cluster mode: the request belongs to another node (see `forward`).
    pub not_owner: Option<crate::forward::NotOwner>,
}

#[derive(Serialize)]
struct Body<'a> {
    status: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    errors: &'a [String],
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            errors: Vec::new(),
            not_owner: None,
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 naming each offending field.
    pub fn invalid(message: impl Into<String>, errors: &[FieldError]) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            errors: errors.iter().map(field_line).collect(),
            not_owner: None,
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 501 for a Maestro endpoint whose capability Baton does not have yet.
    pub fn not_implemented(capability: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{capability} is not implemented in Baton yet"),
        )
    }

    /// The `status` value: Maestro's code names (`MaestroRuntimeException.Code`), and for the
    /// statuses Maestro leaves to its web framework, the framework's enum names.
    pub fn code(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "BAD_REQUEST",
            401 => "UNAUTHORIZED",
            403 => "FORBIDDEN",
            404 => "NOT_FOUND",
            405 => "METHOD_NOT_ALLOWED",
            408 => "REQUEST_TIMEOUT",
            409 => "CONFLICT",
            410 => "GONE",
            412 => "PRECONDITION_FAILED",
            413 => "PAYLOAD_TOO_LARGE",
            415 => "UNSUPPORTED_MEDIA_TYPE",
            422 => "UNPROCESSABLE_ENTITY",
            501 => "NOT_IMPLEMENTED",
            502 => "BAD_GATEWAY",
            503 => "SERVICE_UNAVAILABLE",
            _ => "INTERNAL_ERROR",
        }
    }
}

fn field_line(e: &FieldError) -> String {
    if e.path.is_root() {
        e.message.clone()
    } else {
        format!("{}: {}", e.path, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            status: self.code(),
            message: &self.message,
            errors: &self.errors,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(not_owner) = self.not_owner {
            response.extensions_mut().insert(not_owner);
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid { message, errors } => ApiError::invalid(message, &errors),
            EngineError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            EngineError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            EngineError::Unprocessable(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            EngineError::PreconditionFailed(m) => ApiError::new(StatusCode::PRECONDITION_FAILED, m),
            EngineError::Timeout(m) => ApiError::new(StatusCode::REQUEST_TIMEOUT, m),
            EngineError::NotImplemented(m) => ApiError::new(StatusCode::NOT_IMPLEMENTED, m),
            EngineError::Store(StoreError::NotFound(m)) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("not found: {m}"))
            }
            EngineError::Store(StoreError::Conflict(m)) => {
                ApiError::new(StatusCode::CONFLICT, format!("conflict: {m}"))
            }
            EngineError::NotOwner { group, ref owner } => {
                let owner = owner.clone();
                let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
                error.not_owner = Some(crate::forward::NotOwner { group, owner });
                error
            }
            EngineError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            EngineError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
