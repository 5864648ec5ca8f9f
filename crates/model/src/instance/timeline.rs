//! Timeline events (§5.8) and the bounded, de-duplicated timeline kept per instance and step.

use crate::definition::User;
use crate::json::{from_value_at, take_type};
use crate::maestro_enum;
use crate::path::sub_path_error;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Events kept per timeline; the oldest are dropped.
pub const TIMELINE_SIZE_LIMIT: usize = 32;

maestro_enum! {
    /// Level of a LOG event.
    pub enum LogLevel {
        /// Trace.
        Trace => "TRACE",
        /// Debug.
        Debug => "DEBUG",
        /// Info.
        Info => "INFO",
        /// Warning.
        Warn => "WARN",
        /// Error.
        Error => "ERROR",
    }
}

maestro_enum! {
    /// Maestro's error codes (`MaestroRuntimeException.Code`), used in DETAILS events.
    pub enum ErrorCode {
        /// 400.
        BadRequest => "BAD_REQUEST",
        /// 401.
        Unauthorized => "UNAUTHORIZED",
        /// 403.
        Forbidden => "FORBIDDEN",
        /// 404.
        NotFound => "NOT_FOUND",
        /// 408.
        RequestTimeout => "REQUEST_TIMEOUT",
        /// 409.
        Conflict => "CONFLICT",
        /// 410.
        Gone => "GONE",
        /// 412.
        PreconditionFailed => "PRECONDITION_FAILED",
        /// 422.
        UnprocessableEntity => "UNPROCESSABLE_ENTITY",
        /// 500.
        InternalError => "INTERNAL_ERROR",
        /// 502.
        BadGateway => "BAD_GATEWAY",
    }
}

impl ErrorCode {
    /// The HTTP status code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Conflict => 409,
            ErrorCode::Gone => 410,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::UnprocessableEntity => 422,
            ErrorCode::InternalError => 500,
            ErrorCode::BadGateway => 502,
        }
    }
}

maestro_enum! {
    /// Kind of a MILESTONE event.
    pub enum MilestoneType {
        /// A CMB job.
        CmbJob => "CMB_JOB",
        /// A CMB task.
        CmbTask => "CMB_TASK",
    }
}

/// LOG event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEvent {
    /// When (ms).
    pub timestamp: i64,
    /// Level (default INFO).
    #[serde(default = "default_level")]
    pub level: LogLevel,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn default_level() -> LogLevel {
    LogLevel::Info
}

/// DETAILS event: an error with its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsEvent {
    /// When (ms).
    pub timestamp: i64,
    /// Error code (default INTERNAL_ERROR).
    #[serde(default = "default_code")]
    pub status: ErrorCode,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Error lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    /// Whether retrying may help.
    #[serde(default)]
    pub retryable: bool,
}

fn default_code() -> ErrorCode {
    ErrorCode::InternalError
}

/// STATUS event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusEvent {
    /// When (ms).
    pub timestamp: i64,
    /// A workflow or step status name.
    pub status: String,
}

/// ACTION event: a user or system action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEvent {
    /// When (ms).
    pub timestamp: i64,
    /// Action name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<User>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Numeric extra info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<i64>,
}

/// MILESTONE event (Titus/CMB progress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneEvent {
    /// When (ms).
    pub timestamp: i64,
    /// Status text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Milestone kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone_type: Option<MilestoneType>,
    /// Source id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Info (≤ 1000 chars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

/// A timeline event, tagged by `type` (case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineEvent {
    /// `LOG`.
    Log(LogEvent),
    /// `DETAILS`.
    Details(DetailsEvent),
    /// `STATUS`.
    Status(StatusEvent),
    /// `ACTION`.
    Action(ActionEvent),
    /// `MILESTONE`.
    Milestone(MilestoneEvent),
}

impl TimelineEvent {
    /// An INFO log event.
    pub fn info(timestamp: i64, message: impl Into<String>) -> Self {
        TimelineEvent::Log(LogEvent {
            timestamp,
            level: LogLevel::Info,
            message: Some(message.into()),
        })
    }

    /// A log event at a level.
    pub fn log(timestamp: i64, level: LogLevel, message: impl Into<String>) -> Self {
        TimelineEvent::Log(LogEvent {
            timestamp,
            level,
            message: Some(message.into()),
        })
    }

    /// A status event.
    pub fn status(timestamp: i64, status: impl Into<String>) -> Self {
        TimelineEvent::Status(StatusEvent {
            timestamp,
            status: status.into(),
        })
    }

    /// The `type` id.
    pub fn type_name(&self) -> &'static str {
        match self {
            TimelineEvent::Log(_) => "LOG",
            TimelineEvent::Details(_) => "DETAILS",
            TimelineEvent::Status(_) => "STATUS",
            TimelineEvent::Action(_) => "ACTION",
            TimelineEvent::Milestone(_) => "MILESTONE",
        }
    }

    /// When it happened (ms).
    pub fn timestamp(&self) -> i64 {
        match self {
            TimelineEvent::Log(e) => e.timestamp,
            TimelineEvent::Details(e) => e.timestamp,
            TimelineEvent::Status(e) => e.timestamp,
            TimelineEvent::Action(e) => e.timestamp,
            TimelineEvent::Milestone(e) => e.timestamp,
        }
    }

    /// Same event apart from the timestamp (Maestro's `isIdentical`).
    pub fn is_identical(&self, other: &TimelineEvent) -> bool {
        match (self, other) {
            (TimelineEvent::Log(a), TimelineEvent::Log(b)) => {
                a.level == b.level && a.message == b.message
            }
            (TimelineEvent::Details(a), TimelineEvent::Details(b)) => {
                a.status == b.status
                    && a.message == b.message
                    && a.errors == b.errors
                    && a.retryable == b.retryable
            }
            (TimelineEvent::Status(a), TimelineEvent::Status(b)) => a.status == b.status,
            (TimelineEvent::Action(a), TimelineEvent::Action(b)) => {
                a.action == b.action
                    && a.author == b.author
                    && a.message == b.message
                    && a.reason == b.reason
                    && a.info == b.info
            }
            (TimelineEvent::Milestone(a), TimelineEvent::Milestone(b)) => {
                a.status == b.status
                    && a.milestone_type == b.milestone_type
                    && a.info == b.info
                    && a.source_id == b.source_id
            }
            _ => false,
        }
    }
}

