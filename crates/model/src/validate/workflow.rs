//! Rules of the create request, properties, workflow-level fields, tags, triggers and job
//! templates.

use super::cron::{MIN_INTERVAL_SECS, check_cron};
use super::ids::{
    check_description, check_name, check_name_size, check_reference_id, check_workflow_id,
};
use super::params::{ParamSite, param_map};
use super::steps;
use super::{Ctx, ValidateOptions};
use crate::definition::{
    JobTemplateCreateRequest, ParsableLong, Properties, RESERVED_METADATA_KEYS, RunStrategyRule,
    SignalTrigger, TagList, TimeTrigger, Workflow, WorkflowCreateRequest,
};
use crate::duration::{self, DurationError};
use crate::path::JsonPath;
use std::collections::HashSet;

/// Most instance step concurrency (exclusive).
const INSTANCE_STEP_CONCURRENCY_MAX: i64 = 1000;
/// Most step concurrency.
const STEP_CONCURRENCY_MAX: i64 = 1000;
/// Most workflow concurrency.
const WORKFLOW_CONCURRENCY_MAX: i64 = 1000;
/// Most signal names in one signal trigger.
const MAX_SIGNAL_NAMES_IN_A_TRIGGER: usize = 8;

/// Largest serialized create request (`JsonSizeConstraint("256KB")`).
pub const WORKFLOW_CREATE_REQUEST_SIZE_LIMIT: usize = 256 * 1024;

pub(super) fn create_request(ctx: &mut Ctx, req: &WorkflowCreateRequest, opts: ValidateOptions) {
    let root = JsonPath::root();
    let size = serde_json::to_vec(req).map_or(0, |v| v.len());
    let limit = if opts.request_size_limit == 0 {
        WORKFLOW_CREATE_REQUEST_SIZE_LIMIT
    } else {
        opts.request_size_limit
    };
    if size > limit {
        ctx.error(
            root.clone(),
            format!(
                "Size of the workflow create request is {size} bytes which is larger than limit of {limit} bytes"
            ),
        );
    }
    match &req.properties {
        Some(p) => properties(ctx, p, &root.key("properties"), opts),
        None if opts.require_owner => ctx.error(
            root.key("properties"),
            "workflow properties and also owner must be set when creating the first version of a workflow",
        ),
        None => {}
    }
    for key in req.extra.keys() {
        if RESERVED_METADATA_KEYS.contains(&key.as_str()) {
            ctx.error(
                root.key(key),
                format!(
                    "extra info cannot contain the reserved key [{key}] (reserved: {})",
                    RESERVED_METADATA_KEYS.join(", ")
                ),
            );
        }
    }
    workflow(ctx, &req.workflow, &root.key("workflow"));
}

pub(super) fn properties(ctx: &mut Ctx, p: &Properties, at: &JsonPath, opts: ValidateOptions) {
    if opts.require_owner && p.owner.is_none() {
        ctx.error(
            at.key("owner"),
            "workflow properties and also owner must be set when creating the first version of a workflow",
        );
    }
    if let Some(owner) = &p.owner
        && owner.name.trim().is_empty()
    {
        ctx.error(at.key("owner"), "the owner name cannot be empty");
    }
    if p.access_control.is_some() {
        ctx.error(
            at.key("access_control"),
            "access_control is not supported (Maestro has no binding for it)",
        );
    }
    if let Some(rs) = &p.run_strategy {
        let c = rs.workflow_concurrency;
        if !(1..=WORKFLOW_CONCURRENCY_MAX).contains(&c) {
            ctx.error(
                at.key("run_strategy").key("workflow_concurrency"),
                format!(
                    "[workflow properties run_strategy] workflow_concurrency should be positive and no greater than {WORKFLOW_CONCURRENCY_MAX} - rejected value is [{c}]"
                ),
            );
        } else if c > 1 && rs.rule != RunStrategyRule::Parallel {
            ctx.error(
                at.key("run_strategy").key("workflow_concurrency"),
                format!(
                    "Only PARALLEL run strategy allows a workflow_concurrency greater than 1, rule is {} - rejected value is [{c}]",
                    rs.rule
                ),
            );
        }
    }
    if let Some(c) = p.step_concurrency
        && !(1..=STEP_CONCURRENCY_MAX).contains(&c)
    {
        ctx.error(
            at.key("step_concurrency"),
            format!(
                "[workflow properties] step_concurrency should be positive and no greater than {STEP_CONCURRENCY_MAX} - rejected value is [{c}]"
            ),
        );
    }
    if let Some(d) = &p.description {
        ctx.check(at.key("description"), check_description(d));
    }
    if p.tags.is_some() {
        ctx.error(
            at.key("tags"),
            "Cannot set workflow property tags in a create request; use the workflow tag endpoints",
        );
    }
    if let Some(tct) = p.alerting.as_ref().and_then(|a| a.tct.as_ref()) {
        let at = at.key("alerting").key("tct");
        let set = [
            tct.completed_by_hour.is_some(),
            tct.duration_minutes.is_some(),
            tct.completed_by_ts.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            ctx.error(
                at.clone(),
                "[TCT definition] is invalid, one and only one time field has to be set: completed_by_hour, duration_minutes or completed_by_ts",
            );
        }
        if let Some(tz) = &tct.tz {
            ctx.check(at.key("tz"), check_timezone(tz));
        }
    }
}

