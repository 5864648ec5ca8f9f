//! Step rules: ids, step counts, duplicate ids across levels, the graph of every level,
//! loop params and nesting, retry policies, signals, and the params each step type needs.

use super::Ctx;
use super::ids::{check_description, check_name_size, check_reference_id};
use super::params::{ParamSite, definition, param_map};
use super::workflow::{check_timeout, tag_list};
use crate::dag::{Dag, DagError};
use crate::definition::{
    ForeachStep, RetryPolicy, SignalDependencyDefinition, SignalOutputDefinition, Step, StepKind,
    StepType, TypedStep, WhileStep, Workflow,
};
use crate::params::{ParamDefinition, ParamType, ParamValue};
use crate::path::JsonPath;
use std::collections::{HashMap, HashSet};

/// Most steps in a workflow, counting every loop body.
pub const STEP_LIST_SIZE_LIMIT: usize = 300;
/// Deepest nesting of foreach/while steps: iterations of the innermost run at this instance
/// depth, which must stay below Maestro's depth limit of 10.
pub const MAX_LOOP_NESTING: usize = 9;
/// Most concurrent foreach iterations.
const FOREACH_CONCURRENCY_MAX: i64 = 500;
const LOOP_PARAMS: &str = "loop_params";

pub(super) fn workflow_steps(ctx: &mut Ctx, wf: &Workflow, at: &JsonPath) {
    let steps_at = at.key("steps");
    if wf.steps.is_empty() {
        ctx.error(
            steps_at.clone(),
            "[workflow step definitions] cannot be null or empty",
        );
        return;
    }
    let total = wf.all_steps().len();
    let limit = if ctx.step_limit == 0 {
        STEP_LIST_SIZE_LIMIT
    } else {
        ctx.step_limit
    };
    if total > limit {
        ctx.error(
            steps_at.clone(),
            format!(
                "[workflow step list] is too large [{total}] and over the size limit [{limit}] (nested foreach/while steps count)"
            ),
        );
    }
    let mut first_seen: HashMap<&str, JsonPath> = HashMap::new();
    duplicate_ids(ctx, &wf.steps, &steps_at, &mut first_seen);
    let mut walker = Walker {
        ctx,
        loop_names: Vec::new(),
    };
    walker.level(&wf.steps, &steps_at, 0);
}

fn step_at(steps_at: &JsonPath, i: usize, step: &Step) -> JsonPath {
    steps_at.index(i).key(step.wrapper_key())
}

fn duplicate_ids<'a>(
    ctx: &mut Ctx,
    steps: &'a [Step],
    steps_at: &JsonPath,
    first_seen: &mut HashMap<&'a str, JsonPath>,
) {
    for (i, s) in steps.iter().enumerate() {
        let at = step_at(steps_at, i, s);
        if !s.id.is_empty() {
            match first_seen.get(s.id.as_str()) {
                Some(first) => ctx.error(
                    at.key("id"),
                    format!(
                        "[workflow step definitions] contain duplicate step ids: [{}] is also used at {first}",
                        s.id
                    ),
                ),
                None => {
                    first_seen.insert(&s.id, at.key("id"));
                }
            }
        }
        if let Some(body) = s.body() {
            duplicate_ids(ctx, body, &at.key("steps"), first_seen);
        }
    }
}

struct Walker<'c> {
    ctx: &'c mut Ctx,
    /// Loop param names of the enclosing foreach/while steps.
    loop_names: Vec<String>,
}

