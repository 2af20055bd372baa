//! The clock the client disciplines: the system clock on the gateway, a
//! simulated one in tests and on workstations.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::timestamp::Offset;

/// Offsets at or above this are stepped, smaller ones slewed: RFC 5905's
/// step threshold (STEPT, 128 ms). A slew at the kernel's 500 ppm takes at
/// most ~4 minutes for that, far less than a synchronisation period, and
/// keeps time monotonic for the small daily corrections.
pub const STEP_THRESHOLD: Duration = Duration::from_millis(128);

/// How a correction was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// The clock jumped by the offset.
    Stepped,
    /// The kernel is slewing the clock by the offset.
    Slewed,
}

/// Why the clock could not be set.
#[derive(Debug)]
pub struct ClockError(io::Error);

impl ClockError {
    /// The OS error.
    pub fn io_error(&self) -> &io::Error {
        &self.0
    }
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.raw_os_error() == Some(libc::EPERM) {
            write!(f, "{} (setting the clock needs CAP_SYS_TIME)", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl std::error::Error for ClockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A wall clock the client reads and corrects. `adjust` takes `&self` so a
/// test can keep a handle on a shared clock while the driver owns another.
pub trait Clock: Send + Sync + 'static {
    /// The current time of this clock.
    fn now(&self) -> SystemTime;
    /// Moves the clock by `offset` (true time minus this clock). Only called
    /// with the offset of a reply that passed every check.
    fn adjust(&self, offset: Offset) -> Result<Adjustment, ClockError>;
}

/// The system clock (`CLOCK_REALTIME`). Offsets of [`STEP_THRESHOLD`] or
/// more are stepped with `clock_settime`, smaller ones slewed with
/// `adjtime`; both need `CAP_SYS_TIME`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn adjust(&self, offset: Offset) -> Result<Adjustment, ClockError> {
        if offset.abs() >= STEP_THRESHOLD {
            step_realtime(offset)?;
            Ok(Adjustment::Stepped)
        } else {
            slew(offset)?;
            Ok(Adjustment::Slewed)
        }
    }
}

/// `ts + offset`, normalised (0 <= tv_nsec < 1e9), or `None` on overflow.
fn timespec_plus(sec: i64, nsec: i64, offset: Offset) -> Option<(i64, i64)> {
    let total = i128::from(sec) * 1_000_000_000 + i128::from(nsec) + i128::from(offset.as_nanos());
    let s = i64::try_from(total.div_euclid(1_000_000_000)).ok()?;
    Some((s, total.rem_euclid(1_000_000_000) as i64))
}

fn step_realtime(offset: Offset) -> Result<(), ClockError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to the valid pointer.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) } != 0 {
        return Err(ClockError(io::Error::last_os_error()));
    }
    // time_t and c_long are 32-bit on some 32-bit targets: widen both.
    #[allow(clippy::useless_conversion)]
    let (sec, nsec) = (i64::from(ts.tv_sec), i64::from(ts.tv_nsec));
    let (sec, nsec) = timespec_plus(sec, nsec, offset)
        .ok_or_else(|| ClockError(io::Error::from_raw_os_error(libc::EOVERFLOW)))?;
    let new = libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: nsec as _,
    };
    // SAFETY: clock_settime reads one timespec from the valid pointer.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &new) } != 0 {
        return Err(ClockError(io::Error::last_os_error()));
    }
    Ok(())
}

fn slew(offset: Offset) -> Result<(), ClockError> {
    let nanos = offset.as_nanos();
    let delta = libc::timeval {
        tv_sec: nanos.div_euclid(1_000_000_000) as libc::time_t,
        tv_usec: (nanos.rem_euclid(1_000_000_000) / 1000) as libc::suseconds_t,
    };
    // SAFETY: adjtime reads one timeval; a null old-delta pointer is allowed.
    if unsafe { libc::adjtime(&delta, std::ptr::null_mut()) } != 0 {
        return Err(ClockError(io::Error::last_os_error()));
    }
    Ok(())
}

/// A clock that is the system clock plus an offset it owns: correcting it
/// changes only that offset. For tests and for running on a workstation
/// without touching its clock. Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct SimulatedClock {
    offset_nanos: Arc<AtomicI64>,
}

impl SimulatedClock {
    /// A clock `initial` away from the system clock (positive: ahead).
    pub fn new(initial: Offset) -> SimulatedClock {
        SimulatedClock {
            offset_nanos: Arc::new(AtomicI64::new(initial.as_nanos())),
        }
    }

    /// How far this clock is from the system clock (positive: ahead).
    pub fn offset(&self) -> Offset {
        Offset::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        self.offset().apply_to(now).unwrap_or(now)
    }

    fn adjust(&self, offset: Offset) -> Result<Adjustment, ClockError> {
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                Some(cur.saturating_add(offset.as_nanos()))
            });
        Ok(Adjustment::Stepped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_arithmetic_normalises() {
        assert_eq!(
            timespec_plus(10, 900_000_000, Offset::from_millis(200)),
            Some((11, 100_000_000))
        );
        assert_eq!(
            timespec_plus(10, 100_000_000, Offset::from_millis(-200)),
            Some((9, 900_000_000))
        );
        assert_eq!(
            timespec_plus(0, 0, Offset::from_nanos(-1)),
            Some((-1, 999_999_999))
        );
        assert_eq!(timespec_plus(i64::MAX, 0, Offset::from_secs(1)), None);
    }

    #[test]
    fn simulated_clock_moves_only_its_offset() {
        let c = SimulatedClock::new(Offset::from_secs(-3600));
        let handle = c.clone();
        let ahead = c.now().duration_since(SystemTime::now());
        assert!(ahead.is_err(), "an hour behind");
        c.adjust(Offset::from_secs(3600)).unwrap();
        assert_eq!(handle.offset(), Offset::ZERO);
        let d = match handle.now().duration_since(SystemTime::now()) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(d < Duration::from_millis(100));
    }

    #[test]
    fn clock_error_names_the_capability() {
        let e = ClockError(io::Error::from_raw_os_error(libc::EPERM));
        assert!(e.to_string().contains("CAP_SYS_TIME"), "{e}");
    }
}
