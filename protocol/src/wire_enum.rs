//! One spelling per wire name: an enum whose variants' wire strings are written once, beside the
//! variants, with `as_str`, `Display`, `FromStr` and serde both ways generated from that one list.

/// A text that is no wire name of the enum `kind`, which has the names `expected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub kind: &'static str,
    pub text: String,
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown {} {:?}; expected one of {:?}",
            self.kind, self.text, self.expected
        )
    }
}

impl std::error::Error for UnknownName {}

/// Declares a fieldless enum with the wire string of each variant:
///
/// ```ignore
/// wire_enum! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Outcome { Ok = "ok", Refused = "refused" }
/// }
/// ```
///
/// It gets `as_str` (the wire string), `from_wire`, `ALL`, `NAMES`, `Display`, `FromStr` (any other
/// text is an [`UnknownName`]), `Serialize` (the string) and `Deserialize` (one of the strings, else
/// serde's "unknown variant" error).
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every wire name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The name as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }

            /// The variant spelled `wire` on the wire, if any.
            pub fn from_wire(wire: &str) -> Option<Self> {
                match wire {
                    $( $wire => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownName;

            fn from_str(text: &str) -> Result<Self, $crate::UnknownName> {
                Self::from_wire(text).ok_or_else(|| $crate::UnknownName {
                    kind: stringify!($name),
                    text: text.to_owned(),
                    expected: Self::NAMES,
                })
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as $crate::__serde::Deserialize>::deserialize(deserializer)?;
                Self::from_wire(&text).ok_or_else(|| {
                    <D::Error as $crate::__serde::de::Error>::unknown_variant(&text, &[$($wire),+])
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    wire_enum! {
        /// A sample.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Sample {
            /// The first.
            NotReadOnly = "not_read_only",
            Ok = "ok",
        }
    }

    #[test]
    fn every_variant_round_trips_through_its_one_spelling() {
        for sample in Sample::ALL {
            let json = serde_json::to_string(sample).unwrap();
            assert_eq!(json, format!("\"{}\"", sample.as_str()));
            assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), *sample);
            assert_eq!(sample.as_str().parse::<Sample>().unwrap(), *sample);
            assert_eq!(sample.to_string(), sample.as_str());
        }
        assert_eq!(Sample::NotReadOnly.as_str(), "not_read_only");
        assert_eq!(Sample::NAMES, ["not_read_only", "ok"]);
    }

    #[test]
    fn an_unknown_spelling_is_refused_with_the_known_ones() {
        let err = serde_json::from_str::<Sample>("\"NotReadOnly\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
        assert!(err.to_string().contains("not_read_only"), "{err}");
        let err = "nope".parse::<Sample>().unwrap_err().to_string();
        assert!(err.contains("Sample") && err.contains("\"ok\""), "{err}");
    }
}
