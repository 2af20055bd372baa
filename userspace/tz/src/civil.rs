//! Proleptic Gregorian calendar arithmetic on day numbers (days since
//! 1970-01-01), and the public [`DateTime`] wall-clock type.
//!
//! Everything here is total over the ranges the crate feeds it: years are
//! `i64` so that any `i64` Unix time, shifted by any UTC offset, has a
//! calendar date without overflow.

use std::fmt;

/// Seconds in a civil day (POSIX time has no leap seconds).
pub(crate) const SECS_PER_DAY: i64 = 86_400;

/// Days in a 400-year Gregorian cycle: the calendar repeats exactly.
const DAYS_PER_400Y: i64 = 146_097;
/// Days in a century that does not end in a leap year.
const DAYS_PER_100Y: i64 = 36_524;
/// Days in four years, one of them leap.
const DAYS_PER_4Y: i64 = 1_461;

/// Day number of 0000-03-01 counted from 1970-01-01 (negative). Years are
/// counted from March internally so that the leap day is the last day of
/// the computational year and every month before it has a fixed offset.
const MARCH_1_YEAR_0: i64 = -719_468;

/// Offset of each month's first day from March 1st, March first.
const MONTH_STARTS_FROM_MARCH: [i64; 12] = [0, 31, 61, 92, 122, 153, 184, 214, 245, 275, 306, 337];

