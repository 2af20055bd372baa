//! Hand-computed expectations for every DGW example and the extra shapes:
//! the instants just before and at each transition in 2026, 2027, 2028
//! (leap) and 2038 (after the 32-bit `time_t` limit), worked out from the
//! rules by hand. Calendar facts used: in 2026 March 1st is a Sunday and
//! October 1st a Thursday; 2027 and 2038 both start on a Friday; 2028
//! starts on a Saturday and is a leap year.

mod common;

use common::{local, utc, zone};
use tz::{LocalResult, RuleDate};

/// (UTC instant, expected `format_local`, expected DST flag).
type Row = (&'static str, &'static str, bool);

fn check(tz_string: &str, rows: &[Row]) {
    let tz = zone(tz_string);
    for &(at, want, dst) in rows {
        let t = utc(at);
        let got = tz.format_local(t);
        assert_eq!(got, want, "{tz_string} at {at} ({t})");
        let off = tz.offset_at(t);
        assert_eq!(off.is_dst, dst, "{tz_string} at {at}: DST flag");
        // The local date-time agrees with the formatted text.
        let ldt = tz.local_datetime(t).expect("in range");
        assert!(want.starts_with(&ldt.to_string()), "{tz_string} at {at}");
    }
}

#[test]
fn anchors() {
    // The helper against `date -u -d ... +%s`.
    assert_eq!(utc("2026-03-08T07:00:00Z"), 1_772_953_200);
    assert_eq!(utc("2038-01-19T03:14:08Z"), 1 << 31);
    assert_eq!(utc("1970-01-01T00:00:00Z"), 0);
}

#[test]
fn est5edt4_default() {
    check(
        "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00",
        &[
            ("2026-01-01T00:00:00Z", "2025-12-31 19:00:00 EST -05:00", false),
            // Second Sunday of March, 02:00 EST = 07:00Z.
            ("2026-03-08T06:59:59Z", "2026-03-08 01:59:59 EST -05:00", false),
            ("2026-03-08T07:00:00Z", "2026-03-08 03:00:00 EDT -04:00", true),
            // First Sunday of November, 02:00 EDT = 06:00Z.
            ("2026-11-01T05:59:59Z", "2026-11-01 01:59:59 EDT -04:00", true),
            ("2026-11-01T06:00:00Z", "2026-11-01 01:00:00 EST -05:00", false),
            ("2026-11-27T15:15:30Z", "2026-11-27 10:15:30 EST -05:00", false),
            ("2027-03-14T06:59:59Z", "2027-03-14 01:59:59 EST -05:00", false),
            ("2027-03-14T07:00:00Z", "2027-03-14 03:00:00 EDT -04:00", true),
            ("2027-11-07T05:59:59Z", "2027-11-07 01:59:59 EDT -04:00", true),
            ("2027-11-07T06:00:00Z", "2027-11-07 01:00:00 EST -05:00", false),
            ("2028-03-12T06:59:59Z", "2028-03-12 01:59:59 EST -05:00", false),
            ("2028-03-12T07:00:00Z", "2028-03-12 03:00:00 EDT -04:00", true),
            ("2028-11-05T05:59:59Z", "2028-11-05 01:59:59 EDT -04:00", true),
            ("2028-11-05T06:00:00Z", "2028-11-05 01:00:00 EST -05:00", false),
            ("2038-01-19T03:14:07Z", "2038-01-18 22:14:07 EST -05:00", false),
            ("2038-01-19T03:14:08Z", "2038-01-18 22:14:08 EST -05:00", false),
            ("2038-03-14T06:59:59Z", "2038-03-14 01:59:59 EST -05:00", false),
            ("2038-03-14T07:00:00Z", "2038-03-14 03:00:00 EDT -04:00", true),
            ("2038-11-07T05:59:59Z", "2038-11-07 01:59:59 EDT -04:00", true),
            ("2038-11-07T06:00:00Z", "2038-11-07 01:00:00 EST -05:00", false),
        ],
    );
}

