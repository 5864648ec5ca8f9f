//! Cluster mode: any node answers any request. Reads come from the shared store; a request the
//! engine must serve on the owner of a run's group (a start, a run action, an unblock) fails in
//! the engine with `EngineError::NotOwner`, and this middleware sends the request — method,
//! path, query, headers and body as received — to the owner's advertised address and answers
//! with the owner's response.
//!
//! While a group has no live owner (a takeover is under way) the request waits for one, up to
//! [`WAIT_FOR_OWNER`], then is forwarded to whoever claimed it — possibly this node, which then
//! serves it (a forwarded request is never forwarded again by the node it reaches, so a request
//! travels at most [`MAX_HOPS`] times). Requests that fail for any other reason are answered as
//! they are. Outside a cluster the middleware passes everything through untouched.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// Marks a response whose request belongs to another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOwner {
    pub group: i64,
    /// The live owner's address, if the group has one.
    pub owner: Option<String>,
}

/// How many times a request was forwarded.
pub const HOPS_HEADER: &str = "x-baton-forwarded";

/// A request is forwarded at most this many times.
const MAX_HOPS: u32 = 3;

/// How long a request waits for a group without a live owner to get one.
const WAIT_FOR_OWNER: Duration = Duration::from_secs(15);

/// The middleware (see the module docs).
pub async fn forward(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.engine.is_clustered()
        || matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        )
    {
        return next.run(request).await;
    }
    let hops: u32 = request
        .headers()
        .get(HOPS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.max_body_bytes) {
        // The handler answers 413 as it always does.
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than {} bytes",
                    state.max_body_bytes
                ),
            )
            .into_response();
        }
    };
    let local = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
    let response = next.run(local).await;
    let Some(not_owner) = response.extensions().get::<NotOwner>().cloned() else {
        return response;
    };
    if hops >= MAX_HOPS {
        return response;
    }
    let owner = match not_owner.owner {
        Some(owner) => owner,
        None => match wait_for_owner(&state, not_owner.group).await {
            Some(owner) => owner,
            None => return response,
        },
    };
    match send(&state, &owner, &parts, bytes, hops + 1).await {
        Ok(forwarded) => forwarded,
        Err(message) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "cannot forward the request to the owner of group [{}] at {owner}: {message}",
                not_owner.group
            ),
        )
        .into_response(),
    }
}

/// The address of the group's live owner once there is one (this node's own included).
async fn wait_for_owner(state: &AppState, group: i64) -> Option<String> {
    let deadline = Instant::now() + WAIT_FOR_OWNER;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(groups) = state.engine.cluster_groups().await
            && let Some(owner) = groups
                .into_iter()
                .find(|g| g.group_id == group && g.owner_live)
                .and_then(|g| g.owner_address)
        {
            return Some(owner);
        }
    }
    None
}

/// Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1), nor is the length (recomputed).
fn forwardable(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "host"
            | "content-length"
    ) && name.as_str() != HOPS_HEADER
}

async fn send(
    state: &AppState,
    owner: &str,
    parts: &axum::http::request::Parts,
    body: Bytes,
    hops: u32,
) -> Result<Response, String> {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{path}", owner.trim_end_matches('/'));
    let method =
        reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut request = state.http.request(method, &url).body(body);
    for (name, value) in &parts.headers {
        if forwardable(name) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    request = request.header(HOPS_HEADER, hops.to_string());
    let answer = request.send().await.map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(answer.status().as_u16()).map_err(|e| e.to_string())?;
    let mut builder = Response::builder().status(status);
    for (name, value) in answer.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) && forwardable(&name)
        {
            builder = builder.header(name, value);
        }
    }
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    builder.body(Body::from(bytes)).map_err(|e| e.to_string())
}
