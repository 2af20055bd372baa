//! What an LED shows.

use crate::LedError;
use std::fmt;

/// A pattern an LED can show.
///
/// `Blink` and `Updating` are both driven by the kernel's `timer` trigger
/// (or by software when that trigger is missing). `Updating` is a fixed fast
/// blink kept as its own variant so callers never have to agree on numbers:
/// on the wire it is `timer` with [`Pattern::UPDATING_MS`] on and off, and a
/// read-back of exactly those delays is reported as `Updating`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Dark.
    Off,
    /// Steadily lit at full brightness.
    On,
    /// Lit for `on_ms`, dark for `off_ms`, repeating. Both must be within
    /// [`Pattern::BLINK_MIN_MS`]`..=`[`Pattern::BLINK_MAX_MS`].
    Blink {
        /// Milliseconds lit per period.
        on_ms: u32,
        /// Milliseconds dark per period.
        off_ms: u32,
    },
    /// The "firmware update in progress" pattern: a fast, even blink.
    Updating,
}

impl Pattern {
    /// Shortest accepted blink phase. Shorter phases are invisible as blinking
    /// and would keep a software blinker busy for nothing.
    pub const BLINK_MIN_MS: u32 = 20;
    /// Longest accepted blink phase: anything slower reads as "on" or "off", not blinking.
    pub const BLINK_MAX_MS: u32 = 10_000;
    /// On and off time of [`Pattern::Updating`].
    pub const UPDATING_MS: u32 = 100;

    /// A validated [`Pattern::Blink`].
    pub fn blink(on_ms: u32, off_ms: u32) -> Result<Pattern, LedError> {
        let p = Pattern::Blink { on_ms, off_ms };
        p.validate()?;
        Ok(p)
    }

    /// Checks the blink phases of a `Blink` (other patterns are always valid).
    pub fn validate(&self) -> Result<(), LedError> {
        if let Pattern::Blink { on_ms, off_ms } = *self {
            for (what, v) in [("blink on_ms", on_ms), ("blink off_ms", off_ms)] {
                if !(Self::BLINK_MIN_MS..=Self::BLINK_MAX_MS).contains(&v) {
                    return Err(LedError::OutOfRange {
                        what,
                        value: v.into(),
                        min: Self::BLINK_MIN_MS.into(),
                        max: Self::BLINK_MAX_MS.into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// `(on_ms, off_ms)` for the blinking patterns, `None` for steady ones.
    pub fn blink_timing(&self) -> Option<(u32, u32)> {
        match *self {
            Pattern::Off | Pattern::On => None,
            Pattern::Blink { on_ms, off_ms } => Some((on_ms, off_ms)),
            Pattern::Updating => Some((Self::UPDATING_MS, Self::UPDATING_MS)),
        }
    }

    /// The pattern a `timer` trigger with these delays shows.
    pub(crate) fn from_timer(on_ms: u32, off_ms: u32) -> Pattern {
        if on_ms == Self::UPDATING_MS && off_ms == Self::UPDATING_MS {
            Pattern::Updating
        } else {
            Pattern::Blink { on_ms, off_ms }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Off => f.write_str("off"),
            Pattern::On => f.write_str("on"),
            Pattern::Blink { on_ms, off_ms } => write!(f, "blink {on_ms}/{off_ms} ms"),
            Pattern::Updating => write!(
                f,
                "updating (blink {}/{} ms)",
                Self::UPDATING_MS,
                Self::UPDATING_MS
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blink_range_is_enforced() {
        assert!(Pattern::blink(20, 10_000).is_ok());
        assert!(Pattern::blink(500, 500).is_ok());
        for (on, off) in [(0, 500), (19, 500), (500, 10_001), (500, 0), (u32::MAX, 1)] {
            let err = Pattern::blink(on, off).unwrap_err();
            assert!(matches!(err, LedError::OutOfRange { .. }), "{on}/{off}: {err}");
        }
        // Fields are public, so validate() must catch a hand-built value too.
        assert!(Pattern::Blink { on_ms: 1, off_ms: 1 }.validate().is_err());
        assert!(Pattern::Updating.validate().is_ok());
    }

    #[test]
    fn timer_readback_maps_update_timing() {
        assert_eq!(Pattern::from_timer(100, 100), Pattern::Updating);
        assert_eq!(
            Pattern::from_timer(100, 200),
            Pattern::Blink {
                on_ms: 100,
                off_ms: 200
            }
        );
        assert_eq!(Pattern::Updating.blink_timing(), Some((100, 100)));
        assert_eq!(Pattern::On.blink_timing(), None);
    }
}
