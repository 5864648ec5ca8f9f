//! Time triggers (`CRON`, `PREDEFINED`, `INTERVAL`) and signal triggers (§9.1, §9.2).

use super::ParsableLong;
use super::signal::SignalMatchParam;
use crate::json::{from_value_at, take_type};
use crate::maestro_enum;
use crate::params::ParamDefinition;
use crate::path::sub_path_error;
use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

maestro_enum! {
    /// The `type` of a time trigger.
    pub enum TimeTriggerType {
        /// A cron expression.
        Cron => "CRON",
        /// A fixed interval (modelled by Maestro but rejected by its validation).
        Interval => "INTERVAL",
        /// `@hourly`, `@daily`, …
        Predefined => "PREDEFINED",
    }
}

/// A predefined schedule, written `@hourly`, `@daily`, `@weekly`, `@monthly` or `@yearly`
/// (the `@` and the case are optional on input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PredefinedSchedule {
    /// `0 * * * *`
    Hourly,
    /// `0 0 * * *`
    Daily,
    /// `0 0 * * 0`
    Weekly,
    /// `0 0 1 * *`
    Monthly,
    /// `0 0 1 1 *`
    Yearly,
}

impl PredefinedSchedule {
    /// The `@name` form.
    pub fn as_str(self) -> &'static str {
        match self {
            PredefinedSchedule::Hourly => "@hourly",
            PredefinedSchedule::Daily => "@daily",
            PredefinedSchedule::Weekly => "@weekly",
            PredefinedSchedule::Monthly => "@monthly",
            PredefinedSchedule::Yearly => "@yearly",
        }
    }

    /// The equivalent 5-field cron expression.
    pub fn cron(self) -> &'static str {
        match self {
            PredefinedSchedule::Hourly => "0 * * * *",
            PredefinedSchedule::Daily => "0 0 * * *",
            PredefinedSchedule::Weekly => "0 0 * * 0",
            PredefinedSchedule::Monthly => "0 0 1 * *",
            PredefinedSchedule::Yearly => "0 0 1 1 *",
        }
    }

    /// Parses `@daily`, `daily`, `DAILY`, …
    pub fn parse(text: &str) -> Option<Self> {
        let name = text.strip_prefix('@').unwrap_or(text);
        [
            PredefinedSchedule::Hourly,
            PredefinedSchedule::Daily,
            PredefinedSchedule::Weekly,
            PredefinedSchedule::Monthly,
            PredefinedSchedule::Yearly,
        ]
        .into_iter()
        .find(|s| s.as_str()[1..].eq_ignore_ascii_case(name))
    }
}

impl Serialize for PredefinedSchedule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PredefinedSchedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PredefinedSchedule::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown predefined schedule `{text}`, expected one of @hourly, @daily, @weekly, @monthly, @yearly"
            ))
        })
    }
}

/// A cron trigger. The expression is 5-field UNIX cron or 6–7-field Quartz cron.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronTimeTrigger {
    /// The cron expression.
    #[serde(default)]
    pub cron: String,
    /// Deterministic jitter bound (a JSON number here is **milliseconds**).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuzzy_max_delay: Option<ParsableLong>,
    /// IANA time zone (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// A predefined-schedule trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredefinedTimeTrigger {
    /// The schedule.
    pub expression: PredefinedSchedule,
    /// Jitter bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuzzy_max_delay: Option<ParsableLong>,
    /// IANA time zone (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// An interval trigger (kept for compatibility; validation rejects it as Maestro does).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalTimeTrigger {
    /// Jitter bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuzzy_max_delay: Option<ParsableLong>,
    /// The interval (e.g. `"3H"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Start time, `MM-dd-yyyy hh:mm:ss.SSSz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

/// A time trigger, tagged by `type` (case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub enum TimeTrigger {
    /// `CRON`.
    Cron(CronTimeTrigger),
    /// `PREDEFINED`.
    Predefined(PredefinedTimeTrigger),
    /// `INTERVAL`.
    Interval(IntervalTimeTrigger),
}

impl TimeTrigger {
    /// The trigger's type.
    pub fn trigger_type(&self) -> TimeTriggerType {
        match self {
            TimeTrigger::Cron(_) => TimeTriggerType::Cron,
            TimeTrigger::Predefined(_) => TimeTriggerType::Predefined,
            TimeTrigger::Interval(_) => TimeTriggerType::Interval,
        }
    }

    /// The time zone, if any.
    pub fn timezone(&self) -> Option<&str> {
        match self {
            TimeTrigger::Cron(t) => t.timezone.as_deref(),
            TimeTrigger::Predefined(t) => t.timezone.as_deref(),
            TimeTrigger::Interval(_) => None,
        }
    }

