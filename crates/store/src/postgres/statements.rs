//! The writer's SQL: every statement it runs, prepared once per connection.
//!
//! Every parameter carries an explicit type so that PostgreSQL never has to guess one (`NULL`
//! parameters included). The ops of the hot path — a step-attempt update, a run update or
//! creation, a sequence draw — are one statement each, and one whose check fails writes nothing,
//! so the writer can pipeline them (see `writer`).

use tokio_postgres::{Client, Statement};

use crate::Result;

/// The writer's prepared statements.
pub(crate) struct Statements {
    pub(crate) workflow_for_update: Statement,
    pub(crate) insert_version: Statement,
    pub(crate) update_workflow_on_push: Statement,
    pub(crate) insert_workflow: Statement,
    pub(crate) instance_floor: Statement,
    pub(crate) next_sequence: Statement,
    pub(crate) insert_properties_change: Statement,
    pub(crate) version_exists: Statement,
    pub(crate) set_active_version: Statement,
    pub(crate) set_properties: Statement,
    pub(crate) create_instance: Statement,
    pub(crate) update_instance: Statement,
    pub(crate) update_attempt: Statement,
    pub(crate) upsert_attempt: Statement,
    pub(crate) put_tag_permit: Statement,
    pub(crate) delete_tag_permit: Statement,
    pub(crate) fence: Statement,
    pub(crate) add_signal: Statement,
    pub(crate) create_trigger: Statement,
    pub(crate) update_trigger: Statement,
    pub(crate) delete_trigger: Statement,
    pub(crate) put_breakpoint: Statement,
    pub(crate) delete_breakpoints: Statement,
    pub(crate) add_paused: Statement,
    pub(crate) delete_paused: Statement,
}

impl Statements {
    pub(crate) async fn prepare(client: &Client) -> Result<Statements> {
        Ok(Statements {
            workflow_for_update: client.prepare(WORKFLOW_FOR_UPDATE).await?,
            insert_version: client.prepare(INSERT_VERSION).await?,
            update_workflow_on_push: client.prepare(UPDATE_WORKFLOW_ON_PUSH).await?,
            insert_workflow: client.prepare(INSERT_WORKFLOW).await?,
            instance_floor: client.prepare(INSTANCE_FLOOR).await?,
            next_sequence: client.prepare(NEXT_SEQUENCE).await?,
            insert_properties_change: client.prepare(INSERT_PROPERTIES_CHANGE).await?,
            version_exists: client.prepare(VERSION_EXISTS).await?,
            set_active_version: client.prepare(SET_ACTIVE_VERSION).await?,
            set_properties: client.prepare(SET_PROPERTIES).await?,
            create_instance: client.prepare(CREATE_INSTANCE).await?,
            update_instance: client.prepare(UPDATE_INSTANCE).await?,
            update_attempt: client.prepare(UPDATE_ATTEMPT).await?,
            upsert_attempt: client.prepare(UPSERT_ATTEMPT).await?,
            put_tag_permit: client.prepare(PUT_TAG_PERMIT).await?,
            delete_tag_permit: client.prepare(DELETE_TAG_PERMIT).await?,
            fence: client.prepare(FENCE).await?,
            add_signal: client.prepare(ADD_SIGNAL).await?,
            create_trigger: client.prepare(CREATE_TRIGGER).await?,
            update_trigger: client.prepare(UPDATE_TRIGGER).await?,
            delete_trigger: client.prepare(DELETE_TRIGGER).await?,
            put_breakpoint: client.prepare(PUT_BREAKPOINT).await?,
            delete_breakpoints: client.prepare(DELETE_BREAKPOINTS).await?,
            add_paused: client.prepare(ADD_PAUSED).await?,
            delete_paused: client.prepare(DELETE_PAUSED).await?,
        })
    }
}

