-- Baton schema, PostgreSQL. The same tables, columns, keys and indexes as
-- migrations/sqlite/0001_init.sql, in PostgreSQL's types: a schema change is made in both files'
-- successors at once, so the two backends stay interchangeable.
--
-- Types: BIGINT for ids and millisecond timestamps; TEXT for JSON documents (not JSONB, which
-- reorders object keys: definitions and params are order-sensitive, as in Maestro); BOOLEAN for
-- flags. Text keys use COLLATE "C" so that ordering and range comparisons are byte order, as in
-- SQLite, whatever the database's default collation. The hot tables leave a fifth of each page
-- free (fillfactor 80) so that a step or run update can be a heap-only update that touches no
-- index.

CREATE TABLE sequence (
  name  TEXT COLLATE "C" PRIMARY KEY,
  value BIGINT NOT NULL
);

CREATE TABLE workflow (
  workflow_id         TEXT COLLATE "C" PRIMARY KEY,
  internal_id         BIGINT NOT NULL UNIQUE,
  active_version_id   BIGINT NOT NULL DEFAULT 0 CHECK (active_version_id >= 0),
  latest_version_id   BIGINT NOT NULL CHECK (latest_version_id > 0),
  latest_instance_id  BIGINT NOT NULL DEFAULT 0,
  properties_snapshot TEXT NOT NULL,
  activate_ts         BIGINT,
  activated_by        TEXT,
  modify_ts           BIGINT NOT NULL
);

CREATE TABLE workflow_version (
  workflow_id   TEXT COLLATE "C" NOT NULL,
  version_id    BIGINT NOT NULL,
  metadata      TEXT NOT NULL,
  definition    TEXT NOT NULL,
  trigger_uuids TEXT,
  create_ts     BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, version_id)
);

CREATE TABLE workflow_properties (
  workflow_id        TEXT COLLATE "C" NOT NULL,
  create_time        BIGINT NOT NULL,
  seq                BIGINT NOT NULL,
  author             TEXT NOT NULL,
  properties_changes TEXT NOT NULL,
  previous_snapshot  TEXT,
  PRIMARY KEY (workflow_id, create_time, seq)
);

CREATE TABLE workflow_instance (
  workflow_id        TEXT COLLATE "C" NOT NULL,
  instance_id        BIGINT NOT NULL,
  run_id             BIGINT NOT NULL,
  uuid               TEXT COLLATE "C" NOT NULL,
  correlation_id     TEXT NOT NULL,
  initiator_type     TEXT NOT NULL,
  depth              BIGINT NOT NULL,
  parent_workflow_id TEXT COLLATE "C",
  parent_instance_id BIGINT,
  parent_run_id      BIGINT,
  parent_step_id     TEXT COLLATE "C",
  parent_attempt_id  BIGINT,
  group_id           BIGINT NOT NULL,
  status             TEXT NOT NULL,
  queued             BOOLEAN NOT NULL,
  create_ts          BIGINT NOT NULL,
  start_ts           BIGINT,
  end_ts             BIGINT,
  modify_ts          BIGINT NOT NULL,
  instance           TEXT NOT NULL,
  runtime_overview   TEXT,
  artifacts          TEXT,
  timeline           TEXT,
  PRIMARY KEY (workflow_id, instance_id, run_id)
) WITH (fillfactor = 80);

CREATE UNIQUE INDEX workflow_instance_uuid ON workflow_instance (workflow_id, uuid);
-- Run-strategy and recovery queries look only at runs that are not terminal.
CREATE INDEX workflow_instance_active ON workflow_instance (workflow_id, status, instance_id, run_id)
  WHERE status IN ('CREATED', 'IN_PROGRESS', 'PAUSED');
CREATE INDEX workflow_instance_parent ON workflow_instance
  (parent_workflow_id, parent_instance_id, parent_run_id, parent_step_id)
  WHERE parent_workflow_id IS NOT NULL;

CREATE TABLE step_instance (
  workflow_id          TEXT COLLATE "C" NOT NULL,
  workflow_instance_id BIGINT NOT NULL,
  workflow_run_id      BIGINT NOT NULL,
  step_id              TEXT COLLATE "C" NOT NULL,
  step_attempt_id      BIGINT NOT NULL,
  step_instance_id     BIGINT NOT NULL,
  step_uuid            TEXT NOT NULL,
  status               TEXT NOT NULL,
  create_ts            BIGINT NOT NULL,
  start_ts             BIGINT,
  end_ts               BIGINT,
  modify_ts            BIGINT NOT NULL,
  instance             TEXT NOT NULL,
  runtime_state        TEXT NOT NULL,
  artifacts            TEXT,
  timeline             TEXT,
  dependencies         TEXT,
  outputs              TEXT,
  PRIMARY KEY (workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id)
) WITH (fillfactor = 80);
