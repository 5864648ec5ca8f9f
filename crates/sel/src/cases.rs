//! Running one compatibility-corpus case (the JSON format of sel.md §10: `expr`, `params`,
//! `limits`, `now_millis`, `default_tz`, `ext`, `op`) and rendering its outcome as one JSON
//! object: `{"type": "LONG", "value": 2}` or `{"error": "message", ...}`. Shared by the corpus
//! test and `baton sel batch`, so both read cases the same way.

use crate::{Error, Evaluator, ExtensionError, Limits, ParamsExtension, Value, Zone};
use serde_json::{Map, Value as Json, json};
use std::collections::HashMap;

/// A `params` extension answering from a fixed table keyed `"method(arg1,arg2)"`, as the
/// corpus's `ext` field describes its mock; calls not in the table fail.
#[derive(Debug, Clone, Default)]
pub struct TableExtension {
    table: HashMap<String, Value>,
}

impl TableExtension {
    /// Builds the table from the corpus's JSON object.
    pub fn from_json(ext: &Map<String, Json>) -> Result<Self, crate::InputError> {
        let mut table = HashMap::new();
        for (k, v) in ext {
            table.insert(k.clone(), Value::from_json(v)?);
        }
        Ok(TableExtension { table })
    }
}

impl ParamsExtension for TableExtension {
    fn call(&self, method: &str, args: &[&str]) -> Result<Value, ExtensionError> {
        let key = format!("{method}({})", args.join(","));
        self.table
            .get(&key)
            .cloned()
            .ok_or_else(|| ExtensionError::unsupported(format!("mock ext has no {key}")))
    }
}

/// Limits from the corpus's `limits` object (missing keys keep production values).
pub fn limits_from_json(limits: Option<&Json>) -> Limits {
    let mut l = Limits::default();
    if let Some(Json::Object(m)) = limits {
        let get = |k: &str| m.get(k).and_then(Json::as_u64);
        if let Some(v) = get("stack_limit") {
            l.stack = v;
        }
        if let Some(v) = get("loop_limit") {
            l.loop_ = v;
        }
        if let Some(v) = get("array_limit") {
            l.array = v;
        }
        if let Some(v) = get("length_limit") {
            l.length = v;
        }
        if let Some(v) = get("visit_limit") {
            l.visit = v;
        }
        if let Some(v) = get("memory_limit") {
            l.memory = v;
        }
        if let Some(v) = get("time_limit_ms") {
            l.time = Some(std::time::Duration::from_millis(v));
        }
    }
    l
}

/// The outcome of one case.
pub enum Outcome {
    /// An evaluation result.
    Value(Value),
    /// A `validate` result (sorted names).
    Names(Vec<String>),
    /// A failure.
    Error(Error),
}

impl Outcome {
    /// The JSON line `baton sel` prints.
    pub fn to_json(&self) -> Json {
        match self {
            Outcome::Value(v) => json!({"type": v.type_name(), "value": v.to_json()}),
            Outcome::Names(n) => json!({"type": "VALIDATE", "value": n}),
            Outcome::Error(e) => error_json(e),
        }
    }
}

/// `{"error": message, "kind": ..., "class": ...}` (and `"thrown"` for a user `throw`).
pub fn error_json(e: &Error) -> Json {
    let mut m = Map::new();
    m.insert("error".into(), Json::String(e.to_string()));
    m.insert("kind".into(), Json::String(e.kind().into()));
    if let Some(class) = e.java_class() {
        m.insert("class".into(), Json::String(class.name().into()));
    }
    if let Error::Thrown { message } = e {
        m.insert("type".into(), Json::String("ERROR".into()));
        m.insert("thrown".into(), Json::String(message.clone()));
    }
    if let Error::Parse(p) = e {
        m.insert("line".into(), json!(p.line));
        m.insert("column".into(), json!(p.column));
    }
    Json::Object(m)
}

/// Runs one case object. Malformed cases (bad `params`, unknown zone) are errors too.
pub fn run_case(case: &Json) -> Outcome {
    match run(case) {
        Ok(o) => o,
        Err(e) => Outcome::Error(e),
    }
}

fn bad_case(message: String) -> Error {
    Error::runtime(crate::JavaClass::IllegalArgumentException, message)
}

fn run(case: &Json) -> Result<Outcome, Error> {
    let expr = case
        .get("expr")
        .and_then(Json::as_str)
        .ok_or_else(|| bad_case("case has no \"expr\" string".into()))?;
    let limits = limits_from_json(case.get("limits"));
    if case.get("op").and_then(Json::as_str) == Some("validate") {
        return Ok(Outcome::Names(crate::referenced_names_with_limits(
            expr, &limits,
        )?));
    }
    let ext = match case.get("ext") {
        Some(Json::Object(m)) => {
            Some(TableExtension::from_json(m).map_err(|e| bad_case(e.to_string()))?)
        }
        _ => None,
    };
    let mut ev = Evaluator::new().limits(limits);
    if let Some(now) = case.get("now_millis").and_then(Json::as_i64) {
        ev = ev.now_millis(now);
    }
    if let Some(tz) = case.get("default_tz").and_then(Json::as_str) {
        ev = ev.default_zone(Zone::for_id(tz).map_err(bad_case)?);
    }
    if let Some(Json::Object(params)) = case.get("params") {
        for (k, v) in params {
            ev = ev.input(
                k.clone(),
                Value::from_json(v).map_err(|e| bad_case(e.to_string()))?,
            );
        }
    }
    if let Some(ext) = &ext {
        ev = ev.extension(ext);
    }
    Ok(match ev.eval_source(expr) {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error(e),
    })
}
