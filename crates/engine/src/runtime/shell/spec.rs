//! Reads what a Shell step asked for from its evaluated `shell` MAP param.
//!
//! The params module has already evaluated (and interpolated) the param, so the values here are
//! final: this module only checks their shape and fills the defaults, so that a broken
//! definition fails the step with a message naming the entry instead of launching something odd.

use baton_model::params::{EvaluatedValue, Parameter};
use indexmap::IndexMap;
use serde_json::Value;

use crate::params::Params;

/// The interpreter used when `shell.interpreter` is absent.
pub const DEFAULT_INTERPRETER: &str = "bash";

/// A Shell step's launch request, checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ShellSpec {
    /// The script text, written to a file and passed to the interpreter.
    pub script: String,
    /// `shell.interpreter` as written (for the artifact).
    pub interpreter: String,
    /// The interpreter split on whitespace: the program, then its own leading arguments
    /// (`bash -eu` runs `bash -eu <script>`).
    pub interpreter_argv: Vec<String>,
    /// `shell.env`, added to the process environment.
    pub env: IndexMap<String, String>,
    /// `shell.args` (Baton extension): positional arguments after the script path, so a
    /// Kubernetes `sh -c '<script>' sh <arg>…` command becomes `{script, args}` unchanged.
    pub args: Vec<String>,
}

/// Why the `shell` param cannot be launched. Each names the entry at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShellSpecError {
    /// No `shell` param at all.
    #[error("a Shell step needs a `shell` MAP param with a `script` entry")]
    MissingParam,
    /// The param was not evaluated (the engine should never hand that over).
    #[error("the `shell` param has not been evaluated")]
    NotEvaluated,
    /// The param is not a map.
    #[error("the `shell` param must be a MAP, not {0}")]
    NotAMap(String),
    /// No `script` entry.
    #[error("[script] is a required entry of the `shell` param")]
    MissingScript,
    /// An entry of the wrong kind.
    #[error("`shell.{key}` must be {expected}, not {found}")]
    WrongType {
        /// The entry.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// `interpreter` is blank.
    #[error("`shell.interpreter` is empty")]
    EmptyInterpreter,
    /// An env name the OS cannot carry.
    #[error(
        "`shell.env` has an invalid variable name {0:?} (it must be non-empty and hold no `=` or NUL)"
    )]
    BadEnvName(String),
    /// A NUL byte, which no argument or env value can carry.
    #[error("`shell.{0}` contains a NUL character")]
    Nul(&'static str),
}

impl ShellSpec {
    /// Reads the `shell` param of a step.
    pub fn from_params(params: &Params) -> Result<ShellSpec, ShellSpecError> {
        let param = params.get("shell").ok_or(ShellSpecError::MissingParam)?;
        let entries = entries(param)?;
        let script = match entries.get("script") {
            None | Some(Value::Null) => return Err(ShellSpecError::MissingScript),
            Some(v) => scalar_text(v).ok_or(ShellSpecError::WrongType {
                key: "script",
                expected: "a STRING",
                found: kind(v),
            })?,
        };
        let interpreter = match entries.get("interpreter") {
            None | Some(Value::Null) => DEFAULT_INTERPRETER.to_string(),
            Some(v) => scalar_text(v).ok_or(ShellSpecError::WrongType {
                key: "interpreter",
                expected: "a STRING",
                found: kind(v),
            })?,
        };
        let interpreter_argv: Vec<String> =
            interpreter.split_whitespace().map(str::to_string).collect();
        if interpreter_argv.is_empty() {
            return Err(ShellSpecError::EmptyInterpreter);
        }
        let env = match entries.get("env") {
            None | Some(Value::Null) => IndexMap::new(),
            Some(Value::Object(map)) => {
                let mut env = IndexMap::with_capacity(map.len());
                for (name, value) in map {
                    if name.is_empty() || name.contains('=') || name.contains('\0') {
                        return Err(ShellSpecError::BadEnvName(name.clone()));
                    }
                    let text = scalar_text(value).ok_or(ShellSpecError::WrongType {
                        key: "env",
                        expected: "a STRING_MAP",
                        found: "a map with a non-string value",
                    })?;
                    env.insert(name.clone(), text);
                }
                env
            }
            Some(v) => {
                return Err(ShellSpecError::WrongType {
                    key: "env",
                    expected: "a STRING_MAP",
                    found: kind(v),
                });
            }
        };
        let args = match entries.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    scalar_text(v).ok_or(ShellSpecError::WrongType {
                        key: "args",
                        expected: "a STRING_ARRAY",
                        found: "an array with a non-string item",
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return Err(ShellSpecError::WrongType {
                    key: "args",
                    expected: "a STRING_ARRAY",
                    found: kind(v),
                });
            }
        };
        if interpreter.contains('\0') {
            return Err(ShellSpecError::Nul("interpreter"));
        }
        if env.values().any(|v| v.contains('\0')) {
            return Err(ShellSpecError::Nul("env"));
        }
        if args.iter().any(|a| a.contains('\0')) {
            return Err(ShellSpecError::Nul("args"));
        }
        Ok(ShellSpec {
            script,
            interpreter,
            interpreter_argv,
            env,
            args,
        })
    }
}

