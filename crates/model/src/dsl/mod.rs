//! Maestro's YAML DSL (§11), converted into the same [`WorkflowCreateRequest`] as JSON.
//!
//! ```yaml
//! Workflow:                 # or `workflow`
//!   id: my-wf
//!   owner: tester           # properties.owner
//!   run_strategy: parallel  # properties.run_strategy (+ workflow_concurrency)
//!   param0: 15              # any other key is a workflow param
//!   dag: sequential         # or parallel, or {job_id: [transitions]}
//!   jobs:
//!     - job: {id: a, type: NoOp, transition: ["IF param0 > 1 THEN b", "OTHERWISE c"]}
//!     - foreach: {id: f, params: {d: [1, 2]}, ranges: {h: {from: 0, to: 24}}, jobs: [...]}
//!     - while: {id: w, params: {i: 1}, condition: "i < 10", jobs: [...]}
//!     - subworkflow: {id: s, workflow_id: other-wf, version: default}
//! ```
//!
//! The input is a JSON value (YAML is read into one first), so paths in errors are the YAML's:
//! `Workflow.jobs[2].job.transition[1]`. Every problem is reported, not only the first.
//!
//! A job `type` that is not a built-in step type names a job template; a [`StepTypeResolver`]
//! turns it into the step type (the server asks its job template store). Unlike Maestro's
//! parser, the `type_version` of such a job is kept as the step's `sub_type_version`.
//!
//! `type: shell` is Baton's Shell step when the job has a `shell` param
//! (`'shell<pmap>': {script: …}`); without one it is the `shell` job template of Maestro's
//! samples and is resolved like any other job type.

mod params;
mod transition;

use crate::definition::{
    Criticality, FailureMode, ForeachStep, ParsableLong, Properties, RunStrategy, RunStrategyRule,
    Step, StepKind, StepTransition, StepType, SubworkflowStep, Tag, TagList, TypedStep, User,
    WhileStep, Workflow, WorkflowCreateRequest,
};
use crate::params::{ParamDefinition, ParamMap, ParamType, ParamValue};
use crate::path::{FieldError, JsonPath};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// Step concurrency the DSL always sets.
const DSL_STEP_CONCURRENCY: i64 = 20;

/// Resolves a job type that is not a built-in step type (a job template's `job_type`).
pub trait StepTypeResolver {
    /// The step type of `job_type` at `version`, if known.
    fn resolve(&self, job_type: &str, version: Option<&str>) -> Option<StepType>;
}

impl<F: Fn(&str, Option<&str>) -> Option<StepType>> StepTypeResolver for F {
    fn resolve(&self, job_type: &str, version: Option<&str>) -> Option<StepType> {
        self(job_type, version)
    }
}

/// Resolves every job type to `template`: the step keeps its `sub_type` and validation warns
/// that it must be resolved from a job template before it can run. For tools that have no job
/// template store, such as `baton validate`.
pub fn unresolved_as_template(_job_type: &str, _version: Option<&str>) -> Option<StepType> {
    Some(StepType::Template)
}

/// True when a value looks like a DSL document (a `Workflow` or `workflow` top-level key).
pub fn is_dsl(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|o| o.contains_key("Workflow") || o.contains_key("workflow"))
}

/// Converts a DSL document into a create request.
pub fn convert(
    value: &Value,
    resolver: &dyn StepTypeResolver,
) -> Result<WorkflowCreateRequest, Vec<FieldError>> {
    let mut c = Converter {
        resolver,
        errors: Vec::new(),
    };
    let req = c.document(value);
    if c.errors.is_empty()
        && let Some(req) = req
    {
        return Ok(req);
    }
    Err(c
        .errors
        .into_iter()
        .map(|(p, m)| FieldError::new(p, m))
        .collect())
}

const JOB_KINDS: &[&str] = &["job", "subworkflow", "foreach", "while"];

fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "job" => &["type", "type_version"],
        "foreach" => &[
            "concurrency",
            "job_concurrency",
            "loop_params",
            "params",
            "ranges",
            "jobs",
            "dag",
        ],
        "while" => &["loop_params", "params", "condition", "jobs", "dag"],
        _ => &[
            "workflow_id",
            "subworkflow_id",
            "version",
            "subworkflow_version",
            "sync",
            "explicit_params",
        ],
    }
}

/// A job read far enough to apply a `dag` to it.
struct Job<'a> {
    kind: &'static str,
    id: String,
    transition: Option<Vec<String>>,
    body: &'a Map<String, Value>,
    at: JsonPath,
}

struct Converter<'r> {
    resolver: &'r dyn StepTypeResolver,
    errors: Vec<(JsonPath, String)>,
}

impl Converter<'_> {
    fn err(&mut self, at: JsonPath, msg: impl Into<String>) {
        self.errors.push((at, msg.into()));
    }

    fn document(&mut self, value: &Value) -> Option<WorkflowCreateRequest> {
        let root = JsonPath::root();
        let Some(obj) = value.as_object() else {
            self.err(root, "a DSL document must be a map with a `Workflow` key");
            return None;
        };
        let mut wf = None;
        for (k, v) in obj {
            if k == "Workflow" || k == "workflow" {
                wf = Some((k, v));
            } else {
                self.err(
                    root.key(k),
                    format!("unknown top-level key `{k}`, expected `Workflow`"),
                );
            }
        }
        let Some((key, v)) = wf else {
            self.err(root, "missing the `Workflow` key");
            return None;
        };
        let at = root.key(key);
        let Some(obj) = v.as_object() else {
            self.err(at, "`Workflow` must be a map");
            return None;
        };
        Some(self.workflow(obj, &at))
    }

    fn string(&mut self, v: &Value, at: &JsonPath) -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            // Jackson turns scalars into text for string fields.
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.err(at.clone(), "expected a string");
                None
            }
        }
    }

    fn long(&mut self, v: &Value, at: &JsonPath) -> Option<i64> {
        match v {
            Value::Null => None,
            Value::Number(n) if n.is_i64() => n.as_i64(),
            Value::String(s) if crate::duration::parse_numeric(s).is_some() => {
                crate::duration::parse_numeric(s)
            }
            _ => {
                self.err(at.clone(), "expected an integer");
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, at: &JsonPath) -> Option<bool> {
        match v {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            _ => {
                self.err(at.clone(), "expected true or false");
                None
            }
        }
    }

    fn strings(&mut self, v: &Value, at: &JsonPath) -> Option<Vec<String>> {
        match v {
            Value::Null => None,
            Value::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.string(item, &at.index(i)))
                    .collect(),
            ),
            _ => {
                self.err(at.clone(), "expected a list of strings");
                None
            }
        }
    }

    fn tags(&mut self, v: &Value, at: &JsonPath) -> Option<TagList> {
        self.strings(v, at)
            .map(|names| TagList(names.into_iter().map(Tag::new).collect()))
    }

    fn workflow(&mut self, obj: &Map<String, Value>, at: &JsonPath) -> WorkflowCreateRequest {
        let mut wf = Workflow::default();
        let mut props = Properties {
            step_concurrency: Some(DSL_STEP_CONCURRENCY),
            ..Properties::default()
        };
        let mut rule: Option<RunStrategyRule> = None;
        let mut concurrency: Option<i64> = None;
        let mut param_entries = Vec::new();
        let mut jobs_value = None;
        let mut dag_value = None;
        for (k, v) in obj {
            let k_at = at.key(k);
            match k.as_str() {
                "id" => wf.id = self.string(v, &k_at).unwrap_or_default(),
                "name" => wf.name = self.string(v, &k_at),
                "description" => wf.description = self.string(v, &k_at),
                "owner" => props.owner = self.string(v, &k_at).map(User::new),
                "run_strategy" => {
                    if let Some(s) = self.string(v, &k_at) {
                        match RunStrategyRule::parse(&s) {
                            Some(r) => rule = Some(r),
                            None => self.err(
                                k_at,
                                format!(
                                    "unknown run strategy `{s}`, expected one of {}",
                                    RunStrategyRule::expected()
                                ),
                            ),
                        }
                    }
                }
                "workflow_concurrency" => concurrency = self.long(v, &k_at),
                "tags" => wf.tags = self.tags(v, &k_at),
                "timeout" => wf.timeout = self.string(v, &k_at).map(ParsableLong::String),
                "criticality" => {
                    if let Some(s) = self.string(v, &k_at) {
                        match Criticality::parse(&s) {
                            Some(c) => wf.criticality = Some(c),
                            None => self.err(
                                k_at,
                                format!(
                                    "unknown criticality `{s}`, expected one of {}",
                                    Criticality::expected()
                                ),
                            ),
                        }
                    }
                }
                "jobs" => jobs_value = Some((v, k_at)),
                "dag" => dag_value = Some((v, k_at)),
                "workflow_params" => self.err(
                    k_at,
                    "[workflow_params] is a reserved field and cannot be set within workflow params",
                ),
                _ => param_entries.push((k, v)),
            }
        }
        props.run_strategy = Some(match rule {
            Some(r) => RunStrategy::with_concurrency(r, concurrency),
            None => RunStrategy::default(),
        });
        wf.params = Some(params::parse(&param_entries, at, &mut self.errors));
        wf.steps = self.jobs_with_dag(jobs_value, dag_value);
        WorkflowCreateRequest {
            properties: Some(props),
            workflow: wf,
            is_active: Some(true),
            git_info: None,
            extra: IndexMap::new(),
        }
    }

    /// Reads a `jobs` list, applies its sibling `dag`, and converts the jobs to steps.
    fn jobs_with_dag(
        &mut self,
        jobs: Option<(&Value, JsonPath)>,
        dag: Option<(&Value, JsonPath)>,
    ) -> Vec<Step> {
        let Some((jobs_value, jobs_at)) = jobs else {
            return Vec::new();
        };
        let Some(items) = jobs_value.as_array() else {
            self.err(jobs_at, "`jobs` must be a list");
            return Vec::new();
        };
        let mut jobs: Vec<Job> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.read_job(item, &jobs_at.index(i)))
            .collect();
        if let Some((dag, dag_at)) = dag {
            self.apply_dag(&mut jobs, dag, &dag_at);
        }
        jobs.iter().filter_map(|j| self.convert_job(j)).collect()
    }

    fn read_job<'a>(&mut self, item: &'a Value, at: &JsonPath) -> Option<Job<'a>> {
        let Some(obj) = item.as_object() else {
            self.err(
                at.clone(),
                "a job must be a map with one key: job, subworkflow, foreach or while",
            );
            return None;
        };
        if obj.len() != 1 {
            self.err(
                at.clone(),
                "a job must be a map with exactly one key: job, subworkflow, foreach or while",
            );
            return None;
        }
        let (key, body) = obj.iter().next()?;
        let at = at.key(key);
        let Some(kind) = JOB_KINDS
            .iter()
            .copied()
            .find(|k| k.eq_ignore_ascii_case(key))
        else {
            self.err(
                at,
                format!(
                    "unknown job kind `{key}`, expected one of job, subworkflow, foreach, while"
                ),
            );
            return None;
        };
        let Some(body) = body.as_object() else {
            self.err(at, "a job must be a map");
            return None;
        };
        let id = body
            .get("id")
            .and_then(|v| self.string(v, &at.key("id")))
            .unwrap_or_default();
        let transition = match body.get("transition") {
            None => None,
            Some(v) => self.strings(v, &at.key("transition")),
        };
        Some(Job {
            kind,
            id,
            transition,
            body,
            at,
        })
    }

    fn apply_dag(&mut self, jobs: &mut [Job], dag: &Value, at: &JsonPath) {
        match dag {
            Value::String(order) if order.eq_ignore_ascii_case("sequential") => {
                for i in 0..jobs.len().saturating_sub(1) {
                    let next = jobs[i + 1].id.clone();
                    if jobs[i].transition.as_ref().is_none_or(Vec::is_empty) {
                        jobs[i].transition = Some(vec![next]);
                    }
                }
            }
            Value::String(order) if order.eq_ignore_ascii_case("parallel") => {}
            Value::String(order) => self.err(
                at.clone(),
                format!(
                    "Invalid DAG order: {order}. Supported orders are SEQUENTIAL and PARALLEL."
                ),
            ),
            Value::Object(map) => {
                for (job_id, lines) in map {
                    let l_at = at.key(job_id);
                    let lines = self.strings(lines, &l_at);
                    match jobs.iter_mut().find(|j| &j.id == job_id) {
                        None => self.err(
                            l_at,
                            format!("DAG transition refers to an unknown job id: [{job_id}]"),
                        ),
                        Some(job) => {
                            if job.transition.as_ref().is_none_or(Vec::is_empty) {
                                job.transition = lines;
                            }
                        }
                    }
                }
            }
            _ => self.err(
                at.clone(),
                "`dag` must be `sequential`, `parallel` or a map of job id to transitions",
            ),
        }
    }

    fn convert_job(&mut self, job: &Job) -> Option<Step> {
        let at = &job.at;
        let mut step = Step {
            id: job.id.clone(),
            name: None,
            description: None,
            transition: StepTransition::default(),
            failure_mode: None,
            tags: None,
            timeout: None,
            signal_dependencies: None,
            signal_outputs: None,
            params: None,
            kind: StepKind::Subworkflow(SubworkflowStep::default()),
        };
        let own = kind_keys(job.kind);
        let mut param_entries = Vec::new();
        for (k, v) in job.body {
            let k_at = at.key(k);
            match k.as_str() {
                "id" | "transition" => {}
                "name" => step.name = self.string(v, &k_at),
                "description" => step.description = self.string(v, &k_at),
                "failure_mode" => {
                    if let Some(s) = self.string(v, &k_at) {
                        match FailureMode::parse(&s) {
                            Some(m) => step.failure_mode = Some(m),
                            None => self.err(
                                k_at,
                                format!(
                                    "unknown failure mode `{s}`, expected one of {}",
                                    FailureMode::expected()
                                ),
                            ),
                        }
                    }
                }
                "tags" => step.tags = self.tags(v, &k_at),
                "timeout" => step.timeout = self.string(v, &k_at).map(ParsableLong::String),
                "job_params" => self.err(
                    k_at,
                    "[job_params] is a reserved field and cannot be set within job params",
                ),
                _ if own.contains(&k.as_str()) => {}
                _ => param_entries.push((k, v)),
            }
        }
        let mut params = params::parse(&param_entries, at, &mut self.errors);
        if let Some(lines) = &job.transition
            && !lines.is_empty()
        {
            match transition::parse(lines) {
                Ok(t) => step.transition = t,
                Err(es) => {
                    for (i, m) in es {
                        self.err(at.key("transition").index(i), m);
                    }
                }
            }
        }
        let get = |k: &str| job.body.get(k);
        step.kind = match job.kind {
            "job" => {
                let type_at = at.key("type");
                let Some(ty_text) = get("type").and_then(|v| self.string(v, &type_at)) else {
                    self.err(
                        type_at,
                        format!("type cannot be null for job id: [{}]", job.id),
                    );
                    return None;
                };
                let version =
                    get("type_version").and_then(|v| self.string(v, &at.key("type_version")));
                // `shell` is both Baton's Shell step and the job type of Maestro's sample job
                // template: without a `shell` param it is taken as the job template.
                let builtin = StepType::parse(&ty_text)
                    .filter(|t| *t != StepType::Shell || params.contains_key("shell"));
                let (step_type, sub_type) = match builtin {
                    Some(t) => (t, None),
                    None => match self.resolver.resolve(&ty_text, version.as_deref()) {
                        Some(t) => (t, Some(ty_text.clone())),
                        None => {
                            self.err(
                                type_at,
                                format!(
                                    "cannot find step type for job id: [{}] with job type: [{ty_text}]",
                                    job.id
                                ),
                            );
                            return None;
                        }
                    },
                };
                let sub_type_version = sub_type.as_ref().and(version);
                StepKind::Typed(TypedStep {
                    step_type,
                    sub_type,
                    sub_type_version,
                    retry_policy: None,
                })
            }
            "subworkflow" => {
                let wf_id = get("workflow_id")
                    .or_else(|| get("subworkflow_id"))
                    .and_then(|v| self.string(v, &at.key("workflow_id")))
                    .unwrap_or_else(|| job.id.clone());
                params.insert(
                    "subworkflow_id".into(),
                    ParamDefinition::literal(ParamValue::String(wf_id)),
                );
                if let Some(version) = get("version")
                    .or_else(|| get("subworkflow_version"))
                    .and_then(|v| self.string(v, &at.key("version")))
                {
                    params.insert(
                        "subworkflow_version".into(),
                        ParamDefinition::literal(ParamValue::String(version)),
                    );
                }
                StepKind::Subworkflow(SubworkflowStep {
                    sync: get("sync").and_then(|v| self.boolean(v, &at.key("sync"))),
                    explicit_params: get("explicit_params")
                        .and_then(|v| self.boolean(v, &at.key("explicit_params"))),
                })
            }
            "foreach" => {
                let concurrency = get("concurrency")
                    .or_else(|| get("job_concurrency"))
                    .and_then(|v| self.long(v, &at.key("concurrency")));
                let steps = self.jobs_with_dag(
                    get("jobs").map(|v| (v, at.key("jobs"))),
                    get("dag").map(|v| (v, at.key("dag"))),
                );
                let mut loop_params = self.loop_params(job, at).unwrap_or_default();
                if let Some(ranges) = get("ranges") {
                    self.ranges(ranges, &at.key("ranges"), &mut loop_params);
                }
                params.insert(
                    "loop_params".into(),
                    ParamDefinition::literal(ParamValue::Map(loop_params)),
                );
                StepKind::Foreach(ForeachStep {
                    concurrency,
                    strict_ordering: None,
                    steps,
                })
            }
            _ => {
                let condition = get("condition")
                    .and_then(|v| self.string(v, &at.key("condition")))
                    .unwrap_or_default();
                let steps = self.jobs_with_dag(
                    get("jobs").map(|v| (v, at.key("jobs"))),
                    get("dag").map(|v| (v, at.key("dag"))),
                );
                if let Some(lp) = self.loop_params(job, at) {
                    params.insert(
                        "loop_params".into(),
                        ParamDefinition::literal(ParamValue::Map(lp)),
                    );
                }
                StepKind::While(WhileStep { condition, steps })
            }
        };
        step.params = Some(params);
        Some(step)
    }

    /// `loop_params` (or its alias `params`) of a foreach or while job.
    fn loop_params(&mut self, job: &Job, at: &JsonPath) -> Option<ParamMap> {
        let (key, v) = ["loop_params", "params"]
            .iter()
            .find_map(|k| job.body.get(*k).map(|v| (*k, v)))?;
        let lp_at = at.key(key);
        match v {
            Value::Object(obj) => {
                let entries: Vec<(&String, &Value)> = obj.iter().collect();
                Some(params::parse(&entries, &lp_at, &mut self.errors))
            }
            Value::Null => None,
            _ => {
                self.err(lp_at, "loop params must be a map of param name to values");
                None
            }
        }
    }

    /// `ranges: {x: {from, to, increment}}` → LONG_ARRAY `Util.intsBetween(from, to, increment);`.
    fn ranges(&mut self, v: &Value, at: &JsonPath, out: &mut ParamMap) {
        let Some(obj) = v.as_object() else {
            self.err(
                at.clone(),
                "ranges must be a map of name to {from, to, increment}",
            );
            return;
        };
        for (name, r) in obj {
            let r_at = at.key(name);
            let Some(range) = r.as_object() else {
                self.err(r_at, "a range must be a map with from, to and increment");
                continue;
            };
            for k in range.keys() {
                if !["from", "to", "increment"].contains(&k.as_str()) {
                    self.err(
                        r_at.key(k),
                        format!("unknown range field `{k}`, expected from, to or increment"),
                    );
                }
            }
            let from = range
                .get("from")
                .and_then(|v| self.long(v, &r_at.key("from")))
                .unwrap_or(0);
            let increment = range
                .get("increment")
                .and_then(|v| self.long(v, &r_at.key("increment")))
                .unwrap_or(1);
            let Some(to) = range.get("to").and_then(|v| self.long(v, &r_at.key("to"))) else {
                self.err(r_at.key("to"), "a range needs `to`");
                continue;
            };
            out.insert(
                name.clone(),
                ParamDefinition::expression(
                    ParamType::LongArray,
                    format!("Util.intsBetween({from}, {to}, {increment});"),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(v: Value) -> Result<WorkflowCreateRequest, Vec<FieldError>> {
        convert(&v, &unresolved_as_template)
    }

    #[test]
    fn sequential_dag_adds_edges_only_where_missing() {
        let r = conv(
            json!({"Workflow": {"id": "w", "dag": "sequential", "jobs": [
            {"job": {"id": "a", "type": "NoOp"}},
            {"job": {"id": "b", "type": "NoOp", "transition": ["d"]}},
            {"job": {"id": "c", "type": "NoOp"}},
            {"job": {"id": "d", "type": "NoOp"}}]}}),
        )
        .unwrap();
        let s = &r.workflow.steps;
        assert_eq!(s[0].transition.successors.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(s[1].transition.successors.keys().collect::<Vec<_>>(), ["d"]);
        assert_eq!(s[2].transition.successors.keys().collect::<Vec<_>>(), ["d"]);
        assert!(s[3].transition.is_empty());
        let props = r.properties.unwrap();
        assert_eq!(props.step_concurrency, Some(20));
        assert_eq!(props.run_strategy, Some(RunStrategy::default()));
        assert_eq!(r.is_active, Some(true));
    }

    #[test]
    fn unknown_job_types_are_resolved() {
        let spark = |t: &str, v: Option<&str>| {
            (t == "spark" && v == Some("v1")).then_some(StepType::Notebook)
        };
        let v = json!({"workflow": {"id": "w", "jobs": [{"job": {"id": "a", "type": "spark", "type_version": "v1"}}]}});
        let r = convert(&v, &spark).unwrap();
        let StepKind::Typed(t) = &r.workflow.steps[0].kind else {
            panic!()
        };
        assert_eq!(t.step_type, StepType::Notebook);
        assert_eq!(t.sub_type.as_deref(), Some("spark"));
        assert_eq!(t.sub_type_version.as_deref(), Some("v1"));
        let none = |_: &str, _: Option<&str>| None;
        let err = convert(&v, &none).unwrap_err();
        assert_eq!(err[0].path.as_str(), "workflow.jobs[0].job.type");
        let shell = json!({"workflow": {"id": "w", "jobs": [{"job": {"id": "a", "type": "shell", "shell<pmap>": {"script": "echo hi"}}}]}});
        let r = convert(&shell, &none).unwrap();
        assert_eq!(r.workflow.steps[0].step_type(), StepType::Shell);
        assert_eq!(
            r.workflow.steps[0].param("shell").unwrap().param_type,
            ParamType::Map
        );
    }

    #[test]
    fn all_errors_with_yaml_paths() {
        let err = conv(
            json!({"Workflow": {"id": "w", "workflow_params": 1, "x<int>": 1,
            "dag": {"nope": ["a"]}, "jobs": [
            {"job": {"id": "a", "type": "NoOp", "transition": ["GOTO b"]}},
            {"loop": {"id": "b"}},
            {"foreach": {"id": "f", "ranges": {"h": {"from": 1}}, "jobs": []}}]}}),
        )
        .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|e| e.path.as_str()).collect();
        for p in [
            "Workflow.workflow_params",
            "Workflow.x<int>",
            "Workflow.dag.nope",
            "Workflow.jobs[0].job.transition[0]",
            "Workflow.jobs[1].loop",
            "Workflow.jobs[2].foreach.ranges.h.to",
        ] {
            assert!(paths.contains(&p), "{p} missing from {paths:?}");
        }
    }
}
