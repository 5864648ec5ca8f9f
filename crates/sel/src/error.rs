//! The one error type of the crate. SEL failures fall into a few classes that callers treat
//! differently (Maestro turns a user `throw` into a user-facing failure, a timeout into an
//! internal error, ...), so the variants say which class a failure is; the Java exception class
//! the reference would have raised is kept as well, because the compatibility corpus records it.

use std::fmt;

/// The Java exception class the reference implementation raises for a failure. Kept so that
/// tests can check that a program fails the same way, and so that messages can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JavaClass {
    /// A syntax error (`ParseException`).
    ParseException,
    /// A lexical error (`TokenMgrError`).
    TokenMgrError,
    /// `NumberFormatException` (bad numeric text).
    NumberFormatException,
    /// `IllegalArgumentException` (type mismatch, bad arguments, ...).
    IllegalArgumentException,
    /// Joda's `IllegalFieldValueException` (a date field out of range).
    IllegalFieldValueException,
    /// Joda's `IllegalInstantException` (a local time inside a DST gap).
    IllegalInstantException,
    /// `UnsupportedOperationException` (unknown method, field, operator or class).
    UnsupportedOperationException,
    /// `ClassCastException` (an argument or operand of the wrong type).
    ClassCastException,
    /// `ArrayIndexOutOfBoundsException`.
    ArrayIndexOutOfBoundsException,
    /// `StringIndexOutOfBoundsException`.
    StringIndexOutOfBoundsException,
    /// `NegativeArraySizeException`.
    NegativeArraySizeException,
    /// `ArithmeticException` (integer division by zero).
    ArithmeticException,
    /// `NullPointerException` (using an uninitialised object).
    NullPointerException,
    /// `IllegalStateException` (loop, visit and memory limits).
    IllegalStateException,
    /// `RuntimeException` (interpreter-level inconsistencies).
    RuntimeException,
    /// `TimeoutException` (the wall-clock limit).
    TimeoutException,
}

impl JavaClass {
    /// The simple class name, as the corpus writes it.
    pub fn name(self) -> &'static str {
        match self {
            JavaClass::ParseException => "ParseException",
            JavaClass::TokenMgrError => "TokenMgrError",
            JavaClass::NumberFormatException => "NumberFormatException",
            JavaClass::IllegalArgumentException => "IllegalArgumentException",
            JavaClass::IllegalFieldValueException => "IllegalFieldValueException",
            JavaClass::IllegalInstantException => "IllegalInstantException",
            JavaClass::UnsupportedOperationException => "UnsupportedOperationException",
            JavaClass::ClassCastException => "ClassCastException",
            JavaClass::ArrayIndexOutOfBoundsException => "ArrayIndexOutOfBoundsException",
            JavaClass::StringIndexOutOfBoundsException => "StringIndexOutOfBoundsException",
            JavaClass::NegativeArraySizeException => "NegativeArraySizeException",
            JavaClass::ArithmeticException => "ArithmeticException",
            JavaClass::NullPointerException => "NullPointerException",
            JavaClass::IllegalStateException => "IllegalStateException",
            JavaClass::RuntimeException => "RuntimeException",
            JavaClass::TimeoutException => "TimeoutException",
        }
    }

    /// Whether an exception of this class would be caught as `expected` in Java (the class
    /// itself or one of its superclasses).
    pub fn is_a(self, expected: &str) -> bool {
        if self.name() == expected {
            return true;
        }
        let parents: &[&str] = match self {
            JavaClass::NumberFormatException
            | JavaClass::IllegalFieldValueException
            | JavaClass::IllegalInstantException => {
                &["IllegalArgumentException", "RuntimeException"]
            }
            JavaClass::ArrayIndexOutOfBoundsException
            | JavaClass::StringIndexOutOfBoundsException => {
                &["IndexOutOfBoundsException", "RuntimeException"]
            }
            JavaClass::TokenMgrError | JavaClass::TimeoutException | JavaClass::ParseException => {
                &[]
            }
            JavaClass::RuntimeException => &[],
            _ => &["RuntimeException"],
        };
        parents.contains(&expected)
    }
}

impl fmt::Display for JavaClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A sandbox limit (§8.1 of the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// Source length in UTF-16 units.
    Length,
    /// Operand-stack depth.
    Stack,
    /// Iterations of one loop execution.
    Loop,
    /// Size of a new array.
    Array,
    /// AST nodes visited.
    Visit,
    /// Bytes allocated by the evaluation.
    Memory,
}

impl LimitKind {
    /// The limit's name as the CLI and corpus write it (`loop_limit`, ...).
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::Length => "length_limit",
            LimitKind::Stack => "stack_limit",
            LimitKind::Loop => "loop_limit",
            LimitKind::Array => "array_limit",
            LimitKind::Visit => "visit_limit",
            LimitKind::Memory => "memory_limit",
        }
    }
}

