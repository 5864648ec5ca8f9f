//! Workflow instances (maestro-api.md §1.9): reads of runs (one, the latest with the view across
//! runs, pages of instances and of runs), stop/kill and unblock. Restart is in `restarts`; the
//! inline-workflow helpers answer 501 until those capabilities exist.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use baton_engine::RunAction;
use baton_engine::views::InstanceViewOptions;
use baton_model::instance::{TimelineEvent, WorkflowInstance, WorkflowInstanceStatus};
use serde::Serialize;
use serde_json::{Value, json};

use super::Route;
use super::unsupported::stub;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Caller, PathParams, QueryParams};
use crate::pagination::{Page, PageRequest};

const TAG: &str = "workflow instances";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::GET,
            "/api/v3/workflows/instances/action-map",
            TAG,
            action_map,
        )
        .summary("Which actions each workflow instance status allows")
        .returns(200, "map status -> [action]"),
        Route::new(Method::GET, "/api/v3/workflows/{wid}/instances", TAG, list)
            .summary("Page through the instances of a workflow (latest run of each), newest first")
            .query(
                "first",
                "integer",
                "page size walking towards older instances (1..=200)",
            )
            .query(
                "last",
                "integer",
                "page size walking towards newer instances (1..=200)",
            )
            .query("cursor", "string", "an instance id")
            .query(
                "aggregated",
                "boolean",
                "fill aggregated_info (default true)",
            )
            .returns(200, "PaginationResult<WorkflowInstance>"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/instances/{iid}",
            TAG,
            get_instance,
        )
        .summary("The latest run of an instance with its view across runs")
        .query(
            "enriched",
            "boolean",
            "add status events to the timeline (default true)",
        )
        .returns(200, "WorkflowInstance"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/instances/{iid}/runs",
            TAG,
            list_runs,
        )
        .summary("Page through the runs of an instance, newest first")
        .query(
            "first",
            "integer",
            "page size walking towards older runs (1..=200)",
        )
        .query(
            "last",
            "integer",
            "page size walking towards newer runs (1..=200)",
        )
        .query("cursor", "string", "a run id")
        .returns(200, "PaginationResult<WorkflowInstance>"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}",
            TAG,
            get_run,
        )
        .summary("One run of an instance (a number or latest)")
        .query(
            "enriched",
            "boolean",
            "add status events to the timeline (default true)",
        )
        .query(
            "aggregated",
            "boolean",
            "fill aggregated_info (default false)",
        )
        .returns(200, "WorkflowInstance"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/instances/{iid}/actions/stop",
            TAG,
            stop,
        )
        .summary("Stop the latest run of an instance")
        .user()
        .returns(200, "WorkflowInstanceActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/instances/{iid}/actions/kill",
            TAG,
            kill,
        )
        .summary("Kill the latest run of an instance")
        .user()
        .returns(200, "WorkflowInstanceActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}/actions/stop",
            TAG,
            stop_run,
        )
        .summary("Stop a run (must be the latest)")
        .user()
        .returns(200, "WorkflowInstanceActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}/actions/kill",
            TAG,
            kill_run,
        )
        .summary("Kill a run (must be the latest)")
        .user()
        .returns(200, "WorkflowInstanceActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/instances/{iid}/actions/unblock",
            TAG,
            unblock,
        )
        .summary("Unblock the failed latest run of an instance (STRICT_SEQUENTIAL)")
        .user()
        .returns(200, "WorkflowInstanceActionResponse"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/{wid}/instances/{iid}/runs/{rid}/actions/unblock",
            TAG,
            unblock_run,
        )
        .summary("Unblock a failed run (must be the latest) of a STRICT_SEQUENTIAL workflow")
        .user()
        .returns(200, "WorkflowInstanceActionResponse"),
        stub(
            Method::GET,
            "/api/v3/workflows/instances/inline-workflow-id",
            TAG,
            "Inline (foreach) workflow ids",
        )
        .summary("The inline workflow id of a foreach node path (hidden in Maestro)"),
        stub(
            Method::GET,
            "/api/v3/workflows/{wid}/instances/{iid}/inline-path",
            TAG,
            "Inline (foreach) workflow paths",
        )
        .summary("The node path of a foreach inline instance (hidden in Maestro)"),
    ]
}

