//! One invalid definition per rule: each starts from a valid workflow, breaks one thing, and
//! must be rejected with the expected path and message. All problems are reported at once, so
//! each case also checks that nothing else is reported.

use baton_model::FieldError;
use baton_model::JsonPath;
use baton_model::definition::JobTemplateCreateRequest;
use baton_model::load::{from_value, parse_definition};
use baton_model::params::ParamMap;
use baton_model::validate::{
    ValidateOptions, validate_create_request, validate_job_template, validate_run_params,
};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "properties": {"owner": "tester", "run_strategy": "sequential"},
        "workflow": {
            "id": "wf",
            "params": {"p": {"value": 1, "type": "LONG"}},
            "steps": [
                {"step": {"id": "a", "type": "NoOp", "transition": {"successors": {"b": "true"}}}},
                {"step": {"id": "b", "type": "Sleep", "params": {"sleep_seconds": {"value": 1, "type": "LONG"}}}},
                {"foreach": {"id": "f",
                    "params": {"loop_params": {"type": "MAP", "value": {"i": {"value": [1, 2], "type": "LONG_ARRAY"}}}},
                    "steps": [{"step": {"id": "f1", "type": "NoOp"}}]}}
            ]
        }
    })
}

/// Every error of a document: parse errors if it does not parse, else validation errors.
fn errors_of(doc: &Value) -> Vec<FieldError> {
    let text = serde_json::to_string(doc).expect("serialize");
    match parse_definition(&text, Some("case.json")) {
        Err(e) => e.field_errors(),
        Ok(req) => validate_create_request(&req, ValidateOptions::default()).errors,
    }
}

fn yaml_errors_of(text: &str) -> Vec<FieldError> {
    match parse_definition(text, Some("case.yaml")) {
        Err(e) => e.field_errors(),
        Ok(req) => validate_create_request(&req, ValidateOptions::default()).errors,
    }
}

