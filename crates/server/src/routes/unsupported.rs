//! Maestro endpoints whose capability Baton does not have yet. Each answers 501 with a Maestro
//! error body naming the capability — never a fake success — and appears in the OpenAPI
//! document marked as not implemented. A later issue that brings a capability moves its paths
//! from here into a module of its own.

use axum::http::Method;

use super::Route;
use crate::error::ApiError;

/// A route that answers 501 naming `capability`.
pub fn stub(
    method: Method,
    path: &'static str,
    tag: &'static str,
    capability: &'static str,
) -> Route {
    Route::new(method, path, tag, move || async move {
        ApiError::not_implemented(capability)
    })
    .unimplemented()
}

pub fn routes() -> Vec<Route> {
    const JOB_TEMPLATES: &str = "Job templates";
    const FLOW: &str = "The internal flow-engine RPC (cluster mode)";
    const FLATTEN: &str = "The foreach flattening views";
    vec![
        stub(Method::POST, "/api/v3/job-templates", "job templates", JOB_TEMPLATES)
            .summary("Create or update a job template")
            .user()
            .json_body("JobTemplateCreateRequest"),
        stub(Method::POST, "/api/v3/job-templates/yaml", "job templates", JOB_TEMPLATES)
            .summary("Create or update a job template written in YAML")
            .user()
            .yaml_body("JobTemplateCreateRequest as YAML"),
        stub(Method::GET, "/api/v3/job-templates/{type}", "job templates", JOB_TEMPLATES)
            .summary("Get a job template")
            .query("version", "string", "template version (default `default`)"),
        stub(Method::DELETE, "/api/v3/job-templates/{type}", "job templates", JOB_TEMPLATES)
            .summary("Delete job template versions")
            .query("version", "string", "template version (all when absent)"),
        stub(Method::GET, "/api/v3/job-templates", "job templates", JOB_TEMPLATES)
            .summary("List job templates")
            .query("version", "string", "template version (default `default`)"),
        stub(Method::PUT, "/api/v3/output-data", "output data", "Writing step output data from outside")
            .summary("Write step output data (hidden in Maestro)")
            .json_body("StepOutputDataRequest"),
        stub(Method::POST, "/api/v3/groups/{group}/flows/{flow}/start", "flow engine", FLOW)
            .summary("Start a flow on its owner node"),
        stub(Method::POST, "/api/v3/groups/{group}/flows/{flow}/tasks/{task}/notify/{code}", "flow engine", FLOW)
            .summary("Wake a flow task"),
        stub(Method::POST, "/api/v3/groups/{group}/flows/notify/{code}", "flow engine", FLOW)
            .summary("Wake flows"),
        stub(Method::POST, "/api/v3/groups/{group}/flows/{flow}/tasks/{task}/message/{code}", "flow engine", FLOW)
            .summary("Send a message to a flow task"),
        stub(Method::POST, "/api/v3/groups/workflows/{wid}/instances/{iid}/runs/{rid}/groups/{info}/steps/{sid}/message/{code}", "flow engine", FLOW)
            .summary("Send a message to a step's flow task"),
        stub(Method::GET, "/api/v3/views/flatten/workflows/{wid}/instances/{iid}/runs/{rid}/steps/{sid}", "views", FLATTEN)
            .summary("Page through the flattened iterations of a foreach step"),
        stub(Method::GET, "/api/v3/views/flatten/workflows/{wid}/instances/{iid}/runs/{rid}/steps/{sid}/iterations/{iteration}", "views", FLATTEN)
            .summary("One flattened foreach iteration"),
        stub(Method::GET, "/api/v3/views/flatten/workflows/{wid}/instances/{iid}/runs/{rid}/steps/{sid}/summary", "views", FLATTEN)
            .summary("Summary of a foreach step's iterations"),
    ]
}
