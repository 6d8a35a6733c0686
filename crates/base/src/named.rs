//! Enums whose variants have one fixed name each, in text, JSON, SQL and MQTT alike
//! (machine state, lamp colour and mode, camera health, role).
//!
//! [`named_enum!`](crate::named_enum) writes, from one list of variants and names: the
//! enum, `ALL` in declaration order, `as_str`, `Display`, `FromStr` with an
//! [`UnknownName`] error that lists what is known, and serde as the same names. A name
//! is therefore written once, and what is stored always reads back.

/// A name that is none of an enum's variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// What the enum is, in words (`lamp colour`).
    pub what: &'static str,
    pub given: String,
    pub known: &'static [&'static str],
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} `{}`: one of {}", self.what, self.given, self.known.join(", "))
    }
}

impl std::error::Error for UnknownName {}

#[doc(hidden)]
pub use serde as __serde;

/// Declares an enum of named variants:
///
/// ```
/// sheetsight_base::named_enum! {
///     /// A traffic light.
///     #[derive(PartialOrd, Ord)]
///     pub enum Light("traffic light") {
///         Red = "red",
///         Green = "green",
///     }
/// }
/// assert_eq!(Light::ALL, [Light::Red, Light::Green]);
/// assert_eq!("green".parse::<Light>(), Ok(Light::Green));
/// assert_eq!(Light::Red.to_string(), "red");
/// assert_eq!(
///     "blue".parse::<Light>().unwrap_err().to_string(),
///     "unknown traffic light `blue`: one of red, green"
/// );
/// ```
///
/// The enum derives `Clone, Copy, Debug, PartialEq, Eq, Hash` besides what is given.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];
            /// Every variant's name, in declaration order.
            pub const NAMES: [&'static str; [$($text),+].len()] = [$($text),+];

            /// The variant's name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::named::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::named::UnknownName {
                        what: $what,
                        given: s.to_string(),
                        known: &$name::NAMES,
                    }),
                }
            }
        }

        impl $crate::named::__serde::Serialize for $name {
            fn serialize<S: $crate::named::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::named::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::named::__serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as $crate::named::__serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(<D::Error as $crate::named::__serde::de::Error>::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::named_enum! {
        /// A test enum.
        pub enum Mode("test mode") {
            /// The first.
            Off = "off",
            On = "on",
        }
    }

    #[test]
    fn names_read_back_in_text_and_json() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>(), Ok(m));
            let json = serde_json::to_string(&m).expect("serialises");
            assert_eq!(json, format!("\"{m}\""));
            assert_eq!(serde_json::from_str::<Mode>(&json).expect("deserialises"), m);
        }
        let e = serde_json::from_str::<Mode>("\"dim\"").expect_err("unknown");
        assert!(e.to_string().contains("unknown test mode `dim`: one of off, on"), "{e}");
        assert_eq!(Mode::NAMES, ["off", "on"]);
    }
}
