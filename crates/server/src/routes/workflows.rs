//! Workflow definitions (maestro-api.md §1.7): push (JSON and YAML DSL), read versions, page
//! through them, properties and tags, overview, timeline, validation and deletion; plus Baton's
//! `GET /api/v3/workflows` listing.

use axum::Json;
use axum::http::Method;
use baton_model::definition::{Tag, WorkflowCreateRequest};
use baton_model::instance::{ActionEvent, TimelineEvent};
use serde_json::{Value, json};

use super::Route;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, DslBody, JsonBody, PathParams, QueryParams};
use crate::pagination::{Direction, Page, PageRequest};
use axum::extract::State;
use baton_engine::workflow_properties::PropertiesUpdateRequest;

const TAG: &str = "workflows";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/v3/workflows", TAG, list)
            .summary("List workflows in id order (Baton extension)")
            .query("limit", "integer", "page size, 1..=200 (default 100)")
            .query(
                "cursor",
                "string",
                "the last workflow id of the previous page",
            ),
        Route::new(Method::POST, "/api/v3/workflows", TAG, create)
            .summary("Create or update a workflow definition")
            .user()
            .json_body("WorkflowCreateRequest")
            .returns(200, "WorkflowCreateResponse {workflow_definition}"),
        Route::new(Method::POST, "/api/v3/workflows/yaml", TAG, create_yaml)
            .summary("Create or update a workflow definition written in Maestro's YAML DSL")
            .user()
            .yaml_body("a DSL document with a top-level Workflow key")
            .returns(200, "WorkflowCreateResponse {workflow_definition}"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/actions/validate",
            TAG,
            validate,
        )
        .summary("Validate a workflow definition without storing it")
        .user()
        .json_body("WorkflowCreateRequest")
        .returns(200, "TimelineEvent (ACTION VALIDATE)"),
        Route::new(
            Method::PUT,
            "/api/v3/workflows/actions/validate/yaml",
            TAG,
            validate_yaml,
        )
        .summary("Validate a YAML DSL workflow definition without storing it")
        .user()
        .yaml_body("a DSL document with a top-level Workflow key")
        .returns(200, "TimelineEvent (ACTION VALIDATE)"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/versions/{version}",
            TAG,
            get_version,
        )
        .summary("Get a workflow version (active, latest, default or a number)")
        .query(
            "enriched",
            "boolean",
            "add merged param schemas and trigger times (not supported yet: 501 when true)",
        )
        .returns(200, "WorkflowDefinition"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/versions/pagination",
            TAG,
            versions_page,
        )
        .summary("Page through the versions of a workflow, newest first")
        .query(
            "first",
            "integer",
            "page size walking towards older versions (1..=200)",
        )
        .query(
            "last",
            "integer",
            "page size walking towards newer versions (1..=200)",
        )
        .query("cursor", "string", "a version id")
        .returns(200, "PaginationResult<WorkflowDefinition>"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/properties-snapshot/{snapshot}",
            TAG,
            properties_snapshot,
        )
        .summary("Get the properties snapshot (only `latest` is supported)")
        .returns(200, "PropertiesSnapshot"),
        Route::new(
            Method::POST,
            "/api/v3/workflows/{wid}/properties",
            TAG,
            update_properties,
        )
        .summary("Update workflow properties")
        .user()
        .json_body("WorkflowPropertiesUpdateRequest (flat properties plus reset_* flags)")
        .returns(200, "PropertiesSnapshot"),
        Route::new(
            Method::POST,
            "/api/v3/workflows/{wid}/properties/tag",
            TAG,
            add_tag,
        )
        .summary("Add a tag to the workflow properties")
        .user()
        .json_body("Tag")
        .returns(200, "PropertiesSnapshot"),
        Route::new(
            Method::DELETE,
            "/api/v3/workflows/{wid}/properties/tag/{tag}",
            TAG,
            delete_tag,
        )
        .summary("Remove a tag from the workflow properties")
        .user()
        .returns(200, "PropertiesSnapshot"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/overview",
            TAG,
            overview,
        )
        .summary("Version ids, properties and instance counts of a workflow")
        .returns(200, "WorkflowOverviewResponse"),
        Route::new(
            Method::GET,
            "/api/v3/workflows/{wid}/timeline",
            TAG,
            timeline,
        )
        .summary("Changes of a workflow, newest first (at most 300)")
        .returns(200, "WorkflowTimeline"),
        Route::new(Method::DELETE, "/api/v3/workflows/{wid}", TAG, delete)
            .summary("Delete a workflow with its versions, instances and step attempts")
            .user()
            .returns(200, "TimelineEvent (LOG)"),
    ]
}

async fn list(State(s): State<AppState>, q: QueryParams) -> ApiResult<Json<Value>> {
    let limit = q.int("limit", 1, 200)?.unwrap_or(100) as usize;
    let cursor = q.get("cursor").filter(|c| !c.is_empty());
    let workflows = s.engine.list_workflows(cursor, limit).await?;
    let next = (workflows.len() == limit)
        .then(|| workflows.last().map(|w| w.workflow_id.clone()))
        .flatten();
    Ok(Json(json!({"workflows": workflows, "next_cursor": next})))
}

