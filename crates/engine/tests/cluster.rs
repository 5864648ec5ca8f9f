//! Cluster mode at the engine level: a node that lost its group cannot write to the group's
//! runs (fencing) and parks them; the group's next owner resumes them from the store, without
//! re-running a completed or interrupted step attempt. Runs on SQLite, whose store answers the
//! same lease calls as PostgreSQL's (the CLI's `cluster_failover` test runs real processes on
//! PostgreSQL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_engine::{ClusterConfig, Engine, EngineConfig, EngineError};
use baton_model::api::WorkflowStartRequest;
use baton_model::definition::{User, WorkflowCreateRequest};
use baton_model::instance::{Initiator, WorkflowInstanceStatus};
use baton_store::sqlite::{SqliteOptions, SqliteStore};
use baton_store::{NodeInfo, RunKey, Store};
use serde_json::json;

const LEASE: Duration = Duration::from_millis(600);

async fn node(store: Arc<dyn Store>, dir: &std::path::Path, id: &str) -> Engine {
    let mut config = EngineConfig::new(dir.join(id));
    config.groups = 1;
    config.cluster = Some(ClusterConfig {
        node_id: id.to_string(),
        address: format!("http://{id}.test"),
        lease: LEASE,
        heartbeat: Duration::from_millis(100),
    });
    Engine::start(store, config).await.expect("engine")
}

fn start_request() -> WorkflowStartRequest {
    WorkflowStartRequest {
        initiator: Initiator::manual(None),
        request_time: None,
        request_id: None,
        runtime_tags: None,
        run_params: None,
        artifacts: None,
        persist_failed_run: false,
    }
}

async fn wait_for<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_its_group_cannot_write_and_the_next_owner_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("baton.db"), SqliteOptions::default()).unwrap());
    let a = node(store.clone(), dir.path(), "a").await;
    assert_eq!(a.cluster_status().held, vec![(0, 1)]);

    let req: WorkflowCreateRequest = serde_json::from_value(json!({
        "properties": {"owner": "tester"},
        "workflow": {"id": "fenced", "steps": [
            {"step": {"id": "nap", "type": "Sleep",
                "params": {"sleep_seconds": {"value": 1, "type": "LONG"}},
                "transition": {"successors": {"after": "true"}}}},
            {"step": {"id": "after", "type": "NoOp"}}
        ]}
    }))
    .unwrap();
    a.push_workflow(req, User::new("tester")).await.unwrap();
    let started = a
        .start_workflow(
            "fenced",
            "latest",
            start_request(),
            Some(User::new("tester")),
        )
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: "fenced".into(),
        instance_id: started.workflow_instance_id,
        run_id: started.workflow_run_id,
    };
    let row = store
        .get_instance_run("fenced", key.instance_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.group_id, 0);
    wait_for("the nap to run", Duration::from_secs(5), || async {
        store
            .list_step_attempts(&key)
            .await
            .unwrap()
            .iter()
            .any(|s| s.key.step_id == "nap" && s.status == "RUNNING")
    })
    .await;

    // Another node takes the group over behind A's back (as if A's lease had expired while it
    // was paused): it releases nothing, but the group's generation moves on.
    let b = NodeInfo {
        node_id: "b".into(),
        address: "http://b.test".into(),
    };
    store.join_cluster(&b, 1, 60_000).await.unwrap();
    assert!(store.release_group("a", 0, 1).await.unwrap());
    let claimed = store.claim_groups(&b, 1).await.unwrap();
    assert_eq!((claimed[0].group_id, claimed[0].generation), (0, 2));

    // The nap ends on A; its SUCCEEDED write is fenced out and A parks the run.
    wait_for("A to park the run", Duration::from_secs(5), || async {
        a.live_runs() == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = store.list_step_attempts(&key).await.unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "A wrote nothing after losing the group: {:?}",
        attempts
            .iter()
            .map(|s| (&s.key.step_id, s.key.attempt_id, &s.status, s.modify_ts))
            .collect::<Vec<_>>()
    );
    assert_eq!(attempts[0].status, "RUNNING");
    assert!(a.cluster_status().held.is_empty());
    // A does not serve the group's requests any more; it names the owner.
    match a.require_owner(0).await {
        Err(EngineError::NotOwner { group: 0, owner }) => {
            assert_eq!(owner.as_deref(), Some("http://b.test"))
        }
        other => panic!("expected NotOwner, got {other:?}"),
    }
    let refused = a
        .start_workflow(
            "fenced",
            "latest",
            start_request(),
            Some(User::new("tester")),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::NotOwner { .. })),
        "{refused:?}"
    );

    // B dies (never heartbeats again): once its lease is over A claims the group back with a
    // new generation and resumes the run where the store left it.
    store.leave_cluster("b").await.unwrap();
    store.join_cluster(&b, 1, 1).await.unwrap();
    wait_for("A to finish the run", Duration::from_secs(10), || async {
        store
            .get_instance_run("fenced", key.instance_id, None)
            .await
            .unwrap()
            .is_some_and(|r| r.status == WorkflowInstanceStatus::Succeeded.as_str())
    })
    .await;
    assert_eq!(a.cluster_status().held, vec![(0, 3)]);
    let attempts = store.list_step_attempts(&key).await.unwrap();
    let ids: Vec<(String, i64)> = attempts
        .iter()
        .map(|s| (s.key.step_id.clone(), s.key.attempt_id))
        .collect();
    assert_eq!(
        ids,
        vec![("nap".to_string(), 1), ("after".to_string(), 1)],
        "no attempt ran twice"
    );
    a.shutdown(Duration::from_secs(2)).await;
    // A graceful leave frees the group at once.
    assert!(store.list_groups().await.unwrap()[0].owner_node.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_shared_evenly_and_handed_over_when_a_node_joins() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("baton.db"), SqliteOptions::default()).unwrap());
    let config = |id: &str| {
        let mut c = EngineConfig::new(dir.path().join(id));
        c.groups = 8;
        c.cluster = Some(ClusterConfig {
            node_id: id.to_string(),
            address: format!("http://{id}.test"),
            lease: LEASE,
            heartbeat: Duration::from_millis(100),
        });
        c
    };
    let a = Engine::start(store.clone(), config("a")).await.unwrap();
    assert_eq!(a.cluster_status().held.len(), 8);
    let b = Engine::start(store.clone(), config("b")).await.unwrap();
    wait_for("an even share", Duration::from_secs(5), || async {
        a.cluster_status().held.len() == 4 && b.cluster_status().held.len() == 4
    })
    .await;
    // B leaves gracefully: A takes everything back without waiting for a lease.
    let left = Instant::now();
    b.shutdown(Duration::from_secs(2)).await;
    wait_for("A to hold every group", Duration::from_secs(5), || async {
        a.cluster_status().held.len() == 8
    })
    .await;
    assert!(left.elapsed() < LEASE + Duration::from_millis(400));
    a.shutdown(Duration::from_secs(2)).await;
}
