//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use tz::{DateTime, TimeZone};

/// Unix time of `YYYY-MM-DDTHH:MM:SSZ`, written out in tests so the
/// expected instants read as dates.
pub fn utc(s: &str) -> i64 {
    dt(s.strip_suffix('Z').expect("ends with Z"), 'T').to_unix_utc()
}

/// A `DateTime` from `YYYY-MM-DD HH:MM:SS` (separator `sep` between date
/// and time).
pub fn dt(s: &str, sep: char) -> DateTime {
    let (d, t) = s.split_once(sep).expect("date and time");
    let d: Vec<i64> = d.splitn(3, '-').map(|x| x.parse().expect("date field")).collect();
    let t: Vec<u8> = t.split(':').map(|x| x.parse().expect("time field")).collect();
    DateTime::new(d[0] as i32, d[1] as u8, d[2] as u8, t[0], t[1], t[2]).expect("valid date")
}

/// A local wall-clock time `YYYY-MM-DD HH:MM:SS`.
pub fn local(s: &str) -> DateTime {
    dt(s, ' ')
}

pub fn zone(s: &str) -> TimeZone {
    TimeZone::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The `Hoc.StaticTimeZone` examples of the DGW MIB and documentation.
pub const DGW_EXAMPLES: &[&str] = &[
    "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00",
    "PST8PDT7,M3.2.0/02:00:00,M11.1.0/02:00:00",
    "GMT0DMT-1,M3.5.0/01:00:00,M10.5.0/02:00:00",
    "WEST-1DWEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00",
    "CST-8",
    "TST-9",
    "CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00",
    "UTC0",
    "EST5DST4,M4.1.0/02:00:00,M10.5.0/02:00:00",
];

/// Further shapes: quoted names, southern hemisphere with default times,
/// rule times beyond 24 h and negative (RFC 8536, real tzdata footers),
/// negative DST, Jn and n rules, offsets with seconds, the IANA suffix.
pub const EXTRA_ZONES: &[&str] = &[
    "<+0530>-5:30",
    "NZST-12NZDT,M9.5.0,M4.1.0/3",
    "IST-2IDT,M3.4.4/26,M10.5.0",
    "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
    "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
    "IST-1GMT0,M10.5.0,M3.5.0/1",
    "JST3JDT,J60/0,J300/0",
    "NST3NDT,59/0,299/0",
    "LMT-0:53:28",
    "CET-1CEST,M3.5.0,M10.5.0/3",
    "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00;America/New_York",
];
