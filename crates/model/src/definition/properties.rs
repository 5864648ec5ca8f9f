//! Workflow properties (§1.5): owner, run strategy, step concurrency, alerting and the trigger
//! switches. Properties are workflow-wide, not per version; [`PropertiesSnapshot`] is the stored
//! form with its identity fields.

use super::{TagList, User};
use crate::maestro_enum;
use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

maestro_enum! {
    /// How new instances of a workflow are queued and run (§4.2).
    pub enum RunStrategyRule {
        /// One at a time, in creation order (the default).
        Sequential => "SEQUENTIAL",
        /// Like sequential, but nothing runs while a run is FAILED.
        StrictSequential => "STRICT_SEQUENTIAL",
        /// A new instance stops itself while another one is active.
        FirstOnly => "FIRST_ONLY",
        /// A new instance stops the active one.
        LastOnly => "LAST_ONLY",
        /// Up to `workflow_concurrency` at once.
        Parallel => "PARALLEL",
        /// One running, at most one queued (the latest).
        SerialLatestOnly => "SERIAL_LATEST_ONLY",
    }
}

/// Default `workflow_concurrency` of the PARALLEL rule.
pub const DEFAULT_PARALLELISM: i64 = 20;

/// A run strategy. JSON input may be a rule name (`"sequential"`), a number (`5` = PARALLEL with
/// that concurrency) or an object `{"rule", "workflow_concurrency"}`; it is always written as the
/// object. An absent concurrency is 20 for PARALLEL and 1 otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunStrategy {
    /// The rule.
    pub rule: RunStrategyRule,
    /// How many instances may run at once (only PARALLEL may exceed 1).
    pub workflow_concurrency: i64,
}

impl RunStrategy {
    /// A strategy with the rule's default concurrency.
    pub fn new(rule: RunStrategyRule) -> Self {
        RunStrategy::with_concurrency(rule, None)
    }

    /// A strategy with an optional explicit concurrency.
    pub fn with_concurrency(rule: RunStrategyRule, concurrency: Option<i64>) -> Self {
        let workflow_concurrency = concurrency.unwrap_or(if rule == RunStrategyRule::Parallel {
            DEFAULT_PARALLELISM
        } else {
            1
        });
        RunStrategy {
            rule,
            workflow_concurrency,
        }
    }
}

impl Default for RunStrategy {
    fn default() -> Self {
        RunStrategy::new(RunStrategyRule::Sequential)
    }
}

impl<'de> Deserialize<'de> for RunStrategy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RunStrategy;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a run strategy rule, a concurrency number or {rule, workflow_concurrency}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RunStrategy, E> {
                let rule = RunStrategyRule::parse(v).ok_or_else(|| {
                    E::custom(format!(
                        "unknown RunStrategyRule `{v}`, expected one of {}",
                        RunStrategyRule::expected()
                    ))
                })?;
                Ok(RunStrategy::new(rule))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RunStrategy, E> {
                Ok(RunStrategy::with_concurrency(
                    RunStrategyRule::Parallel,
                    Some(v),
                ))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RunStrategy, E> {
                let v = i64::try_from(v).map_err(|_| E::custom("concurrency is too large"))?;
                self.visit_i64(v)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RunStrategy, A::Error> {
                let mut rule = None;
                let mut concurrency = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "rule" => rule = Some(map.next_value::<RunStrategyRule>()?),
                        "workflow_concurrency" => concurrency = map.next_value::<Option<i64>>()?,
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["rule", "workflow_concurrency"],
                            ));
                        }
                    }
                }
                let rule = rule.ok_or_else(|| de::Error::missing_field("rule"))?;
                Ok(RunStrategy::with_concurrency(rule, concurrency))
            }
        }
        d.deserialize_any(V)
    }
}

