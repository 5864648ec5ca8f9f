//! `baton validate FILE...`: checks workflow definitions (JSON create requests or the YAML DSL)
//! and job templates, and reports every problem with the path of its field.
//!
//! Exit status: 0 when every file is valid, 1 when any is not (or cannot be read).

use baton_model::dag::{Dag, DagTree};
use baton_model::definition::{JobTemplateDefinition, Step, StepType};
use baton_model::dsl;
use baton_model::load::{Document, parse_document};
use baton_model::validate::{
    Report, ValidateOptions, validate_create_request, validate_job_template,
};
use baton_model::{FieldError, JsonPath};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Workflow definition files (JSON create requests or YAML DSL) or job template files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print a machine-readable JSON result instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also show the DAG of every valid workflow, level by level (loop bodies indented).
    #[arg(long)]
    pub print_dag: bool,
    /// Job template files used to resolve DSL job types that are not built-in step types.
    #[arg(long = "job-template", value_name = "FILE")]
    pub job_templates: Vec<PathBuf>,
}

/// The outcome for one file.
#[derive(Serialize)]
struct FileResult {
    file: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary>,
    errors: Vec<FieldError>,
    warnings: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dag: Option<DagView>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Summary {
    Workflow {
        workflow_id: String,
        steps: usize,
        total_steps: usize,
        dag_depth: usize,
    },
    JobTemplate {
        job_type: String,
        version: String,
        step_type: StepType,
    },
}

/// One level of a DAG, for output.
#[derive(Serialize)]
struct DagView {
    depth: usize,
    steps: Vec<StepView>,
}

#[derive(Serialize)]
struct StepView {
    id: String,
    #[serde(rename = "type")]
    step_type: StepType,
    level: usize,
    predecessors: Vec<String>,
    successors: Vec<EdgeView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<DagView>,
}

#[derive(Serialize)]
struct EdgeView {
    id: String,
    condition: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let templates = load_templates(&args.job_templates)?;
    let resolver = |job_type: &str, version: Option<&str>| -> Option<StepType> {
        templates
            .iter()
            .find(|t| t.job_type == job_type && version.is_none_or(|v| v == t.version))
            .map(|t| t.step_type)
            .or(Some(StepType::Template))
    };
    let results: Vec<FileResult> = args
        .files
        .iter()
        .map(|f| check_file(f, &resolver, args.print_dag))
        .collect();
    let all_valid = results.iter().all(|r| r.valid);
    if args.json {
        let out = serde_json::json!({"valid": all_valid, "files": results});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let mut out = String::new();
        for r in &results {
            render_text(&mut out, r);
        }
        print!("{out}");
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn load_templates(files: &[PathBuf]) -> anyhow::Result<Vec<JobTemplateDefinition>> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("cannot read job template {}: {e}", f.display()))?;
        match parse_document(&text, file_name(f), &dsl::unresolved_as_template) {
            Ok(Document::JobTemplate(t)) => {
                if let Some(def) = t.definition {
                    out.push(def);
                }
            }
            Ok(Document::Workflow(_)) => {
                anyhow::bail!("{} is a workflow, not a job template", f.display())
            }
            Err(e) => anyhow::bail!("{}: {e}", f.display()),
        }
    }
    Ok(out)
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

fn check_file(path: &Path, resolver: &dyn dsl::StepTypeResolver, with_dag: bool) -> FileResult {
    let mut result = FileResult {
        file: path.display().to_string(),
        valid: false,
        kind: None,
        summary: None,
        errors: Vec::new(),
        warnings: Vec::new(),
        dag: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            result.errors.push(FieldError::new(
                JsonPath::root(),
                format!("cannot read the file: {e}"),
            ));
            return result;
        }
    };
    let doc = match parse_document(&text, file_name(path), resolver) {
        Ok(d) => d,
        Err(e) => {
            result.errors = e.field_errors();
            return result;
        }
    };
    let report: Report = match &doc {
        Document::Workflow(req) => {
            result.kind = Some("workflow");
            validate_create_request(req, ValidateOptions::default())
        }
        Document::JobTemplate(t) => {
            result.kind = Some("job_template");
            validate_job_template(t)
        }
    };
    result.errors = report.errors;
    result.warnings = report.warnings;
    result.valid = result.errors.is_empty();
    if !result.valid {
        return result;
    }
    match &doc {
        Document::Workflow(req) => {
            let wf = &req.workflow;
            // Validation has built every level already, so this cannot fail here.
            if let Ok(tree) = DagTree::build(&wf.steps) {
                result.summary = Some(Summary::Workflow {
                    workflow_id: wf.id.clone(),
                    steps: wf.steps.len(),
                    total_steps: tree.total_steps(),
                    dag_depth: tree.dag.depth(),
                });
                if with_dag {
                    result.dag = Some(dag_view(&wf.steps, &tree));
                }
            }
        }
        Document::JobTemplate(t) => {
            if let Some(def) = &t.definition {
                result.summary = Some(Summary::JobTemplate {
                    job_type: def.job_type.clone(),
                    version: def.version.clone(),
                    step_type: def.step_type,
                });
            }
        }
    }
    result
}

