//! Cross-check against glibc, an independent implementation: for every
//! example zone, GNU `date` (which formats through glibc's `localtime`)
//! is asked for the offset and abbreviation at many instants, once with
//! `TZ=<the POSIX string>` (glibc's own rule evaluation) and once with
//! `TZ=<path of our to_tzif file>` (glibc's TZif reader: this validates
//! the file). Local-to-UTC conversion is checked the same way through
//! `date -d 'YYYY-MM-DD HH:MM:SS'` (glibc's `mktime`). Any disagreement
//! fails with the instants listed.
//!
//! Known glibc limits that keep some zones and years out of the string
//! comparison (documented in the crate): glibc evaluates the string for
//! years before 1970 as if they started on 1970-01-01 (so the sweeps start
//! in 1971, and 1970 is checked against the file only), and computes a
//! year's two rule instants within the instant's UTC year, which breaks
//! DST-all-year strings near the new year (so those are not compared).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{utc, zone};
use tz::{DateTime, LocalResult, TimeZone};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!("tz-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn require_gnu_date() {
    let out = Command::new("date")
        .arg("--version")
        .output()
        .expect("GNU date (coreutils) is needed for the glibc cross-check");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("GNU coreutils"),
        "the glibc cross-check needs GNU date"
    );
}

/// Runs `date -f <inputs> +<format>` under `TZ=tz_env` and returns one
/// output line per input line. `TZDIR` points at an empty directory so a
/// rule string can never be taken for a zoneinfo file name.
fn date_batch(dir: &Path, tz_env: &str, inputs: &[String], format: &str) -> Vec<String> {
    let file = dir.join("inputs");
    std::fs::write(&file, inputs.join("\n") + "\n").expect("write inputs");
    let empty = dir.join("empty-tzdir");
    std::fs::create_dir_all(&empty).expect("tzdir");
    let out = Command::new("date")
        .arg("-f")
        .arg(&file)
        .arg(format!("+{format}"))
        .env("TZ", tz_env)
        .env("TZDIR", &empty)
        .env("LC_ALL", "C")
        .output()
        .expect("run date");
    assert!(
        out.status.success(),
        "date failed under TZ={tz_env}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), inputs.len(), "date output under TZ={tz_env}");
    lines
}

/// `+hh:mm:ss` / `-hh:mm:ss` (date's `%::z`) in seconds east.
fn parse_z(z: &str) -> i32 {
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let v: Vec<i32> = z[1..].split(':').map(|x| x.parse().expect("offset")).collect();
    sign * (v[0] * 3600 + v[1] * 60 + v[2])
}

/// Every 6 hours over 2020-2040, and 1 s before, at and after every
/// transition of 1971-2100, plus the 32-bit `time_t` limit.
fn instants(tz: &TimeZone) -> Vec<i64> {
    let mut v: Vec<i64> = (utc("2020-01-01T00:00:00Z")..utc("2041-01-01T00:00:00Z"))
        .step_by(6 * 3600)
        .collect();
    for year in 1971..=2100 {
        for t in tz.transitions(year) {
            v.extend([t.unix - 1, t.unix, t.unix + 1]);
        }
    }
    v.extend([(1 << 31) - 1, 1 << 31]);
    v
}

fn zones() -> Vec<&'static str> {
    common::DGW_EXAMPLES
        .iter()
        .chain(common::EXTRA_ZONES)
        .copied()
        .collect()
}

