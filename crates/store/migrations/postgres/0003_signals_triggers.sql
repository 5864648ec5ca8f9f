-- Signals and trigger state (maestro-api.md §3.3, §5): announced signal instances with a
-- per-name sequence, an inverted index of their params for matching, and the durable state of
-- each workflow trigger (signal-trigger checkpoints, time-trigger watermarks).
-- Same shape as migrations/sqlite/0003_signals_triggers.sql.

-- One row per announced signal. `instance` is the SignalInstance JSON without `seq_id` and
-- `create_time` (re-attached from the columns on read); `instance_id` is the dedup key.
CREATE TABLE signal_instance (
  name        TEXT COLLATE "C" NOT NULL,
  seq_id      BIGINT NOT NULL,
  instance_id TEXT COLLATE "C" NOT NULL,
  instance    TEXT NOT NULL,
  create_ts   BIGINT NOT NULL,
  PRIMARY KEY (name, seq_id)
);

CREATE UNIQUE INDEX signal_instance_dedup ON signal_instance (name, instance_id);

-- Inverted index of signal params. `encoded_val` is order-preserving within a type (see
-- `baton_store::signal_codec`) as long as it compares bytewise, hence COLLATE "C": a range scan
-- on it is a comparison of the values, and strings and longs occupy disjoint ranges, so a long
-- never matches a string.
CREATE TABLE signal_param (
  signal_name   TEXT COLLATE "C" NOT NULL,
  param_name    TEXT COLLATE "C" NOT NULL,
  encoded_val   TEXT COLLATE "C" NOT NULL,
  signal_seq_id BIGINT NOT NULL,
  PRIMARY KEY (signal_name, param_name, encoded_val, signal_seq_id)
);

-- Checks "signal N has param P with a value in range" by point lookup, for every condition of
-- a match but the one that drives the scan.
CREATE INDEX signal_param_by_seq ON signal_param (signal_name, signal_seq_id, param_name, encoded_val);

-- The durable state of one trigger of a workflow: `kind` is TIME or SIGNAL, `definition` the
-- trigger JSON it was created for, `state` an engine-owned JSON document (checkpoints,
-- watermarks, pending executions), `version` a compare-and-set counter.
CREATE TABLE workflow_trigger (
  workflow_id  TEXT COLLATE "C" NOT NULL,
  trigger_uuid TEXT COLLATE "C" NOT NULL,
  kind         TEXT NOT NULL,
  definition   TEXT NOT NULL,
  state        TEXT NOT NULL,
  version      BIGINT NOT NULL,
  modify_ts    BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, trigger_uuid)
);
