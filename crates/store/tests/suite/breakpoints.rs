//! Step breakpoints and paused attempts (migration 0004): upsert, list by step, delete with and
//! without resuming, one paused row per attempt, deletion counts.

use std::sync::Arc;

use baton_store::{
    BreakpointRow, PausedAttemptRow, RunKey, StepAttemptKey, Store, WriteOp, WriteOutcome,
};

fn bp(wf: &str, step: &str, instance: i64, by: &str) -> BreakpointRow {
    BreakpointRow {
        workflow_id: wf.into(),
        step_id: step.into(),
        version: 0,
        instance_id: instance,
        run_id: 0,
        attempt_id: 0,
        created_by: format!(r#"{{"name":"{by}"}}"#),
        create_ts: 10,
    }
}

fn paused(wf: &str, instance: i64, step: &str, attempt: i64, on: &str) -> PausedAttemptRow {
    PausedAttemptRow {
        key: StepAttemptKey {
            run: RunKey {
                workflow_id: wf.into(),
                instance_id: instance,
                run_id: 1,
            },
            step_id: step.into(),
            attempt_id: attempt,
        },
        breakpoint_workflow_id: on.into(),
        version: 1,
        create_ts: 20,
    }
}

pub async fn breakpoints_and_paused_attempts(store: Arc<dyn Store>) {
    store
        .write(vec![
            WriteOp::PutBreakpoint(bp("wf", "a", 0, "x")),
            WriteOp::PutBreakpoint(bp("wf", "a", 3, "x")),
            WriteOp::PutBreakpoint(bp("wf", "b", 0, "x")),
            WriteOp::PutBreakpoint(bp("other", "a", 0, "x")),
        ])
        .await
        .unwrap();
    // Upsert: the same key again refreshes the author.
    store
        .write(vec![WriteOp::PutBreakpoint(bp("wf", "a", 0, "y"))])
        .await
        .unwrap();
    let a = store.list_breakpoints(Some("wf"), Some("a")).await.unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].instance_id, 0);
    assert!(a[0].created_by.contains("y"));
    assert_eq!(a[1].instance_id, 3);
    assert_eq!(store.list_breakpoints(None, None).await.unwrap().len(), 4);

    let iteration = "maestro_foreach_x_1_abc";
    store
        .write(vec![
            WriteOp::AddPausedAttempt(paused("wf", 1, "a", 1, "wf")),
            WriteOp::AddPausedAttempt(paused("wf", 1, "a", 1, "wf")),
            WriteOp::AddPausedAttempt(paused("wf", 2, "a", 1, "wf")),
            WriteOp::AddPausedAttempt(paused(iteration, 1, "a", 1, "wf")),
            WriteOp::AddPausedAttempt(paused("wf", 1, "b", 1, "wf")),
        ])
        .await
        .unwrap();
    let on_a = store
        .list_paused_attempts(Some("wf"), Some("a"))
        .await
        .unwrap();
    assert_eq!(on_a.len(), 3, "{on_a:?}");
    assert_eq!(
        store
            .list_paused_attempts_of_run(&RunKey {
                workflow_id: "wf".into(),
                instance_id: 1,
                run_id: 1
            })
            .await
            .unwrap()
            .len(),
        2
    );
    // Resume one: its row goes; resuming it again finds nothing.
    let key = paused("wf", 2, "a", 1, "wf").key;
    let out = store
        .write(vec![WriteOp::DeletePausedAttempt(key.clone())])
        .await
        .unwrap();
    assert_eq!(out, vec![WriteOutcome::Count(1)]);
    let out = store
        .write(vec![WriteOp::DeletePausedAttempt(key)])
        .await
        .unwrap();
    assert_eq!(out, vec![WriteOutcome::Count(0)]);
    // Delete without resume keeps the paused rows; with resume removes those of the step,
    // iterations included.
    let out = store
        .write(vec![WriteOp::DeleteBreakpoints {
            workflow_id: "wf".into(),
            step_id: "b".into(),
            resume: false,
        }])
        .await
        .unwrap();
    assert_eq!(out, vec![WriteOutcome::Count(1)]);
    assert_eq!(
        store
            .list_paused_attempts(Some("wf"), Some("b"))
            .await
            .unwrap()
            .len(),
        1
    );
    let out = store
        .write(vec![WriteOp::DeleteBreakpoints {
            workflow_id: "wf".into(),
            step_id: "a".into(),
            resume: true,
        }])
        .await
        .unwrap();
    assert_eq!(out, vec![WriteOutcome::Count(2)]);
    assert!(
        store
            .list_breakpoints(Some("wf"), Some("a"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_paused_attempts(Some("wf"), Some("a"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list_paused_attempts(None, None).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .list_breakpoints(Some("other"), None)
            .await
            .unwrap()
            .len(),
        1
    );
}