impl Walker<'_> {
    /// One level: each step, then the level's graph. `nesting` counts enclosing loop steps.
    fn level(&mut self, steps: &[Step], steps_at: &JsonPath, nesting: usize) {
        for (i, s) in steps.iter().enumerate() {
            self.step(s, &step_at(steps_at, i, s), nesting);
        }
        self.graph(steps, steps_at);
    }

    fn graph(&mut self, steps: &[Step], steps_at: &JsonPath) {
        // Declared predecessors must match the edges.
        let mut computed: HashMap<&str, HashSet<&str>> = HashMap::new();
        for s in steps {
            for to in s.transition.successors.keys() {
                computed.entry(to.as_str()).or_default().insert(&s.id);
            }
        }
        for (i, s) in steps.iter().enumerate() {
            let preds = &s.transition.predecessors;
            if preds.is_empty() {
                continue;
            }
            let at = step_at(steps_at, i, s)
                .key("transition")
                .key("predecessors");
            let declared: HashSet<&str> = preds.iter().map(String::as_str).collect();
            if declared.len() != preds.len() {
                self.ctx.error(
                    at.clone(),
                    format!("Invalid predecessor list as there are duplicate step ids: {preds:?}"),
                );
            }
            let empty = HashSet::new();
            let expected = computed.get(s.id.as_str()).unwrap_or(&empty);
            if &declared != expected {
                let mut exp: Vec<&str> = expected.iter().copied().collect();
                exp.sort_unstable();
                self.ctx.error(
                    at,
                    format!(
                        "[workflow step transition] is invalid for step [{}]'s predecessors list {preds:?}, which does not match the one computed from the DAG {exp:?}",
                        s.id
                    ),
                );
            }
        }
        if let Err(errors) = Dag::from_steps(steps) {
            for e in errors {
                match &e {
                    // Reported once for the whole workflow by `duplicate_ids`.
                    DagError::DuplicateId { .. } => {}
                    DagError::UnknownSuccessor { from, .. } => self.ctx.error(
                        step_at(steps_at, *from, &steps[*from])
                            .key("transition")
                            .key("successors"),
                        format!("[workflow step transition] is invalid: {e}"),
                    ),
                    DagError::Cycle(_) => self.ctx.error(steps_at.clone(), e.to_string()),
                }
            }
        }
    }

    fn step(&mut self, s: &Step, at: &JsonPath, nesting: usize) {
        let ctx = &mut *self.ctx;
        ctx.check(at.key("id"), check_reference_id(&s.id));
        if let Some(n) = &s.name {
            ctx.check(at.key("name"), check_name_size(n));
        }
        if let Some(d) = &s.description {
            ctx.check(at.key("description"), check_description(d));
        }
        if let Some(tags) = &s.tags {
            tag_list(ctx, tags, &at.key("tags"));
        }
        if let Some(t) = &s.timeout {
            ctx.check(at.key("timeout"), check_timeout(t));
        }
        if let Some(deps) = &s.signal_dependencies {
            signal_dependencies(ctx, deps, &at.key("signal_dependencies"));
        }
        if let Some(outs) = &s.signal_outputs {
            signal_outputs(ctx, outs, &at.key("signal_outputs"));
        }
        if let Some(params) = &s.params {
            param_map(ctx, params, &at.key("params"), ParamSite::Definition);
        }
        match &s.kind {
            StepKind::Typed(t) => typed(ctx, s, t, at),
            StepKind::Foreach(f) => self.foreach(s, f, at, nesting),
            StepKind::While(w) => self.while_step(s, w, at, nesting),
            StepKind::Subworkflow(_) => {
                required_param(ctx, s, at, "subworkflow_id", Some(ParamType::String));
                if let Some(v) = s.param("subworkflow_version") {
                    param_type_is(
                        ctx,
                        v,
                        &at.key("params").key("subworkflow_version"),
                        ParamType::String,
                    );
                }
            }
            StepKind::Template(_) => ctx.warn(
                at.clone(),
                "template steps are placeholders: neither Maestro nor Baton can run them",
            ),
        }
    }

    fn foreach(&mut self, s: &Step, f: &ForeachStep, at: &JsonPath, nesting: usize) {
        if let Some(c) = f.concurrency
            && !(1..=FOREACH_CONCURRENCY_MAX).contains(&c)
        {
            self.ctx.error(
                at.key("concurrency"),
                format!("foreach concurrency must be between 1 and {FOREACH_CONCURRENCY_MAX} - rejected value is [{c}]"),
            );
        }
        self.loop_step(s, &f.steps, at, nesting, "foreach");
    }

    fn while_step(&mut self, s: &Step, w: &WhileStep, at: &JsonPath, nesting: usize) {
        if w.condition.trim().is_empty() {
            self.ctx.error(
                at.key("condition"),
                "a while step needs a condition (a SEL expression checked before every iteration)",
            );
        }
        self.loop_step(s, &w.steps, at, nesting, "while");
    }

    /// Loop params, body and nesting, shared by foreach and while.
    fn loop_step(&mut self, s: &Step, body: &[Step], at: &JsonPath, nesting: usize, kind: &str) {
        let names = self.loop_params(s, at, kind);
        if body.is_empty() {
            self.ctx.error(
                at.key("steps"),
                format!("a {kind} step needs at least one step in its body"),
            );
        }
        if nesting + 1 > MAX_LOOP_NESTING {
            // Report at the first level too deep only.
            if nesting == MAX_LOOP_NESTING {
                self.ctx.error(
                    at.clone(),
                    format!(
                        "foreach/while steps are nested too deep: this {kind} step is inside {nesting} loops; its iterations would exceed the instance depth limit of 10"
                    ),
                );
            }
        }
        let pushed = names.len();
        self.loop_names.extend(names);
        self.level(body, &at.key("steps"), nesting + 1);
        self.loop_names.truncate(self.loop_names.len() - pushed);
    }

    /// Checks `params.loop_params` and returns its names (for the enclosing-loop rule).
    fn loop_params(&mut self, s: &Step, at: &JsonPath, kind: &str) -> Vec<String> {
        let ctx = &mut *self.ctx;
        let params_at = at.key("params");
        let Some(lp) = s.param(LOOP_PARAMS) else {
            ctx.error(
                params_at,
                format!("[{LOOP_PARAMS}] is a required parameter of a {kind} step"),
            );
            return Vec::new();
        };
        let lp_at = params_at.key(LOOP_PARAMS);
        if lp.param_type != ParamType::Map {
            ctx.error(
                lp_at.key("type"),
                format!("[{LOOP_PARAMS}] must be a MAP param, not {}", lp.param_type),
            );
            return Vec::new();
        }
        let Some(ParamValue::Map(entries)) = &lp.value else {
            return Vec::new();
        };
        let mut names = Vec::new();
        for (name, def) in entries {
            let entry_at = lp_at.key("value").key(name);
            let ok = if kind == "foreach" {
                def.param_type.is_array()
            } else {
                def.param_type.is_scalar()
            };
            if !ok {
                let want = if kind == "foreach" {
                    "an array (STRING_ARRAY, LONG_ARRAY, DOUBLE_ARRAY or BOOLEAN_ARRAY): iterations are the cross product of the arrays"
                } else {
                    "a scalar (STRING, LONG, DOUBLE or BOOLEAN)"
                };
                ctx.error(
                    entry_at.key("type"),
                    format!(
                        "a {kind} loop param must be {want}, [{name}] is {}",
                        def.param_type
                    ),
                );
            }
            if self.loop_names.iter().any(|n| n == name) {
                ctx.error(
                    entry_at,
                    format!(
                        "[workflow step definitions] contain duplicate loop param name [{name}]: an enclosing foreach/while step already uses it"
                    ),
                );
            }
            names.push(name.clone());
        }
        names
    }
}

