//! Maestro's enums read case-insensitively and write one canonical spelling.
//!
//! Maestro's Jackson mapper upper-cases enum input (`"ignore_failure"`, `"lonG"`, `"sequential"` all
//! work) but writes the enum name, or for `StepType` a display string such as `"NoOp"`. Every enum of
//! the model goes through [`maestro_enum!`] so the rule is written once.

/// Declares a fieldless enum whose JSON form is a string: written as the given canonical spelling,
/// read with ASCII case folding. Also generates `ALL`, `as_str`, `Display` and `FromStr`.
#[macro_export]
#[doc(hidden)]
macro_rules! maestro_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling Maestro writes.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses ignoring ASCII case, as Maestro does (`create(String)` upper-cases).
            pub fn parse(text: &str) -> Option<Self> {
                $(
                    if text.eq_ignore_ascii_case($text) {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                names.join(", ")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::enums::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::enums::UnknownVariant {
                    kind: stringify!($name),
                    value: s.to_string(),
                    expected: Self::expected(),
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "one of {}", $name::expected())
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(v).ok_or_else(|| {
                            E::custom(format!(
                                "unknown {} `{}`, expected one of {}",
                                stringify!($name),
                                v,
                                $name::expected()
                            ))
                        })
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

/// A string that names no variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`, expected one of {expected}")]
pub struct UnknownVariant {
    /// The enum's name.
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted spellings.
    pub expected: String,
}

#[cfg(test)]
mod tests {
    maestro_enum! {
        /// A test enum.
        pub enum Color { Red => "RED", DarkBlue => "DarkBlue" }
    }

    #[test]
    fn reads_any_case_and_writes_canonical() {
        let c: Color = serde_json::from_str("\"darkblue\"").unwrap();
        assert_eq!(c, Color::DarkBlue);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"DarkBlue\"");
        let r: Color = serde_json::from_str("\"rEd\"").unwrap();
        assert_eq!(r, Color::Red);
    }

    #[test]
    fn rejects_unknown_with_the_choices() {
        let err = serde_json::from_str::<Color>("\"green\"").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown Color `green`"), "{msg}");
        assert!(msg.contains("RED, DarkBlue"), "{msg}");
        assert_eq!("red".parse::<Color>().unwrap(), Color::Red);
        assert!("x".parse::<Color>().is_err());
    }
}
