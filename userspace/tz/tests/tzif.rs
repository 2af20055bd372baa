//! The TZif bytes, read back field by field against RFC 8536 (glibc's
//! reading of them is in tests/glibc.rs).

mod common;

use common::{utc, zone};
use tz::{to_tzif, TimeZone, TABLE_LAST_YEAR};

#[derive(Debug)]
struct Block {
    times: Vec<i64>,
    idx: Vec<u8>,
    types: Vec<(i32, bool, u8)>,
    chars: Vec<u8>,
}

struct File {
    version: u8,
    v1: Block,
    v2: Block,
    footer: String,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

/// A strict reader: every count and length must add up exactly.
fn read_block(b: &[u8], wide: bool) -> (Block, usize, u8) {
    assert_eq!(&b[..4], b"TZif");
    let version = b[4];
    assert!(b[5..20].iter().all(|&x| x == 0), "reserved bytes");
    let c: Vec<usize> = (0..6).map(|i| be32(&b[20 + 4 * i..]) as usize).collect();
    let (isut, isstd, leap, timecnt, typecnt, charcnt) = (c[0], c[1], c[2], c[3], c[4], c[5]);
    assert_eq!((isut, isstd, leap), (0, 0, 0));
    assert!(
        typecnt >= 1 && charcnt >= 1,
        "RFC 8536 requires a type and a designation"
    );
    let w = if wide { 8 } else { 4 };
    let mut p = 44;
    let times = (0..timecnt)
        .map(|i| {
            let s = &b[p + w * i..p + w * (i + 1)];
            if wide {
                i64::from_be_bytes(s.try_into().unwrap())
            } else {
                i64::from(be32(s) as i32)
            }
        })
        .collect();
    p += w * timecnt;
    let idx = b[p..p + timecnt].to_vec();
    p += timecnt;
    let types = (0..typecnt)
        .map(|i| {
            let s = &b[p + 6 * i..];
            (be32(s) as i32, s[4] == 1, s[5])
        })
        .collect();
    p += 6 * typecnt;
    let chars = b[p..p + charcnt].to_vec();
    p += charcnt;
    (
        Block {
            times,
            idx,
            types,
            chars,
        },
        p,
        version,
    )
}

fn read(bytes: &[u8]) -> File {
    let (v1, n1, version) = read_block(bytes, false);
    let (v2, n2, version2) = read_block(&bytes[n1..], true);
    assert_eq!(version, version2);
    let footer = &bytes[n1 + n2..];
    assert_eq!(footer.first(), Some(&b'\n'));
    assert_eq!(footer.last(), Some(&b'\n'));
    let footer = String::from_utf8(footer[1..footer.len() - 1].to_vec()).unwrap();
    assert!(!footer.contains('\n'));
    File {
        version,
        v1,
        v2,
        footer,
    }
}

fn name(b: &Block, type_index: usize) -> String {
    let start = b.types[type_index].2 as usize;
    let end = start + b.chars[start..].iter().position(|&c| c == 0).unwrap();
    String::from_utf8(b.chars[start..end].to_vec()).unwrap()
}

#[test]
fn zone_without_dst() {
    let tz = zone("CST-8");
    let f = read(&to_tzif(&tz));
    assert_eq!(f.version, b'2');
    for b in [&f.v1, &f.v2] {
        assert!(b.times.is_empty());
        assert_eq!(b.types, [(8 * 3600, false, 0)]);
        assert_eq!(b.chars, b"CST\0");
    }
    assert_eq!(f.footer, "CST-8");
    // The IANA part stays out of the file.
    let f = read(&to_tzif(&zone("<+0530>-5:30;Asia/Kolkata")));
    assert_eq!(f.footer, "<+0530>-5:30");
    assert_eq!(name(&f.v2, 0), "+0530");
}

#[test]
fn zone_with_dst() {
    let tz = zone(tz::DEFAULT);
    let bytes = to_tzif(&tz);
    let f = read(&bytes);
    assert_eq!(f.version, b'2');
    // Version 1: minimal, standard time only.
    assert!(f.v1.times.is_empty());
    assert_eq!(f.v1.types, [(-18000, false, 0)]);
    // Version 2+: standard and daylight types.
    assert_eq!(f.v2.types, [(-18000, false, 0), (-14400, true, 4)]);
    assert_eq!((name(&f.v2, 0), name(&f.v2, 1)), ("EST".into(), "EDT".into()));
    // A first entry at -2^59 in standard time (it is January on 1970-01-01),
    // then alternating real transitions up to 2037.
    assert_eq!(f.v2.times[0], -(1 << 59));
    assert_eq!(f.v2.idx[0], 0);
    assert_eq!(f.v2.times.len(), 1 + 2 * 68);
    assert!(f.v2.times.windows(2).all(|w| w[0] < w[1]));
    assert!(f.v2.idx.windows(2).all(|w| w[0] != w[1]));
    assert!(f.v2.times.contains(&utc("2026-03-08T07:00:00Z")));
    assert!(f.v2.times.contains(&utc("2026-11-01T06:00:00Z")));
    let last = *f.v2.times.last().unwrap();
    assert_eq!(last, utc("2037-11-01T06:00:00Z"));
    // Every table entry agrees with the evaluator.
    for (&t, &i) in f.v2.times.iter().zip(&f.v2.idx).skip(1) {
        let off = tz.offset_at(t);
        assert_eq!(f.v2.types[i as usize].0, off.utc_offset);
        assert_eq!(f.v2.types[i as usize].1, off.is_dst);
    }
    // The footer parses back to the same rules and agrees with the last
    // transition (RFC 8536 §3.3).
    assert_eq!(f.footer, "EST5EDT,M3.2.0,M11.1.0");
    assert_eq!(TimeZone::parse(&f.footer).unwrap(), tz);
    assert!(!tz.offset_at(last).is_dst);
    assert_eq!(
        tz.transitions(TABLE_LAST_YEAR + 1)[0].unix,
        utc("2038-03-14T07:00:00Z")
    );
    assert!(bytes.len() < 1400, "{} bytes", bytes.len());
}

#[test]
fn southern_zone_starts_in_dst() {
    let tz = zone("CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00");
    let f = read(&to_tzif(&tz));
    // January 1970 is summer in Adelaide: the first entry is daylight time
    // and the first real transition ends it.
    assert_eq!(f.v2.idx[0], 1);
    assert_eq!(f.v2.idx[1], 0);
    assert!(f.v2.times[1] > 0 && f.v2.times[1] < utc("1970-04-01T00:00:00Z"));
    assert_eq!(f.footer, "CAUST-9:30DCAUST,M10.5.0,M3.5.0");
}

#[test]
fn version_3_only_for_extended_rule_times() {
    for (s, v) in [
        ("IST-2IDT,M3.4.4/26,M10.5.0", b'3'),
        ("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", b'3'),
        ("<-04>4<-03>,M9.1.6/24,M4.1.6/24", b'2'),
        ("CET-1CEST,M3.5.0,M10.5.0/3", b'2'),
        ("UTC0", b'2'),
    ] {
        assert_eq!(read(&to_tzif(&zone(s))).version, v, "{s}");
    }
}

#[test]
fn every_example_is_well_formed() {
    for s in common::DGW_EXAMPLES.iter().chain(common::EXTRA_ZONES) {
        let tz = zone(s);
        let f = read(&to_tzif(&tz));
        assert_eq!(
            TimeZone::parse(&f.footer).unwrap().posix_string(),
            tz.posix_string()
        );
        assert!(f.v2.idx.iter().all(|&i| (i as usize) < f.v2.types.len()));
        assert!(f.v2.times.windows(2).all(|w| w[0] < w[1]), "{s}");
        for t in &f.v2.types {
            assert!((t.2 as usize) < f.v2.chars.len());
        }
    }
    // Long names still give valid designation indices.
    let long = format!("{}0{},M3.2.0,M11.1.0", "A".repeat(115), "B".repeat(115));
    let f = read(&to_tzif(&zone(&long)));
    assert_eq!(name(&f.v2, 1), "B".repeat(115));
    // DST all year: one entry, into daylight time.
    let f = read(&to_tzif(&zone("EST5EDT,0/0,J365/25")));
    assert_eq!((f.v2.times.len(), f.v2.idx[0]), (1, 1));
}
