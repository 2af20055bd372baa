//! TZif (RFC 8536) output: the binary format of `/etc/localtime`.
//!
//! # Layout written
//!
//! * Version `2`, or `3` when a rule time lies outside 0-24 h (the only
//!   RFC 8536 v3 extension a POSIX string here can use).
//! * A minimal version-1 block: no transitions, one type (standard time).
//!   Readers of version 2+ skip it (glibc does whatever its `time_t`
//!   width, since it reads the 64-bit block on every platform).
//! * The version-2+ block. For a zone without DST: no transitions and
//!   the single standard type. For a zone with DST: types 0 (standard) and
//!   1 (daylight), a first transition at -2^59 (RFC 8536's earliest
//!   recommended time, zic's "big bang") into the type in effect on
//!   1970-01-01, then every real transition of the rule years
//!   [`TABLE_FIRST_YEAR`]..=[`TABLE_LAST_YEAR`].
//! * The footer: `\n`, the canonical POSIX string, `\n`. Readers use it
//!   after the last transition.
//!
//! # Why a table and not just the footer
//!
//! RFC 8536 lets a file with no transitions rely on its footer for all
//! times, but glibc does not. Its `__tzfile_compute` (`time/tzfile.c`)
//! takes the footer only for instants at or after the *last transition*;
//! with no transitions at all it uses the first standard-time type for
//! every instant. Checked on Debian 12 (glibc 2.36) with GNU `date` and a
//! hand-made footer-only file for `EST5EDT,M3.2.0,M11.1.0`: July 2026 came
//! out as EST. (The same function asserts that such a file has a single
//! type; Debian's build does not trip on it, other builds might abort.)
//! So a zone with DST needs at least one transition for its footer to be
//! used at all.
//!
//! A table up to 2037 (zic's default cut-off) is also what every TZif
//! reader understands, including ones that ignore footers. Within it glibc
//! reads our transitions instead of evaluating the string itself, which
//! only matters where its evaluation is off: it computes both rule
//! instants within the instant's UTC year, and for years before 1970 it
//! counts from 1970-01-01 (`compute_change` in `time/tzset.c`). For
//! ordinary rules the table and glibc's evaluation agree, and the glibc
//! cross-check tests compare both against this crate. Before 1970 the file
//! holds the state of 1970-01-01.
//!
//! One case no table fixes: a DST-all-year string such as
//! `EST5EDT,0/0,J365/25` has no transitions to list, so glibc evaluates
//! the footer everywhere, and glibc computes both rule instants within the
//! instant's *UTC* year; it therefore shows standard time from 00:00 UTC
//! on January 1st until the start instant (here 05:00 UTC), every year.
//! This crate says daylight time throughout, as RFC 8536 intends. A zone
//! that never leaves DST is better written as a standard-time-only
//! string with the daylight offset (`<EDT>4`).

use crate::zone::TimeZone;

/// First rule year listed in the transition table.
pub const TABLE_FIRST_YEAR: i32 = 1970;
/// Last rule year listed in the transition table; later times come from
/// the footer (zic's default cut-off, the end of 32-bit `time_t`).
pub const TABLE_LAST_YEAR: i32 = 2037;

/// RFC 8536 §3.2: transition times should be no earlier than -2^59.
const BIG_BANG: i64 = -(1 << 59);

/// One local time type of the file.
struct Ttinfo<'a> {
    utoff: i32,
    isdst: bool,
    name: &'a str,
}

/// The counts and arrays of one data block.
struct Block<'a> {
    times: Vec<i64>,
    type_idx: Vec<u8>,
    types: Vec<Ttinfo<'a>>,
}

impl Block<'_> {
    fn designations(&self) -> (Vec<u8>, Vec<u8>) {
        // Each abbreviation once, NUL-terminated; the index of each type's
        // string goes in its ttinfo.
        let mut chars = Vec::new();
        let mut idx = Vec::new();
        for t in &self.types {
            idx.push(chars.len() as u8);
            chars.extend_from_slice(t.name.as_bytes());
            chars.push(0);
        }
        (chars, idx)
    }

    fn write(&self, out: &mut Vec<u8>, version: u8, wide: bool) {
        let (chars, idx) = self.designations();
        out.extend_from_slice(b"TZif");
        out.push(version);
        out.extend_from_slice(&[0; 15]);
        // isutcnt, isstdcnt, leapcnt: zero (no UT/standard indicators,
        // which only matter for POSIX-rule defaults, and no leap seconds).
        for count in [0, 0, 0, self.times.len(), self.types.len(), chars.len()] {
            out.extend_from_slice(&(count as u32).to_be_bytes());
        }
        for &t in &self.times {
            if wide {
                out.extend_from_slice(&t.to_be_bytes());
            } else {
                // Only the version-1 block is narrow and it has no times.
                out.extend_from_slice(&(t as i32).to_be_bytes());
            }
        }
        out.extend_from_slice(&self.type_idx);
        for (t, &i) in self.types.iter().zip(&idx) {
            out.extend_from_slice(&t.utoff.to_be_bytes());
            out.push(u8::from(t.isdst));
            out.push(i);
        }
        out.extend_from_slice(&chars);
    }
}

/// A TZif file for `tz`, ready to become `/etc/localtime`.
///
/// See the module documentation for what it holds and why. The size is
/// small (about 1.3 kB with DST, under 100 bytes without); the POSIX
/// string is in the footer and the `;IANA` part is not stored.
pub fn to_tzif(tz: &TimeZone) -> Vec<u8> {
    let version = if tz.needs_tzif_v3() { b'3' } else { b'2' };
    // Designation indices are single bytes. They fit: the whole string is
    // at most 255 characters, so the standard name plus its NUL, which is
    // where the daylight name starts, is shorter than that.
    let v1 = Block {
        times: Vec::new(),
        type_idx: Vec::new(),
        types: vec![Ttinfo {
            utoff: tz.std_offset(),
            isdst: false,
            name: tz.std_abbreviation(),
        }],
    };
    let v2 = match tz.dst() {
        None => Block {
            times: Vec::new(),
            type_idx: Vec::new(),
            types: vec![Ttinfo {
                utoff: tz.std_offset(),
                isdst: false,
                name: tz.std_abbreviation(),
            }],
        },
        Some(d) => {
            let types = vec![
                Ttinfo {
                    utoff: tz.std_offset(),
                    isdst: false,
                    name: tz.std_abbreviation(),
                },
                Ttinfo {
                    utoff: d.utc_offset(),
                    isdst: true,
                    name: d.abbreviation(),
                },
            ];
            let mut times = vec![BIG_BANG];
            let mut type_idx = vec![u8::from(tz.offset_at(0).is_dst)];
            for year in TABLE_FIRST_YEAR..=TABLE_LAST_YEAR {
                for t in tz.transitions(year) {
                    let idx = u8::from(t.after.is_dst);
                    // Skip anything not after the previous entry or not a
                    // change from it (the state on 1970-01-01 is already
                    // in the big-bang entry).
                    let last_time = times.last().copied().unwrap_or(BIG_BANG);
                    let last_idx = type_idx.last().copied();
                    if t.unix > last_time && Some(idx) != last_idx && t.unix >= 0 {
                        times.push(t.unix);
                        type_idx.push(idx);
                    }
                }
            }
            Block {
                times,
                type_idx,
                types,
            }
        }
    };
    let mut out = Vec::new();
    v1.write(&mut out, version, false);
    v2.write(&mut out, version, true);
    out.push(b'\n');
    out.extend_from_slice(tz.posix_string().as_bytes());
    out.push(b'\n');
    out
}
