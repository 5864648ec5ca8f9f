//! SEL, the sandboxed Java-subset expression language Maestro uses for parameter expressions,
//! transition conditions, loop params and signal matching.
//!
//! It lives in its own crate because it is self-contained (it knows nothing of workflows) and
//! because it runs user-written code inside the server: everything here must be bounded.
//!
//! ```
//! use baton_sel::{Evaluator, Value, parse};
//! let program = parse("x + 1;").unwrap();
//! let result = Evaluator::new().input("x", Value::Long(41)).eval(&program).unwrap();
//! assert_eq!(result, Value::Long(42));
//! ```
//!
//! Parse once ([`parse`] or [`compile`]), evaluate many times ([`Evaluator::eval`]); a
//! [`Program`] is `Send + Sync`. Every evaluation is bounded by [`Limits`].

mod ast;
pub mod cases;
pub mod error;
mod interp;
pub mod java;
pub mod joda;
mod lexer;
pub mod limits;
mod ops;
mod parser;
mod rt;
mod stdlib;
mod validate;
pub mod value;

pub use ast::Program;
pub use error::{Error, ExtensionError, ExtensionErrorKind, JavaClass, LimitKind, ParseError};
pub use joda::{DateTime, Zone};
pub use limits::Limits;
pub use parser::parse;
pub use value::{InputError, Value};

use std::collections::HashMap;

/// The engine's side of `params.*` (§6.17, §7.3): every `params` method other than `get` and
/// `containsKey` (`getFromStep`, `getFromSignal`, `getFromForeach`, `getFromSubworkflow`,
/// `getFromInstance`, `getFromSignalOrDefault`, `getFromSignalDependency`, `nextUniqueId`,
/// `getExecutionEnvironment`, ...). SEL only calls it with 0–3 string arguments, as Maestro's
/// extension contract says; errors surface as [`Error::Extension`].
pub trait ParamsExtension: Send + Sync {
    /// Calls `params.<method>(args...)`.
    fn call(&self, method: &str, args: &[&str]) -> Result<Value, ExtensionError>;
}

/// Maestro's expression sanitizing (§7.1): trims, and appends `;` unless the text is empty,
/// already ends with `;`, or ends with `}` without starting with `{"`.
pub fn sanitize(expr: &str) -> String {
    let e = java::text::trim(expr);
    if e.is_empty() || e.ends_with(';') || (!e.starts_with("{\"") && e.ends_with('}')) {
        e.to_string()
    } else {
        format!("{e};")
    }
}

fn check_length(src: &str, limits: &Limits) -> Result<(), Error> {
    let len = java::text::utf16_len(src) as u64;
    if len >= limits.length {
        return Err(Error::Limit {
            limit: LimitKind::Length,
            message: format!(
                "Expression length is over the limit: {} vs length: {len}",
                limits.length
            ),
        });
    }
    Ok(())
}

/// Parses with the length limit applied first, as the reference does before parsing.
pub fn compile(src: &str, limits: &Limits) -> Result<Program, Error> {
    check_length(src, limits)?;
    Ok(parse(src)?)
}

/// SEL's `validate` (§7.2) with production limits: the sorted names `src` reads (free
/// variables), built-in class names excluded. Maestro sanitizes first; see [`sanitize`].
pub fn referenced_names(src: &str) -> Result<Vec<String>, Error> {
    referenced_names_with_limits(src, &Limits::default())
}

/// [`referenced_names`] with explicit limits (only the length limit applies).
pub fn referenced_names_with_limits(src: &str, limits: &Limits) -> Result<Vec<String>, Error> {
    Ok(compile(src, limits)?.referenced_names())
}

/// How to evaluate: limits, clock, default zone, inputs and the `params` extension.
#[derive(Clone)]
pub struct Evaluator<'a> {
    limits: Limits,
    now_millis: Option<i64>,
    default_zone: Zone,
    inputs: HashMap<String, Value>,
    extension: Option<&'a dyn ParamsExtension>,
}

impl Default for Evaluator<'_> {
    fn default() -> Self {
        Evaluator {
            limits: Limits::default(),
            now_millis: None,
            default_zone: Zone::utc(),
            inputs: HashMap::new(),
            extension: None,
        }
    }
}

impl<'a> Evaluator<'a> {
    /// Production limits, wall clock, UTC, no inputs, no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The current limits.
    pub fn get_limits(&self) -> &Limits {
        &self.limits
    }

    /// Fixes the clock (`new DateTime()`, `System.currentTimeMillis()`, ...).
    pub fn now_millis(mut self, millis: i64) -> Self {
        self.now_millis = Some(millis);
        self
    }

    /// The zone standing for the JVM default zone (Maestro runs in UTC).
    pub fn default_zone(mut self, zone: Zone) -> Self {
        self.default_zone = zone;
        self
    }

    /// The extension behind `params.getFrom...`.
    pub fn extension(mut self, ext: &'a dyn ParamsExtension) -> Self {
        self.extension = Some(ext);
        self
    }

    /// Binds one input (readable by bare name and through `params`).
    pub fn input(mut self, name: impl Into<String>, value: Value) -> Self {
        self.inputs.insert(name.into(), value);
        self
    }

    /// Binds inputs.
    pub fn inputs(mut self, inputs: impl IntoIterator<Item = (String, Value)>) -> Self {
        self.inputs.extend(inputs);
        self
    }

    /// Replaces all inputs.
    pub fn set_inputs(&mut self, inputs: HashMap<String, Value>) {
        self.inputs = inputs;
    }

    /// Evaluates a parsed program. A `throw` is [`Error::Thrown`].
    pub fn eval(&self, program: &Program) -> Result<Value, Error> {
        let env = interp::Env {
            limits: self.limits,
            now_millis: self.now_millis,
            default_zone: self.default_zone.clone(),
            inputs: &self.inputs,
            extension: self.extension,
        };
        let mut it = interp::Interp::new(program, &env);
        let result = it.run()?;
        let obj = result.borrow().clone();
        if let rt::Obj::Error(msg) = &obj {
            return Err(Error::Thrown {
                message: msg.to_string(),
            });
        }
        stdlib::to_value(&obj)
    }

    /// Length check, parse and evaluate.
    pub fn eval_source(&self, src: &str) -> Result<Value, Error> {
        let program = compile(src, &self.limits)?;
        self.eval(&program)
    }
}

/// Convenience: [`Evaluator::eval_source`].
pub fn eval(src: &str, ctx: &Evaluator<'_>) -> Result<Value, Error> {
    ctx.eval_source(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_follows_maestro() {
        assert_eq!(sanitize(" 1 + 1 == 2 "), "1 + 1 == 2;");
        assert_eq!(sanitize("x = 1;"), "x = 1;");
        assert_eq!(sanitize("{ x = 1; }"), "{ x = 1; }");
        assert_eq!(sanitize("{\"a\": 1}"), "{\"a\": 1};");
        assert_eq!(sanitize(""), "");
    }

    #[test]
    fn program_and_extension_are_thread_safe() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<Program>();
        assert_send_sync::<Value>();
        assert_send_sync::<dyn ParamsExtension>();
        assert_send_sync::<Error>();
    }
}
