//! Reading definition files: JSON or YAML (detected), workflows or job templates, with every
//! parse problem named by its path.
//!
//! Serde stops at the first problem. To report more than one, a field that fails to parse is
//! removed from the document and parsing is tried again, up to a limit; the follow-up "missing
//! field" error a removal can cause is not reported twice. Elements of arrays are not removed
//! (that would shift the paths of the ones after them), so an error there ends the collection.

use crate::definition::{JobTemplateCreateRequest, WorkflowCreateRequest};
use crate::dsl::{self, StepTypeResolver};
use crate::path::{FieldError, JsonPath, split_sub_path};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;

/// Most parse errors collected from one document.
const MAX_PARSE_ERRORS: usize = 50;

/// The syntax a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (a create request or a job template).
    Json,
    /// YAML (the DSL, or a job template).
    Yaml,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}

impl Format {
    /// Picks the format from a file name's extension, else from the first non-blank character
    /// (`{` or `[` is JSON).
    pub fn detect(text: &str, file_name: Option<&str>) -> Format {
        if let Some(name) = file_name {
            let lower = name.to_ascii_lowercase();
            if lower.ends_with(".json") {
                return Format::Json;
            }
            if lower.ends_with(".yaml") || lower.ends_with(".yml") {
                return Format::Yaml;
            }
        }
        match text.trim_start().chars().next() {
            Some('{') | Some('[') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// A definition file's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A workflow (from JSON, or converted from the YAML DSL).
    Workflow(Box<WorkflowCreateRequest>),
    /// A job template.
    JobTemplate(Box<JobTemplateCreateRequest>),
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// Not well-formed JSON or YAML.
    #[error("not valid {format}: {message}")]
    Syntax {
        /// The format tried.
        format: Format,
        /// The parser's message (with line and column).
        message: String,
    },
    /// Well-formed, but fields are missing, unknown or of the wrong type.
    #[error("{} problem(s), first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Invalid(Vec<FieldError>),
}

impl LoadError {
    /// The field errors (one pseudo-error at the root for a syntax error).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            LoadError::Syntax { format, message } => vec![FieldError::new(
                JsonPath::root(),
                format!("not valid {format}: {message}"),
            )],
            LoadError::Invalid(errors) => errors.clone(),
        }
    }
}

/// Reads text into a JSON value.
pub fn read_value(text: &str, format: Format) -> Result<Value, LoadError> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| LoadError::Syntax {
            format,
            message: e.to_string(),
        }),
        Format::Yaml => serde_yaml_ng::from_str(text).map_err(|e| LoadError::Syntax {
            format,
            message: e.to_string(),
        }),
    }
}

/// Reads a workflow or job template. YAML workflows go through the DSL, resolving job types
/// with `resolver`.
pub fn parse_document(
    text: &str,
    file_name: Option<&str>,
    resolver: &dyn StepTypeResolver,
) -> Result<Document, LoadError> {
    let format = Format::detect(text, file_name);
    let value = read_value(text, format)?;
    let is_template = value
        .as_object()
        .is_some_and(|o| o.contains_key("definition") && !o.contains_key("workflow"));
    if is_template {
        return from_value(value)
            .map(|t| Document::JobTemplate(Box::new(t)))
            .map_err(LoadError::Invalid);
    }
    if format == Format::Yaml && dsl::is_dsl(&value) {
        return dsl::convert(&value, resolver)
            .map(|w| Document::Workflow(Box::new(w)))
            .map_err(LoadError::Invalid);
    }
    from_value(value)
        .map(|w| Document::Workflow(Box::new(w)))
        .map_err(LoadError::Invalid)
}

/// Reads a workflow definition (JSON create request or YAML DSL). Job types the DSL does not
/// know become `template` steps that keep their `sub_type` (see
/// [`dsl::unresolved_as_template`]).
pub fn parse_definition(
    text: &str,
    file_name: Option<&str>,
) -> Result<WorkflowCreateRequest, LoadError> {
    match parse_document(text, file_name, &dsl::unresolved_as_template)? {
        Document::Workflow(w) => Ok(*w),
        Document::JobTemplate(_) => Err(LoadError::Invalid(vec![FieldError::new(
            JsonPath::root(),
            "this is a job template, not a workflow definition",
        )])),
    }
}