fn typed(ctx: &mut Ctx, s: &Step, t: &TypedStep, at: &JsonPath) {
    let type_at = at.key("type");
    match t.step_type {
        StepType::Join => ctx.error(
            type_at,
            "Join is an internal gate type and cannot be used in a definition",
        ),
        StepType::Foreach | StepType::While | StepType::Subworkflow => ctx.error(
            type_at,
            format!(
                "a {0} step is written as {{\"{0}\": {{…}}}}, not as a typed step",
                t.step_type
            ),
        ),
        StepType::Template if t.sub_type.is_some() => ctx.warn(
            type_at,
            format!(
                "job type [{}] is not a built-in step type; it must be resolved from a job template before the step can run",
                t.sub_type.as_deref().unwrap_or_default()
            ),
        ),
        StepType::Template => ctx.error(
            type_at,
            "a typed step of type template needs a sub_type (the job template)",
        ),
        StepType::Titus => ctx.warn(
            type_at,
            "Titus steps have no runtime in Baton (nor in Maestro OSS) and cannot run",
        ),
        _ => {}
    }
    if let Some(policy) = &t.retry_policy {
        retry_policy(ctx, policy, &at.key("retry_policy"));
    }
    // A job template may supply the required params.
    if t.sub_type.is_some() {
        return;
    }
    match t.step_type {
        StepType::Kubernetes => {
            map_entries(ctx, s, at, "kubernetes", &["image"], KUBERNETES_KEYS);
        }
        StepType::Notebook => {
            map_entries(ctx, s, at, "notebook", &["input_path"], NOTEBOOK_KEYS);
            map_entries(ctx, s, at, "kubernetes", &["image"], KUBERNETES_KEYS);
        }
        StepType::Http => {
            map_entries(ctx, s, at, "http", &["url"], HTTP_KEYS);
        }
        StepType::Shell => {
            map_entries(ctx, s, at, "shell", &["script"], SHELL_KEYS);
        }
        StepType::Sleep => {
            if let Some(p) = s.param("sleep_seconds") {
                param_category_is(
                    ctx,
                    p,
                    &at.key("params").key("sleep_seconds"),
                    ParamType::Long,
                );
            }
        }
        _ => {}
    }
}

