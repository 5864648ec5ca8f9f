//! The run actor's side of tag permits (see `crate::permits`): a step asks for its tags in
//! WAITING_FOR_PERMITS, is woken by a message when they are granted, and gives them back the
//! moment its attempt is terminal.

use baton_model::instance::StepInstanceStatus as S;

use super::RunMsg;
use super::actor::RunActor;
use crate::permits::{StepTagFacts, TagRequest, step_tags};

impl RunActor {
    /// The tags a step's attempt must hold (§4.3).
    pub(super) fn permit_tags(&self, node: usize) -> Vec<TagRequest> {
        let step = self.wf.step(node);
        let correlation = self.instance.correlation_id_or_default();
        let tags = self
            .attempt(node)
            .and_then(|si| si.tags.as_ref())
            .or(step.tags.as_ref());
        step_tags(&StepTagFacts {
            workflow_id: &self.key.workflow_id,
            correlation_id: &correlation,
            step_concurrency: self.instance.run_properties.step_concurrency,
            instance_step_concurrency: self.flow.instance_step_concurrency,
            step_id: &step.id,
            is_leaf: step.step_type().is_leaf(),
            tags,
        })
    }

    /// WAITING_FOR_PERMITS: true when the step holds its permits and may start; otherwise it
    /// waits for a `PermitGranted` message.
    pub(super) fn acquire_permits(&mut self, node: usize) -> bool {
        let Some((uuid, attempt_id)) = self
            .attempt(node)
            .map(|si| (si.step_uuid.clone(), si.step_attempt_id))
        else {
            return false;
        };
        let tags = self.permit_tags(node);
        let tx = self.tx.clone();
        let wake = Box::new(move || tx.send(RunMsg::PermitGranted { node, attempt_id }).is_ok());
        self.engine.inner.permits.acquire(&uuid, tags, wake)
    }

    /// A waiting step got its permits: carry on with it.
    pub(super) async fn on_permit_granted(&mut self, node: usize, attempt_id: i64) {
        let current = self
            .attempt(node)
            .map(|si| (si.step_attempt_id, si.runtime_state.status));
        if current == Some((attempt_id, S::WaitingForPermits)) {
            self.drive(node).await;
        } else if let Some(si) = self.attempt(node)
            && si.step_attempt_id == attempt_id
            && si.runtime_state.status.is_terminal()
        {
            // Ended while the grant was on its way: give it back.
            let uuid = si.step_uuid.clone();
            self.engine.inner.permits.release(&uuid);
        }
    }

    /// A terminal attempt holds nothing and waits for nothing.
    pub(super) fn release_permits(&mut self, node: usize) {
        if let Some(si) = self.attempt(node) {
            let uuid = si.step_uuid.clone();
            self.engine.inner.permits.release(&uuid);
        }
    }
}
