//! The parser: what it accepts and what it reads, what it refuses and
//! where it says the problem is, and the canonical form.

mod common;

use common::zone;
use tz::{Field, ParseErrorKind, RuleDate, TimeZone, TransitionRule};

#[test]
fn dgw_examples_fields() {
    let tz = zone("EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00");
    assert_eq!(tz.std_abbreviation(), "EST");
    assert_eq!(tz.std_offset(), -5 * 3600);
    let d = tz.dst().unwrap();
    assert_eq!(d.abbreviation(), "EDT");
    assert_eq!(d.utc_offset(), -4 * 3600);
    assert_eq!(
        d.start(),
        TransitionRule {
            date: RuleDate::MonthWeekDay {
                month: 3,
                week: 2,
                weekday: 0
            },
            time: 7200
        }
    );
    assert_eq!(
        d.end().date,
        RuleDate::MonthWeekDay {
            month: 11,
            week: 1,
            weekday: 0
        }
    );
    assert_eq!(tz.iana(), None);

    let tz = zone("CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00");
    assert_eq!(tz.std_offset(), 9 * 3600 + 1800);
    assert_eq!(tz.dst().unwrap().utc_offset(), 10 * 3600 + 1800);

    let tz = zone("CST-8");
    assert_eq!((tz.std_abbreviation(), tz.std_offset()), ("CST", 8 * 3600));
    assert!(tz.dst().is_none());

    // A missing DST offset is one hour ahead of standard time.
    let tz = zone("CET-1CEST,M3.5.0,M10.5.0/3");
    assert_eq!(tz.dst().unwrap().utc_offset(), 2 * 3600);
    assert_eq!(tz.dst().unwrap().start().time, 7200);
    assert_eq!(tz.dst().unwrap().end().time, 3 * 3600);

    let tz = zone("EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00;America/New_York");
    assert_eq!(tz.iana(), Some("America/New_York"));

    let tz = zone("<+0530>-5:30");
    assert_eq!(tz.std_abbreviation(), "+0530");
    assert_eq!(tz.std_offset(), 5 * 3600 + 1800);

    let tz = zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_eq!(tz.dst().unwrap().start().time, -3600);
    assert_eq!(tz.dst().unwrap().end().time, 0);

    let tz = zone("IST-2IDT,M3.4.4/26,M10.5.0");
    assert_eq!(tz.dst().unwrap().start().time, 26 * 3600);

    let tz = zone("JST3JDT,J60/0,300/-167:59:59");
    assert_eq!(tz.dst().unwrap().start().date, RuleDate::Julian1 { day: 60 });
    assert_eq!(tz.dst().unwrap().end().date, RuleDate::Julian0 { day: 300 });
    assert_eq!(tz.dst().unwrap().end().time, -(167 * 3600 + 59 * 60 + 59));
}

#[test]
fn accepted_variants() {
    for s in common::DGW_EXAMPLES.iter().chain(common::EXTRA_ZONES) {
        zone(s);
    }
    for s in [
        // Signs, including '+' on offsets and rule times.
        "EST+5EDT+4,M3.2.0/+2,M11.1.0/-1",
        // Leading zeros and three-digit hours where ranges allow.
        "EST005EDT004,M03.02.00/002:00:00,M11.1.0",
        "XXX24YYY-24:59:59,J1/167,J365/-167",
        "ABC0DEF,0/0,365/0",
        // Quoted names with letters only, digits, signs.
        "<UTC>0",
        "<UTC+3>-3<UTC+4>,M3.5.0,M10.5.0",
        // Seconds in offsets.
        "LMT-0:53:28",
        "AAA1:2:3BBB,M1.1.0,M12.5.6",
        // Tz names with the IANA suffix shapes of tzdb.
        "UTC0;Etc/UTC",
        "<-05>5;Etc/GMT+5",
        "AST4;America/Port-au-Prince",
        "EST5EDT,M3.2.0,M11.1.0;EST5EDT",
        "SST11;Pacific/Pago_Pago",
        "ART3;America/Argentina/Buenos_Aires",
    ] {
        zone(s);
    }
    // Exactly the maximum length.
    let long = format!("UTC0;{}", "A".repeat(250));
    assert_eq!(long.len(), 255);
    zone(&long);
}

fn err(s: &str) -> (usize, ParseErrorKind) {
    let e = TimeZone::parse(s).expect_err(s);
    // The message always names a position inside or just after the text.
    assert!(e.position <= s.chars().count(), "{s}: {e}");
    assert!(e
        .to_string()
        .contains(&format!("at character {}", e.position + 1)));
    (e.position, e.kind)
}