#[test]
fn pst8pdt7() {
    check(
        "PST8PDT7,M3.2.0/02:00:00,M11.1.0/02:00:00",
        &[
            ("2026-03-08T09:59:59Z", "2026-03-08 01:59:59 PST -08:00", false),
            ("2026-03-08T10:00:00Z", "2026-03-08 03:00:00 PDT -07:00", true),
            ("2026-11-01T08:59:59Z", "2026-11-01 01:59:59 PDT -07:00", true),
            ("2026-11-01T09:00:00Z", "2026-11-01 01:00:00 PST -08:00", false),
            ("2028-03-12T09:59:59Z", "2028-03-12 01:59:59 PST -08:00", false),
            ("2028-03-12T10:00:00Z", "2028-03-12 03:00:00 PDT -07:00", true),
            ("2028-11-05T08:59:59Z", "2028-11-05 01:59:59 PDT -07:00", true),
            ("2028-11-05T09:00:00Z", "2028-11-05 01:00:00 PST -08:00", false),
        ],
    );
}

#[test]
fn gmt0dmt() {
    // Start 01:00 GMT and end 02:00 DMT: both 01:00Z, last Sundays.
    check(
        "GMT0DMT-1,M3.5.0/01:00:00,M10.5.0/02:00:00",
        &[
            ("2026-03-29T00:59:59Z", "2026-03-29 00:59:59 GMT +00:00", false),
            ("2026-03-29T01:00:00Z", "2026-03-29 02:00:00 DMT +01:00", true),
            ("2026-10-25T00:59:59Z", "2026-10-25 01:59:59 DMT +01:00", true),
            ("2026-10-25T01:00:00Z", "2026-10-25 01:00:00 GMT +00:00", false),
            ("2027-03-28T00:59:59Z", "2027-03-28 00:59:59 GMT +00:00", false),
            ("2027-03-28T01:00:00Z", "2027-03-28 02:00:00 DMT +01:00", true),
            // October 2027 has five Sundays: the last is the 31st.
            ("2027-10-31T00:59:59Z", "2027-10-31 01:59:59 DMT +01:00", true),
            ("2027-10-31T01:00:00Z", "2027-10-31 01:00:00 GMT +00:00", false),
            ("2028-03-26T00:59:59Z", "2028-03-26 00:59:59 GMT +00:00", false),
            ("2028-03-26T01:00:00Z", "2028-03-26 02:00:00 DMT +01:00", true),
            ("2028-10-29T00:59:59Z", "2028-10-29 01:59:59 DMT +01:00", true),
            ("2028-10-29T01:00:00Z", "2028-10-29 01:00:00 GMT +00:00", false),
        ],
    );
}

#[test]
fn west_dwest_east_of_greenwich() {
    // Negative POSIX offsets are east: WEST is UTC+1, DWEST UTC+2.
    // Start 02:00 WEST = 01:00Z, end 03:00 DWEST = 01:00Z.
    check(
        "WEST-1DWEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00",
        &[
            ("2026-03-29T00:59:59Z", "2026-03-29 01:59:59 WEST +01:00", false),
            ("2026-03-29T01:00:00Z", "2026-03-29 03:00:00 DWEST +02:00", true),
            ("2026-10-25T00:59:59Z", "2026-10-25 02:59:59 DWEST +02:00", true),
            ("2026-10-25T01:00:00Z", "2026-10-25 02:00:00 WEST +01:00", false),
            ("2028-03-26T00:59:59Z", "2028-03-26 01:59:59 WEST +01:00", false),
            ("2028-03-26T01:00:00Z", "2028-03-26 03:00:00 DWEST +02:00", true),
            ("2028-10-29T00:59:59Z", "2028-10-29 02:59:59 DWEST +02:00", true),
            ("2028-10-29T01:00:00Z", "2028-10-29 02:00:00 WEST +01:00", false),
        ],
    );
}

#[test]
fn fixed_offsets() {
    check(
        "CST-8",
        &[
            ("2026-07-01T00:00:00Z", "2026-07-01 08:00:00 CST +08:00", false),
            ("2026-12-31T15:59:59Z", "2026-12-31 23:59:59 CST +08:00", false),
            ("2026-12-31T16:00:00Z", "2027-01-01 00:00:00 CST +08:00", false),
        ],
    );
    check(
        "TST-9",
        &[("2026-03-29T01:00:00Z", "2026-03-29 10:00:00 TST +09:00", false)],
    );
    check(
        "UTC0",
        &[
            ("2026-06-01T12:00:00Z", "2026-06-01 12:00:00 UTC +00:00", false),
            ("2038-01-19T03:14:08Z", "2038-01-19 03:14:08 UTC +00:00", false),
        ],
    );
    check(
        "<+0530>-5:30",
        &[("2026-01-01T00:00:00Z", "2026-01-01 05:30:00 +0530 +05:30", false)],
    );
    check(
        "LMT-0:53:28",
        &[("2026-01-01T00:00:00Z", "2026-01-01 00:53:28 LMT +00:53:28", false)],
    );
    for s in ["CST-8", "TST-9", "UTC0", "<+0530>-5:30"] {
        assert!(zone(s).transitions(2026).is_empty(), "{s}");
        assert!(zone(s).next_transition(0).is_none(), "{s}");
    }
}

