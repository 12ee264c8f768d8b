//! Enums whose variants go by fixed names (stored, sent and parsed as text): the variants
//! and their names are written once, in [`named_enum!`], which writes `ALL`, `as_str`,
//! `Display` and `parse`, and `FromStr` when given the kind's name for its error.

/// An enum of named variants. `pub enum Role: "role" { Admin = "admin", … }` also parses
/// with `FromStr` (error: `unknown role "x"`); without the `: "kind"` there is only
/// `parse`, for a type with an error of its own.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident $(: $kind:literal)? {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; $crate::domain::named::count!($($variant)+)] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant of this name, if any.
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(
            impl ::std::str::FromStr for $name {
                type Err = String;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    $name::parse(s).ok_or_else(|| format!("unknown {} {s:?}", $kind))
                }
            }
        )?
    };
}

/// How many identifiers it is given (the length of a [`named_enum!`]'s `ALL`).
macro_rules! count {
    () => { 0usize };
    ($head:ident $($tail:ident)*) => { 1usize + $crate::domain::named::count!($($tail)*) };
}

pub(crate) use {count, named_enum};

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test enum.
        pub enum Colour: "colour" {
            Red = "red",
            /// The other one.
            DarkBlue = "dark_blue",
        }
    }

    named_enum! {
        pub enum Bare {
            Only = "only",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused_by_kind() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!("Red".parse::<Colour>(), Err("unknown colour \"Red\"".to_owned()));
        assert_eq!(Bare::parse("only"), Some(Bare::Only));
        assert_eq!(Bare::parse("other"), None);
    }
}
