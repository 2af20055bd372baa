//! NTP timestamps, signed clock offsets and the conversions between them and
//! the Unix wall clock.
//!
//! Wall-clock instants are carried as `i128` nanoseconds since the Unix epoch
//! inside the crate: that covers every `SystemTime` Linux can hold, before
//! 1970 included, and makes the offset arithmetic overflow-free.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP prime epoch (1900-01-01 00:00 UTC) to the Unix epoch.
pub const NTP_UNIX_OFFSET_SECS: i64 = 2_208_988_800;

const NANOS_PER_SEC: i128 = 1_000_000_000;
/// One NTP era: the 32-bit seconds field wraps every 2^32 s (~136 years).
const ERA_NANOS: i128 = (1i128 << 32) * NANOS_PER_SEC;

/// Earliest time a running gateway can really be at (2025-01-01 00:00 UTC).
///
/// Used as the lower bound of the pivot that picks the NTP era of server
/// timestamps: a unit without a battery-backed clock boots in 1970, and
/// taking its own clock as the pivot would put server times of 2038+ in the
/// wrong era. With this floor the era choice is right until 2093 whatever
/// the local clock says.
pub const ERA_PIVOT_FLOOR_UNIX_SECS: i64 = 1_735_689_600;

/// A 64-bit NTP timestamp: 32 bits of seconds since the start of the current
/// era and 32 bits of fraction. It carries no era number, so turning it back
/// into an absolute time needs a pivot ([`NtpTimestamp::to_unix_nanos_near`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// The all-zero timestamp, which NTP uses for "not set".
    pub const ZERO: NtpTimestamp = NtpTimestamp(0);

    /// True for the all-zero ("not set") timestamp.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The NTP timestamp of an instant given in nanoseconds since the Unix
    /// epoch (the era is dropped, as on the wire).
    pub fn from_unix_nanos(nanos: i128) -> NtpTimestamp {
        let secs = nanos.div_euclid(NANOS_PER_SEC);
        let sub = nanos.rem_euclid(NANOS_PER_SEC);
        let ntp_secs = (secs + i128::from(NTP_UNIX_OFFSET_SECS)).rem_euclid(1i128 << 32);
        // sub < 1e9, so sub << 32 < 2^62: no overflow, and the quotient is
        // below 2^32.
        let frac = (sub << 32) / NANOS_PER_SEC;
        NtpTimestamp(((ntp_secs as u64) << 32) | frac as u64)
    }

    /// The NTP timestamp of a `SystemTime`.
    pub fn from_system_time(t: SystemTime) -> NtpTimestamp {
        NtpTimestamp::from_unix_nanos(system_time_to_unix_nanos(t))
    }

    /// Nanoseconds since the Unix epoch, choosing the era that puts this
    /// timestamp nearest to `pivot` (also Unix nanoseconds). Right whenever
    /// the true time is within 68 years of the pivot (RFC 4330 §3, RFC 5905
    /// §6 on era ambiguity).
    pub fn to_unix_nanos_near(self, pivot: i128) -> i128 {
        let secs = i128::from(self.0 >> 32);
        let frac = i128::from(self.0 & 0xffff_ffff);
        let frac_nanos = (frac * NANOS_PER_SEC) >> 32;
        let era0 = (secs - i128::from(NTP_UNIX_OFFSET_SECS)) * NANOS_PER_SEC + frac_nanos;
        let eras = (pivot - era0 + ERA_NANOS / 2).div_euclid(ERA_NANOS);
        era0 + eras * ERA_NANOS
    }

    /// Signed difference `self - earlier` in nanoseconds, by wrapping
    /// subtraction: right when the two are less than 68 years apart, which
    /// holds for two timestamps of one server reply.
    pub fn wrapping_diff_nanos(self, earlier: NtpTimestamp) -> i128 {
        let d = self.0.wrapping_sub(earlier.0) as i64;
        (i128::from(d) * NANOS_PER_SEC) >> 32
    }
}

/// Nanoseconds since the Unix epoch of a `SystemTime` (negative before 1970).
pub fn system_time_to_unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// The `SystemTime` for nanoseconds since the Unix epoch, or `None` when the
/// platform cannot represent it.
pub fn unix_nanos_to_system_time(nanos: i128) -> Option<SystemTime> {
    let magnitude = nanos.unsigned_abs();
    let secs = u64::try_from(magnitude / NANOS_PER_SEC as u128).ok()?;
    let sub = (magnitude % NANOS_PER_SEC as u128) as u32;
    let d = Duration::new(secs, sub);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// A signed clock offset (true time minus local time): positive means the
/// local clock is behind and must be moved forward.
///
/// `std::time::Duration` is unsigned, hence this type. Nanosecond `i64`
/// spans ±292 years, more than NTP's ±68-year unambiguous range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    nanos: i64,
}

