//! # timesync: the gateway's SNTP client
//!
//! Sets the clock from SNTP servers the way the Media5 Mediatrix DGW does,
//! with the DGW's `Hoc` parameters:
//!
//! | DGW parameter | here |
//! | --- | --- |
//! | `Hoc.SntpConfigSource` (Automatic, AutomaticIpv6, Static, AutomaticWithFallback) | [`SntpConfig::source`], [`ConfigSource`] |
//! | `Hoc.StaticSntpServers[1..4].HostName` (`host[:port]`, by priority) | [`SntpConfig::static_servers`] |
//! | DHCP option 42 / DHCPv6 servers | [`SntpConfig::dhcp_servers`], [`SntpConfig::dhcpv6_servers`] |
//! | `Hoc.SntpSynchronizationPeriod` (minutes, 1440) | [`SntpConfig::period`] |
//! | `Hoc.SntpSynchronizationPeriodOnError` (minutes, 60) | [`SntpConfig::period_on_error`] |
//! | `Hoc.SntpCurrentSource` (status) | [`TimeStatus::current_source`] |
//! | `Hoc.ClockSynchronized` (status; gates TLS validation) | [`TimeStatus::synchronised`] |
//!
//! ## Design
//!
//! Three layers, as ntpd-rs splits `ntp-proto` from its daemon:
//!
//! - [`packet`]: SNTPv4 wire format, reply checks and the offset/delay
//!   computation. Pure functions.
//! - [`client`]: a sans-IO state machine ([`Client`]) that picks the server
//!   and the time of each query, checks replies, reacts to Kiss-o'-Death and
//!   keeps the [`TimeStatus`]. It takes the time as arguments and does no
//!   I/O, so its tests run on a fake clock, without sockets or sleeps, and
//!   check the exact schedule.
//! - [`run`]: a thin tokio driver doing DNS, UDP (IPv4 and IPv6), timers,
//!   live configuration from a `watch` channel and status publishing, and
//!   setting a [`Clock`] ([`SystemClock`] on the unit, [`SimulatedClock`] in
//!   tests and on workstations).
//!
//! ```no_run
//! # async fn demo() {
//! use timesync::{SntpConfig, SystemClock, TimeStatus};
//! let (cfg_tx, cfg_rx) = tokio::sync::watch::channel(SntpConfig::with_static_servers(["ntp.example.net"]));
//! let (status_tx, mut status_rx) = tokio::sync::watch::channel(TimeStatus::default());
//! tokio::spawn(timesync::run(cfg_rx, SystemClock, status_tx));
//! // TLS validation waits for this:
//! status_rx.wait_for(|s| s.synchronised).await.ok();
//! # drop(cfg_tx);
//! # }
//! ```
//!
//! ### Why an in-process client rather than chrony or systemd-timesyncd
//!
//! The DGW parameters map directly onto a small client of our own, and
//! only awkwardly onto those daemons: an ordered static list tried by
//! priority with fallback (chrony combines all its sources at once), a
//! fixed synchronisation period and a separate error period (both daemons
//! choose their own poll intervals: chrony's minpoll/maxpoll, timesyncd's
//! PollIntervalMinSec/MaxSec), a "current source" readout and a
//! "synchronised" flag that TLS waits on (through chronyc or timesyncd's
//! D-Bus API: another daemon, a bus and parsing), and live changes from the
//! configuration service. A daily one-shot SNTP exchange is also what the
//! DGW does; no frequency discipline is wanted. The packet code is small
//! and hand-written (rather than `sntpc`/`rsntp`) so that every check below
//! is visible, typed and fuzzed (`fuzz/fuzz_targets/sntp_reply.rs`).
//!
//! ## RFC rules implemented
//!
//! - RFC 4330 §5 / RFC 5905 §7.3: 48-byte request, version 4, mode 3; any
//!   extension fields or MAC after a reply's header are ignored.
//! - Reply checks, each with its own [`ReplyError`]: length, mode 4,
//!   version 3 or 4, origin timestamp equal to our transmit timestamp,
//!   stratum 0 = Kiss-o'-Death (or unsynchronised without a code), stratum
//!   1..15, leap indicator not 3, receive and transmit timestamps non-zero
//!   and in order, root delay and dispersion below 16 s (MAXDISP), delay not
//!   negative.
//! - Anti-spoofing: the transmit timestamp we send is a random 64-bit
//!   nonce, the socket is connected to the server on a random source port,
//!   replies that do not match are ignored without ending the query (a
//!   forged reply cannot make us fail over), and a query takes one reply
//!   only (replays are unsolicited).
//! - Offset `((T2-T1)+(T3-T4))/2` and delay `(T4-T1)-(T3-T2)`, with T4
//!   taken from the monotonic clock relative to T1 and the NTP era of T2/T3
//!   chosen around our clock (never earlier than 2025), so a unit booting
//!   in 1970 and the 2036 era roll-over are both handled.
//! - RFC 4330 §10: one server is never queried more often than every 15 s;
//!   failed rounds back off exponentially from 15 s up to
//!   `SntpSynchronizationPeriodOnError`.
//! - RFC 5905 §7.4 Kiss-o'-Death: RATE at least doubles that server's
//!   interval; DENY and RSTR stop its use until the configuration changes;
//!   KoD is believed only with a matching origin timestamp.
//! - Clock setting only after a reply passed every check: steps of 128 ms or
//!   more with `clock_settime`, smaller offsets slewed with `adjtime`.
//!
//! ## The synchronised state
//!
//! False at start, true after a good reply once the clock was set, and
//! kept true through later failures; it goes back to false only if the
//! clock could not be set, or if the wall clock was moved by something
//! else (detected against the monotonic clock). See [`client`] for why:
//! a free-running clock drifts seconds per day, harmless to certificate
//! validity, while dropping the flag when a server is down would stop every
//! TLS service of the unit.
//!
//! ## Tests
//!
//! - `tests/client_core.rs`: the state machine on a fake clock (exact
//!   schedule, back-off, KoD, every rejection, the synchronised state).
//! - `tests/chrony.rs`: a real server, Debian's chrony, run by each test as
//!   a child process (`chronyd -d -x -u root -f <private conf>`: `port`
//!   free, `bindaddress` 127.0.0.1 and ::1, `local stratum 8`, `cmdport 0`,
//!   pid and drift files in a scratch directory; `-x`: the host clock is
//!   never touched). Chrony rather than ntpsec's ntpd: with `local` chrony
//!   answers with leap 0 and stratum 8 from its first packet, while ntpd
//!   answers "unsynchronised" (leap 3, stratum 16) until it has selected a
//!   source, which needs its optional, discouraged LOCAL refclock and
//!   several polls. chronyd needs root.
//! - `tests/fake_servers.rs`: fake servers on loopback answering with each
//!   Kiss-o'-Death, each kind of nonsense, or nothing.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod client;
pub mod clock;
pub mod config;
mod driver;
pub mod packet;
pub mod timestamp;

pub use client::{
    Action, Client, ClientConfig, Event, FailureReason, KodResponse, LastError, QueryId, ReplyOutcome,
    ServerStatus, TimeStatus,
};
pub use clock::{Adjustment, Clock, ClockError, SimulatedClock, SystemClock};
pub use config::{parse_host_port, ConfigSource, ServerNameError, SntpConfig};
pub use driver::run;
pub use packet::{check_reply, compute_sample, KissCode, Packet, ReplyError, Sample};
pub use timestamp::{NtpTimestamp, Offset};
