-- Cluster mode: nodes, ownership groups and their leases. Same shape as
-- migrations/postgres/0006_cluster.sql (single-node SQLite never fills these tables, but the two
-- schemas stay identical).
--
-- A node's lease is its row in cluster_node: it heartbeats `expires_ms` forward. A group is
-- owned by `owner_node` while that node's lease has not expired; a claim by another node bumps
-- `generation`, which fences the old owner's writes. Run rows carry their group in
-- workflow_instance.group_id.

CREATE TABLE cluster_node (
  node_id      TEXT PRIMARY KEY,
  address      TEXT NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL
);

CREATE TABLE flow_group (
  group_id      INTEGER PRIMARY KEY,
  generation    INTEGER NOT NULL DEFAULT 0,
  owner_node    TEXT,
  owner_address TEXT,
  claimed_ms    INTEGER
);

CREATE INDEX flow_group_owner ON flow_group (owner_node);

CREATE INDEX workflow_instance_group_active ON workflow_instance (group_id, depth, create_ts)
  WHERE status IN ('CREATED', 'IN_PROGRESS', 'PAUSED');