// Cluster fencing: the group row is held (shared) until the batch commits, so a claim of the
// group cannot commit in between; the caller compares the generation.
const FENCE: &str = "SELECT generation FROM flow_group \
    WHERE group_id = $1::BIGINT AND owner_node IS NOT NULL FOR SHARE";

// The row lock keeps version numbering right should two processes ever push at once.
const WORKFLOW_FOR_UPDATE: &str = "SELECT latest_version_id, internal_id, properties_snapshot \
    FROM workflow WHERE workflow_id = $1::TEXT FOR UPDATE";

const INSERT_VERSION: &str = "INSERT INTO workflow_version \
    (workflow_id, version_id, metadata, definition, trigger_uuids, create_ts) \
    VALUES ($1::TEXT, $2::BIGINT, $3::TEXT, $4::TEXT, $5::TEXT, $6::BIGINT)";

const UPDATE_WORKFLOW_ON_PUSH: &str = "UPDATE workflow SET latest_version_id = $2::BIGINT, \
    properties_snapshot = $3::TEXT, modify_ts = $4::BIGINT, \
    active_version_id = CASE WHEN $5::BOOLEAN THEN $2::BIGINT ELSE active_version_id END, \
    activate_ts = CASE WHEN $5::BOOLEAN THEN $4::BIGINT ELSE activate_ts END, \
    activated_by = CASE WHEN $5::BOOLEAN THEN $6::TEXT ELSE activated_by END \
    WHERE workflow_id = $1::TEXT";

const INSERT_WORKFLOW: &str = "INSERT INTO workflow (workflow_id, internal_id, active_version_id, \
    latest_version_id, latest_instance_id, properties_snapshot, activate_ts, activated_by, modify_ts) \
    VALUES ($1::TEXT, $2::BIGINT, CASE WHEN $3::BOOLEAN THEN 1 ELSE 0 END, 1, $4::BIGINT, $5::TEXT, \
    CASE WHEN $3::BOOLEAN THEN $6::BIGINT END, CASE WHEN $3::BOOLEAN THEN $7::TEXT END, $6::BIGINT)";

// The highest instance id the workflow id ever had: its runs', and those of deleted
// incarnations (recorded in `sequence` under `$2` by a deletion).
const INSTANCE_FLOOR: &str = "SELECT GREATEST( \
    COALESCE((SELECT MAX(instance_id) FROM workflow_instance WHERE workflow_id = $1::TEXT), 0), \
    COALESCE((SELECT value FROM sequence WHERE name = $2::TEXT), 0))::BIGINT";

const NEXT_SEQUENCE: &str = "INSERT INTO sequence AS s (name, value) VALUES ($1::TEXT, $2::BIGINT) \
    ON CONFLICT (name) DO UPDATE SET value = s.value + 1 RETURNING s.value";

// One statement: the sequence number within the millisecond is computed where it is inserted.
const INSERT_PROPERTIES_CHANGE: &str = "INSERT INTO workflow_properties \
    (workflow_id, create_time, seq, author, properties_changes, previous_snapshot) \
    SELECT $1::TEXT, $2::BIGINT, COALESCE(MAX(seq), 0) + 1, $3::TEXT, $4::TEXT, $5::TEXT \
    FROM workflow_properties WHERE workflow_id = $1::TEXT AND create_time = $2::BIGINT";

const VERSION_EXISTS: &str =
    "SELECT 1 FROM workflow_version WHERE workflow_id = $1::TEXT AND version_id = $2::BIGINT";

const SET_ACTIVE_VERSION: &str = "UPDATE workflow SET active_version_id = $2::BIGINT, \
    activate_ts = CASE WHEN $2::BIGINT > 0 THEN $4::BIGINT END, \
    activated_by = CASE WHEN $2::BIGINT > 0 THEN $3::TEXT END, modify_ts = $4::BIGINT \
    WHERE workflow_id = $1::TEXT";