fn set(doc: &mut Value, pointer: &str, v: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer with a parent");
    let target = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match target {
        Value::Object(o) => {
            o.insert(key.to_string(), v);
        }
        Value::Array(a) => {
            let i: usize = key.parse().expect("index");
            if i == a.len() {
                a.push(v);
            } else {
                a[i] = v;
            }
        }
        _ => panic!("{parent} is not a container"),
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer with a parent");
    if let Some(Value::Object(o)) = doc.pointer_mut(parent) {
        o.shift_remove(key);
    }
}

/// A case: break the base with `edit`; expect exactly one error at `path` containing `message`.
fn case(name: &str, edit: impl FnOnce(&mut Value), path: &str, message: &str) {
    let mut doc = base();
    edit(&mut doc);
    expect(name, errors_of(&doc), path, message);
}

fn expect(name: &str, errors: Vec<FieldError>, path: &str, message: &str) {
    assert_eq!(
        errors.len(),
        1,
        "{name}: expected exactly one error, got {errors:#?}"
    );
    assert_eq!(errors[0].path.as_str(), path, "{name}: path ({errors:#?})");
    assert!(
        errors[0].message.contains(message),
        "{name}: message `{}` does not contain `{message}`",
        errors[0].message
    );
}

#[test]
fn the_base_is_valid() {
    assert_eq!(errors_of(&base()), []);
}

#[test]
fn workflow_ids() {
    case(
        "empty id",
        |d| set(d, "/workflow/id", json!("")),
        "workflow.id",
        "cannot be null or empty",
    );
    case(
        "id pattern",
        |d| set(d, "/workflow/id", json!("my wf")),
        "workflow.id",
        "regex rule",
    );
    case(
        "id length",
        |d| set(d, "/workflow/id", json!("w".repeat(129))),
        "workflow.id",
        "id length limit 128",
    );
    case(
        "id prefix",
        |d| set(d, "/workflow/id", json!("MAESTRO_wf")),
        "workflow.id",
        "reserved prefix: maestro_",
    );
    case(
        "id suffix",
        |d| set(d, "/workflow/id", json!("wf_maestro")),
        "workflow.id",
        "reserved suffix: _maestro",
    );
}

#[test]
fn workflow_fields() {
    case(
        "name size",
        |d| set(d, "/workflow/name", json!("n".repeat(257))),
        "workflow.name",
        "name length limit 256",
    );
    case(
        "description size",
        |d| set(d, "/workflow/description", json!("d".repeat(16385))),
        "workflow.description",
        "at most 16384",
    );
    case(
        "no steps",
        |d| set(d, "/workflow/steps", json!([])),
        "workflow.steps",
        "cannot be null or empty",
    );
    case(
        "too many steps",
        |d| {
            let steps: Vec<Value> = (0..301)
                .map(|i| json!({"step": {"id": format!("s{i}"), "type": "NoOp"}}))
                .collect();
            set(d, "/workflow/steps", Value::Array(steps));
        },
        "workflow.steps",
        "over the size limit [300]",
    );
    case(
        "instance step concurrency",
        |d| set(d, "/workflow/instance_step_concurrency", json!(1000)),
        "workflow.instance_step_concurrency",
        "less than 1000",
    );
    case(
        "workflow timeout",
        |d| set(d, "/workflow/timeout", json!(0)),
        "workflow.timeout",
        "non-positive",
    );
    case(
        "timeout too long",
        |d| set(d, "/workflow/timeout", json!("121 days")),
        "workflow.timeout",
        "120 days",
    );
    case(
        "negative timeout",
        |d| set(d, "/workflow/timeout", json!(-5)),
        "workflow.timeout",
        "non-negative",
    );
    case(
        "duplicate tags",
        |d| set(d, "/workflow/tags", json!(["x", {"name": "x"}])),
        "workflow.tags[1].name",
        "duplicate tag names",
    );
    case(
        "tag name",
        |d| set(d, "/workflow/tags", json!(["a#b"])),
        "workflow.tags[0].name",
        "regex rule",
    );
    case(
        "unknown workflow field",
        |d| set(d, "/workflow/run_properties", json!({})),
        "workflow.run_properties",
        "unknown field `run_properties`",
    );
    case(
        "missing workflow",
        |d| remove(d, "/workflow"),
        "workflow",
        "is required",
    );
}

#[test]
fn step_ids_and_names() {
    case(
        "duplicate step id",
        |d| set(d, "/workflow/steps/2/foreach/id", json!("b")),
        "workflow.steps[2].foreach.id",
        "duplicate step ids: [b] is also used at workflow.steps[1].step.id",
    );
    case(
        "duplicate across levels",
        |d| set(d, "/workflow/steps/2/foreach/steps/0/step/id", json!("a")),
        "workflow.steps[2].foreach.steps[0].step.id",
        "duplicate step ids",
    );
    case(
        "nested step id",
        |d| set(d, "/workflow/steps/2/foreach/steps/0/step/id", json!("1x")),
        "workflow.steps[2].foreach.steps[0].step.id",
        "regex rule",
    );
    case(
        "step id separator",
        |d| set(d, "/workflow/steps/2/foreach/id", json!("f__x")),
        "workflow.steps[2].foreach.id",
        "separator '__'",
    );
    case(
        "step id prefix",
        |d| set(d, "/workflow/steps/2/foreach/id", json!("maestro_f")),
        "workflow.steps[2].foreach.id",
        "reserved prefix",
    );
    case(
        "step id pattern",
        |d| set(d, "/workflow/steps/2/foreach/id", json!("9f")),
        "workflow.steps[2].foreach.id",
        "regex rule",
    );
    case(
        "step name size",
        |d| set(d, "/workflow/steps/0/step/name", json!("n".repeat(300))),
        "workflow.steps[0].step.name",
        "name length limit 256",
    );
    case(
        "step description size",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/description",
                json!("d".repeat(20000)),
            )
        },
        "workflow.steps[0].step.description",
        "at most 16384",
    );
    case(
        "step timeout",
        |d| set(d, "/workflow/steps/0/step/timeout", json!("abc")),
        "workflow.steps[0].step.timeout",
        "non-positive",
    );
}

