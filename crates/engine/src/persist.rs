//! Mapping between the model's documents and the store's rows.
//!
//! A run or step attempt is stored as one immutable-ish JSON document plus a few mutable columns
//! (status, timestamps, overview, timeline, artifacts). Identity and mutable fields live in the
//! columns and are re-attached on read, so a hot-path update never rewrites the document.

use baton_model::instance::{
    Artifact, SignalDependencies, SignalOutputs, StepInstance, StepRuntimeState, Timeline,
    WorkflowInstance, WorkflowInstanceStatus, WorkflowRuntimeOverview,
};
use baton_store::{InstanceRow, StepAttemptKey, StepAttemptRow, StepAttemptWrite};
use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::params::Params;
use baton_model::definition::Step;

fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| EngineError::Internal(format!("cannot serialize {what}: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| EngineError::Internal(format!("stored {what} is unreadable: {e}")))
}

/// The document stored for a run: the instance without its identity and mutable fields.
pub(crate) fn instance_document(wi: &WorkflowInstance) -> Result<String> {
    let mut doc = wi.clone();
    doc.runtime_overview = None;
    doc.timeline = None;
    doc.aggregated_info = None;
    to_json(&doc, "workflow instance")
}

/// Rebuilds a `WorkflowInstance` from its row.
pub(crate) fn instance_from_row(row: &InstanceRow) -> Result<WorkflowInstance> {
    let mut doc: Value = parse(&row.instance, "workflow instance")?;
    if let Value::Object(map) = &mut doc {
        map.insert("workflow_instance_id".into(), row.key.instance_id.into());
        map.insert("workflow_run_id".into(), row.key.run_id.into());
        map.insert("correlation_id".into(), row.correlation_id.clone().into());
        map.insert("workflow_uuid".into(), row.uuid.clone().into());
        let status = WorkflowInstanceStatus::from_raw(&row.status).ok_or_else(|| {
            EngineError::Internal(format!("stored run status [{}] is unknown", row.status))
        })?;
        map.insert("status".into(), status.as_str().into());
        map.insert("create_time".into(), row.create_ts.into());
        map.insert("modify_time".into(), row.modify_ts.into());
        if let Some(t) = row.start_ts {
            map.insert("start_time".into(), t.into());
        }
        if let Some(t) = row.end_ts {
            map.insert("end_time".into(), t.into());
        }
        if let Some(o) = &row.runtime_overview {
            map.insert(
                "runtime_overview".into(),
                parse::<Value>(o, "runtime overview")?,
            );
        }
        if let Some(t) = &row.timeline {
            map.insert("timeline".into(), parse::<Value>(t, "timeline")?);
        }
    }
    serde_json::from_value(doc)
        .map_err(|e| EngineError::Internal(format!("stored workflow instance is unreadable: {e}")))
}

/// The mutable columns of a step attempt, serialized.
pub(crate) struct StepColumns {
    pub runtime_state: String,
    pub artifacts: Option<String>,
    pub timeline: Option<String>,
    pub dependencies: Option<String>,
    pub outputs: Option<String>,
}

pub(crate) fn step_columns(si: &StepInstance) -> Result<StepColumns> {
    Ok(StepColumns {
        runtime_state: to_json(&si.runtime_state, "runtime state")?,
        artifacts: si
            .artifacts
            .as_ref()
            .map(|a| to_json(a, "artifacts"))
            .transpose()?,
        timeline: si
            .timeline
            .as_ref()
            .map(|t| to_json(t, "timeline"))
            .transpose()?,
        dependencies: si
            .signal_dependencies
            .as_ref()
            .map(|d| to_json(d, "signal dependencies"))
            .transpose()?,
        outputs: si
            .signal_outputs
            .as_ref()
            .map(|o| to_json(o, "signal outputs"))
            .transpose()?,
    })
}

/// The document of a step attempt: everything but the mutable columns.
pub(crate) fn step_document(si: &StepInstance) -> Result<String> {
    let mut doc = si.clone();
    doc.runtime_state = StepRuntimeState::default();
    doc.artifacts = None;
    doc.timeline = None;
    doc.signal_dependencies = None;
    doc.signal_outputs = None;
    to_json(&doc, "step instance")
}

/// A write of a step attempt. With `document` (the step's definition and evaluated params, which
/// the actor keeps outside the attempt), the whole document is written; without, only the
/// mutable columns.
pub(crate) fn step_write(
    si: &StepInstance,
    document: Option<(&Step, Option<&Params>)>,
) -> Result<StepAttemptWrite> {
    let cols = step_columns(si)?;
    let rs = &si.runtime_state;
    Ok(StepAttemptWrite {
        key: StepAttemptKey {
            run: baton_store::RunKey {
                workflow_id: si.workflow_id.clone(),
                instance_id: si.workflow_instance_id,
                run_id: si.workflow_run_id,
            },
            step_id: si.step_id.clone(),
            attempt_id: si.step_attempt_id,
        },
        step_instance_id: si.step_instance_id,
        step_uuid: si.step_uuid.clone(),
        status: rs.status.as_str().to_string(),
        create_ts: rs.create_time.unwrap_or(0),
        start_ts: rs.start_time,
        end_ts: rs.end_time,
        modify_ts: rs.modify_time.unwrap_or(0),
        instance: match document {
            Some((definition, params)) => {
                let mut full = si.clone();
                full.definition = definition.clone();
                full.params = params.cloned();
                Some(step_document(&full)?)
            }
            None => None,
        },
        runtime_state: cols.runtime_state,
        artifacts: cols.artifacts,
        timeline: cols.timeline,
        dependencies: cols.dependencies,
        outputs: cols.outputs,
    })
}

/// Rebuilds a `StepInstance` from its row.
pub(crate) fn step_from_row(row: &StepAttemptRow) -> Result<StepInstance> {
    let mut si: StepInstance = parse(&row.instance, "step instance")?;
    si.runtime_state = parse(&row.runtime_state, "runtime state")?;
    si.artifacts = row
        .artifacts
        .as_deref()
        .map(|a| parse::<IndexMap<String, Artifact>>(a, "artifacts"))
        .transpose()?;
    si.timeline = row
        .timeline
        .as_deref()
        .map(|t| parse::<Timeline>(t, "timeline"))
        .transpose()?;
    si.signal_dependencies = row
        .dependencies
        .as_deref()
        .map(|d| parse::<SignalDependencies>(d, "signal dependencies"))
        .transpose()?;
    si.signal_outputs = row
        .outputs
        .as_deref()
        .map(|o| parse::<SignalOutputs>(o, "signal outputs"))
        .transpose()?;
    Ok(si)
}

/// Serializes a runtime overview for its column.
pub(crate) fn overview_json(o: &WorkflowRuntimeOverview) -> Result<String> {
    to_json(o, "runtime overview")
}

/// Serializes a timeline for its column.
pub(crate) fn timeline_json(t: &Timeline) -> Result<String> {
    to_json(t, "timeline")
}
