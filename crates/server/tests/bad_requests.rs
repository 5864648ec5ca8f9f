//! Bad requests: each kind gets the right 4xx and Maestro's error body `{status, message,
//! errors?}` naming the problem — never a 500, a panic or a partial write.

mod common;

use common::{TestServer, noop_chain};
use serde_json::{Value, json};

/// One bad request and what must come back.
struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    user: Option<&'static str>,
    body: Option<(&'static str, Vec<u8>)>,
    status: u16,
    code: &'static str,
    /// Text the message or one of the errors must contain.
    mentions: &'static str,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &str,
    user: Option<&'static str>,
    body: Option<(&'static str, Vec<u8>)>,
    status: u16,
    mentions: &'static str,
) -> Case {
    let code = match status {
        400 => "BAD_REQUEST",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        412 => "PRECONDITION_FAILED",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        422 => "UNPROCESSABLE_ENTITY",
        501 => "NOT_IMPLEMENTED",
        _ => "?",
    };
    Case {
        name,
        method,
        path: path.to_string(),
        user,
        body,
        status,
        code,
        mentions,
    }
}

fn json_body(v: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", serde_json::to_vec(&v).unwrap()))
}

fn raw(ct: &'static str, text: &str) -> Option<(&'static str, Vec<u8>)> {
    Some((ct, text.as_bytes().to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_a_maestro_error() {
    let s = TestServer::start().await;
    s.push(&noop_chain("wf", 2)).await;
    let iid = s.start_latest("wf", None).await;
    s.wait_terminal("wf", iid).await;
    s.push(&common::sleeper("busy", 30)).await;
    let busy = s.start_latest("busy", None).await;
    s.wait_step("busy", busy, "nap", "RUNNING").await;
    let start = "/api/v3/workflows/wf/versions/latest/actions/start";
    let create = "/api/v3/workflows";
    let t = Some("tester");
    let big = format!(
        "{{\"workflow\": {{\"id\": \"x\", \"description\": \"{}\"}}}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let too_big_definition = json!({"properties": {"owner": "tester"}, "workflow": {"id": "huge", "steps": [{"step": {"id": "a", "type": "NoOp", "params": {"p": {"type": "STRING", "value": "x".repeat(300 * 1024)}}}}]}});
    let cases = vec![
        case(
            "missing user on create",
            "POST",
            create,
            None,
            json_body(noop_chain("u", 1)),
            400,
            "the user name cannot be null",
        ),
        case(
            "empty user header",
            "POST",
            create,
            Some(" "),
            json_body(noop_chain("u", 1)),
            400,
            "user name cannot be empty",
        ),
        case(
            "malformed JSON",
            "POST",
            create,
            t,
            raw("application/json", "{\"workflow\": "),
            400,
            "JSON parse error",
        ),
        case(
            "JSON that is an array",
            "POST",
            create,
            t,
            raw("application/json", "[1, 2]"),
            400,
            "JSON parse error",
        ),
        case(
            "empty body",
            "POST",
            create,
            t,
            raw("application/json", ""),
            400,
            "Required request body is missing",
        ),
        case(
            "wrong media type",
            "POST",
            create,
            t,
            raw("text/plain", "{}"),
            415,
            "text/plain",
        ),
        case(
            "body too large",
            "POST",
            create,
            t,
            raw("application/json", &big),
            413,
            "larger than the limit",
        ),
        case(
            "create request over 256 KB",
            "POST",
            create,
            t,
            json_body(too_big_definition),
            400,
            "larger than limit",
        ),
        case(
            "missing workflow",
            "POST",
            create,
            t,
            json_body(json!({"properties": {"owner": "tester"}})),
            400,
            "workflow: is required",
        ),
        case(
            "unknown top-level workflow field",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t"}, "workflow": {"id": "u", "colour": "red", "steps": []}}),
            ),
            400,
            "workflow.colour",
        ),
        case(
            "wrong type for a field",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t"}, "workflow": {"id": "u", "steps": "none"}}),
            ),
            400,
            "workflow.steps",
        ),
        case(
            "unknown step type",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t"}, "workflow": {"id": "u", "steps": [{"step": {"id": "a", "type": "Rocket"}}]}}),
            ),
            400,
            "workflow.steps[0].step.type",
        ),
        case(
            "invalid workflow id",
            "POST",
            create,
            t,
            json_body(noop_chain("bad id!", 1)),
            400,
            "workflow.id",
        ),
        case(
            "first version without owner",
            "POST",
            create,
            t,
            json_body(
                json!({"workflow": {"id": "fresh", "steps": [{"step": {"id": "a", "type": "NoOp"}}]}}),
            ),
            400,
            "owner",
        ),
        case(
            "transition to an unknown step",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t"}, "workflow": {"id": "u", "steps": [{"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"ghost": "true"}}}}]}}),
            ),
            400,
            "ghost",
        ),
        case(
            "cycle in the DAG",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t"}, "workflow": {"id": "u", "steps": [
            {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true"}}}},
            {"step": {"id": "b", "type": "NoOp", "transition": {"successors": {"a": "true"}}}}]}}),
            ),
            400,
            "cycle",
        ),
        case(
            "broken param expression",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t"}, "workflow": {"id": "u", "params": {"x": {"type": "LONG", "expression": "1 +"}}, "steps": [{"step": {"id": "a", "type": "NoOp"}}]}}),
            ),
            400,
            "x",
        ),
        case(
            "properties tags in a push",
            "POST",
            create,
            t,
            json_body(
                json!({"properties": {"owner": "t", "tags": ["x"]}, "workflow": {"id": "u", "steps": [{"step": {"id": "a", "type": "NoOp"}}]}}),
            ),
            400,
            "tags",
        ),
        case(
            "YAML that is not the DSL",
            "POST",
            "/api/v3/workflows/yaml",
            t,
            raw("application/yaml", "foo: bar\n"),
            400,
            "Workflow",
        ),
        case(
            "malformed YAML",
            "POST",
            "/api/v3/workflows/yaml",
            t,
            raw("application/yaml", "Workflow: [\n"),
            400,
            "YAML parse error",
        ),
        case(
            "start without initiator",
            "POST",
            start,
            t,
            json_body(json!({})),
            400,
            "initiator",
        ),
        case(
            "start with unknown initiator type",
            "POST",
            start,
            t,
            json_body(json!({"initiator": {"type": "robot"}})),
            400,
            "initiator",
        ),
        case(
            "start with unknown field",
            "POST",
            start,
            t,
            json_body(json!({"initiator": {"type": "manual"}, "priority": 1})),
            400,
            "priority",
        ),
        case(
            "start with a bad request_id",
            "POST",
            start,
            t,
            json_body(json!({"initiator": {"type": "manual"}, "request_id": "nope"})),
            400,
            "request_id",
        ),
        case(
            "run param of the wrong type",
            "POST",
            start,
            t,
            json_body(
                json!({"initiator": {"type": "manual"}, "run_params": {"n": {"type": "LONG", "value": "ten"}}}),
            ),
            400,
            "run_params.n",
        ),
        case(
            "reserved run param name",
            "POST",
            start,
            t,
            json_body(
                json!({"initiator": {"type": "manual"}, "run_params": {"AUTHORIZED_MANAGERS": {"type": "STRING", "value": "x"}}}),
            ),
            400,
            "AUTHORIZED_MANAGERS",
        ),
        case(
            "start of an unknown workflow",
            "POST",
            "/api/v3/workflows/nope/versions/latest/actions/start",
            t,
            json_body(json!({"initiator": {"type": "manual"}})),
            404,
            "nope",
        ),
        case(
            "start of a version that is not a number",
            "POST",
            "/api/v3/workflows/wf/versions/newest/actions/start",
            t,
            json_body(json!({"initiator": {"type": "manual"}})),
            400,
            "newest",
        ),
        case(
            "start of a version that does not exist",
            "POST",
            "/api/v3/workflows/wf/versions/99/actions/start",
            t,
            json_body(json!({"initiator": {"type": "manual"}})),
            404,
            "99",
        ),
        case(
            "unknown workflow",
            "GET",
            "/api/v3/workflows/nope/versions/latest",
            None,
            None,
            404,
            "nope",
        ),
        case(
            "overview of an unknown workflow",
            "GET",
            "/api/v3/workflows/nope/overview",
            None,
            None,
            404,
            "nope",
        ),
        case(
            "instance id not a number",
            "GET",
            "/api/v3/workflows/wf/instances/abc",
            None,
            None,
            400,
            "iid",
        ),
        case(
            "instance id zero",
            "GET",
            "/api/v3/workflows/wf/instances/0",
            None,
            None,
            400,
            "iid",
        ),
        case(
            "unknown instance",
            "GET",
            "/api/v3/workflows/wf/instances/77",
            None,
            None,
            404,
            "[wf][77][0]",
        ),
        case(
            "unknown run",
            "GET",
            "/api/v3/workflows/wf/instances/1/runs/5",
            None,
            None,
            404,
            "[wf][1][5]",
        ),
        case(
            "run neither number nor latest",
            "GET",
            "/api/v3/workflows/wf/instances/1/runs/first",
            None,
            None,
            400,
            "rid",
        ),
        case(
            "unknown step",
            "GET",
            "/api/v3/workflows/wf/instances/1/steps/ghost",
            None,
            None,
            404,
            "ghost",
        ),
        case(
            "bad boolean query",
            "GET",
            "/api/v3/workflows/wf/instances/1?enriched=maybe",
            None,
            None,
            400,
            "enriched",
        ),
        case(
            "pagination without first or last",
            "GET",
            "/api/v3/workflows/wf/instances",
            None,
            None,
            400,
            "Either first or last",
        ),
        case(
            "pagination with both",
            "GET",
            "/api/v3/workflows/wf/instances?first=1&last=1",
            None,
            None,
            400,
            "not both",
        ),
        case(
            "page size out of range",
            "GET",
            "/api/v3/workflows/wf/instances?first=0",
            None,
            None,
            400,
            "first",
        ),
        case(
            "page size over 200",
            "GET",
            "/api/v3/workflows/wf/versions/pagination?last=201",
            None,
            None,
            400,
            "last",
        ),
        case(
            "cursor not a number",
            "GET",
            "/api/v3/workflows/wf/instances?first=5&cursor=x",
            None,
            None,
            400,
            "cursor",
        ),
        case(
            "properties of an unknown workflow",
            "POST",
            "/api/v3/workflows/nope/properties",
            t,
            json_body(json!({"description": "d"})),
            400,
            "does not exist",
        ),
        case(
            "set and reset in one properties update",
            "POST",
            "/api/v3/workflows/wf/properties",
            t,
            json_body(json!({"step_concurrency": 3, "reset_step_concurrency": true})),
            400,
            "step_concurrency",
        ),
        case(
            "invalid step concurrency",
            "POST",
            "/api/v3/workflows/wf/properties",
            t,
            json_body(json!({"step_concurrency": 0})),
            400,
            "step_concurrency",
        ),
        case(
            "tags through properties update",
            "POST",
            "/api/v3/workflows/wf/properties",
            t,
            json_body(json!({"tags": ["x"]})),
            400,
            "tags",
        ),
        case(
            "tag with an invalid name",
            "POST",
            "/api/v3/workflows/wf/properties/tag",
            t,
            json_body(json!({"name": ""})),
            400,
            "name",
        ),
        case(
            "removing an absent tag",
            "DELETE",
            "/api/v3/workflows/wf/properties/tag/none",
            t,
            None,
            404,
            "none",
        ),
        case(
            "snapshot other than latest",
            "GET",
            "/api/v3/workflows/wf/properties-snapshot/123",
            None,
            None,
            400,
            "latest",
        ),
        case(
            "activate an unknown version",
            "PUT",
            "/api/v3/workflows/wf/versions/9/actions/activate",
            t,
            None,
            404,
            "9",
        ),
        case(
            "stop without user",
            "PUT",
            "/api/v3/workflows/wf/instances/1/actions/stop",
            None,
            None,
            400,
            "user name",
        ),
        case(
            "stop a terminal instance",
            "PUT",
            "/api/v3/workflows/wf/instances/1/actions/stop",
            t,
            None,
            400,
            "Cannot terminate",
        ),
        case(
            "delete while running",
            "DELETE",
            "/api/v3/workflows/busy",
            t,
            None,
            400,
            "queued or running",
        ),
        case(
            "delete an inline workflow id",
            "DELETE",
            "/api/v3/workflows/maestro_foreach_x",
            t,
            None,
            422,
            "inline",
        ),
        case(
            "unknown route",
            "GET",
            "/api/v3/nothing",
            None,
            None,
            404,
            "No endpoint",
        ),
        case(
            "method not allowed",
            "PATCH",
            "/api/v3/workflows/wf/versions/latest",
            None,
            None,
            405,
            "PATCH",
        ),
        case(
            "not implemented yet",
            "POST",
            "/api/v3/job-templates",
            t,
            json_body(json!({"job_type": "shell"})),
            501,
            "Job templates",
        ),
        case(
            "signal sequence id is not a number",
            "GET",
            "/api/v3/signals/s/instances/first",
            None,
            None,
            400,
            "first",
        ),
        case(
            "signal without a name",
            "POST",
            "/api/v3/signals",
            None,
            json_body(json!({"params": {"a": 1}})),
            400,
            "name",
        ),
        case(
            "enriched definitions not yet",
            "GET",
            "/api/v3/workflows/wf/versions/latest?enriched=true",
            None,
            None,
            501,
            "Enriched",
        ),
        case(
            "restart of an unknown instance",
            "POST",
            "/api/v3/workflows/wf/instances/999/actions/restart",
            t,
            json_body(json!({"restart_policy": "RESTART_FROM_INCOMPLETE"})),
            404,
            "not found",
        ),
        case(
            "restart without a policy",
            "POST",
            "/api/v3/workflows/wf/instances/1/actions/restart",
            t,
            json_body(json!({"run_params": {}})),
            400,
            "restart_policy",
        ),
        case(
            "step restart with an unknown policy",
            "POST",
            "/api/v3/workflows/wf/instances/1/steps/s/actions/restart",
            t,
            json_body(json!({"restart_policy": "RESTART_FROM_NOWHERE"})),
            400,
            "restart_policy",
        ),
    ];
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for c in &cases {
        let r = s.raw(c.method, &c.path, c.user, c.body.clone()).await;
        let message = r.body["message"].as_str().unwrap_or("");
        let errors: Vec<&str> = r.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let ok = r.status == c.status
            && r.body["status"] == c.code
            && r.content_type.starts_with("application/json")
            && (message.contains(c.mentions) || errors.iter().any(|e| e.contains(c.mentions)))
            && r.body.as_object().is_some_and(|o| {
                o.keys()
                    .all(|k| ["status", "message", "errors"].contains(&k.as_str()))
            })
            && r.body
                .get("errors")
                .is_none_or(|e| e.as_array().is_some_and(|a| !a.is_empty()));
        if !ok {
            failures.push(format!("{}: {} {:?}", c.name, r.status, r.body));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{} bad-request cases answered as expected", cases.len());

    // Nothing was written by the refused requests.
    for id in ["u", "fresh", "huge", "x"] {
        assert_eq!(
            s.get(&format!("/api/v3/workflows/{id}/versions/latest"))
                .await
                .status,
            404,
            "{id}"
        );
    }
    assert_eq!(
        s.get("/api/v3/workflows/wf/overview").await.body["latest_instance_id"],
        1
    );
    assert_eq!(
        s.get("/api/v3/workflows/wf/properties-snapshot/latest")
            .await
            .body
            .get("step_concurrency"),
        None
    );
    s.put("/api/v3/workflows/busy/actions/kill").await;
    s.stop().await;
}
