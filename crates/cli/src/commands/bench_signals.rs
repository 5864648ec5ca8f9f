//! `baton bench signals`: how many signals per second the engine accepts (announced and stored,
//! deduplication key checked, params indexed) and matches, both ways a signal is matched:
//! completing a signal-trigger match that creates a run, and waking a step that waits in
//! WAITING_FOR_SIGNALS. Figures only; nothing here asserts a speed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use baton_engine::{Engine, EngineEvent};
use baton_model::api::{SignalCreateRequest, WorkflowStartRequest};
use baton_model::definition::{SignalParamValue, WorkflowCreateRequest};
use baton_model::instance::Initiator;
use baton_model::params::{ParamDefinition, ParamMap, ParamValue};
use indexmap::IndexMap;
use serde_json::{Value, json};

use super::util::{current_user, percentile};

fn request(name: &str, i: usize) -> SignalCreateRequest {
    let mut params = IndexMap::new();
    params.insert("i".to_string(), SignalParamValue::Long(i as i64));
    params.insert(
        "day".to_string(),
        SignalParamValue::String("20240101".into()),
    );
    SignalCreateRequest {
        name: name.to_string(),
        params: Some(params),
        payload: IndexMap::new(),
        request_id: None,
        request_time: None,
    }
}

/// Announces signals `name` #0..count from `concurrency` tasks; returns the wall time and each
/// announcement's latency in ms.
async fn announce_all(
    engine: &Engine,
    name: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<(Duration, Vec<f64>)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let engine = engine.clone();
        let next = next.clone();
        let name = name.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, baton_engine::EngineError>(lat);
                }
                let t = Instant::now();
                engine.announce_signal(request(&name, i)).await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await??);
    }
    let wall = begin.elapsed();
    all.sort_by(|a, b| a.total_cmp(b));
    Ok((wall, all))
}

async fn push(engine: &Engine, req: Value) -> anyhow::Result<()> {
    let req: WorkflowCreateRequest = serde_json::from_value(req)?;
    engine.push_workflow(req, current_user()).await?;
    Ok(())
}

fn per_sec(n: usize, d: Duration) -> f64 {
    (n as f64 / d.as_secs_f64() * 10.0).round() / 10.0
}

fn ms(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub async fn signals(engine: &Engine, count: usize, concurrency: usize) -> anyhow::Result<Value> {
    // 1. Accepted: nothing subscribes to the name.
    let (wall, lat) = announce_all(engine, "bench/accepted", count, concurrency).await?;
    let accepted = per_sec(count, wall);
    println!(
        "accepted: {count} signals in {:.2}s = {accepted}/s (p50 {:.2} ms, p99 {:.2} ms)",
        wall.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );

    // 2. Trigger matches: every signal completes a match (two conditions) and creates a run.
    push(
        engine,
        json!({
            "properties": {"owner": "bench", "run_strategy": {"rule": "PARALLEL", "workflow_concurrency": 1000}},
            "workflow": {
                "id": "bench-signal-trigger",
                "signal_triggers": [{"definitions": {"bench/trigger": {"match_params": {
                    "i": {"value": 0, "operator": ">="}, "day": {"value": "20240101", "operator": "="}}}}}],
                "steps": [{"step": {"id": "s", "type": "NoOp"}}]
            }
        }),
    )
    .await?;
    let begin = Instant::now();
    announce_all(engine, "bench/trigger", count, concurrency).await?;
    engine.signals_settled().await;
    let matched_wall = begin.elapsed();
    let created = engine
        .store()
        .list_instances("bench-signal-trigger", None, count + 10)
        .await?
        .len();
    if created != count {
        bail!("{count} signals created {created} runs");
    }
    let matched = per_sec(count, matched_wall);
    println!(
        "trigger matches: {count} signals announced, matched and their runs created in {:.2}s = {matched}/s",
        matched_wall.as_secs_f64()
    );

    // 3. Step wakes: runs parked in WAITING_FOR_SIGNALS, each waiting for its own signal.
    let waiters = count.min(1000);
    push(
        engine,
        json!({
            "properties": {"owner": "bench", "run_strategy": {"rule": "PARALLEL", "workflow_concurrency": 1000}},
            "workflow": {
                "id": "bench-signal-wait",
                "params": {"ID": {"value": -1, "type": "LONG"}},
                "steps": [{"step": {"id": "wait", "type": "NoOp",
                    "signal_dependencies": [{"name": "bench/wake", "match_params": {
                        "i": {"param": {"expression": "ID", "type": "LONG"}, "operator": "="}}}]}}]
            }
        }),
    )
    .await?;
    let mut events = engine.subscribe();
    for i in 0..waiters {
        let mut run_params = ParamMap::new();
        run_params.insert(
            "ID".into(),
            ParamDefinition::literal(ParamValue::Long(i as i64)),
        );
        let req = WorkflowStartRequest {
            initiator: Initiator::manual(Some(current_user())),
            request_time: None,
            request_id: None,
            runtime_tags: None,
            run_params: Some(run_params),
            artifacts: None,
            persist_failed_run: false,
        };
        engine
            .start_workflow("bench-signal-wait", "latest", req, None)
            .await?;
    }
    // Parked when no step event came for a while (each run's step waits after its first turn).
    while tokio::time::timeout(Duration::from_millis(500), events.recv())
        .await
        .is_ok()
    {}
    let begin = Instant::now();
    let done = tokio::spawn(async move {
        let mut ended = 0;
        while ended < waiters {
            match events.recv().await {
                Ok(EngineEvent::Run { run, status })
                    if run.workflow_id == "bench-signal-wait" && status.is_terminal() =>
                {
                    ended += 1
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        ended
    });
    announce_all(engine, "bench/wake", waiters, concurrency).await?;
    engine.signals_settled().await;
    let woken_wall = begin.elapsed();
    let ended = tokio::time::timeout(Duration::from_secs(120), done).await??;
    let finished_wall = begin.elapsed();
    let woken = per_sec(waiters, woken_wall);
    println!(
        "step wakes: {waiters} waiting steps matched in {:.2}s = {woken}/s; their runs finished after {:.2}s ({ended} ended)",
        woken_wall.as_secs_f64(),
        finished_wall.as_secs_f64()
    );
    Ok(json!({
        "scenario": "signals",
        "count": count,
        "concurrency": concurrency,
        "accepted_per_sec": accepted,
        "announce_p50_ms": ms(percentile(&lat, 0.5)),
        "announce_p99_ms": ms(percentile(&lat, 0.99)),
        "trigger_matched_per_sec": matched,
        "waiters": waiters,
        "step_wakes_per_sec": woken,
        "waiting_runs_finished_ms": ms(finished_wall.as_secs_f64() * 1000.0),
    }))
}
