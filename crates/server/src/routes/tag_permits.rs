//! Tag permits (maestro-api.md §1.13): user-set limits on how many step attempts carrying a tag
//! run at once. A change takes effect for waiting steps at once.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use indexmap::IndexMap;
use serde_json::Value;

use super::Route;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonBody, PathParams};

const TAG: &str = "tag permits";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::POST, "/api/v3/tag-permits", TAG, upsert)
            .summary("Create or update a tag permit")
            .user()
            .json_body("TagPermitRequest {tag, max_allowed, …extra}")
            .returns(200, "an empty body"),
        Route::new(Method::GET, "/api/v3/tag-permits/{tag}", TAG, get)
            .summary("A tag permit")
            .returns(200, "TagPermit"),
        Route::new(Method::DELETE, "/api/v3/tag-permits/{tag}", TAG, delete)
            .summary("Delete a tag permit")
            .returns(200, "an empty body"),
    ]
}

async fn upsert(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<IndexMap<String, Value>>,
) -> ApiResult<StatusCode> {
    let mut extra = body;
    let tag = match extra.shift_remove("tag") {
        Some(Value::String(t)) => t,
        Some(_) => return Err(ApiError::bad_request("tag: must be a string")),
        None => return Err(ApiError::bad_request("tag: is required")),
    };
    let max_allowed = match extra.shift_remove("max_allowed") {
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| *v >= 0)
            .ok_or_else(|| ApiError::bad_request("max_allowed: must be a non-negative integer"))?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "max_allowed: must be a non-negative integer",
            ));
        }
        None => return Err(ApiError::bad_request("max_allowed: is required")),
    };
    s.engine
        .set_tag_permit(&tag, max_allowed, extra, &caller.0)
        .await?;
    Ok(StatusCode::OK)
}

async fn get(State(s): State<AppState>, p: PathParams) -> ApiResult<Json<baton_engine::TagPermit>> {
    Ok(Json(s.engine.get_tag_permit(p.str("tag")).await?))
}

async fn delete(State(s): State<AppState>, p: PathParams) -> ApiResult<StatusCode> {
    s.engine.delete_tag_permit(p.str("tag")).await?;
    Ok(StatusCode::OK)
}
