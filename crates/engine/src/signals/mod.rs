//! Signals (maestro-model.md §9.3, maestro-api.md §1.12, §5.2): announcing a signal, reading one
//! back, and routing each new signal at once to what waits for it.
//!
//! A signal is stored with the next sequence id of its name and its params indexed (one store
//! write, group-committed with everything else). Its `instance_id` deduplicates it: the request
//! id when given, else a name-based UUID of the name and the sorted params, so announcing the
//! same name and params twice stores one signal. Only after the write returned is the signal
//! handed to the [`hub::Hub`], which wakes the run actors whose steps wait for that name and
//! the signal-trigger actors subscribed to it: events, not polling.

pub(crate) mod hub;
pub(crate) mod ids;
pub(crate) mod matching;

use std::sync::Arc;

use baton_model::api::SignalCreateRequest;
use baton_model::definition::SignalParamValue;
use baton_model::instance::SignalInstance;
use baton_store::{AddSignalOutcome, NewSignal, SignalRow, SignalValue, WriteOp, WriteOutcome};
use serde_json::Value;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// A signal after its announcement: the stored instance, and whether an equal one (same
/// instance id) was stored before, in which case `instance.seq_id` is that one's.
#[derive(Debug, Clone)]
pub(crate) struct Announced {
    pub instance: SignalInstance,
    pub duplicate: bool,
}

impl Engine {
    /// Announces a signal (`POST /api/v3/signals`). Returns the stored instance; a signal with
    /// the same instance id (request id, or name and params) is a conflict (HTTP 409), as in
    /// Maestro.
    pub async fn announce_signal(&self, req: SignalCreateRequest) -> Result<SignalInstance> {
        let announced = self.add_signal(req).await?;
        if announced.duplicate {
            let text = serde_json::to_string(&announced.instance).unwrap_or_default();
            return Err(EngineError::Conflict(format!(
                "Signal instance [{text}] already exists. If needed, please set a different request_id to announce it again"
            )));
        }
        Ok(announced.instance)
    }

