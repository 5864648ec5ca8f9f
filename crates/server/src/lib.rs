//! The HTTP API: Maestro's `/api/v3` paths and JSON on top of the engine
//! (`../shared/reference/maestro-api.md` §1), plus `/health`, `/actuator/health` and the
//! OpenAPI document at `/api/v3/openapi.json`.
//!
//! [`app`] builds the router from the route table in [`routes`] (which also writes the OpenAPI
//! document); [`serve`] runs it until a shutdown signal, letting requests in flight finish.
//! Every failure answers Maestro's error body (see [`error`]); a panic in a handler becomes a
//! 500 with that body instead of a dropped connection.

pub mod error;
pub mod extract;
pub mod forward;
pub mod openapi;
pub mod pagination;
pub mod routes;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use baton_engine::Engine;

pub use error::ApiError;

/// Default largest request body: four times Maestro's 256 KB create-request limit, so the
/// engine's own size check (400, naming the limit) is what an oversized definition meets.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub max_body_bytes: usize,
    /// The OpenAPI document, written once from the route table.
    pub openapi: Arc<serde_json::Value>,
    /// Cluster mode: the client that forwards requests to other nodes (see [`forward`]).
    pub http: reqwest::Client,
}

/// The whole API as a router.
pub fn app(engine: Engine, options: ServerOptions) -> Router {
    let table = routes::all();
    let openapi = Arc::new(openapi::document(&table));
    let state = AppState {
        engine,
        max_body_bytes: options.max_body_bytes,
        openapi,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap_or_default(),
    };
    routes::router(table)
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::forward,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting connections and
/// waits for the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("No endpoint {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "Request method [{method}] is not supported for {}",
            uri.path()
        ),
    )
}

fn on_panic(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string());
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error while handling the request: {detail}"),
    )
    .into_response()
}
