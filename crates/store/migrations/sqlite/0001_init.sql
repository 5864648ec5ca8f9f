-- Baton schema, SQLite. Tables follow Maestro's data model (workflows, versions, properties,
-- instance runs, step attempts) with narrow mutable columns for the hot path.

CREATE TABLE sequence (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE workflow (
  workflow_id         TEXT PRIMARY KEY,
  internal_id         INTEGER NOT NULL UNIQUE,
  active_version_id   INTEGER NOT NULL DEFAULT 0 CHECK (active_version_id >= 0),
  latest_version_id   INTEGER NOT NULL CHECK (latest_version_id > 0),
  latest_instance_id  INTEGER NOT NULL DEFAULT 0,
  properties_snapshot TEXT NOT NULL,
  activate_ts         INTEGER,
  activated_by        TEXT,
  modify_ts           INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE workflow_version (
  workflow_id   TEXT NOT NULL,
  version_id    INTEGER NOT NULL,
  metadata      TEXT NOT NULL,
  definition    TEXT NOT NULL,
  trigger_uuids TEXT,
  create_ts     INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, version_id)
) WITHOUT ROWID;

CREATE TABLE workflow_properties (
  workflow_id        TEXT NOT NULL,
  create_time        INTEGER NOT NULL,
  seq                INTEGER NOT NULL,
  author             TEXT NOT NULL,
  properties_changes TEXT NOT NULL,
  previous_snapshot  TEXT,
  PRIMARY KEY (workflow_id, create_time, seq)
) WITHOUT ROWID;

CREATE TABLE workflow_instance (
  workflow_id       TEXT NOT NULL,
  instance_id       INTEGER NOT NULL,
  run_id            INTEGER NOT NULL,
  uuid              TEXT NOT NULL,
  correlation_id    TEXT NOT NULL,
  initiator_type    TEXT NOT NULL,
  depth             INTEGER NOT NULL,
  parent_workflow_id TEXT,
  parent_instance_id INTEGER,
  parent_run_id      INTEGER,
  parent_step_id     TEXT,
  parent_attempt_id  INTEGER,
  group_id          INTEGER NOT NULL,
  status            TEXT NOT NULL,
  queued            INTEGER NOT NULL,
  create_ts         INTEGER NOT NULL,
  start_ts          INTEGER,
  end_ts            INTEGER,
  modify_ts         INTEGER NOT NULL,
  instance          TEXT NOT NULL,
  runtime_overview  TEXT,
  artifacts         TEXT,
  timeline          TEXT,
  PRIMARY KEY (workflow_id, instance_id, run_id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX workflow_instance_uuid ON workflow_instance (workflow_id, uuid);
-- Run-strategy and recovery queries look only at runs that are not terminal.
CREATE INDEX workflow_instance_active ON workflow_instance (workflow_id, status, instance_id, run_id)
  WHERE status IN ('CREATED', 'IN_PROGRESS', 'PAUSED');
CREATE INDEX workflow_instance_parent ON workflow_instance
  (parent_workflow_id, parent_instance_id, parent_run_id, parent_step_id)
  WHERE parent_workflow_id IS NOT NULL;

CREATE TABLE step_instance (
  workflow_id          TEXT NOT NULL,
  workflow_instance_id INTEGER NOT NULL,
  workflow_run_id      INTEGER NOT NULL,
  step_id              TEXT NOT NULL,
  step_attempt_id      INTEGER NOT NULL,
  step_instance_id     INTEGER NOT NULL,
  step_uuid            TEXT NOT NULL,
  status               TEXT NOT NULL,
  create_ts            INTEGER NOT NULL,
  start_ts             INTEGER,
  end_ts               INTEGER,
  modify_ts            INTEGER NOT NULL,
  instance             TEXT NOT NULL,
  runtime_state        TEXT NOT NULL,
  artifacts            TEXT,
  timeline             TEXT,
  dependencies         TEXT,
  outputs              TEXT,
  PRIMARY KEY (workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id)
) WITHOUT ROWID;
