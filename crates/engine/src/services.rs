//! The store-backed services SEL evaluation may call (`params.nextUniqueId()`, …). Evaluation
//! runs on blocking threads, so these bridge back into async store calls by spawning them on the
//! runtime and waiting on a plain channel.

use std::sync::Arc;

use baton_store::Store;
use tokio::runtime::Handle;

use crate::params::EvalServices;

pub(crate) struct StoreServices {
    store: Arc<dyn Store>,
    handle: Handle,
}

impl StoreServices {
    pub fn new(store: Arc<dyn Store>, handle: Handle) -> Self {
        StoreServices { store, handle }
    }
}

impl EvalServices for StoreServices {
    fn next_unique_id(&self) -> Result<i64, String> {
        let store = self.store.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(store.next_sequence_value("unique_id").await);
        });
        rx.recv()
            .map_err(|_| "the engine is shutting down".to_string())?
            .map_err(|e| format!("cannot draw a unique id: {e}"))
    }

    fn get_signal_param(
        &self,
        name: &str,
        seq_id: i64,
        param: &str,
    ) -> Result<Option<baton_model::definition::SignalParamValue>, String> {
        let store = self.store.clone();
        let name_owned = name.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(store.get_signal(&name_owned, Some(seq_id)).await);
        });
        let row = rx
            .recv()
            .map_err(|_| "the engine is shutting down".to_string())?
            .map_err(|e| format!("cannot read signal [{name}] #{seq_id}: {e}"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let instance = crate::signals::instance_from_row(&row).map_err(|e| e.to_string())?;
        Ok(instance.params.and_then(|mut p| p.shift_remove(param)))
    }

    fn get_from_foreach(
        &self,
        foreach_step_id: &str,
        _step_id: &str,
        _param: &str,
    ) -> Result<baton_sel::Value, String> {
        Err(format!(
            "params.getFromForeach('{foreach_step_id}', ...) is not supported yet: foreach steps come with a later release"
        ))
    }

    fn get_from_subworkflow(
        &self,
        subworkflow_step_id: &str,
        _step_id: &str,
        _param: &str,
    ) -> Result<baton_sel::Value, String> {
        Err(format!(
            "params.getFromSubworkflow('{subworkflow_step_id}', ...) is not supported yet: subworkflow steps come with a later release"
        ))
    }
}
