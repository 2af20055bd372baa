//! The Ready indicator: what the Ready LED shows, as a pure function of the
//! service's state, plus a tiny state machine that only reports changes.

use crate::Pattern;

/// The "not ready yet / something is missing" blink.
pub const NOT_READY_BLINK: Pattern = Pattern::Blink {
    on_ms: 500,
    off_ms: 500,
};

/// Facts the Ready indicator depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadyInputs {
    /// TLS connections the configuration asks for.
    pub tls_expected: u32,
    /// Of those, how many are established.
    pub tls_up: u32,
    /// A firmware update is being applied.
    pub update_in_progress: bool,
    /// The service has failed (e.g. a unit in the failed state, a fatal configuration error).
    pub service_failed: bool,
}

/// The Ready indicator's state, in priority order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyState {
    /// An update is in progress: shown above everything else, because the
    /// connections are expected to drop during an update and the user must
    /// not power the unit off.
    Updating,
    /// The service failed: not ready whatever the connection count says
    /// (the count may be stale once the service is gone).
    Failed,
    /// Running, but `missing` configured TLS connections are not up.
    Incomplete {
        /// Expected minus established.
        missing: u32,
    },
    /// Every configured TLS connection is up (vacuously so when none is configured).
    Ready,
}

impl ReadyInputs {
    /// The state these inputs put the indicator in.
    pub fn state(&self) -> ReadyState {
        if self.update_in_progress {
            ReadyState::Updating
        } else if self.service_failed {
            ReadyState::Failed
        } else if self.tls_up < self.tls_expected {
            ReadyState::Incomplete {
                missing: self.tls_expected - self.tls_up,
            }
        } else {
            // tls_up > tls_expected can happen briefly while the
            // configuration shrinks and old connections close: that is not a
            // fault, everything asked for is up.
            ReadyState::Ready
        }
    }
}

impl ReadyState {
    /// The LED pattern for this state: the update pattern, a 500/500 ms blink
    /// while anything is missing (failed service included), steady on when ready.
    pub fn pattern(&self) -> Pattern {
        match self {
            ReadyState::Updating => Pattern::Updating,
            ReadyState::Failed | ReadyState::Incomplete { .. } => NOT_READY_BLINK,
            ReadyState::Ready => Pattern::On,
        }
    }
}

/// The Ready pattern for `inputs`.
pub fn ready_pattern(inputs: &ReadyInputs) -> Pattern {
    inputs.state().pattern()
}

/// Remembers the last pattern so that callers only touch the LED when the
/// pattern changes: rewriting the `timer` trigger's delays restarts the
/// blink, which would show as a stutter on every status poll.
#[derive(Clone, Debug, Default)]
pub struct ReadyIndicator {
    last: Option<Pattern>,
}

impl ReadyIndicator {
    /// An indicator that has shown nothing yet.
    pub fn new() -> ReadyIndicator {
        ReadyIndicator::default()
    }

    /// The pattern to show now, or `None` if it is the one already reported.
    pub fn update(&mut self, inputs: &ReadyInputs) -> Option<Pattern> {
        let p = ready_pattern(inputs);
        if self.last == Some(p) {
            None
        } else {
            self.last = Some(p);
            Some(p)
        }
    }

    /// Forget the last pattern (e.g. after the LED was re-opened or failed to
    /// be set), so the next [`ReadyIndicator::update`] reports it again.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(expected: u32, up: u32, update: bool, failed: bool) -> ReadyInputs {
        ReadyInputs {
            tls_expected: expected,
            tls_up: up,
            update_in_progress: update,
            service_failed: failed,
        }
    }

    #[test]
    fn decision_table() {
        use ReadyState::*;
        // (expected, up, update, failed) -> state, pattern
        type Row = ((u32, u32, bool, bool), ReadyState, Pattern);
        let table: &[Row] = &[
            ((0, 0, false, false), Ready, Pattern::On),
            ((2, 2, false, false), Ready, Pattern::On),
            ((2, 3, false, false), Ready, Pattern::On),
            ((2, 1, false, false), Incomplete { missing: 1 }, NOT_READY_BLINK),
            ((2, 0, false, false), Incomplete { missing: 2 }, NOT_READY_BLINK),
            (
                (u32::MAX, 0, false, false),
                Incomplete { missing: u32::MAX },
                NOT_READY_BLINK,
            ),
            ((2, 2, false, true), Failed, NOT_READY_BLINK),
            ((0, 0, false, true), Failed, NOT_READY_BLINK),
            ((2, 0, false, true), Failed, NOT_READY_BLINK),
            // The update pattern wins over everything.
            ((2, 2, true, false), Updating, Pattern::Updating),
            ((2, 0, true, false), Updating, Pattern::Updating),
            ((2, 0, true, true), Updating, Pattern::Updating),
            ((0, 0, true, true), Updating, Pattern::Updating),
        ];
        for &((e, u, upd, f), state, pattern) in table {
            let i = inputs(e, u, upd, f);
            assert_eq!(i.state(), state, "{i:?}");
            assert_eq!(ready_pattern(&i), pattern, "{i:?}");
        }
        // The three outputs are distinct, and the blink is a valid pattern.
        assert_ne!(Pattern::Updating, NOT_READY_BLINK);
        assert_ne!(Pattern::On, NOT_READY_BLINK);
        NOT_READY_BLINK.validate().unwrap();
    }

    #[test]
    fn indicator_reports_changes_only() {
        let mut ind = ReadyIndicator::new();
        assert_eq!(ind.update(&inputs(2, 0, false, false)), Some(NOT_READY_BLINK));
        assert_eq!(ind.update(&inputs(2, 1, false, false)), None);
        assert_eq!(ind.update(&inputs(2, 2, false, false)), Some(Pattern::On));
        assert_eq!(ind.update(&inputs(2, 2, false, false)), None);
        assert_eq!(ind.update(&inputs(2, 0, true, false)), Some(Pattern::Updating));
        assert_eq!(ind.update(&inputs(2, 2, true, false)), None);
        assert_eq!(ind.update(&inputs(2, 2, false, false)), Some(Pattern::On));
        ind.reset();
        assert_eq!(ind.update(&inputs(2, 2, false, false)), Some(Pattern::On));
    }
}
