//! The run actor's side of a user's STOP, KILL or SKIP of one step (maestro-model.md §7.6):
//! validated against the action table, then the attempt ends with the action's status in this
//! turn, and the caller is answered once that is durable. A flow step's children are stopped
//! by the same termination path as a run stop (`stop_runtime` → `stop_flow_step`), so they end
//! STOPPED whatever the action on the parent was.

use baton_model::definition::User;
use baton_model::instance::{ActionEvent, StepInstanceStatus as S, TimelineEvent};
use tokio::sync::oneshot;

use super::actor::{Effect, RunActor};
use crate::clock::now_millis;
use crate::error::{EngineError, Result};
use crate::step_actions::StepAction;

impl RunActor {
    pub(super) async fn on_step_action(
        &mut self,
        step_id: String,
        action: StepAction,
        user: User,
        reason: Option<String>,
        reply: oneshot::Sender<Result<()>>,
    ) {
        let name = action.as_model().as_str();
        let Some(node) = self.wf.dag.index_of(&step_id) else {
            let _ = reply.send(Err(EngineError::NotFound(format!(
                "Cannot find step [{step_id}] in workflow instance run {}",
                self.instance.identity()
            ))));
            return;
        };
        if self.ended || self.terminating.is_some() {
            let _ = reply.send(Err(EngineError::invalid(format!(
                "Cannot {name} step [{step_id}]: workflow instance run {} is already terminating",
                self.instance.identity()
            ))));
            return;
        }
        let status = self
            .attempt(node)
            .map(|si| si.runtime_state.status)
            .unwrap_or(S::NotCreated);
        if !status.allows(action.as_model()) {
            let _ = reply.send(Err(EngineError::invalid(format!(
                "Cannot {name} step [{step_id}] of workflow instance run {} in status [{}]: {name} is allowed only in {}",
                self.instance.identity(),
                status.as_str(),
                allowed_in(action)
            ))));
            return;
        }
        if status.is_terminal() && !status.is_retryable() {
            // Only SKIP gets here: skipping a finished step means restarting it.
            let _ = reply.send(Err(EngineError::NotImplemented(format!(
                "Skipping step [{step_id}] in status [{}] while workflow instance run {} is running needs a restart of the step, which Baton cannot do yet",
                status.as_str(),
                self.instance.identity()
            ))));
            return;
        }
        let to = match action {
            StepAction::Stop => S::Stopped,
            StepAction::Kill => S::FatallyFailed,
            StepAction::Skip => S::Skipped,
        };
        let now = now_millis();
        let mut message = format!(
            "User [{}] took action [{name}] on the step attempt in status [{}]",
            user.name,
            status.as_str()
        );
        if let Some(r) = &reason {
            message.push_str(&format!(" with reason [{r}]"));
        }
        self.add_timeline(
            node,
            TimelineEvent::Action(ActionEvent {
                timestamp: now,
                action: Some(name.to_string()),
                author: Some(user),
                message: Some(message),
                reason,
                info: None,
            }),
        );
        self.steps[node].doc_dirty = true;
        if status.is_retryable() {
            // Waiting for its retry: no work runs, only the timer goes.
            if let Some(h) = self.steps[node].retry_timer.take() {
                h.abort();
            }
            self.set_status(node, to);
            self.finish(node).await;
        } else {
            self.terminate_step(node, to).await;
        }
        self.prune_signal_subscriptions();
        self.effects.push(Effect::Reply(reply));
    }
}

/// The statuses an action is allowed in, for error messages.
fn allowed_in(action: StepAction) -> String {
    let names: Vec<&str> = S::ALL
        .iter()
        .filter(|s| s.allows(action.as_model()))
        .map(|s| s.as_str())
        .collect();
    format!("[{}]", names.join(", "))
}
