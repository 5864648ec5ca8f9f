//! The OpenAPI 3 document, written from the route table that also builds the router (see
//! `routes`): a hand-built document rather than derive macros, because the request and response
//! types live in `baton-model`, which knows nothing of HTTP; what the document says about bodies
//! is a description and the media type, and every path, method, capture, query parameter,
//! `user` requirement and status is exactly what the router serves.

use serde_json::{Map, Value, json};

use crate::routes::Route;

/// The document for `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in routes {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.as_str().to_ascii_lowercase(), operation(route));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Baton API",
            "description": "Netflix Maestro's REST API (/api/v3) served by Baton. Errors use Maestro's body {status, message, errors}. Endpoints marked not implemented answer 501 until Baton has the capability.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {
                        "status": {"type": "string", "description": "Maestro's code name, e.g. BAD_REQUEST, NOT_FOUND, CONFLICT"},
                        "message": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "string"}, "description": "one line per problem, `field.path: message`"}
                    }
                }
            }
        }
    })
}

fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path_params()
        .into_iter()
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    for q in &route.query {
        parameters.push(json!({
            "name": q.name, "in": "query", "required": false,
            "description": q.description, "schema": {"type": q.kind}
        }));
    }
    if route.needs_user {
        parameters.push(json!({
            "name": "user", "in": "header", "required": true,
            "description": "the caller (Maestro has no other authentication)",
            "schema": {"type": "string"}
        }));
    }
    let error = json!({"description": "Maestro error body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut responses = Map::new();
    if route.not_implemented {
        responses.insert(
            "501".into(),
            json!({"description": "not implemented in Baton yet", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    } else {
        let (status, description) = route.success;
        responses.insert(
            status.to_string(),
            json!({"description": description, "content": {route.produces: {"schema": {"type": if route.produces == "application/json" {"object"} else {"string"}}}}}),
        );
        for code in ["400", "404"] {
            responses.insert(code.into(), error.clone());
        }
    }
    let method = route.method.as_str().to_ascii_lowercase();
    let mut op = json!({
        "operationId": format!("{method}{}", route.path.replace(['/', '{', '}', '-', '.'], "_")),
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": parameters,
        "responses": responses,
    });
    if route.not_implemented {
        op["description"] = json!(
            "Not implemented in Baton yet: answers 501 with a Maestro error body naming the capability."
        );
    }
    if let Some(body) = &route.body {
        op["requestBody"] = json!({
            "required": true,
            "description": body.description,
            "content": {body.media_type: {"schema": {"type": if body.media_type == "application/json" {"object"} else {"string"}}}}
        });
    }
    op
}
