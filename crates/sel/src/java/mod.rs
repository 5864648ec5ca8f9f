//! Emulations of the Java library behaviour SEL exposes: number/text conversions, `String`
//! semantics (UTF-16, `hashCode`, `HashMap` order), `String.format` and `java.util.regex`.

pub mod format;
pub mod number;
pub mod regex;
pub mod text;