fn dag_view(steps: &[Step], tree: &DagTree) -> DagView {
    let dag: &Dag = &tree.dag;
    let steps_view = dag
        .topological_order()
        .iter()
        .map(|&i| {
            let step = &steps[i];
            StepView {
                id: step.id.clone(),
                step_type: step.step_type(),
                level: dag.level(i),
                predecessors: dag
                    .predecessor_ids(i)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                successors: dag
                    .successors(i)
                    .iter()
                    .map(|e| EdgeView {
                        id: dag.id(e.node).to_string(),
                        condition: e.condition.clone(),
                    })
                    .collect(),
                body: match (step.body(), tree.bodies.get(&step.id)) {
                    (Some(body), Some(sub)) => Some(dag_view(body, sub)),
                    _ => None,
                },
            }
        })
        .collect();
    DagView {
        depth: dag.depth(),
        steps: steps_view,
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn render_text(out: &mut String, r: &FileResult) {
    if r.valid {
        let what = match &r.summary {
            Some(Summary::Workflow {
                workflow_id,
                steps,
                total_steps,
                dag_depth,
            }) => {
                let nested = if total_steps > steps {
                    format!(" ({total_steps} with loop bodies)")
                } else {
                    String::new()
                };
                format!(
                    "workflow {workflow_id}, {}{nested}, DAG depth {dag_depth}",
                    plural(*steps, "step")
                )
            }
            Some(Summary::JobTemplate {
                job_type,
                version,
                step_type,
            }) => format!("job template {job_type} {version} ({step_type})"),
            None => "valid".to_string(),
        };
        let _ = writeln!(out, "ok   {}: {what}", r.file);
    } else {
        let _ = writeln!(out, "FAIL {}: {}", r.file, plural(r.errors.len(), "error"));
        for e in &r.errors {
            let _ = writeln!(out, "  {}: {}", e.path, e.message);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "  warning: {}: {}", w.path, w.message);
    }
    if let Some(dag) = &r.dag {
        render_dag(out, dag, 1);
    }
}

fn render_dag(out: &mut String, dag: &DagView, indent: usize) {
    let pad = "  ".repeat(indent);
    for s in &dag.steps {
        let _ = writeln!(out, "{pad}[{}] {} ({})", s.level, s.id, s.step_type);
        for e in &s.successors {
            if e.condition.trim() == "true" {
                let _ = writeln!(out, "{pad}      -> {}", e.id);
            } else {
                let _ = writeln!(out, "{pad}      -> {}  if {}", e.id, e.condition.trim());
            }
        }
        if let Some(body) = &s.body {
            let _ = writeln!(
                out,
                "{pad}    body of {} ({}, depth {}):",
                s.id,
                plural(body.steps.len(), "step"),
                body.depth
            );
            render_dag(out, body, indent + 3);
        }
    }
}