#[test]
fn caust_southern_half_hour() {
    // DST (UTC+10:30) from the last Sunday of October 02:00 CAUST
    // (16:30Z the day before) to the last Sunday of March 02:00 DCAUST
    // (15:30Z the day before), so across the new year.
    check(
        "CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00",
        &[
            ("2026-01-01T00:00:00Z", "2026-01-01 10:30:00 DCAUST +10:30", true),
            ("2026-03-28T15:29:59Z", "2026-03-29 01:59:59 DCAUST +10:30", true),
            ("2026-03-28T15:30:00Z", "2026-03-29 01:00:00 CAUST +09:30", false),
            ("2026-07-01T00:00:00Z", "2026-07-01 09:30:00 CAUST +09:30", false),
            ("2026-10-24T16:29:59Z", "2026-10-25 01:59:59 CAUST +09:30", false),
            ("2026-10-24T16:30:00Z", "2026-10-25 03:00:00 DCAUST +10:30", true),
            ("2026-12-31T13:29:59Z", "2026-12-31 23:59:59 DCAUST +10:30", true),
            ("2026-12-31T13:30:00Z", "2027-01-01 00:00:00 DCAUST +10:30", true),
            ("2027-03-27T15:29:59Z", "2027-03-28 01:59:59 DCAUST +10:30", true),
            ("2027-03-27T15:30:00Z", "2027-03-28 01:00:00 CAUST +09:30", false),
            ("2027-10-30T16:29:59Z", "2027-10-31 01:59:59 CAUST +09:30", false),
            ("2027-10-30T16:30:00Z", "2027-10-31 03:00:00 DCAUST +10:30", true),
            ("2028-03-25T15:29:59Z", "2028-03-26 01:59:59 DCAUST +10:30", true),
            ("2028-03-25T15:30:00Z", "2028-03-26 01:00:00 CAUST +09:30", false),
            ("2028-10-28T16:29:59Z", "2028-10-29 01:59:59 CAUST +09:30", false),
            ("2028-10-28T16:30:00Z", "2028-10-29 03:00:00 DCAUST +10:30", true),
            ("2038-01-19T03:14:08Z", "2038-01-19 13:44:08 DCAUST +10:30", true),
        ],
    );
}

#[test]
fn est5dst4_old_default() {
    check(
        "EST5DST4,M4.1.0/02:00:00,M10.5.0/02:00:00",
        &[
            ("2026-04-05T06:59:59Z", "2026-04-05 01:59:59 EST -05:00", false),
            ("2026-04-05T07:00:00Z", "2026-04-05 03:00:00 DST -04:00", true),
            ("2026-10-25T05:59:59Z", "2026-10-25 01:59:59 DST -04:00", true),
            ("2026-10-25T06:00:00Z", "2026-10-25 01:00:00 EST -05:00", false),
            ("2027-04-04T06:59:59Z", "2027-04-04 01:59:59 EST -05:00", false),
            ("2027-04-04T07:00:00Z", "2027-04-04 03:00:00 DST -04:00", true),
            ("2027-10-31T05:59:59Z", "2027-10-31 01:59:59 DST -04:00", true),
            ("2027-10-31T06:00:00Z", "2027-10-31 01:00:00 EST -05:00", false),
            ("2028-04-02T06:59:59Z", "2028-04-02 01:59:59 EST -05:00", false),
            ("2028-04-02T07:00:00Z", "2028-04-02 03:00:00 DST -04:00", true),
            ("2028-10-29T05:59:59Z", "2028-10-29 01:59:59 DST -04:00", true),
            ("2028-10-29T06:00:00Z", "2028-10-29 01:00:00 EST -05:00", false),
        ],
    );
}

