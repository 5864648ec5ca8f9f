//! Step instances (maestro-api.md §1.10): the step view across runs, attempts, per-run and
//! per-instance lists, Baton's log endpoint for Shell steps, the step action map, and the step
//! actions stop, kill, skip and bypass (restart answers 501 until the engine has it).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use baton_model::instance::StepInstance;
use baton_store::RunKey;
use serde_json::{Value, json};

use super::Route;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PathParams, QueryParams};
use baton_engine::step_actions::StepAction;

const TAG: &str = "step instances";

/// A PUT step action route.
fn step_action_route<H, T>(path: &'static str, summary: &'static str, handler: H) -> Route
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    Route::new(Method::PUT, path, TAG, handler)
        .summary(summary)
        .user()
        .query(
            "blocking",
            "boolean",
            "wait (at most 5 s) for the step to react and return its new state (default true)",
        )
        .query(
            "reason",
            "string",
            "why, recorded in the step's timeline (Baton extension)",
        )
        .returns(200, "StepInstanceActionResponse")
}

pub fn routes() -> Vec<Route> {
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
        step_action_route("/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/stop", "Stop a step of the running latest run (it ends STOPPED)", stop),
        step_action_route("/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/kill", "Kill a step of the running latest run (it ends FATALLY_FAILED; its failure mode applies)", kill),
        step_action_route("/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/skip", "Skip a step of the running latest run (it ends SKIPPED; downstream continues)", skip),
        Route::new(Method::PUT, "/api/v3/workflows/{wid}/instances/{iid}/steps/{sid}/actions/bypass", TAG, bypass)
            .summary("Bypass a step's signal dependencies (the step must be WAITING_FOR_SIGNALS)")
            .user()
            .query("blocking", "boolean", "accepted for compatibility: the action is always durable when answered")
            .returns(200, "StepInstanceActionResponse"),
    ]
}

async fn action_map() -> Json<Value> {
    let map: serde_json::Map<String, Value> = baton_model::instance::step_action_map()
        .into_iter()
        .map(|(status, actions)| {
            (
                status.as_str().to_string(),
                actions.iter().map(|a| json!(a.as_str())).collect(),
            )
        })
        .collect();
    Json(Value::Object(map))
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
    #[serde(skip_serializing_if = "Option::is_none")]
    step_runtime_state: Option<baton_model::instance::StepRuntimeState>,
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
        step_runtime_state: None,
        timeline_event: baton_model::instance::TimelineEvent::info(
            baton_engine::clock::now_millis(),
            format!(
                "User [{}] bypassed the signal dependencies of step [{sid}]",
                user.name
            ),
        ),
    }))
}

async fn stop(
    s: State<AppState>,
    p: PathParams,
    q: QueryParams,
    c: crate::extract::Caller,
) -> ApiResult<Json<StepInstanceActionResponse>> {
    step_action(s, p, q, c, StepAction::Stop).await
}

async fn kill(
    s: State<AppState>,
    p: PathParams,
    q: QueryParams,
    c: crate::extract::Caller,
) -> ApiResult<Json<StepInstanceActionResponse>> {
    step_action(s, p, q, c, StepAction::Kill).await
}

async fn skip(
    s: State<AppState>,
    p: PathParams,
    q: QueryParams,
    c: crate::extract::Caller,
) -> ApiResult<Json<StepInstanceActionResponse>> {
    step_action(s, p, q, c, StepAction::Skip).await
}

/// STOP, KILL or SKIP of a step in the latest run of the instance.
async fn step_action(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
    caller: crate::extract::Caller,
    action: StepAction,
) -> ApiResult<Json<StepInstanceActionResponse>> {
    let wid = p.str("wid");
    let iid = p.id("iid")?;
    let sid = p.str("sid");
    let blocking = q.bool("blocking", true)?;
    let reason = q.get("reason").map(str::to_string);
    let user = caller.0;
    let name = action.as_model().as_str();
    let outcome = s
        .engine
        .act_on_step(
            wid,
            iid,
            sid,
            action,
            user.clone(),
            reason.clone(),
            blocking,
        )
        .await?;
    let attempt = outcome.attempt.as_ref();
    Ok(Json(StepInstanceActionResponse {
        workflow_id: wid.to_string(),
        workflow_instance_id: iid,
        workflow_run_id: outcome.run.run_id,
        step_id: sid.to_string(),
        step_attempt_id: attempt.map(|a| a.step_attempt_id),
        step_runtime_state: outcome
            .completed
            .then(|| attempt.map(|a| a.runtime_state.clone()))
            .flatten(),
        timeline_event: baton_model::instance::TimelineEvent::Action(
            baton_model::instance::ActionEvent {
                timestamp: baton_engine::clock::now_millis(),
                action: Some(name.to_string()),
                author: Some(user),
                message: Some(format!(
                    "Step [{sid}] action [{name}] is {}",
                    if outcome.completed {
                        "done"
                    } else {
                        "accepted"
                    }
                )),
                reason,
                info: None,
            },
        ),
    }))
}
