//! Instance-side types: runs, step attempts, statuses, initiators, timelines, artifacts and
//! overviews (maestro-model.md §5, §7.7, §10). Pure data for the engine and the store.

mod actions;
mod artifact;
mod initiator;
mod overview;
mod run;
mod signal_instance;
mod status;
mod step_instance;
mod timeline;
mod workflow_instance;

pub use actions::{
    StepInstanceAction, WorkflowInstanceAction, step_action_map, workflow_instance_action_map,
};
pub use artifact::{
    Artifact, ArtifactType, DynamicOutputArtifact, ForeachAction, ForeachArtifact, HttpArtifact,
    HttpStepRequest, KubernetesArtifact, KubernetesCommand, KubernetesExec, KubernetesPreStop,
    NotebookArtifact, RetryArtifact, SubworkflowArtifact, TitusArtifact, WhileArtifact,
};
pub use initiator::{
    Initiator, InitiatorType, ManualInitiator, SignalInitiator, TimeInitiator, UpstreamInfo,
    UpstreamInitiator, WORKFLOW_DEPTH_LIMIT, is_inline_workflow_id,
};
pub use overview::{
    CountReference, ForeachStepOverview, Interval, StepAggregatedView,
    WorkflowInstanceAggregatedInfo, WorkflowRollupOverview, WorkflowRuntimeOverview,
    WorkflowStepStatusSummary,
};
pub use run::{RestartConfig, RestartNode, RunConfig, RunPolicy, RunProperties};
pub use signal_instance::SignalInstance;
pub use status::{
    RuntimeState, StepDependencyMatchStatus, StepInstanceStatus, WorkflowInstanceStatus,
};
pub use step_instance::{
    Details, SignalDependencies, SignalDependency, SignalOutput, SignalOutputs, StepInstance,
    StepInstanceTransition, StepRetry, StepRuntimeState,
};
pub use timeline::{
    ActionEvent, DetailsEvent, ErrorCode, LogEvent, LogLevel, MilestoneEvent, MilestoneType,
    StatusEvent, TIMELINE_SIZE_LIMIT, Timeline, TimelineEvent,
};
pub use workflow_instance::WorkflowInstance;