#[test]
fn new_zealand_default_time_and_explicit_end() {
    // Start: last Sunday of September 02:00 NZST = 14:00Z the day before;
    // end: first Sunday of April 03:00 NZDT = 14:00Z the day before.
    check(
        "NZST-12NZDT,M9.5.0,M4.1.0/3",
        &[
            ("2026-04-04T13:59:59Z", "2026-04-05 02:59:59 NZDT +13:00", true),
            ("2026-04-04T14:00:00Z", "2026-04-05 02:00:00 NZST +12:00", false),
            ("2026-09-26T13:59:59Z", "2026-09-27 01:59:59 NZST +12:00", false),
            ("2026-09-26T14:00:00Z", "2026-09-27 03:00:00 NZDT +13:00", true),
        ],
    );
}

#[test]
fn rule_times_beyond_24h_and_negative() {
    // Israel: 26:00 on the fourth Thursday of March = Friday 02:00 IST =
    // Friday 00:00Z (2026-03-27).
    check(
        "IST-2IDT,M3.4.4/26,M10.5.0",
        &[
            ("2026-03-26T23:59:59Z", "2026-03-27 01:59:59 IST +02:00", false),
            ("2026-03-27T00:00:00Z", "2026-03-27 03:00:00 IDT +03:00", true),
            ("2026-10-24T22:59:59Z", "2026-10-25 01:59:59 IDT +03:00", true),
            ("2026-10-24T23:00:00Z", "2026-10-25 01:00:00 IST +02:00", false),
        ],
    );
    // Greenland: -1:00 on the last Sunday of March is Saturday 23:00 at
    // UTC-2 = 01:00Z; 00:00 on the last Sunday of October at UTC-1 = 01:00Z.
    check(
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        &[
            ("2026-03-29T00:59:59Z", "2026-03-28 22:59:59 -02 -02:00", false),
            ("2026-03-29T01:00:00Z", "2026-03-29 00:00:00 -01 -01:00", true),
            ("2026-10-25T00:59:59Z", "2026-10-24 23:59:59 -01 -01:00", true),
            ("2026-10-25T01:00:00Z", "2026-10-24 23:00:00 -02 -02:00", false),
        ],
    );
    // Chile: 24:00 on the first Saturday is Sunday 00:00; southern.
    check(
        "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
        &[
            ("2026-04-05T02:59:59Z", "2026-04-04 23:59:59 -03 -03:00", true),
            ("2026-04-05T03:00:00Z", "2026-04-04 23:00:00 -04 -04:00", false),
            ("2026-09-06T03:59:59Z", "2026-09-05 23:59:59 -04 -04:00", false),
            ("2026-09-06T04:00:00Z", "2026-09-06 01:00:00 -03 -03:00", true),
        ],
    );
}

#[test]
fn negative_dst() {
    // Ireland's tzdata form: standard IST (UTC+1) in summer, "DST" GMT
    // (UTC+0) in winter, from the last Sunday of October 02:00 IST to the
    // last Sunday of March 01:00 GMT.
    check(
        "IST-1GMT0,M10.5.0,M3.5.0/1",
        &[
            ("2026-03-29T00:59:59Z", "2026-03-29 00:59:59 GMT +00:00", true),
            ("2026-03-29T01:00:00Z", "2026-03-29 02:00:00 IST +01:00", false),
            ("2026-10-25T00:59:59Z", "2026-10-25 01:59:59 IST +01:00", false),
            ("2026-10-25T01:00:00Z", "2026-10-25 01:00:00 GMT +00:00", true),
        ],
    );
}

#[test]
fn julian_rules_and_leap_years() {
    // J60 is March 1st in every year; J300 is October 27th in every year.
    check(
        "JST3JDT,J60/0,J300/0",
        &[
            ("2027-03-01T02:59:59Z", "2027-02-28 23:59:59 JST -03:00", false),
            ("2027-03-01T03:00:00Z", "2027-03-01 01:00:00 JDT -02:00", true),
            ("2028-03-01T02:59:59Z", "2028-02-29 23:59:59 JST -03:00", false),
            ("2028-03-01T03:00:00Z", "2028-03-01 01:00:00 JDT -02:00", true),
            ("2027-10-27T01:59:59Z", "2027-10-26 23:59:59 JDT -02:00", true),
            ("2027-10-27T02:00:00Z", "2027-10-26 23:00:00 JST -03:00", false),
            ("2028-10-27T01:59:59Z", "2028-10-26 23:59:59 JDT -02:00", true),
            ("2028-10-27T02:00:00Z", "2028-10-26 23:00:00 JST -03:00", false),
        ],
    );
    // Zero-based n counts February 29th: 59 is March 1st in 2027 but
    // February 29th in 2028; 299 is October 27th in 2027, the 26th in 2028.
    check(
        "NST3NDT,59/0,299/0",
        &[
            ("2027-03-01T02:59:59Z", "2027-02-28 23:59:59 NST -03:00", false),
            ("2027-03-01T03:00:00Z", "2027-03-01 01:00:00 NDT -02:00", true),
            ("2028-02-29T02:59:59Z", "2028-02-28 23:59:59 NST -03:00", false),
            ("2028-02-29T03:00:00Z", "2028-02-29 01:00:00 NDT -02:00", true),
            ("2027-10-27T01:59:59Z", "2027-10-26 23:59:59 NDT -02:00", true),
            ("2027-10-27T02:00:00Z", "2027-10-26 23:00:00 NST -03:00", false),
            ("2028-10-26T01:59:59Z", "2028-10-25 23:59:59 NDT -02:00", true),
            ("2028-10-26T02:00:00Z", "2028-10-25 23:00:00 NST -03:00", false),
        ],
    );
}

