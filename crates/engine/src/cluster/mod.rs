//! Cluster mode: several engines (one per `baton server` process) share one store and split the
//! work between them by *ownership groups*, without a consensus layer of their own — the
//! store's row locks and compare-and-set statements decide (see `baton_store::cluster`).
//!
//! - A root run belongs to group `hash(workflow_id) % groups`; every run below it (foreach and
//!   while iterations, subworkflow children) belongs to its root's group, so a workflow's
//!   queue, its runs and their whole trees live on one node and talk in memory. The group is
//!   stored on the run row (`group_id`).
//! - A node runs the actors, queues and triggers of the groups it holds a lease on, and only
//!   those. Every write batch of a run actor starts with `WriteOp::Fence {group, generation}`,
//!   so a node that lost a group (its lease expired and another node claimed it with
//!   generation + 1) cannot write to that group's runs any more, even before it notices.
//! - `membership` heartbeats the node, claims and releases groups towards an even share, and
//!   resumes (`recovery::resume_group`) or parks the runs of groups as they come and go.
//! - A request that must be served by a group's owner (a start, an action on a run) fails
//!   here with `EngineError::NotOwner` naming the owner's address; the server forwards it.
//!
//! Without a `ClusterConfig` (SQLite, or PostgreSQL without `--cluster`) the engine owns every
//! group, writes carry no fence, and nothing here runs.

pub(crate) mod membership;
pub(crate) mod notice;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use baton_model::instance::WorkflowInstance;
use baton_store::{RunKey, WriteOp};

/// Default number of ownership groups.
pub const DEFAULT_GROUPS: i64 = 64;

/// How this engine takes part in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Unique per node (and stable across restarts of one node, ideally).
    pub node_id: String,
    /// The URL other nodes forward requests to, e.g. `http://10.0.0.5:8080`.
    pub address: String,
    /// How long a node's lease lasts without a heartbeat: the longest a dead node's groups
    /// stay unowned.
    pub lease: Duration,
    /// How often the node renews its lease and rebalances (well under `lease`).
    pub heartbeat: Duration,
}

/// A group this node holds, or the owner of one it does not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupOwner {
    pub group_id: i64,
    pub generation: i64,
    pub owner_node: Option<String>,
    pub owner_address: Option<String>,
    pub owner_live: bool,
}

/// What this node owns right now (for `GET /api/v3/cluster` and tests).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClusterStatus {
    pub clustered: bool,
    pub node_id: Option<String>,
    pub groups: i64,
    /// `(group, generation)` held by this node.
    pub held: Vec<(i64, i64)>,
    /// Runs with a live actor on this node.
    pub live_runs: usize,
}

/// The group of a workflow: FNV-1a of its id, modulo `groups` (stable across processes and
/// versions: it decides where runs live).
pub fn group_of_workflow(workflow_id: &str, groups: i64) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in workflow_id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % groups.max(1) as u64) as i64
}

/// The engine's view of which groups it owns.
pub(crate) struct Ownership {
    pub groups: i64,
    pub cluster: Option<ClusterConfig>,
    /// Held groups and their generations (cluster mode only).
    held: Mutex<HashMap<i64, i64>>,
    /// The group of every live run actor, to park a group's runs.
    run_groups: Mutex<HashMap<RunKey, i64>>,
    /// Set when the engine shuts down: the membership loop stops.
    pub stopped: tokio::sync::watch::Sender<bool>,
}

