//! Making a zone the system's: a TZif file at `/etc/localtime` (or any
//! path), written crash-safely.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::parse::ParseError;
use crate::tzif::to_tzif;
use crate::zone::TimeZone;

/// Name of the diagnostics file written next to the TZif file.
pub const RAW_STRING_FILE: &str = "TZ";

/// Why [`install`] failed.
#[derive(Debug)]
pub enum InstallError {
    /// The string is not a valid time zone; nothing was written.
    Parse(ParseError),
    /// A file system operation failed. The target file is either the old
    /// one or the new one, never a mix (see [`install`]).
    Io {
        /// What was being done ("create", "write", "fsync", "rename"...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Parse(e) => write!(f, "invalid time zone: {e}"),
            InstallError::Io { op, path, source } => {
                write!(f, "{op} {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Parse(e) => Some(e),
            InstallError::Io { source, .. } => Some(source),
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> InstallError + 'a {
    move |source| InstallError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Distinguishes temporary files of concurrent installs in one process;
/// the process id distinguishes processes.
static TEMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Replaces `path` with `data` so that after a crash or power cut at any
/// point the path holds either the complete old content or the complete
/// new content:
///
/// 1. write a temporary file in the same directory (same file system, so
///    the rename below is atomic) and `fsync` it, so its data is on disk
///    before any name points to it;
/// 2. `rename` it over `path`, which atomically swaps the name (and
///    replaces a symlink itself rather than writing through it: Debian's
///    `/etc/localtime -> /usr/share/zoneinfo/...` must not overwrite the
///    tzdata file);
/// 3. `fsync` the directory so the rename itself is durable.
///
/// The new file gets a new inode, which is also what lets glibc notice the
/// change even within the same second (it compares inode, device and
/// mtime). If the current content is already identical, nothing is
/// written, sparing flash and not making every process reload it.
fn replace_file(path: &Path, data: &[u8]) -> Result<(), InstallError> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.is_file() && meta.len() == data.len() as u64 {
            if let Ok(old) = fs::read(path) {
                if old == data {
                    return Ok(());
                }
            }
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| InstallError::Io {
        op: "use",
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            // World-readable like tzdata: every process reads it.
            .mode(0o644)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        f.write_all(data).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("fsync", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err("rename to", path))
    })();
    if result.is_err() {
        // Best effort: leave no temporary file behind. The target is
        // untouched because the rename did not happen.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Parses `tz_string` and makes it the time zone of the system whose zone
/// file is `path` (`/etc/localtime` on the gateway image):
///
/// 1. `path` is replaced crash-safely by the [`to_tzif`] file of the
///    zone (temporary file, `fsync`, `rename`, `fsync` of the directory);
/// 2. then the string exactly as given (with its `;IANA` part) plus a
///    newline replaces [`RAW_STRING_FILE`] (`TZ`) in the same directory,
///    the same way, for diagnostics only: nothing reads it on glibc (note
///    uClibc would, as its zone source, and would not understand
///    `;IANA`).
///
/// A crash between the two steps leaves a new zone with a stale `TZ`
/// file; the TZif footer always holds the POSIX part in effect. Running
/// `install` again with the same string rewrites only what differs.
///
/// Returns the parsed zone. An invalid string writes nothing.
///
/// See the crate documentation for how running processes pick the change
/// up.
pub fn install(tz_string: &str, path: &Path) -> Result<TimeZone, InstallError> {
    let tz = TimeZone::parse(tz_string).map_err(InstallError::Parse)?;
    if path.file_name().is_some_and(|n| n == RAW_STRING_FILE) {
        // The diagnostics copy would overwrite the zone file itself.
        return Err(InstallError::Io {
            op: "use",
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "the zone file must not be named TZ (that name holds the raw string)",
            ),
        });
    }
    replace_file(path, &to_tzif(&tz))?;
    replace_file(
        &path.with_file_name(RAW_STRING_FILE),
        format!("{tz_string}\n").as_bytes(),
    )?;
    Ok(tz)
}
