//! Steps (§2): one struct for the fields every step has, and [`StepKind`] for what differs.
//!
//! In JSON a step is a single-key object whose key picks the kind: `{"step": {...}}` (a typed
//! step: NoOp, Sleep, Shell, Kubernetes, …), `{"foreach": {...}}`, `{"while": {...}}`,
//! `{"subworkflow": {...}}`, `{"template": {...}}`. The key is read case-insensitively, like every
//! Maestro type id. Unknown fields inside are rejected, as Maestro does (so `retry_policy` is only
//! accepted on typed steps).

use super::retry::RetryPolicy;
use super::signal::{SignalDependencyDefinition, SignalOutputDefinition};
use super::transition::StepTransition;
use super::{ParsableLong, TagList};
use crate::maestro_enum;
use crate::params::ParamMap;
use crate::path::sub_path_error;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

maestro_enum! {
    /// The type of a step. Read case-insensitively; written in Maestro's display form.
    pub enum StepType {
        /// Does nothing and succeeds.
        NoOp => "NoOp",
        /// Waits `sleep_seconds`.
        Sleep => "Sleep",
        /// Titus job (no runtime in Maestro OSS nor Baton).
        Titus => "Titus",
        /// Papermill notebook on Kubernetes.
        Notebook => "Notebook",
        /// Kubernetes pod.
        Kubernetes => "Kubernetes",
        /// HTTP request.
        Http => "Http",
        /// Baton's local shell step (`shell` MAP param: `script`, `interpreter`, `env`).
        Shell => "Shell",
        /// Internal join gate; not user-definable.
        Join => "Join",
        /// Parallel loop over a sub-DAG.
        Foreach => "foreach",
        /// Sequential loop over a sub-DAG.
        While => "while",
        /// Runs another workflow.
        Subworkflow => "subworkflow",
        /// Placeholder for templates (not executable).
        Template => "template",
    }
}

impl StepType {
    /// True for leaf steps (they run work themselves rather than child instances or gates).
    pub fn is_leaf(self) -> bool {
        matches!(
            self,
            StepType::NoOp
                | StepType::Sleep
                | StepType::Titus
                | StepType::Notebook
                | StepType::Kubernetes
                | StepType::Http
                | StepType::Shell
        )
    }
}

maestro_enum! {
    /// What a fatal failure of a step does to the rest of the run (§7.2).
    pub enum FailureMode {
        /// Stop every other step of the run.
        FailImmediately => "FAIL_IMMEDIATELY",
        /// Let independent branches finish, then fail the run (the default).
        FailAfterRunning => "FAIL_AFTER_RUNNING",
        /// Treat the failure as a success with errors.
        IgnoreFailure => "IGNORE_FAILURE",
    }
}

/// A step definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Step id, unique across the workflow including nested steps.
    pub id: String,
    /// Display name (defaults to the id).
    pub name: Option<String>,
    /// Description, ≤ 16384 chars.
    pub description: Option<String>,
    /// Outgoing edges (always written, `{}` when empty, as Maestro does).
    pub transition: StepTransition,
    /// Failure mode; `None` means FAIL_AFTER_RUNNING.
    pub failure_mode: Option<FailureMode>,
    /// Tags.
    pub tags: Option<TagList>,
    /// Step timeout (number = seconds, or text).
    pub timeout: Option<ParsableLong>,
    /// Signals to wait for.
    pub signal_dependencies: Option<Vec<SignalDependencyDefinition>>,
    /// Signals to announce.
    pub signal_outputs: Option<Vec<SignalOutputDefinition>>,
    /// Step params.
    pub params: Option<ParamMap>,
    /// What kind of step this is and its own fields.
    pub kind: StepKind,
}

/// The kind-specific part of a step.
// Steps are built once per definition and then only read; boxing the typed variant would make
// every consumer deal with a `Box` for no measurable gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `{"step": …}`: a typed step.
    Typed(TypedStep),
    /// `{"foreach": …}`.
    Foreach(ForeachStep),
    /// `{"while": …}`.
    While(WhileStep),
    /// `{"subworkflow": …}`.
    Subworkflow(SubworkflowStep),
    /// `{"template": …}`.
    Template(TemplateStep),
}

/// Fields of a typed step.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedStep {
    /// The step type.
    pub step_type: StepType,
    /// Job template (job type) to apply.
    pub sub_type: Option<String>,
    /// Job template version.
    pub sub_type_version: Option<String>,
    /// Retry policy (merged with the defaults at run time).
    pub retry_policy: Option<RetryPolicy>,
}

