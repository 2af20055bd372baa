//! # netmon
//!
//! Network facts from rtnetlink for tokio programs: the links (index, name,
//! up/down, carrier, MAC, MTU) with their IPv4/IPv6 addresses, and a stream
//! of changes.
//!
//! - [`Network::dump`] returns every [`Link`] of the caller's network
//!   namespace with its [`Address`]es, from an `RTM_GETLINK` and an
//!   `RTM_GETADDR` dump.
//! - [`Network::events`] joins the `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and
//!   `RTNLGRP_IPV6_IFADDR` multicast groups, takes a dump as the starting
//!   point ([`Subscription::initial`]) and then delivers [`NetEvent`]s on a
//!   bounded `tokio::sync::mpsc::Receiver` ([`Subscription::events`]), in
//!   kernel order: link added/removed/up/down/changed, address added/removed.
//!   Repeated notifications are folded (one `LinkUp` per transition, one
//!   `AddressAdded` per new address). If the kernel drops notifications
//!   because the reader fell behind (`ENOBUFS`), the monitor dumps again and
//!   emits the events that lead to the new state, so the stream stays
//!   consistent. Dropping the receiver stops the background task. If the
//!   socket fails for good, the error is logged and the channel closes.
//!
//! The sockets are raw `NETLINK_ROUTE` sockets created in the network
//! namespace of the calling thread; the message parser is written for
//! untrusted input (bounds-checked, no panics), and datagrams not sent by the
//! kernel are ignored. Both calls need a tokio runtime with IO enabled; no
//! privileges are needed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), netmon::NetError> {
//! use netmon::{NetEvent, Network};
//!
//! let mut sub = Network::events().await?;
//! for link in &sub.initial {
//!     println!("{} {} up={} mac={:?}", link.index, link.name, link.is_up(), link.mac);
//! }
//! while let Some(event) = sub.events.recv().await {
//!     match event {
//!         NetEvent::LinkDown(l) => println!("{} went down", l.name),
//!         NetEvent::AddressAdded(a) => println!("new address {a}"),
//!         other => println!("{other:?}"),
//!     }
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod model;
mod socket;
mod state;
mod wire;

pub use model::{Address, HwAddr, Link, NetError, NetEvent, OperState};

use socket::NlSocket;
use state::State;
use std::io;
use tokio::sync::mpsc;

/// Events buffered for a slow reader before the monitor waits for it (and,
/// if the kernel's socket buffer then overflows, resynchronises).
pub const DEFAULT_CAPACITY: usize = 256;

// Multicast groups, `enum rtnetlink_groups` in linux/rtnetlink.h.
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// Entry point: the network configuration of the calling thread's network namespace.
#[derive(Debug)]
pub struct Network;

/// A running monitor: where it started from and what changed since.
#[derive(Debug)]
pub struct Subscription {
    /// Links and addresses when the subscription started (sorted by index).
    /// Applying [`Subscription::events`] in order to it gives the current state.
    pub initial: Vec<Link>,
    /// Changes after `initial`. Changes racing with the start may be
    /// reported even though `initial` already shows them; every event
    /// carries the full new state, so applying it again is harmless.
    pub events: mpsc::Receiver<NetEvent>,
}

impl Network {
    /// Every link with its IPv4 and IPv6 addresses, sorted by index.
    pub async fn dump() -> Result<Vec<Link>, NetError> {
        NlSocket::open(&[])?.dump().await
    }

    /// Starts monitoring, with room for [`DEFAULT_CAPACITY`] pending events.
    pub async fn events() -> Result<Subscription, NetError> {
        Network::events_with_capacity(DEFAULT_CAPACITY).await
    }

    /// Starts monitoring with room for `capacity` pending events (at least 1).
    ///
    /// The subscription to the multicast groups is made before the starting
    /// dump, so no change after this call returns can be missed.
    pub async fn events_with_capacity(capacity: usize) -> Result<Subscription, NetError> {
        let monitor = NlSocket::open(&[RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR])?;
        let mut dumper = NlSocket::open(&[])?;
        let state = State::from_links(dumper.dump().await?);
        let initial = state.links();
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(run_monitor(monitor, dumper, state, tx));
        Ok(Subscription { initial, events: rx })
    }
}

/// The background task behind [`Network::events`].
async fn run_monitor(
    mut monitor: NlSocket,
    mut dumper: NlSocket,
    mut state: State,
    tx: mpsc::Sender<NetEvent>,
) {
    loop {
        let events = tokio::select! {
            _ = tx.closed() => return,
            received = monitor.recv() => match received {
                Ok(datagram) => state.apply_datagram(datagram),
                Err(e) if lost_messages(&e) => {
                    log::warn!("netlink: notifications lost ({e}); dumping again");
                    match dumper.dump().await {
                        Ok(links) => state.resync(links),
                        Err(e) => {
                            log::error!("netlink: resynchronisation failed, stopping: {e}");
                            return;
                        }
                    }
                }
                Err(e) => {
                    log::error!("netlink: monitor socket failed, stopping: {e}");
                    return;
                }
            },
        };
        for event in events {
            if tx.send(event).await.is_err() {
                return;
            }
        }
    }
}

/// Errors after which the socket still works but some notifications were
/// dropped: the kernel's ENOBUFS, or a datagram too large to read.
fn lost_messages(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOBUFS) || e.kind() == io::ErrorKind::InvalidData
}
