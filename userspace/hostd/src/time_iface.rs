//! `net.dgw.Time1`: whether the clock is synchronised and from where, and
//! the time zone, as the SNTP client and the time-zone code report them.

use std::sync::{Arc, Mutex};

use zbus::object_server::SignalEmitter;

/// Object path.
pub const PATH: &str = "/net/dgw/Host/Time";

/// What the time service knows, shared with the SNTP status task.
#[derive(Clone, Debug, Default)]
pub struct TimeState {
    /// The clock was set from an SNTP server (TLS validation may proceed).
    pub synchronized: bool,
    /// The server it was last set from (`host:port`), empty if none.
    pub source: String,
    /// The last measured offset, in seconds.
    pub last_offset: f64,
    /// The last failure, empty if none.
    pub last_error: String,
    /// The configured POSIX TZ string.
    pub time_zone: String,
    /// The local time in that zone, computed when asked.
    pub local_time: String,
}

/// The time service object.
#[derive(Clone, Default)]
pub struct Time {
    /// Shared state, updated by hostd's tasks.
    pub state: Arc<Mutex<TimeState>>,
}

impl Time {
    fn get(&self) -> TimeState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

// The interface macro generates undocumented helpers.
#[allow(missing_docs)]
mod object {
    use super::*;

    #[zbus::interface(name = "net.dgw.Time1")]
    impl Time {
        /// True once the clock was set from an SNTP server.
        #[zbus(property)]
        pub async fn synchronized(&self) -> bool {
            self.get().synchronized
        }
        /// The SNTP server the clock was last set from.
        #[zbus(property)]
        pub async fn source(&self) -> String {
            self.get().source
        }
        /// Seconds the clock was off at the last synchronisation.
        #[zbus(property)]
        pub async fn last_offset(&self) -> f64 {
            self.get().last_offset
        }
        /// The last SNTP failure, empty if none.
        #[zbus(property)]
        pub async fn last_error(&self) -> String {
            self.get().last_error
        }
        /// The time zone (POSIX TZ string, `Hoc.StaticTimeZone`).
        #[zbus(property)]
        pub async fn time_zone(&self) -> String {
            self.get().time_zone
        }
        /// The local time in the configured zone.
        #[zbus(property)]
        pub async fn local_time(&self) -> String {
            self.get().local_time
        }
        /// Emitted when the synchronised state or the source changes.
        #[zbus(signal)]
        pub async fn synchronization_changed(
            emitter: &SignalEmitter<'_>,
            synchronized: bool,
            source: String,
        ) -> zbus::Result<()>;
    }
}
