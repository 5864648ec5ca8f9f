//! The membership loop of a cluster node: every `heartbeat` it renews the node's lease, learns
//! which groups it still holds, and moves towards an even share of the groups —
//! `ceil(groups / live nodes)` — by claiming unowned or expired groups, or by handing its
//! surplus over (park the group's runs first, then release it, so the next owner starts from
//! everything they wrote).
//!
//! Taking a group means resuming its unfinished runs from the store, draining its workflows'
//! queues and starting their triggers; losing one (another node claimed it after our lease
//! expired, or we could not renew in time) means stopping them without writing — fencing makes
//! sure a stale write would be refused anyway.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use baton_store::NodeInfo;

use crate::engine::Engine;
use crate::error::Result;

/// How long a parked group's runs get to stop before the group is released anyway (their
/// late writes are fenced once the next owner claims it). Capped at half the lease, so that
/// parking never makes the node miss its own heartbeat.
const PARK_GRACE: Duration = Duration::from_secs(5);

fn park_grace(engine: &Engine) -> Duration {
    match &engine.inner.ownership.cluster {
        Some(c) => PARK_GRACE.min(c.lease / 2),
        None => PARK_GRACE,
    }
}

fn node_info(engine: &Engine) -> Option<NodeInfo> {
    engine.inner.ownership.cluster.as_ref().map(|c| NodeInfo {
        node_id: c.node_id.clone(),
        address: c.address.clone(),
    })
}

/// Joins the cluster and takes a first share of the groups before returning, then keeps the
/// membership up to date on a task until the engine shuts down.
pub(crate) async fn start(engine: &Engine) -> Result<()> {
    let Some(config) = engine.inner.ownership.cluster.clone() else {
        return Ok(());
    };
    let Some(node) = node_info(engine) else {
        return Ok(());
    };
    let lease_ms = config.lease.as_millis() as i64;
    engine
        .inner
        .store
        .join_cluster(&node, engine.inner.ownership.groups, lease_ms)
        .await?;
    let mut state = State {
        valid_until: Instant::now(),
    };
    if let Err(e) = tick(engine, &node, lease_ms, &mut state).await {
        tracing::warn!(error = %e, "first cluster heartbeat failed");
    }
    let engine = engine.clone();
    let mut stopped = engine.inner.ownership.stopped.subscribe();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(config.heartbeat);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stopped.changed() => break,
            }
            if *stopped.borrow() {
                break;
            }
            if let Err(e) = tick(&engine, &node, lease_ms, &mut state).await {
                tracing::warn!(error = %e, "cluster heartbeat failed");
            }
        }
    });
    Ok(())
}

struct State {
    /// Our lease surely holds until then (the heartbeat was sent before it).
    valid_until: Instant,
}

