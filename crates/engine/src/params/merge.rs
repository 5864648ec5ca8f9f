//! The param merge (maestro-model.md §3.5): how a layer of definitions (defaults, the
//! definition, run params, outputs, …) lands on top of what is already there.
//!
//! Each param of the new layer replaces the base param of the same name, except literal MAPs
//! (merged entry by entry, recursively) and literal STRING_MAPs (merged key by key). The merged
//! param keeps the base's type (a new literal is cast into it), takes the stricter of the modes
//! involved, unions tags, and records where its value came from (`source`). Unless the layer is
//! the system's own, a change must be allowed by the base's mode for that source.
//!
//! One deliberate difference from Maestro: Maestro deep-merges maps in place, so when it then
//! asks "did the definition change?" for a MAP or STRING_MAP it compares the merged map with
//! itself and only sees changes of mode, tags or validator. Here the merged map is compared
//! with the base as it was, so changing a map's entries is checked against the map's mode like
//! any other change. Nested MAP entries are checked individually in both.

use baton_model::definition::TagList;
use baton_model::params::{
    InternalParamMode, META_INTERNAL_MODE, META_SOURCE, ParamDefinition, ParamMap, ParamMode,
    ParamSource, ParamType, ParamValue,
};
use indexmap::IndexMap;
use serde_json::Value as Json;

use super::ParamError;
use super::coerce::cast_literal;

/// What kind of merge a layer is: its source and who asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeContext {
    /// The source recorded on params this layer changes.
    pub source: ParamSource,
    /// A system layer (defaults, injected params): mode rules are not checked.
    pub is_system: bool,
    /// The run was started by a parent (subworkflow, foreach, while, template): the parent
    /// may keep a stricter mode and pass params with their own sources.
    pub is_upstream: bool,
    /// A restart: only modes changeable at restart may change.
    pub is_restart: bool,
    /// The mode of the MAP whose entries are being merged (entries are at least as strict).
    pub parent_mode: Option<ParamMode>,
}

impl MergeContext {
    /// A workflow-params layer. `is_upstream` for runs started by a parent step.
    pub fn workflow(source: ParamSource, is_upstream: bool, is_restart: bool) -> Self {
        MergeContext {
            source,
            is_system: source.is_system_stage(),
            is_upstream,
            is_restart,
            parent_mode: None,
        }
    }

    /// A step-params layer.
    pub fn step(source: ParamSource) -> Self {
        Self::workflow(source, false, false)
    }

    /// The context for the entries of a MAP whose mode is `mode`: the stricter parent mode wins.
    pub(crate) fn with_parent_mode(self, mode: Option<ParamMode>) -> Self {
        let parent_mode = match (self.parent_mode, mode) {
            (p, None) => p,
            (None, m) => m,
            (Some(p), Some(m)) => Some(p.stricter(m)),
        };
        MergeContext {
            parent_mode,
            ..self
        }
    }

    fn allowed_modes(&self) -> &'static [ParamMode] {
        const DEFAULT: &[ParamMode] = &[
            ParamMode::Mutable,
            ParamMode::MutableOnStart,
            ParamMode::MutableOnStartRestart,
        ];
        const RESTART: &[ParamMode] = &[ParamMode::Mutable, ParamMode::MutableOnStartRestart];
        const OUTPUT: &[ParamMode] = &[ParamMode::Mutable];
        match self.source {
            ParamSource::OutputParameter => OUTPUT,
            ParamSource::Restart => RESTART,
            _ if self.is_restart => RESTART,
            _ => DEFAULT,
        }
    }
}

/// True for the sources of runs started by a parent step (Maestro's non-restartable
/// initiators), whose run params are an upstream merge.
pub fn is_upstream_source(source: ParamSource) -> bool {
    matches!(
        source,
        ParamSource::Subworkflow
            | ParamSource::Foreach
            | ParamSource::While
            | ParamSource::Template
    )
}

