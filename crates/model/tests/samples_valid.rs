//! Every Maestro sample — JSON and YAML, workflows and the job template — loads, validates
//! without errors, builds its DAGs, and survives a JSON round trip field by field.

use baton_model::dag::DagTree;
use baton_model::definition::{JobTemplateCreateRequest, StepType, WorkflowCreateRequest};
use baton_model::dsl;
use baton_model::load::{Document, parse_document};
use baton_model::validate::{ValidateOptions, validate_create_request, validate_job_template};
use std::path::PathBuf;

fn samples() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/maestro-samples"
    ));
    let mut out = Vec::new();
    for d in [dir.clone(), dir.join("yaml")] {
        for e in std::fs::read_dir(&d).expect("samples dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "json" || x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn load(path: &PathBuf) -> Document {
    let text = std::fs::read_to_string(path).expect("read sample");
    let name = path.file_name().and_then(|n| n.to_str());
    parse_document(&text, name, &dsl::unresolved_as_template)
        .unwrap_or_else(|e| panic!("{}: {:#?}", path.display(), e.field_errors()))
}

#[test]
fn every_sample_is_accepted() {
    let files = samples();
    assert_eq!(files.len(), 32, "28 JSON + 4 YAML samples expected");
    let mut workflows = 0;
    let mut templates = 0;
    for path in &files {
        match load(path) {
            Document::Workflow(req) => {
                workflows += 1;
                let report = validate_create_request(&req, ValidateOptions::default());
                assert!(report.is_ok(), "{}: {:#?}", path.display(), report.errors);
                let tree = DagTree::build(&req.workflow.steps)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                assert_eq!(tree.total_steps(), req.workflow.all_steps().len());

                let json = serde_json::to_string(&req).expect("serialize");
                let again: WorkflowCreateRequest = serde_json::from_str(&json).expect("re-parse");
                assert_eq!(again, *req, "{}: round trip", path.display());
            }
            Document::JobTemplate(t) => {
                templates += 1;
                let report = validate_job_template(&t);
                assert!(report.is_ok(), "{}: {:#?}", path.display(), report.errors);
                let json = serde_json::to_string(&t).expect("serialize");
                let again: JobTemplateCreateRequest =
                    serde_json::from_str(&json).expect("re-parse");
                assert_eq!(again, *t, "{}: round trip", path.display());
            }
        }
    }
    assert_eq!((workflows, templates), (31, 1));
}

fn yaml(name: &str) -> WorkflowCreateRequest {
    let p = samples()
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == name))
        .expect("sample exists");
    match load(&p) {
        Document::Workflow(w) => *w,
        Document::JobTemplate(_) => panic!("{name} is a workflow"),
    }
}

#[test]
fn yaml_conditional_sample_matches_its_json_twin() {
    let y = yaml("sample-conditional-wf.yaml");
    let j = yaml("sample-conditional-wf.json");
    assert_eq!(y.workflow.id, j.workflow.id);
    assert_eq!(y.workflow.steps.len(), j.workflow.steps.len());
    for (ys, js) in y.workflow.steps.iter().zip(&j.workflow.steps) {
        assert_eq!(ys.id, js.id);
        assert_eq!(ys.step_type(), js.step_type());
        let yk: Vec<&String> = ys.transition.successors.keys().collect();
        let jk: Vec<&String> = js.transition.successors.keys().collect();
        assert_eq!(yk, jk, "successors of {}", ys.id);
    }
    // The OTHERWISE branch negates the IF.
    assert_eq!(
        y.workflow.steps[2].transition.successors["job.6"],
        "!((param2 < 0))"
    );
    assert_eq!(
        y.workflow.steps[3].transition.successors["job.5"],
        "params.getFromStep('job.3', 'param2') > 0"
    );
}

#[test]
fn yaml_dsl_sample_converts_like_maestro() {
    let r = yaml("sample-dsl-wf-1.yaml");
    let props = r.properties.as_ref().expect("properties");
    let rs = props.run_strategy.expect("run strategy");
    assert_eq!(rs.workflow_concurrency, 5);
    let wf = &r.workflow;
    assert_eq!(
        wf.timeout.as_ref().map(|t| t.as_text()).as_deref(),
        Some("2h")
    );
    let params = wf.params.as_ref().expect("params");
    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        ["month", "data_source", "output_path", "partition_count"]
    );
    assert_eq!(wf.steps.len(), 2);
    assert_eq!(
        wf.steps[0].step_type(),
        StepType::Template,
        "spark is unresolved"
    );
    assert_eq!(
        wf.steps[0].transition.successors["process_partitions"],
        "partition_count > 0"
    );
    let lp = wf.steps[1].param("loop_params").expect("loop_params");
    let Some(baton_model::params::ParamValue::Map(m)) = &lp.value else {
        panic!("literal map expected")
    };
    assert_eq!(m.keys().collect::<Vec<_>>(), ["date", "hour"]);
    assert_eq!(
        m["hour"].expression.as_deref(),
        Some("Util.intsBetween(0, 24, 1);")
    );
    let body = wf.steps[1].body().expect("foreach body");
    let inner = body[0].body().expect("while body");
    assert_eq!(
        inner[0].step_type(),
        StepType::Template,
        "`shell` without a shell param is the job template"
    );
    assert_eq!(
        inner[1]
            .param("subworkflow_id")
            .and_then(|p| p.value.clone()),
        Some(baton_model::params::ParamValue::String(
            "validation_workflow".into()
        ))
    );
}

#[test]
fn default_param_files_parse_as_param_maps() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/maestro-defaultparams"
    ));
    let mut count = 0;
    for e in std::fs::read_dir(&dir).expect("defaultparams dir") {
        let path = e.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let value = baton_model::load::read_value(&text, baton_model::load::Format::Yaml)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let params: baton_model::params::ParamMap = baton_model::load::from_value(value)
            .unwrap_or_else(|e| panic!("{}: {e:#?}", path.display()));
        assert!(!params.is_empty(), "{}", path.display());
        count += 1;
    }
    assert_eq!(count, 9);
}