#[test]
fn week_five_means_last() {
    // M10.5.0: October 2026 has four Sundays (last the 25th), October
    // 2027 five (last the 31st). M2.5.0 in a leap year with five Sundays:
    // February 2032 starts on a Sunday, so its last Sunday is the 29th.
    let tz = zone("AAA0BBB,M2.5.0/0,M10.5.0/0");
    let days: Vec<String> = [2026, 2027, 2032]
        .iter()
        .flat_map(|&y| tz.transitions(y))
        .map(|t| tz.format_local(t.unix))
        .collect();
    assert_eq!(
        days,
        [
            "2026-02-22 01:00:00 BBB +01:00",
            "2026-10-24 23:00:00 AAA +00:00",
            "2027-02-28 01:00:00 BBB +01:00",
            "2027-10-30 23:00:00 AAA +00:00",
            "2032-02-29 01:00:00 BBB +01:00",
            "2032-10-30 23:00:00 AAA +00:00",
        ]
    );
    let RuleDate::MonthWeekDay { week, .. } = tz.dst().unwrap().start().date else {
        panic!("Mm.w.d")
    };
    assert_eq!(week, 5);
}

#[test]
fn dst_all_year_and_never() {
    // The RFC 8536 idiom for permanent DST: the period from Jan 1 00:00
    // EST to Dec 31 25:00 EDT reaches the next start.
    check(
        "EST5EDT,0/0,J365/25",
        &[
            ("2026-01-01T03:59:59Z", "2025-12-31 23:59:59 EDT -04:00", true),
            ("2026-01-01T04:00:00Z", "2026-01-01 00:00:00 EDT -04:00", true),
            // Where the rules put both the end of one DST period and the
            // start of the next.
            ("2026-01-01T04:59:59Z", "2026-01-01 00:59:59 EDT -04:00", true),
            ("2026-01-01T05:00:00Z", "2026-01-01 01:00:00 EDT -04:00", true),
            ("2026-07-01T00:00:00Z", "2026-06-30 20:00:00 EDT -04:00", true),
            ("2028-12-31T23:00:00Z", "2028-12-31 19:00:00 EDT -04:00", true),
        ],
    );
    let tz = zone("EST5EDT,0/0,J365/25");
    assert!(tz.transitions(2026).is_empty());
    assert!(tz.next_transition(utc("2026-05-01T00:00:00Z")).is_none());
    // Start and end at the same instant: no DST.
    let tz = zone("EST5EDT,M3.2.0/2,M3.2.0/3");
    assert!(!tz.offset_at(utc("2026-03-08T07:00:00Z")).is_dst);
    assert!(tz.transitions(2026).is_empty());
}

#[test]
fn transitions_of_a_year() {
    let tz = zone(tz::DEFAULT);
    let t = tz.transitions(2026);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].unix, utc("2026-03-08T07:00:00Z"));
    assert_eq!(
        (t[0].before.abbreviation, t[0].after.abbreviation),
        ("EST", "EDT")
    );
    assert_eq!((t[0].before.utc_offset, t[0].after.utc_offset), (-18000, -14400));
    assert_eq!(t[1].unix, utc("2026-11-01T06:00:00Z"));
    assert_eq!((t[1].before.is_dst, t[1].after.is_dst), (true, false));
    assert_eq!(tz.next_transition(t[0].unix - 1).unwrap().unix, t[0].unix);
    assert_eq!(tz.next_transition(t[0].unix).unwrap().unix, t[1].unix);
    assert_eq!(
        tz.next_transition(t[1].unix).unwrap().unix,
        utc("2027-03-14T07:00:00Z")
    );

    // Southern: the year's end of DST comes first.
    let tz = zone("CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00");
    let t: Vec<(i64, &str)> = tz
        .transitions(2026)
        .iter()
        .map(|t| (t.unix, t.after.abbreviation))
        .collect();
    assert_eq!(
        t,
        [
            (utc("2026-03-28T15:30:00Z"), "CAUST"),
            (utc("2026-10-24T16:30:00Z"), "DCAUST")
        ]
    );
}

