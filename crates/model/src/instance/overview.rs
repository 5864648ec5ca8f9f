//! Summaries written on instances: the runtime overview (step counts by status, leaf rollups),
//! the aggregated view across runs, and the foreach overview kept in the foreach artifact.

use super::status::{StepInstanceStatus, WorkflowInstanceStatus};
use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Steps of one status: the count, and per step `[ordinal, start_time, end_time]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct WorkflowStepStatusSummary {
    /// Number of steps in the status.
    pub cnt: i64,
    /// `[ordinal, start, end]` of each step's latest attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Vec<i64>>>,
}

impl WorkflowStepStatusSummary {
    /// Adds a step and updates the count.
    pub fn add_step(&mut self, info: Vec<i64>) {
        let steps = self.steps.get_or_insert_with(Vec::new);
        steps.push(info);
        self.cnt = steps.len() as i64;
    }
}

impl<'de> Deserialize<'de> for WorkflowStepStatusSummary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Maestro also accepts a bare count (`@JsonCreator of(long)`).
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WorkflowStepStatusSummary;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count or {cnt, steps}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(WorkflowStepStatusSummary {
                    cnt: v,
                    steps: None,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(v).map_err(|_| E::custom("count too large"))?)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut s = WorkflowStepStatusSummary::default();
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "cnt" => s.cnt = map.next_value()?,
                        "steps" => s.steps = map.next_value()?,
                        other => return Err(de::Error::unknown_field(other, &["cnt", "steps"])),
                    }
                }
                Ok(s)
            }
        }
        d.deserialize_any(V)
    }
}

/// Leaf steps of one status across a tree, with references (`wf:run` → `[instance:step:attempt]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountReference {
    /// Count.
    #[serde(default)]
    pub cnt: i64,
    /// References kept for statuses worth looking at.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<IndexMap<String, Vec<String>>>,
}

impl CountReference {
    fn aggregate(&mut self, other: &CountReference) {
        self.cnt += other.cnt;
        if let Some(refs) = &other.reference {
            let mine = self.reference.get_or_insert_with(IndexMap::new);
            for (k, v) in refs {
                mine.entry(k.clone()).or_default().extend(v.iter().cloned());
            }
        }
    }
}

/// Rollup of leaf step statuses over an instance tree (iterations, subworkflows, earlier runs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRollupOverview {
    /// Number of leaf steps.
    #[serde(default)]
    pub total_leaf_count: i64,
    /// Counts by status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<IndexMap<StepInstanceStatus, CountReference>>,
}

impl WorkflowRollupOverview {
    /// Adds another rollup into this one.
    pub fn aggregate(&mut self, other: &WorkflowRollupOverview) {
        self.total_leaf_count += other.total_leaf_count;
        let Some(theirs) = &other.overview else {
            return;
        };
        let mine = self.overview.get_or_insert_with(IndexMap::new);
        for (status, count) in theirs {
            mine.entry(*status).or_default().aggregate(count);
        }
    }
}

/// The runtime overview of an instance run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRuntimeOverview {
    /// Steps in the run's DAG.
    #[serde(default)]
    pub total_step_count: i64,
    /// Steps by status.
    #[serde(default)]
    pub step_overview: IndexMap<StepInstanceStatus, WorkflowStepStatusSummary>,
    /// Leaf rollup of the whole tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollup_overview: Option<WorkflowRollupOverview>,
    /// This run's own status (the instance status is the aggregated one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_status: Option<WorkflowInstanceStatus>,
}

/// One step's status across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepAggregatedView {
    /// The run the status comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<i64>,
    /// The status.
    pub status: StepInstanceStatus,
    /// Start (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// End (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
}

/// The merged view of an instance across its runs, used by restarts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowInstanceAggregatedInfo {
    /// Aggregated instance status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_instance_status: Option<WorkflowInstanceStatus>,
    /// Step id → latest status across runs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub step_aggregated_views: IndexMap<String, StepAggregatedView>,
}

/// A run of iteration ids: one id, or an inclusive `[start, end]` range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First id.
    pub start: i64,
    /// Last id (inclusive).
    pub end: i64,
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.start == self.end {
            s.serialize_i64(self.start)
        } else {
            [self.start, self.end].serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(i64),
            Two([i64; 2]),
        }
        match Raw::deserialize(d)
            .map_err(|_| de::Error::custom("an interval is a number or [start, end]"))?
        {
            Raw::One(n) => Ok(Interval { start: n, end: n }),
            Raw::Two([start, end]) => Ok(Interval { start, end }),
        }
    }
}

/// Progress of a foreach step's iterations.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeachStepOverview {
    /// First non-terminal iteration of the base run.
    #[serde(default)]
    pub checkpoint: i64,
    /// Terminal iterations by status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<IndexMap<WorkflowInstanceStatus, i64>>,
    /// Running iterations by status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_stats: Option<IndexMap<WorkflowInstanceStatus, i64>>,
    /// Rollup of terminal iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollup: Option<WorkflowRollupOverview>,
    /// Rollup of running iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_rollup: Option<WorkflowRollupOverview>,
    /// Iteration ids by status, as intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<IndexMap<WorkflowInstanceStatus, Vec<Interval>>>,
    /// Iterations restarted in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_info: Option<Vec<i64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_overview_round_trip() {
        let json = r#"{"total_step_count":3,"step_overview":{"SUCCEEDED":{"cnt":1,"steps":[[1,5,6]]},"NOT_CREATED":{"cnt":2}},"rollup_overview":{"total_leaf_count":3,"overview":{"SUCCEEDED":{"cnt":1},"FATALLY_FAILED":{"cnt":1,"ref":{"wf:1":["1:job:1"]}}}},"run_status":"SUCCEEDED"}"#;
        let o: WorkflowRuntimeOverview = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&o).unwrap(), json);
        let bare: WorkflowStepStatusSummary = serde_json::from_str("4").unwrap();
        assert_eq!(bare.cnt, 4);
    }

    #[test]
    fn rollups_add_up() {
        let a: WorkflowRollupOverview =
            serde_json::from_str(r#"{"total_leaf_count":2,"overview":{"SUCCEEDED":{"cnt":2}}}"#)
                .unwrap();
        let b: WorkflowRollupOverview = serde_json::from_str(
            r#"{"total_leaf_count":1,"overview":{"STOPPED":{"cnt":1,"ref":{"w:1":["1:s:1"]}},"SUCCEEDED":{"cnt":1}}}"#,
        )
        .unwrap();
        let mut sum = a.clone();
        sum.aggregate(&b);
        assert_eq!(sum.total_leaf_count, 3);
        let ov = sum.overview.unwrap();
        assert_eq!(ov[&StepInstanceStatus::Succeeded].cnt, 3);
        assert_eq!(
            ov[&StepInstanceStatus::Stopped].reference.as_ref().unwrap()["w:1"].len(),
            1
        );
    }

    #[test]
    fn foreach_details_intervals() {
        let json = r#"{"checkpoint":2,"stats":{"SUCCEEDED":3},"details":{"SUCCEEDED":[[1,2],5]},"restart_info":[4]}"#;
        let o: ForeachStepOverview = serde_json::from_str(json).unwrap();
        let d = &o.details.as_ref().unwrap()[&WorkflowInstanceStatus::Succeeded];
        assert_eq!(d[0], Interval { start: 1, end: 2 });
        assert_eq!(d[1], Interval { start: 5, end: 5 });
        assert_eq!(serde_json::to_string(&o).unwrap(), json);
    }
}