/// The entries of the `shell` param as plain JSON (a STRING_MAP is accepted too: it can carry
/// `script` and `interpreter`).
fn entries(param: &Parameter) -> Result<IndexMap<String, Value>, ShellSpecError> {
    match &param.evaluated_result {
        None => Err(ShellSpecError::NotEvaluated),
        Some(EvaluatedValue::Map(m)) => Ok(m.clone()),
        Some(EvaluatedValue::StringMap(m)) => Ok(m
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()),
        Some(other) => Err(ShellSpecError::NotAMap(other.param_type().to_string())),
    }
}

/// Text of a scalar, as Maestro's STRING coercion gives it (numbers and booleans as written).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(shell: Value) -> Params {
        let p: Parameter = serde_json::from_value(json!({
            "type": "MAP", "value": {}, "evaluated_result": shell, "evaluated_time": 1
        }))
        .unwrap();
        [("shell".to_string(), p)].into_iter().collect()
    }

    #[test]
    fn defaults_and_entries() {
        let s = ShellSpec::from_params(&params(json!({"script": "echo hi"}))).unwrap();
        assert_eq!(s.script, "echo hi");
        assert_eq!(s.interpreter_argv, vec!["bash"]);
        assert!(s.env.is_empty() && s.args.is_empty());

        let s =
            ShellSpec::from_params(&params(json!({"script": "x", "interpreter": " bash  -eu ",
            "env": {"A": "1", "B": 2}, "args": ["a", 1]})))
            .unwrap();
        assert_eq!(s.interpreter_argv, vec!["bash", "-eu"]);
        assert_eq!(s.env["B"], "2");
        assert_eq!(s.args, vec!["a", "1"]);
    }

    #[test]
    fn errors_name_the_entry() {
        let none: Params = IndexMap::new();
        assert_eq!(
            ShellSpec::from_params(&none),
            Err(ShellSpecError::MissingParam)
        );
        let cases = [
            (json!({"interpreter": "sh"}), "[script] is a required entry"),
            (
                json!({"script": {"a": 1}}),
                "`shell.script` must be a STRING",
            ),
            (json!({"script": "x", "interpreter": "  "}), "is empty"),
            (
                json!({"script": "x", "env": {"A=B": "1"}}),
                "invalid variable name",
            ),
            (json!({"script": "x", "env": ["a"]}), "`shell.env` must be"),
            (json!({"script": "x", "args": "a"}), "`shell.args` must be"),
            (json!({"script": "x", "args": ["a\u{0}"]}), "NUL"),
        ];
        for (shell, want) in cases {
            let err = ShellSpec::from_params(&params(shell.clone()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{shell}: {err}");
        }
        let p: Parameter = serde_json::from_value(
            json!({"type": "STRING", "value": "x", "evaluated_result": "x", "evaluated_time": 1}),
        )
        .unwrap();
        let ps: Params = [("shell".to_string(), p)].into_iter().collect();
        assert!(
            ShellSpec::from_params(&ps)
                .unwrap_err()
                .to_string()
                .contains("must be a MAP, not STRING")
        );
    }
}