#[test]
fn local_to_utc_northern() {
    let tz = zone(tz::DEFAULT);
    let u = |s| tz.to_utc(&local(s));
    assert_eq!(
        u("2026-03-08 01:59:59"),
        LocalResult::Unique(utc("2026-03-08T06:59:59Z"))
    );
    // 02:00:00 to 02:59:59 never happen on 2026-03-08.
    for (l, e, la) in [
        (
            "2026-03-08 02:00:00",
            "2026-03-08T06:00:00Z",
            "2026-03-08T07:00:00Z",
        ),
        (
            "2026-03-08 02:30:00",
            "2026-03-08T06:30:00Z",
            "2026-03-08T07:30:00Z",
        ),
        (
            "2026-03-08 02:59:59",
            "2026-03-08T06:59:59Z",
            "2026-03-08T07:59:59Z",
        ),
    ] {
        let r = u(l);
        assert_eq!(
            r,
            LocalResult::Gap {
                earlier: utc(e),
                later: utc(la),
                transition: utc("2026-03-08T07:00:00Z")
            },
            "{l}"
        );
        assert_eq!(r.unique(), None);
        // RFC 5545: read with the pre-gap offset, shown as 03:xx EDT.
        assert_eq!(r.compatible(), utc(la));
    }
    assert_eq!(
        tz.format_local(u("2026-03-08 02:30:00").compatible()),
        "2026-03-08 03:30:00 EDT -04:00"
    );
    assert_eq!(
        u("2026-03-08 03:00:00"),
        LocalResult::Unique(utc("2026-03-08T07:00:00Z"))
    );
    // 01:00:00 to 01:59:59 happen twice on 2026-11-01.
    assert_eq!(
        u("2026-11-01 00:59:59"),
        LocalResult::Unique(utc("2026-11-01T04:59:59Z"))
    );
    for (l, e, la) in [
        (
            "2026-11-01 01:00:00",
            "2026-11-01T05:00:00Z",
            "2026-11-01T06:00:00Z",
        ),
        (
            "2026-11-01 01:59:59",
            "2026-11-01T05:59:59Z",
            "2026-11-01T06:59:59Z",
        ),
    ] {
        let r = u(l);
        assert_eq!(
            r,
            LocalResult::Ambiguous {
                earlier: utc(e),
                later: utc(la)
            },
            "{l}"
        );
        assert_eq!(r.compatible(), utc(e));
    }
    assert_eq!(
        u("2026-11-01 02:00:00"),
        LocalResult::Unique(utc("2026-11-01T07:00:00Z"))
    );
    assert_eq!(
        u("2026-07-04 12:00:00").unique(),
        Some(utc("2026-07-04T16:00:00Z"))
    );
}

