//! Run actors: one tokio task per running workflow instance run, the only writer of that run's
//! rows (DESIGN.md "one owner per running instance").
//!
//! An actor works in *turns*. A turn takes every message waiting in its mailbox (runtime
//! results, timers, actions) and every follow-up queued by the previous turn, advances the step
//! state machines in memory, then makes all of the turn's changes durable in one store write
//! (shared with other actors' writes by group commit), and only then performs the turn's
//! effects: launching external work, releasing successor steps, answering callers, publishing
//! events. That ordering is "persist, then act": nothing outside the actor can observe or depend
//! on a state the store does not have.
//!
//! Steps whose runtime has no side effects (NoOp, Sleep) run their `start`/`execute` inline when
//! the future is ready at once, so a NoOp step costs one commit: its successor is created in the
//! turn after the commit that made it succeed.

mod actor;
mod breakpoints;
mod children;
mod flow;
mod foreach;
mod intervals;
mod outcome;
mod permit;
mod restart;
mod signals;
mod step;
mod step_actions;
mod subworkflow;
mod while_loop;

use baton_model::definition::User;
use baton_model::instance::{StepInstance, WorkflowInstance};
use tokio::sync::oneshot;

use crate::engine::Engine;
use crate::error::Result;
use crate::runtime::RuntimeResult;

pub(crate) use outcome::compute_overview;
pub(crate) use step::sanitize_path;

/// Which runtime call a result answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Start,
    Execute,
}

/// Run-level actions a caller can send to a live run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    /// Terminate every incomplete step as STOPPED; the run ends STOPPED.
    Stop,
    /// Terminate every incomplete step as FATALLY_FAILED (failure modes ignored); the run ends
    /// FAILED.
    Kill,
}

/// The mailbox of a run actor.
pub(crate) enum RunMsg {
    /// A runtime call finished.
    Runtime {
        node: usize,
        attempt_id: i64,
        phase: Phase,
        /// Boxed: mailbox slots are sized by the largest message.
        result: Box<RuntimeResult>,
    },
    /// A retry backoff elapsed.
    RetryDue { node: usize, attempt_id: i64 },
    /// A step attempt ran past its timeout.
    StepTimeout { node: usize, attempt_id: i64 },
    /// The run ran past its timeout.
    RunTimeout,
    /// A caller's action; answered once the action's effect is durable.
    Action {
        action: RunAction,
        user: Option<User>,
        reason: Option<String>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// A child run (loop iteration or subworkflow) of one of this run's steps reached a
    /// terminal status, durably.
    ChildEnded(Box<ChildEnded>),
    /// A step waiting for tag permits got them.
    PermitGranted { node: usize, attempt_id: i64 },
    /// Stop working (engine shutdown) without changing the run's status.
    Shutdown,
    /// A new signal with a name some waiting step depends on.
    Signal {
        instance: std::sync::Arc<baton_model::instance::SignalInstance>,
        delivery: crate::signals::hub::Delivery,
    },
    /// BYPASS_STEP_DEPENDENCIES on a step; answered once durable.
    BypassSignals {
        step_id: String,
        user: Option<User>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// The paused-attempt row of a PAUSED step is gone (resumed): the step goes on.
    Resume {
        step_id: String,
        attempt_id: i64,
        user: Option<User>,
    },
    /// A user's STOP, KILL or SKIP of one step; answered once durable.
    StepAction {
        step_id: String,
        action: crate::step_actions::StepAction,
        user: User,
        reason: Option<String>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Look for a waiting step's signals (or announce a finishing step's) again.
    RecheckSignals { node: usize, attempt_id: i64 },
    /// A user's manual restart of a step of this (active) run (§7.6); answered with the new
    /// attempt once it is durable.
    RestartStep {
        request: StepRestart,
        reply: oneshot::Sender<Result<StepInstance>>,
    },
}

/// An in-run restart of one step.
#[derive(Debug, Clone)]
pub(crate) struct StepRestart {
    pub step_id: String,
    pub step_run_params: Option<baton_model::params::ParamMap>,
    pub user: User,
}

/// What a child run tells its parent when it ends.
#[derive(Debug, Clone)]
pub(crate) struct ChildEnded {
    /// The parent step and attempt that started the child.
    pub step_id: String,
    pub attempt_id: i64,
    pub child: baton_store::RunKey,
    pub status: baton_model::instance::WorkflowInstanceStatus,
    /// The child's final runtime overview (its leaf rollup included).
    pub overview: Option<baton_model::instance::WorkflowRuntimeOverview>,
}

/// Starts the actor of a run. `attempts` are the run's stored step attempts when resuming after
/// a restart (empty for a run that has not started).
pub(crate) async fn spawn(
    engine: &Engine,
    instance: WorkflowInstance,
    attempts: Vec<StepInstance>,
) -> Result<()> {
    // A restarted run starts from what its earlier runs left (read before the actor exists,
    // so a rebuilt run gets the same plan as the first start).
    let earlier = crate::restart::earlier_attempts(engine, &instance).await?;
    actor::RunActor::spawn(engine, instance, attempts, earlier)
}