#[test]
fn errors_say_what_and_where() {
    use ParseErrorKind as K;
    assert_eq!(err(""), (0, K::Empty));
    assert_eq!(
        err("E5"),
        (
            0,
            K::NameTooShort {
                field: Field::StdName,
                len: 1
            }
        )
    );
    assert_eq!(
        err("5EST"),
        (
            0,
            K::Expected {
                field: Field::StdName,
                expected: "a name of 3 or more letters, or <...>",
                found: Some('5')
            }
        )
    );
    assert!(matches!(
        err("EST"),
        (
            3,
            K::Expected {
                field: Field::StdOffset,
                found: None,
                ..
            }
        )
    ));
    // DST without rules, with or without a DST offset.
    assert_eq!(err("EST5EDT"), (7, K::DstWithoutRules));
    assert_eq!(err("EST5EDT4"), (8, K::DstWithoutRules));
    assert_eq!(err("EST5EDT;America/New_York"), (7, K::DstWithoutRules));
    assert_eq!(err("EST5,M3.2.0,M11.1.0"), (4, K::RulesWithoutDst));
    assert!(matches!(
        err("EST5EDT,"),
        (
            8,
            K::Expected {
                field: Field::StartRule,
                found: None,
                ..
            }
        )
    ));
    assert!(matches!(
        err("EST5EDT,M3.2.0"),
        (
            14,
            K::Expected {
                field: Field::EndRule,
                found: None,
                ..
            }
        )
    ));
    assert!(matches!(
        err("EST5EDT4 ,M3.2.0,M11.1.0"),
        (
            8,
            K::Expected {
                field: Field::StartRule,
                found: Some(' '),
                ..
            }
        )
    ));
    let range = |field, what, value, min, max| K::OutOfRange {
        field,
        what,
        value,
        min,
        max,
    };
    assert_eq!(
        err("EST5EDT,M13.1.0,M11.1.0"),
        (9, range(Field::StartRule, "month", 13, 1, 12))
    );
    assert_eq!(
        err("EST5EDT,M3.6.0,M11.1.0"),
        (11, range(Field::StartRule, "week", 6, 1, 5))
    );
    assert_eq!(
        err("EST5EDT,M3.2.0,M11.1.7"),
        (21, range(Field::EndRule, "day of week", 7, 0, 6))
    );
    assert_eq!(
        err("EST5EDT,J0,J365"),
        (9, range(Field::StartRule, "Julian day", 0, 1, 365))
    );
    assert_eq!(
        err("EST5EDT,J60,366"),
        (12, range(Field::EndRule, "day of year", 366, 0, 365))
    );
    assert_eq!(
        err("EST99999"),
        (3, range(Field::StdOffset, "hours", 99999, 0, 24))
    );
    // POSIX offsets stop at 24 h (glibc would clamp 25 to 24 silently).
    assert_eq!(err("EST25"), (3, range(Field::StdOffset, "hours", 25, 0, 24)));
    assert_eq!(
        err("EST5EDT-25,M3.2.0,M11.1.0"),
        (8, range(Field::DstOffset, "hours", 25, 0, 24))
    );
    assert_eq!(err("EST5:60"), (5, range(Field::StdOffset, "minutes", 60, 0, 59)));
    assert_eq!(
        err("EST5EDT4,M3.2.0/25:99,M11.1.0"),
        (19, range(Field::StartTime, "minutes", 99, 0, 59))
    );
    assert_eq!(
        err("EST5EDT4,M3.2.0,M11.1.0/-168"),
        (25, range(Field::EndTime, "hours", 168, 0, 167))
    );
    assert_eq!(
        err("EST5EDT4,M3.2.0/99999999999999,M11.1.0"),
        (16, range(Field::StartTime, "hours", u32::MAX, 0, 167))
    );
    // Digit counts: hours up to 3, minutes and seconds 2.
    assert_eq!(
        err("EST0005"),
        (
            6,
            K::TooManyDigits {
                field: Field::StdOffset,
                what: "hours",
                max: 3
            }
        )
    );
    assert_eq!(
        err("EST5:030"),
        (
            7,
            K::TooManyDigits {
                field: Field::StdOffset,
                what: "minutes",
                max: 2
            }
        )
    );
    assert_eq!(
        err("EST5EDT,M3.2.0/2:00:000,M11.1.0"),
        (
            22,
            K::TooManyDigits {
                field: Field::StartTime,
                what: "seconds",
                max: 2
            }
        )
    );
    // Signs belong to offsets and times, not to rule dates.
    assert!(matches!(
        err("EST5EDT,M+3.2.0,M11.1.0"),
        (
            9,
            K::Expected {
                field: Field::StartRule,
                found: Some('+'),
                ..
            }
        )
    ));
    assert!(matches!(
        err("EST5EDT,J+60,M11.1.0"),
        (9, K::Expected { found: Some('+'), .. })
    ));
    assert!(matches!(
        err("EST5EDT,+60,M11.1.0"),
        (8, K::Expected { found: Some('+'), .. })
    ));
    assert!(matches!(
        err("EST5EDT,M3.2,M11.1.0"),
        (12, K::Expected { found: Some(','), .. })
    ));
    assert!(matches!(
        err("EST5EDT,M3.2.0/,M11.1.0"),
        (
            15,
            K::Expected {
                field: Field::StartTime,
                found: Some(','),
                ..
            }
        )
    ));
    assert!(matches!(
        err("EST5:"),
        (
            5,
            K::Expected {
                field: Field::StdOffset,
                found: None,
                ..
            }
        )
    ));
    assert_eq!(err("EST5EDT,M3.2.0,M11.1.0x"), (22, K::Trailing { found: 'x' }));
    assert_eq!(
        err("EST5EDT,M3.2.0,M11.1.0,M12.1.0"),
        (22, K::Trailing { found: ',' })
    );
    assert_eq!(err(":America/New_York"), (0, K::ZoneFile));
    assert_eq!(
        err("<+05"),
        (
            0,
            K::UnclosedName {
                field: Field::StdName
            }
        )
    );
    assert_eq!(
        err("<+5>-5"),
        (
            0,
            K::NameTooShort {
                field: Field::StdName,
                len: 2
            }
        )
    );
    assert!(matches!(
        err("<+0 5>-5"),
        (3, K::Expected { found: Some(' '), .. })
    ));
    assert_eq!(
        err("EST5ED,M3.2.0,M11.1.0"),
        (
            4,
            K::NameTooShort {
                field: Field::DstName,
                len: 2
            }
        )
    );
    // Non-ASCII: the position counts characters, not bytes.
    assert!(matches!(
        err("ESTé5"),
        (
            3,
            K::Expected {
                found: Some('é'), ..
            }
        )
    ));
    // Whitespace is not trimmed.
    assert!(matches!(err(" EST5"), (0, K::Expected { found: Some(' '), .. })));
    assert!(matches!(err("EST5 "), (4, K::Expected { found: Some(' '), .. })));

    let long = format!("UTC0;{}", "A".repeat(251));
    assert_eq!(err(&long), (255, K::TooLong { chars: 256 }));
}