#[test]
fn step_shapes() {
    case(
        "unknown step field",
        |d| set(d, "/workflow/steps/0/step/colour", json!("red")),
        "workflow.steps[0].step.colour",
        "unknown field `colour`",
    );
    case(
        "unknown step kind",
        |d| set(d, "/workflow/steps/1", json!({"job": {"id": "b"}})),
        "workflow.steps[1].job",
        "unknown step kind `job`",
    );
    case(
        "unknown step type",
        |d| set(d, "/workflow/steps/0/step/type", json!("Spark")),
        "workflow.steps[0].step.type",
        "unknown StepType `Spark`",
    );
    case(
        "retry policy on foreach",
        |d| set(d, "/workflow/steps/2/foreach/retry_policy", json!({})),
        "workflow.steps[2].foreach.retry_policy",
        "unknown field `retry_policy`",
    );
    case(
        "join type",
        |d| set(d, "/workflow/steps/0/step/type", json!("join")),
        "workflow.steps[0].step.type",
        "internal gate",
    );
    case(
        "loop type as typed step",
        |d| set(d, "/workflow/steps/0/step/type", json!("foreach")),
        "workflow.steps[0].step.type",
        "not as a typed step",
    );
}

#[test]
fn transitions_and_cycles() {
    case(
        "unknown successor",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/transition/successors/zz",
                json!("true"),
            )
        },
        "workflow.steps[0].step.transition.successors",
        "[zz] does not exist",
    );
    case(
        "successor in another level",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/transition/successors/f1",
                json!("true"),
            )
        },
        "workflow.steps[0].step.transition.successors",
        "[f1] does not exist",
    );
    case(
        "predecessors mismatch",
        |d| {
            set(
                d,
                "/workflow/steps/1/step/transition",
                json!({"predecessors": ["f"]}),
            )
        },
        "workflow.steps[1].step.transition.predecessors",
        "does not match",
    );
    case(
        "duplicate predecessors",
        |d| {
            set(
                d,
                "/workflow/steps/1/step/transition",
                json!({"predecessors": ["a", "a"]}),
            )
        },
        "workflow.steps[1].step.transition.predecessors",
        "duplicate step ids",
    );
    case(
        "cycle",
        |d| {
            set(
                d,
                "/workflow/steps/1/step/transition",
                json!({"successors": {"a": "true"}}),
            )
        },
        "workflow.steps",
        "cycle: a -> b -> a",
    );
    case(
        "cycle in a loop body",
        |d| {
            set(
                d,
                "/workflow/steps/2/foreach/steps",
                json!([
                {"step": {"id": "f1", "type": "NoOp", "transition": {"successors": {"f2": "true"}}}},
                {"step": {"id": "f2", "type": "NoOp", "transition": {"successors": {"f1": "true"}}}}]),
            );
        },
        "workflow.steps[2].foreach.steps",
        "cycle",
    );
}

#[test]
fn params() {
    case(
        "param name",
        |d| {
            set(
                d,
                "/workflow/params/$foo",
                json!({"value": 1, "type": "LONG"}),
            )
        },
        "workflow.params.$foo",
        "regex rule",
    );
    case(
        "value and expression",
        |d| set(d, "/workflow/params/p/expression", json!("1")),
        "workflow.params.p",
        "not both",
    );
    case(
        "neither value nor expression",
        |d| remove(d, "/workflow/params/p/value"),
        "workflow.params.p",
        "either a literal value or an expression",
    );
    case(
        "value type",
        |d| set(d, "/workflow/params/p/value", json!("abc")),
        "workflow.params.p.value",
        "expected an integer",
    );
    case(
        "array element type",
        |d| {
            set(
                d,
                "/workflow/steps/2/foreach/params/loop_params/value/i/value",
                json!([1, true]),
            )
        },
        "workflow.steps[2].foreach.params.loop_params.value.i.value[1]",
        "expected an integer",
    );
    case(
        "param type",
        |d| set(d, "/workflow/params/p/type", json!("INT")),
        "workflow.params.p.type",
        "unknown ParamType `INT`",
    );
    case(
        "missing param type",
        |d| remove(d, "/workflow/params/p/type"),
        "workflow.params.p.type",
        "missing field `type`",
    );
    case(
        "param mode",
        |d| set(d, "/workflow/params/p/mode", json!("sometimes")),
        "workflow.params.p.mode",
        "unknown ParamMode",
    );
    case(
        "internal mode",
        |d| set(d, "/workflow/params/p/internal_mode", json!("REQUIRED")),
        "workflow.params.p.internal_mode",
        "reserved for system default",
    );
    case(
        "param source",
        |d| set(d, "/workflow/params/p/source", json!("NOWHERE")),
        "workflow.params.p.source",
        "unknown param source",
    );
    case(
        "nested map param name",
        |d| {
            set(
                d,
                "/workflow/params/m",
                json!({"type": "MAP", "value": {"a__b": {"value": 1, "type": "LONG"}}}),
            )
        },
        "workflow.params.m.value.a__b",
        "separator",
    );
}