/// Merges `layer` into `base` (Maestro's `mergeParams`). New names are appended in the layer's
/// order; existing names keep their place.
pub fn merge_params(
    base: &mut ParamMap,
    layer: &ParamMap,
    ctx: &MergeContext,
) -> Result<(), ParamError> {
    merge_at(base, layer, ctx, "")
}

pub(crate) fn merge_at(
    base: &mut ParamMap,
    layer: &ParamMap,
    ctx: &MergeContext,
    prefix: &str,
) -> Result<(), ParamError> {
    for (name, def) in layer {
        let path: std::borrow::Cow<'_, str> = if prefix.is_empty() {
            name.into()
        } else {
            format!("{prefix}.{name}").into()
        };
        let path = path.as_ref();
        let old = base.get(name);
        let value = match (&def.value, def.param_type) {
            (Some(ParamValue::Map(entries)), ParamType::Map) => {
                let mut merged = map_value_or_empty(old, path)?;
                let parent = old.unwrap_or(def).mode;
                merge_at(&mut merged, entries, &ctx.with_parent_mode(parent), path)?;
                Some(ParamValue::Map(merged))
            }
            (Some(ParamValue::StringMap(entries)), ParamType::StringMap) => {
                let mut merged = string_map_value_or_empty(old, path)?;
                for (k, v) in entries {
                    merged.insert(k.clone(), v.clone());
                }
                Some(ParamValue::StringMap(merged))
            }
            (v, _) => v.clone(),
        };
        let merged = build_merged(path, def, old, ctx, value)?;
        base.insert(name.clone(), merged);
    }
    Ok(())
}

fn map_value_or_empty(old: Option<&ParamDefinition>, path: &str) -> Result<ParamMap, ParamError> {
    let Some(old) = old else {
        return Ok(ParamMap::new());
    };
    if old.param_type != ParamType::Map {
        return Err(ParamError::Merge(format!(
            "ParameterDefinition type mismatch, [{path}] is not a [MAP] but [{}]",
            old.param_type
        )));
    }
    match &old.value {
        Some(ParamValue::Map(m)) => Ok(m.clone()),
        _ => Err(ParamError::Merge(format!(
            "MAP param [{path}] definition exp=[{}] is not a literal",
            old.expression.as_deref().unwrap_or("null")
        ))),
    }
}

fn string_map_value_or_empty(
    old: Option<&ParamDefinition>,
    path: &str,
) -> Result<IndexMap<String, String>, ParamError> {
    let Some(old) = old else {
        return Ok(IndexMap::new());
    };
    if old.param_type != ParamType::StringMap {
        return Err(ParamError::Merge(format!(
            "ParameterDefinition type mismatch, [{path}] is not a [STRING_MAP] but [{}]",
            old.param_type
        )));
    }
    match &old.value {
        Some(ParamValue::StringMap(m)) => Ok(m.clone()),
        _ => Err(ParamError::Merge(format!(
            "STRING_MAP param [{path}] definition exp=[{}] is not a literal",
            old.expression.as_deref().unwrap_or("null")
        ))),
    }
}

/// Equality of two definitions as Maestro's `equals` sees it: every field but `meta`.
pub(crate) fn same_definition(a: &ParamDefinition, b: &ParamDefinition) -> bool {
    a.param_type == b.param_type
        && a.value == b.value
        && a.expression == b.expression
        && a.validator == b.validator
        && a.tags == b.tags
        && a.mode == b.mode
}

fn changed(new: &ParamDefinition, old: Option<&ParamDefinition>) -> bool {
    old.is_some_and(|o| !same_definition(o, new))
}

