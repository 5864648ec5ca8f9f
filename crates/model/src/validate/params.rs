//! Param rules: names, literal vs expression, meta keys, tags, and the run-param limits.

use super::Ctx;
use super::ids::check_reference_id;
use super::workflow::tag_list;
use crate::params::{
    InternalParamMode, META_INTERNAL_MODE, META_SOURCE, ParamDefinition, ParamMap, ParamSource,
    ParamValue,
};
use crate::path::JsonPath;

/// Most run params a start or restart request may carry.
pub const PARAM_MAP_SIZE_LIMIT: usize = 128;

/// Param names reserved for SEL objects and auth data (rejected in run params).
pub const RESERVED_PARAM_NAMES: &[&str] = &[
    "maestro",
    "Maestro",
    "MAESTRO",
    "scheduler",
    "Scheduler",
    "SCHEDULER",
    "util",
    "Util",
    "UTIL",
    "params",
    "Params",
    "PARAMS",
    "AUTH_BLOB",
    "AUTH_DATA",
    "AUTH_ACTING_ON_BEHALF_OF_BLOB",
    "AUTH_TRIGGERING_ON_BEHALF_OF_BLOB",
    "AUTHORIZED_MANAGERS",
];

/// Where a param map sits, which decides a few rules.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamSite {
    /// Workflow or step params of a definition: names are reference ids, `internal_mode` is
    /// reserved for system defaults.
    Definition,
    /// Entries of a MAP param of a definition or run request: like `Definition`, without the
    /// reserved-name warning.
    Nested,
    /// Job template params: may carry `internal_mode`.
    Template,
    /// Signal params and payloads: names are free.
    Signal,
    /// Run params of a request.
    Run,
}

/// Checks every param of a map.
pub(crate) fn param_map(ctx: &mut Ctx, params: &ParamMap, base: &JsonPath, site: ParamSite) {
    for (name, def) in params {
        let at = base.key(name);
        if site != ParamSite::Signal {
            ctx.check(
                at.clone(),
                check_reference_id(name).map(|m| format!("invalid param name: {m}")),
            );
        }
        if site == ParamSite::Definition && RESERVED_PARAM_NAMES.contains(&name.as_str()) {
            ctx.warn(
                at.clone(),
                format!(
                    "param name [{name}] is reserved and rejected in run params; it also hides the SEL object of that name"
                ),
            );
        }
        definition(ctx, def, &at, site);
    }
}

/// Checks one param definition.
pub(crate) fn definition(ctx: &mut Ctx, def: &ParamDefinition, at: &JsonPath, site: ParamSite) {
    match (&def.value, &def.expression) {
        (Some(_), Some(_)) => ctx.error(
            at.clone(),
            "a param must be defined with either a literal value or an expression, not both",
        ),
        (None, None) => ctx.error(
            at.clone(),
            "a param must be defined with either a literal value or an expression",
        ),
        _ => {}
    }
    if let Some(v) = def.meta.get(META_SOURCE) {
        if v.as_str().and_then(ParamSource::parse).is_none() {
            ctx.error(
                at.key(META_SOURCE),
                format!(
                    "unknown param source {v}, expected one of {}",
                    ParamSource::expected()
                ),
            );
        } else if site == ParamSite::Run {
            ctx.error(
                at.key(META_SOURCE),
                "[param definition] users cannot set param source for a param",
            );
        }
    }
    if let Some(v) = def.meta.get(META_INTERNAL_MODE) {
        if v.as_str().and_then(InternalParamMode::parse).is_none() {
            ctx.error(
                at.key(META_INTERNAL_MODE),
                format!(
                    "unknown internal param mode {v}, expected one of {}",
                    InternalParamMode::expected()
                ),
            );
        } else if site != ParamSite::Template {
            // Maestro's merge rejects user params carrying a system mode ("Cannot modify system mode").
            ctx.error(
                at.key(META_INTERNAL_MODE),
                "internal_mode is reserved for system default and job template params",
            );
        }
    }
    if let Some(tags) = &def.tags {
        tag_list(ctx, tags, &at.key("tags"));
    }
    if let Some(ParamValue::Map(nested)) = &def.value {
        let nested_site = match site {
            ParamSite::Definition | ParamSite::Run => ParamSite::Nested,
            other => other,
        };
        param_map(ctx, nested, &at.key("value"), nested_site);
    }
}

/// `RunParamsConstraint` plus the definition rules.
pub(crate) fn run_params(ctx: &mut Ctx, params: &ParamMap, base: &JsonPath) {
    if params.len() > PARAM_MAP_SIZE_LIMIT {
        ctx.error(
            base.clone(),
            format!(
                "[param definition] contain the number of params [{}] more than param size limit {PARAM_MAP_SIZE_LIMIT}",
                params.len()
            ),
        );
    }
    for name in params.keys() {
        if RESERVED_PARAM_NAMES.contains(&name.as_str()) {
            ctx.error(
                base.key(name),
                format!(
                    "[param definition] cannot use any of reserved param names - rejected value is [{name}]"
                ),
            );
        }
    }
    param_map(ctx, params, base, ParamSite::Run);
}