#[test]
fn retry_policies() {
    case(
        "retry limit",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/retry_policy",
                json!({"error_retry_limit": 100}),
            )
        },
        "workflow.steps[0].step.retry_policy.error_retry_limit",
        "more than [99]",
    );
    case(
        "retry limit text",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/retry_policy",
                json!({"platform_retry_limit": "abc"}),
            )
        },
        "workflow.steps[0].step.retry_policy.platform_retry_limit",
        "is not a number",
    );
    case(
        "backoff seconds",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/retry_policy",
                json!({"backoff": {"type": "FIXED_BACKOFF", "error_retry_backoff_in_secs": 0}}),
            )
        },
        "workflow.steps[0].step.retry_policy.backoff.error_retry_backoff_in_secs",
        "less than [1]",
    );
    case(
        "backoff too long",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/retry_policy",
                json!({"backoff": {"type": "EXPONENTIAL_BACKOFF", "timeout_retry_limit_in_secs": "2 days"}}),
            )
        },
        "workflow.steps[0].step.retry_policy.backoff.timeout_retry_limit_in_secs",
        "more than [86400]",
    );
    case(
        "backoff type",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/retry_policy",
                json!({"backoff": {"type": "LINEAR"}}),
            )
        },
        "workflow.steps[0].step.retry_policy.backoff.type",
        "unknown backoff type",
    );
}

#[test]
fn loops() {
    case(
        "missing loop params",
        |d| remove(d, "/workflow/steps/2/foreach/params/loop_params"),
        "workflow.steps[2].foreach.params",
        "[loop_params] is a required parameter of a foreach step",
    );
    case(
        "loop params not a map",
        |d| {
            set(
                d,
                "/workflow/steps/2/foreach/params/loop_params",
                json!({"value": [1], "type": "LONG_ARRAY"}),
            )
        },
        "workflow.steps[2].foreach.params.loop_params.type",
        "must be a MAP param",
    );
    case(
        "foreach loop param scalar",
        |d| {
            set(
                d,
                "/workflow/steps/2/foreach/params/loop_params/value/i",
                json!({"value": 1, "type": "LONG"}),
            )
        },
        "workflow.steps[2].foreach.params.loop_params.value.i.type",
        "must be an array",
    );
    case(
        "foreach concurrency",
        |d| set(d, "/workflow/steps/2/foreach/concurrency", json!(501)),
        "workflow.steps[2].foreach.concurrency",
        "between 1 and 500",
    );
    case(
        "empty loop body",
        |d| set(d, "/workflow/steps/2/foreach/steps", json!([])),
        "workflow.steps[2].foreach.steps",
        "at least one step",
    );
    case(
        "loop param reused by a nested loop",
        |d| {
            set(
                d,
                "/workflow/steps/2/foreach/steps/0",
                json!({"foreach": {"id": "g",
                "params": {"loop_params": {"type": "MAP", "value": {"i": {"expression": "[1]", "type": "LONG_ARRAY"}}}},
                "steps": [{"step": {"id": "g1", "type": "NoOp"}}]}}),
            );
        },
        "workflow.steps[2].foreach.steps[0].foreach.params.loop_params.value.i",
        "duplicate loop param name [i]",
    );
    case(
        "loops nested too deep",
        |d| {
            let mut inner = json!({"step": {"id": "leaf", "type": "NoOp"}});
            for level in (0..10).rev() {
                inner = json!({"foreach": {"id": format!("l{level}"),
                    "params": {"loop_params": {"type": "MAP", "value": {format!("v{level}"): {"value": [1], "type": "LONG_ARRAY"}}}},
                    "steps": [inner]}});
            }
            set(d, "/workflow/steps/2", inner);
        },
        &format!("workflow.steps[2].foreach{}", ".steps[0].foreach".repeat(9)),
        "nested too deep",
    );
    let while_step = |d: &mut Value, w: Value| set(d, "/workflow/steps/3", w);
    case(
        "while without condition",
        |d| {
            while_step(
                d,
                json!({"while": {"id": "w", "params": {"loop_params": {"type": "MAP", "value": {"n": {"value": 1, "type": "LONG"}}}}, "steps": [{"step": {"id": "w1", "type": "NoOp"}}]}}),
            )
        },
        "workflow.steps[3].while.condition",
        "needs a condition",
    );
    case(
        "while loop param array",
        |d| {
            while_step(
                d,
                json!({"while": {"id": "w", "condition": "n < 3", "params": {"loop_params": {"type": "MAP", "value": {"n": {"value": [1], "type": "LONG_ARRAY"}}}}, "steps": [{"step": {"id": "w1", "type": "NoOp"}}]}}),
            )
        },
        "workflow.steps[3].while.params.loop_params.value.n.type",
        "must be a scalar",
    );
}

