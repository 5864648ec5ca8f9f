//! Baton's cluster view (not a Maestro endpoint): which node this is, which ownership groups it
//! holds, and every group's owner as the shared store sees it. Outside a cluster the node holds
//! nothing explicitly (it owns every group) and `groups` is empty.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde_json::{Value, json};

use super::Route;
use crate::AppState;
use crate::error::ApiResult;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/v3/cluster", "cluster", cluster)
            .summary("Cluster mode: this node, the groups it holds, and every group's owner")
            .returns(200, "{node, groups}"),
    ]
}

async fn cluster(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let status = s.engine.cluster_status();
    let groups = if status.clustered {
        s.engine.cluster_groups().await?
    } else {
        Vec::new()
    };
    Ok(Json(json!({"node": status, "groups": groups})))
}
