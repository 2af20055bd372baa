//! # dot1x: wired 802.1X (EAP-TLS) through wpa_supplicant
//!
//! The gateway authenticates its Ethernet links to an 802.1X switch with
//! EAP-TLS. The protocol work (EAPOL, EAP, TLS) is wpa_supplicant's; this
//! crate drives it over its own D-Bus API (`fi.w1.wpa_supplicant1`) from
//! the DGW parameters and the certificate stores of the [`pki`] crate, and
//! turns what wpa_supplicant reports into a [`Status`] per link.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use dot1x::{CertificateValidation, Config, Dot1x};
//! let bus = zbus::Connection::system().await?;
//! let store = pki::CertStore::open("/var/lib/dgw/certs")?;
//! let eth0 = Dot1x::start(&bus, "eth0", "/run/dgw/dot1x").await?;
//! let config = Config {
//!     enabled: true,                       // Eth.Ieee8021X[eth0].Enable
//!     identity: "gw-0042".into(),          // Eth.Ieee8021X[eth0].UserName
//!     validation: CertificateValidation::TrustedAndValid,
//!     clock_synchronised: true,            // from the time service
//!     ..Config::default()
//! };
//! eth0.apply(&config, &store).await?;     // again on any change: cheap if none
//! let mut status = eth0.status();
//! while status.changed().await.is_ok() {
//!     println!("eth0: {}", *status.borrow()); // e.g. publish on D-Bus
//! }
//! # Ok(()) }
//! ```
//!
//! ## How it works
//!
//! [`Dot1x::start`] spawns one task per link. It subscribes to the
//! bus's `NameOwnerChanged` for `fi.w1.wpa_supplicant1` and to
//! wpa_supplicant's `InterfaceRemoved`. [`Dot1x::apply`] then does this:
//!
//! 1. **Decide** from [`Config`] and the stores:
//!    - `enabled` false gives [`Status::Disabled`].
//!    - [`CertificateValidation::TrustedAndValid`] with the clock not
//!      synchronised gives [`Status::WaitingForTimeSync`].
//!    - Otherwise the host certificate is the one
//!      `PkiSnapshot::host_certificate(Service::Eap, Usage::TlsClient, now)`
//!      picks: usage TlsClient, associated to Eap, valid now if any is, then
//!      the latest expiry. With TrustedAndValid it must be valid now, or
//!      the status is [`Status::NoCertificate`].
//!    - The trusted CAs are the whole Others store (not the system CA
//!      bundle). With [`CertificateValidation::NoValidation`] no CA is
//!      given.
//!    - The identity is the configured one, or else the certificate's
//!      common name.
//! 2. **Compare** a SHA-256 fingerprint of that outcome (key included)
//!    with what is in place. If they are equal, it returns
//!    [`Applied::Unchanged`] without any D-Bus traffic.
//! 3. **Write** the CA file, our chain and our key into
//!    `<runtime_dir>/<link>/`. The directory is mode 0700 and the key file
//!    is created with mode 0600. Each configuration gets new file names.
//! 4. **Configure** wpa_supplicant:
//!    - `GetInterface(link)`, or `CreateInterface({Ifname, Driver: "wired"})`.
//!      On first contact, the networks tagged `id_str="dgw-dot1x"` that an
//!      earlier run left are removed.
//!    - `ApScan` is set to 0 (wired) and `EapolVersion` is set from
//!      `Eth.Ieee8021XVersion`.
//!    - Our previous network is removed, then `AddNetwork` is called with
//!      `key_mgmt=IEEE8021X eap=TLS identity client_cert private_key
//!      [ca_cert] eapol_flags=0 id_str=dgw-dot1x`. `phase1` disables
//!      TLS 1.0 and 1.1 (RFC 8996).
//!    - Then `SelectNetwork` and `EAPLogon`. A new network means a new
//!      authentication, so changing certificates or parameters
//!      re-authenticates.
//! 5. **Watch** the interface's `State` property and its `EAP` and
//!    `Certification` signals (see [Statuses](#statuses)). Signals sent
//!    before the new network was selected are told apart by their serial
//!    numbers and ignored.
//!
//! If wpa_supplicant is not on the bus, D-Bus activation is tried. If that
//! fails, or a call fails, the status says so and the task retries: from
//! 2 s, doubling up to 60 s, and at once when wpa_supplicant appears on the
//! bus. It also retries when wpa_supplicant restarts, loses the interface,
//! or loses our network. Call `apply` periodically too (every minute, say):
//! this moves to another certificate when the one in use expires or a newer
//! one becomes valid.
//!
//! ## Statuses
//!
//! | [`Status`] | when |
//! | --- | --- |
//! | `Disabled` | 802.1X is off on the link (or nothing was applied yet) |
//! | `WaitingForTimeSync` | TrustedAndValid, clock not synchronised: not attempted |
//! | `NoCertificate` | no TlsClient host certificate associated to Eap (valid now, with TrustedAndValid) |
//! | `Authenticating` | network selected, no result yet |
//! | `Authenticated` | wpa_supplicant signalled `EAP completion success` |
//! | `Failed(reason)` | the last attempt failed, or could not be made (see below) |
//! | `Held(reason)` | 3 failed attempts in a row ([`HELD_AFTER`]); wpa_supplicant still retries after each 60 s held period |
//!
//! The reasons of `Failed` are these:
//!
//! - The server's certificate is not trusted. The reason gives
//!   wpa_supplicant's verification error and the server's subject.
//! - A TLS alert was sent to the server or received from it.
//! - A bare EAP-Failure, worded by how far the attempt went: before EAP-TLS
//!   (our identity is probably unknown), or after the server checked our
//!   certificate (probably not from a CA it trusts).
//! - No authenticator answered within [`NO_ANSWER_TIMEOUT`].
//! - The link is down.
//! - wpa_supplicant is missing, or refused the configuration.
//!
//! wpa_supplicant's own `completed` state is not enough for
//! `Authenticated`. wpa_supplicant also reaches it when no authenticator
//! ever answers (it then treats the port as uncontrolled), so only an EAP
//! success counts. A failed attempt is retried by wpa_supplicant itself
//! after its HELD period (60 s). `Failed` stays during those retries, so
//! that the status does not flap, until one succeeds.
//!
//! A new configuration right after a failure can take up to about 30 s
//! to be attempted. The authenticator holds the port after a failure
//! (the 802.1X quiet period). hostapd, for instance, drops the station
//! when our first EAPOL-Start arrives, and wpa_supplicant sends the next
//! one only after its 30 s start period.
//!
//! ## Security notes
//!
//! - `NoValidation` is for the lab only. wpa_supplicant then accepts any
//!   server certificate, so anyone on the wire can play the
//!   authentication server.
//! - TrustedAndValid checks the server's chain up to an Others CA and its
//!   validity dates. Like the DGW, it does not check the server's name:
//!   the parameter set has no name to check against.
//! - With TrustedAndValid nothing is attempted before the clock is
//!   synchronised. If the switch gives no network access to
//!   unauthenticated ports, NTP must be reachable some other way (a guest
//!   or authentication-fail VLAN, for instance).
//! - The private key is copied from the Host store into the runtime
//!   directory (mode 0600, a tmpfs such as `/run` on the image), because
//!   wpa_supplicant reads keys from files. Copies of older configurations
//!   are deleted once replaced, and all of them when 802.1X is disabled.
//!   Keys are never logged. A fingerprint, not the key, is kept in memory
//!   to detect changes.
//!
//! ## What the image needs
//!
//! - wpa_supplicant built with `CONFIG_CTRL_IFACE_DBUS_NEW=y` (the D-Bus
//!   API) and `CONFIG_DRIVER_WIRED=y`, plus `CONFIG_EAP_TLS` and OpenSSL.
//!   The upstream defconfig that oe-core's recipe uses has all of these.
//!   It runs as `wpa_supplicant -u` (D-Bus control, no interface of its
//!   own). The links are created by this crate, which owns 802.1X on them.
//!   An interface made with another driver is recreated with `wired`.
//! - wpa_supplicant's D-Bus policy (`/etc/dbus-1/system.d/wpa_supplicant.conf`).
//!   It must let root own `fi.w1.wpa_supplicant1`. It must also let the
//!   daemon's user send to it and receive its signals: `send_destination`,
//!   and `receive_sender` for signals.
//! - A runtime directory for the files, on tmpfs (e.g. systemd
//!   `RuntimeDirectory=dgw`, giving `/run/dgw/dot1x`), that wpa_supplicant
//!   (root) can read.
//! - wpa_supplicant started before the daemon (`After=wpa_supplicant.service`)
//!   or by D-Bus activation. The daemon also copes with it appearing later
//!   (see the retries above).
//!
//! Tests (`tests/wired.rs`) run the real thing. Two network namespaces are
//! joined by a veth pair: hostapd with `driver=wired` and its internal EAP
//! server on one side, and wpa_supplicant on a private dbus-daemon on the
//! other.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
mod files;
mod link;
mod status;
mod wpa;

pub use config::{CertificateValidation, Config, EapolVersion, MAX_IDENTITY_LEN};
pub use error::Error;
pub use link::{Applied, Dot1x, NETWORK_TAG};
pub use status::{Status, HELD_AFTER, NO_ANSWER_TIMEOUT};
