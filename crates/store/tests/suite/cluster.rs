//! Cluster leases and fencing (migration 0006), on every backend: claims, renewals, expiry,
//! steals with generation + 1, hand-offs, and write batches fenced out once their group moved.

use std::sync::Arc;
use std::time::Duration;

use baton_store::{InstanceUpdate, NodeInfo, RunKey, Store, StoreError, WriteOp};

use super::{instance, put_workflow};

fn node(id: &str) -> NodeInfo {
    NodeInfo {
        node_id: id.to_string(),
        address: format!("http://{id}.test:8080"),
    }
}

const LEASE_MS: i64 = 400;

pub async fn leases_are_claimed_renewed_and_stolen_after_expiry(store: Arc<dyn Store>) {
    let (a, b) = (node("a"), node("b"));
    store.join_cluster(&a, 4, LEASE_MS).await.unwrap();
    let claimed = store.claim_groups(&a, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|g| (g.group_id, g.generation))
            .collect::<Vec<_>>(),
        vec![(0, 1), (1, 1), (2, 1), (3, 1)]
    );
    store.join_cluster(&b, 4, LEASE_MS).await.unwrap();
    // A is alive: nothing to take.
    assert!(store.claim_groups(&b, 10).await.unwrap().is_empty());
    let beat = store.heartbeat_node(&a, LEASE_MS).await.unwrap();
    assert_eq!(beat.live_nodes, 2);
    assert_eq!(beat.held.len(), 4);
    let groups = store.list_groups().await.unwrap();
    assert_eq!(groups.len(), 4);
    assert!(
        groups
            .iter()
            .all(|g| g.owner_node.as_deref() == Some("a") && g.owner_live)
    );
    assert_eq!(
        groups[0].owner_address.as_deref(),
        Some("http://a.test:8080")
    );

    // A stops renewing; B keeps its own lease alive and takes over once A's expired.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 2)).await;
        store.heartbeat_node(&b, LEASE_MS).await.unwrap();
    }
    assert!(!store.list_groups().await.unwrap()[0].owner_live);
    let stolen = store.claim_groups(&b, 2).await.unwrap();
    assert_eq!(
        stolen
            .iter()
            .map(|g| (g.group_id, g.generation))
            .collect::<Vec<_>>(),
        vec![(0, 2), (1, 2)]
    );
    // A comes back: it learns that it lost groups 0 and 1 and still holds 2 and 3.
    let beat = store.heartbeat_node(&a, LEASE_MS).await.unwrap();
    assert_eq!(beat.held, vec![(2, 1), (3, 1)]);
    assert_eq!(beat.live_nodes, 2);
    // A live owner's groups cannot be stolen.
    assert!(store.claim_groups(&b, 10).await.unwrap().is_empty());
    // Graceful hand-off: only the holder with the right generation can release.
    assert!(!store.release_group("a", 2, 7).await.unwrap());
    assert!(!store.release_group("b", 2, 1).await.unwrap());
    assert!(store.release_group("a", 2, 1).await.unwrap());
    let handed = store.claim_groups(&b, 10).await.unwrap();
    assert_eq!(
        handed
            .iter()
            .map(|g| (g.group_id, g.generation))
            .collect::<Vec<_>>(),
        vec![(2, 2)]
    );
    // Leaving frees everything at once.
    store.leave_cluster("b").await.unwrap();
    let claimed = store.claim_groups(&a, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|g| (g.group_id, g.generation))
            .collect::<Vec<_>>(),
        vec![(0, 3), (1, 3), (2, 3)]
    );
    assert_eq!(
        store.heartbeat_node(&a, LEASE_MS).await.unwrap().live_nodes,
        1
    );
}