#[test]
fn step_type_params() {
    let step3 = |d: &mut Value, s: Value| set(d, "/workflow/steps/3", s);
    case(
        "subworkflow id",
        |d| step3(d, json!({"subworkflow": {"id": "s"}})),
        "workflow.steps[3].subworkflow.params",
        "[subworkflow_id] is a required parameter",
    );
    case(
        "subworkflow id type",
        |d| {
            step3(
                d,
                json!({"subworkflow": {"id": "s", "params": {"subworkflow_id": {"value": 1, "type": "LONG"}}}}),
            )
        },
        "workflow.steps[3].subworkflow.params.subworkflow_id.type",
        "must be a STRING param",
    );
    case(
        "kubernetes image",
        |d| {
            step3(
                d,
                json!({"step": {"id": "k", "type": "Kubernetes", "params": {"kubernetes": {"type": "MAP", "value": {"command": {"value": ["x"], "type": "STRING_ARRAY"}}}}}}),
            )
        },
        "workflow.steps[3].step.params.kubernetes.value",
        "[image] is a required parameter",
    );
    case(
        "kubernetes command type",
        |d| {
            step3(
                d,
                json!({"step": {"id": "k", "type": "Kubernetes", "params": {"kubernetes": {"type": "MAP", "value": {"image": {"value": "busybox", "type": "STRING"}, "command": {"value": "ls", "type": "STRING"}}}}}}),
            )
        },
        "workflow.steps[3].step.params.kubernetes.value.command.type",
        "must be a STRING_ARRAY param",
    );
    case(
        "http param",
        |d| step3(d, json!({"step": {"id": "h", "type": "http"}})),
        "workflow.steps[3].step.params",
        "[http] is a required parameter",
    );
    case(
        "notebook input",
        |d| {
            step3(
                d,
                json!({"step": {"id": "n", "type": "Notebook", "params": {"kubernetes": {"type": "MAP", "value": {"image": {"value": "python:3", "type": "STRING"}}}, "notebook": {"type": "MAP", "value": {}}}}}),
            )
        },
        "workflow.steps[3].step.params.notebook.value",
        "[input_path] is a required parameter",
    );
    case(
        "shell script",
        |d| {
            step3(
                d,
                json!({"step": {"id": "sh", "type": "Shell", "params": {"shell": {"type": "MAP", "value": {"interpreter": {"value": "sh", "type": "STRING"}}}}}}),
            )
        },
        "workflow.steps[3].step.params.shell.value",
        "[script] is a required parameter",
    );
    case(
        "sleep seconds",
        |d| {
            set(
                d,
                "/workflow/steps/1/step/params/sleep_seconds",
                json!({"value": ["1"], "type": "STRING_ARRAY"}),
            )
        },
        "workflow.steps[1].step.params.sleep_seconds.type",
        "must be a LONG param",
    );
}