/// Builds the definition that results from merging `from` over `old` (Maestro's
/// `buildMergedParamDefinition`); `value` is the value to keep (deep-merged for maps).
pub(crate) fn build_merged(
    path: &str,
    from: &ParamDefinition,
    old: Option<&ParamDefinition>,
    ctx: &MergeContext,
    value: Option<ParamValue>,
) -> Result<ParamDefinition, ParamError> {
    let tags = merged_tags(old.and_then(|o| o.tags.as_ref()), from.tags.as_ref());
    let validator = match old {
        Some(o) if from.validator.is_none() => o.validator.clone(),
        _ => from.validator.clone(),
    };
    let (mode, internal_mode) = merged_modes(from, old, ctx);
    let updated_from = ParamDefinition {
        param_type: from.param_type,
        value: from.value.clone(),
        expression: from.expression.clone(),
        validator: validator.clone(),
        tags: tags.clone(),
        mode: Some(mode),
        meta: IndexMap::new(),
    };

    // The base's type wins; a literal of another type is cast into it.
    let param_type = old.map_or(from.param_type, |o| o.param_type);
    let value = match value {
        Some(v) if v.param_type() != param_type => Some(cast_literal(&v, param_type).map_err(
            |e| {
                ParamError::Merge(format!(
                    "ParameterDefinition type mismatch name [{path}] from [{}] != to [{param_type}]: {e}",
                    from.param_type
                ))
            },
        )?),
        v => v,
    };
    let mut merged = ParamDefinition {
        param_type,
        value,
        expression: from.expression.clone(),
        validator,
        tags,
        mode: Some(mode),
        meta: IndexMap::new(),
    };

    check_modes(ctx, path, from, &merged, old, internal_mode)?;
    let source = merged_source(path, from, &updated_from, old, ctx)?;

    merged.meta.insert(
        META_SOURCE.to_string(),
        Json::String(source.as_str().into()),
    );
    if let Some(im) = internal_mode {
        merged.meta.insert(
            META_INTERNAL_MODE.to_string(),
            Json::String(im.as_str().into()),
        );
    }
    Ok(merged)
}

/// Union of both tag lists, the base's first (Maestro uses a set; an ordered union keeps an
/// unchanged list equal to itself).
fn merged_tags(old: Option<&TagList>, new: Option<&TagList>) -> Option<TagList> {
    match (old, new) {
        (None, None) => None,
        (Some(o), None) => Some(o.clone()),
        (None, Some(n)) => Some(n.clone()),
        (Some(o), Some(n)) => {
            let mut out = o.clone();
            for t in n.tags() {
                if !out.0.contains(t) {
                    out.0.push(t.clone());
                }
            }
            Some(out)
        }
    }
}

/// The merged mode and internal mode (Maestro's `generateParamModes`).
fn merged_modes(
    from: &ParamDefinition,
    old: Option<&ParamDefinition>,
    ctx: &MergeContext,
) -> (ParamMode, Option<InternalParamMode>) {
    let mut mode = from.mode.or(old.and_then(|o| o.mode));
    let internal_mode = old
        .and_then(ParamDefinition::internal_mode)
        .or_else(|| from.internal_mode());
    if let Some(im) = internal_mode {
        let implied = im.implied_mode();
        if mode.is_none_or(|m| implied.strictness() > m.strictness()) {
            mode = Some(implied);
        }
    }
    let mut mode = mode.unwrap_or(ParamMode::Mutable);
    if ctx.is_upstream
        && let Some(old_mode) = old.and_then(|o| o.mode)
        && mode.strictness() < old_mode.strictness()
    {
        mode = old_mode;
    }
    if let Some(parent) = ctx.parent_mode {
        mode = mode.stricter(parent);
    }
    (mode, internal_mode)
}

