//! SEL, the sandboxed Java-subset expression language Maestro uses for parameter expressions,
//! transition conditions, loop params and signal matching.
//!
//! It lives in its own crate because it is self-contained (it knows nothing of workflows) and
//! because it runs user-written code inside the server: everything here must be bounded.

mod ast;
pub mod error;
pub mod java;
pub mod joda;
mod lexer;
pub mod limits;
mod parser;

pub use ast::Program;
pub use error::{Error, ExtensionError, ExtensionErrorKind, JavaClass, LimitKind, ParseError};
pub use limits::Limits;
pub use parser::parse;