pub async fn a_rejoining_node_gives_up_what_it_held(store: Arc<dyn Store>) {
    let a = node("a");
    store.join_cluster(&a, 2, LEASE_MS).await.unwrap();
    assert_eq!(store.claim_groups(&a, 10).await.unwrap().len(), 2);
    // Joining again (same id, fresh process): more groups exist, nothing is held.
    store.join_cluster(&a, 3, LEASE_MS).await.unwrap();
    assert!(
        store
            .heartbeat_node(&a, LEASE_MS)
            .await
            .unwrap()
            .held
            .is_empty()
    );
    let again = store.claim_groups(&a, 10).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|g| (g.group_id, g.generation))
            .collect::<Vec<_>>(),
        vec![(0, 2), (1, 2), (2, 1)]
    );
}

pub async fn fenced_writes_fail_once_the_group_moved(store: Arc<dyn Store>) {
    put_workflow(&*store, "w").await;
    let (a, b) = (node("a"), node("b"));
    store.join_cluster(&a, 1, LEASE_MS).await.unwrap();
    store.join_cluster(&b, 1, LEASE_MS).await.unwrap();
    let gen_a = store.claim_groups(&a, 1).await.unwrap()[0].generation;
    let mut run = instance("w", "u1");
    run.group_id = 0;
    store
        .write(vec![
            WriteOp::Fence {
                group_id: 0,
                generation: gen_a,
            },
            WriteOp::CreateInstance(run),
        ])
        .await
        .unwrap();
    let key = RunKey {
        workflow_id: "w".into(),
        instance_id: 1,
        run_id: 1,
    };
    assert_eq!(store.list_active_runs_in_group(0).await.unwrap().len(), 1);
    assert!(store.list_active_runs_in_group(1).await.unwrap().is_empty());

    // A's lease runs out and B steals the group.
    tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 + 150)).await;
    store.heartbeat_node(&b, LEASE_MS).await.unwrap();
    let gen_b = store.claim_groups(&b, 1).await.unwrap()[0].generation;
    assert_eq!(gen_b, gen_a + 1);

    let update = |status: &str| {
        WriteOp::UpdateInstance(InstanceUpdate {
            key: key.clone(),
            status: Some(status.to_string()),
            modify_ts: 9,
            ..InstanceUpdate::default()
        })
    };
    // A's write, fenced at its old generation, is refused and writes nothing — also when it
    // shares a group commit with B's writes.
    let stale = {
        let store = store.clone();
        let op = update("FAILED");
        tokio::spawn(async move {
            store
                .write(vec![
                    WriteOp::Fence {
                        group_id: 0,
                        generation: gen_a,
                    },
                    op,
                ])
                .await
        })
    };
    let fresh = {
        let store = store.clone();
        let op = update("IN_PROGRESS");
        tokio::spawn(async move {
            store
                .write(vec![
                    WriteOp::Fence {
                        group_id: 0,
                        generation: gen_b,
                    },
                    op,
                ])
                .await
        })
    };
    let stale = stale.await.unwrap();
    assert!(
        matches!(stale, Err(StoreError::Fenced(_))),
        "stale write: {stale:?}"
    );
    fresh.await.unwrap().unwrap();
    let row = store
        .get_instance_run("w", 1, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "IN_PROGRESS");
    // A lone fence op with the old generation fails too; a released group fences everyone.
    assert!(matches!(
        store
            .write(vec![WriteOp::Fence {
                group_id: 0,
                generation: gen_a
            }])
            .await,
        Err(StoreError::Fenced(_))
    ));
    assert!(store.release_group("b", 0, gen_b).await.unwrap());
    assert!(matches!(
        store
            .write(vec![
                WriteOp::Fence {
                    group_id: 0,
                    generation: gen_b
                },
                update("STOPPED")
            ])
            .await,
        Err(StoreError::Fenced(_))
    ));
    let row = store
        .get_instance_run("w", 1, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "IN_PROGRESS");
    // A group that does not exist fences too.
    assert!(matches!(
        store
            .write(vec![WriteOp::Fence {
                group_id: 42,
                generation: 1
            }])
            .await,
        Err(StoreError::Fenced(_))
    ));
}
