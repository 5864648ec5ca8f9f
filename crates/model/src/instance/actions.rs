//! Which user actions each status allows (maestro-model.md §7.5–§7.6, Maestro's
//! `Actions.WORKFLOW_INSTANCE_STATUS_TO_ACTION_MAP` / `STEP_INSTANCE_STATUS_TO_ACTION_MAP`).
//! One table serves both the action-map endpoints and the engine's validation of an action, so
//! what the API advertises and what it accepts cannot drift apart.

use super::status::{StepInstanceStatus, WorkflowInstanceStatus};
use crate::maestro_enum;

maestro_enum! {
    /// An action on a workflow instance run.
    pub enum WorkflowInstanceAction {
        /// Stop every incomplete step; the run ends STOPPED.
        Stop => "STOP",
        /// Kill every incomplete step; the run ends FAILED.
        Kill => "KILL",
        /// A new run of a terminal instance.
        Restart => "RESTART",
        /// Mark a FAILED run as no longer blocking (STRICT_SEQUENTIAL).
        Unblock => "UNBLOCK",
    }
}

maestro_enum! {
    /// An action on a step instance.
    pub enum StepInstanceAction {
        /// Declared by Maestro, never handled: pausing is done with breakpoints.
        Pause => "PAUSE",
        /// Resume a paused attempt.
        Resume => "RESUME",
        /// Skip pending signal dependencies.
        BypassStepDependencies => "BYPASS_STEP_DEPENDENCIES",
        /// End the attempt STOPPED.
        Stop => "STOP",
        /// End the attempt FATALLY_FAILED (then the failure mode applies).
        Kill => "KILL",
        /// End the attempt SKIPPED; downstream continues.
        Skip => "SKIP",
        /// A new attempt (or, for a terminal run, a new run).
        Restart => "RESTART",
    }
}

impl WorkflowInstanceStatus {
    /// The actions a user may take on a run in this status, in Maestro's order.
    pub fn allowed_actions(self) -> &'static [WorkflowInstanceAction] {
        use WorkflowInstanceAction as A;
        use WorkflowInstanceStatus::*;
        match self {
            Created | InProgress | Paused => &[A::Stop, A::Kill],
            Failed => &[A::Restart, A::Unblock],
            TimedOut | Stopped | Succeeded => &[A::Restart],
        }
    }
}

impl StepInstanceStatus {
    /// The actions a user may take on a step attempt in this status, in Maestro's order
    /// (NOT_CREATED allows none).
    pub fn allowed_actions(self) -> &'static [StepInstanceAction] {
        use StepInstanceAction as A;
        use StepInstanceStatus::*;
        match self {
            NotCreated => &[],
            Created => &[A::Pause, A::Stop, A::Kill],
            Initialized => &[A::Pause, A::Stop, A::Kill, A::Skip],
            Paused => &[A::Resume, A::Stop, A::Kill, A::Skip],
            WaitingForSignals => &[A::Stop, A::Kill, A::Skip, A::BypassStepDependencies],
            EvaluatingParams | WaitingForPermits | Starting | Running | Finishing => {
                &[A::Stop, A::Kill, A::Skip]
            }
            UserFailed | PlatformFailed | TimeoutFailed => &[A::Stop, A::Kill, A::Skip],
            Disabled | Unsatisfied => &[A::Restart],
            Skipped | Succeeded | CompletedWithError | FatallyFailed | InternallyFailed
            | Stopped | TimedOut => &[A::Restart, A::Skip],
        }
    }

    /// True when `action` is allowed in this status.
    pub fn allows(self, action: StepInstanceAction) -> bool {
        self.allowed_actions().contains(&action)
    }
}

impl WorkflowInstanceStatus {
    /// True when `action` is allowed in this status.
    pub fn allows(self, action: WorkflowInstanceAction) -> bool {
        self.allowed_actions().contains(&action)
    }
}

/// Maestro's `STEP_INSTANCE_STATUS_TO_ACTION_MAP` as (status, actions) pairs, statuses in
/// declaration order; NOT_CREATED, which allows nothing, is absent as in Maestro.
pub fn step_action_map() -> Vec<(StepInstanceStatus, &'static [StepInstanceAction])> {
    StepInstanceStatus::ALL
        .iter()
        .map(|s| (*s, s.allowed_actions()))
        .filter(|(_, a)| !a.is_empty())
        .collect()
}

/// Maestro's `WORKFLOW_INSTANCE_STATUS_TO_ACTION_MAP` as (status, actions) pairs.
pub fn workflow_instance_action_map()
-> Vec<(WorkflowInstanceStatus, &'static [WorkflowInstanceAction])> {
    WorkflowInstanceStatus::ALL
        .iter()
        .map(|s| (*s, s.allowed_actions()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_and_kill_apply_to_unfinished_and_retryable_steps_only() {
        for s in StepInstanceStatus::ALL {
            let expected = s.should_wake_up() && *s != StepInstanceStatus::NotCreated;
            assert_eq!(s.allows(StepInstanceAction::Stop), expected, "{s}");
            assert_eq!(s.allows(StepInstanceAction::Kill), expected, "{s}");
        }
    }

    #[test]
    fn skip_is_not_allowed_before_initialization_nor_on_never_run_steps() {
        use StepInstanceStatus::*;
        for s in [NotCreated, Created, Disabled, Unsatisfied] {
            assert!(!s.allows(StepInstanceAction::Skip), "{s}");
        }
        for s in [Initialized, Paused, Running, UserFailed, Succeeded, Stopped] {
            assert!(s.allows(StepInstanceAction::Skip), "{s}");
        }
    }

    #[test]
    fn maps_list_every_status_but_not_created() {
        assert_eq!(step_action_map().len(), StepInstanceStatus::ALL.len() - 1);
        assert_eq!(
            workflow_instance_action_map().len(),
            WorkflowInstanceStatus::ALL.len()
        );
        assert_eq!(
            WorkflowInstanceStatus::Failed.allowed_actions(),
            &[
                WorkflowInstanceAction::Restart,
                WorkflowInstanceAction::Unblock
            ]
        );
    }
}