const KUBERNETES_KEYS: &[(&str, ParamType)] = &[
    ("app_name", ParamType::String),
    ("cpu", ParamType::String),
    ("disk", ParamType::String),
    ("gpu", ParamType::String),
    ("memory", ParamType::String),
    ("image", ParamType::String),
    ("entrypoint", ParamType::String),
    ("command", ParamType::StringArray),
    ("args", ParamType::StringArray),
    ("env", ParamType::StringMap),
    ("job_deduplication_key", ParamType::String),
    ("owner_email", ParamType::String),
];
const NOTEBOOK_KEYS: &[(&str, ParamType)] = &[
    ("init_command", ParamType::String),
    ("git_branch", ParamType::String),
    ("git_commit", ParamType::String),
    ("git_repo", ParamType::String),
    ("input_path", ParamType::String),
    ("output_path", ParamType::String),
    ("papermill_arguments", ParamType::StringArray),
    ("run_id", ParamType::String),
];
const HTTP_KEYS: &[(&str, ParamType)] = &[
    ("url", ParamType::String),
    ("method", ParamType::String),
    ("headers", ParamType::StringMap),
    ("body", ParamType::String),
];
const SHELL_KEYS: &[(&str, ParamType)] = &[
    ("script", ParamType::String),
    ("interpreter", ParamType::String),
    ("env", ParamType::StringMap),
];

/// A required MAP param of a step type, its required entries, and the kind of value its known
/// entries hold.
fn map_entries(
    ctx: &mut Ctx,
    s: &Step,
    at: &JsonPath,
    name: &str,
    required: &[&str],
    known: &[(&str, ParamType)],
) {
    let Some(p) = s.param(name) else {
        ctx.error(
            at.key("params"),
            format!(
                "[{name}] is a required parameter of a {} step (a MAP param)",
                s.step_type()
            ),
        );
        return;
    };
    let p_at = at.key("params").key(name);
    if p.param_type != ParamType::Map {
        ctx.error(
            p_at.key("type"),
            format!("[{name}] must be a MAP param, not {}", p.param_type),
        );
        return;
    }
    let Some(ParamValue::Map(entries)) = &p.value else {
        return;
    };
    for key in required {
        if !entries.contains_key(*key) {
            ctx.error(
                p_at.key("value"),
                format!("[{key}] is a required parameter of the {name} map"),
            );
        }
    }
    for (key, ty) in known {
        if let Some(entry) = entries.get(*key) {
            param_category_is(ctx, entry, &p_at.key("value").key(key), *ty);
        }
    }
}

fn category(t: ParamType) -> u8 {
    if t.is_scalar() {
        0
    } else if t.is_array() {
        1
    } else {
        2 + (t == ParamType::Map) as u8
    }
}