const PUT_TAG_PERMIT: &str = "INSERT INTO tag_permit \
    (tag, max_allowed, timeline, extra_info, create_ts, modify_ts) \
    VALUES ($1::TEXT, $2::BIGINT, $3::TEXT, $4::TEXT, $5::BIGINT, $6::BIGINT) \
    ON CONFLICT (tag) DO UPDATE SET max_allowed = excluded.max_allowed, \
    timeline = excluded.timeline, extra_info = excluded.extra_info, modify_ts = excluded.modify_ts";

const DELETE_TAG_PERMIT: &str = "DELETE FROM tag_permit WHERE tag = $1::TEXT";

const SET_PROPERTIES: &str = "UPDATE workflow SET properties_snapshot = $3::TEXT, \
    modify_ts = $4::BIGINT WHERE workflow_id = $1::TEXT AND properties_snapshot = $2::TEXT";

// Creating a run in one round trip: find a run with the same uuid (a duplicate start), else
// take the next instance id when none is given, insert, and move the allocator only if the
// insert happened. The last SELECT reports which of these happened: a duplicate's ids; no chosen
// id (the workflow does not exist); or nothing inserted (the run exists already). None of the
// failures writes anything. The row lock orders concurrent allocations should two processes
// ever create runs of one workflow at once.
const CREATE_INSTANCE: &str = "WITH dup AS ( \
      SELECT instance_id, run_id FROM workflow_instance \
      WHERE workflow_id = $1::TEXT AND uuid = $2::TEXT \
    ), next AS ( \
      SELECT latest_instance_id + 1 AS instance_id FROM workflow \
      WHERE workflow_id = $1::TEXT AND $3::BIGINT IS NULL AND NOT EXISTS (SELECT 1 FROM dup) \
      FOR UPDATE \
    ), chosen AS ( \
      SELECT COALESCE($3::BIGINT, (SELECT instance_id FROM next)) AS instance_id \
      WHERE NOT EXISTS (SELECT 1 FROM dup) \
    ), ins AS ( \
      INSERT INTO workflow_instance (workflow_id, instance_id, run_id, uuid, correlation_id, \
        initiator_type, depth, parent_workflow_id, parent_instance_id, parent_run_id, \
        parent_step_id, parent_attempt_id, group_id, status, queued, create_ts, start_ts, end_ts, \
        modify_ts, instance, timeline) \
      SELECT $1::TEXT, c.instance_id, $4::BIGINT, $2::TEXT, \
        COALESCE($5::TEXT, $1::TEXT || ':' || c.instance_id || ':' || $4::BIGINT), $6::TEXT, \
        $7::BIGINT, $8::TEXT, $9::BIGINT, $10::BIGINT, $11::TEXT, $12::BIGINT, $13::BIGINT, \
        $14::TEXT, $15::BOOLEAN, $16::BIGINT, $17::BIGINT, $18::BIGINT, $16::BIGINT, $19::TEXT, \
        $20::TEXT \
      FROM chosen c WHERE c.instance_id IS NOT NULL \
      ON CONFLICT (workflow_id, instance_id, run_id) DO NOTHING \
      RETURNING instance_id, correlation_id \
    ), alloc AS ( \
      UPDATE workflow w SET latest_instance_id = ins.instance_id FROM ins \
      WHERE w.workflow_id = $1::TEXT AND $3::BIGINT IS NULL \
    ) \
    SELECT (SELECT instance_id FROM dup), (SELECT run_id FROM dup), \
      (SELECT instance_id FROM chosen), (SELECT instance_id FROM ins), \
      (SELECT correlation_id FROM ins)";