pub(super) fn workflow(ctx: &mut Ctx, wf: &Workflow, at: &JsonPath) {
    ctx.check(at.key("id"), check_workflow_id(&wf.id));
    if let Some(n) = &wf.name {
        ctx.check(at.key("name"), check_name_size(n));
    }
    if let Some(d) = &wf.description {
        ctx.check(at.key("description"), check_description(d));
    }
    if let Some(tags) = &wf.tags {
        tag_list(ctx, tags, &at.key("tags"));
    }
    if let Some(t) = &wf.timeout {
        ctx.check(at.key("timeout"), check_timeout(t));
    }
    if let Some(c) = wf.instance_step_concurrency
        && !(1..INSTANCE_STEP_CONCURRENCY_MAX).contains(&c)
    {
        ctx.error(
            at.key("instance_step_concurrency"),
            format!(
                "[workflow definitions] instance_step_concurrency should be positive and less than {INSTANCE_STEP_CONCURRENCY_MAX} - rejected value is [{c}]"
            ),
        );
    }
    if let Some(triggers) = &wf.time_triggers {
        for (i, t) in triggers.iter().enumerate() {
            time_trigger(ctx, t, &at.key("time_triggers").index(i));
        }
    }
    if let Some(triggers) = &wf.signal_triggers {
        for (i, t) in triggers.iter().enumerate() {
            signal_trigger(ctx, t, &at.key("signal_triggers").index(i));
        }
    }
    if let Some(params) = &wf.params {
        param_map(ctx, params, &at.key("params"), ParamSite::Definition);
    }
    steps::workflow_steps(ctx, wf, at);
}

/// Duplicate names and each tag name.
pub(crate) fn tag_list(ctx: &mut Ctx, tags: &TagList, at: &JsonPath) {
    let mut seen = HashSet::new();
    for (i, tag) in tags.tags().iter().enumerate() {
        let tag_at = at.index(i).key("name");
        ctx.check(tag_at.clone(), check_name(&tag.name));
        if !seen.insert(tag.name.as_str()) {
            ctx.error(
                tag_at,
                format!(
                    "[tag list definition] cannot contain duplicate tag names - [{}] is repeated",
                    tag.name
                ),
            );
        }
    }
}

/// `TimeoutConstraint`: a `$` reference stands for a valid number; otherwise numbers are seconds
/// and text is a duration; the result must be in (0, 120 days].
pub(crate) fn check_timeout(t: &ParsableLong) -> Option<String> {
    let r: Result<Result<i64, DurationError>, String> = duration::timeout_millis(t, |s| {
        Ok(if s.contains('$') {
            "123".to_string()
        } else {
            s.to_string()
        })
    });
    match r {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(e),
    }
}

/// Time zone ids as Java's `ZoneId.of` takes them: IANA names, `Z`, `UTC`/`GMT`/`UT` with an
/// optional offset, or a bare offset such as `+02:00`.
pub(crate) fn check_timezone(tz: &str) -> Option<String> {
    if tz.is_empty() || jiff::tz::TimeZone::get(tz).is_ok() {
        return None;
    }
    let offset = tz
        .strip_prefix("UTC")
        .or_else(|| tz.strip_prefix("GMT"))
        .or_else(|| tz.strip_prefix("UT"))
        .unwrap_or(tz);
    if tz == "Z" || offset.is_empty() || is_offset(offset) {
        return None;
    }
    Some(format!(
        "[timezone expression] is not valid: unknown time zone [{tz}]"
    ))
}

fn is_offset(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['+', '-']) else {
        return false;
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let ok_num = |p: &str, max: u32| {
        !p.is_empty() && p.len() <= 2 && p.parse::<u32>().is_ok_and(|v| v <= max)
    };
    match parts.as_slice() {
        [h] if h.len() == 4 => ok_num(&h[..2], 18) && ok_num(&h[2..], 59),
        [h] => ok_num(h, 18),
        [h, m] => ok_num(h, 18) && ok_num(m, 59),
        [h, m, s] => ok_num(h, 18) && ok_num(m, 59) && ok_num(s, 59),
        _ => false,
    }
}