/// A syntax or lexical error, with the position (1-based line and column, columns counted in
/// characters) and what the parser expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What was found (a token image or `<EOF>`).
    pub found: String,
    /// What would have been accepted instead (empty for lexical errors).
    pub expected: Vec<String>,
    /// The reference's exception class: `ParseException`, `TokenMgrError`, or the
    /// `NumberFormatException`/`IllegalArgumentException` a bad literal raises while parsing.
    pub class: JavaClass,
    /// The full human-readable message.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// How a `params` extension call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionErrorKind {
    /// The method or its arguments are not supported (a user error).
    Unsupported,
    /// The lookup itself failed (an internal error on the engine side).
    Failed,
}

/// An error returned by a [`crate::ParamsExtension`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExtensionError {
    /// Which kind of failure.
    pub kind: ExtensionErrorKind,
    /// What went wrong.
    pub message: String,
}

impl ExtensionError {
    /// The method (or its arguments) is not supported.
    pub fn unsupported(message: impl Into<String>) -> Self {
        ExtensionError {
            kind: ExtensionErrorKind::Unsupported,
            message: message.into(),
        }
    }

    /// The lookup failed.
    pub fn failed(message: impl Into<String>) -> Self {
        ExtensionError {
            kind: ExtensionErrorKind::Failed,
            message: message.into(),
        }
    }
}

/// Every way an SEL parse or evaluation can fail.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The source does not parse.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// A run-time failure: type mismatch, unsupported operation, bad argument, ...
    #[error("{class}: {message}")]
    Runtime {
        /// The Java exception class the reference raises.
        class: JavaClass,
        /// What went wrong.
        message: String,
    },
    /// A sandbox limit was exceeded.
    #[error("{message}")]
    Limit {
        /// Which limit.
        limit: LimitKind,
        /// The reference's message.
        message: String,
    },
    /// The wall-clock time limit ran out.
    #[error("SEL evaluation timed out after {millis} ms")]
    Timeout {
        /// The limit in milliseconds.
        millis: u64,
    },
    /// The program ran `throw 'message';`.
    #[error("ERROR: {message}")]
    Thrown {
        /// The thrown message.
        message: String,
    },
    /// A `params` extension call failed.
    #[error("{0}")]
    Extension(ExtensionError),
}

impl Error {
    /// A run-time error of the given class.
    pub fn runtime(class: JavaClass, message: impl Into<String>) -> Self {
        Error::Runtime {
            class,
            message: message.into(),
        }
    }

    /// The Java exception class the reference would raise for this failure (`None` for a user
    /// `throw`, which is a value there, not an exception).
    pub fn java_class(&self) -> Option<JavaClass> {
        match self {
            Error::Parse(p) => Some(p.class),
            Error::Runtime { class, .. } => Some(*class),
            Error::Limit { limit, .. } => Some(match limit {
                LimitKind::Length | LimitKind::Array => JavaClass::IllegalArgumentException,
                LimitKind::Stack => JavaClass::ArrayIndexOutOfBoundsException,
                LimitKind::Loop | LimitKind::Visit | LimitKind::Memory => {
                    JavaClass::IllegalStateException
                }
            }),
            Error::Timeout { .. } => Some(JavaClass::TimeoutException),
            Error::Thrown { .. } => None,
            Error::Extension(e) => Some(match e.kind {
                ExtensionErrorKind::Unsupported => JavaClass::UnsupportedOperationException,
                ExtensionErrorKind::Failed => JavaClass::RuntimeException,
            }),
        }
    }

    /// A short category name: `parse`, `runtime`, `limit`, `timeout`, `thrown` or `extension`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse(_) => "parse",
            Error::Runtime { .. } => "runtime",
            Error::Limit { .. } => "limit",
            Error::Timeout { .. } => "timeout",
            Error::Thrown { .. } => "thrown",
            Error::Extension(_) => "extension",
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an `UnsupportedOperationException`.
pub(crate) fn unsupported(message: impl Into<String>) -> Error {
    Error::runtime(JavaClass::UnsupportedOperationException, message)
}

/// Builds an `IllegalArgumentException`.
pub(crate) fn illegal_arg(message: impl Into<String>) -> Error {
    Error::runtime(JavaClass::IllegalArgumentException, message)
}

/// Builds a `ClassCastException`.
pub(crate) fn class_cast(message: impl Into<String>) -> Error {
    Error::runtime(JavaClass::ClassCastException, message)
}

/// Builds a `NullPointerException`.
pub(crate) fn null_pointer(message: impl Into<String>) -> Error {
    Error::runtime(JavaClass::NullPointerException, message)
}

/// Builds a `NumberFormatException` with Java's message shape.
pub(crate) fn number_format(input: &str) -> Error {
    Error::runtime(
        JavaClass::NumberFormatException,
        format!("For input string: \"{input}\""),
    )
}