/// Properties as sent with a create request or a properties update.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Properties {
    /// The owner (required on a workflow's first version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<User>,
    /// Access control; Maestro has no binding for it, so validation rejects any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<Value>,
    /// Run strategy (absent = SEQUENTIAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_strategy: Option<RunStrategy>,
    /// Workflow-wide running-step limit, 1..=1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_concurrency: Option<i64>,
    /// Alerting configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
    /// Stored only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting_disabled: Option<bool>,
    /// Rejects signal-triggered starts when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_trigger_disabled: Option<bool>,
    /// Rejects time-triggered starts when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_trigger_disabled: Option<bool>,
    /// Description, ≤ 16384 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dynamic tags (only through the tag endpoints; rejected in a create request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagList>,
}

/// The stored properties of a workflow (what the API returns as `properties_snapshot`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertiesSnapshot {
    /// The workflow id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// When this snapshot was made (ms); acts as its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Who made the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<User>,
    /// The owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<User>,
    /// Opaque access control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<Value>,
    /// Run strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_strategy: Option<RunStrategy>,
    /// Step concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_concurrency: Option<i64>,
    /// Alerting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
    /// Stored only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting_disabled: Option<bool>,
    /// Signal trigger switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_trigger_disabled: Option<bool>,
    /// Time trigger switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_trigger_disabled: Option<bool>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dynamic tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagList>,
}

impl PropertiesSnapshot {
    /// A snapshot of `properties` made by `author` at `create_time`.
    pub fn create(workflow_id: &str, create_time: i64, author: User, p: &Properties) -> Self {
        PropertiesSnapshot {
            workflow_id: Some(workflow_id.to_string()),
            create_time: Some(create_time),
            author: Some(author),
            owner: p.owner.clone(),
            access_control: p.access_control.clone(),
            run_strategy: p.run_strategy,
            step_concurrency: p.step_concurrency,
            alerting: p.alerting.clone(),
            alerting_disabled: p.alerting_disabled,
            signal_trigger_disabled: p.signal_trigger_disabled,
            time_trigger_disabled: p.time_trigger_disabled,
            description: p.description.clone(),
            tags: p.tags.clone(),
        }
    }

    /// The run strategy, or the default SEQUENTIAL one.
    pub fn run_strategy_or_default(&self) -> RunStrategy {
        self.run_strategy.unwrap_or_default()
    }
}

maestro_enum! {
    /// A workflow's criticality (carried, not interpreted).
    pub enum Criticality {
        /// Critical.
        Critical => "CRITICAL",
        /// High.
        High => "HIGH",
        /// Medium.
        Medium => "MEDIUM",
        /// Low.
        Low => "LOW",
    }
}

/// Maestro's default alerting configuration (`DefaultAlerting`); pass-through data for Baton
/// except `emails` interpolation and the TCT.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    /// Email addresses (may contain `${param}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<String>>,
    /// PagerDuty services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduties: Option<Vec<String>>,
    /// Slack targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackConfig>,
    /// Digest bypass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_digest_config: Option<BypassDigestConfig>,
    /// PagerDuty settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty_config: Option<PagerdutyConfig>,
    /// Target completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tct: Option<Tct>,
    /// Per alert type settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_configs: Option<IndexMap<AlertType, AlertingTypeConfig>>,
}

/// Slack targets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Users to mention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_users: Option<Vec<String>>,
}

/// Which alerts skip the digest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BypassDigestConfig {
    /// Workflow-level alerts.
    #[serde(default)]
    pub workflow: bool,
    /// Step ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<String>>,
}

maestro_enum! {
    /// PagerDuty severity.
    pub enum Severity {
        /// critical
        Critical => "CRITICAL",
        /// error
        Error => "ERROR",
        /// warning
        Warning => "WARNING",
        /// info
        Info => "INFO",
    }
}

/// PagerDuty settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Always page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_page: Option<bool>,
}

/// Target completion time: exactly one of the three time fields must be set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tct {
    /// Hour offset from `TARGET_RUN_DATE` midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by_hour: Option<i32>,
    /// Minutes after `RUN_TS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i32>,
    /// Absolute deadline (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by_ts: Option<i64>,
    /// Time zone for `completed_by_hour`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