#[test]
fn offsets_and_abbreviations_match_glibc() {
    require_gnu_date();
    let dir = TempDir::new("glibc");
    let mut failures = Vec::new();
    let mut compared = 0usize;
    for s in zones() {
        let tz = zone(s);
        let posix = s.split(';').next().expect("posix part");
        let tzif = dir.0.join("localtime");
        std::fs::write(&tzif, tz::to_tzif(&tz)).expect("write tzif");
        let ts = instants(&tz);
        let inputs: Vec<String> = ts.iter().map(|t| format!("@{t}")).collect();
        for (source, env) in [
            ("TZ string", posix.to_owned()),
            ("our TZif", tzif.display().to_string()),
        ] {
            let lines = date_batch(&dir.0, &env, &inputs, "%s %::z %Z");
            for (&t, line) in ts.iter().zip(&lines) {
                let mut f = line.split(' ');
                let (echo, z, abbr) = (f.next(), f.next(), f.next());
                assert_eq!(echo, Some(t.to_string().as_str()), "{s}: output out of step");
                let glibc = (parse_z(z.unwrap_or("+00:00:00")), abbr.unwrap_or(""));
                let ours = tz.offset_at(t);
                compared += 1;
                if glibc != (ours.utc_offset, ours.abbreviation) {
                    failures.push(format!(
                        "{s} [{source}] at {t} ({}Z): glibc {glibc:?}, ours {:?} ({})",
                        DateTime::from_unix_utc(t)
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        (ours.utc_offset, ours.abbreviation),
                        tz.format_local(t)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} comparisons differ:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
    assert!(compared > 500_000, "only {compared} comparisons");
}

#[test]
fn tzif_file_matches_before_the_footer_takes_over() {
    // The table starts in 1970: glibc must read it right from the first
    // day (the southern zones start it in daylight time).
    require_gnu_date();
    let dir = TempDir::new("glibc-1970");
    let mut failures = Vec::new();
    for s in zones() {
        let tz = zone(s);
        let tzif = dir.0.join("localtime");
        std::fs::write(&tzif, tz::to_tzif(&tz)).expect("write tzif");
        let mut ts: Vec<i64> = (0..utc("1971-01-01T00:00:00Z")).step_by(3 * 3600).collect();
        for t in tz.transitions(1970) {
            ts.extend([t.unix - 1, t.unix, t.unix + 1]);
        }
        let inputs: Vec<String> = ts.iter().map(|t| format!("@{t}")).collect();
        let lines = date_batch(&dir.0, &tzif.display().to_string(), &inputs, "%::z %Z");
        for (&t, line) in ts.iter().zip(&lines) {
            let (z, abbr) = line.split_once(' ').expect("two fields");
            let ours = tz.offset_at(t);
            if (parse_z(z), abbr) != (ours.utc_offset, ours.abbreviation) {
                failures.push(format!("{s} at {t}: glibc {line}, ours {}", tz.format_local(t)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(30)].join("\n")
    );
}

/// Local wall-clock times to convert: every 6 hours over 2024-2030, and
/// every 10 minutes within 90 minutes of each transition, read on both
/// sides' clocks (so gaps and overlaps are covered).
fn local_times(tz: &TimeZone) -> Vec<DateTime> {
    let start = utc("2024-01-01T00:00:00Z");
    let end = utc("2031-01-01T00:00:00Z");
    let mut v: Vec<DateTime> = (start..end)
        .step_by(6 * 3600)
        .filter_map(DateTime::from_unix_utc)
        .collect();
    for year in 2024..2031 {
        for t in tz.transitions(year) {
            for off in [t.before.utc_offset, t.after.utc_offset] {
                let wall = t.unix + i64::from(off);
                v.extend(
                    (-5400..=5400)
                        .step_by(600)
                        .filter_map(|d| DateTime::from_unix_utc(wall + d)),
                );
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

#[test]
fn local_to_utc_matches_glibc_mktime() {
    require_gnu_date();
    let dir = TempDir::new("glibc-mktime");
    let mut failures = Vec::new();
    let (mut unique, mut ambiguous, mut gaps) = (0, 0, 0);
    for s in zones() {
        let tz = zone(s);
        let posix = s.split(';').next().expect("posix part");
        let tzif = dir.0.join("localtime");
        std::fs::write(&tzif, tz::to_tzif(&tz)).expect("write tzif");
        let (mut existing, mut skipped) = (Vec::new(), Vec::new());
        for l in local_times(&tz) {
            match tz.to_utc(&l) {
                LocalResult::Gap { .. } => skipped.push(l),
                r => existing.push((l, r)),
            }
        }
        let inputs: Vec<String> = existing.iter().map(|(l, _)| l.to_string()).collect();
        for env in [posix.to_owned(), tzif.display().to_string()] {
            let lines = date_batch(&dir.0, &env, &inputs, "%s");
            for ((l, r), line) in existing.iter().zip(&lines) {
                let glibc: i64 = line.parse().expect("seconds");
                let ok = match *r {
                    LocalResult::Unique(t) => {
                        unique += 1;
                        glibc == t
                    }
                    // mktime with tm_isdst = -1 may pick either.
                    LocalResult::Ambiguous { earlier, later } => {
                        ambiguous += 1;
                        glibc == earlier || glibc == later
                    }
                    LocalResult::Gap { .. } => false,
                };
                if !ok {
                    failures.push(format!("{s} [TZ={env}] local {l}: glibc {glibc}, ours {r:?}"));
                }
            }
            // GNU date refuses a time that never happened ("invalid date").
            for l in &skipped {
                gaps += 1;
                let out = Command::new("date")
                    .arg("-d")
                    .arg(l.to_string())
                    .arg("+%s")
                    .env("TZ", &env)
                    .env("TZDIR", dir.0.join("empty-tzdir"))
                    .output()
                    .expect("run date");
                if out.status.success() {
                    failures.push(format!(
                        "{s} [TZ={env}] local {l} is a gap for us, glibc gives {}",
                        String::from_utf8_lossy(&out.stdout).trim()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(30)].join("\n")
    );
    assert!(
        unique > 10_000 && ambiguous > 100 && gaps > 100,
        "{unique} {ambiguous} {gaps}"
    );
}
