//! Liveness (`/health`, and Spring Boot's `/actuator/health` that Maestro deployments probe)
//! and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde_json::{Value, json};

use super::Route;
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/health", "health", health)
            .summary("Liveness: {\"status\": \"UP\"} while the server runs")
            .returns(200, "{status: UP}"),
        Route::new(Method::GET, "/actuator/health", "health", health)
            .summary("Liveness at Spring Boot's actuator path, as Maestro serves it")
            .returns(200, "{status: UP}"),
        Route::new(Method::GET, "/api/v3/openapi.json", "health", openapi)
            .summary("This API as an OpenAPI 3 document, written from the route table")
            .returns(200, "OpenAPI document"),
    ]
}

async fn health(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"status": "UP", "live_runs": s.engine.live_runs()}))
}

async fn openapi(State(s): State<AppState>) -> Json<Value> {
    Json((*s.openapi).clone())
}
