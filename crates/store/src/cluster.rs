//! Cluster membership rows (migration 0006): nodes with leases and the ownership groups they
//! hold. The store answers the lease questions with row locks and compare-and-set statements;
//! there is no consensus code anywhere else. What the rows mean:
//!
//! - A node's lease is its `cluster_node` row: [`crate::Store::heartbeat_node`] pushes
//!   `expires_ms` to the database's "now" plus the lease, and a node whose `expires_ms` is past
//!   is dead.
//! - A group belongs to `owner_node` while that node is alive. [`crate::Store::claim_groups`]
//!   takes groups that have no owner or a dead one and bumps their `generation`; a write batch
//!   that starts with [`crate::WriteOp::Fence`] applies only while its group still has the
//!   generation the writer was given, so a node that lost a group cannot write to its runs.

/// A node as it advertises itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Unique per node; a node restarted with the same id gives up what its previous
    /// incarnation held (see [`crate::Store::join_cluster`]).
    pub node_id: String,
    /// Where other nodes reach it (e.g. `http://10.0.0.5:8080`).
    pub address: String,
}

/// One ownership group as the store sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLease {
    pub group_id: i64,
    /// Bumped by every claim; 0 for a group never claimed.
    pub generation: i64,
    pub owner_node: Option<String>,
    pub owner_address: Option<String>,
    /// The owner's lease has not expired.
    pub owner_live: bool,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHeartbeat {
    /// Nodes whose lease has not expired (this one included).
    pub live_nodes: i64,
    /// `(group_id, generation)` of every group this node owns, by group id.
    pub held: Vec<(i64, i64)>,
}