#[test]
fn iana_suffix_shape() {
    let bad = |s: &str| match err(s) {
        (p, ParseErrorKind::BadIanaName { .. }) => p,
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(bad("EST5;"), 5);
    assert_eq!(bad("EST5;America//New_York"), 13);
    assert_eq!(bad("EST5;/America"), 5);
    assert_eq!(bad("EST5;America/"), 13);
    assert_eq!(bad("EST5;America/New York"), 16);
    assert_eq!(bad("EST5;-x"), 5);
    assert_eq!(bad("EST5;America/../etc"), 13);
    assert_eq!(bad("EST5;America/New_York;x"), 21);
    assert_eq!(bad("EST5;Amérique"), 7);
    // The POSIX part is checked first.
    assert!(matches!(
        err("EST;America/New_York"),
        (3, ParseErrorKind::Expected { .. })
    ));
}

#[test]
fn error_messages_read_well() {
    let msg = |s: &str| TimeZone::parse(s).unwrap_err().to_string();
    assert_eq!(
        msg("EST5EDT,M13.1.0,M11.1.0"),
        "DST start rule: month 13 out of range 1-12 (at character 10)"
    );
    assert_eq!(
        msg("EST5EDT"),
        "a daylight time name needs ,start[/time],end[/time] rules (e.g. ,M3.2.0/02:00:00,M11.1.0/02:00:00); without them the C library would pick the dates (at character 8)"
    );
    assert_eq!(
        msg("EST"),
        "standard time offset: expected hours (hh[:mm[:ss]]), found end of string (at character 4)"
    );
    assert_eq!(
        msg("EST5;a//b"),
        "IANA zone name: empty component (doubled, leading or trailing '/') (at character 8)"
    );
}

#[test]
fn canonical_form_round_trips() {
    for (input, canonical) in [
        (
            "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00",
            "EST5EDT,M3.2.0,M11.1.0",
        ),
        (
            "GMT0DMT-1,M3.5.0/01:00:00,M10.5.0/02:00:00",
            "GMT0DMT,M3.5.0/1,M10.5.0",
        ),
        (
            "CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00",
            "CAUST-9:30DCAUST,M10.5.0,M3.5.0",
        ),
        ("<+0530>-5:30", "<+0530>-5:30"),
        ("<UTC>0", "UTC0"),
        ("UTC0;Etc/UTC", "UTC0;Etc/UTC"),
        (
            "EST+005EDT+3,M03.02.00/+2,M11.1.0/-1:30",
            "EST5EDT3,M3.2.0,M11.1.0/-1:30",
        ),
        ("LMT-0:53:28", "LMT-0:53:28"),
        ("JST3JDT,J60/0,300/26", "JST3JDT,J60/0,300/26"),
        (
            "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00;America/New_York",
            "EST5EDT,M3.2.0,M11.1.0;America/New_York",
        ),
    ] {
        let tz = zone(input);
        assert_eq!(tz.to_string(), canonical, "{input}");
        assert_eq!(zone(canonical), tz, "{input}");
        assert_eq!(canonical.parse::<TimeZone>().unwrap(), tz);
        assert_eq!(tz.posix_string(), canonical.split(';').next().unwrap());
    }
    for s in common::DGW_EXAMPLES.iter().chain(common::EXTRA_ZONES) {
        let tz = zone(s);
        assert_eq!(zone(&tz.to_string()), tz, "{s}");
    }
}
