-- Step breakpoints and paused attempts. Same shape as migrations/sqlite/0004_breakpoints.sql.

CREATE TABLE step_breakpoint (
  workflow_id TEXT COLLATE "C" NOT NULL,
  step_id     TEXT COLLATE "C" NOT NULL,
  version     BIGINT NOT NULL,
  instance_id BIGINT NOT NULL,
  run_id      BIGINT NOT NULL,
  attempt_id  BIGINT NOT NULL,
  created_by  TEXT NOT NULL,
  create_ts   BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, step_id, version, instance_id, run_id, attempt_id)
);

CREATE TABLE paused_step_attempt (
  workflow_id            TEXT COLLATE "C" NOT NULL,
  instance_id            BIGINT NOT NULL,
  run_id                 BIGINT NOT NULL,
  step_id                TEXT COLLATE "C" NOT NULL,
  attempt_id             BIGINT NOT NULL,
  breakpoint_workflow_id TEXT COLLATE "C" NOT NULL,
  version                BIGINT NOT NULL,
  create_ts              BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, instance_id, run_id, step_id, attempt_id)
);

CREATE INDEX paused_step_attempt_by_breakpoint ON paused_step_attempt (breakpoint_workflow_id, step_id);