async fn tick(engine: &Engine, node: &NodeInfo, lease_ms: i64, state: &mut State) -> Result<()> {
    let own = &engine.inner.ownership;
    let store = engine.inner.store.clone();
    let sent = Instant::now();
    let beat = match store.heartbeat_node(node, lease_ms).await {
        Ok(beat) => beat,
        Err(e) => {
            if Instant::now() >= state.valid_until {
                // We cannot tell whether we still hold anything: stop acting for every group.
                let all: Vec<i64> = own.held_groups().into_iter().map(|(g, _)| g).collect();
                if !all.is_empty() {
                    tracing::warn!(
                        groups = all.len(),
                        "lease may have expired: parking every group"
                    );
                    park(engine, all.into_iter().collect()).await;
                }
            }
            return Err(e.into());
        }
    };
    state.valid_until = sent + Duration::from_millis(lease_ms as u64);
    let in_store: HashMap<i64, i64> = beat.held.iter().copied().collect();
    // Lost: claimed by another node (or re-claimed by us with another generation).
    let lost: HashSet<i64> = own
        .held_groups()
        .into_iter()
        .filter(|(g, n)| in_store.get(g) != Some(n))
        .map(|(g, _)| g)
        .collect();
    if !lost.is_empty() {
        tracing::warn!(groups = ?lost, "groups were taken over by another node");
        park(engine, lost).await;
    }
    let mut gained: Vec<(i64, i64)> = beat
        .held
        .iter()
        .copied()
        .filter(|(g, _)| !own.owns(*g))
        .collect();
    let live = beat.live_nodes.max(1);
    let target = (own.groups + live - 1) / live;
    let holding = (own.held_groups().len() + gained.len()) as i64;
    if holding < target {
        let claimed = store
            .claim_groups(node, (target - holding) as usize)
            .await?;
        gained.extend(claimed.iter().map(|g| (g.group_id, g.generation)));
    } else if holding > target && gained.is_empty() {
        // Hand the surplus over: the highest group ids, so nodes converge on stable shares.
        let mut held = own.held_groups();
        held.sort_unstable_by_key(|g| std::cmp::Reverse(g.0));
        let surplus: Vec<(i64, i64)> = held.into_iter().take((holding - target) as usize).collect();
        let groups: HashSet<i64> = surplus.iter().map(|(g, _)| *g).collect();
        tracing::info!(groups = ?groups, target, live, "handing surplus groups over");
        park(engine, groups).await;
        for (group, generation) in surplus {
            if let Err(e) = store.release_group(&node.node_id, group, generation).await {
                tracing::warn!(group, error = %e, "cannot release a group");
            }
        }
    }
    if !gained.is_empty() {
        acquire(engine, gained).await;
    }
    Ok(())
}

/// Starts acting for newly held groups: resume their runs, drain their queues, start their
/// triggers.
async fn acquire(engine: &Engine, gained: Vec<(i64, i64)>) {
    let own = &engine.inner.ownership;
    for (group, generation) in &gained {
        own.hold(*group, *generation);
    }
    engine.inner.queues.forget_all().await;
    let groups: HashSet<i64> = gained.iter().map(|(g, _)| *g).collect();
    tracing::info!(groups = ?groups, "took groups over");
    for group in &groups {
        if let Err(e) = crate::recovery::resume_group(engine, *group).await {
            tracing::error!(group, error = %e, "cannot resume the runs of a group");
        }
    }
    if let Err(e) = crate::triggers::start_groups(engine, &groups).await {
        tracing::error!(error = %e, "cannot start the triggers of new groups");
    }
}

/// Stops acting for groups: forget them (later writes are refused locally), stop their runs'
/// actors without writing, unload their triggers and forget queue counts.
pub(crate) async fn park(engine: &Engine, groups: HashSet<i64>) {
    let own = &engine.inner.ownership;
    for group in &groups {
        own.drop_group(*group);
    }
    let keys = own.runs_in(&groups);
    let senders: Vec<_> = match engine.inner.runs.lock() {
        Ok(runs) => keys.iter().filter_map(|k| runs.get(k).cloned()).collect(),
        Err(_) => Vec::new(),
    };
    for tx in senders {
        let _ = tx.send(crate::run::RunMsg::Shutdown);
    }
    let deadline = Instant::now() + park_grace(engine);
    while !own.runs_in(&groups).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    crate::triggers::stop_groups(engine, &groups).await;
    engine.inner.queues.forget_all().await;
}

/// Graceful leave: park everything, then give every group up at once so other nodes need not
/// wait for our lease to expire.
pub(crate) async fn leave(engine: &Engine) {
    let Some(node) = node_info(engine) else {
        return;
    };
    let _ = engine.inner.ownership.stopped.send(true);
    let all: HashSet<i64> = engine
        .inner
        .ownership
        .held_groups()
        .into_iter()
        .map(|(g, _)| g)
        .collect();
    park(engine, all).await;
    if let Err(e) = engine.inner.store.leave_cluster(&node.node_id).await {
        tracing::warn!(error = %e, "cannot leave the cluster cleanly; the lease will expire");
    }
}
