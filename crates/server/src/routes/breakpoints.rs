//! Step breakpoints (maestro-api.md §1.11): add, list and remove a step's breakpoint, list the
//! attempts paused at one, and resume one paused attempt. Only workflow + step granularity is
//! accepted, as in Maestro; the engine (`baton_engine::breakpoints`) does the rest.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use baton_engine::breakpoints::{PausedStepAttempt, StepBreakpoint};
use baton_model::instance::TimelineEvent;
use indexmap::IndexMap;
use serde_json::{Value, json};

use super::Route;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonBody, PathParams, QueryParams};

const TAG: &str = "breakpoints";
const BASE: &str = "/api/v3/workflows/steps/breakpoints";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::POST, BASE, TAG, add)
            .summary("Add a breakpoint on a workflow's step (every version, instance, run and attempt)")
            .user()
            .json_body("StepBreakpointCreateRequest")
            .returns(200, "StepBreakpoint"),
        Route::new(Method::DELETE, BASE, TAG, delete)
            .summary("Remove a step's breakpoints, resuming the attempts paused at them unless resume=false")
            .user()
            .query("workflowId", "string", "workflow id (required)")
            .query("stepId", "string", "step id (required)")
            .query("resume", "boolean", "resume the paused attempts (default true)")
            .returns(200, "StepBreakpointDeleteResponse"),
        Route::new(Method::GET, BASE, TAG, list)
            .summary("List a step's breakpoints")
            .query("workflowId", "string", "workflow id (required)")
            .query("stepId", "string", "step id (required)")
            .returns(200, "[StepBreakpoint]"),
        Route::new(Method::GET, "/api/v3/workflows/steps/breakpoints/paused-step-attempts", TAG, paused)
            .summary("List the attempts paused at a breakpoint")
            .query("workflowId", "string", "workflow id the breakpoint is on")
            .query("stepId", "string", "step id")
            .returns(200, "[PausedStepAttempt]"),
        Route::new(Method::PUT, "/api/v3/workflows/steps/breakpoints/{wid}/instances/{iid}/runs/{rid}/steps/{sid}/attempts/{attempt}/actions/resume", TAG, resume)
            .summary("Resume one attempt paused at a breakpoint (404 when it is not paused)")
            .user()
            .returns(200, "StepInstanceActionResponse"),
    ]
}

fn required<'a>(q: &'a QueryParams, name: &str) -> ApiResult<&'a str> {
    q.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Required request parameter '{name}' is not present"
        ))
    })
}

async fn add(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<IndexMap<String, Value>>,
) -> ApiResult<Json<StepBreakpoint>> {
    let text = |name: &str| -> ApiResult<String> {
        match body.get(name) {
            Some(Value::String(v)) if !v.is_empty() => Ok(v.clone()),
            _ => Err(ApiError::bad_request(format!(
                "{name} must be a non-empty string"
            ))),
        }
    };
    let workflow_id = text("workflow_id")?;
    let step_id = text("step_id")?;
    for (key, value) in &body {
        match key.as_str() {
            "workflow_id" | "step_id" => {}
            "workflow_version"
            | "workflow_version_id"
            | "workflow_instance_id"
            | "workflow_run"
            | "workflow_run_id"
            | "step_attempt_id" => {
                if !value.is_null() && value != &json!(0) {
                    return Err(ApiError::bad_request(format!(
                        "Only workflow id and step id are supported in a step breakpoint: [{key}] cannot be set"
                    )));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unknown field [{other}] in StepBreakpointCreateRequest"
                )));
            }
        }
    }
    Ok(Json(
        s.engine
            .add_breakpoint(&workflow_id, &step_id, caller.0)
            .await?,
    ))
}

async fn delete(
    State(s): State<AppState>,
    q: QueryParams,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let workflow_id = required(&q, "workflowId")?.to_string();
    let step_id = required(&q, "stepId")?.to_string();
    let resume = q.bool("resume", true)?;
    let user = caller.0;
    let (removed, resumed) = s
        .engine
        .delete_breakpoint(&workflow_id, &step_id, resume, user.clone())
        .await?;
    Ok(Json(json!({
        "workflow_id": workflow_id,
        "step_id": step_id,
        "breakpoints_removed": removed,
        "timeline_event": TimelineEvent::info(
            baton_engine::clock::now_millis(),
            format!(
                "StepBreakpoint has been removed by the user [{}]. Total of [{resumed}] steps have been resumed",
                user.name
            ),
        ),
    })))
}

async fn list(State(s): State<AppState>, q: QueryParams) -> ApiResult<Json<Vec<StepBreakpoint>>> {
    let workflow_id = required(&q, "workflowId")?;
    let step_id = required(&q, "stepId")?;
    Ok(Json(s.engine.list_breakpoints(workflow_id, step_id).await?))
}

async fn paused(
    State(s): State<AppState>,
    q: QueryParams,
) -> ApiResult<Json<Vec<PausedStepAttempt>>> {
    Ok(Json(
        s.engine
            .list_paused_attempts(q.get("workflowId"), q.get("stepId"))
            .await?,
    ))
}

async fn resume(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let wid = p.str("wid");
    let iid = p.id("iid")?;
    let run = p.id_or_latest("rid")?;
    let sid = p.str("sid");
    let attempt = p.id("attempt")?;
    let user = caller.0;
    let key = s
        .engine
        .resume_paused_attempt(wid, iid, run, sid, attempt, user.clone())
        .await?;
    Ok(Json(json!({
        "workflow_id": wid,
        "workflow_instance_id": iid,
        "workflow_run_id": key.run_id,
        "step_id": sid,
        "step_attempt_id": attempt,
        "timeline_event": TimelineEvent::info(
            baton_engine::clock::now_millis(),
            format!("User [{}] resumed the paused step attempt", user.name),
        ),
    })))
}
