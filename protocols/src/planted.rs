//! Planted bugs: deliberate defects that tests switch on, one at a time, to show that a checker
//! catches what it must (and that `syncsim check` catches a regression, `--check-determinism`
//! a leak, `shrink` keeps a failure).
//!
//! They exist only in builds with the `planted-bugs` cargo feature, which test builds turn on
//! through the root package's dev-dependency. Every other build refuses a scenario that names
//! one, and [`Planted::is`] is false there at compile time, so the buggy branches are compiled
//! out of the shipping binary.

/// True in builds that carry planted bugs (test builds).
pub const ENABLED: bool = cfg!(feature = "planted-bugs");

/// A family's set of planted bugs; `Default` is the correct protocol.
pub trait Planted: Copy + Eq + Default + 'static {
    /// Every bug of the family, the correct protocol (`none`) first.
    const ALL: &'static [Self];

    /// The name scenarios use.
    fn name(self) -> &'static str;

    /// Whether `bug` is the one planted. Always false in builds without planted bugs.
    fn is(self, bug: Self) -> bool {
        ENABLED && self == bug
    }

    /// True for the correct protocol.
    fn is_none(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the scenario's choice: `Err((field, message))` when it names a bug this build
    /// does not carry.
    fn check(self) -> Result<(), (String, String)> {
        if ENABLED || self.is_none() {
            return Ok(());
        }
        Err((
            "bug".into(),
            format!(
                "`{}` is a planted bug, compiled only into test builds (cargo feature `planted-bugs`)",
                self.name()
            ),
        ))
    }

    /// The `syncsim list` row for the family's `bug` parameter, in builds that carry bugs.
    fn param() -> Option<syncsim_sim::Param> {
        ENABLED.then(|| syncsim_sim::Param::new("bug", Self::summary()).unwritten("none"))
    }

    /// The bugs' names for `syncsim list`, `none` first.
    fn summary() -> &'static str;
}

/// Declares a family's planted bugs: an enum with a `None` variant (the correct protocol,
/// the default) and one variant per bug with its scenario name.
macro_rules! planted_bugs {
    ($(#[$meta:meta])* pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            /// The correct protocol.
            #[default]
            #[serde(rename = "none")]
            None,
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $crate::planted::Planted for $name {
            const ALL: &'static [Self] = &[$name::None, $($name::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $name::None => "none",
                    $($name::$variant => $text),+
                }
            }
            fn summary() -> &'static str {
                concat!("test only, a planted bug: none", $(" | ", $text),+)
            }
        }
    };
}
pub(crate) use planted_bugs;

#[cfg(test)]
mod tests {
    use super::*;

    planted_bugs! {
        /// Two bugs of a test family.
        pub enum Demo {
            /// The first.
            First = "first",
            /// The second.
            Second = "second",
        }
    }

    #[test]
    fn bugs_are_named_listed_and_selectable_only_in_builds_that_carry_them() {
        assert_eq!(Demo::ALL.iter().map(|b| b.name()).collect::<Vec<_>>(), ["none", "first", "second"]);
        assert_eq!(Demo::summary(), "test only, a planted bug: none | first | second");
        assert!(Demo::None.check().is_ok(), "the correct protocol is always allowed");
        assert_eq!(Demo::First.is(Demo::First), ENABLED);
        assert!(!Demo::First.is(Demo::Second));
        let refused = Demo::Second.check();
        assert_eq!(refused.is_err(), !ENABLED);
        if let Err((field, message)) = refused {
            assert_eq!(field, "bug");
            assert!(message.contains("`second` is a planted bug"), "{message}");
        }
    }
}