// The status expectation is part of the update, and the run's status before it (all parts of
// one statement see the same snapshot) tells a missing run from one in another status: one
// round trip, and a failure writes nothing.
const UPDATE_INSTANCE: &str = "WITH upd AS ( \
      UPDATE workflow_instance SET status = COALESCE($4::TEXT, status), \
      queued = COALESCE($5::BOOLEAN, queued), start_ts = COALESCE($6::BIGINT, start_ts), \
      end_ts = COALESCE($7::BIGINT, end_ts), modify_ts = $8::BIGINT, \
      runtime_overview = COALESCE($9::TEXT, runtime_overview), \
      artifacts = COALESCE($10::TEXT, artifacts), timeline = COALESCE($11::TEXT, timeline) \
      WHERE workflow_id = $1::TEXT AND instance_id = $2::BIGINT AND run_id = $3::BIGINT \
      AND ($12::TEXT[] IS NULL OR status = ANY($12::TEXT[])) \
      RETURNING 1 \
    ) \
    SELECT (SELECT COUNT(*) FROM upd), (SELECT status FROM workflow_instance \
      WHERE workflow_id = $1::TEXT AND instance_id = $2::BIGINT AND run_id = $3::BIGINT)";

const UPDATE_ATTEMPT: &str = "UPDATE step_instance SET status = $6::TEXT, \
    start_ts = COALESCE($7::BIGINT, start_ts), end_ts = COALESCE($8::BIGINT, end_ts), \
    modify_ts = $9::BIGINT, runtime_state = $10::TEXT, artifacts = COALESCE($11::TEXT, artifacts), \
    timeline = COALESCE($12::TEXT, timeline), dependencies = COALESCE($13::TEXT, dependencies), \
    outputs = COALESCE($14::TEXT, outputs) \
    WHERE workflow_id = $1::TEXT AND workflow_instance_id = $2::BIGINT \
    AND workflow_run_id = $3::BIGINT AND step_id = $4::TEXT AND step_attempt_id = $5::BIGINT \
    RETURNING 1";

const UPSERT_ATTEMPT: &str = "INSERT INTO step_instance AS s (workflow_id, workflow_instance_id, \
    workflow_run_id, step_id, step_attempt_id, step_instance_id, step_uuid, status, create_ts, \
    start_ts, end_ts, modify_ts, instance, runtime_state, artifacts, timeline, dependencies, outputs) \
    VALUES ($1::TEXT, $2::BIGINT, $3::BIGINT, $4::TEXT, $5::BIGINT, $6::BIGINT, $7::TEXT, $8::TEXT, \
    $9::BIGINT, $10::BIGINT, $11::BIGINT, $12::BIGINT, $13::TEXT, $14::TEXT, $15::TEXT, $16::TEXT, \
    $17::TEXT, $18::TEXT) \
    ON CONFLICT (workflow_id, workflow_instance_id, workflow_run_id, step_id, step_attempt_id) \
    DO UPDATE SET status = excluded.status, start_ts = COALESCE(excluded.start_ts, s.start_ts), \
    end_ts = COALESCE(excluded.end_ts, s.end_ts), modify_ts = excluded.modify_ts, \
    instance = excluded.instance, runtime_state = excluded.runtime_state, \
    artifacts = COALESCE(excluded.artifacts, s.artifacts), \
    timeline = COALESCE(excluded.timeline, s.timeline), \
    dependencies = COALESCE(excluded.dependencies, s.dependencies), \
    outputs = COALESCE(excluded.outputs, s.outputs)";

