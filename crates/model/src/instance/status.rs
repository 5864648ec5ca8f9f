//! Statuses of workflow instances (§5.3) and step instances (§5.5) with the flags the engine
//! decides by, the status of a signal dependency, and the result state a step runtime reports
//! (§5.7).

use crate::maestro_enum;

maestro_enum! {
    /// Status of a workflow instance run.
    pub enum WorkflowInstanceStatus {
        /// Created with params evaluated; queued or just dequeued.
        Created => "CREATED",
        /// Running.
        InProgress => "IN_PROGRESS",
        /// Declared by Maestro but never produced.
        Paused => "PAUSED",
        /// Timed out.
        TimedOut => "TIMED_OUT",
        /// Stopped.
        Stopped => "STOPPED",
        /// Failed.
        Failed => "FAILED",
        /// Succeeded.
        Succeeded => "SUCCEEDED",
    }
}

impl WorkflowInstanceStatus {
    /// True for the final statuses (TIMED_OUT, STOPPED, FAILED, SUCCEEDED).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            WorkflowInstanceStatus::TimedOut
                | WorkflowInstanceStatus::Stopped
                | WorkflowInstanceStatus::Failed
                | WorkflowInstanceStatus::Succeeded
        )
    }

    /// Reads a raw stored status: `FAILED_1` (unblocked) and `FAILED_2` (restarted) are exposed
    /// as FAILED, as Maestro does.
    pub fn from_raw(text: &str) -> Option<Self> {
        if text.starts_with("FAILED") {
            return Some(WorkflowInstanceStatus::Failed);
        }
        Self::parse(text)
    }
}

maestro_enum! {
    /// Status of one step attempt.
    pub enum StepInstanceStatus {
        /// Placeholder: not created in this run.
        NotCreated => "NOT_CREATED",
        /// Attempt created.
        Created => "CREATED",
        /// Predecessors satisfied; timeout, signals and tags initialized.
        Initialized => "INITIALIZED",
        /// Held by a breakpoint.
        Paused => "PAUSED",
        /// Waiting for signal dependencies.
        WaitingForSignals => "WAITING_FOR_SIGNALS",
        /// Params being merged and evaluated.
        EvaluatingParams => "EVALUATING_PARAMS",
        /// Waiting for tag permits.
        WaitingForPermits => "WAITING_FOR_PERMITS",
        /// The runtime's start is being called.
        Starting => "STARTING",
        /// The runtime is polled.
        Running => "RUNNING",
        /// Outputs and signals being written.
        Finishing => "FINISHING",
        /// Reserved; never produced.
        Disabled => "DISABLED",
        /// No incoming condition was true.
        Unsatisfied => "UNSATISFIED",
        /// Skipped by a user.
        Skipped => "SKIPPED",
        /// Succeeded.
        Succeeded => "SUCCEEDED",
        /// Failed with failure mode IGNORE_FAILURE.
        CompletedWithError => "COMPLETED_WITH_ERROR",
        /// User error; will be retried.
        UserFailed => "USER_FAILED",
        /// Platform error; will be retried.
        PlatformFailed => "PLATFORM_FAILED",
        /// Retries exhausted, fatal error or killed.
        FatallyFailed => "FATALLY_FAILED",
        /// Internal error; failure mode not applied.
        InternallyFailed => "INTERNALLY_FAILED",
        /// Stopped.
        Stopped => "STOPPED",
        /// Timed out; will be retried.
        TimeoutFailed => "TIMEOUT_FAILED",
        /// Timed out for good.
        TimedOut => "TIMED_OUT",
    }
}

impl StepInstanceStatus {
    /// The attempt will not change status any more on its own.
    pub fn is_terminal(self) -> bool {
        use StepInstanceStatus::*;
        matches!(
            self,
            Disabled
                | Unsatisfied
                | Skipped
                | Succeeded
                | CompletedWithError
                | UserFailed
                | PlatformFailed
                | FatallyFailed
                | InternallyFailed
                | Stopped
                | TimeoutFailed
                | TimedOut
        )
    }

    /// Terminal and "done well": downstream may proceed.
    pub fn is_complete(self) -> bool {
        use StepInstanceStatus::*;
        matches!(
            self,
            Disabled | Unsatisfied | Skipped | Succeeded | CompletedWithError
        )
    }

    /// Kept as a reference in rollups.
    pub fn is_overview(self) -> bool {
        use StepInstanceStatus::*;
        matches!(
            self,
            Paused
                | WaitingForSignals
                | EvaluatingParams
                | WaitingForPermits
                | Running
                | UserFailed
                | PlatformFailed
                | FatallyFailed
                | InternallyFailed
                | TimeoutFailed
        )
    }