#[test]
fn properties_and_request() {
    case(
        "no properties",
        |d| remove(d, "/properties"),
        "properties",
        "owner must be set",
    );
    case(
        "no owner",
        |d| remove(d, "/properties/owner"),
        "properties.owner",
        "owner must be set",
    );
    case(
        "step concurrency",
        |d| set(d, "/properties/step_concurrency", json!(0)),
        "properties.step_concurrency",
        "no greater than 1000",
    );
    case(
        "concurrency of a sequential rule",
        |d| {
            set(
                d,
                "/properties/run_strategy",
                json!({"rule": "sequential", "workflow_concurrency": 3}),
            )
        },
        "properties.run_strategy.workflow_concurrency",
        "Only PARALLEL",
    );
    case(
        "workflow concurrency",
        |d| set(d, "/properties/run_strategy", json!(1001)),
        "properties.run_strategy.workflow_concurrency",
        "no greater than 1000",
    );
    case(
        "unknown run strategy",
        |d| set(d, "/properties/run_strategy", json!("sometimes")),
        "properties.run_strategy",
        "unknown RunStrategyRule",
    );
    case(
        "property tags",
        |d| set(d, "/properties/tags", json!(["x"])),
        "properties.tags",
        "Cannot set workflow property tags",
    );
    case(
        "access control",
        |d| set(d, "/properties/access_control", json!({"x": 1})),
        "properties.access_control",
        "not supported",
    );
    case(
        "tct fields",
        |d| {
            set(
                d,
                "/properties/alerting",
                json!({"tct": {"completed_by_hour": 1, "duration_minutes": 5}}),
            )
        },
        "properties.alerting.tct",
        "one and only one",
    );
    case(
        "reserved extra key",
        |d| set(d, "/create_time", json!(5)),
        "create_time",
        "reserved key [create_time]",
    );
    case(
        "unknown property",
        |d| set(d, "/properties/colour", json!(1)),
        "properties.colour",
        "unknown field `colour`",
    );
}

#[test]
fn time_triggers() {
    let trig = |d: &mut Value, t: Value| set(d, "/workflow/time_triggers", json!([t]));
    case(
        "interval trigger",
        |d| trig(d, json!({"type": "INTERVAL", "interval": "3H"})),
        "workflow.time_triggers[0].type",
        "INTERVAL",
    );
    case(
        "cron range",
        |d| trig(d, json!({"type": "CRON", "cron": "0 30 * * *"})),
        "workflow.time_triggers[0].cron",
        "hour field is out of range",
    );
    case(
        "cron too frequent",
        |d| trig(d, json!({"type": "CRON", "cron": "* * * * *"})),
        "workflow.time_triggers[0].cron",
        "less than the minimal value [120000] millis",
    );
    case(
        "time zone",
        |d| {
            trig(
                d,
                json!({"type": "CRON", "cron": "0 * * * *", "timezone": "Mars/Olympus"}),
            )
        },
        "workflow.time_triggers[0].timezone",
        "unknown time zone",
    );
    case(
        "jitter below a second",
        |d| {
            trig(
                d,
                json!({"type": "CRON", "cron": "0 * * * *", "fuzzy_max_delay": 500}),
            )
        },
        "workflow.time_triggers[0].fuzzy_max_delay",
        "at least 1 second",
    );
    case(
        "predefined name",
        |d| trig(d, json!({"type": "PREDEFINED", "expression": "@minutely"})),
        "workflow.time_triggers[0].expression",
        "unknown predefined schedule",
    );
}

