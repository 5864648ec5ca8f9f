//! Step instances (maestro-api.md §1.10): the step view across runs, attempts, per-run and
//! per-instance lists, and Baton's log endpoint for Shell steps. Step actions (stop, kill,
//! skip, bypass, restart) answer 501 until the engine has them.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use baton_model::instance::StepInstance;
use baton_store::RunKey;
use serde_json::{Value, json};

use super::Route;
use super::unsupported::stub;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParams, QueryParams};

const TAG: &str = "step instances";

pub fn routes() -> Vec<Route> {
    let step_action = |path: &'static str, what: &'static str, summary: &'static str| {
        stub(Method::PUT, path, TAG, what)
            .summary(summary)
            .user()
            .query(
                "blocking",
                "boolean",
                "wait for the action to take effect (default true)",
            )
    };
    vec![
        Route::new(Method::GET, "/api/v3/workflows/steps/instances/action-map", TAG, action_map)
            .summary("Which actions each step instance status allows")
            .returns(200, "map status -> [action]"),
        Route::new(Method::GET, "/api/v3/workflows/{wid}/instances/{iid}/steps", TAG, instance_steps)
            .summary("The latest attempt of each step, from the latest run that has it")
            .query("enriched", "boolean", "add status events to the timelines (default true)")
            .returns(200, "[StepInstance]"),
        Route::new(Method::GET, "/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}", TAG, step_view)
            .summary("A step's latest attempt in the latest run that has it")
            .query("enriched", "boolean", "add status events to the timeline (default true)")
            .returns(200, "StepInstance"),
        Route::new(Method::GET, "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}/steps", TAG, run_steps)
            .summary("The latest attempt of each step of a run")
            .query("enriched", "boolean", "add status events to the timelines (default true)")
            .returns(200, "[StepInstance]"),
        Route::new(Method::GET, "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}/steps/{sid}/attempts/{attempt}", TAG, attempt)
            .summary("One attempt of a step (a number or latest)")
            .query("enriched", "boolean", "add status events to the timeline (default true)")
            .returns(200, "StepInstance"),
        Route::new(Method::GET, "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}/steps/{sid}/attempts/{attempt}/logs", TAG, logs)
            .summary("The output of a Shell step attempt, stdout and stderr interleaved (Baton extension)")
            .query("tail", "integer", "only the last N bytes")
            .produces("text/plain")
            .returns(200, "the log text"),
        step_action("/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/stop", "Stopping a single step", "Stop a step"),
        step_action("/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/kill", "Killing a single step", "Kill a step"),
        step_action("/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/skip", "Skipping a step", "Skip a step"),
        Route::new(Method::PUT, "/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/bypass", TAG, bypass)
            .summary("Bypass a step's signal dependencies (the step must be WAITING_FOR_SIGNALS)")
            .user()
            .query("blocking", "boolean", "accepted for compatibility: the action is always durable when answered")
            .returns(200, "StepInstanceActionResponse"),
    ]
}

async fn action_map() -> Json<Value> {
    let stop_kill_skip = json!(["STOP", "KILL", "SKIP"]);
    let restart_skip = json!(["RESTART", "SKIP"]);
    Json(json!({
        "CREATED": ["PAUSE", "STOP", "KILL"],
        "INITIALIZED": ["PAUSE", "STOP", "KILL", "SKIP"],
        "PAUSED": ["RESUME", "STOP", "KILL", "SKIP"],
        "WAITING_FOR_SIGNALS": ["STOP", "KILL", "SKIP", "BYPASS_STEP_DEPENDENCIES"],
        "EVALUATING_PARAMS": stop_kill_skip,
        "WAITING_FOR_PERMITS": stop_kill_skip,
        "STARTING": stop_kill_skip,
        "RUNNING": stop_kill_skip,
        "FINISHING": stop_kill_skip,
        "DISABLED": ["RESTART"],
        "UNSATISFIED": ["RESTART"],
        "SKIPPED": restart_skip,
        "SUCCEEDED": restart_skip,
        "COMPLETED_WITH_ERROR": restart_skip,
        "USER_FAILED": stop_kill_skip,
        "PLATFORM_FAILED": stop_kill_skip,
        "FATALLY_FAILED": restart_skip,
        "INTERNALLY_FAILED": restart_skip,
        "STOPPED": restart_skip,
        "TIMEOUT_FAILED": stop_kill_skip,
        "TIMED_OUT": restart_skip,
    }))
}