/// Whether the change is allowed (Maestro's `validateParamModesIfMergeable`).
fn check_modes(
    ctx: &MergeContext,
    path: &str,
    from: &ParamDefinition,
    merged: &ParamDefinition,
    old: Option<&ParamDefinition>,
    internal_mode: Option<InternalParamMode>,
) -> Result<(), ParamError> {
    // A parent passing its own params (sources other than DEFINITION) is trusted.
    let upstream_system =
        ctx.is_upstream && from.source().is_some_and(|s| s != ParamSource::Definition);
    if ctx.is_system || !changed(merged, old) || upstream_system {
        return Ok(());
    }
    let mode = merged.mode.unwrap_or(ParamMode::Mutable);
    if !ctx.allowed_modes().contains(&mode) {
        return Err(ParamError::Merge(format!(
            "Cannot modify param with mode [{mode}] for parameter [{path}]"
        )));
    }
    if let Some(old_mode) = old.and_then(|o| o.mode)
        && mode.strictness() < old_mode.strictness()
    {
        return Err(ParamError::Merge(format!(
            "Cannot modify param mode to be less strict for parameter [{path}] from [{old_mode}] to [{mode}]"
        )));
    }
    if from.meta.contains_key(META_INTERNAL_MODE) {
        return Err(ParamError::Merge(format!(
            "Cannot modify system mode for parameter [{path}]"
        )));
    }
    if internal_mode == Some(InternalParamMode::Reserved) {
        return Err(ParamError::Merge(format!(
            "Cannot modify param with system mode [RESERVED] for parameter [{path}]"
        )));
    }
    Ok(())
}

/// The merged `source` (Maestro's `generateParamSource`).
fn merged_source(
    path: &str,
    from: &ParamDefinition,
    updated_from: &ParamDefinition,
    old: Option<&ParamDefinition>,
    ctx: &MergeContext,
) -> Result<ParamSource, ParamError> {
    let from_source = from.meta.get(META_SOURCE);
    let unchanged = old.is_some_and(|o| same_definition(o, updated_from));
    let old_source = old.and_then(ParamDefinition::source);
    let source = if unchanged && old_source.is_some() && (ctx.is_system || ctx.is_upstream) {
        old_source.unwrap_or(ctx.source)
    } else if old.is_none() && ctx.is_system && from.source().is_some() {
        from.source().unwrap_or(ctx.source)
    } else {
        ctx.source
    };
    if !ctx.is_system && !ctx.is_upstream && changed(updated_from, old) && from_source.is_some() {
        return Err(ParamError::Merge(format!(
            "Cannot modify source for parameter [{path}]"
        )));
    }
    Ok(source)
}

/// Maestro's `cleanupParams`: drops OPTIONAL params left without a value or expression (or
/// with an empty literal MAP), rejects any other param without one ("[x] is a required
/// parameter"), recursing into literal MAPs, and removes `internal_mode`.
pub fn cleanup_params(mut params: ParamMap) -> Result<ParamMap, ParamError> {
    cleanup_at(&mut params, "")?;
    Ok(params)
}

fn cleanup_at(params: &mut ParamMap, prefix: &str) -> Result<(), ParamError> {
    let path = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let mut keep = Vec::with_capacity(params.len());
    for (name, def) in params.iter_mut() {
        if let Some(ParamValue::Map(entries)) = &mut def.value {
            cleanup_at(entries, &path(name))?;
        }
        let has_value = def.value.is_some() || def.expression.is_some();
        if def.internal_mode() == Some(InternalParamMode::Optional) {
            let empty_map = matches!(&def.value, Some(ParamValue::Map(m)) if m.is_empty());
            if !has_value || empty_map {
                keep.push(false);
                continue;
            }
        } else if !has_value {
            return Err(ParamError::Merge(format!(
                "[{}] is a required parameter (type=[{}])",
                path(name),
                def.param_type
            )));
        }
        def.meta.shift_remove(META_INTERNAL_MODE);
        keep.push(true);
    }
    if keep.contains(&false) {
        // `retain` visits entries in order, so the n-th call is about the n-th param.
        let mut decisions = keep.into_iter();
        params.retain(|_, _| decisions.next().unwrap_or(true));
    }
    Ok(())
}
