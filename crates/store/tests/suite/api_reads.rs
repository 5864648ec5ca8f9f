//! The store methods the API needs: run counts by status and the instance-id range (checked
//! against the trait's portable defaults), and deleting a workflow with everything it owns.
//! Every backend must pass it.

use std::sync::Arc;

use async_trait::async_trait;
use baton_store::{
    CreateInstanceOutcome, InstanceRow, InstanceUpdate, ParentRef, Result, RunKey, StepAttemptRow,
    Store, StoreError, VersionRow, WorkflowRow, WriteOp, WriteOutcome,
};

/// Forwards only the required methods, so the trait's default implementations run.
struct Defaults(Arc<dyn Store>);

#[async_trait]
impl Store for Defaults {
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.0.write(ops).await
    }
    fn describe(&self) -> String {
        "defaults".into()
    }
    async fn get_workflow(&self, id: &str) -> Result<Option<WorkflowRow>> {
        self.0.get_workflow(id).await
    }
    async fn list_workflows(&self, after: Option<&str>, limit: usize) -> Result<Vec<WorkflowRow>> {
        self.0.list_workflows(after, limit).await
    }
    async fn get_version(&self, id: &str, v: i64) -> Result<Option<VersionRow>> {
        self.0.get_version(id, v).await
    }
    async fn list_versions(
        &self,
        id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRow>> {
        self.0.list_versions(id, before, limit).await
    }
    async fn get_instance_run(
        &self,
        id: &str,
        i: i64,
        r: Option<i64>,
    ) -> Result<Option<InstanceRow>> {
        self.0.get_instance_run(id, i, r).await
    }
    async fn list_instance_runs(&self, id: &str, i: i64) -> Result<Vec<InstanceRow>> {
        self.0.list_instance_runs(id, i).await
    }
    async fn list_instances(
        &self,
        id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<InstanceRow>> {
        self.0.list_instances(id, before, limit).await
    }
    async fn list_active_runs(&self) -> Result<Vec<InstanceRow>> {
        self.0.list_active_runs().await
    }
    async fn list_queued_runs(&self, id: &str, limit: usize) -> Result<Vec<InstanceRow>> {
        self.0.list_queued_runs(id, limit).await
    }
    async fn count_running_runs(&self, id: &str) -> Result<i64> {
        self.0.count_running_runs(id).await
    }
    async fn list_step_attempts(&self, run: &RunKey) -> Result<Vec<StepAttemptRow>> {
        self.0.list_step_attempts(run).await
    }
    async fn list_attempts_of_step(&self, run: &RunKey, step: &str) -> Result<Vec<StepAttemptRow>> {
        self.0.list_attempts_of_step(run, step).await
    }
    async fn next_sequence_value(&self, name: &str) -> Result<i64> {
        self.0.next_sequence_value(name).await
    }
    async fn list_runs_with_status(
        &self,
        workflow_id: &str,
        statuses: &[String],
        queued: Option<bool>,
        limit: usize,
    ) -> Result<Vec<baton_store::InstanceRow>> {
        self.0
            .list_runs_with_status(workflow_id, statuses, queued, limit)
            .await
    }
    async fn list_latest_step_attempts(
        &self,
        workflow_id: &str,
        step_id: &str,
    ) -> Result<Vec<baton_store::StepAttemptRow>> {
        self.0.list_latest_step_attempts(workflow_id, step_id).await
    }
    async fn get_tag_permit(&self, tag: &str) -> Result<Option<baton_store::TagPermitRow>> {
        self.0.get_tag_permit(tag).await
    }
    async fn list_tag_permits(&self) -> Result<Vec<baton_store::TagPermitRow>> {
        self.0.list_tag_permits().await
    }
    async fn get_signal(
        &self,
        name: &str,
        seq_id: Option<i64>,
    ) -> Result<Option<baton_store::SignalRow>> {
        self.0.get_signal(name, seq_id).await
    }
    async fn find_signals(
        &self,
        query: &baton_store::SignalQuery,
    ) -> Result<Vec<baton_store::SignalRow>> {
        self.0.find_signals(query).await
    }
    async fn list_triggers(
        &self,
        workflow_id: Option<&str>,
    ) -> Result<Vec<baton_store::TriggerRow>> {
        self.0.list_triggers(workflow_id).await
    }
}

async fn create(store: &dyn Store, i: baton_store::NewInstance) -> RunKey {
    match store
        .write(vec![WriteOp::CreateInstance(i.clone())])
        .await
        .unwrap()
        .pop()
    {
        Some(WriteOutcome::Instance(CreateInstanceOutcome::Created {
            instance_id,
            run_id,
            ..
        })) => RunKey {
            workflow_id: i.workflow_id,
            instance_id,
            run_id,
        },
        other => panic!("{other:?}"),
    }
}

async fn set_status(store: &dyn Store, key: &RunKey, status: &str) {
    store
        .write(vec![WriteOp::UpdateInstance(InstanceUpdate {
            key: key.clone(),
            status: Some(status.to_string()),
            queued: Some(false),
            modify_ts: 1,
            ..InstanceUpdate::default()
        })])
        .await
        .unwrap();
}

pub async fn counts_and_ranges_match_the_defaults(store: Arc<dyn Store>) {
    let defaults = Defaults(store.clone());
    assert_eq!(store.instance_id_range("w").await.unwrap(), None);
    assert_eq!(defaults.instance_id_range("w").await.unwrap(), None);
    store
        .write(vec![WriteOp::PutVersion(super::version("w", 0, true))])
        .await
        .unwrap();
    let statuses = [
        "SUCCEEDED",
        "FAILED",
        "FAILED_1",
        "IN_PROGRESS",
        "SUCCEEDED",
        "CREATED",
        "FAILED",
    ];
    for (i, status) in statuses.iter().enumerate() {
        let key = create(&*store, super::instance("w", &format!("u{i}"))).await;
        if *status != "CREATED" {
            set_status(&*store, &key, status).await;
        }
    }
    // A second run of instance 2.
    let mut rerun = super::instance("w", "rerun");
    rerun.instance_id = Some(2);
    rerun.run_id = 2;
    let key = create(&*store, rerun).await;
    set_status(&*store, &key, "SUCCEEDED").await;

    let mut fast = store.count_runs_by_status("w").await.unwrap();
    let mut slow = defaults.count_runs_by_status("w").await.unwrap();
    fast.sort();
    slow.sort();
    assert_eq!(fast, slow);
    let get = |s: &str| fast.iter().find(|(x, _)| x == s).map(|(_, n)| *n);
    assert_eq!(get("SUCCEEDED"), Some(3));
    assert_eq!(get("FAILED"), Some(2));
    assert_eq!(get("FAILED_1"), Some(1));
    assert_eq!(get("CREATED"), Some(1));
    assert_eq!(store.instance_id_range("w").await.unwrap(), Some((1, 7)));
    assert_eq!(defaults.instance_id_range("w").await.unwrap(), Some((1, 7)));
    // The default deletion refuses rather than pretending.
    assert!(matches!(
        defaults.delete_workflow("w").await,
        Err(StoreError::Database(_))
    ));
}

pub async fn deleting_a_workflow_removes_everything_it_owns(store: Arc<dyn Store>) {
    for id in ["w", "other"] {
        store
            .write(vec![WriteOp::PutVersion(super::version(id, 0, true))])
            .await
            .unwrap();
    }
    store
        .write(vec![WriteOp::PutVersion(super::version("w", 1, true))])
        .await
        .unwrap();
    let root = create(&*store, super::instance("w", "root")).await;
    store
        .write(vec![WriteOp::UpsertStepAttempt(super::attempt(
            &root,
            "loop",
            1,
            "RUNNING",
            Some("{}"),
        ))])
        .await
        .unwrap();
    // A foreach iteration below the root, and an iteration below that one.
    let parent = |run: &RunKey| ParentRef {
        run: run.clone(),
        step_id: "loop".into(),
        attempt_id: 1,
    };
    let mut iteration = super::instance("inline_w_loop", "it1");
    iteration.instance_id = Some(1);
    iteration.initiator_type = "FOREACH".into();
    iteration.parent = Some(parent(&root));
    let it = create(&*store, iteration).await;
    store
        .write(vec![WriteOp::UpsertStepAttempt(super::attempt(
            &it,
            "body",
            1,
            "SUCCEEDED",
            Some("{}"),
        ))])
        .await
        .unwrap();
    let mut nested = super::instance("inline_w_inner", "it2");
    nested.instance_id = Some(1);
    nested.initiator_type = "WHILE".into();
    nested.parent = Some(parent(&it));
    let nested = create(&*store, nested).await;
    // A subworkflow child belongs to its own workflow and stays.
    let mut child = super::instance("other", "child");
    child.initiator_type = "SUBWORKFLOW".into();
    child.parent = Some(parent(&root));
    let child = create(&*store, child).await;
    set_status(&*store, &child, "SUCCEEDED").await;

    // Queued or running: refused, nothing removed.
    set_status(&*store, &root, "IN_PROGRESS").await;
    assert!(matches!(
        store.delete_workflow("w").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.get_workflow("w").await.unwrap().is_some());
    assert!(matches!(
        store.delete_workflow("nope").await,
        Err(StoreError::NotFound(_))
    ));

    for k in [&root, &it, &nested] {
        set_status(&*store, k, "SUCCEEDED").await;
    }
    let deleted = store.delete_workflow("w").await.unwrap();
    assert_eq!(deleted.versions, 2);
    assert_eq!(deleted.runs, 3);
    assert_eq!(deleted.step_attempts, 2);
    assert!(store.get_workflow("w").await.unwrap().is_none());
    assert!(store.get_version("w", 1).await.unwrap().is_none());
    for k in [&root, &it, &nested] {
        assert!(
            store
                .get_instance_run(&k.workflow_id, k.instance_id, None)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.list_step_attempts(k).await.unwrap().is_empty());
    }
    assert!(
        store
            .get_instance_run("other", child.instance_id, None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.get_workflow("other").await.unwrap().is_some());

    // Re-created, the workflow continues the instance ids of the deleted one.
    store
        .write(vec![WriteOp::PutVersion(super::version("w", 0, true))])
        .await
        .unwrap();
    let again = create(&*store, super::instance("w", "again")).await;
    assert_eq!(again.instance_id, root.instance_id + 1);
    assert_ne!(
        store.get_workflow("w").await.unwrap().unwrap().internal_id,
        deleted.internal_id
    );
}

#[macro_export]
macro_rules! store_api_suite {
    ($fresh:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn counts_and_ranges_match_the_defaults() {
            suite::api_reads::counts_and_ranges_match_the_defaults($fresh().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn deleting_a_workflow_removes_everything_it_owns() {
            suite::api_reads::deleting_a_workflow_removes_everything_it_owns($fresh().await).await;
        }
    };
}