#[test]
fn local_to_utc_southern_and_unusual() {
    // CAUST: clocks back 03:00 -> 02:00 DCAUST on 2026-03-29, forward
    // 02:00 -> 03:00 CAUST on 2026-10-25; half-hour offsets.
    let tz = zone("CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00");
    assert_eq!(
        tz.to_utc(&local("2026-03-29 01:30:00")),
        LocalResult::Ambiguous {
            earlier: utc("2026-03-28T15:00:00Z"),
            later: utc("2026-03-28T16:00:00Z")
        }
    );
    assert_eq!(
        tz.to_utc(&local("2026-10-25 02:15:00")),
        LocalResult::Gap {
            earlier: utc("2026-10-24T15:45:00Z"),
            later: utc("2026-10-24T16:45:00Z"),
            transition: utc("2026-10-24T16:30:00Z")
        }
    );
    assert_eq!(
        tz.to_utc(&local("2027-01-01 00:00:00")),
        LocalResult::Unique(utc("2026-12-31T13:30:00Z"))
    );

    // Negative DST: the overlap is at the DST *start* (October), the gap
    // at its end (March).
    let tz = zone("IST-1GMT0,M10.5.0,M3.5.0/1");
    assert_eq!(
        tz.to_utc(&local("2026-10-25 01:30:00")),
        LocalResult::Ambiguous {
            earlier: utc("2026-10-25T00:30:00Z"),
            later: utc("2026-10-25T01:30:00Z")
        }
    );
    assert_eq!(
        tz.to_utc(&local("2026-03-29 01:30:00")),
        LocalResult::Gap {
            earlier: utc("2026-03-29T00:30:00Z"),
            later: utc("2026-03-29T01:30:00Z"),
            transition: utc("2026-03-29T01:00:00Z")
        }
    );

    // Greenland: the gap and overlap are around local midnight, on the
    // Saturday evening.
    let tz = zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_eq!(
        tz.to_utc(&local("2026-03-28 23:30:00")),
        LocalResult::Gap {
            earlier: utc("2026-03-29T00:30:00Z"),
            later: utc("2026-03-29T01:30:00Z"),
            transition: utc("2026-03-29T01:00:00Z")
        }
    );
    assert_eq!(
        tz.to_utc(&local("2026-10-24 23:30:00")),
        LocalResult::Ambiguous {
            earlier: utc("2026-10-25T00:30:00Z"),
            later: utc("2026-10-25T01:30:00Z")
        }
    );

    // No DST: always unique.
    let tz = zone("CST-8");
    assert_eq!(
        tz.to_utc(&local("2026-03-08 02:30:00")),
        LocalResult::Unique(utc("2026-03-07T18:30:00Z"))
    );
}

#[test]
fn local_round_trip_everywhere() {
    // Every instant's own wall-clock reading maps back to it (as the
    // unique answer or one of the two in an overlap), every 20 minutes
    // for three years and around every transition.
    let zones: Vec<_> = common::DGW_EXAMPLES
        .iter()
        .chain(common::EXTRA_ZONES)
        .chain(&["EST5EDT,0/0,J365/25", "EST5EDT,M3.2.0/2,M3.2.0/3"])
        .map(|s| zone(s))
        .collect();
    for tz in &zones {
        let mut instants: Vec<i64> = (utc("2026-01-01T00:00:00Z")..utc("2029-01-01T00:00:00Z"))
            .step_by(1200)
            .collect();
        for y in 2026..2029 {
            for t in tz.transitions(y) {
                instants.extend((-3700..3700).step_by(50).map(|d| t.unix + d));
            }
        }
        for t in instants {
            let l = tz.local_datetime(t).unwrap();
            match tz.to_utc(&l) {
                LocalResult::Unique(u) => assert_eq!(u, t, "{tz} {l}"),
                LocalResult::Ambiguous { earlier, later } => {
                    assert!(t == earlier || t == later, "{tz} {l}");
                    assert!(earlier < later);
                }
                r @ LocalResult::Gap { .. } => {
                    panic!("{tz} {l}: a time that happened is a gap {r:?}")
                }
            }
        }
    }
}

#[test]
fn extreme_instants_do_not_panic() {
    for s in common::DGW_EXAMPLES.iter().chain(common::EXTRA_ZONES) {
        let tz = zone(s);
        for t in [
            i64::MIN,
            i64::MIN + 1,
            -1 << 59,
            -1,
            0,
            1 << 59,
            i64::MAX - 1,
            i64::MAX,
        ] {
            let _ = tz.offset_at(t);
            let text = tz.format_local(t);
            assert!(!text.is_empty());
            let _ = tz.local_datetime(t);
            let _ = tz.next_transition(t);
        }
        for y in [i32::MIN, -1, 0, 1, i32::MAX] {
            let _ = tz.transitions(y);
        }
        let far = tz::DateTime::new(i32::MAX, 12, 31, 23, 59, 59).unwrap();
        let _ = tz.to_utc(&far);
        let far = tz::DateTime::new(i32::MIN, 1, 1, 0, 0, 0).unwrap();
        let _ = tz.to_utc(&far);
    }
    assert_eq!(
        zone("UTC0").format_local(i64::MAX),
        "292277026596-12-04 15:30:07 UTC +00:00"
    );
    assert_eq!(
        zone("UTC0").format_local(i64::MIN),
        "-292277022657-01-27 08:29:52 UTC +00:00"
    );
}