impl Serialize for TimelineEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let body = match self {
            TimelineEvent::Log(e) => serde_json::to_value(e),
            TimelineEvent::Details(e) => serde_json::to_value(e),
            TimelineEvent::Status(e) => serde_json::to_value(e),
            TimelineEvent::Action(e) => serde_json::to_value(e),
            TimelineEvent::Milestone(e) => serde_json::to_value(e),
        }
        .map_err(serde::ser::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let Value::Object(obj) = body {
            // `timestamp, type, …`, as Maestro orders them.
            let mut first = true;
            for (k, v) in obj {
                m.serialize_entry(&k, &v)?;
                if first {
                    m.serialize_entry("type", self.type_name())?;
                    first = false;
                }
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for TimelineEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let (ty, rest) = take_type(v).map_err(|(p, m)| sub_path_error(&p, m))?;
        let rest = Value::Object(rest);
        let r = match ty.to_ascii_uppercase().as_str() {
            "LOG" => from_value_at(rest).map(TimelineEvent::Log),
            "DETAILS" => from_value_at(rest).map(TimelineEvent::Details),
            "STATUS" => from_value_at(rest).map(TimelineEvent::Status),
            "ACTION" => from_value_at(rest).map(TimelineEvent::Action),
            "MILESTONE" => from_value_at(rest).map(TimelineEvent::Milestone),
            _ => Err((
                "type".to_string(),
                format!(
                    "unknown timeline event type `{ty}`, expected one of LOG, DETAILS, STATUS, ACTION, MILESTONE"
                ),
            )),
        };
        r.map_err(|(p, m)| sub_path_error(&p, m))
    }
}

/// A timeline: at most [`TIMELINE_SIZE_LIMIT`] events, oldest dropped, and an event identical to
/// the latest one is not added again. Written as a bare array.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timeline(Vec<TimelineEvent>);

impl Timeline {
    /// A timeline with the given events (de-duplicated and bounded like [`Timeline::add`]).
    pub fn new(events: impl IntoIterator<Item = TimelineEvent>) -> Self {
        let mut t = Timeline::default();
        t.add_all(events);
        t
    }

    /// The events, oldest first.
    pub fn events(&self) -> &[TimelineEvent] {
        &self.0
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds an event unless it is identical to the latest; drops the oldest beyond the limit.
    /// Returns whether it was added.
    pub fn add(&mut self, event: TimelineEvent) -> bool {
        if self.0.last().is_some_and(|l| l.is_identical(&event)) {
            return false;
        }
        if self.0.len() >= TIMELINE_SIZE_LIMIT {
            self.0.remove(0);
        }
        self.0.push(event);
        true
    }

    /// Adds events in order with the same rules; returns whether any was added.
    pub fn add_all(&mut self, events: impl IntoIterator<Item = TimelineEvent>) -> bool {
        let mut added = false;
        for e in events {
            added |= self.add(e);
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_with_type_after_timestamp() {
        let json = r#"[{"timestamp":1,"type":"LOG","level":"INFO","message":"hi"},
            {"timestamp":2,"type":"details","status":"BAD_REQUEST","message":"m","errors":["e"],"retryable":true},
            {"timestamp":3,"type":"STATUS","status":"RUNNING"},
            {"timestamp":4,"type":"ACTION","action":"STOP","author":"tester","reason":"r"},
            {"timestamp":5,"type":"MILESTONE","status":"s","milestone_type":"CMB_JOB"}]"#;
        let events: Vec<TimelineEvent> = serde_json::from_str(json).unwrap();
        assert_eq!(events.len(), 5);
        let out = serde_json::to_string(&events[0]).unwrap();
        assert_eq!(
            out,
            r#"{"timestamp":1,"type":"LOG","level":"INFO","message":"hi"}"#
        );
        let again: Vec<TimelineEvent> =
            serde_json::from_str(&serde_json::to_string(&events).unwrap()).unwrap();
        assert_eq!(again, events);
    }

    #[test]
    fn timeline_dedups_and_bounds() {
        let mut t = Timeline::default();
        assert!(t.add(TimelineEvent::info(1, "a")));
        assert!(
            !t.add(TimelineEvent::info(2, "a")),
            "identical to the latest"
        );
        assert!(t.add(TimelineEvent::info(3, "b")));
        assert!(
            t.add(TimelineEvent::info(4, "a")),
            "only the latest is compared"
        );
        for i in 0..40 {
            t.add(TimelineEvent::info(10 + i, format!("m{i}")));
        }
        assert_eq!(t.events().len(), TIMELINE_SIZE_LIMIT);
        assert_eq!(t.events()[0].timestamp(), 18, "oldest dropped");
    }
}
