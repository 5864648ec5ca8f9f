//! Store operations the engine's control flow needs: run lookups by status (run strategies),
//! the latest attempt of a step across instances (`params.getFromForeach`), and tag permits.

use std::sync::Arc;

use baton_store::{InstanceUpdate, RunKey, Store, TagPermitRow, WriteOp};

use super::{attempt, instance};

async fn put_workflow(store: &dyn Store, id: &str) {
    store
        .write(vec![WriteOp::PutVersion(super::version(id, 0, true))])
        .await
        .expect("put version");
}

fn key(w: &str, i: i64, r: i64) -> RunKey {
    RunKey {
        workflow_id: w.into(),
        instance_id: i,
        run_id: r,
    }
}

pub async fn runs_are_listed_by_status_and_queue_flag(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    for (n, queued) in [("a", true), ("b", false), ("c", true)] {
        let mut i = instance("w", n);
        i.queued = queued;
        store.write(vec![WriteOp::CreateInstance(i)]).await.unwrap();
    }
    store
        .write(vec![WriteOp::UpdateInstance(InstanceUpdate {
            key: key("w", 2, 1),
            status: Some("FAILED".into()),
            modify_ts: 9,
            ..InstanceUpdate::default()
        })])
        .await
        .unwrap();
    let created = vec!["CREATED".to_string()];
    let queued = store
        .list_runs_with_status("w", &created, Some(true), 10)
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|r| r.key.instance_id).collect::<Vec<_>>(),
        vec![1, 3]
    );
    let failed = store
        .list_runs_with_status("w", &["FAILED".to_string()], None, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key.instance_id, 2);
    let both = store
        .list_runs_with_status("w", &["FAILED".to_string(), "CREATED".to_string()], None, 2)
        .await
        .unwrap();
    assert_eq!(both.len(), 2, "the limit holds");
    assert!(
        store
            .list_runs_with_status("w", &created, Some(false), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_runs_with_status("w", &[], None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn latest_attempts_of_a_step_across_instances(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    for n in 1..=3 {
        let mut i = instance("w", &format!("u{n}"));
        i.instance_id = Some(n);
        store.write(vec![WriteOp::CreateInstance(i)]).await.unwrap();
    }
    // Instance 2 has a second run; instance 1 retried its step.
    let mut run2 = instance("w", "u2-run2");
    run2.instance_id = Some(2);
    run2.run_id = 2;
    store
        .write(vec![WriteOp::CreateInstance(run2)])
        .await
        .unwrap();
    let writes = vec![
        attempt(&key("w", 1, 1), "job", 1, "USER_FAILED", Some("{}")),
        attempt(&key("w", 1, 1), "job", 2, "SUCCEEDED", Some("{}")),
        attempt(&key("w", 2, 1), "job", 1, "FATALLY_FAILED", Some("{}")),
        attempt(&key("w", 2, 2), "job", 1, "SUCCEEDED", Some("{}")),
        attempt(&key("w", 3, 1), "other", 1, "SUCCEEDED", Some("{}")),
    ];
    store
        .write(writes.into_iter().map(WriteOp::UpsertStepAttempt).collect())
        .await
        .unwrap();
    let latest = store.list_latest_step_attempts("w", "job").await.unwrap();
    let got: Vec<(i64, i64, i64, String)> = latest
        .iter()
        .map(|r| {
            (
                r.key.run.instance_id,
                r.key.run.run_id,
                r.key.attempt_id,
                r.status.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 1, 2, "SUCCEEDED".to_string()),
            (2, 2, 1, "SUCCEEDED".to_string())
        ]
    );
}

pub async fn tag_permits_upsert_and_delete(store: Arc<dyn Store>) {
    let permit = |max: i64, ts: i64| TagPermitRow {
        tag: "gpu".into(),
        max_allowed: max,
        timeline: Some("[]".into()),
        extra_info: None,
        create_ts: ts,
        modify_ts: ts,
    };
    assert!(store.get_tag_permit("gpu").await.unwrap().is_none());
    store
        .write(vec![WriteOp::PutTagPermit(permit(3, 10))])
        .await
        .unwrap();
    store
        .write(vec![WriteOp::PutTagPermit(permit(5, 20))])
        .await
        .unwrap();
    let row = store.get_tag_permit("gpu").await.unwrap().expect("permit");
    assert_eq!((row.max_allowed, row.create_ts, row.modify_ts), (5, 10, 20));
    assert_eq!(store.list_tag_permits().await.unwrap().len(), 1);
    // A negative limit is refused.
    assert!(
        store
            .write(vec![WriteOp::PutTagPermit(permit(-1, 30))])
            .await
            .is_err()
    );
    store
        .write(vec![WriteOp::DeleteTagPermit { tag: "gpu".into() }])
        .await
        .unwrap();
    store
        .write(vec![WriteOp::DeleteTagPermit { tag: "gpu".into() }])
        .await
        .unwrap();
    assert!(store.get_tag_permit("gpu").await.unwrap().is_none());
}

/// Runs the control-flow checks against fresh stores made by `make`.
#[macro_export]
macro_rules! store_flow_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn runs_are_listed_by_status_and_queue_flag() {
            suite::flow::runs_are_listed_by_status_and_queue_flag($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn latest_attempts_of_a_step_across_instances() {
            suite::flow::latest_attempts_of_a_step_across_instances($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn tag_permits_upsert_and_delete() {
            suite::flow::tag_permits_upsert_and_delete($make().await).await;
        }
    };
}
