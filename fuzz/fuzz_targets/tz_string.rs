//! `Hoc.StaticTimeZone` values come from operators, configuration scripts,
//! TR-069 and DHCP: any text must parse or be refused with a position
//! inside it, never panic. A parsed zone must evaluate at any instant,
//! survive a round trip through its canonical form, map each instant's
//! wall-clock reading back to that instant, report transitions that are
//! real changes, and give a TZif file with its POSIX string as footer.
//!
//! Input: 8 bytes of instant (little endian), then the string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tz::{LocalResult, TimeZone};

fuzz_target!(|data: &[u8]| {
    let (instant, text) = match data.split_first_chunk::<8>() {
        Some((head, rest)) => (i64::from_le_bytes(*head), rest),
        None => (0, data),
    };
    let Ok(s) = std::str::from_utf8(text) else { return };
    let tz = match TimeZone::parse(s) {
        Ok(tz) => tz,
        Err(e) => {
            assert!(e.position <= s.chars().count(), "{s:?}: {e}");
            let _ = e.to_string();
            return;
        }
    };
    let canonical = tz.to_string();
    assert_eq!(
        TimeZone::parse(&canonical).as_ref(),
        Ok(&tz),
        "{s:?} -> {canonical:?}"
    );

    // The raw instant (anything in i64) and the same folded into
    // 1970-2170, where transitions are dense enough to matter.
    let near = instant.rem_euclid(200 * 365 * 86_400);
    for t in [instant, near, near - 1, near + 3600] {
        let _ = tz.offset_at(t);
        assert!(!tz.format_local(t).is_empty());
        if let Some(local) = tz.local_datetime(t) {
            match tz.to_utc(&local) {
                LocalResult::Unique(u) => assert_eq!(u, t, "{s:?} {local}"),
                LocalResult::Ambiguous { earlier, later } => {
                    assert!(earlier < later && (t == earlier || t == later), "{s:?} {local}")
                }
                r @ LocalResult::Gap { .. } => panic!("{s:?} {local}: {r:?}"),
            }
        }
        if let Some(next) = tz.next_transition(t) {
            assert!(next.unix > t);
        }
    }
    let year = 1970 + (near / (365 * 86_400)) as i32;
    for tr in tz.transitions(year) {
        assert_ne!(tr.before, tr.after);
        assert_eq!(tz.offset_at(tr.unix), tr.after);
        assert_eq!(tz.offset_at(tr.unix - 1), tr.before);
    }
    let file = tz::to_tzif(&tz);
    assert!(file.starts_with(b"TZif"));
    assert!(file.ends_with(format!("\n{}\n", tz.posix_string()).as_bytes()));
});
