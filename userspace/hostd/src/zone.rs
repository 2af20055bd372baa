//! Applying `Hoc.StaticTimeZone`: installed as a TZif file (the image:
//! `/etc/localtime`) so every process's `localtime()` follows it, and used
//! for `Hoc.SystemTime`.

use std::path::Path;

use crate::time_iface::Time;

/// Records the zone, installs it if a path is given, and refreshes the
/// local time. A string the schema accepted always parses; a failure is
/// logged and the previous zone stays.
pub fn apply(time: &Time, tz_string: &str, localtime: Option<&Path>) {
    if let Some(path) = localtime {
        if let Err(e) = tz::install(tz_string, path) {
            log::warn!("installing time zone {tz_string:?} at {}: {e}", path.display());
            return;
        }
    }
    time.state.lock().unwrap_or_else(|p| p.into_inner()).time_zone = tz_string.to_string();
    refresh_local_time(time);
}

/// Recomputes the local time (`Hoc.SystemTime`) in the configured zone.
pub fn refresh_local_time(time: &Time) -> String {
    let mut t = time.state.lock().unwrap_or_else(|p| p.into_inner());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let zone = tz::TimeZone::parse(&t.time_zone).or_else(|_| tz::TimeZone::parse(tz::DEFAULT));
    t.local_time = match zone {
        Ok(z) => z.format_local(now),
        Err(e) => format!("(time zone error: {e})"),
    };
    t.local_time.clone()
}