impl Offset {
    /// No offset.
    pub const ZERO: Offset = Offset { nanos: 0 };

    /// An offset of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Offset {
        Offset { nanos }
    }

    /// An offset of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: i64) -> Offset {
        Offset {
            nanos: millis.saturating_mul(1_000_000),
        }
    }

    /// An offset of `secs` seconds (saturating).
    pub const fn from_secs(secs: i64) -> Offset {
        Offset {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    /// Nanoseconds, signed.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Seconds as a float, for display and logs.
    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// The magnitude, as a `Duration`.
    pub fn abs(self) -> Duration {
        Duration::from_nanos(self.nanos.unsigned_abs())
    }

    /// True when the local clock is ahead (the correction goes backwards).
    pub const fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// `self + other`, saturating at the `i64` nanosecond bounds.
    pub const fn saturating_add(self, other: Offset) -> Offset {
        Offset {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }

    /// `t` moved by this offset, or `None` if that leaves `SystemTime`'s
    /// range.
    pub fn apply_to(self, t: SystemTime) -> Option<SystemTime> {
        if self.nanos >= 0 {
            t.checked_add(self.abs())
        } else {
            t.checked_sub(self.abs())
        }
    }

    /// The offset for an `i128` nanosecond difference, or `None` beyond
    /// ±292 years.
    pub fn try_from_nanos_i128(nanos: i128) -> Option<Offset> {
        i64::try_from(nanos).ok().map(Offset::from_nanos)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:+.6} s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i128 = 1_000_000_000;

    #[test]
    fn unix_epoch_is_ntp_2208988800() {
        let ts = NtpTimestamp::from_unix_nanos(0);
        assert_eq!(ts.0 >> 32, 2_208_988_800);
        assert_eq!(ts.0 & 0xffff_ffff, 0);
    }

    #[test]
    fn round_trip_keeps_nanosecond_precision() {
        // 2026-06-01 12:00:00.123456789 UTC
        let t = 1_780_315_200 * NS + 123_456_789;
        let back = NtpTimestamp::from_unix_nanos(t).to_unix_nanos_near(t);
        // A 32-bit fraction is ~0.23 ns; truncation both ways loses < 2 ns.
        assert!((back - t).abs() <= 2, "{back} vs {t}");
    }

    #[test]
    fn era_one_is_chosen_after_2036() {
        // 2040-01-01 is in NTP era 1 (seconds field wrapped in Feb 2036).
        let t = 2_208_988_800 * NS;
        let ts = NtpTimestamp::from_unix_nanos(t);
        assert!(ts.0 >> 32 < 0x8000_0000, "era 1 has a small seconds field");
        assert_eq!(ts.to_unix_nanos_near(t - 3600 * NS), t);
        // And from a pivot in 2025 (the floor) it is still found.
        let floor = i128::from(ERA_PIVOT_FLOOR_UNIX_SECS) * NS;
        assert_eq!(ts.to_unix_nanos_near(floor), t);
    }

    #[test]
    fn before_1970_is_representable() {
        let t = -86_400 * NS; // 1969-12-31
        let ts = NtpTimestamp::from_unix_nanos(t);
        assert_eq!(ts.to_unix_nanos_near(0), t);
        assert_eq!(
            unix_nanos_to_system_time(t).map(system_time_to_unix_nanos),
            Some(t)
        );
    }

    #[test]
    fn wrapping_diff_spans_the_era_boundary() {
        let before = NtpTimestamp(0xffff_ffff_0000_0000); // last second of era 0
        let after = NtpTimestamp(0x0000_0001_0000_0000); // second 1 of era 1
        assert_eq!(after.wrapping_diff_nanos(before), 2 * NS);
        assert_eq!(before.wrapping_diff_nanos(after), -2 * NS);
    }

    #[test]
    fn offset_display_and_apply() {
        let o = Offset::from_millis(-1500);
        assert_eq!(o.to_string(), "-1.500000 s");
        assert_eq!(o.abs(), Duration::from_millis(1500));
        let t = UNIX_EPOCH + Duration::from_secs(10);
        assert_eq!(o.apply_to(t), Some(UNIX_EPOCH + Duration::from_millis(8500)));
        assert_eq!(Offset::try_from_nanos_i128(i128::MAX), None);
    }
}