/// Scalars convert into each other and arrays into arrays (as Maestro's merge casts); a scalar
/// given for an array or a map for a string is an error.
fn param_category_is(ctx: &mut Ctx, p: &ParamDefinition, at: &JsonPath, want: ParamType) {
    if category(p.param_type) != category(want) {
        ctx.error(
            at.key("type"),
            format!("must be a {want} param, not {}", p.param_type),
        );
    }
}

fn param_type_is(ctx: &mut Ctx, p: &ParamDefinition, at: &JsonPath, want: ParamType) {
    if p.param_type != want {
        ctx.error(
            at.key("type"),
            format!("must be a {want} param, not {}", p.param_type),
        );
    }
}

fn required_param(ctx: &mut Ctx, s: &Step, at: &JsonPath, name: &str, ty: Option<ParamType>) {
    match s.param(name) {
        None => ctx.error(
            at.key("params"),
            format!(
                "[{name}] is a required parameter of a {} step",
                s.step_type()
            ),
        ),
        Some(p) => {
            if let Some(ty) = ty {
                param_type_is(ctx, p, &at.key("params").key(name), ty);
            }
        }
    }
}

/// `RetryPolicyConstraint`: parse every field with `$` references standing for a valid number.
fn retry_policy(ctx: &mut Ctx, policy: &RetryPolicy, at: &JsonPath) {
    let mut dummy = |s: &str| -> Result<String, String> {
        Ok(if s.contains('$') {
            "2".to_string()
        } else {
            s.to_string()
        })
    };
    if let Err(e) = policy.parse_with(&mut dummy) {
        ctx.error(at.join(&e.field), format!("RetryPolicy: {e}"));
    }
}

fn signal_dependencies(ctx: &mut Ctx, deps: &[SignalDependencyDefinition], at: &JsonPath) {
    if deps.is_empty() {
        ctx.error(
            at.clone(),
            "signal dependencies definitions cannot be null or empty or contain null elements",
        );
    }
    for (i, d) in deps.iter().enumerate() {
        let d_at = at.index(i);
        if d.name.is_empty() {
            ctx.error(
                d_at.key("name"),
                "Signal step dependency definition doesn't contain mandatory name field",
            );
        }
        let Some(mp) = &d.match_params else {
            continue;
        };
        let mut range: Option<&str> = None;
        for (name, m) in mp {
            let m_at = d_at.key("match_params").key(name);
            if !matches!(m.param.param_type, ParamType::String | ParamType::Long) {
                ctx.error(
                    m_at.key("param").key("type"),
                    format!(
                        "SignalMatchParamDef param's type must be either LONG or STRING, not {}",
                        m.param.param_type
                    ),
                );
            }
            definition(ctx, &m.param, &m_at.key("param"), ParamSite::Signal);
            if m.operator.is_range() {
                if let Some(first) = range {
                    ctx.error(
                        m_at.key("operator"),
                        format!(
                            "Invalid signal dependency for signal [{}] with more than one range params: [{first}] and [{name}]",
                            d.name
                        ),
                    );
                } else {
                    range = Some(name);
                }
            }
        }
    }
}

fn signal_outputs(ctx: &mut Ctx, outs: &[SignalOutputDefinition], at: &JsonPath) {
    if outs.is_empty() {
        ctx.error(
            at.clone(),
            "Signal step outputs definitions cannot be null or empty or contain null elements",
        );
    }
    for (i, o) in outs.iter().enumerate() {
        let o_at = at.index(i);
        if o.name.is_empty() {
            ctx.error(
                o_at.key("name"),
                "Signal step outputs definition doesn't contain mandatory name field",
            );
        }
        if let Some(params) = &o.params {
            for (name, p) in params {
                if !matches!(p.param_type, ParamType::String | ParamType::Long) {
                    ctx.error(
                        o_at.key("params").key(name).key("type"),
                        format!(
                            "SignalOutputDefinition params only support param type LONG or STRING, not {}",
                            p.param_type
                        ),
                    );
                }
            }
            param_map(ctx, params, &o_at.key("params"), ParamSite::Signal);
        }
        if let Some(payload) = &o.payload {
            param_map(ctx, payload, &o_at.key("payload"), ParamSite::Signal);
        }
    }
}