/// Fields of a foreach step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForeachStep {
    /// Max concurrent iterations (≤ 500; `None` = system default).
    pub concurrency: Option<i64>,
    /// Sliding-window launch order.
    pub strict_ordering: Option<bool>,
    /// The loop body.
    pub steps: Vec<Step>,
}

/// Fields of a while step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WhileStep {
    /// SEL condition checked before every iteration.
    pub condition: String,
    /// The loop body.
    pub steps: Vec<Step>,
}

/// Fields of a subworkflow step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubworkflowStep {
    /// Wait for the child (default true).
    pub sync: Option<bool>,
    /// Pass only the always-pass-down params (default false).
    pub explicit_params: Option<bool>,
}

/// Fields of a template step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateStep {
    /// Template name.
    pub sub_type: Option<String>,
}

impl Step {
    /// The step type.
    pub fn step_type(&self) -> StepType {
        match &self.kind {
            StepKind::Typed(t) => t.step_type,
            StepKind::Foreach(_) => StepType::Foreach,
            StepKind::While(_) => StepType::While,
            StepKind::Subworkflow(_) => StepType::Subworkflow,
            StepKind::Template(_) => StepType::Template,
        }
    }

    /// The wrapper key this step is written under.
    pub fn wrapper_key(&self) -> &'static str {
        match &self.kind {
            StepKind::Typed(_) => "step",
            StepKind::Foreach(_) => "foreach",
            StepKind::While(_) => "while",
            StepKind::Subworkflow(_) => "subworkflow",
            StepKind::Template(_) => "template",
        }
    }

    /// The name to show: the name, or the id when there is none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// The loop body of a foreach or while step.
    pub fn body(&self) -> Option<&[Step]> {
        match &self.kind {
            StepKind::Foreach(f) => Some(&f.steps),
            StepKind::While(w) => Some(&w.steps),
            _ => None,
        }
    }

    /// The retry policy as written (only typed steps have one).
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        match &self.kind {
            StepKind::Typed(t) => t.retry_policy.as_ref(),
            _ => None,
        }
    }

    /// The failure mode, defaulting to FAIL_AFTER_RUNNING.
    pub fn failure_mode_or_default(&self) -> FailureMode {
        self.failure_mode.unwrap_or(FailureMode::FailAfterRunning)
    }

    /// A step param by name.
    pub fn param(&self, name: &str) -> Option<&crate::params::ParamDefinition> {
        self.params.as_ref().and_then(|p| p.get(name))
    }
}

/// The keys a step object may have.
pub const STEP_KEYS: &[&str] = &["step", "foreach", "while", "subworkflow", "template"];

// ---- serialization ----------------------------------------------------------------------

struct Body<'a>(&'a Step);

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.wrapper_key(), &Body(self))?;
        m.end()
    }
}

fn put_opt<M: SerializeMap, T: Serialize>(
    m: &mut M,
    key: &str,
    v: &Option<T>,
) -> Result<(), M::Error> {
    if let Some(v) = v {
        m.serialize_entry(key, v)?;
    }
    Ok(())
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &st.id)?;
        put_opt(&mut m, "name", &st.name)?;
        put_opt(&mut m, "description", &st.description)?;
        m.serialize_entry("transition", &st.transition)?;
        // Each kind follows its Maestro class's property order.
        match &st.kind {
            StepKind::Typed(t) => {
                m.serialize_entry("type", &t.step_type)?;
                put_opt(&mut m, "sub_type", &t.sub_type)?;
                put_opt(&mut m, "sub_type_version", &t.sub_type_version)?;
                put_opt(&mut m, "failure_mode", &st.failure_mode)?;
                put_opt(&mut m, "retry_policy", &t.retry_policy)?;
                put_opt(&mut m, "tags", &st.tags)?;
                put_opt(&mut m, "timeout", &st.timeout)?;
            }
            StepKind::Foreach(f) => {
                put_opt(&mut m, "failure_mode", &st.failure_mode)?;
                put_opt(&mut m, "tags", &st.tags)?;
                put_opt(&mut m, "timeout", &st.timeout)?;
                put_opt(&mut m, "concurrency", &f.concurrency)?;
                put_opt(&mut m, "strict_ordering", &f.strict_ordering)?;
            }
            StepKind::While(w) => {
                put_opt(&mut m, "failure_mode", &st.failure_mode)?;
                put_opt(&mut m, "tags", &st.tags)?;
                put_opt(&mut m, "timeout", &st.timeout)?;
                m.serialize_entry("condition", &w.condition)?;
            }
            StepKind::Subworkflow(sw) => {
                put_opt(&mut m, "sync", &sw.sync)?;
                put_opt(&mut m, "explicit_params", &sw.explicit_params)?;
                put_opt(&mut m, "failure_mode", &st.failure_mode)?;
                put_opt(&mut m, "tags", &st.tags)?;
                put_opt(&mut m, "timeout", &st.timeout)?;
            }
            StepKind::Template(t) => {
                put_opt(&mut m, "sub_type", &t.sub_type)?;
                put_opt(&mut m, "failure_mode", &st.failure_mode)?;
                put_opt(&mut m, "tags", &st.tags)?;
                put_opt(&mut m, "timeout", &st.timeout)?;
            }
        }
        put_opt(&mut m, "signal_dependencies", &st.signal_dependencies)?;
        put_opt(&mut m, "signal_outputs", &st.signal_outputs)?;
        put_opt(&mut m, "params", &st.params)?;
        if let Some(body) = st.body() {
            m.serialize_entry("steps", body)?;
        }
        m.end()
    }
}