async fn push(s: &AppState, req: WorkflowCreateRequest, caller: Caller) -> ApiResult<Json<Value>> {
    let def = s.engine.push_workflow(req, caller.0).await?;
    Ok(Json(json!({ "workflow_definition": def })))
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<WorkflowCreateRequest>,
) -> ApiResult<Json<Value>> {
    push(&s, req, caller).await
}

async fn create_yaml(
    State(s): State<AppState>,
    caller: Caller,
    DslBody(req): DslBody,
) -> ApiResult<Json<Value>> {
    push(&s, req, caller).await
}

async fn check(
    s: &AppState,
    req: WorkflowCreateRequest,
    caller: Caller,
) -> ApiResult<Json<TimelineEvent>> {
    match s.engine.validate_workflow(&req).await {
        Ok(()) => Ok(Json(TimelineEvent::Action(ActionEvent {
            timestamp: baton_engine::clock::now_millis(),
            action: Some("VALIDATE".into()),
            author: Some(caller.0),
            message: Some("the workflow definition is valid.".into()),
            reason: None,
            info: None,
        }))),
        Err(baton_engine::EngineError::Invalid { message, errors }) => {
            let mut e = ApiError::invalid("Invalid workflow create request", &errors);
            if errors.is_empty() {
                e.errors.push(message);
            }
            Err(e)
        }
        Err(e) => Err(e.into()),
    }
}

async fn validate(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<WorkflowCreateRequest>,
) -> ApiResult<Json<TimelineEvent>> {
    check(&s, req, caller).await
}

async fn validate_yaml(
    State(s): State<AppState>,
    caller: Caller,
    DslBody(req): DslBody,
) -> ApiResult<Json<TimelineEvent>> {
    check(&s, req, caller).await
}

async fn get_version(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<baton_model::definition::WorkflowDefinition>> {
    if q.bool("enriched", false)? {
        return Err(ApiError::not_implemented(
            "Enriched workflow definitions (merged param schemas, next trigger times)",
        ));
    }
    Ok(Json(
        s.engine
            .get_workflow_definition(p.str("wid"), p.str("version"))
            .await?,
    ))
}

async fn versions_page(
    State(s): State<AppState>,
    p: PathParams,
    q: QueryParams,
) -> ApiResult<Json<Page<baton_model::definition::WorkflowDefinition>>> {
    let page = PageRequest::from_query(&q)?;
    let wid = p.str("wid");
    let Some(latest) = s.engine.latest_version_id(wid).await? else {
        return Ok(Json(Page::empty(0)));
    };
    let (before, limit) = match page.direction {
        Direction::Next => (page.cursor.unwrap_or(latest + 1), page.limit),
        Direction::Prev => (
            page.cursor
                .unwrap_or(0)
                .saturating_add(page.limit)
                .saturating_add(1),
            page.limit,
        ),
    };
    let versions = s
        .engine
        .list_workflow_versions(wid, Some(before), limit as usize)
        .await?;
    let ids: Vec<i64> = versions
        .iter()
        .filter_map(|v| v.metadata.workflow_version_id)
        .collect();
    Ok(Json(Page::new(versions, ids.into_iter(), 1, latest)))
}

async fn properties_snapshot(
    State(s): State<AppState>,
    p: PathParams,
) -> ApiResult<Json<baton_model::definition::PropertiesSnapshot>> {
    Ok(Json(
        s.engine
            .properties_snapshot(p.str("wid"), p.str("snapshot"))
            .await?,
    ))
}

async fn update_properties(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
    JsonBody(req): JsonBody<PropertiesUpdateRequest>,
) -> ApiResult<Json<baton_model::definition::PropertiesSnapshot>> {
    Ok(Json(
        s.engine
            .update_properties(p.str("wid"), req, caller.0)
            .await?,
    ))
}

async fn add_tag(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
    JsonBody(tag): JsonBody<Tag>,
) -> ApiResult<Json<baton_model::definition::PropertiesSnapshot>> {
    Ok(Json(
        s.engine
            .add_workflow_tag(p.str("wid"), tag, caller.0)
            .await?,
    ))
}

async fn delete_tag(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<baton_model::definition::PropertiesSnapshot>> {
    Ok(Json(
        s.engine
            .delete_workflow_tag(p.str("wid"), p.str("tag"), caller.0)
            .await?,
    ))
}

async fn overview(
    State(s): State<AppState>,
    p: PathParams,
) -> ApiResult<Json<baton_engine::catalog::WorkflowOverview>> {
    Ok(Json(s.engine.workflow_overview(p.str("wid")).await?))
}

async fn timeline(
    State(s): State<AppState>,
    p: PathParams,
) -> ApiResult<Json<baton_engine::catalog::WorkflowTimeline>> {
    Ok(Json(s.engine.workflow_timeline(p.str("wid")).await?))
}

async fn delete(
    State(s): State<AppState>,
    p: PathParams,
    caller: Caller,
) -> ApiResult<Json<TimelineEvent>> {
    let (event, _) = s.engine.delete_workflow(p.str("wid"), caller.0).await?;
    Ok(Json(event))
}
