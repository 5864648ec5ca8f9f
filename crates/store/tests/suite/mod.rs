//! The store's behavioural suite: every backend must pass it. Each check takes a fresh, empty
//! store; backends provide the constructor (see `sqlite.rs`).

pub mod api_reads;
pub mod breakpoints;
pub mod cluster;
pub mod flow;
pub mod signals;

use std::sync::Arc;

use baton_store::{
    CreateInstanceOutcome, InstanceUpdate, NewInstance, NewVersion, ParentRef, RunKey,
    StepAttemptKey, StepAttemptWrite, Store, StoreError, WriteOp, WriteOutcome,
};

pub fn version(workflow_id: &str, expected: i64, activate: bool) -> NewVersion {
    NewVersion {
        workflow_id: workflow_id.to_string(),
        expected_latest_version_id: expected,
        metadata: format!(r#"{{"workflow_version_id": {}}}"#, expected + 1),
        definition: r#"{"id": "w", "steps": []}"#.to_string(),
        trigger_uuids: None,
        activate,
        activated_by: Some(r#""tester""#.to_string()),
        properties_snapshot: if expected == 0 {
            Some(r#"{"owner": "tester"}"#.to_string())
        } else {
            None
        },
        properties_change: None,
        ts: 1000 + expected,
    }
}

pub fn instance(workflow_id: &str, uuid: &str) -> NewInstance {
    NewInstance {
        workflow_id: workflow_id.to_string(),
        instance_id: None,
        run_id: 1,
        uuid: uuid.to_string(),
        correlation_id: None,
        initiator_type: "MANUAL".to_string(),
        depth: 0,
        parent: None,
        group_id: 0,
        status: "CREATED".to_string(),
        queued: true,
        create_ts: 5,
        start_ts: None,
        end_ts: None,
        instance: r#"{"doc": true}"#.to_string(),
        timeline: None,
    }
}

pub fn attempt(
    run: &RunKey,
    step: &str,
    attempt_id: i64,
    status: &str,
    doc: Option<&str>,
) -> StepAttemptWrite {
    StepAttemptWrite {
        key: StepAttemptKey {
            run: run.clone(),
            step_id: step.to_string(),
            attempt_id,
        },
        step_instance_id: 1,
        step_uuid: format!("{step}-{attempt_id}"),
        status: status.to_string(),
        create_ts: 10,
        start_ts: Some(11),
        end_ts: None,
        modify_ts: 12,
        instance: doc.map(str::to_string),
        runtime_state: format!(r#"{{"status": "{status}"}}"#),
        artifacts: None,
        timeline: None,
        dependencies: None,
        outputs: None,
    }
}

pub async fn put_workflow(store: &dyn Store, id: &str) {
    store
        .write(vec![WriteOp::PutVersion(version(id, 0, true))])
        .await
        .expect("first version");
}

pub async fn create(store: &dyn Store, i: NewInstance) -> CreateInstanceOutcome {
    match store
        .write(vec![WriteOp::CreateInstance(i)])
        .await
        .expect("create")
        .pop()
    {
        Some(WriteOutcome::Instance(o)) => o,
        other => panic!("unexpected outcome {other:?}"),
    }
}

pub async fn versions_are_numbered_and_activated(store: Arc<dyn Store>) {
    let out = store
        .write(vec![WriteOp::PutVersion(version("w", 0, true))])
        .await
        .unwrap();
    let WriteOutcome::VersionPut {
        version_id,
        internal_id,
        created_workflow,
    } = out[0].clone()
    else {
        panic!("{out:?}")
    };
    assert_eq!((version_id, created_workflow), (1, true));
    // A stale expectation is a conflict and writes nothing.
    let err = store
        .write(vec![WriteOp::PutVersion(version("w", 0, true))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let out = store
        .write(vec![WriteOp::PutVersion(version("w", 1, false))])
        .await
        .unwrap();
    assert!(matches!(
        out[0],
        WriteOutcome::VersionPut {
            version_id: 2,
            created_workflow: false,
            ..
        }
    ));
    let row = store.get_workflow("w").await.unwrap().unwrap();
    assert_eq!(
        (
            row.latest_version_id,
            row.active_version_id,
            row.internal_id
        ),
        (2, 1, internal_id)
    );
    assert_eq!(store.list_versions("w", None, 10).await.unwrap().len(), 2);
    store
        .write(vec![WriteOp::SetActiveVersion {
            workflow_id: "w".into(),
            version_id: 2,
            activated_by: None,
            ts: 9,
        }])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_workflow("w")
            .await
            .unwrap()
            .unwrap()
            .active_version_id,
        2
    );
    let err = store
        .write(vec![WriteOp::SetActiveVersion {
            workflow_id: "w".into(),
            version_id: 7,
            activated_by: None,
            ts: 9,
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    // A first push without properties is refused.
    let mut v = version("x", 0, true);
    v.properties_snapshot = None;
    assert!(store.write(vec![WriteOp::PutVersion(v)]).await.is_err());
    assert!(store.get_workflow("x").await.unwrap().is_none());
}

pub async fn instance_ids_are_allocated_and_uuids_deduplicated(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    let a = create(&*store, instance("w", "u1")).await;
    let b = create(&*store, instance("w", "u2")).await;
    assert!(matches!(
        a,
        CreateInstanceOutcome::Created {
            instance_id: 1,
            run_id: 1,
            ..
        }
    ));
    let CreateInstanceOutcome::Created { correlation_id, .. } = &b else {
        panic!()
    };
    assert_eq!(correlation_id, "w:2:1");
    let dup = create(&*store, instance("w", "u1")).await;
    assert_eq!(
        dup,
        CreateInstanceOutcome::Duplicated {
            instance_id: 1,
            run_id: 1
        }
    );
    assert_eq!(
        store
            .get_workflow("w")
            .await
            .unwrap()
            .unwrap()
            .latest_instance_id,
        2
    );
    // A restart is a new run of the same instance; the same run twice is a conflict.
    let mut restart = instance("w", "u3");
    restart.instance_id = Some(1);
    restart.run_id = 2;
    create(&*store, restart.clone()).await;
    restart.uuid = "u4".into();
    assert!(matches!(
        store.write(vec![WriteOp::CreateInstance(restart)]).await,
        Err(StoreError::Conflict(_))
    ));
    let latest = store.get_instance_run("w", 1, None).await.unwrap().unwrap();
    assert_eq!(latest.key.run_id, 2);
    assert_eq!(store.list_instance_runs("w", 1).await.unwrap().len(), 2);
    let listed = store.list_instances("w", None, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.key.instance_id, r.key.run_id))
            .collect::<Vec<_>>(),
        [(2, 1), (1, 2)]
    );
    // Unknown workflow.
    assert!(matches!(
        store
            .write(vec![WriteOp::CreateInstance(instance("nope", "u9"))])
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn a_failing_batch_leaves_nothing_behind(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    let err = store
        .write(vec![
            WriteOp::CreateInstance(instance("w", "a")),
            WriteOp::CreateInstance(instance("missing-workflow", "b")),
        ])
        .await;
    assert!(err.is_err());
    assert!(
        store
            .get_instance_run("w", 1, None)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .get_workflow("w")
            .await
            .unwrap()
            .unwrap()
            .latest_instance_id,
        0
    );
    // Concurrent batches: one failing does not fail the others (group commit isolation).
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let wf = if i % 5 == 0 { "missing" } else { "w" };
            store
                .write(vec![WriteOp::CreateInstance(instance(
                    wf,
                    &format!("c{i}"),
                ))])
                .await
                .is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 16);
    assert_eq!(
        store.list_instances("w", None, 100).await.unwrap().len(),
        16
    );
}

pub async fn runs_update_and_queue(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    for u in ["a", "b", "c"] {
        create(&*store, instance("w", u)).await;
    }
    assert_eq!(store.list_queued_runs("w", 10).await.unwrap().len(), 3);
    assert_eq!(store.count_running_runs("w").await.unwrap(), 0);
    let key = RunKey {
        workflow_id: "w".into(),
        instance_id: 1,
        run_id: 1,
    };
    store
        .write(vec![WriteOp::UpdateInstance(InstanceUpdate {
            key: key.clone(),
            expect_status: Some(vec!["CREATED".into()]),
            queued: Some(false),
            status: Some("IN_PROGRESS".into()),
            start_ts: Some(50),
            modify_ts: 51,
            ..InstanceUpdate::default()
        })])
        .await
        .unwrap();
    assert_eq!(store.count_running_runs("w").await.unwrap(), 1);
    let queued = store.list_queued_runs("w", 10).await.unwrap();
    assert_eq!(
        queued.iter().map(|r| r.key.instance_id).collect::<Vec<_>>(),
        [2, 3]
    );
    // An expectation that does not hold is a conflict.
    let err = store
        .write(vec![WriteOp::UpdateInstance(InstanceUpdate {
            key: key.clone(),
            expect_status: Some(vec!["CREATED".into()]),
            status: Some("STOPPED".into()),
            modify_ts: 52,
            ..InstanceUpdate::default()
        })])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    store
        .write(vec![WriteOp::UpdateInstance(InstanceUpdate {
            key: key.clone(),
            status: Some("SUCCEEDED".into()),
            end_ts: Some(60),
            modify_ts: 60,
            runtime_overview: Some("{}".into()),
            timeline: Some("[]".into()),
            ..InstanceUpdate::default()
        })])
        .await
        .unwrap();
    let row = store
        .get_instance_run("w", 1, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.start_ts, row.end_ts),
        ("SUCCEEDED", Some(50), Some(60))
    );
    assert_eq!(row.runtime_overview.as_deref(), Some("{}"));
    assert_eq!(row.instance, r#"{"doc": true}"#);
    let active = store.list_active_runs().await.unwrap();
    assert_eq!(active.len(), 2);
    assert!(active.iter().all(|r| r.key.instance_id != 1));
}

pub async fn step_attempts_insert_then_update_narrowly(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    create(&*store, instance("w", "a")).await;
    let run = RunKey {
        workflow_id: "w".into(),
        instance_id: 1,
        run_id: 1,
    };
    // An update of an attempt that does not exist is refused.
    assert!(matches!(
        store
            .write(vec![WriteOp::UpsertStepAttempt(attempt(
                &run, "s", 1, "RUNNING", None
            ))])
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .write(vec![WriteOp::UpsertStepAttempt(attempt(
            &run,
            "s",
            1,
            "RUNNING",
            Some(r#"{"v":1}"#),
        ))])
        .await
        .unwrap();
    let mut done = attempt(&run, "s", 1, "SUCCEEDED", None);
    done.end_ts = Some(99);
    done.artifacts = Some(r#"{"k": {}}"#.into());
    store
        .write(vec![WriteOp::UpsertStepAttempt(done)])
        .await
        .unwrap();
    store
        .write(vec![WriteOp::UpsertStepAttempt(attempt(
            &run,
            "s",
            2,
            "CREATED",
            Some(r#"{"v":2}"#),
        ))])
        .await
        .unwrap();
    let rows = store.list_step_attempts(&run).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].status, "SUCCEEDED");
    assert_eq!(
        rows[0].instance, r#"{"v":1}"#,
        "a narrow update keeps the document"
    );
    assert_eq!((rows[0].start_ts, rows[0].end_ts), (Some(11), Some(99)));
    assert_eq!(rows[0].artifacts.as_deref(), Some(r#"{"k": {}}"#));
    assert_eq!(rows[1].key.attempt_id, 2);
    assert_eq!(
        store.list_attempts_of_step(&run, "s").await.unwrap().len(),
        2
    );
    assert!(
        store
            .list_attempts_of_step(&run, "t")
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn parents_and_sequences(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    let mut child = instance("w", "child");
    child.instance_id = Some(7);
    child.parent = Some(ParentRef {
        run: RunKey {
            workflow_id: "p".into(),
            instance_id: 3,
            run_id: 2,
        },
        step_id: "loop".into(),
        attempt_id: 1,
    });
    create(&*store, child).await;
    let row = store
        .get_instance_run("w", 7, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.parent.as_ref().map(|p| p.step_id.as_str()),
        Some("loop")
    );
    // Explicit instance ids do not move the allocator.
    assert_eq!(
        store
            .get_workflow("w")
            .await
            .unwrap()
            .unwrap()
            .latest_instance_id,
        0
    );
    let a = store.next_sequence_value("s").await.unwrap();
    let b = store.next_sequence_value("s").await.unwrap();
    assert_eq!(b, a + 1);
}

/// Runs every check against fresh stores made by `make`.
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn versions_are_numbered_and_activated() {
            suite::versions_are_numbered_and_activated($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn instance_ids_are_allocated_and_uuids_deduplicated() {
            suite::instance_ids_are_allocated_and_uuids_deduplicated($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_failing_batch_leaves_nothing_behind() {
            suite::a_failing_batch_leaves_nothing_behind($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn runs_update_and_queue() {
            suite::runs_update_and_queue($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn step_attempts_insert_then_update_narrowly() {
            suite::step_attempts_insert_then_update_narrowly($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn parents_and_sequences() {
            suite::parents_and_sequences($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn breakpoints_and_paused_attempts() {
            suite::breakpoints::breakpoints_and_paused_attempts($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn leases_are_claimed_renewed_and_stolen_after_expiry() {
            suite::cluster::leases_are_claimed_renewed_and_stolen_after_expiry($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_rejoining_node_gives_up_what_it_held() {
            suite::cluster::a_rejoining_node_gives_up_what_it_held($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn fenced_writes_fail_once_the_group_moved() {
            suite::cluster::fenced_writes_fail_once_the_group_moved($make().await).await;
        }
    };
}