    /// The system retries it automatically.
    pub fn is_retryable(self) -> bool {
        use StepInstanceStatus::*;
        matches!(self, UserFailed | PlatformFailed | TimeoutFailed)
    }

    /// A user may restart it: terminal, not complete, not retryable.
    pub fn is_restartable(self) -> bool {
        self.is_terminal() && !self.is_complete() && !self.is_retryable()
    }

    /// Actions (stop, kill, skip) still apply: not terminal, or terminal but retryable.
    pub fn should_wake_up(self) -> bool {
        !self.is_terminal() || self.is_retryable()
    }
}

maestro_enum! {
    /// Status of one signal dependency of a step.
    pub enum StepDependencyMatchStatus {
        /// A matching signal was found.
        Matched => "MATCHED",
        /// Still waiting.
        Pending => "PENDING",
        /// Bypassed by a user.
        Skipped => "SKIPPED",
        /// The step ended while waiting.
        Canceled => "CANCELED",
        /// Matching failed.
        Failed => "FAILED",
    }
}

impl StepDependencyMatchStatus {
    /// MATCHED or SKIPPED: the step need not wait for it.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            StepDependencyMatchStatus::Matched | StepDependencyMatchStatus::Skipped
        )
    }
}

maestro_enum! {
    /// What a step runtime's `start`/`execute`/`terminate` reports (`StepRuntime.State`).
    pub enum RuntimeState {
        /// Poll again later.
        Continue => "CONTINUE",
        /// Finished well.
        Done => "DONE",
        /// The user's job failed (retried per `error_retry_limit`).
        UserError => "USER_ERROR",
        /// The platform failed (retried per `platform_retry_limit`).
        PlatformError => "PLATFORM_ERROR",
        /// Failed without retry.
        FatalError => "FATAL_ERROR",
        /// Stopped.
        Stopped => "STOPPED",
        /// Timed out.
        TimedOut => "TIMED_OUT",
    }
}

impl RuntimeState {
    /// Anything but CONTINUE, DONE and STOPPED.
    pub fn is_failed(self) -> bool {
        !matches!(
            self,
            RuntimeState::Continue | RuntimeState::Done | RuntimeState::Stopped
        )
    }

    /// Anything but CONTINUE.
    pub fn is_terminal(self) -> bool {
        self != RuntimeState::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepInstanceStatus as S;

    #[test]
    fn step_flags_match_the_reference_table() {
        // (status, terminal, complete, retryable)
        let table = [
            (S::NotCreated, false, false, false),
            (S::Running, false, false, false),
            (S::Disabled, true, true, false),
            (S::Unsatisfied, true, true, false),
            (S::Skipped, true, true, false),
            (S::Succeeded, true, true, false),
            (S::CompletedWithError, true, true, false),
            (S::UserFailed, true, false, true),
            (S::PlatformFailed, true, false, true),
            (S::TimeoutFailed, true, false, true),
            (S::FatallyFailed, true, false, false),
            (S::InternallyFailed, true, false, false),
            (S::Stopped, true, false, false),
            (S::TimedOut, true, false, false),
        ];
        for (s, terminal, complete, retryable) in table {
            assert_eq!(s.is_terminal(), terminal, "{s} terminal");
            assert_eq!(s.is_complete(), complete, "{s} complete");
            assert_eq!(s.is_retryable(), retryable, "{s} retryable");
        }
        let restartable: Vec<S> = S::ALL
            .iter()
            .copied()
            .filter(|s| s.is_restartable())
            .collect();
        assert_eq!(
            restartable,
            [
                S::FatallyFailed,
                S::InternallyFailed,
                S::Stopped,
                S::TimedOut
            ]
        );
        assert!(S::UserFailed.should_wake_up() && S::Created.should_wake_up());
        assert!(!S::Succeeded.should_wake_up());
        assert!(S::Running.is_overview() && !S::Succeeded.is_overview());
    }

    #[test]
    fn workflow_statuses() {
        let terminal: Vec<_> = WorkflowInstanceStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(terminal, ["TIMED_OUT", "STOPPED", "FAILED", "SUCCEEDED"]);
        assert_eq!(
            WorkflowInstanceStatus::from_raw("FAILED_2"),
            Some(WorkflowInstanceStatus::Failed)
        );
        assert_eq!(
            WorkflowInstanceStatus::from_raw("in_progress"),
            Some(WorkflowInstanceStatus::InProgress)
        );
    }

    #[test]
    fn runtime_states() {
        assert!(RuntimeState::UserError.is_failed() && !RuntimeState::Stopped.is_failed());
        assert!(RuntimeState::Done.is_terminal() && !RuntimeState::Continue.is_terminal());
        assert!(StepDependencyMatchStatus::Skipped.is_done());
        assert!(!StepDependencyMatchStatus::Canceled.is_done());
    }
}
