//! Restarts (maestro-api.md §1.9 #27, §1.10 #39): restart an instance as a new run, or restart
//! one step (a new attempt in an active run, or a new run from that step once the run is
//! terminal). The engine's `restart` module does the work; these handlers only translate.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use baton_model::api::{
    StepInstanceRestartRequest, StepInstanceRestartResponse, WorkflowInstanceRestartRequest,
    WorkflowStartResponse,
};

use super::Route;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Caller, JsonBody, PathParams, QueryParams};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/api/v3/workflows/{wid}/instances/{iid}/actions/restart",
            "workflow instances",
            restart_instance,
        )
        .summary("Restart a workflow instance: a new run of it (its latest run must be terminal)")
        .user()
        .json_body("WorkflowInstanceRestartRequest {restart_policy, run_params, request_id, …}")
        .returns(200, "WorkflowInstanceRestartResponse"),
        Route::new(
            Method::POST,
            "/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/restart",
            "step instances",
            restart_step,
        )
        .summary("Restart a step: a new attempt in the active run, or a new run from the step once the run is terminal")
        .user()
        .json_body("StepInstanceRestartRequest {restart_policy, step_run_params, …}")
        .query(
            "blocking",
            "boolean",
            "accepted for compatibility: the restart is always durable when answered",
        )
        .returns(200, "StepInstanceRestartResponse"),
    ]
}

async fn restart_instance(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
    JsonBody(req): JsonBody<WorkflowInstanceRestartRequest>,
) -> ApiResult<Json<WorkflowStartResponse>> {
    let response = s
        .engine
        .restart_instance(p.str("wid"), p.id("iid")?, req, caller.0)
        .await?;
    Ok(Json(response))
}

async fn restart_step(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
    caller: Caller,
    JsonBody(req): JsonBody<StepInstanceRestartRequest>,
) -> ApiResult<Json<StepInstanceRestartResponse>> {
    q.bool("blocking", true)?;
    let sid = p.str("sid");
    let outcome = s
        .engine
        .restart_step(p.str("wid"), p.id("iid")?, sid, req, caller.0)
        .await?;
    Ok(Json(outcome.response(sid)))
}