async fn action_map() -> Json<Value> {
    let map: serde_json::Map<String, Value> = baton_model::instance::workflow_instance_action_map()
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

async fn list(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<Page<WorkflowInstance>>> {
    let page = PageRequest::from_query(&q)?;
    let aggregated = q.bool("aggregated", true)?;
    let wid = p.str("wid");
    let Some((earliest, latest)) = s.engine.instance_id_range(wid).await? else {
        return Ok(Json(Page::empty(0)));
    };
    let (low, high) = page.range(earliest, latest);
    let options = InstanceViewOptions {
        enriched: false,
        aggregated,
    };
    let instances = s.engine.instances_in_range(wid, low, high, options).await?;
    let ids: Vec<i64> = instances.iter().map(|i| i.workflow_instance_id).collect();
    Ok(Json(Page::new(
        instances,
        ids.into_iter(),
        earliest,
        latest,
    )))
}

async fn get_instance(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<WorkflowInstance>> {
    let options = InstanceViewOptions {
        enriched: q.bool("enriched", true)?,
        aggregated: true,
    };
    Ok(Json(
        s.engine
            .instance_view(p.str("wid"), p.id("iid")?, None, options)
            .await?,
    ))
}

async fn list_runs(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<Page<WorkflowInstance>>> {
    let page = PageRequest::from_query(&q)?;
    let options = InstanceViewOptions {
        enriched: false,
        aggregated: false,
    };
    let runs = s
        .engine
        .instance_runs(p.str("wid"), p.id("iid")?, options)
        .await?;
    let (Some(earliest), Some(latest)) = (
        runs.first().map(|r| r.workflow_run_id),
        runs.last().map(|r| r.workflow_run_id),
    ) else {
        return Ok(Json(Page::empty(0)));
    };
    let (low, high) = page.range(earliest, latest);
    let mut selected: Vec<WorkflowInstance> = runs
        .into_iter()
        .filter(|r| r.workflow_run_id >= low && r.workflow_run_id <= high)
        .collect();
    selected.reverse();
    let ids: Vec<i64> = selected.iter().map(|r| r.workflow_run_id).collect();
    Ok(Json(Page::new(selected, ids.into_iter(), earliest, latest)))
}

async fn get_run(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<WorkflowInstance>> {
    let options = InstanceViewOptions {
        enriched: q.bool("enriched", true)?,
        aggregated: q.bool("aggregated", false)?,
    };
    Ok(Json(
        s.engine
            .instance_view(p.str("wid"), p.id("iid")?, p.id_or_latest("rid")?, options)
            .await?,
    ))
}

/// Maestro's `WorkflowInstanceActionResponse`.
#[derive(Serialize)]
struct WorkflowInstanceActionResponse {
    workflow_id: String,
    workflow_instance_id: i64,
    workflow_run_id: i64,
    workflow_instance_status: WorkflowInstanceStatus,
    info: &'static str,
    timeline_event: TimelineEvent,
    completed: bool,
}

async fn terminate(
    s: &AppState,
    p: &PathParams,
    run: Option<i64>,
    caller: Caller,
    action: RunAction,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    let out = s
        .engine
        .terminate_instance(p.str("wid"), p.id("iid")?, run, action, caller.0)
        .await?;
    let wi = &out.instance;
    Ok(Json(WorkflowInstanceActionResponse {
        workflow_id: wi.workflow_id.clone(),
        workflow_instance_id: wi.workflow_instance_id,
        workflow_run_id: wi.workflow_run_id,
        workflow_instance_status: if out.completed {
            baton_engine::instance_actions::action_status(action)
        } else {
            wi.status
        },
        info: if out.completed {
            "The action is completed."
        } else {
            "The action is accepted and is still running. Please check it again."
        },
        timeline_event: out.event,
        completed: out.completed,
    }))
}

async fn stop(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    terminate(&s, &p, None, caller, RunAction::Stop).await
}

async fn kill(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    terminate(&s, &p, None, caller, RunAction::Kill).await
}

async fn stop_run(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    let run = Some(p.id("rid")?);
    terminate(&s, &p, run, caller, RunAction::Stop).await
}

async fn kill_run(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    let run = Some(p.id("rid")?);
    terminate(&s, &p, run, caller, RunAction::Kill).await
}

/// STRICT_SEQUENTIAL unblock of the latest run of an instance (its raw status becomes
/// `FAILED_1`, so later runs may leave the queue).
async fn unblock_latest(
    s: &AppState,
    p: &PathParams,
    run: Option<i64>,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    let wid = p.str("wid");
    let iid = p.id("iid")?;
    let latest = s.engine.get_instance_run(wid, iid, None).await?;
    if let Some(rid) = run
        && rid != latest.workflow_run_id
    {
        return Err(crate::error::ApiError::bad_request(format!(
            "Cannot unblock run [{rid}] of workflow instance [{wid}][{iid}]: only its latest run [{}] can be unblocked",
            latest.workflow_run_id
        )));
    }
    s.engine.unblock_instance(wid, iid, Some(&caller.0)).await?;
    Ok(Json(WorkflowInstanceActionResponse {
        workflow_id: wid.to_string(),
        workflow_instance_id: iid,
        workflow_run_id: latest.workflow_run_id,
        workflow_instance_status: WorkflowInstanceStatus::Failed,
        info: "The action is completed.",
        timeline_event: TimelineEvent::info(
            baton_engine::clock::now_millis(),
            format!(
                "User [{}] unblocked the failed workflow instance run",
                caller.0.name
            ),
        ),
        completed: true,
    }))
}

async fn unblock(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    unblock_latest(&s, &p, None, caller).await
}

async fn unblock_run(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<WorkflowInstanceActionResponse>> {
    let rid = p.id("rid")?;
    unblock_latest(&s, &p, Some(rid), caller).await
}
