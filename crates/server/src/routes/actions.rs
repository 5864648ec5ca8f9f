//! Workflow actions (maestro-api.md §1.8): start an instance, activate a version, deactivate,
//! stop or kill every unfinished run. Unblock comes with the STRICT_SEQUENTIAL run strategy.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use baton_engine::RunAction;
use baton_model::api::{InstanceRunStatus, WorkflowStartRequest, WorkflowStartResponse};
use baton_model::instance::{Initiator, TimelineEvent};
use serde::Serialize;

use super::Route;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Caller, JsonBody, PathParams};

const TAG: &str = "workflow actions";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/api/v3/workflows/{wid}/versions/{version}/actions/start",
            TAG,
            start,
        )
        .summary("Start a workflow instance of a version (active, latest, default or a number)")
        .user()
        .json_body("WorkflowStartRequest {initiator, run_params, request_id, …}")
        .returns(200, "WorkflowStartResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/versions/{version}/actions/activate",
            TAG,
            activate,
        )
        .summary("Activate a workflow version")
        .user()
        .returns(200, "WorkflowActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/actions/deactivate",
            TAG,
            deactivate,
        )
        .summary("Deactivate a workflow (no active version)")
        .user()
        .returns(200, "WorkflowActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/actions/stop",
            TAG,
            stop_all,
        )
        .summary("Stop every queued or running instance of a workflow")
        .user()
        .returns(202, "TimelineEvent (ACTION STOP)"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/actions/kill",
            TAG,
            kill_all,
        )
        .summary("Kill every queued or running instance of a workflow")
        .user()
        .returns(202, "TimelineEvent (ACTION KILL)"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/actions/unblock",
            TAG,
            unblock_all,
        )
        .summary("Unblock every failed instance of a STRICT_SEQUENTIAL workflow")
        .user()
        .returns(200, "TimelineEvent (ACTION UNBLOCK)"),
    ]
}

async fn start(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
    JsonBody(mut req): JsonBody<WorkflowStartRequest>,
) -> ApiResult<Json<WorkflowStartResponse>> {
    let user = caller.0;
    // Maestro records the caller as the manual initiator's user, whatever the body says.
    let manual = if let Initiator::Manual(m) = &mut req.initiator {
        m.user = Some(user.clone());
        true
    } else {
        false
    };
    let mut response = s
        .engine
        .start_workflow(p.str("wid"), p.str("version"), req, Some(user.clone()))
        .await?;
    if manual && response.timeline_event.is_none() && response.status == InstanceRunStatus::Created
    {
        response.timeline_event = Some(TimelineEvent::info(
            baton_engine::clock::now_millis(),
            format!(
                "Manually run a new workflow instance by a user [{}]",
                user.name
            ),
        ));
    }
    Ok(Json(response))
}

/// Maestro's `WorkflowActionResponse`.
#[derive(Serialize)]
struct WorkflowActionResponse {
    workflow_id: String,
    workflow_version_id: i64,
    timeline_event: TimelineEvent,
}

async fn activate(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowActionResponse>> {
    let out = s
        .engine
        .activate_version(p.str("wid"), p.str("version"), caller.0)
        .await?;
    Ok(Json(WorkflowActionResponse {
        workflow_id: out.workflow_id,
        workflow_version_id: out.active_version_id,
        timeline_event: out.event,
    }))
}

async fn deactivate(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowActionResponse>> {
    let out = s.engine.deactivate_workflow(p.str("wid"), caller.0).await?;
    Ok(Json(WorkflowActionResponse {
        workflow_id: out.workflow_id,
        workflow_version_id: 0,
        timeline_event: out.event,
    }))
}

async fn terminate_all(
    s: &AppState,
    p: &PathParams,
    caller: Caller,
    action: RunAction,
) -> ApiResult<(StatusCode, Json<TimelineEvent>)> {
    let event = s
        .engine
        .terminate_workflow_runs(p.str("wid"), action, caller.0)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(event)))
}

async fn stop_all(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<TimelineEvent>)> {
    terminate_all(&s, &p, caller, RunAction::Stop).await
}

async fn kill_all(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<TimelineEvent>)> {
    terminate_all(&s, &p, caller, RunAction::Kill).await
}

async fn unblock_all(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<TimelineEvent>> {
    let wid = p.str("wid");
    let count = s.engine.unblock_workflow(wid, Some(&caller.0)).await?;
    Ok(Json(TimelineEvent::info(
        baton_engine::clock::now_millis(),
        format!(
            "User [{}] unblocked [{count}] failed workflow instances of [{wid}]",
            caller.0.name
        ),
    )))
}