fn time_trigger(ctx: &mut Ctx, t: &TimeTrigger, at: &JsonPath) {
    match t {
        TimeTrigger::Interval(_) => ctx.error(
            at.key("type"),
            "[time-trigger] INTERVAL time triggers are not supported (Maestro rejects them too)",
        ),
        TimeTrigger::Cron(c) => match check_cron(&c.cron) {
            Ok(check) => {
                if let Some(gap) = check.min_gap_secs()
                    && gap < MIN_INTERVAL_SECS
                {
                    ctx.error(
                        at.key("cron"),
                        format!(
                            "[time-trigger] the interval between time triggers is less than the minimal value [{}] millis - fires {gap} s apart",
                            MIN_INTERVAL_SECS * 1000
                        ),
                    );
                }
            }
            Err(m) => ctx.error(at.key("cron"), m),
        },
        TimeTrigger::Predefined(_) => {}
    }
    if let Some(tz) = t.timezone() {
        ctx.check(at.key("timezone"), check_timezone(tz));
    }
    if let Some(delay) = t.fuzzy_max_delay() {
        let at = at.key("fuzzy_max_delay");
        if let Some(m) = check_timeout(delay) {
            ctx.error(at, m);
        } else if let Ok(ms) = duration::fuzzy_delay_millis(delay)
            && ms > 0
            && ms < 1000
        {
            ctx.error(
                at,
                format!(
                    "[time-trigger] fuzzy_max_delay is [{ms}] ms; a jitter needs at least 1 second (a JSON number here is milliseconds)"
                ),
            );
        }
    }
}

fn signal_trigger(ctx: &mut Ctx, t: &SignalTrigger, at: &JsonPath) {
    let defs = at.key("definitions");
    if t.definitions.is_empty() {
        ctx.error(
            defs.clone(),
            "a signal trigger needs at least one signal definition",
        );
    }
    if t.definitions.len() > MAX_SIGNAL_NAMES_IN_A_TRIGGER {
        ctx.error(
            defs.clone(),
            format!(
                "[signal-trigger] the signal names within the signal triggers are more than the limit [{MAX_SIGNAL_NAMES_IN_A_TRIGGER}]"
            ),
        );
    }
    let key_counts: HashSet<usize> = t
        .definitions
        .values()
        .map(|e| e.join_keys.as_ref().map_or(0, Vec::len))
        .collect();
    if key_counts.len() > 1 {
        ctx.error(
            defs.clone(),
            "[signal-trigger] the join_keys lengths between signals in the signal triggers must be the same",
        );
    }
    for (name, entry) in &t.definitions {
        if name.trim().is_empty() {
            ctx.error(defs.key(name), "a signal name cannot be empty");
        }
        if let (Some(mp), Some(keys)) = (&entry.match_params, &entry.join_keys) {
            for (i, key) in keys.iter().enumerate() {
                if mp.contains_key(key) {
                    ctx.error(
                        defs.key(name).key("join_keys").index(i),
                        format!(
                            "[signal-trigger] the join_key [{key}] cannot be used in match_params at the same time"
                        ),
                    );
                }
            }
        }
    }
    if let Some(params) = &t.params {
        param_map(ctx, params, &at.key("params"), ParamSite::Signal);
    }
}

pub(super) fn job_template(ctx: &mut Ctx, req: &JobTemplateCreateRequest) {
    let root = JsonPath::root();
    for (field, missing) in [
        ("owner", req.owner.is_none()),
        ("status", req.status.is_none()),
        ("support", req.support.is_none()),
        ("definition", req.definition.is_none()),
    ] {
        if missing {
            ctx.error(
                root.key(field),
                format!("{field} is required in a job template"),
            );
        }
    }
    let Some(def) = &req.definition else {
        return;
    };
    let at = root.key("definition");
    ctx.check(at.key("job_type"), check_reference_id(&def.job_type));
    ctx.check(at.key("version"), check_reference_id(&def.version));
    if let Some(d) = &def.description {
        ctx.check(at.key("description"), check_description(d));
    }
    if let Some(tags) = &def.tags {
        tag_list(ctx, &TagList(tags.clone()), &at.key("tags"));
    }
    if let Some(params) = &def.params {
        param_map(ctx, params, &at.key("params"), ParamSite::Template);
    }
    if let Some(inherit) = &def.inherit_from {
        for (job_type, version) in inherit {
            let p = at.key("inherit_from").key(job_type);
            ctx.check(p.clone(), check_reference_id(job_type));
            ctx.check(p, check_reference_id(version));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones() {
        for ok in [
            "UTC",
            "US/Pacific",
            "Asia/Tokyo",
            "America/Los_Angeles",
            "Z",
            "+02:00",
            "GMT+8",
            "UTC-05:30",
        ] {
            assert_eq!(check_timezone(ok), None, "{ok}");
        }
        for bad in ["Mars/Olympus", "+25:00", "PST8", "utc+x"] {
            assert!(check_timezone(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn timeouts() {
        assert_eq!(check_timeout(&ParsableLong::Long(100)), None);
        assert_eq!(check_timeout(&"${bar}s".into()), None);
        assert_eq!(check_timeout(&"20 minutes".into()), None);
        assert!(check_timeout(&ParsableLong::Long(0)).is_some());
        assert!(check_timeout(&"abc".into()).is_some());
        assert!(check_timeout(&"121 days".into()).is_some());
    }
}