/// Deserializes a value, collecting up to [`MAX_PARSE_ERRORS`] errors with their paths.
pub fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut removed: HashSet<String> = HashSet::new();
    while errors.len() < MAX_PARSE_ERRORS {
        let e = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => return Err(errors),
            Err(e) => e,
        };
        let segments: Vec<Segment> = e
            .path()
            .iter()
            .map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Segment::Index(*index),
                serde_path_to_error::Segment::Map { key } => Segment::Key(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Segment::Key(variant.clone()),
                serde_path_to_error::Segment::Unknown => Segment::Unknown,
            })
            .collect();
        let base = path_of(&segments);
        let text = e.inner().to_string();
        let (sub, message) = split_sub_path(&text);
        let (path, message) = match (sub, missing_field(message)) {
            (Some(sub), _) => (base.join(sub), message.to_string()),
            (None, Some(field)) => (base.key(field), "is required".to_string()),
            (None, None) => (base.clone(), message.to_string()),
        };
        if removed.contains(path.as_str()) {
            // The follow-up of a removal: the real problem is reported already.
            return Err(errors);
        }
        let err = FieldError::new(path.clone(), message);
        if errors.contains(&err) {
            return Err(errors);
        }
        errors.push(err);
        if missing_field(&text).is_some() || !remove(&mut value, &segments) {
            return Err(errors);
        }
        removed.insert(base.as_str().to_string());
    }
    Err(errors)
}

enum Segment {
    Key(String),
    Index(usize),
    Unknown,
}

fn path_of(segments: &[Segment]) -> JsonPath {
    segments.iter().fold(JsonPath::root(), |p, s| match s {
        Segment::Key(k) => p.key(k),
        Segment::Index(i) => p.index(*i),
        Segment::Unknown => p.key("?"),
    })
}

/// `missing field `x`` → `x`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
}

/// Removes the object member at `segments`; false when the path does not end in an object key.
fn remove(value: &mut Value, segments: &[Segment]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let Segment::Key(key) = last else {
        return false;
    };
    let mut cur = value;
    for s in parents {
        cur = match (s, cur) {
            (Segment::Key(k), Value::Object(o)) => match o.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match cur {
        Value::Object(o) => o.shift_remove(key).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::StepType;

    #[test]
    fn detects_format() {
        assert_eq!(Format::detect("{}", Some("x.YAML")), Format::Yaml);
        assert_eq!(Format::detect("a: 1", Some("x.json")), Format::Json);
        assert_eq!(Format::detect("  {\"a\": 1}", None), Format::Json);
        assert_eq!(Format::detect("Workflow:\n  id: x", None), Format::Yaml);
    }

    #[test]
    fn reports_several_parse_errors_with_paths() {
        let text = r#"{"properties": {"owner": "t", "run_strategy": "sometimes"},
            "workflow": {"id": "w", "colour": "red", "steps": [
              {"step": {"id": "a", "type": "NoOp", "retry": 1, "timeout": -5}},
              {"step": {"id": "b", "type": "NoOp", "params": {"p": {"value": "x", "type": "LONG"}}}}]}}"#;
        let err = parse_definition(text, None).unwrap_err();
        let LoadError::Invalid(errors) = err else {
            panic!("{err:?}")
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "properties.run_strategy",
                "workflow.colour",
                "workflow.steps[0].step.retry",
                "workflow.steps[0].step.timeout",
                "workflow.steps[1].step.params.p.value",
            ],
            "{errors:#?}"
        );
        assert!(errors[1].message.contains("unknown field `colour`"));
        assert!(errors[3].message.contains("non-negative"));
    }

    #[test]
    fn missing_required_field_names_it() {
        let err = parse_definition(r#"{"properties": {}}"#, None).unwrap_err();
        assert_eq!(
            err.field_errors(),
            [FieldError::new(
                JsonPath::from_string("workflow"),
                "is required"
            )]
        );
        let err = parse_definition(
            r#"{"workflow": {"id": "w", "steps": [{"step": {"id": "a", "type": 5}}]}}"#,
            None,
        )
        .unwrap_err();
        let errors = err.field_errors();
        assert_eq!(
            errors.len(),
            1,
            "no follow-up `missing field` error: {errors:?}"
        );
        assert_eq!(errors[0].path.as_str(), "workflow.steps[0].step.type");
    }

    #[test]
    fn syntax_errors() {
        assert!(matches!(
            parse_definition("{\"workflow\": ", Some("a.json")),
            Err(LoadError::Syntax {
                format: Format::Json,
                ..
            })
        ));
        assert!(matches!(
            parse_definition("a: [", Some("a.yaml")),
            Err(LoadError::Syntax {
                format: Format::Yaml,
                ..
            })
        ));
    }

    #[test]
    fn yaml_dsl_and_templates() {
        let text = "Workflow:\n  id: w\n  owner: me\n  jobs:\n    - job:\n        id: a\n        type: spark\n";
        let w = parse_definition(text, None).unwrap();
        assert_eq!(w.workflow.steps[0].step_type(), StepType::Template);
        let text = "owner: me\nstatus: s\nsupport: t\ndefinition:\n  job_type: shell\n  step_type: notebook\n  version: v1\n";
        assert!(matches!(
            parse_document(text, None, &dsl::unresolved_as_template),
            Ok(Document::JobTemplate(_))
        ));
        assert!(parse_definition(text, None).is_err());
    }
}