fn run_key(p: &PathParams, run: i64) -> ApiResult<RunKey> {
    Ok(RunKey {
        workflow_id: p.str("wid").to_string(),
        instance_id: p.id("iid")?,
        run_id: run,
    })
}

/// Resolves `{rid}` (`latest` or a number) to a run id.
async fn resolve_run(s: &AppState, p: &PathParams) -> ApiResult<RunKey> {
    match p.id_or_latest("rid")? {
        Some(run) => run_key(p, run),
        None => {
            let options = baton_engine::views::InstanceViewOptions {
                enriched: false,
                aggregated: false,
            };
            let wi = s
                .engine
                .instance_view(p.str("wid"), p.id("iid")?, None, options)
                .await?;
            run_key(p, wi.workflow_run_id)
        }
    }
}

async fn instance_steps(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<Vec<StepInstance>>> {
    Ok(Json(
        s.engine
            .instance_steps(p.str("wid"), p.id("iid")?, q.bool("enriched", true)?)
            .await?,
    ))
}

async fn step_view(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<StepInstance>> {
    Ok(Json(
        s.engine
            .step_view(
                p.str("wid"),
                p.id("iid")?,
                p.str("sid"),
                q.bool("enriched", true)?,
            )
            .await?,
    ))
}

async fn run_steps(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<Vec<StepInstance>>> {
    let run = resolve_run(&s, &p).await?;
    Ok(Json(
        s.engine.run_steps(&run, q.bool("enriched", true)?).await?,
    ))
}

async fn attempt(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<StepInstance>> {
    let run = resolve_run(&s, &p).await?;
    let attempt = p.id_or_latest("attempt")?;
    Ok(Json(
        s.engine
            .step_attempt(&run, p.str("sid"), attempt, q.bool("enriched", true)?)
            .await?,
    ))
}

async fn logs(State(s): State<AppState>, p: PathParams, q: QueryParams) -> ApiResult<Response> {
    let run = resolve_run(&s, &p).await?;
    let attempt = p.id_or_latest("attempt")?;
    let tail = q
        .int("tail", 0, i64::MAX)?
        .map(|n| u64::try_from(n).unwrap_or(0));
    let text = s
        .engine
        .step_log(&run, p.str("sid"), attempt, tail)
        .await
        .map_err(ApiError::from)?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

/// Maestro's `StepInstanceActionResponse` ("omit defaults").
#[derive(serde::Serialize)]
struct StepInstanceActionResponse {
    workflow_id: String,
    workflow_instance_id: i64,
    workflow_run_id: i64,
    step_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    step_attempt_id: Option<i64>,
    timeline_event: baton_model::instance::TimelineEvent,
}

/// BYPASS_STEP_DEPENDENCIES on the step in the latest run of the instance.
async fn bypass(
    State(s): State<AppState>,
    p: PathParams,
    caller: crate::extract::Caller,
) -> ApiResult<Json<StepInstanceActionResponse>> {
    let wid = p.str("wid");
    let iid = p.id("iid")?;
    let sid = p.str("sid");
    let run = s.engine.get_instance_run(wid, iid, None).await?;
    let key = RunKey {
        workflow_id: wid.to_string(),
        instance_id: iid,
        run_id: run.workflow_run_id,
    };
    let user = caller.0;
    s.engine
        .bypass_signal_dependencies(&key, sid, Some(user.clone()))
        .await?;
    let attempt = s
        .engine
        .latest_attempts(&key)
        .await?
        .into_iter()
        .find(|a| a.step_id == sid)
        .map(|a| a.step_attempt_id);
    Ok(Json(StepInstanceActionResponse {
        workflow_id: wid.to_string(),
        workflow_instance_id: iid,
        workflow_run_id: run.workflow_run_id,
        step_id: sid.to_string(),
        step_attempt_id: attempt,
        timeline_event: baton_model::instance::TimelineEvent::info(
            baton_engine::clock::now_millis(),
            format!(
                "User [{}] bypassed the signal dependencies of step [{sid}]",
                user.name
            ),
        ),
    }))
}
