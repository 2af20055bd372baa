//! # hostd
//!
//! The host services of the gateway, each on its own D-Bus interface under
//! the bus name `net.dgw.Host`, so other system services (a UI, a watchdog,
//! the SIP and TR-069 daemons) can drive them:
//!
//! | object | interface | what |
//! |---|---|---|
//! | `/net/dgw/Host/Leds` | `net.dgw.Leds1` | LED roles and patterns, the Ready indicator |
//! | `/net/dgw/Host/Network` | `net.dgw.Network1` | links and addresses from rtnetlink |
//! | `/net/dgw/Host/Time` | `net.dgw.Time1` | SNTP state, time zone, local time |
//! | `/net/dgw/Host/Ieee8021x` | `net.dgw.Ieee8021x1` | wired 802.1X status per link |
//!
//! The interfaces are documented in `docs/dbus.md` with `busctl` examples.
//! Each one wraps a library crate (`leds`, `netmon`, ...) that does the work
//! and is tested without D-Bus.
#![deny(missing_docs)]

pub mod daemon;
pub mod dot1x_iface;
pub mod leds_iface;
pub mod network_iface;
pub mod time_iface;
pub mod zone;

/// Bus name hostd owns.
pub const BUS_NAME: &str = "net.dgw.Host";

/// Errors returned to D-Bus callers (`net.dgw.Host1.Error.*`).
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "net.dgw.Host1.Error")]
pub enum HostError {
    /// A zbus failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// A bad argument; the message says what is allowed.
    Invalid(String),
    /// The operation failed on the device or system.
    Failed(String),
}
