//! Tags and tag lists: a bare name (`"test"`) or `{name, namespace, permit, …attributes}`.
//!
//! Tags label workflows, steps and params and drive tag-permit concurrency; keys Maestro does not
//! know are kept as attributes, and `permit` is read-only (set by the engine, ignored on input).

use crate::maestro_enum;
use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

maestro_enum! {
    /// Who owns a tag.
    pub enum TagNamespace {
        /// Added by the system.
        System => "SYSTEM",
        /// Added at run time (start request, engine).
        Runtime => "RUNTIME",
        /// From a job template.
        JobTemplate => "JOB_TEMPLATE",
        /// From a notebook template.
        NotebookTemplate => "NOTEBOOK_TEMPLATE",
        /// Set by users.
        UserDefined => "USER_DEFINED",
        /// Added through the workflow tag endpoints.
        Platform => "PLATFORM",
    }
}

/// One tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// The tag name (validated as a Maestro name).
    pub name: String,
    /// Optional namespace.
    pub namespace: Option<TagNamespace>,
    /// Concurrency limit carried on system tags; read-only, never read from input.
    pub permit: Option<i32>,
    /// Any other keys.
    pub attributes: IndexMap<String, Value>,
}

impl Tag {
    /// A tag with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Tag {
            name: name.into(),
            namespace: None,
            permit: None,
            attributes: IndexMap::new(),
        }
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        if let Some(ns) = &self.namespace {
            map.serialize_entry("namespace", ns)?;
        }
        if let Some(p) = &self.permit {
            map.serialize_entry("permit", p)?;
        }
        for (k, v) in &self.attributes {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tag name string or a tag object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag, E> {
                Ok(Tag::new(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tag, A::Error> {
                let mut tag = Tag::new("");
                let mut name = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => name = Some(map.next_value::<String>()?),
                        "namespace" => tag.namespace = map.next_value()?,
                        // Read-only in Maestro: accepted and dropped.
                        "permit" => {
                            let _: Value = map.next_value()?;
                        }
                        _ => {
                            let v: Value = map.next_value()?;
                            tag.attributes.insert(key, v);
                        }
                    }
                }
                tag.name = name.ok_or_else(|| de::Error::missing_field("name"))?;
                Ok(tag)
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of tags; written as a bare JSON array. Duplicate names are a validation error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TagList(pub Vec<Tag>);

impl TagList {
    /// The tags.
    pub fn tags(&self) -> &[Tag] {
        &self.0
    }

    /// True when no tag is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when two tags share a name.
    pub fn contains_duplicate(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        self.0.iter().any(|t| !seen.insert(t.name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_forms_round_trip() {
        let json = r#"[{"name": "tester", "namespace": "system"}, "test", {"name": "foo", "permit": 3, "color": "red"}]"#;
        let list: TagList = serde_json::from_str(json).unwrap();
        assert_eq!(list.0.len(), 3);
        assert_eq!(list.0[0].namespace, Some(TagNamespace::System));
        assert_eq!(list.0[2].permit, None, "permit is read-only");
        assert_eq!(list.0[2].attributes["color"], "red");
        let out = serde_json::to_string(&list).unwrap();
        assert_eq!(
            out,
            r#"[{"name":"tester","namespace":"SYSTEM"},{"name":"test"},{"name":"foo","color":"red"}]"#
        );
        let again: TagList = serde_json::from_str(&out).unwrap();
        assert_eq!(again, list);
    }

    #[test]
    fn detects_duplicates() {
        let list: TagList = serde_json::from_str(r#"["a", {"name": "a"}]"#).unwrap();
        assert!(list.contains_duplicate());
    }

    #[test]
    fn bad_namespace_is_rejected() {
        let err = serde_json::from_str::<Tag>(r#"{"name": "a", "namespace": "nope"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown TagNamespace"));
    }
}