/// Gregorian leap year rule.
pub(crate) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Length of `month` (1-12) in `year`. Months outside 1-12 are treated as
/// 31 days long: callers validate months, this only has to stay total.
pub(crate) fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day number (days since 1970-01-01) of `year-month-day`. `month` must be
/// 1-12; `day` may run past the month's end (the result just continues
/// into the next month), which keeps rule arithmetic simple.
pub(crate) fn days_from_civil(year: i64, month: u8, day: u32) -> i64 {
    let month = month.clamp(1, 12);
    // January and February belong to the previous March-based year.
    let (y, m_from_march) = if month <= 2 {
        (year - 1, usize::from(month) + 9)
    } else {
        (year, usize::from(month) - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let day_of_year = MONTH_STARTS_FROM_MARCH[m_from_march] + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_400Y + day_of_era + MARCH_1_YEAR_0
}

/// Inverse of [`days_from_civil`]: `(year, month, day)` of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let from_march_0 = days - MARCH_1_YEAR_0;
    let era = from_march_0.div_euclid(DAYS_PER_400Y);
    let mut rest = from_march_0.rem_euclid(DAYS_PER_400Y);
    // Peel off centuries, then 4-year groups, then years. The last century
    // of an era and the last year of a 4-year group are one day longer, so
    // the quotient is capped instead of spilling into a nonexistent next
    // unit.
    let centuries = (rest / DAYS_PER_100Y).min(3);
    rest -= centuries * DAYS_PER_100Y;
    let quads = rest / DAYS_PER_4Y;
    rest -= quads * DAYS_PER_4Y;
    let years = (rest / 365).min(3);
    rest -= years * 365;
    let year_from_march = era * 400 + centuries * 100 + quads * 4 + years;
    let m_from_march = MONTH_STARTS_FROM_MARCH
        .iter()
        .rposition(|&start| start <= rest)
        .unwrap_or(0);
    let day = rest - MONTH_STARTS_FROM_MARCH[m_from_march] + 1;
    // March-based months 10 and 11 are January and February of the next
    // calendar year.
    let (year, month) = if m_from_march >= 10 {
        (year_from_march + 1, m_from_march - 9)
    } else {
        (year_from_march, m_from_march + 3)
    };
    // Both fit: month is 1-12 and day 1-31 by construction.
    (year, month as u8, day as u8)
}

/// Day of the week of a day number, 0 = Sunday as in POSIX `Mm.w.d`.
pub(crate) fn weekday(days: i64) -> u8 {
    // 1970-01-01 was a Thursday.
    (days + 4).rem_euclid(7) as u8
}

/// A wall-clock date and time without a zone: what a clock on the wall
/// shows, as read by [`TimeZone::local_datetime`](crate::TimeZone::local_datetime)
/// or fed to [`TimeZone::to_utc`](crate::TimeZone::to_utc).
///
/// Proleptic Gregorian calendar, no leap seconds (POSIX time has none).
/// `Display` gives `YYYY-MM-DD HH:MM:SS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    // Field order makes the derived ordering chronological.
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl DateTime {
    /// A validated date and time; `None` if any field is out of range
    /// (month 1-12, day within the month, hour 0-23, minute and second
    /// 0-59).
    pub fn new(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<Self> {
        let valid = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(i64::from(year), month)
            && hour < 24
            && minute < 60
            && second < 60;
        valid.then_some(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// The wall-clock reading of Unix time `unix` at UTC (offset 0);
    /// `None` only if the year does not fit an `i32` (more than two
    /// billion years away).
    pub fn from_unix_utc(unix: i64) -> Option<Self> {
        Self::from_local_seconds(i128::from(unix))
    }

    /// The Unix time at which a clock on UTC shows this date and time.
    pub fn to_unix_utc(&self) -> i64 {
        // An i32 year keeps this within ±7e16 s: no overflow possible.
        self.local_seconds() as i64
    }

    /// Seconds since 1970-01-01 00:00:00 of the same wall-clock reading.
    pub(crate) fn local_seconds(&self) -> i128 {
        let days = days_from_civil(i64::from(self.year), self.month, u32::from(self.day));
        i128::from(days) * i128::from(SECS_PER_DAY)
            + i128::from(self.hour) * 3600
            + i128::from(self.minute) * 60
            + i128::from(self.second)
    }

    /// Inverse of [`local_seconds`](Self::local_seconds).
    pub(crate) fn from_local_seconds(secs: i128) -> Option<Self> {
        let c = Civil::from_seconds(secs);
        Some(DateTime {
            year: i32::try_from(c.year).ok()?,
            month: c.month,
            day: c.day,
            hour: c.hour,
            minute: c.minute,
            second: c.second,
        })
    }

    /// Calendar year (proleptic Gregorian; year 0 is 1 BC).
    pub fn year(&self) -> i32 {
        self.year
    }
    /// Month, 1-12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// Day of the month, 1-31.
    pub fn day(&self) -> u8 {
        self.day
    }
    /// Hour, 0-23.
    pub fn hour(&self) -> u8 {
        self.hour
    }
    /// Minute, 0-59.
    pub fn minute(&self) -> u8 {
        self.minute
    }
    /// Second, 0-59.
    pub fn second(&self) -> u8 {
        self.second
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Civil::from(*self).fmt(f)
    }
}

/// A broken-down wall-clock time with an `i64` year: unlike [`DateTime`]
/// it exists for every `i64` Unix time, so formatting never fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Civil {
    /// Breaks down seconds since 1970-01-01 00:00:00 (of whatever clock).
    pub(crate) fn from_seconds(secs: i128) -> Self {
        let day_secs = i128::from(SECS_PER_DAY);
        // |secs| stays below 2^64 for any i64 Unix time plus a UTC offset,
        // so the day number fits an i64 with a wide margin.
        let days = secs.div_euclid(day_secs) as i64;
        let of_day = secs.rem_euclid(day_secs) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (of_day / 3600) as u8,
            minute: (of_day / 60 % 60) as u8,
            second: (of_day % 60) as u8,
        }
    }
}

impl From<DateTime> for Civil {
    fn from(d: DateTime) -> Self {
        Civil {
            year: i64::from(d.year),
            month: d.month,
            day: d.day,
            hour: d.hour,
            minute: d.minute,
            second: d.second,
        }
    }
}

impl fmt::Display for Civil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ISO 8601 style: at least four year digits, a sign only when
        // negative (years beyond 9999 simply get more digits).
        if self.year < 0 {
            write!(f, "-{:04}", self.year.unsigned_abs())?;
        } else {
            write!(f, "{:04}", self.year)?;
        }
        write!(
            f,
            "-{:02}-{:02} {:02}:{:02}:{:02}",
            self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2000-03-01 is day 11017 (`date -u -d 2000-03-01 +%s` / 86400).
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 2038-01-19, the day the signed 32-bit time_t runs out.
        assert_eq!(days_from_civil(2038, 1, 19), (1i64 << 31) / SECS_PER_DAY);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(weekday(0), 4);
        // 2026-03-08 is a Sunday.
        assert_eq!(weekday(days_from_civil(2026, 3, 8)), 0);
    }

    #[test]
    fn round_trip_over_many_eras() {
        // Every day for 1600 years around the epoch, then sparse days far
        // out, including the extremes an i64 Unix time can reach.
        let mut prev = None;
        for d in -400 * 365..1200 * 366 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, u32::from(dd)), d);
            if let Some((py, pm, pd)) = prev {
                assert!((y, m, dd) > (py, pm, pd));
            }
            prev = Some((y, m, dd));
        }
        for d in [
            i64::MAX / SECS_PER_DAY,
            i64::MIN / SECS_PER_DAY - 1,
            -1_000_000_000_000,
            1_000_000_000_000,
        ] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, u32::from(dd)), d);
        }
    }

    #[test]
    fn datetime_validation_and_display() {
        assert!(DateTime::new(2028, 2, 29, 0, 0, 0).is_some());
        assert!(DateTime::new(2027, 2, 29, 0, 0, 0).is_none());
        assert!(DateTime::new(2026, 13, 1, 0, 0, 0).is_none());
        assert!(DateTime::new(2026, 1, 1, 24, 0, 0).is_none());
        assert!(DateTime::new(2026, 1, 1, 0, 60, 0).is_none());
        assert!(DateTime::new(2026, 1, 1, 0, 0, 60).is_none());
        assert!(DateTime::new(2026, 4, 31, 0, 0, 0).is_none());
        let d = DateTime::new(-1, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(d.to_string(), "-0001-01-02 03:04:05");
        let d = DateTime::from_unix_utc(1_772_953_200).unwrap();
        assert_eq!(d.to_string(), "2026-03-08 07:00:00");
        assert_eq!(d.to_unix_utc(), 1_772_953_200);
        assert!(DateTime::from_unix_utc(i64::MAX).is_none());
    }
}
