//! Shared helpers of the params tests: scopes with fixed clocks, services that count, and
//! definitions written as JSON.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use baton_engine::params::{
    EvalScope, EvalServices, InstanceFacts, Params, StepFacts, UpstreamStep,
};
use baton_model::instance::{InitiatorType, StepInstanceStatus};
use baton_model::params::{ParamDefinition, ParamMap};
use indexmap::IndexMap;
use serde_json::Value as Json;

/// Services for tests: unique ids count up from 1000; foreach and subworkflow lookups answer
/// from fixed data.
#[derive(Default)]
pub struct TestServices {
    next: AtomicI64,
}

impl EvalServices for TestServices {
    fn next_unique_id(&self) -> Result<i64, String> {
        Ok(1000 + self.next.fetch_add(1, Ordering::SeqCst))
    }
    fn get_from_foreach(
        &self,
        foreach_step_id: &str,
        step_id: &str,
        param: &str,
    ) -> Result<baton_sel::Value, String> {
        if (foreach_step_id, step_id, param) == ("loop", "job", "x") {
            Ok(baton_sel::Value::LongArray(vec![1, 2, 3]))
        } else {
            Err(format!(
                "no foreach data for {foreach_step_id}/{step_id}/{param}"
            ))
        }
    }
    fn get_from_subworkflow(
        &self,
        subworkflow_step_id: &str,
        step_id: &str,
        param: &str,
    ) -> Result<baton_sel::Value, String> {
        if (subworkflow_step_id, step_id, param) == ("sub", "inner", "out") {
            Ok(baton_sel::Value::string("from-child"))
        } else {
            Err(format!("Cannot find the param name: [{param}]"))
        }
    }
}

/// 2024-07-01T12:34:56.789Z.
pub const NOW: i64 = 1_719_837_296_789;

/// A workflow-context scope at `now` for a manual run of `wf`.
pub fn workflow_scope(now: i64) -> EvalScope {
    EvalScope {
        now_millis: now,
        limits: baton_sel::Limits::default(),
        instance: InstanceFacts {
            workflow_id: "wf".into(),
            workflow_instance_id: None,
            workflow_run_id: None,
            initiator_type: Some(InitiatorType::Manual),
            initiator_timezone: None,
            initiator_runner_name: Some("tester".into()),
            run_policy: None,
            owner: Some("owner-a".into()),
            first_time_trigger_timezone: None,
            signals: None,
        },
        workflow_params: Arc::new(Params::new()),
        step: None,
        upstream: Arc::new(IndexMap::new()),
        step_ids: Arc::new(Vec::new()),
        services: Arc::new(TestServices::default()),
    }
}

/// A step-context scope for step `step_id` with evaluated workflow params.
pub fn step_scope(now: i64, step_id: &str, workflow_params: Params) -> EvalScope {
    let mut s = workflow_scope(now);
    s.instance.workflow_instance_id = Some(7);
    s.instance.workflow_run_id = Some(1);
    s.workflow_params = Arc::new(workflow_params);
    s.step = Some(StepFacts {
        step_id: step_id.into(),
        step_instance_id: 3,
        step_instance_uuid: "9f0c3c52-7a0c-4a55-b7b2-4d6c1f0e2d11".into(),
        step_attempt_id: 2,
        step_type_info: "NoOp".into(),
        error_retries: 1,
        signal_dependencies: None,
    });
    s
}

/// Adds an upstream step with evaluated params.
pub fn with_upstream(scope: &mut EvalScope, step_id: &str, params: Params, end_time: Option<i64>) {
    let mut up = (*scope.upstream).clone();
    up.insert(
        step_id.into(),
        UpstreamStep {
            params: Arc::new(params),
            status: StepInstanceStatus::Succeeded,
            end_time,
        },
    );
    scope.upstream = Arc::new(up);
    let mut ids = (*scope.step_ids).clone();
    if !ids.iter().any(|s| s == step_id) {
        ids.push(step_id.into());
    }
    scope.step_ids = Arc::new(ids);
}

/// A param map from JSON (`{"name": {definition}}`).
pub fn defs(json: Json) -> ParamMap {
    serde_json::from_value(json).expect("param definitions")
}

/// One definition from JSON.
pub fn def(json: Json) -> ParamDefinition {
    serde_json::from_value(json).expect("param definition")
}

/// The evaluated results as JSON, by name.
pub fn results(params: &Params) -> Json {
    Json::Object(
        params
            .iter()
            .map(|(k, p)| {
                (
                    k.clone(),
                    p.evaluated_result
                        .as_ref()
                        .map(|r| r.to_json())
                        .unwrap_or(Json::Null),
                )
            })
            .collect(),
    )
}

/// The path of a file under `shared/compat`.
pub fn compat(path: &str) -> String {
    format!(
        "{}/../../../shared/compat/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}