maestro_enum! {
    /// Alert types of `type_configs`.
    pub enum AlertType {
        /// A step failed.
        StepFailure => "STEP_FAILURE",
        /// TCT missed.
        TctViolation => "TCT_VIOLATION",
        /// Running too long.
        LongRunning => "LONG_RUNNING",
        /// A dependency is late.
        DependencyLate => "DEPENDENCY_LATE",
        /// A breakpoint was hit.
        BreakpointHit => "BREAKPOINT_HIT",
        /// The definition changed.
        DefinitionChange => "DEFINITION_CHANGE",
        /// A run succeeded.
        RunSuccess => "RUN_SUCCESS",
        /// Succeeded within a time.
        SuccessWithin => "SUCCESS_WITHIN",
    }
}

maestro_enum! {
    /// What an alert does (written lower-case).
    pub enum AlertAction {
        /// Send an email.
        Email => "email",
        /// Page.
        Page => "page",
        /// Post to Slack.
        Slack => "slack",
        /// Cancel.
        Cancel => "cancel",
    }
}

maestro_enum! {
    /// Alert granularity.
    pub enum Granularity {
        /// Per workflow.
        Workflow => "WORKFLOW",
        /// Per step.
        Step => "STEP",
        /// Both.
        All => "ALL",
    }
}

/// Settings of one alert type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingTypeConfig {
    /// Emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<String>>,
    /// PagerDuty services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduties: Option<Vec<String>>,
    /// Slack targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackConfig>,
    /// Actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<AlertAction>>,
    /// Disabled.
    #[serde(default)]
    pub disabled: bool,
    /// Granularity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    /// Duration in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_strategy_three_forms() {
        let s: RunStrategy = serde_json::from_str("\"sequential\"").unwrap();
        assert_eq!(s, RunStrategy::new(RunStrategyRule::Sequential));
        assert_eq!(s.workflow_concurrency, 1);
        let n: RunStrategy = serde_json::from_str("5").unwrap();
        assert_eq!(n.rule, RunStrategyRule::Parallel);
        assert_eq!(n.workflow_concurrency, 5);
        let o: RunStrategy = serde_json::from_str(r#"{"rule": "parallel"}"#).unwrap();
        assert_eq!(o.workflow_concurrency, 20);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"rule":"PARALLEL","workflow_concurrency":20}"#
        );
        assert!(serde_json::from_str::<RunStrategy>(r#"{"rule": "parallel", "x": 1}"#).is_err());
        assert!(serde_json::from_str::<RunStrategy>(r#"{"workflow_concurrency": 1}"#).is_err());
        assert!(serde_json::from_str::<RunStrategy>("\"random\"").is_err());
    }

    #[test]
    fn alerting_sample() {
        let json = r#"{"emails": ["a@x.com", "${foo}@x.com"], "pagerduties": ["svc"],
          "slack": {"users": [], "channels": [], "mention_users": []},
          "bypass_digest_config": {"workflow": true, "steps": ["s1"]},
          "pagerduty_config": {"severity": "warning", "always_page": true},
          "tct": {"completed_by_hour": 1, "tz": "UTC"},
          "type_configs": {"STEP_FAILURE": {"actions": ["EMAIL", "page"], "granularity": "step", "duration_minutes": 30}}}"#;
        let a: Alerting = serde_json::from_str(json).unwrap();
        let cfg = &a.type_configs.as_ref().unwrap()[&AlertType::StepFailure];
        assert_eq!(cfg.actions.as_ref().unwrap()[0], AlertAction::Email);
        let out = serde_json::to_string(&a).unwrap();
        assert!(out.contains(r#""actions":["email","page"]"#), "{out}");
        assert!(out.contains(r#""severity":"WARNING""#), "{out}");
        let again: Alerting = serde_json::from_str(&out).unwrap();
        assert_eq!(again, a);
    }
}