#[test]
fn signals() {
    let trig = |d: &mut Value, t: Value| set(d, "/workflow/signal_triggers", json!([t]));
    case(
        "too many signals",
        |d| {
            let defs: serde_json::Map<String, Value> =
                (0..9).map(|i| (format!("s{i}"), json!({}))).collect();
            trig(d, json!({"definitions": defs}));
        },
        "workflow.signal_triggers[0].definitions",
        "more than the limit [8]",
    );
    case(
        "join key lengths",
        |d| {
            trig(
                d,
                json!({"definitions": {"a": {"join_keys": ["x"]}, "b": {}}}),
            )
        },
        "workflow.signal_triggers[0].definitions",
        "join_keys lengths",
    );
    case(
        "join key in match params",
        |d| {
            trig(
                d,
                json!({"definitions": {"a": {"join_keys": ["x"], "match_params": {"x": {"value": 1, "operator": "="}}}}}),
            )
        },
        "workflow.signal_triggers[0].definitions.a.join_keys[0]",
        "cannot be used in match_params",
    );
    let dep =
        |d: &mut Value, v: Value| set(d, "/workflow/steps/0/step/signal_dependencies", json!([v]));
    case(
        "dependency name",
        |d| dep(d, json!({"match_params": {}})),
        "workflow.steps[0].step.signal_dependencies[0].name",
        "mandatory name field",
    );
    case(
        "two range operators",
        |d| {
            dep(
                d,
                json!({"name": "s", "match_params": {
            "x": {"param": {"value": 1, "type": "LONG"}, "operator": ">"},
            "y": {"param": {"value": 2, "type": "LONG"}, "operator": "<="}}}),
            )
        },
        "workflow.steps[0].step.signal_dependencies[0].match_params.y.operator",
        "more than one range params",
    );
    case(
        "dependency param type",
        |d| {
            dep(
                d,
                json!({"name": "s", "match_params": {"x": {"param": {"value": 1.5, "type": "DOUBLE"}, "operator": "="}}}),
            )
        },
        "workflow.steps[0].step.signal_dependencies[0].match_params.x.param.type",
        "either LONG or STRING",
    );
    case(
        "bad operator",
        |d| {
            dep(
                d,
                json!({"name": "s", "match_params": {"x": {"param": {"value": 1, "type": "LONG"}, "operator": "=="}}}),
            )
        },
        "workflow.steps[0].step.signal_dependencies[0].match_params.x.operator",
        "unknown SignalOperator",
    );
    case(
        "output param type",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/signal_outputs",
                json!([{"name": "o", "params": {"k": {"value": true, "type": "BOOLEAN"}}}]),
            )
        },
        "workflow.steps[0].step.signal_outputs[0].params.k.type",
        "LONG or STRING",
    );
    case(
        "output name",
        |d| {
            set(
                d,
                "/workflow/steps/0/step/signal_outputs",
                json!([{"params": {}}]),
            )
        },
        "workflow.steps[0].step.signal_outputs[0].name",
        "mandatory name field",
    );
}

