//! JSON field paths (`workflow.steps[3].step.transition.successors`) and the error type that
//! carries one.
//!
//! Every complaint Baton makes about a definition names the field it is about, whether it comes
//! from parsing (serde) or from validation, so both share [`FieldError`].

use std::fmt;

/// A path to a field in a JSON document, written the way users read it: object keys joined by
/// `.`, array indexes in brackets. The root is the empty path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(String);

impl JsonPath {
    /// The document root.
    pub fn root() -> Self {
        JsonPath(String::new())
    }

    /// Wraps an already formatted path.
    pub fn from_string(s: impl Into<String>) -> Self {
        JsonPath(s.into())
    }

    /// The path of an object member.
    pub fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            JsonPath(key.to_string())
        } else {
            JsonPath(format!("{}.{}", self.0, key))
        }
    }

    /// The path of an array element.
    pub fn index(&self, index: usize) -> Self {
        JsonPath(format!("{}[{}]", self.0, index))
    }

    /// Appends a relative path (`a.b[2]`) to this one.
    pub fn join(&self, relative: &str) -> Self {
        if relative.is_empty() {
            self.clone()
        } else if self.0.is_empty() {
            JsonPath(relative.to_string())
        } else if relative.starts_with('[') {
            JsonPath(format!("{}{}", self.0, relative))
        } else {
            JsonPath(format!("{}.{}", self.0, relative))
        }
    }

    /// The formatted path (empty for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(root)")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// One problem with one field: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct FieldError {
    /// Path of the offending field, e.g. `workflow.steps[3].step.id`.
    pub path: JsonPath,
    /// What is wrong, in words.
    pub message: String,
}

impl FieldError {
    /// A new error at `path`.
    pub fn new(path: JsonPath, message: impl Into<String>) -> Self {
        FieldError {
            path,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl serde::Serialize for JsonPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// How a hand-written deserializer (params, triggers, artifacts) names a field below the value it
/// was given, which serde's path cannot reach: its message starts with ``at `relative`: ``.
/// [`split_sub_path`] takes the relative path out again so the loader can report the full path;
/// anyone using serde directly still reads a sensible message.
const SUB_PATH_START: &str = "at `";
const SUB_PATH_END: &str = "`: ";

/// Builds a serde error for a field `relative` below the value being deserialized.
pub(crate) fn sub_path_error<E: serde::de::Error>(relative: &str, message: impl fmt::Display) -> E {
    if relative.is_empty() {
        return E::custom(message);
    }
    E::custom(format!("{SUB_PATH_START}{relative}{SUB_PATH_END}{message}"))
}

/// Splits a message made by [`sub_path_error`] into its relative path and its text.
pub(crate) fn split_sub_path(message: &str) -> (Option<&str>, &str) {
    if let Some(rest) = message.strip_prefix(SUB_PATH_START)
        && let Some(end) = rest.find(SUB_PATH_END)
    {
        return (Some(&rest[..end]), &rest[end + SUB_PATH_END.len()..]);
    }
    (None, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_readable_paths() {
        let p = JsonPath::root()
            .key("workflow")
            .key("steps")
            .index(3)
            .key("step")
            .key("id");
        assert_eq!(p.as_str(), "workflow.steps[3].step.id");
        assert_eq!(JsonPath::root().to_string(), "(root)");
        assert_eq!(
            JsonPath::root().key("a").join("b[1].c").as_str(),
            "a.b[1].c"
        );
        assert_eq!(JsonPath::root().key("a").join("[2]").as_str(), "a[2]");
    }

    #[test]
    fn sub_path_round_trips_through_a_message() {
        let e: serde_json::Error = sub_path_error("value.b", "bad");
        let text = e.to_string();
        assert_eq!(text, "at `value.b`: bad");
        let (sub, msg) = split_sub_path(&text);
        assert_eq!(sub, Some("value.b"));
        assert_eq!(msg, "bad");
        assert_eq!(split_sub_path("plain"), (None, "plain"));
    }
}
