-- Control flow: tag permits (user-set concurrency limits per tag), and an index for the
-- STRICT_SEQUENTIAL run strategy, which stops dequeuing while a run of the workflow is FAILED.

CREATE TABLE tag_permit (
  tag         TEXT PRIMARY KEY,
  max_allowed INTEGER NOT NULL CHECK (max_allowed >= 0),
  timeline    TEXT,
  extra_info  TEXT,
  create_ts   INTEGER NOT NULL,
  modify_ts   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX workflow_instance_failed ON workflow_instance (workflow_id, instance_id, run_id)
  WHERE status = 'FAILED';