    /// A stored signal by sequence id, or the latest of its name when `seq_id` is `None`
    /// (`GET /api/v3/signals/{name}/instances/{seq|latest}`). `None` when there is none.
    pub async fn get_signal(
        &self,
        name: &str,
        seq_id: Option<i64>,
    ) -> Result<Option<SignalInstance>> {
        match self.inner.store.get_signal(name, seq_id).await? {
            Some(row) => Ok(Some(instance_from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// Waits until every signal announced so far has been handled by the steps and signal
    /// triggers it was routed to (trigger matches decided, their runs created). For commands
    /// and tests that must not exit or assert before that.
    pub async fn signals_settled(&self) {
        self.inner.signals.settled().await
    }

    /// BYPASS_STEP_DEPENDENCIES (maestro-model.md §7.6): the step, which must be
    /// WAITING_FOR_SIGNALS, stops waiting (its pending signal dependencies become SKIPPED) and
    /// goes on. Delivered to the run's actor; returns once the change is durable.
    pub async fn bypass_signal_dependencies(
        &self,
        run: &baton_store::RunKey,
        step_id: &str,
        user: Option<baton_model::definition::User>,
    ) -> Result<()> {
        let local = self
            .inner
            .runs
            .lock()
            .map_err(|_| EngineError::Internal("run registry poisoned".into()))?
            .get(run)
            .cloned();
        if local.is_none() {
            self.require_run_owner(run).await?;
        }
        let tx = local.ok_or_else(|| {
            EngineError::Conflict(format!(
                "workflow instance run [{}][{}][{}] is not running on this engine",
                run.workflow_id, run.instance_id, run.run_id
            ))
        })?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(crate::run::RunMsg::BypassSignals {
            step_id: step_id.to_string(),
            user,
            reply,
        })
        .map_err(|_| EngineError::Conflict("the run ended meanwhile".into()))?;
        answer
            .await
            .map_err(|_| EngineError::Conflict("the run ended meanwhile".into()))?
    }

    /// Stores a signal and routes it; a duplicate is reported, not routed.
    pub(crate) async fn add_signal(&self, req: SignalCreateRequest) -> Result<Announced> {
        if let Some(problem) = baton_model::validate::ids::check_name(&req.name) {
            return Err(EngineError::Invalid {
                message: format!("Invalid signal name: {problem}"),
                errors: vec![baton_model::FieldError::new(
                    baton_model::JsonPath::root().key("name"),
                    problem,
                )],
            });
        }
        if let Some(params) = &req.params
            && let Some(bad) = params.keys().find(|k| k.trim().is_empty())
        {
            return Err(EngineError::invalid(format!(
                "Invalid signal param name [{bad}]: it cannot be empty"
            )));
        }
        let now = now_millis();
        let instance_id = req
            .request_id
            .clone()
            .unwrap_or_else(|| ids::signal_instance_id(&req.name, req.params.as_ref()));
        let mut instance = SignalInstance {
            name: req.name.clone(),
            seq_id: 0,
            instance_id: Some(instance_id.clone()),
            params: req.params.clone().filter(|p| !p.is_empty()),
            payload: (!req.payload.is_empty()).then(|| req.payload.clone()),
            request_time: req.request_time.unwrap_or(now),
            create_time: now,
        };
        let new = NewSignal {
            name: instance.name.clone(),
            instance_id,
            instance: document(&instance)?,
            params: instance
                .params
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), store_value(v)))
                .collect(),
            create_ts: now,
        };
        let outcome = self
            .inner
            .store
            .write(vec![WriteOp::AddSignal(new)])
            .await?;
        match outcome.first() {
            Some(WriteOutcome::Signal(AddSignalOutcome::Created { seq_id })) => {
                instance.seq_id = *seq_id;
                self.inner.signals.dispatch(Arc::new(instance.clone()));
                crate::cluster::notice::send(
                    self,
                    crate::cluster::notice::signal_announced(self, &instance.name, *seq_id),
                )
                .await;
                Ok(Announced {
                    instance,
                    duplicate: false,
                })
            }
            Some(WriteOutcome::Signal(AddSignalOutcome::Duplicated { seq_id })) => {
                instance.seq_id = *seq_id;
                Ok(Announced {
                    instance,
                    duplicate: true,
                })
            }
            other => Err(EngineError::Internal(format!(
                "signal write returned {other:?}"
            ))),
        }
    }
}

/// A stored signal read straight from a store (no engine needed): by sequence id, or the
/// latest of its name when `seq_id` is `None`.
pub async fn read_signal(
    store: &dyn baton_store::Store,
    name: &str,
    seq_id: Option<i64>,
) -> Result<Option<SignalInstance>> {
    match store.get_signal(name, seq_id).await? {
        Some(row) => Ok(Some(instance_from_row(&row)?)),
        None => Ok(None),
    }
}

/// The store's form of a param value.
pub(crate) fn store_value(v: &SignalParamValue) -> SignalValue {
    match v {
        SignalParamValue::Long(n) => SignalValue::Long(*n),
        SignalParamValue::String(s) => SignalValue::String(s.clone()),
    }
}

/// The stored document: the instance without the fields its columns hold.
fn document(instance: &SignalInstance) -> Result<String> {
    let mut doc = serde_json::to_value(instance)
        .map_err(|e| EngineError::Internal(format!("cannot serialize a signal: {e}")))?;
    if let Value::Object(map) = &mut doc {
        map.remove("seq_id");
        map.remove("create_time");
    }
    Ok(doc.to_string())
}

/// Rebuilds a signal instance from its row.
pub(crate) fn instance_from_row(row: &SignalRow) -> Result<SignalInstance> {
    let mut doc: Value = serde_json::from_str(&row.instance)
        .map_err(|e| EngineError::Internal(format!("stored signal is unreadable: {e}")))?;
    if let Value::Object(map) = &mut doc {
        map.insert("seq_id".into(), row.seq_id.into());
        map.insert("create_time".into(), row.create_ts.into());
        map.insert("instance_id".into(), row.instance_id.clone().into());
    }
    serde_json::from_value(doc)
        .map_err(|e| EngineError::Internal(format!("stored signal is unreadable: {e}")))
}

/// What evaluations of a run read about the signals that started it (`None` unless a signal
/// trigger started it).
pub(crate) fn signal_facts(
    initiator: &baton_model::instance::Initiator,
) -> Option<Arc<crate::params::SignalFacts>> {
    match initiator {
        baton_model::instance::Initiator::Signal(s) => Some(Arc::new(crate::params::SignalFacts {
            trigger_params: s.params.clone().unwrap_or_default(),
            signal_ids: s.signal_id_map.clone().unwrap_or_default(),
            declared: None,
        })),
        _ => None,
    }
}
