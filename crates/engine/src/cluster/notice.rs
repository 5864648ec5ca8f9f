//! Wake-ups between cluster nodes, carried by the store's notifications (PostgreSQL
//! LISTEN/NOTIFY). Each message is a hint to re-read the store, never data to trust:
//!
//! - `signal <node> <seq> <name>`: a signal was announced on `<node>`; every other node reads
//!   it from the store and hands it to its hub, so waiting steps and signal triggers anywhere
//!   see it.
//! - `workflow <node> <id>`: a workflow's definition, activation or properties changed on
//!   `<node>`; the owner of its group refreshes its triggers.
//! - an empty message (the listener reconnected, some messages may be lost): every owned
//!   workflow's triggers are refreshed. (Steps waiting for a signal whose notification was lost
//!   are not re-checked: a known gap, see ARCHITECTURE.md.)

use std::sync::Arc;

use crate::engine::Engine;

fn node_id(engine: &Engine) -> &str {
    engine
        .inner
        .ownership
        .cluster
        .as_ref()
        .map(|c| c.node_id.as_str())
        .unwrap_or("")
}

/// The message for a workflow change.
pub(crate) fn workflow_changed(engine: &Engine, workflow_id: &str) -> String {
    format!("workflow {} {workflow_id}", node_id(engine))
}

/// The message for an announced signal.
pub(crate) fn signal_announced(engine: &Engine, name: &str, seq_id: i64) -> String {
    format!("signal {} {seq_id} {name}", node_id(engine))
}

/// Sends a notification in cluster mode (a failure is logged: the receivers would only have
/// been woken earlier).
pub(crate) async fn send(engine: &Engine, message: String) {
    if !engine.inner.ownership.is_cluster() {
        return;
    }
    if let Err(e) = engine.inner.store.notify(&message).await {
        tracing::warn!(error = %e, "cannot notify the other nodes");
    }
}

/// Starts acting on other nodes' notifications (cluster mode, on a store that has them).
pub(crate) async fn start(engine: &Engine) -> crate::error::Result<()> {
    let Some(mut inbox) = engine.inner.store.listen().await? else {
        return Ok(());
    };
    let engine = engine.clone();
    tokio::spawn(async move {
        while let Some(message) = inbox.recv().await {
            handle(&engine, &message).await;
        }
    });
    Ok(())
}

async fn handle(engine: &Engine, message: &str) {
    let mut parts = message.splitn(3, ' ');
    let (kind, from) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !message.is_empty() && from == node_id(engine) {
        return;
    }
    match kind {
        "signal" => {
            let Some((seq, name)) = parts.next().and_then(|rest| rest.split_once(' ')) else {
                return;
            };
            let Ok(seq) = seq.parse::<i64>() else { return };
            match crate::signals::read_signal(engine.inner.store.as_ref(), name, Some(seq)).await {
                Ok(Some(instance)) => engine.inner.signals.dispatch(Arc::new(instance)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(name, seq, error = %e, "cannot read a signal another node announced")
                }
            }
        }
        "workflow" => {
            let Some(workflow_id) = parts.next() else {
                return;
            };
            let group = engine.inner.ownership.group_of_workflow(workflow_id);
            if engine.inner.ownership.owns(group) {
                engine.refresh_triggers_logged(workflow_id).await;
            }
        }
        "" => {
            // Reconnected: whatever was missed is re-read.
            let held: std::collections::HashSet<i64> = engine
                .inner
                .ownership
                .held_groups()
                .into_iter()
                .map(|(g, _)| g)
                .collect();
            if let Err(e) = crate::triggers::start_groups(engine, &held).await {
                tracing::warn!(error = %e, "cannot refresh triggers after a reconnect");
            }
        }
        _ => {}
    }
}
