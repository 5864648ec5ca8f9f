//! Definition-side types: what users write (maestro-model.md §1–§2, §9).

mod job_template;
mod parsable_long;
mod properties;
mod retry;
mod signal;
mod step;
mod tag;
mod transition;
mod trigger;
mod user;
mod workflow;

pub use job_template::{
    JobTemplateCreateRequest, JobTemplateDefinition, RESERVED_JOB_TEMPLATE_KEYS,
};
pub use parsable_long::ParsableLong;
pub use properties::{
    AlertAction, AlertType, Alerting, AlertingTypeConfig, BypassDigestConfig, Criticality,
    DEFAULT_PARALLELISM, Granularity, PagerdutyConfig, Properties, PropertiesSnapshot, RunStrategy,
    RunStrategyRule, Severity, SlackConfig, Tct,
};
pub use retry::{
    Backoff, ExponentialBackoff, FixedBackoff, RetryKind, RetryPolicy, RetryPolicyError,
    exponential_delay,
};
pub use signal::{
    SignalDependencyDefinition, SignalMatchParam, SignalMatchParamDef, SignalOperator,
    SignalOutputDefinition, SignalParamValue,
};
pub use step::{
    FailureMode, ForeachStep, STEP_KEYS, Step, StepKind, StepType, SubworkflowStep, TemplateStep,
    TypedStep, WhileStep,
};
pub use tag::{Tag, TagList, TagNamespace};
pub use transition::StepTransition;
pub use trigger::{
    CronTimeTrigger, IntervalTimeTrigger, PredefinedSchedule, PredefinedTimeTrigger, SignalTrigger,
    SignalTriggerEntry, TimeTrigger, TimeTriggerType, TriggerUuids,
};
pub use user::User;
pub use workflow::{
    GitInfo, Metadata, RESERVED_METADATA_KEYS, Workflow, WorkflowCreateRequest, WorkflowDefinition,
};
