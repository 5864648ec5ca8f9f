//! The OpenAPI document and the router come from one route table: every route is served (not
//! the 404/405 fallbacks), every route is in the document with its method, captures, query
//! parameters and `user` header, 501 routes say so, and health endpoints answer.

mod common;

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_served_and_documented() {
    let s = TestServer::start().await;
    let doc = s.get("/api/v3/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.0.3");
    let paths = doc.body["paths"].as_object().unwrap();
    let table = baton_server::routes::all();
    let mut operations = 0;
    for route in &table {
        let method = route.method.as_str().to_ascii_lowercase();
        let op = &paths
            .get(route.path)
            .unwrap_or_else(|| panic!("{} missing from the document", route.path))[&method];
        assert!(op.is_object(), "{} {} missing", method, route.path);
        operations += 1;
        let params: Vec<(&str, &str)> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["in"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        for name in route.path_params() {
            assert!(
                params.contains(&("path", name)),
                "{} lacks path param {name}",
                route.path
            );
        }
        for q in &route.query {
            assert!(
                params.contains(&("query", q.name)),
                "{} lacks query {}",
                route.path,
                q.name
            );
        }
        assert_eq!(
            params.contains(&("header", "user")),
            route.needs_user,
            "{}",
            route.path
        );
        assert_eq!(
            op["responses"].get("501").is_some(),
            route.not_implemented,
            "{}",
            route.path
        );

        // The router serves it: fill the captures and call it. Whatever the handler answers,
        // it must not be the router's "no endpoint" or "method not allowed" fallback.
        let concrete: String = route
            .path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let r = s
            .raw(route.method.as_str(), &concrete, Some("tester"), None)
            .await;
        let message = r.body["message"].as_str().unwrap_or("");
        assert!(
            !message.starts_with("No endpoint") && r.status != 405,
            "{} {concrete} fell through: {} {:?}",
            route.method,
            r.status,
            r.body
        );
        if route.not_implemented {
            assert_eq!(r.status, 501, "{concrete}");
            assert_eq!(r.body["status"], "NOT_IMPLEMENTED");
            assert!(message.contains("not implemented"), "{message}");
        }
        assert_ne!(r.status, 500, "{} {concrete}: {:?}", route.method, r.body);
    }
    let documented: usize = paths
        .values()
        .map(|m| m.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(
        documented, operations,
        "the document has operations the table does not"
    );
    // Every Maestro core endpoint (64) plus the three views, the health routes and Baton's
    // extensions are present.
    assert!(operations >= 64 + 3, "{operations}");

    for path in ["/health", "/actuator/health"] {
        let h = s.get(path).await;
        assert_eq!(h.status, 200);
        assert_eq!(h.body["status"], "UP");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literal_routes_are_not_captured() {
    let s = TestServer::start().await;
    let map = s.get("/api/v3/workflows/instances/action-map").await;
    assert_eq!(map.status, 200);
    assert!(map.body.get("FAILED").is_some());
    s.push(&common::noop_chain("pagination", 1)).await;
    // `pagination` as a version is the pagination route, not version lookup.
    let p = s
        .get("/api/v3/workflows/pagination/versions/pagination?first=1")
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body["total_count"], 1);
    s.stop().await;
}
