//! Reading requests the way Maestro does, with every failure turned into an [`ApiError`] that
//! names the problem: the `user` header (§1.2), JSON and YAML bodies (size, media type, syntax,
//! each bad field by path), path ids and query parameters (booleans case-insensitive, as the
//! Python SDK's `enriched=False` needs).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use baton_model::definition::{User, WorkflowCreateRequest};
use baton_model::{FieldError, JsonPath};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The caller named by the `user` header; a request without one is refused with Maestro's
/// message.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("user") else {
            return Err(ApiError::bad_request("the user name cannot be null"));
        };
        let name = value
            .to_str()
            .map_err(|_| ApiError::bad_request("the user header must be visible ASCII text"))?
            .trim();
        if name.is_empty() {
            return Err(ApiError::bad_request("the user name cannot be empty"));
        }
        Ok(Caller(User::new(name)))
    }
}

/// A JSON body read into `T`; unknown fields, wrong types and missing fields are reported with
/// their paths.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        check_media_type(&req, &["application/json"], "application/json")?;
        let bytes = read_body(req, state.max_body_bytes).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("JSON parse error: {e}")))?;
        from_json_value(value).map(JsonBody)
    }
}

/// Deserializes a JSON value, reporting every field error found.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    baton_model::load::from_value::<T>(value)
        .map_err(|errors| ApiError::invalid("JSON parse error: invalid request body", &errors))
}

/// A workflow definition in Maestro's YAML DSL (the `/yaml` endpoints), converted to a create
/// request.
pub struct DslBody(pub WorkflowCreateRequest);

impl FromRequest<AppState> for DslBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        check_media_type(
            &req,
            &[
                "application/yaml",
                "application/x-yaml",
                "text/yaml",
                "text/x-yaml",
            ],
            "application/yaml",
        )?;
        let bytes = read_body(req, state.max_body_bytes).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the YAML body is not UTF-8: {e}")))?;
        let value = baton_model::load::read_value(text, baton_model::load::Format::Yaml)
            .map_err(|e| ApiError::bad_request(format!("YAML parse error: {e}")))?;
        if !baton_model::dsl::is_dsl(&value) {
            return Err(ApiError::invalid(
                "Invalid workflow DSL",
                &[FieldError::new(
                    JsonPath::root(),
                    "a DSL document needs a top-level `Workflow` (or `workflow`) key",
                )],
            ));
        }
        baton_model::dsl::convert(&value, &baton_model::dsl::unresolved_as_template)
            .map(DslBody)
            .map_err(|errors| ApiError::invalid("Invalid workflow DSL", &errors))
    }
}

/// Refuses a body whose `Content-Type` is none of `accepted` (`+json` suffixes count as JSON).
/// A missing content type is accepted: curl without `-H` and scripts rarely set one for YAML.
fn check_media_type(req: &Request, accepted: &[&str], wanted: &str) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = accepted.contains(&essence.as_str())
        || (wanted == "application/json" && essence.ends_with("+json"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type [{text}] is not supported here; send {wanted}"),
        ))
    }
}

/// Reads the whole body, refusing more than `limit` bytes (413) and an empty body (400).
/// The largest oversized body read to its end before the 413 answer (see `read_body`).
const DRAIN_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    if let Some(len) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        // Read (and drop) a moderately oversized body before answering: most HTTP/1.1 clients
        // only read the response once they have sent the whole body, and would see a broken
        // pipe instead of the 413. A body past the drain bound is refused unread.
        if len <= DRAIN_LIMIT_BYTES {
            let _ = axum::body::to_bytes(req.into_body(), DRAIN_LIMIT_BYTES as usize).await;
        }
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            let text = format!("{e:#}");
            if text.contains("length limit") {
                too_large()
            } else {
                ApiError::bad_request(format!("cannot read the request body: {text}"))
            }
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Required request body is missing"));
    }
    Ok(bytes)
}

/// Query parameters, read leniently (unknown names are ignored, as in Maestro) but with typed
/// accessors that name the parameter when its value is bad.
pub struct QueryParams(HashMap<String, String>);

impl FromRequestParts<AppState> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query)?;
        Ok(QueryParams(pairs.into_iter().collect()))
    }
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("malformed percent-encoding in query [{s}]"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request(format!("query parameter [{s}] is not UTF-8")))
}

impl QueryParams {
    /// The raw value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean (`true`/`false` in any case), `default` when absent.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_request(format!(
                "query parameter [{name}] must be true or false, got [{v}]"
            ))),
        }
    }

    /// An integer within `min..=max`, `None` when absent (an empty value counts as absent).
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => {
                let n: i64 = v.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "query parameter [{name}] must be a number, got [{v}]"
                    ))
                })?;
                if n < min || n > max {
                    return Err(ApiError::invalid(
                        "Invalid query parameter",
                        &[FieldError::new(
                            JsonPath::root().key(name),
                            format!("must be between {min} and {max}, got {n}"),
                        )],
                    ));
                }
                Ok(Some(n))
            }
        }
    }
}

/// A path segment that must be a positive id (instance id, run id, attempt id).
pub fn path_id(name: &str, value: &str) -> Result<i64, ApiError> {
    match value.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(n) => Err(ApiError::bad_request(format!(
            "path variable [{name}] must be a positive number, got [{n}]"
        ))),
        Err(_) => Err(ApiError::bad_request(format!(
            "path variable [{name}] must be a number, got [{value}]"
        ))),
    }
}

/// A run or attempt selector: `latest` (`None`) or a positive number.
pub fn path_id_or_latest(name: &str, value: &str) -> Result<Option<i64>, ApiError> {
    if value.eq_ignore_ascii_case("latest") {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => Err(ApiError::bad_request(format!(
            "path variable [{name}] must be [latest] or a positive number, got [{value}]"
        ))),
    }
}

/// The path's named segments (percent-decoded).
pub struct PathParams(HashMap<String, String>);

impl FromRequestParts<AppState> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path(map) =
            axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request(format!("invalid path: {}", e.body_text())))?;
        Ok(PathParams(map))
    }
}

impl PathParams {
    /// A segment the route declares (empty when absent, which a route table test rules out).
    pub fn str(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// A segment that must be a positive id.
    pub fn id(&self, name: &str) -> Result<i64, ApiError> {
        path_id(name, self.str(name))
    }

    /// A segment that is `latest` or a positive id.
    pub fn id_or_latest(&self, name: &str) -> Result<Option<i64>, ApiError> {
        path_id_or_latest(name, self.str(name))
    }
}