// ---- deserialization --------------------------------------------------------------------

/// Declares the raw shape of one step kind: the common fields plus the kind's own, with unknown
/// fields rejected. `into_step` then moves them into [`Step`].
macro_rules! raw_step {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            #[serde(default)]
            id: String,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            description: Option<String>,
            #[serde(default)]
            transition: Option<StepTransition>,
            #[serde(default)]
            failure_mode: Option<FailureMode>,
            #[serde(default)]
            tags: Option<TagList>,
            #[serde(default)]
            timeout: Option<ParsableLong>,
            #[serde(default)]
            signal_dependencies: Option<Vec<SignalDependencyDefinition>>,
            #[serde(default)]
            signal_outputs: Option<Vec<SignalOutputDefinition>>,
            #[serde(default)]
            params: Option<ParamMap>,
            $($field: $ty,)*
        }

        impl $name {
            fn common(self, kind: impl FnOnce(Self) -> (Self, StepKind)) -> Step {
                let (raw, kind) = kind(self);
                Step {
                    id: raw.id,
                    name: raw.name,
                    description: raw.description,
                    transition: raw.transition.unwrap_or_default(),
                    failure_mode: raw.failure_mode,
                    tags: raw.tags,
                    timeout: raw.timeout,
                    signal_dependencies: raw.signal_dependencies,
                    signal_outputs: raw.signal_outputs,
                    params: raw.params,
                    kind,
                }
            }
        }
    };
}

