//! The default params Baton gives every workflow instance and every step
//! (maestro-model.md §3.7), from `defaults.yaml`, built into the binary.
//!
//! They are parsed once, and the merge of each set into an empty map (the first step of every
//! params merge) is done once too: every instance start and every step begins from a copy.

use std::sync::OnceLock;

use baton_model::definition::StepType;
use baton_model::params::{ParamMap, ParamSource};
use indexmap::IndexMap;

use super::merge::{MergeContext, merge_params};

const DEFAULTS_YAML: &str = include_str!("defaults.yaml");

/// The sections of `defaults.yaml` by name.
fn sections() -> &'static IndexMap<String, ParamMap> {
    static SECTIONS: OnceLock<IndexMap<String, ParamMap>> = OnceLock::new();
    SECTIONS.get_or_init(|| {
        // The file is part of the binary and `defaults_parse` tests it, so failing here is a
        // build defect, not an input error.
        serde_yaml_ng::from_str(DEFAULTS_YAML)
            .unwrap_or_else(|e| panic!("built-in defaults.yaml does not parse: {e}"))
    })
}

fn section(name: &str) -> &'static ParamMap {
    static EMPTY: OnceLock<ParamMap> = OnceLock::new();
    sections()
        .get(name)
        .unwrap_or_else(|| EMPTY.get_or_init(ParamMap::new))
}

/// The section holding the defaults of a step type, if it has any.
fn type_section(step_type: StepType) -> Option<&'static str> {
    match step_type {
        StepType::Foreach => Some("foreach"),
        StepType::While => Some("while"),
        StepType::Subworkflow => Some("subworkflow"),
        StepType::Kubernetes => Some("kubernetes"),
        StepType::Notebook => Some("notebook"),
        StepType::Http => Some("http"),
        StepType::Shell => Some("shell"),
        StepType::NoOp
        | StepType::Sleep
        | StepType::Titus
        | StepType::Join
        | StepType::Template => None,
    }
}

/// The default workflow params, as written (with `internal_mode`, without `source`).
pub fn workflow() -> &'static ParamMap {
    section("workflow")
}

/// The default params of every step, as written.
pub fn step() -> &'static ParamMap {
    section("step")
}

/// The extra default params of a step type, as written (empty for most types).
pub fn step_type(step_type: StepType) -> &'static ParamMap {
    match type_section(step_type) {
        Some(name) => section(name),
        None => section(""),
    }
}

/// The params only dry runs get (`FROM_DATE`, `TO_DATE`).
pub fn dry_run() -> &'static ParamMap {
    section("dry_run")
}

/// [`workflow`] merged into an empty map as `SYSTEM_DEFAULT`: the start of every workflow
/// params merge.
pub fn merged_workflow() -> &'static ParamMap {
    static MERGED: OnceLock<ParamMap> = OnceLock::new();
    MERGED.get_or_init(|| merged(&[workflow()]))
}

/// [`step`] then [`step_type`] merged into an empty map as `SYSTEM_DEFAULT`: the start of every
/// step params merge.
pub fn merged_step(step_type: StepType) -> &'static ParamMap {
    static MERGED: OnceLock<Vec<ParamMap>> = OnceLock::new();
    let all = MERGED.get_or_init(|| {
        StepType::ALL
            .iter()
            .map(|t| merged(&[step(), self::step_type(*t)]))
            .collect()
    });
    let index = StepType::ALL
        .iter()
        .position(|t| *t == step_type)
        .unwrap_or(0);
    all.get(index).unwrap_or_else(|| section(""))
}

fn merged(layers: &[&ParamMap]) -> ParamMap {
    let ctx = MergeContext::step(ParamSource::SystemDefault);
    let mut out = ParamMap::new();
    for layer in layers {
        // A system merge checks no modes; it can only fail on a type clash inside the file,
        // which `defaults_merge` rules out.
        if let Err(e) = merge_params(&mut out, layer, &ctx) {
            panic!("built-in default params do not merge: {e}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::params::{InternalParamMode, ParamMode, ParamType};

    #[test]
    fn defaults_parse() {
        for name in [
            "workflow",
            "step",
            "foreach",
            "while",
            "subworkflow",
            "kubernetes",
            "notebook",
            "http",
            "shell",
            "dry_run",
        ] {
            assert!(!section(name).is_empty(), "section {name}");
        }
        assert_eq!(sections().len(), 10);
        assert_eq!(workflow().len(), 24);
    }

    #[test]
    fn defaults_merge() {
        for t in StepType::ALL {
            let m = merged_step(*t);
            assert!(m.contains_key("step_id"), "{t}");
            assert_eq!(
                m["step_id"].source(),
                Some(ParamSource::SystemDefault),
                "{t}"
            );
        }
        let wf = merged_workflow();
        assert_eq!(wf["RUN_TS"].mode, Some(ParamMode::MutableOnStart));
        assert_eq!(wf["owner"].mode, Some(ParamMode::Constant));
        assert_eq!(
            wf["owner"].internal_mode(),
            Some(InternalParamMode::Reserved)
        );
    }

    #[test]
    fn shell_defaults() {
        let shell = &step_type(StepType::Shell)["shell"];
        assert_eq!(shell.param_type, ParamType::Map);
        assert_eq!(shell.internal_mode(), Some(InternalParamMode::Required));
        let Some(baton_model::params::ParamValue::Map(entries)) = &shell.value else {
            panic!("shell is a literal MAP")
        };
        assert_eq!(
            entries["script"].internal_mode(),
            Some(InternalParamMode::Required)
        );
        assert_eq!(
            entries["interpreter"].value,
            Some(baton_model::params::ParamValue::String("bash".into()))
        );
        assert_eq!(entries["env"].param_type, ParamType::StringMap);
        assert!(step_type(StepType::NoOp).is_empty());
    }
}
