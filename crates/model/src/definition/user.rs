//! `User`: a bare name (`"tester"`) or an object with a name and any extra keys.
//!
//! Maestro writes a user back as a plain string when it has no extra info, so the common case
//! stays compact; both forms are accepted on input.

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A user (owner, author, caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// Extra keys given in the object form (kept and written back; nulls are dropped).
    pub extra: IndexMap<String, Value>,
}

impl User {
    /// A user with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        User {
            name: name.into(),
            extra: IndexMap::new(),
        }
    }
}

impl From<&str> for User {
    fn from(name: &str) -> Self {
        User::new(name)
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for User {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.extra.is_empty() {
            return s.serialize_str(&self.name);
        }
        let mut map = s.serialize_map(Some(self.extra.len() + 1))?;
        map.serialize_entry("name", &self.name)?;
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for User {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = User;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user name string or an object with a `name`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<User, E> {
                Ok(User::new(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<User, A::Error> {
                let mut name = None;
                let mut extra = IndexMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "name" {
                        name = Some(map.next_value::<String>()?);
                    } else {
                        let v: Value = map.next_value()?;
                        if !v.is_null() {
                            extra.insert(key, v);
                        }
                    }
                }
                let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
                Ok(User { name, extra })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_object_forms() {
        let u: User = serde_json::from_str("\"tester\"").unwrap();
        assert_eq!(u, User::new("tester"));
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"tester\"");

        let u: User =
            serde_json::from_str(r#"{"name": "demo", "team": "x", "gone": null}"#).unwrap();
        assert_eq!(u.name, "demo");
        assert_eq!(u.extra.len(), 1);
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"name":"demo","team":"x"}"#
        );
    }

    #[test]
    fn object_without_name_is_rejected() {
        assert!(serde_json::from_str::<User>(r#"{"team": "x"}"#).is_err());
        assert!(serde_json::from_str::<User>("12").is_err());
    }
}
