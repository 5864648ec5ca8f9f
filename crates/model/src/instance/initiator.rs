//! Initiators (§5.2): who or what started a workflow instance — a user, a time or signal trigger,
//! or a parent step (subworkflow, foreach, while, template) whose ancestry is carried along.

use crate::definition::User;
use crate::json::{from_value_at, take_type};
use crate::maestro_enum;
use crate::params::Parameter;
use crate::path::sub_path_error;
use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Deepest allowed nesting of instances (ancestors count must stay below it).
pub const WORKFLOW_DEPTH_LIMIT: usize = 10;

maestro_enum! {
    /// The `type` of an initiator.
    pub enum InitiatorType {
        /// A user.
        Manual => "MANUAL",
        /// A subworkflow step.
        Subworkflow => "SUBWORKFLOW",
        /// A foreach step (inline).
        Foreach => "FOREACH",
        /// A while step (inline).
        While => "WHILE",
        /// A template step (inline, unused).
        Template => "TEMPLATE",
        /// A time trigger.
        Time => "TIME",
        /// A signal trigger.
        Signal => "SIGNAL",
    }
}

impl InitiatorType {
    /// Runs started this way may be restarted by users (root runs).
    pub fn is_restartable(self) -> bool {
        matches!(
            self,
            InitiatorType::Manual | InitiatorType::Time | InitiatorType::Signal
        )
    }

    /// Runs started this way are inline workflows (loop iterations).
    pub fn is_inline(self) -> bool {
        matches!(
            self,
            InitiatorType::Foreach | InitiatorType::While | InitiatorType::Template
        )
    }
}

/// A manual start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualInitiator {
    /// Nesting depth (0 for a root).
    #[serde(default)]
    pub depth: i32,
    /// The caller (filled by the server from the request's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

/// A time-trigger start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeInitiator {
    /// The trigger uuid.
    #[serde(default)]
    pub trigger_uuid: String,
    /// The scheduled fire time (ms).
    #[serde(default)]
    pub trigger_time: i64,
    /// The cron time zone.
    #[serde(default)]
    pub timezone: String,
    /// Nesting depth.
    #[serde(default)]
    pub depth: i32,
}

/// A signal-trigger start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalInitiator {
    /// The trigger uuid.
    #[serde(default)]
    pub trigger_uuid: String,
    /// Nesting depth.
    #[serde(default)]
    pub depth: i32,
    /// Matched signal name → signal sequence id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_id_map: Option<IndexMap<String, i64>>,
    /// The trigger's evaluated params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<IndexMap<String, Parameter>>,
}

/// One ancestor of a child instance: the instance and step that started it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamInfo {
    /// Parent workflow id.
    #[serde(default)]
    pub workflow_id: String,
    /// Parent instance id.
    #[serde(default)]
    pub instance_id: i64,
    /// Parent run id.
    #[serde(default)]
    pub run_id: i64,
    /// Parent step id.
    #[serde(default)]
    pub step_id: String,
    /// Parent step attempt.
    #[serde(default)]
    pub step_attempt_id: i64,
    /// `false` marks an async subworkflow boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<bool>,
}

impl UpstreamInfo {
    /// The parent is an inline (loop iteration) workflow.
    pub fn is_inline(&self) -> bool {
        is_inline_workflow_id(&self.workflow_id)
    }

    /// The boundary is asynchronous (`sync: false`).
    pub fn is_async(&self) -> bool {
        self.sync == Some(false)
    }
}

/// True for the ids of foreach and while iteration workflows (`maestro_foreach…`,
/// `maestro_while…`).
pub fn is_inline_workflow_id(workflow_id: &str) -> bool {
    workflow_id.starts_with("maestro_foreach") || workflow_id.starts_with("maestro_while")
}

/// A start by a parent step; `ancestors[0]` is the root, the last is the direct parent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamInitiator {
    /// The ancestry, root first.
    #[serde(default)]
    pub ancestors: Vec<UpstreamInfo>,
}