#[test]
fn yaml_dsl() {
    let wf = |body: &str| format!("Workflow:\n  id: w\n  owner: me\n{body}");
    let jobs = "  jobs:\n    - job: {id: a, type: NoOp}\n    - job: {id: b, type: NoOp}\n";
    expect(
        "reserved key",
        yaml_errors_of(&wf(&format!("  workflow_params: 1\n{jobs}"))),
        "Workflow.workflow_params",
        "reserved field",
    );
    expect(
        "bad transition",
        yaml_errors_of(&wf(
            "  jobs:\n    - job: {id: a, type: NoOp, transition: ['GOTO b']}\n    - job: {id: b, type: NoOp}\n",
        )),
        "Workflow.jobs[0].job.transition[0]",
        "Invalid transition",
    );
    expect(
        "otherwise first",
        yaml_errors_of(&wf(
            "  jobs:\n    - job: {id: a, type: NoOp, transition: ['OTHERWISE b', 'b']}\n    - job: {id: b, type: NoOp}\n",
        )),
        "Workflow.jobs[0].job.transition[0]",
        "must be the last row",
    );
    expect(
        "dag job",
        yaml_errors_of(&wf(&format!("  dag: {{zz: [a]}}\n{jobs}"))),
        "Workflow.dag.zz",
        "unknown job id",
    );
    expect(
        "dag order",
        yaml_errors_of(&wf(&format!("  dag: random\n{jobs}"))),
        "Workflow.dag",
        "Invalid DAG order",
    );
    expect(
        "typed key mismatch",
        yaml_errors_of(&wf(&format!("  'x<long>': abc\n{jobs}"))),
        "Workflow.x<long>",
        "Type mismatch",
    );
    expect(
        "job kind",
        yaml_errors_of(&wf("  jobs:\n    - task: {id: a}\n")),
        "Workflow.jobs[0].task",
        "unknown job kind",
    );
    expect(
        "job without type",
        yaml_errors_of(&wf("  jobs:\n    - job: {id: a}\n")),
        "Workflow.jobs[0].job.type",
        "type cannot be null",
    );
    expect(
        "top-level key",
        yaml_errors_of("Workflow:\n  id: w\n  jobs: []\nextra: 1\n"),
        "extra",
        "unknown top-level key",
    );
    // Converted fine, then validated on the model: paths are the model's.
    expect(
        "cycle via the DSL",
        yaml_errors_of(&wf(
            "  jobs:\n    - job: {id: a, type: NoOp, transition: [b]}\n    - job: {id: b, type: NoOp, transition: [a]}\n",
        )),
        "workflow.steps",
        "cycle",
    );
}

#[test]
fn run_params_and_templates() {
    let params: ParamMap = serde_json::from_value(json!({
        "params": {"value": "x", "type": "STRING"},
        "ok": {"value": "y", "type": "STRING", "source": "LAUNCH"}}))
    .expect("params");
    let errors = validate_run_params(&params, &JsonPath::root().key("run_params")).errors;
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "run_params.params");
    assert!(got[0].1.contains("reserved param names"));
    assert_eq!(got[1].0, "run_params.ok.source");
    assert!(got[1].1.contains("cannot set param source"));

    let many: ParamMap = (0..129)
        .map(|i| {
            let def = serde_json::from_value(json!({"value": 1, "type": "LONG"})).expect("def");
            (format!("p{i}"), def)
        })
        .collect();
    let errors = validate_run_params(&many, &JsonPath::root().key("run_params")).errors;
    expect(
        "too many run params",
        errors,
        "run_params",
        "more than param size limit 128",
    );

    let t: JobTemplateCreateRequest = from_value(json!({"status": "s", "support": "t",
        "definition": {"job_type": "shell", "step_type": "Notebook", "version": "v1"}}))
    .expect("template");
    expect(
        "template owner",
        validate_job_template(&t).errors,
        "owner",
        "required in a job template",
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let mut doc = base();
    set(&mut doc, "/workflow/id", json!("maestro_wf"));
    set(&mut doc, "/properties/step_concurrency", json!(5000));
    set(
        &mut doc,
        "/workflow/steps/0/step/transition/successors/zz",
        json!("true"),
    );
    set(&mut doc, "/workflow/steps/2/foreach/concurrency", json!(0));
    set(&mut doc, "/workflow/params/q", json!({"type": "LONG"}));
    set(
        &mut doc,
        "/workflow/steps/2/foreach/steps/0/step/id",
        json!("a"),
    );
    let errors = errors_of(&doc);
    let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "properties.step_concurrency",
            "workflow.id",
            "workflow.params.q",
            "workflow.steps[0].step.transition.successors",
            "workflow.steps[2].foreach.concurrency",
            "workflow.steps[2].foreach.steps[0].step.id",
        ],
        "{errors:#?}"
    );
}

#[test]
fn several_parse_errors_are_reported_at_once() {
    let mut doc = base();
    set(&mut doc, "/workflow/colour", json!("red"));
    set(&mut doc, "/workflow/steps/0/step/retries", json!(3));
    set(&mut doc, "/workflow/params/p/value", json!("x"));
    let errors = errors_of(&doc);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "workflow.params.p.value",
            "workflow.steps[0].step.retries",
            "workflow.colour"
        ],
        "{errors:#?}"
    );
}
