//! `install`: what ends up on disk, symlink replacement, refusal of bad
//! input, no temporary files left, and idempotence.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use tz::{install, to_tzif, InstallError, TimeZone, RAW_STRING_FILE};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!("tz-{tag}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn writes_tzif_and_raw_string() {
    let dir = TempDir::new("install");
    let path = dir.0.join("localtime");
    let s = "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00;America/New_York";
    let tz = install(s, &path).unwrap();
    assert_eq!(tz, TimeZone::parse(s).unwrap());
    assert_eq!(fs::read(&path).unwrap(), to_tzif(&tz));
    assert_eq!(
        fs::read_to_string(dir.0.join(RAW_STRING_FILE)).unwrap(),
        format!("{s}\n")
    );
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    // 0644 minus whatever the umask removes; never writable by others.
    assert_eq!(mode & 0o022, 0);
    assert_eq!(mode & 0o400, 0o400);
    assert_eq!(dir.names(), ["TZ", "localtime"]);
}

#[test]
fn replaces_atomically_and_skips_identical_content() {
    let dir = TempDir::new("install-replace");
    let path = dir.0.join("localtime");
    install("CST-8", &path).unwrap();
    let first = fs::metadata(&path).unwrap().ino();
    // Same zone again: nothing rewritten, same inode.
    install("CST-8", &path).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), first);
    // A different zone: a new inode (a rename, never an in-place write,
    // which is also what glibc's change detection keys on).
    install(tz::DEFAULT, &path).unwrap();
    assert_ne!(fs::metadata(&path).unwrap().ino(), first);
    assert_eq!(
        fs::read(&path).unwrap(),
        to_tzif(&TimeZone::parse(tz::DEFAULT).unwrap())
    );
    assert_eq!(dir.names(), ["TZ", "localtime"]);
}

#[test]
fn replaces_a_symlink_without_touching_its_target() {
    let dir = TempDir::new("install-symlink");
    let target = dir.0.join("zoneinfo-file");
    fs::write(&target, b"tzdata, not ours").unwrap();
    let path = dir.0.join("localtime");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    install("UTC0", &path).unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"tzdata, not ours");
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_file());
}

#[test]
fn bad_input_writes_nothing() {
    let dir = TempDir::new("install-bad");
    let path = dir.0.join("localtime");
    fs::write(&path, b"old").unwrap();
    match install("EST5EDT", &path) {
        Err(InstallError::Parse(e)) => assert_eq!(e.position, 7),
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), b"old");
    assert_eq!(dir.names(), ["localtime"]);

    // Missing directory: an I/O error naming the path, no panic.
    let missing = dir.0.join("no/such/dir/localtime");
    let e = install("UTC0", &missing).unwrap_err();
    assert!(matches!(e, InstallError::Io { .. }), "{e}");
    assert!(e.to_string().contains("no/such/dir"), "{e}");

    // A zone file named like the diagnostics file would be overwritten.
    assert!(matches!(
        install("UTC0", &dir.0.join(RAW_STRING_FILE)),
        Err(InstallError::Io { .. })
    ));
    // A path without a file name.
    assert!(install("UTC0", std::path::Path::new("/")).is_err());
    assert_eq!(dir.names(), ["localtime"]);
}

#[test]
fn concurrent_installs_leave_one_complete_file() {
    let dir = TempDir::new("install-race");
    let path = dir.0.join("localtime");
    let zones = ["UTC0", "CST-8", tz::DEFAULT, "NZST-12NZDT,M9.5.0,M4.1.0/3"];
    std::thread::scope(|s| {
        for z in zones {
            let path = &path;
            s.spawn(move || {
                for _ in 0..20 {
                    install(z, path).unwrap();
                }
            });
        }
    });
    let content = fs::read(&path).unwrap();
    assert!(
        zones
            .iter()
            .any(|z| to_tzif(&TimeZone::parse(z).unwrap()) == content),
        "torn file"
    );
    assert_eq!(dir.names(), ["TZ", "localtime"]);
}