impl UpstreamInitiator {
    /// The direct parent.
    pub fn parent(&self) -> Option<&UpstreamInfo> {
        self.ancestors.last()
    }

    /// The root.
    pub fn root(&self) -> Option<&UpstreamInfo> {
        self.ancestors.first()
    }

    /// The closest ancestor that is not an inline workflow.
    pub fn non_inline_parent(&self) -> Option<&UpstreamInfo> {
        self.ancestors.iter().rev().find(|a| !a.is_inline())
    }
}

/// An initiator, tagged by `type` (case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub enum Initiator {
    /// `MANUAL`.
    Manual(ManualInitiator),
    /// `TIME`.
    Time(TimeInitiator),
    /// `SIGNAL`.
    Signal(SignalInitiator),
    /// `SUBWORKFLOW`.
    Subworkflow(UpstreamInitiator),
    /// `FOREACH`.
    Foreach(UpstreamInitiator),
    /// `WHILE`.
    While(UpstreamInitiator),
    /// `TEMPLATE`.
    Template(UpstreamInitiator),
}

impl Initiator {
    /// A manual initiator for a user.
    pub fn manual(user: Option<User>) -> Self {
        Initiator::Manual(ManualInitiator { depth: 0, user })
    }

    /// The type.
    pub fn initiator_type(&self) -> InitiatorType {
        match self {
            Initiator::Manual(_) => InitiatorType::Manual,
            Initiator::Time(_) => InitiatorType::Time,
            Initiator::Signal(_) => InitiatorType::Signal,
            Initiator::Subworkflow(_) => InitiatorType::Subworkflow,
            Initiator::Foreach(_) => InitiatorType::Foreach,
            Initiator::While(_) => InitiatorType::While,
            Initiator::Template(_) => InitiatorType::Template,
        }
    }

    /// Nesting depth: the ancestor count for child runs, the stored depth otherwise.
    pub fn depth(&self) -> usize {
        match self {
            Initiator::Manual(m) => usize::try_from(m.depth).unwrap_or(0),
            Initiator::Time(t) => usize::try_from(t.depth).unwrap_or(0),
            Initiator::Signal(s) => usize::try_from(s.depth).unwrap_or(0),
            Initiator::Subworkflow(u)
            | Initiator::Foreach(u)
            | Initiator::While(u)
            | Initiator::Template(u) => u.ancestors.len(),
        }
    }

    /// The upstream part of a child run.
    pub fn upstream(&self) -> Option<&UpstreamInitiator> {
        match self {
            Initiator::Subworkflow(u)
            | Initiator::Foreach(u)
            | Initiator::While(u)
            | Initiator::Template(u) => Some(u),
            _ => None,
        }
    }

    /// The direct parent of a child run.
    pub fn parent(&self) -> Option<&UpstreamInfo> {
        self.upstream().and_then(UpstreamInitiator::parent)
    }
}

