//! Signals (maestro-api.md §1.12): announce a signal, read one back by sequence id or `latest`.
//! Announcing wakes the steps and signal triggers waiting for that name at once.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_model::api::SignalCreateRequest;

use super::Route;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, PathParams};

const TAG: &str = "signals";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::POST, "/api/v3/signals", TAG, announce)
            .summary("Announce a signal (409 when the same signal was announced before)")
            .json_body("SignalCreateRequest {name, params, request_id, request_time, …payload}")
            .returns(200, "SignalInstance"),
        Route::new(Method::GET, "/api/v3/signals/{name}/instances/{seq}", TAG, get)
            .summary("A signal instance by sequence id, or the latest one (an empty body when there is none)")
            .returns(200, "SignalInstance, or an empty body"),
    ]
}

async fn announce(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<SignalCreateRequest>,
) -> ApiResult<Json<baton_model::instance::SignalInstance>> {
    Ok(Json(s.engine.announce_signal(req).await?))
}

async fn get(State(s): State<AppState>, p: PathParams) -> ApiResult<Response> {
    let name = p.str("name");
    let seq = p.str("seq");
    let latest = seq.eq_ignore_ascii_case("latest");
    let seq_id = if latest {
        None
    } else {
        Some(seq.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid signal sequence id [{seq}]: use a number or latest"
            ))
        })?)
    };
    match s.engine.get_signal(name, seq_id).await? {
        Some(mut instance) => {
            if latest {
                // Maestro answers `latest` with seq_id -1.
                instance.seq_id = -1;
            }
            Ok(Json(instance).into_response())
        }
        // Maestro's controller returns null: HTTP 200 with an empty body.
        None => Ok(StatusCode::OK.into_response()),
    }
}
