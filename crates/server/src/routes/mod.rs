//! The route table: every endpoint is one [`Route`] — method, path, handler and the facts the
//! OpenAPI document is written from — so a route cannot exist without its documentation.
//!
//! Each module owns one area and exposes `routes()`. To add an area (a later issue's signals,
//! tag permits, breakpoints, restarts), write a module with its `routes()`, add it to [`all`],
//! and drop the paths it implements from [`unsupported`], whose 501 answers stand in for them
//! until then. Literal segments (`/workflows/yaml`, `/versions/pagination`, …) win over
//! `{wid}`-style captures, as in Maestro; a position shared by several routes must use the same
//! capture name (`{wid}`, `{iid}`, `{rid}`, `{sid}`, `{attempt}`).

pub mod actions;
pub mod breakpoints;
pub mod cluster;
pub mod health;
pub mod instances;
pub mod restarts;
pub mod signals;
pub mod steps;
pub mod tag_permits;
pub mod unsupported;
pub mod workflows;

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};

use crate::AppState;

/// A query parameter of a route.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    /// OpenAPI type: `boolean`, `integer` or `string`.
    pub kind: &'static str,
    pub description: &'static str,
}

/// The request body of a route.
#[derive(Debug, Clone, Copy)]
pub struct BodySpec {
    pub media_type: &'static str,
    pub description: &'static str,
}

/// One endpoint.
pub struct Route {
    pub method: Method,
    /// Path with `{name}` captures.
    pub path: &'static str,
    pub summary: &'static str,
    /// The OpenAPI tag (the area).
    pub tag: &'static str,
    /// Needs the `user` header.
    pub needs_user: bool,
    pub query: Vec<QueryParam>,
    pub body: Option<BodySpec>,
    /// Success status and what it returns.
    pub success: (u16, &'static str),
    /// Media type of the success body.
    pub produces: &'static str,
    /// True for a Maestro endpoint that answers 501 until its capability exists.
    pub not_implemented: bool,
    pub handler: MethodRouter<AppState>,
}

impl Route {
    /// A route with a JSON 200 answer and nothing else declared.
    pub fn new<H, T>(method: Method, path: &'static str, tag: &'static str, handler: H) -> Route
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        Route {
            method,
            path,
            summary: "",
            tag,
            needs_user: false,
            query: Vec::new(),
            body: None,
            success: (200, "OK"),
            produces: "application/json",
            not_implemented: false,
            handler: axum::routing::on(filter, handler),
        }
    }

    pub fn summary(mut self, s: &'static str) -> Self {
        self.summary = s;
        self
    }

    pub fn user(mut self) -> Self {
        self.needs_user = true;
        self
    }

    pub fn query(
        mut self,
        name: &'static str,
        kind: &'static str,
        description: &'static str,
    ) -> Self {
        self.query.push(QueryParam {
            name,
            kind,
            description,
        });
        self
    }

    pub fn json_body(mut self, description: &'static str) -> Self {
        self.body = Some(BodySpec {
            media_type: "application/json",
            description,
        });
        self
    }

    pub fn yaml_body(mut self, description: &'static str) -> Self {
        self.body = Some(BodySpec {
            media_type: "application/yaml",
            description,
        });
        self
    }

    pub fn returns(mut self, status: u16, description: &'static str) -> Self {
        self.success = (status, description);
        self
    }

    pub fn produces(mut self, media_type: &'static str) -> Self {
        self.produces = media_type;
        self
    }

    pub fn unimplemented(mut self) -> Self {
        self.not_implemented = true;
        self
    }

    /// The `{name}` captures of the path, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// Every route of the server.
pub fn all() -> Vec<Route> {
    let mut routes = Vec::new();
    routes.extend(health::routes());
    routes.extend(cluster::routes());
    routes.extend(workflows::routes());
    routes.extend(actions::routes());
    routes.extend(instances::routes());
    routes.extend(steps::routes());
    routes.extend(restarts::routes());
    routes.extend(breakpoints::routes());
    routes.extend(signals::routes());
    routes.extend(tag_permits::routes());
    routes.extend(unsupported::routes());
    routes
}

/// The router for a route table: routes sharing a path share one method router.
pub fn router(routes: Vec<Route>) -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for route in routes {
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(route.handler),
            None => route.handler,
        };
        by_path.insert(route.path, merged);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
}
