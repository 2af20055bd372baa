//! The parsed time zone and its evaluation.
//!
//! # The model
//!
//! For every calendar year `Y` the rules give two instants:
//!
//! * `S(Y)`: the start rule's date in `Y` at its time, read in *standard*
//!   time (the clock in use just before DST starts);
//! * `E(Y)`: the end rule's date in `Y` at its time, read in *daylight*
//!   time (the clock in use just before DST ends).
//!
//! DST is in effect during `[S(Y), E'(Y))` for each `Y`, where `E'(Y)` is
//! `E(Y)` when `E(Y) >= S(Y)` (northern pattern) and `E(Y+1)` otherwise
//! (southern pattern: DST starts in one year and ends in the next, so it
//! spans the new year). Consequences, all matching RFC 8536 and the
//! reference tzcode:
//!
//! * a rule pair whose DST period reaches the next start (for example
//!   `EST5EDT,0/0,J365/25`) means DST all year;
//! * a rule pair with `S(Y) == E(Y)` means no DST at all.
//!
//! Instants are computed in `i128` so that every `i64` Unix time, however
//! far out, is evaluated without overflow.

use std::fmt;
use std::str::FromStr;

use crate::civil::{days_from_civil, days_in_month, is_leap, weekday, Civil, DateTime, SECS_PER_DAY};
use crate::parse::{self, ParseError};

/// The rule time used when a rule has no `/time`: 02:00:00.
pub(crate) const DEFAULT_RULE_TIME: i32 = 2 * 3600;

/// The DGW factory default of `Hoc.StaticTimeZone` (US Eastern).
pub const DEFAULT: &str = "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00";

/// The date part of a DST rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleDate {
    /// `Mm.w.d`: day `weekday` (0 = Sunday) of week `week` (1-5, 5 = the
    /// last one in the month) of month `month` (1-12).
    MonthWeekDay {
        /// Month, 1-12.
        month: u8,
        /// Week, 1-4, or 5 for the last.
        week: u8,
        /// Day of the week, 0 (Sunday) - 6.
        weekday: u8,
    },
    /// `Jn`: day 1-365, February 29th never counted (J60 is always March 1st).
    Julian1 {
        /// Day, 1-365.
        day: u16,
    },
    /// `n`: zero-based day of the year 0-365, February 29th counted.
    Julian0 {
        /// Day, 0-365.
        day: u16,
    },
}

impl RuleDate {
    /// Day number (days since 1970-01-01) of this date in `year`. Total
    /// even for out-of-range fields (a `RuleDate` can be built by hand):
    /// they are clamped.
    pub(crate) fn day_in(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        match self {
            RuleDate::Julian1 { day } => {
                let day = i64::from(day.clamp(1, 365));
                // Jn skips February 29th: from March on, a leap year is
                // one day further along.
                let leap_shift = i64::from(is_leap(year) && day >= 60);
                jan1 + day - 1 + leap_shift
            }
            RuleDate::Julian0 { day } => jan1 + i64::from(day.min(365)),
            RuleDate::MonthWeekDay {
                month,
                week,
                weekday: wd,
            } => {
                let month = month.clamp(1, 12);
                let first = days_from_civil(year, month, 1);
                let first_match = i64::from((wd.min(6) + 7 - weekday(first)) % 7);
                let len = i64::from(days_in_month(year, month));
                let mut offset = first_match + 7 * (i64::from(week.clamp(1, 5)) - 1);
                // Week 5 means "the last": step back when the month has
                // only four of that weekday.
                while offset >= len {
                    offset -= 7;
                }
                first + offset
            }
        }
    }
}

impl fmt::Display for RuleDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleDate::MonthWeekDay { month, week, weekday } => write!(f, "M{month}.{week}.{weekday}"),
            RuleDate::Julian1 { day } => write!(f, "J{day}"),
            RuleDate::Julian0 { day } => write!(f, "{day}"),
        }
    }
}

/// One DST rule: a date and a local time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransitionRule {
    /// The date.
    pub date: RuleDate,
    /// Seconds after local midnight of that date, on the clock in use just
    /// before the transition (standard time for the start, daylight time
    /// for the end). May be negative or beyond 24 h (RFC 8536 allows
    /// -167 h to +167 h), e.g. `M3.4.4/26` is 02:00 on the Friday after
    /// the fourth Thursday.
    pub time: i32,
}

impl fmt::Display for TransitionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.date)?;
        if self.time != DEFAULT_RULE_TIME {
            f.write_str("/")?;
            write_hms(f, self.time)?;
        }
        Ok(())
    }
}

/// The daylight-saving part of a zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DstRules {
    pub(crate) name: String,
    pub(crate) utc_offset: i32,
    pub(crate) start: TransitionRule,
    pub(crate) end: TransitionRule,
}

