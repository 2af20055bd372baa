//! # tz
//!
//! The gateway's time zone: the DGW `Hoc.StaticTimeZone` parameter
//! parsed, evaluated, formatted as `Hoc.SystemTime`, and applied to the
//! system as `/etc/localtime`.
//!
//! ```
//! use tz::{DateTime, LocalResult, TimeZone};
//!
//! let zone = TimeZone::parse(tz::DEFAULT)?; // EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00
//! // 2026-11-27 15:15:30 UTC
//! assert_eq!(zone.format_local(1_795_792_530), "2026-11-27 10:15:30 EST -05:00");
//! let at = zone.offset_at(1_795_792_530);
//! assert_eq!((at.utc_offset, at.is_dst, at.abbreviation), (-5 * 3600, false, "EST"));
//!
//! // 02:30 on 2026-03-08 never happened in New York: the clocks went from
//! // 01:59:59 EST to 03:00:00 EDT.
//! let skipped = DateTime::new(2026, 3, 8, 2, 30, 0).unwrap();
//! assert!(matches!(zone.to_utc(&skipped), LocalResult::Gap { .. }));
//! # Ok::<(), tz::ParseError>(())
//! ```
//!
//! ## The parameter
//!
//! `Hoc.StaticTimeZone` holds an IEEE 1003.1 POSIX TZ string of up to
//! 255 characters, default [`DEFAULT`], which DGW 46.0 and later let an
//! IANA name follow after `;` (`...;America/New_York`). The IANA part is
//! informational (the DGW uses it for web pages only): it is kept,
//! shape-checked and never looked up, so no tzdata is needed.
//!
//! ```text
//! std offset [dst [offset] ,start[/time],end[/time]] [;IANA-name]
//! ```
//!
//! * Names are 3 or more letters, or `<...>` of letters, digits, `+`, `-`
//!   (`<+0530>-5:30`); the abbreviation is the text inside the brackets.
//! * Offsets are `[+-]hh[:mm[:ss]]`, hours 0-24, **positive west of
//!   Greenwich**: `EST5` is UTC-5, `CST-8` is UTC+8, `CAUST-9:30` is
//!   UTC+9:30. A missing DST offset means one hour ahead of standard
//!   time. The API reports offsets the other way round, east-positive, as
//!   `tm_gmtoff` and ISO 8601 do.
//! * Rules: `Mm.w.d` (day `d` of week `w` of month `m`, Sunday = 0,
//!   `w` = 5 the last such day), `Jn` (1-365, February 29th never
//!   counted) or `n` (0-365, February 29th counted).
//! * Rule times default to 02:00:00 and may be negative or reach ±167 h
//!   (RFC 8536), e.g. Israel's `M3.4.4/26`.
//! * A rule time is on the clock in effect *before* its transition:
//!   standard time for the start, daylight time for the end. So
//!   `EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00` switches at 07:00 UTC
//!   in March and at 06:00 UTC in November.
//!
//! DST without rules (`EST5EDT`) is refused: POSIX leaves the dates to
//! the implementation and glibc then quietly applies US rules (those of
//! its `posixrules` file when the image has one, else built-in
//! `M3.2.0,M11.1.0`), so the result would depend on the image rather than
//! on the configuration. The parameter checker of
//! `params` refuses it too. Errors ([`ParseError`]) say what is wrong and
//! at which character.
//!
//! ## Evaluation
//!
//! [`TimeZone::offset_at`] gives the offset, DST flag and abbreviation
//! for a Unix time; [`TimeZone::transitions`] the changes of a year;
//! [`TimeZone::next_transition`] the next one. Both hemispheres are
//! handled: when the start rule falls after the end rule in the year,
//! DST runs from the start to the next year's end (CAUST, NZ). A rule
//! pair whose DST period reaches the next start means DST all year, as in
//! RFC 8536.
//!
//! [`TimeZone::to_utc`] converts a wall-clock time back. Around a
//! transition that time may not exist (the clock jumped over it: a
//! [`LocalResult::Gap`]) or exist twice (the clock was set back: a
//! [`LocalResult::Ambiguous`]); both candidates are returned, and
//! [`LocalResult::compatible`] chooses as RFC 5545 does (the first
//! occurrence; in a gap, the reading with the offset from before it, so
//! 02:30 on a spring-forward night means 03:30 daylight time).
//!
//! ## `Hoc.SystemTime`
//!
//! [`TimeZone::format_local`] gives `YYYY-MM-DD HH:MM:SS ABBR ±HH:MM`,
//! e.g. `2026-11-27 10:15:30 EST -05:00`: ISO 8601 order and 24-hour
//! clock, the abbreviation operators expect, and the numeric offset that
//! keeps the text unambiguous (abbreviations are not unique and are
//! repeated in an overlap).
//!
//! ## Applying it to the system
//!
//! [`install`] writes the zone as a TZif file ([`to_tzif`], RFC 8536) to
//! a given path, `/etc/localtime` on the image, replacing it
//! crash-safely, and leaves the raw string in a sibling `TZ` file for
//! diagnostics. The C library reads `/etc/localtime` when `TZ` is not
//! set, so every process follows without restarting anything, within the
//! limits below. What glibc really does (read in `time/tzset.c` and
//! `time/tzfile.c` of glibc 2.36, Debian 12's, and unchanged in
//! principle for many releases):
//!
//! * `tzset()`, `localtime()`, `ctime()` and `mktime()` re-examine the
//!   zone on every call: they `stat()` `/etc/localtime` and reload it when
//!   its inode, device or mtime changed. [`install`] renames a new file
//!   into place, so the inode always changes and even two updates within
//!   one second are seen.
//! * `localtime_r()` does not: after the first zone load in the process
//!   it never looks again (POSIX allows this, and glibc skips it for
//!   speed). Long-running services that format with `localtime_r` (that
//!   includes glibc's own `syslog()` time stamps) keep the old zone until
//!   something in the process calls `tzset()` (or `localtime`/`mktime`).
//!   Such services should call `tzset()` when told the zone changed (one
//!   `stat()`, cheap), or simply before formatting a time.
//! * If `TZ` is set in a process's environment, glibc compares the
//!   variable with its previous value and returns early without any
//!   `stat()`, even in `tzset()`. `TZ=:/etc/localtime` (a common trick to
//!   save that `stat()`) therefore freezes the zone for the life of the
//!   process, and `TZ=<rule string>` ignores `/etc/localtime` entirely:
//!   service units must leave `TZ` unset.
//! * glibc ignores the footer of a TZif file with no transitions (RFC
//!   8536 allows that shape): a footer-only file would never show DST.
//!   [`to_tzif`] therefore writes a transition table (1970-2037) before
//!   the footer; its documentation has the details.
//!
//! These points were checked on Debian 12 with a small C program in a
//! private mount namespace replacing `/etc/localtime` under it:
//! `localtime_r` kept EDT after the file changed to CST, `localtime` and
//! `tzset` + `localtime_r` saw CST, and with `TZ=:/etc/localtime` even
//! `tzset` kept EDT.
//!
//! Other readers: musl caches the zone by the `TZ` value (or the constant
//! path `/etc/localtime`) and never re-reads the file, so on musl
//! processes must restart. Rust date crates (chrono, jiff, time) either
//! go through `localtime_r` (see above) or read `/etc/localtime`
//! themselves with their own caching; check the crate before relying on
//! it to follow a change.
//!
//! ## Robustness
//!
//! No input makes this crate panic: strings are parsed with positions
//! checked, numbers saturate before range checks, and evaluation is done
//! in 128-bit arithmetic so every `i64` Unix time has an answer. A fuzz
//! target (`fuzz/fuzz_targets/tz_string.rs`) checks this and the
//! round-trip properties.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod civil;
mod install;
mod parse;
mod tzif;
mod zone;

pub use civil::DateTime;
pub use install::{install, InstallError, RAW_STRING_FILE};
pub use parse::{Field, ParseError, ParseErrorKind, MAX_LEN};
pub use tzif::{to_tzif, TABLE_FIRST_YEAR, TABLE_LAST_YEAR};
pub use zone::{DstRules, LocalResult, Offset, RuleDate, TimeZone, Transition, TransitionRule, DEFAULT};