    /// The jitter bound, if any.
    pub fn fuzzy_max_delay(&self) -> Option<&ParsableLong> {
        match self {
            TimeTrigger::Cron(t) => t.fuzzy_max_delay.as_ref(),
            TimeTrigger::Predefined(t) => t.fuzzy_max_delay.as_ref(),
            TimeTrigger::Interval(t) => t.fuzzy_max_delay.as_ref(),
        }
    }
}

impl Serialize for TimeTrigger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Maestro writes these classes alphabetically, which puts `type` last.
        let body = match self {
            TimeTrigger::Cron(t) => serde_json::to_value(t),
            TimeTrigger::Predefined(t) => serde_json::to_value(t),
            TimeTrigger::Interval(t) => serde_json::to_value(t),
        }
        .map_err(serde::ser::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let Value::Object(obj) = body {
            for (k, v) in obj {
                m.serialize_entry(&k, &v)?;
            }
        }
        m.serialize_entry("type", &self.trigger_type())?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for TimeTrigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let (ty, rest) = take_type(v).map_err(|(p, m)| sub_path_error(&p, m))?;
        let rest = Value::Object(rest);
        let parsed = match TimeTriggerType::parse(&ty) {
            Some(TimeTriggerType::Cron) => from_value_at(rest).map(TimeTrigger::Cron),
            Some(TimeTriggerType::Predefined) => from_value_at(rest).map(TimeTrigger::Predefined),
            Some(TimeTriggerType::Interval) => from_value_at(rest).map(TimeTrigger::Interval),
            None => Err((
                "type".to_string(),
                format!(
                    "unknown time trigger type `{ty}`, expected one of {}",
                    TimeTriggerType::expected()
                ),
            )),
        };
        parsed.map_err(|(p, m)| sub_path_error(&p, m))
    }
}

/// One signal of a signal trigger: conditions on its params and the keys that join it to the
/// trigger's other signals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalTriggerEntry {
    /// Static conditions on the signal's params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_params: Option<IndexMap<String, SignalMatchParam>>,
    /// Join keys (the i-th key of every signal must have equal values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_keys: Option<Vec<String>>,
}

/// A signal trigger: starts the workflow when signals matching all `definitions` have arrived.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalTrigger {
    /// Signal name → conditions (at most 8 names).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub definitions: IndexMap<String, SignalTriggerEntry>,
    /// Params evaluated at execution (no workflow context) and given to the initiator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, ParamDefinition>>,
    /// Optional SEL condition checked after a match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Optional SEL expression whose result dedups starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_expr: Option<String>,
}

/// Internal trigger identities of a workflow version (not part of the API JSON).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerUuids {
    /// Shared uuid of all time triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_trigger_uuid: Option<String>,
    /// Signal trigger uuid → index in `signal_triggers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_trigger_uuids: Option<IndexMap<String, i32>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_triggers_round_trip_with_type_last() {
        let json = r#"[{"cron": "0 0 12 1/1 * ? *", "timezone": "US/Pacific", "type": "CRON"},
            {"expression": "@daily", "timezone": "Asia/Tokyo", "type": "predefined"},
            {"cron": "*/2 * * * *", "fuzzy_max_delay": "30s", "type": "cron"}]"#;
        let triggers: Vec<TimeTrigger> = serde_json::from_str(json).unwrap();
        assert_eq!(triggers[1].trigger_type(), TimeTriggerType::Predefined);
        let out = serde_json::to_string(&triggers[0]).unwrap();
        assert_eq!(
            out,
            r#"{"cron":"0 0 12 1/1 * ? *","timezone":"US/Pacific","type":"CRON"}"#
        );
        let again: Vec<TimeTrigger> =
            serde_json::from_str(&serde_json::to_string(&triggers).unwrap()).unwrap();
        assert_eq!(again, triggers);
    }

    #[test]
    fn predefined_names() {
        assert_eq!(
            PredefinedSchedule::parse("DAILY"),
            Some(PredefinedSchedule::Daily)
        );
        assert_eq!(
            PredefinedSchedule::parse("@Hourly"),
            Some(PredefinedSchedule::Hourly)
        );
        assert_eq!(PredefinedSchedule::parse("@minutely"), None);
        assert_eq!(PredefinedSchedule::Weekly.cron(), "0 0 * * 0");
    }

    #[test]
    fn unknown_trigger_fields_are_rejected() {
        let err = serde_json::from_str::<TimeTrigger>(
            r#"{"type": "CRON", "cron": "* * * * *", "tz": "UTC"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `tz`"), "{err}");
        let err = serde_json::from_str::<TimeTrigger>(r#"{"type": "HOURLY"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown time trigger type"), "{err}");
    }
}
