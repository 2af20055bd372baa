//! This parser against the configuration layer's syntax checker
//! (`params::check::posix_tz`), which guards `Hoc.StaticTimeZone` before
//! this crate ever sees a value. The checker now calls this crate, so the
//! two must agree exactly; the classes below were the checker's former
//! leniencies, kept as regression cases:
//!
//! 1. standard or daylight offset hours 25-167: the checker applies the
//!    RFC 8536 rule-time limit (167) to UTC offsets too; POSIX stops at
//!    24 and glibc silently clamps larger values to 24;
//! 2. a `+` sign inside a rule date (`M+3.2.0`, `J+60`, `+59`): Rust's
//!    integer parsing takes it; POSIX has no sign there and glibc refuses
//!    `J+60` and `+59`;
//! 3. IANA names with empty components (`a//b`, leading or trailing `/`)
//!    or components not starting with a letter (`-x`, `/3`).
//!
//! The mutated corpus (every example with each character deleted,
//! doubled, replaced or preceded by characters of the TZ alphabet, and
//! truncated) is checked in both directions: a string this crate accepts
//! but the checker refuses would be a checker bug the other way.

mod common;

use tz::{Field, ParseErrorKind, TimeZone};

fn corpus() -> Vec<String> {
    let alphabet = "0123456789+-:,./<>MJ;AEST a";
    let mut out = Vec::new();
    for s in common::DGW_EXAMPLES.iter().chain(common::EXTRA_ZONES) {
        let chars: Vec<char> = s.chars().collect();
        out.push(s.to_string());
        for i in 0..=chars.len() {
            out.push(chars[..i].iter().collect());
            if i < chars.len() {
                let mut v = chars.clone();
                v.remove(i);
                out.push(v.iter().collect());
                let mut v = chars.clone();
                v.insert(i, chars[i]);
                out.push(v.iter().collect());
            }
            for c in alphabet.chars() {
                let mut v = chars.clone();
                v.insert(i, c);
                out.push(v.iter().collect());
                if i < chars.len() {
                    let mut v = chars.clone();
                    v[i] = c;
                    out.push(v.iter().collect());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a refusal by this crate of a string the checker accepts is one
/// of the known checker leniencies listed above.
fn known_checker_leniency(kind: &ParseErrorKind) -> bool {
    match kind {
        ParseErrorKind::OutOfRange {
            field: Field::StdOffset | Field::DstOffset,
            what: "hours",
            value,
            ..
        } => (25..=167).contains(value),
        ParseErrorKind::Expected {
            field: Field::StartRule | Field::EndRule,
            found: Some('+'),
            ..
        } => true,
        ParseErrorKind::BadIanaName { .. } => true,
        _ => false,
    }
}

#[test]
fn accepts_whatever_the_checker_accepts() {
    let mut failures = Vec::new();
    let (mut both, mut lenient) = (0, 0);
    for s in corpus() {
        let checker = params::check::posix_tz(&s);
        match (checker, TimeZone::parse(&s)) {
            (Ok(()), Ok(_)) => both += 1,
            (Ok(()), Err(e)) if known_checker_leniency(&e.kind) => lenient += 1,
            (Ok(()), Err(e)) => failures.push(format!("checker accepts, we refuse {s:?}: {e}")),
            (Err(c), Ok(_)) => failures.push(format!("we accept, checker refuses {s:?}: {c}")),
            (Err(_), Err(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The checker now delegates to this crate, so the two agree exactly:
    // no leniency is left.
    assert!(both > 1000 && lenient == 0, "{both} {lenient}");
}

#[test]
fn checker_leniencies_examples() {
    // Each is refused here; printed with the checker's verdict so a fix on
    // the params side shows in the test log.
    for s in [
        "EST25",
        "EST167",
        "EST5EDT-30,M3.2.0,M11.1.0",
        "EST5EDT,M+3.2.0,M11.1.0",
        "EST5EDT,J+60,M11.1.0",
        "EST5EDT,+59,M11.1.0",
        "EST5;America//New_York",
        "EST5;/etc/passwd",
        "EST5;America/",
        "EST5;-x",
    ] {
        let ours = TimeZone::parse(s).expect_err(s);
        assert!(known_checker_leniency(&ours.kind), "{s}: {ours}");
        // The checker (which now uses this crate) refuses them too.
        assert!(
            params::check::posix_tz(s).is_err(),
            "the checker still accepts {s:?}"
        );
    }
}