// Storing a signal in one round trip. A signal whose instance id is stored for the name is
// reported (`dup`), and nothing is written. Otherwise its sequence id comes from a counter row
// of the name in `sequence` (`$7`, seeded from the stored signals the first time): the upsert
// locks that row until commit, so writers in other processes draw distinct, consecutive ids,
// where `MAX(seq_id) + 1` would let two of them read the same maximum. The signal row and its
// param index rows are inserted with that id.
const ADD_SIGNAL: &str = "WITH dup AS ( \
      SELECT seq_id FROM signal_instance WHERE name = $1::TEXT AND instance_id = $2::TEXT \
    ), seq AS ( \
      INSERT INTO sequence AS s (name, value) \
      SELECT $7::TEXT, COALESCE((SELECT MAX(seq_id) FROM signal_instance \
        WHERE name = $1::TEXT), 0) + 1 \
      WHERE NOT EXISTS (SELECT 1 FROM dup) \
      ON CONFLICT (name) DO UPDATE SET value = s.value + 1 \
      RETURNING s.value \
    ), ins AS ( \
      INSERT INTO signal_instance (name, seq_id, instance_id, instance, create_ts) \
      SELECT $1::TEXT, seq.value, $2::TEXT, $3::TEXT, $4::BIGINT FROM seq \
      RETURNING seq_id \
    ), params AS ( \
      INSERT INTO signal_param (signal_name, param_name, encoded_val, signal_seq_id) \
      SELECT DISTINCT $1::TEXT, p.name, p.val, seq.value \
      FROM seq, unnest($5::TEXT[], $6::TEXT[]) AS p(name, val) \
      ON CONFLICT DO NOTHING \
    ) \
    SELECT (SELECT seq_id FROM dup), (SELECT seq_id FROM ins)";

// A trigger state is created only if absent and updated only at the expected version: no row
// returned means the check failed and nothing was written.
const CREATE_TRIGGER: &str = "INSERT INTO workflow_trigger \
    (workflow_id, trigger_uuid, kind, definition, state, version, modify_ts) \
    VALUES ($1::TEXT, $2::TEXT, $3::TEXT, $4::TEXT, $5::TEXT, 1, $6::BIGINT) \
    ON CONFLICT (workflow_id, trigger_uuid) DO NOTHING RETURNING 1";

const UPDATE_TRIGGER: &str = "UPDATE workflow_trigger SET kind = $3::TEXT, definition = $4::TEXT, \
    state = $5::TEXT, version = version + 1, modify_ts = $6::BIGINT \
    WHERE workflow_id = $1::TEXT AND trigger_uuid = $2::TEXT AND version = $7::BIGINT RETURNING 1";

const DELETE_TRIGGER: &str =
    "DELETE FROM workflow_trigger WHERE workflow_id = $1::TEXT AND trigger_uuid = $2::TEXT";
const PUT_BREAKPOINT: &str = "INSERT INTO step_breakpoint (workflow_id, step_id, version, \
    instance_id, run_id, attempt_id, created_by, create_ts) VALUES ($1::TEXT, $2::TEXT, $3::BIGINT, \
    $4::BIGINT, $5::BIGINT, $6::BIGINT, $7::TEXT, $8::BIGINT) \
    ON CONFLICT (workflow_id, step_id, version, instance_id, run_id, attempt_id) DO UPDATE SET \
    created_by = excluded.created_by, create_ts = excluded.create_ts";

// Deleting a step's breakpoints answers a row per breakpoint; with `$3` (resume) the attempts
// paused at them go too, in the same statement.
const DELETE_BREAKPOINTS: &str = "WITH gone AS ( \
      DELETE FROM step_breakpoint WHERE workflow_id = $1::TEXT AND step_id = $2::TEXT RETURNING 1 \
    ), resumed AS ( \
      DELETE FROM paused_step_attempt WHERE $3::BOOLEAN \
      AND breakpoint_workflow_id = $1::TEXT AND step_id = $2::TEXT \
    ) SELECT 1 FROM gone";

const ADD_PAUSED: &str = "INSERT INTO paused_step_attempt (workflow_id, instance_id, run_id, \
    step_id, attempt_id, breakpoint_workflow_id, version, create_ts) VALUES ($1::TEXT, $2::BIGINT, \
    $3::BIGINT, $4::TEXT, $5::BIGINT, $6::TEXT, $7::BIGINT, $8::BIGINT) ON CONFLICT DO NOTHING";

const DELETE_PAUSED: &str = "DELETE FROM paused_step_attempt WHERE workflow_id = $1::TEXT \
    AND instance_id = $2::BIGINT AND run_id = $3::BIGINT AND step_id = $4::TEXT \
    AND attempt_id = $5::BIGINT RETURNING 1";