impl DstRules {
    /// The daylight-time abbreviation (`EDT`; `+0530` for `<+0530>`).
    pub fn abbreviation(&self) -> &str {
        &self.name
    }
    /// The daylight-time UTC offset in seconds, positive east of
    /// Greenwich (`EDT4` gives -14400).
    pub fn utc_offset(&self) -> i32 {
        self.utc_offset
    }
    /// When DST starts (read in standard time).
    pub fn start(&self) -> TransitionRule {
        self.start
    }
    /// When DST ends (read in daylight time).
    pub fn end(&self) -> TransitionRule {
        self.end
    }
}

/// A parsed `Hoc.StaticTimeZone` value: a POSIX TZ rule plus the optional
/// informational IANA name.
///
/// Build it with [`TimeZone::parse`] (or `str::parse`). `Display` gives a
/// canonical string that parses back to an equal value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeZone {
    pub(crate) std_name: String,
    pub(crate) std_offset: i32,
    pub(crate) dst: Option<DstRules>,
    pub(crate) iana: Option<String>,
}

/// The local time type in effect at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Offset<'a> {
    /// Seconds to add to UTC to get local time (positive east of
    /// Greenwich; EST is -18000). This is `tm_gmtoff`, the opposite sign
    /// of the POSIX string.
    pub utc_offset: i32,
    /// Whether daylight-saving time is in effect (`tm_isdst`).
    pub is_dst: bool,
    /// The abbreviation (`tm_zone`), e.g. `EST`, or `+0530` for `<+0530>`.
    pub abbreviation: &'a str,
}

/// A change of local time type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transition<'a> {
    /// Unix time of the change: the first second of the new type.
    pub unix: i64,
    /// The type in effect until `unix - 1`.
    pub before: Offset<'a>,
    /// The type in effect from `unix`.
    pub after: Offset<'a>,
}

/// What a wall-clock time means in a zone: see [`TimeZone::to_utc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LocalResult {
    /// The local time happened exactly once.
    Unique(i64),
    /// The local time happened twice: the clock was set back (end of DST,
    /// or the start of a negative DST) and the same readings repeat.
    Ambiguous {
        /// The first occurrence (with the offset in effect before the
        /// change).
        earlier: i64,
        /// The second occurrence (with the offset in effect after it).
        later: i64,
    },
    /// The local time never happened: the clock jumped over it.
    Gap {
        /// The local time read with the offset in effect *after* the jump:
        /// an instant before `transition`, shown on the clock as an
        /// earlier time (02:30 on a spring-forward night in New York
        /// gives 01:30 EST).
        earlier: i64,
        /// The local time read with the offset in effect *before* the
        /// jump: an instant at or after `transition`, shown as a later
        /// time (03:30 EDT). This is what RFC 5545 prescribes.
        later: i64,
        /// The instant of the jump.
        transition: i64,
    },
}

impl LocalResult {
    /// The instant if the local time is unambiguous, `None` in a gap or an
    /// overlap.
    pub fn unique(self) -> Option<i64> {
        match self {
            LocalResult::Unique(t) => Some(t),
            _ => None,
        }
    }

    /// Always an instant, by the rule of RFC 5545 §3.3.5 (also the
    /// "compatible" disambiguation of JavaScript Temporal): the first
    /// occurrence in an overlap, and in a gap the local time read with the
    /// offset from before the gap, so 02:30 on a spring-forward night
    /// becomes 03:30 daylight time, as a clock that was not adjusted would
    /// say.
    pub fn compatible(self) -> i64 {
        match self {
            LocalResult::Unique(t) => t,
            LocalResult::Ambiguous { earlier, .. } => earlier,
            LocalResult::Gap { later, .. } => later,
        }
    }
}

/// Writes `[-]h[:mm[:ss]]`, the shortest POSIX form of a signed duration.
pub(crate) fn write_hms(f: &mut impl fmt::Write, secs: i32) -> fmt::Result {
    if secs < 0 {
        f.write_str("-")?;
    }
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    write!(f, "{h}")?;
    if m != 0 || s != 0 {
        write!(f, ":{m:02}")?;
    }
    if s != 0 {
        write!(f, ":{s:02}")?;
    }
    Ok(())
}

/// Writes a name bare if it is all letters, else quoted in `<...>`.
fn write_name(f: &mut impl fmt::Write, name: &str) -> fmt::Result {
    if name.bytes().all(|b| b.is_ascii_alphabetic()) {
        f.write_str(name)
    } else {
        write!(f, "<{name}>")
    }
}

/// `+hh:mm`, with `:ss` only when the offset has seconds.
fn write_utc_offset(f: &mut impl fmt::Write, secs: i32) -> fmt::Result {
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    write!(f, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)?;
    if abs % 60 != 0 {
        write!(f, ":{:02}", abs % 60)?;
    }
    Ok(())
}