raw_step!(RawTyped {
    r#type: StepType,
    sub_type: Option<String>,
    sub_type_version: Option<String>,
    retry_policy: Option<RetryPolicy>,
});
raw_step!(RawForeach {
    concurrency: Option<i64>,
    strict_ordering: Option<bool>,
    steps: Option<Vec<Step>>,
});
raw_step!(RawWhile {
    condition: Option<String>,
    steps: Option<Vec<Step>>,
});
raw_step!(RawSubworkflow {
    sync: Option<bool>,
    explicit_params: Option<bool>,
});
raw_step!(RawTemplate {
    sub_type: Option<String>,
});

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step: an object with one key, `step`, `foreach`, `while`, `subworkflow` or `template`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let key: String = map.next_key()?.ok_or_else(|| {
                    de::Error::custom(
                        "a step must be an object with one key: step, foreach, while, subworkflow or template",
                    )
                })?;
                let step = match key.to_ascii_lowercase().as_str() {
                    "step" => map.next_value::<RawTyped>()?.common(|mut r| {
                        let kind = StepKind::Typed(TypedStep {
                            step_type: r.r#type,
                            sub_type: r.sub_type.take(),
                            sub_type_version: r.sub_type_version.take(),
                            retry_policy: r.retry_policy.take(),
                        });
                        (r, kind)
                    }),
                    "foreach" => map.next_value::<RawForeach>()?.common(|mut r| {
                        let kind = StepKind::Foreach(ForeachStep {
                            concurrency: r.concurrency,
                            strict_ordering: r.strict_ordering,
                            steps: r.steps.take().unwrap_or_default(),
                        });
                        (r, kind)
                    }),
                    "while" => map.next_value::<RawWhile>()?.common(|mut r| {
                        let kind = StepKind::While(WhileStep {
                            condition: r.condition.take().unwrap_or_default(),
                            steps: r.steps.take().unwrap_or_default(),
                        });
                        (r, kind)
                    }),
                    "subworkflow" => map.next_value::<RawSubworkflow>()?.common(|r| {
                        let kind = StepKind::Subworkflow(SubworkflowStep {
                            sync: r.sync,
                            explicit_params: r.explicit_params,
                        });
                        (r, kind)
                    }),
                    "template" => map.next_value::<RawTemplate>()?.common(|mut r| {
                        let kind = StepKind::Template(TemplateStep {
                            sub_type: r.sub_type.take(),
                        });
                        (r, kind)
                    }),
                    _ => {
                        return Err(sub_path_error(
                            &key,
                            format!(
                                "unknown step kind `{key}`, expected one of {}",
                                STEP_KEYS.join(", ")
                            ),
                        ));
                    }
                };
                if let Some(other) = map.next_key::<String>()? {
                    return Err(sub_path_error(
                        &other,
                        format!("a step must have exactly one key, found `{key}` and `{other}`"),
                    ));
                }
                Ok(step)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_step_round_trip_in_maestro_order() {
        let json = r#"{"step": {"type": "sleep", "id": "job1", "failure_mode": "ignore_failure",
            "params": {"sleep_seconds": {"value": 15, "type": "LONG"}},
            "transition": {"successors": {"job.2": "true"}}, "retry_policy": {"error_retry_limit": 1}}}"#;
        let s: Step = serde_json::from_str(json).unwrap();
        assert_eq!(s.step_type(), StepType::Sleep);
        assert_eq!(s.failure_mode, Some(FailureMode::IgnoreFailure));
        let out = serde_json::to_string(&s).unwrap();
        assert_eq!(
            out,
            r#"{"step":{"id":"job1","transition":{"successors":{"job.2":"true"}},"type":"Sleep","failure_mode":"IGNORE_FAILURE","retry_policy":{"error_retry_limit":1},"params":{"sleep_seconds":{"value":15,"type":"LONG"}}}}"#
        );
        let again: Step = serde_json::from_str(&out).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn every_kind_parses() {
        for (json, ty) in [
            (
                r#"{"foreach": {"id": "f", "concurrency": 3, "steps": [{"step": {"id": "a", "type": "NoOp"}}]}}"#,
                StepType::Foreach,
            ),
            (
                r#"{"while": {"id": "w", "condition": "i < 3", "steps": []}}"#,
                StepType::While,
            ),
            (
                r#"{"subworkflow": {"id": "s", "sync": false}}"#,
                StepType::Subworkflow,
            ),
            (
                r#"{"template": {"id": "t", "sub_type": "x"}}"#,
                StepType::Template,
            ),
            (
                r#"{"Step": {"id": "k", "type": "kubernetes"}}"#,
                StepType::Kubernetes,
            ),
            (
                r#"{"step": {"id": "sh", "type": "shell"}}"#,
                StepType::Shell,
            ),
        ] {
            let s: Step = serde_json::from_str(json).unwrap();
            assert_eq!(s.step_type(), ty);
            let again: Step = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            assert_eq!(again, s);
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        for (json, needle) in [
            (r#"{"job": {"id": "a"}}"#, "unknown step kind `job`"),
            (r#"{}"#, "with one key"),
            (
                r#"{"step": {"id": "a", "type": "NoOp"}, "foreach": {}}"#,
                "exactly one key",
            ),
            (
                r#"{"foreach": {"id": "a", "retry_policy": {}}}"#,
                "unknown field `retry_policy`",
            ),
            (
                r#"{"step": {"id": "a", "type": "Spark"}}"#,
                "unknown StepType `Spark`",
            ),
            (r#"{"step": {"id": "a"}}"#, "missing field `type`"),
        ] {
            let err = serde_json::from_str::<Step>(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn step_types_know_leaves() {
        assert!(StepType::Shell.is_leaf() && StepType::NoOp.is_leaf());
        assert!(!StepType::Foreach.is_leaf() && !StepType::Join.is_leaf());
        assert_eq!(StepType::parse("NOOP"), Some(StepType::NoOp));
        assert_eq!(StepType::Foreach.as_str(), "foreach");
    }
}
