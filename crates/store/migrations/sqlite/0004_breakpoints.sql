-- Step breakpoints (maestro-model.md §7.9, maestro-api.md §1.11): user breakpoints, where 0 in
-- version/instance/run/attempt means "match all", and the attempts paused at one.

CREATE TABLE step_breakpoint (
  workflow_id TEXT NOT NULL,
  step_id     TEXT NOT NULL,
  version     INTEGER NOT NULL,
  instance_id INTEGER NOT NULL,
  run_id      INTEGER NOT NULL,
  attempt_id  INTEGER NOT NULL,
  created_by  TEXT NOT NULL,
  create_ts   INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, step_id, version, instance_id, run_id, attempt_id)
) WITHOUT ROWID;

-- One row per attempt held PAUSED; the attempt goes on once its row is gone.
-- `breakpoint_workflow_id` is the workflow the breakpoint was set on: the run's own id, or for
-- a foreach/while iteration the workflow that defines the loop.
CREATE TABLE paused_step_attempt (
  workflow_id            TEXT NOT NULL,
  instance_id            INTEGER NOT NULL,
  run_id                 INTEGER NOT NULL,
  step_id                TEXT NOT NULL,
  attempt_id             INTEGER NOT NULL,
  breakpoint_workflow_id TEXT NOT NULL,
  version                INTEGER NOT NULL,
  create_ts              INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, instance_id, run_id, step_id, attempt_id)
) WITHOUT ROWID;

CREATE INDEX paused_step_attempt_by_breakpoint ON paused_step_attempt (breakpoint_workflow_id, step_id);