/// Calendar year (UTC) containing an instant.
fn year_of(t: i128) -> i64 {
    Civil::from_seconds(t).year
}

impl TimeZone {
    /// Parses a `Hoc.StaticTimeZone` value: a POSIX TZ string, optionally
    /// followed by `;` and an IANA zone name (kept, shape-checked, not
    /// looked up). See the crate documentation for the grammar.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse::parse(s)
    }

    /// The standard-time abbreviation (`EST`; `+0530` for `<+0530>`).
    pub fn std_abbreviation(&self) -> &str {
        &self.std_name
    }

    /// The standard-time UTC offset in seconds, positive east of
    /// Greenwich (`EST5` gives -18000, `CST-8` gives 28800).
    pub fn std_offset(&self) -> i32 {
        self.std_offset
    }

    /// The daylight-saving part, if the zone has one.
    pub fn dst(&self) -> Option<&DstRules> {
        self.dst.as_ref()
    }

    /// The IANA name given after `;`, if any. Informational only.
    pub fn iana(&self) -> Option<&str> {
        self.iana.as_deref()
    }

    /// The canonical POSIX part alone (no `;IANA`): what goes into a TZif
    /// footer or a `TZ` environment variable.
    pub fn posix_string(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_posix(&mut s);
        s
    }

    fn write_posix(&self, f: &mut impl fmt::Write) -> fmt::Result {
        write_name(f, &self.std_name)?;
        write_hms(f, -self.std_offset)?;
        if let Some(d) = &self.dst {
            write_name(f, &d.name)?;
            if d.utc_offset != self.std_offset + 3600 {
                write_hms(f, -d.utc_offset)?;
            }
            write!(f, ",{},{}", d.start, d.end)?;
        }
        Ok(())
    }

    /// The rule times lie outside POSIX's 0-24 h, so a TZif file carrying
    /// this string in its footer must be version 3 (RFC 8536 §3.3.1).
    pub(crate) fn needs_tzif_v3(&self) -> bool {
        self.dst.as_ref().is_some_and(|d| {
            [d.start.time, d.end.time]
                .iter()
                .any(|&t| !(0..=24 * 3600).contains(&t))
        })
    }

    fn std_type(&self) -> Offset<'_> {
        Offset {
            utc_offset: self.std_offset,
            is_dst: false,
            abbreviation: &self.std_name,
        }
    }

    fn dst_type<'a>(&'a self, d: &'a DstRules) -> Offset<'a> {
        Offset {
            utc_offset: d.utc_offset,
            is_dst: true,
            abbreviation: &d.name,
        }
    }

    /// `S(year)` and `E(year)` of the module documentation.
    fn rule_instants(d: &DstRules, std_offset: i32, year: i64) -> (i128, i128) {
        let at = |rule: TransitionRule, offset: i32| {
            i128::from(rule.date.day_in(year)) * i128::from(SECS_PER_DAY) + i128::from(rule.time)
                - i128::from(offset)
        };
        (at(d.start, std_offset), at(d.end, d.utc_offset))
    }

    fn is_dst_at(&self, t: i128) -> bool {
        let Some(d) = &self.dst else { return false };
        let y = year_of(t);
        // A DST period starting in year Y lies within Y-1 .. Y+2 of the
        // instant: rule dates stay inside their year, and rule times and
        // offsets move them by at most 167 h + 25 h.
        (y - 2..=y + 1).any(|year| {
            let (start, end) = Self::rule_instants(d, self.std_offset, year);
            let end = if end >= start {
                end
            } else {
                Self::rule_instants(d, self.std_offset, year + 1).1
            };
            start <= t && t < end
        })
    }

    fn type_at(&self, t: i128) -> Offset<'_> {
        match &self.dst {
            Some(d) if self.is_dst_at(t) => self.dst_type(d),
            _ => self.std_type(),
        }
    }

    /// The UTC offset, DST flag and abbreviation in effect at Unix time
    /// `unix` (what `localtime_r` puts in `tm_gmtoff`, `tm_isdst` and
    /// `tm_zone`). Defined for every `i64`.
    pub fn offset_at(&self, unix: i64) -> Offset<'_> {
        self.type_at(i128::from(unix))
    }

    /// The wall-clock date and time at `unix`; `None` only if the year
    /// does not fit an `i32`.
    pub fn local_datetime(&self, unix: i64) -> Option<DateTime> {
        let off = self.offset_at(unix).utc_offset;
        DateTime::from_local_seconds(i128::from(unix) + i128::from(off))
    }

    /// The `Hoc.SystemTime` text for `unix`:
    /// `YYYY-MM-DD HH:MM:SS ABBR ±HH:MM`, e.g.
    /// `2026-11-27 10:15:30 EST -05:00`.
    ///
    /// ISO 8601 date and 24-hour time (sortable, unambiguous in every
    /// locale), then the abbreviation, then the UTC offset so the instant
    /// is recoverable even when abbreviations are ambiguous (`CST`). The
    /// offset gets `:SS` only when it has seconds; years before 0 get a
    /// `-` sign and years past 9999 more digits. Defined for every `i64`.
    pub fn format_local(&self, unix: i64) -> String {
        let off = self.offset_at(unix);
        let local = Civil::from_seconds(i128::from(unix) + i128::from(off.utc_offset));
        let mut s = format!("{local} {} ", off.abbreviation);
        let _ = write_utc_offset(&mut s, off.utc_offset);
        s
    }

    /// The instant(s) at which the clock shows `local`.
    ///
    /// At a transition the wall clock either jumps forward, leaving a gap
    /// of readings that never happen, or is set back, so that an hour of
    /// readings happens twice. The result says which:
    /// [`LocalResult::Unique`], [`LocalResult::Ambiguous`] (both
    /// instants) or [`LocalResult::Gap`] (the two nearby readings and the
    /// jump). [`LocalResult::compatible`] picks one the way RFC 5545 does.
    /// Which way the clock moves is not assumed: negative DST (where
    /// standard time is the later offset) works the same.
    pub fn to_utc(&self, local: &DateTime) -> LocalResult {
        let l = local.local_seconds();
        let mut offsets = vec![self.std_offset];
        if let Some(d) = &self.dst {
            if d.utc_offset != self.std_offset {
                offsets.push(d.utc_offset);
            }
        }
        // A reading with offset `o` is real iff at `l - o` the zone is on
        // offset `o`. An i32 year keeps these far inside i64.
        let mut real: Vec<i64> = offsets
            .iter()
            .map(|&o| l - i128::from(o))
            .filter(|&t| i128::from(self.type_at(t).utc_offset) == l - t)
            .map(|t| t as i64)
            .collect();
        real.sort_unstable();
        real.dedup();
        match real[..] {
            [t] => LocalResult::Unique(t),
            [earlier, later, ..] => LocalResult::Ambiguous { earlier, later },
            [] => {
                let max = offsets.iter().copied().max().unwrap_or(self.std_offset);
                let min = offsets.iter().copied().min().unwrap_or(self.std_offset);
                let earlier = (l - i128::from(max)) as i64;
                let later = (l - i128::from(min)) as i64;
                // The zone is on `min` at `earlier` and on `max` at
                // `later`, so a transition lies between them.
                let transition = self
                    .next_transition(earlier)
                    .map(|t| t.unix)
                    .filter(|&t| t <= later)
                    .unwrap_or(later);
                LocalResult::Gap {
                    earlier,
                    later,
                    transition,
                }
            }
        }
    }

    /// Candidate transition instants scheduled by the rules of `year`,
    /// kept only if the local time type really changes there.
    fn real_transitions(&self, year: i64) -> Vec<Transition<'_>> {
        let Some(d) = &self.dst else {
            return Vec::new();
        };
        let (s, e) = Self::rule_instants(d, self.std_offset, year);
        let mut out: Vec<Transition<'_>> = [s, e]
            .into_iter()
            .filter_map(|c| {
                let unix = i64::try_from(c).ok()?;
                let before = self.type_at(c - 1);
                let after = self.type_at(c);
                (before != after).then_some(Transition { unix, before, after })
            })
            .collect();
        out.sort_by_key(|t| t.unix);
        out.dedup_by_key(|t| t.unix);
        out
    }

    /// The transitions the rules schedule for calendar year `year` (the
    /// DST start and end of that year), in time order. Usually two;
    /// fewer when the zone has no DST, when DST lasts all year, or when
    /// the start and end coincide. For the usual rules both fall within
    /// `year` itself, local and UTC.
    pub fn transitions(&self, year: i32) -> Vec<Transition<'_>> {
        self.real_transitions(i64::from(year))
    }

    /// The first transition strictly after `unix`, if the local time type
    /// ever changes within the following year or so (`None` without DST,
    /// or with DST all year).
    pub fn next_transition(&self, unix: i64) -> Option<Transition<'_>> {
        let y = year_of(i128::from(unix));
        (y - 1..=y + 2)
            .flat_map(|year| self.real_transitions(year))
            .filter(|t| t.unix > unix)
            .min_by_key(|t| t.unix)
    }
}

impl FromStr for TimeZone {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TimeZone {
    /// The canonical string: shortest offsets, default rule times omitted,
    /// the default DST offset omitted, names quoted only when needed, then
    /// `;IANA` if present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_posix(f)?;
        if let Some(iana) = &self.iana {
            write!(f, ";{iana}")?;
        }
        Ok(())
    }
}