impl Ownership {
    pub fn new(groups: i64, cluster: Option<ClusterConfig>) -> Ownership {
        Ownership {
            groups: groups.max(1),
            cluster,
            held: Mutex::new(HashMap::new()),
            run_groups: Mutex::new(HashMap::new()),
            stopped: tokio::sync::watch::channel(false).0,
        }
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    pub fn group_of_workflow(&self, workflow_id: &str) -> i64 {
        group_of_workflow(workflow_id, self.groups)
    }

    /// A run's group: its root workflow's.
    pub fn group_of(&self, instance: &WorkflowInstance) -> i64 {
        let root = instance
            .initiator
            .upstream()
            .and_then(|u| u.root())
            .map(|r| r.workflow_id.as_str())
            .unwrap_or(&instance.workflow_id);
        self.group_of_workflow(root)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<i64, i64>> {
        match self.held.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        }
    }

    fn run_groups(&self) -> std::sync::MutexGuard<'_, HashMap<RunKey, i64>> {
        match self.run_groups.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        }
    }

    /// Whether this engine may act for `group` (always, outside a cluster).
    pub fn owns(&self, group: i64) -> bool {
        !self.is_cluster() || self.held().contains_key(&group)
    }

    /// The fence a write for `group` must start with: `Ok(None)` outside a cluster, `Err` when
    /// this node does not hold the group (the writer must stop without writing).
    pub fn fence(&self, group: i64) -> Result<Option<WriteOp>, ()> {
        if !self.is_cluster() {
            return Ok(None);
        }
        match self.held().get(&group) {
            Some(generation) => Ok(Some(WriteOp::Fence {
                group_id: group,
                generation: *generation,
            })),
            None => Err(()),
        }
    }

    /// `ops` with the group's fence in front (unchanged outside a cluster).
    pub fn fenced(&self, group: i64, mut ops: Vec<WriteOp>) -> crate::error::Result<Vec<WriteOp>> {
        match self.fence(group) {
            Ok(None) => Ok(ops),
            Ok(Some(fence)) => {
                ops.insert(0, fence);
                Ok(ops)
            }
            Err(()) => Err(crate::error::EngineError::NotOwner { group, owner: None }),
        }
    }

    pub fn held_groups(&self) -> Vec<(i64, i64)> {
        let mut held: Vec<_> = self.held().iter().map(|(g, n)| (*g, *n)).collect();
        held.sort_unstable();
        held
    }

    pub(crate) fn hold(&self, group: i64, generation: i64) {
        self.held().insert(group, generation);
    }

    pub(crate) fn drop_group(&self, group: i64) -> Option<i64> {
        self.held().remove(&group)
    }

    pub(crate) fn track_run(&self, key: &RunKey, group: i64) {
        self.run_groups().insert(key.clone(), group);
    }

    pub(crate) fn untrack_run(&self, key: &RunKey) {
        self.run_groups().remove(key);
    }

    pub(crate) fn runs_in(&self, groups: &HashSet<i64>) -> Vec<RunKey> {
        self.run_groups()
            .iter()
            .filter(|(_, g)| groups.contains(g))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_stable_and_in_range() {
        // Fixed values: changing the hash would move every stored run to another group.
        assert_eq!(
            group_of_workflow("", 64),
            (0xcbf2_9ce4_8422_2325_u64 % 64) as i64
        );
        assert_eq!(group_of_workflow("sample-dag-test-1", 64), 31);
        for id in ["a", "b", "wf-1", "wf-2", "maestro_foreach_x"] {
            assert!((0..7).contains(&group_of_workflow(id, 7)));
        }
        assert_eq!(group_of_workflow("anything", 1), 0);
        assert_eq!(group_of_workflow("anything", 0), 0);
        let spread: HashSet<i64> = (0..200)
            .map(|i| group_of_workflow(&format!("wf-{i}"), 16))
            .collect();
        assert_eq!(spread.len(), 16);
    }

    #[test]
    fn fences_only_in_a_cluster_and_only_for_held_groups() {
        let single = Ownership::new(8, None);
        assert!(single.owns(3));
        assert!(matches!(single.fence(3), Ok(None)));
        let clustered = Ownership::new(
            8,
            Some(ClusterConfig {
                node_id: "n".into(),
                address: "http://n".into(),
                lease: Duration::from_secs(2),
                heartbeat: Duration::from_millis(500),
            }),
        );
        assert!(!clustered.owns(3));
        assert!(clustered.fence(3).is_err());
        clustered.hold(3, 7);
        assert!(matches!(
            clustered.fence(3),
            Ok(Some(WriteOp::Fence {
                group_id: 3,
                generation: 7
            }))
        ));
        clustered.drop_group(3);
        assert!(clustered.fenced(3, Vec::new()).is_err());
    }
}
