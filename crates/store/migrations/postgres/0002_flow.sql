-- Control flow: tag permits (user-set concurrency limits per tag), and an index for the
-- STRICT_SEQUENTIAL run strategy, which stops dequeuing while a run of the workflow is FAILED.
-- Same shape as migrations/sqlite/0002_flow.sql.

CREATE TABLE tag_permit (
  tag         TEXT COLLATE "C" PRIMARY KEY,
  max_allowed BIGINT NOT NULL CHECK (max_allowed >= 0),
  timeline    TEXT,
  extra_info  TEXT,
  create_ts   BIGINT NOT NULL,
  modify_ts   BIGINT NOT NULL
);

CREATE INDEX workflow_instance_failed ON workflow_instance (workflow_id, instance_id, run_id)
  WHERE status = 'FAILED';
