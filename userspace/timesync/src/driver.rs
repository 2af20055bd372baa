//! The tokio driver: UDP I/O, name resolution, timers, live configuration
//! and status publishing around the sans-IO [`Client`].

use std::net::SocketAddr;
use std::time::Instant;

use log::{debug, info, warn};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::client::{Action, Client, ClientConfig, Event, FailureReason, QueryId, ReplyOutcome, TimeStatus};
use crate::clock::Clock;
use crate::config::{parse_host_port, ConfigSource, SntpConfig};

/// Receive buffer: a header plus room for extension fields. Longer
/// datagrams are truncated by the kernel, and only 48 bytes are read anyway.
const RECV_BUFFER: usize = 512;
/// Addresses considered per name (a pool name may return dozens).
const MAX_ADDRESSES: usize = 16;

/// Runs the time service until the configuration sender is dropped.
///
/// - `config`: the SNTP configuration; every change is applied at once
///   ([`Client::reconfigure`]): a query in flight is abandoned and a new
///   round starts, within the per-server 15 s minimum.
/// - `clock`: the clock read for timestamps and set after each reply that
///   passed every check ([`crate::SystemClock`] on the gateway).
/// - `status`: receives a new [`TimeStatus`] whenever it changes, only
///   after the clock was set (so "synchronised" is never seen before the
///   clock is right).
///
/// Each query resolves the name (IPv4 and IPv6; the first address the
/// resolver returns, an IPv6 one first with `AutomaticIpv6`), opens a new
/// UDP socket on a kernel-chosen random port, connects it to the server (so
/// the kernel drops datagrams from anyone else), sends 48 bytes and waits at
/// most `query_timeout` for the reply.
pub async fn run<C: Clock>(
    mut config: watch::Receiver<SntpConfig>,
    clock: C,
    status: watch::Sender<TimeStatus>,
) {
    let initial = ClientConfig::from(&*config.borrow_and_update());
    let mut d = Driver {
        client: Client::new(initial, Instant::now()),
        clock,
        status,
    };
    d.settle();
    loop {
        let action = d.client.poll(Instant::now(), d.clock.now());
        d.settle();
        let changed = match action {
            Action::Query { id, server } => {
                let prefer_v6 = config.borrow().source == ConfigSource::AutomaticIpv6;
                tokio::select! {
                    () = d.query(id, &server, prefer_v6) => None,
                    r = config.changed() => Some(r),
                }
            }
            Action::WaitUntil(t) => {
                tokio::select! {
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(t)) => None,
                    r = config.changed() => Some(r),
                }
            }
            Action::Idle => Some(config.changed().await),
        };
        match changed {
            None => {}
            Some(Err(_)) => return,
            Some(Ok(())) => {
                let new = ClientConfig::from(&*config.borrow_and_update());
                info!(
                    "timesync: configuration changed: {:?} {:?}",
                    new.source, new.servers
                );
                d.client.reconfigure(new, Instant::now());
                d.settle();
            }
        }
    }
}

struct Driver<C> {
    client: Client,
    clock: C,
    status: watch::Sender<TimeStatus>,
}

impl<C: Clock> Driver<C> {
    /// Acts on the client's events (sets the clock on a good reply), then
    /// publishes the status if it changed.
    fn settle(&mut self) {
        while let Some(ev) = self.client.poll_event() {
            match ev {
                Event::Synchronised {
                    server,
                    offset,
                    delay,
                    stratum,
                } => match self.clock.adjust(offset) {
                    Ok(how) => info!(
                        "timesync: synchronised with {server} (stratum {stratum}, offset {offset}, delay {:.6} s): {how:?}",
                        delay.as_secs_f64()
                    ),
                    Err(e) => {
                        warn!("timesync: good reply from {server} but the clock could not be set: {e}");
                        self.client.clock_error(Instant::now(), e.to_string());
                    }
                },
                Event::QueryFailed { server, reason } => warn!("timesync: {server}: {reason}"),
                Event::KissOfDeath {
                    server,
                    code,
                    response,
                } => warn!("timesync: {server}: Kiss-o'-Death {code}: {response:?}"),
                Event::ReplyIgnored { server, reason } => {
                    debug!("timesync: datagram from {server:?} ignored: {reason}")
                }
                Event::RoundFailed { retry_in } => {
                    info!("timesync: no server answered; retrying in {} s", retry_in.as_secs())
                }
                Event::ClockStepped { by } => {
                    warn!("timesync: the clock was moved by {by} by someone else; resynchronising")
                }
            }
        }
        let current = self.client.status();
        self.status.send_if_modified(|s| {
            if s != current {
                *s = current.clone();
                true
            } else {
                false
            }
        });
    }

    async fn query(&mut self, id: QueryId, server: &str, prefer_v6: bool) {
        match self.exchange(id, server, prefer_v6).await {
            Ok(()) => {}
            Err(reason) => self.client.query_error(id, reason),
        }
        self.settle();
    }

    /// One request/reply exchange. Returns when the query is over or its
    /// deadline passed (the next poll reports the timeout).
    async fn exchange(&mut self, id: QueryId, server: &str, prefer_v6: bool) -> Result<(), FailureReason> {
        let timeout = self.client.config().query_timeout;
        let (host, port) = parse_host_port(server).map_err(FailureReason::BadServerName)?;
        let addrs: Vec<SocketAddr> =
            match tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port))).await {
                Err(_) => return Err(FailureReason::Resolve("timed out".into())),
                Ok(Err(e)) => return Err(FailureReason::Resolve(e.to_string())),
                Ok(Ok(it)) => it.take(MAX_ADDRESSES).collect(),
            };
        let addr = addrs
            .iter()
            .find(|a| !prefer_v6 || a.is_ipv6())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| FailureReason::Resolve("no address".into()))?;
        let net = |e: std::io::Error| FailureReason::Network(e.to_string());
        let local: SocketAddr = if addr.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        // Port 0: a fresh random ephemeral port per query, so replies cannot
        // be aimed at a port known in advance.
        let sock = UdpSocket::bind(local).await.map_err(net)?;
        sock.connect(addr).await.map_err(net)?;
        // T1 is read here, after resolution and socket set-up, right
        // before the send.
        let Some(request) = self.client.transmit(id, Instant::now(), self.clock.now()) else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + timeout;
        sock.send(&request).await.map_err(net)?;
        debug!("timesync: query {id:?} sent to {server} ({addr})");
        let mut buf = [0u8; RECV_BUFFER];
        loop {
            tokio::select! {
                r = sock.recv(&mut buf) => {
                    let n = r.map_err(net)?;
                    let outcome = self.client.handle_reply(id, Instant::now(), &buf[..n]);
                    // Set the clock before anything reads it again.
                    self.settle();
                    if outcome != ReplyOutcome::Ignored {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Ok(()),
            }
        }
    }
}