impl Serialize for Initiator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let ty = self.initiator_type();
        match self {
            // Maestro writes these alphabetically.
            Initiator::Manual(i) => {
                m.serialize_entry("depth", &i.depth)?;
                m.serialize_entry("type", &ty)?;
                if let Some(u) = &i.user {
                    m.serialize_entry("user", u)?;
                }
            }
            Initiator::Time(i) => {
                m.serialize_entry("trigger_uuid", &i.trigger_uuid)?;
                m.serialize_entry("trigger_time", &i.trigger_time)?;
                m.serialize_entry("timezone", &i.timezone)?;
                m.serialize_entry("depth", &i.depth)?;
                m.serialize_entry("type", &ty)?;
            }
            Initiator::Signal(i) => {
                m.serialize_entry("trigger_uuid", &i.trigger_uuid)?;
                m.serialize_entry("depth", &i.depth)?;
                m.serialize_entry("type", &ty)?;
                if let Some(v) = &i.signal_id_map {
                    m.serialize_entry("signal_id_map", v)?;
                }
                if let Some(v) = &i.params {
                    m.serialize_entry("params", v)?;
                }
            }
            Initiator::Subworkflow(u)
            | Initiator::Foreach(u)
            | Initiator::While(u)
            | Initiator::Template(u) => {
                m.serialize_entry("ancestors", &u.ancestors)?;
                m.serialize_entry("depth", &u.ancestors.len())?;
                m.serialize_entry("type", &ty)?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Initiator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let (ty, mut rest) = take_type(v).map_err(|(p, m)| sub_path_error(&p, m))?;
        let Some(kind) = InitiatorType::parse(&ty) else {
            return Err(sub_path_error(
                "type",
                format!(
                    "unknown initiator type `{ty}`, expected one of {}",
                    InitiatorType::expected()
                ),
            ));
        };
        if matches!(
            kind,
            InitiatorType::Subworkflow
                | InitiatorType::Foreach
                | InitiatorType::While
                | InitiatorType::Template
        ) {
            // Read-only: derived from the ancestors.
            rest.shift_remove("depth");
        }
        let rest = Value::Object(rest);
        let r = match kind {
            InitiatorType::Manual => from_value_at(rest).map(Initiator::Manual),
            InitiatorType::Time => from_value_at(rest).map(Initiator::Time),
            InitiatorType::Signal => from_value_at(rest).map(Initiator::Signal),
            InitiatorType::Subworkflow => from_value_at(rest).map(Initiator::Subworkflow),
            InitiatorType::Foreach => from_value_at(rest).map(Initiator::Foreach),
            InitiatorType::While => from_value_at(rest).map(Initiator::While),
            InitiatorType::Template => from_value_at(rest).map(Initiator::Template),
        };
        r.map_err(|(p, m)| sub_path_error(&p, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_manual_initiator() {
        let i: Initiator = serde_json::from_str(r#"{"type": "manual"}"#).unwrap();
        assert_eq!(i.initiator_type(), InitiatorType::Manual);
        assert_eq!(
            serde_json::to_string(&i).unwrap(),
            r#"{"depth":0,"type":"MANUAL"}"#
        );
    }

    #[test]
    fn upstream_depth_is_derived() {
        let json = r#"{"type": "FOREACH", "depth": 7, "ancestors": [
            {"workflow_id": "wf", "instance_id": 1, "run_id": 1, "step_id": "f", "step_attempt_id": 1},
            {"workflow_id": "maestro_foreach_x", "instance_id": 2, "run_id": 1, "step_id": "g", "step_attempt_id": 1, "sync": false}]}"#;
        let i: Initiator = serde_json::from_str(json).unwrap();
        assert_eq!(i.depth(), 2);
        assert!(i.initiator_type().is_inline() && !i.initiator_type().is_restartable());
        let up = i.upstream().unwrap();
        assert_eq!(up.non_inline_parent().unwrap().workflow_id, "wf");
        assert!(i.parent().unwrap().is_async());
        let out = serde_json::to_value(&i).unwrap();
        assert_eq!(out["depth"], 2);
        let again: Initiator = serde_json::from_value(out).unwrap();
        assert_eq!(again, i);
    }

    #[test]
    fn trigger_initiators_round_trip() {
        for json in [
            r#"{"trigger_uuid":"u","trigger_time":5,"timezone":"UTC","depth":0,"type":"TIME"}"#,
            r#"{"trigger_uuid":"u","depth":0,"type":"SIGNAL","signal_id_map":{"a":1},"params":{"foo":{"value":"bar","type":"STRING","evaluated_result":"bar","evaluated_time":1}}}"#,
        ] {
            let i: Initiator = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&i).unwrap(), json);
        }
        assert!(serde_json::from_str::<Initiator>(r#"{"type": "cron"}"#).is_err());
        assert!(serde_json::from_str::<Initiator>(r#"{"type": "manual", "who": "x"}"#).is_err());
    }
}
