-- Cluster mode: nodes, ownership groups and their leases. Same shape as
-- migrations/sqlite/0006_cluster.sql.
--
-- A node's lease is its row in cluster_node: it heartbeats `expires_ms` forward (in the
-- database's clock). A group is owned by `owner_node` while that node's lease has not expired;
-- a claim by another node bumps `generation`, which fences the old owner's writes (every write
-- batch of a run actor checks it in the same transaction). Run rows carry their group in
-- workflow_instance.group_id.

CREATE TABLE cluster_node (
  node_id      TEXT COLLATE "C" PRIMARY KEY,
  address      TEXT NOT NULL,
  heartbeat_ms BIGINT NOT NULL,
  expires_ms   BIGINT NOT NULL
);

CREATE TABLE flow_group (
  group_id      BIGINT PRIMARY KEY,
  generation    BIGINT NOT NULL DEFAULT 0,
  owner_node    TEXT COLLATE "C",
  owner_address TEXT,
  claimed_ms    BIGINT
);

CREATE INDEX flow_group_owner ON flow_group (owner_node);

-- A new owner resumes the unfinished runs of the groups it claimed.
CREATE INDEX workflow_instance_group_active ON workflow_instance (group_id, depth, create_ts)
  WHERE status IN ('CREATED', 'IN_PROGRESS', 'PAUSED');
