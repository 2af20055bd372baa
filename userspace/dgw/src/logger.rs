//! The daemons' logger: one line per record on stderr, with the syslog
//! priority prefix (`<3>`, `<4>`, `<6>`, `<7>`) that journald turns into the
//! record's PRIORITY, so `journalctl -p warning -u dgw-sipd` works without a
//! journal client library. Without journald the prefix is harmless.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Stderr {
    prefix: bool,
}

impl Log for Stderr {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let prio = match r.level() {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        };
        if self.prefix {
            eprintln!("<{prio}>{}: {}", r.target(), r.args());
        } else {
            eprintln!("{} {}: {}", r.level(), r.target(), r.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger. `DGW_LOG` sets the level (error, warn, info,
/// debug, trace; info by default). The priority prefix is used when stderr
/// goes to the journal (`JOURNAL_STREAM` is set by systemd).
pub fn init() {
    let level = std::env::var("DGW_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Info);
    let prefix = std::env::var_os("JOURNAL_STREAM").is_some();
    static LOGGER: std::sync::OnceLock<Stderr> = std::sync::OnceLock::new();
    if log::set_logger(LOGGER.get_or_init(|| Stderr { prefix })).is_ok() {
        log::set_max_level(level);
    }
}
