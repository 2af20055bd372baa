//! # sipd: the gateway's SIP user agent (the DGW's SipEp service)
//!
//! sipd registers the configured users with a registrar and sets up calls,
//! over UDP, TCP or TLS (one transport for the whole unit, as on the DGW;
//! TLS by default). Over TLS it keeps persistent connections to the
//! outbound proxy, the registrar and the home domain proxy, every
//! handshake done by rustls and the connection then handed to kernel TLS
//! by [`ktls_offload`] where the kernel can take it.
//!
//! | DGW parameter | here |
//! | --- | --- |
//! | `SipEp.TransportConfig[G].{Udp,Tcp,Tls}Enable`, `.SecurePort` | [`SipConfig::transport`], [`SipConfig::listen_port`] |
//! | `SipEp.DefaultStaticProxyOutboundHost`, `...RegistrarHost`, `...ProxyHomeDomainHost` | [`SipConfig::outbound_proxy`], [`SipConfig::registrar`], [`SipConfig::home_domain`] |
//! | `SipEp.DefaultRegistrationExpiration` | [`SipConfig::registration_expires`] |
//! | `SipEp.SipKeepAliveMethod`, `...Interval`, `...Retry` | [`SipConfig::keep_alive`] |
//! | `SipEp.TransportPersistentBasePort`, `...PortInterval`, `SipEp.TransportFailbackInterval` | local ports and failback of the persistent connections |
//! | `SipEp.Registration[U].*` | [`SipConfig::users`] |
//! | TLS version, suites, validation level, client authentication | the rustls configurations in [`SipdOptions`], built by `pki` |
//! | `SipEp.GatewayStatus`, `SipEp.RegistrationStatus`, `SipEp.TlsPersistentConnectionStatus` | [`Status`] |
//!
//! ## Structure
//! - [`sipmsg`] parses and frames messages, [`sipdigest`] answers digest
//!   challenges, [`sdp`] does offer/answer with SDES keys;
//! - [`transport`]: connection tasks, framing, limits;
//! - [`txn`]: client transactions and timers;
//! - this module: the core that routes what arrives, the persistent
//!   connections, and the public [`Sipd`] handle; `register` and `call`
//!   hold the registration and call logic.
//!
//! Media is not handled yet: a call's SDP reserves a UDP port and carries
//! the SRTP keys, and the negotiated result is reported
//! ([`CallInfo::media`]); no RTP flows.

#![warn(missing_docs)]

mod call;
pub mod config;
mod register;
pub mod status;
pub mod transport;
pub mod txn;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use sipmsg::{Message, Method};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::sync::{broadcast, mpsc, watch, Semaphore};
use tokio::time::Instant;

pub use call::{CallError, CallEvent, CallInfo, CallState, Direction};
pub use config::{ConfigError, KeepAlive, Server, SipConfig, Transport, User};
pub use status::{ConnectionState, Event, GatewayState, RegistrationState, Status};

use status::{ids, ConnectionRow, Severity};
use transport::{Flow, Inbound, Limits};
use txn::Registry;

/// Server transactions remembered at once (each holds its last response).
const MAX_SERVER_TXNS: usize = 1024;

/// How long a CRLF ping may wait for its pong (RFC 5626 §4.4.1).
const PONG_WAIT: Duration = Duration::from_secs(10);

/// What sipd needs beside its parameters.
#[derive(Clone)]
pub struct SipdOptions {
    /// Address to listen on and to connect from (any address by default).
    pub bind: IpAddr,
    /// TLS client configuration (server validation at the configured
    /// level); required for the TLS transport.
    pub tls_client: Option<Arc<ClientConfig>>,
    /// TLS server configuration (the TlsServer host certificate, client
    /// certificates required or not); without it no TLS port is opened
    /// and requests can only arrive on the connections sipd opened.
    pub tls_server: Option<Arc<ServerConfig>>,
    /// kTLS hand-off choice.
    pub ktls: ktls_offload::Options,
    /// Peer limits.
    pub limits: Limits,
    /// SRTP (SDES) policy for offers and answers.
    pub srtp: sdp::SrtpPolicy,
    /// Answer incoming calls at once (there are no telephony lines yet).
    pub auto_answer: bool,
    /// Wait before retrying a failed registration.
    pub registration_retry: Duration,
    /// Longest wait between reconnection attempts (the back-off doubles
    /// from 1 s up to this).
    pub reconnect_max: Duration,
    /// The User-Agent header.
    pub user_agent: String,
    /// Most calls at once (each holds a media port); more are refused with
    /// 486 Busy Here, so a flood of INVITEs cannot exhaust the unit.
    pub max_calls: usize,
}

impl Default for SipdOptions {
    fn default() -> Self {
        SipdOptions {
            bind: IpAddr::from([0, 0, 0, 0]),
            tls_client: None,
            tls_server: None,
            ktls: ktls_offload::Options::default(),
            limits: Limits::default(),
            srtp: sdp::SrtpPolicy::Mandatory,
            auto_answer: true,
            registration_retry: Duration::from_secs(30),
            reconnect_max: Duration::from_secs(60),
            user_agent: format!("dgw/{}", env!("CARGO_PKG_VERSION")),
            max_calls: 64,
        }
    }
}

/// Why sipd could not start.
#[derive(Debug)]
pub enum StartError {
    /// The listening port is taken ("Cannot start, port already in use").
    PortInUse(std::io::Error),
    /// The TLS transport without a TLS client configuration.
    NoTlsConfig,
    /// Another socket error.
    Io(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::PortInUse(e) => write!(f, "cannot start, port already in use: {e}"),
            StartError::NoTlsConfig => f.write_str("the TLS transport needs a TLS client configuration"),
            StartError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// An IP address as written in a URI or Via (IPv6 in brackets).
pub fn ip_for_uri(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => format!("[{v}]"),
    }
}

/// Server transactions by key: when first seen, and the last response.
type ServerTxns = HashMap<String, (Instant, Option<Vec<u8>>)>;

pub(crate) struct Core {
    cfg: SipConfig,
    opts: SipdOptions,
    status: Status,
    registry: Registry,
    /// The current flow to each persistent server (None while down).
    servers: HashMap<Server, watch::Sender<Option<Flow>>>,
    /// The UDP socket, for the UDP transport.
    udp: Option<Flow>,
    /// The port we listen on (the configured one, or the one the OS chose
    /// when it was 0 in tests).
    listen_port: u16,
    calls: call::Calls,
    /// Server transactions seen recently (branch + method) and the last
    /// response sent, to absorb retransmissions.
    server_txns: Mutex<ServerTxns>,
    shutdown: watch::Sender<bool>,
    sink: mpsc::Sender<Inbound>,
}

impl Core {
    fn flow_context(&self) -> transport::FlowContext {
        transport::FlowContext {
            limits: self.opts.limits,
            sink: self.sink.clone(),
            status: self.status.clone(),
        }
    }

    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The flow to a server now: the persistent connection, or the UDP
    /// socket toward its address.
    pub(crate) async fn flow_to(&self, server: &Server) -> Option<Flow> {
        if let Some(udp) = &self.udp {
            let addr = resolve(server).await.ok()?.into_iter().next()?;
            return Some(udp.udp_to(addr));
        }
        self.servers.get(server)?.borrow().clone()
    }

    /// Waits until the flow to `server` changes (a new connection).
    pub(crate) fn watch_server(&self, server: &Server) -> Option<watch::Receiver<Option<Flow>>> {
        self.servers.get(server).map(|s| s.subscribe())
    }

    /// Our Contact URI for `user` on `flow`.
    pub(crate) fn contact(&self, user: &str, flow: &Flow) -> String {
        let t = self.cfg.transport;
        let param = if t == Transport::Udp {
            String::new()
        } else {
            format!(";transport={}", t.uri_param())
        };
        format!(
            "<sip:{user}@{}:{}{param}>",
            ip_for_uri(flow.local.ip()),
            self.listen_port
        )
    }

    /// The scheme of the users' addresses of record.
    pub(crate) fn aor(&self, user: &str) -> String {
        let domain = self.cfg.domain().map(|d| d.uri_host()).unwrap_or_default();
        format!("sip:{user}@{domain}")
    }

    async fn send_response(&self, flow: &Flow, request: &Message, response: Message) {
        let bytes = response.to_bytes();
        if let Some(key) = server_txn_key(request) {
            let mut map = self.server_txns.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = map.get_mut(&key) {
                *entry = (entry.0, Some(bytes.clone()));
            }
        }
        let target = response_target(flow, request);
        if let Err(e) = target.send(bytes).await {
            log::debug!(target: "sipd", "response to {} not sent: {e}", target.remote);
        }
    }

    /// Answers `request` with `code`.
    pub(crate) async fn reply(&self, flow: &Flow, request: &Message, code: u16, reason: &str) {
        let mut r = Message::response_to(request, code, reason);
        r.headers.push("User-Agent", &self.opts.user_agent);
        self.send_response(flow, request, r).await;
    }

    /// Routes what a flow delivered.
    async fn dispatch(self: &Arc<Self>, flow: Flow, msg: Message) {
        if !msg.is_request() {
            if !self.registry.deliver(msg.clone()) {
                self.calls.stray_response(self, &flow, msg).await;
            }
            return;
        }
        // A retransmission of a request we answered: send the answer again.
        if let Some(key) = server_txn_key(&msg) {
            let seen = {
                let mut map = self.server_txns.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                map.retain(|_, (t, _)| now.duration_since(*t) < txn::TIMER_B);
                let seen = map.get(&key).cloned();
                // Bounded: a flood of distinct requests must not grow memory
                // without limit; past the bound retransmissions are simply
                // handled again (harmless over streams, where there are none).
                if seen.is_none() && map.len() < MAX_SERVER_TXNS {
                    map.insert(key, (now, None));
                }
                seen
            };
            if let Some((_, last)) = seen {
                if let Some(bytes) = last {
                    let _ = response_target(&flow, &msg).send(bytes).await;
                }
                return;
            }
        }
        let Some(method) = msg.method().cloned() else {
            return;
        };
        if let sipmsg::StartLine::Request { uri, .. } = &msg.start {
            if uri.scheme == sipmsg::Scheme::Sips && flow.transport != Transport::Tls {
                // RFC 3261 §26.2.2: a SIPS request must arrive over TLS.
                return self.reply(&flow, &msg, 416, "Unsupported URI Scheme").await;
            }
        }
        match method {
            Method::Options => {
                let mut r = Message::response_to(&msg, 200, "OK");
                r.headers.push("Allow", call::ALLOW);
                r.headers.push("Accept", "application/sdp");
                r.headers.push("User-Agent", &self.opts.user_agent);
                self.send_response(&flow, &msg, r).await;
            }
            Method::Invite | Method::Ack | Method::Bye | Method::Cancel => {
                call::handle_request(self, flow, msg, method).await;
            }
            Method::Register => {
                let mut r = Message::response_to(&msg, 405, "Method Not Allowed");
                r.headers.push("Allow", call::ALLOW);
                self.send_response(&flow, &msg, r).await;
            }
            Method::Other(_) => self.reply(&flow, &msg, 501, "Not Implemented").await,
        }
    }
}

/// The key of a server transaction: top branch and method (ACK and CANCEL
/// share the INVITE's branch but are their own transactions).
fn server_txn_key(req: &Message) -> Option<String> {
    let via = req.top_via().ok()?;
    let branch = via.branch()?;
    let m = req.method()?;
    if *m == Method::Ack {
        return None;
    }
    Some(format!("{branch}/{m}"))
}

/// Where a response goes: the same connection, or over UDP the source
/// address and port (RFC 3581 rport: the port the request came from).
fn response_target(flow: &Flow, _request: &Message) -> Flow {
    // Streams: the connection it came on (RFC 3261 §18.2.2). UDP: the
    // flow already carries the datagram's source address, which is what
    // rport asks for and what NATs need.
    flow.clone()
}

async fn resolve(server: &Server) -> std::io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((server.host.as_str(), server.port))
        .await?
        .collect();
    if addrs.is_empty() {
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no address"));
    }
    Ok(addrs)
}

/// The running SIP service.
pub struct Sipd {
    core: Arc<Core>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sipd {
    /// Starts sipd: opens the listening socket, the persistent connections
    /// and the registrations. Returns once the socket is bound; the rest
    /// proceeds in the background (watch [`Sipd::status`]).
    pub async fn start(cfg: SipConfig, opts: SipdOptions) -> Result<Sipd, StartError> {
        let status = Status::new(&cfg.gateway);
        Self::start_with_status(cfg, opts, status).await
    }

    /// As [`Sipd::start`], reporting into an existing [`Status`].
    pub async fn start_with_status(
        cfg: SipConfig,
        opts: SipdOptions,
        status: Status,
    ) -> Result<Sipd, StartError> {
        if cfg.transport == Transport::Tls && opts.tls_client.is_none() {
            return Err(StartError::NoTlsConfig);
        }
        let (sink, mut inbound) = mpsc::channel::<Inbound>(1024);
        let (shutdown, _) = watch::channel(false);
        let bind = SocketAddr::new(opts.bind, cfg.listen_port);
        let port_err = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                status.set_gateway(GatewayState::CannotStartPortInUse);
                status.notify(
                    ids::GATEWAY_FAILED,
                    Severity::Error,
                    format!(
                        "SIP gateway {} cannot start: port {} already in use",
                        cfg.gateway, bind
                    ),
                );
                StartError::PortInUse(e)
            } else {
                StartError::Io(e)
            }
        };
        let mut listener = None;
        let mut udp = None;
        let listen_port;
        match cfg.transport {
            Transport::Udp => {
                let s = UdpSocket::bind(bind).await.map_err(port_err)?;
                listen_port = s.local_addr().map_err(StartError::Io)?.port();
                udp = Some(transport::spawn_udp(Arc::new(s), sink.clone(), status.clone()));
            }
            Transport::Tcp | Transport::Tls => {
                if cfg.transport == Transport::Tcp || opts.tls_server.is_some() {
                    let l = TcpListener::bind(bind).await.map_err(port_err)?;
                    listen_port = l.local_addr().map_err(StartError::Io)?.port();
                    listener = Some(l);
                } else {
                    listen_port = cfg.listen_port;
                    status.notify(
                        ids::GATEWAY_FAILED,
                        Severity::Warning,
                        format!(
                            "SIP gateway {}: no TlsServer host certificate, TLS port {} not opened; \
                             requests can only arrive on the unit's own connections",
                            cfg.gateway, cfg.listen_port
                        ),
                    );
                }
            }
        }
        let servers = if cfg.transport.is_reliable() {
            cfg.persistent_servers()
                .into_iter()
                .map(|s| (s, watch::channel(None).0))
                .collect()
        } else {
            HashMap::new()
        };
        let core = Arc::new(Core {
            cfg,
            opts,
            status,
            registry: Registry::default(),
            servers,
            udp,
            listen_port,
            calls: call::Calls::default(),
            server_txns: Mutex::default(),
            shutdown,
            sink,
        });
        let mut tasks = Vec::new();
        // The core loop: everything flows deliver.
        let c = core.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(item) = inbound.recv().await {
                match item {
                    Inbound::Message(flow, msg) => {
                        let c = c.clone();
                        // Each message in its own task: a call waiting for
                        // an ACK must not hold up the next message.
                        tokio::spawn(async move { c.dispatch(flow, *msg).await });
                    }
                    // In-dialog requests fall back to the next hop
                    // when their flow closed (see call::dialog_flow).
                    Inbound::Closed(_) => {}
                }
            }
        }));
        if let Some(l) = listener {
            tasks.push(tokio::spawn(accept_loop(core.clone(), l)));
        }
        for (i, server) in core.cfg.persistent_servers().into_iter().enumerate() {
            if core.servers.contains_key(&server) {
                tasks.push(tokio::spawn(persistent(core.clone(), server, i as u16)));
            }
        }
        for user in core.cfg.users.clone() {
            if user.enabled {
                tasks.push(tokio::spawn(register::run(core.clone(), user)));
            }
        }
        core.status.set_gateway(GatewayState::Ready);
        core.status.notify(
            ids::GATEWAY_READY,
            Severity::Info,
            format!(
                "SIP gateway {} is ready ({} on port {})",
                core.cfg.gateway, core.cfg.transport, core.listen_port
            ),
        );
        Ok(Sipd { core, tasks })
    }

    /// The status tables and notifications.
    pub fn status(&self) -> &Status {
        &self.core.status
    }

    /// The port sipd listens on.
    pub fn listen_port(&self) -> u16 {
        self.core.listen_port
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SipConfig {
        &self.core.cfg
    }

    /// Places a call from `user` to `target` (a user of the home domain,
    /// or a `sip:`/`sips:` URI). Returns once the INVITE is sent; follow
    /// the call with [`Sipd::call_events`] and [`Sipd::call_info`].
    pub async fn call(&self, user: &str, target: &str) -> Result<String, CallError> {
        call::place(&self.core, user, target).await
    }

    /// Ends a call: CANCEL while it rings, BYE once established.
    pub async fn hangup(&self, call_id: &str) -> Result<(), CallError> {
        call::hangup(&self.core, call_id).await
    }

    /// Call state changes.
    pub fn call_events(&self) -> broadcast::Receiver<CallEvent> {
        self.core.calls.subscribe()
    }

    /// A call's details.
    pub fn call_info(&self, call_id: &str) -> Option<CallInfo> {
        self.core.calls.info(call_id)
    }

    /// Every call known (current and recently ended).
    pub fn calls(&self) -> Vec<CallInfo> {
        self.core.calls.all()
    }

    /// Unregisters every user (bounded by `grace`), ends calls and closes
    /// the connections.
    pub async fn shutdown(self, grace: Duration) {
        self.core.status.set_gateway(GatewayState::Restarting);
        let _ = self.core.shutdown.send(true);
        let deadline = Instant::now() + grace;
        call::hangup_all(&self.core, grace).await;
        // Registration tasks unregister and end by themselves.
        while Instant::now() < deadline
            && self.core.status.registrations().iter().any(|r| {
                r.state == RegistrationState::Unregistering || r.state == RegistrationState::Registered
            })
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Now the connections: close_notify, and wait a little for it to go.
        for s in self.core.servers.values() {
            if let Some(f) = s.send_replace(None) {
                f.close();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Accepts TLS (or TCP) connections, bounded in number and handshake time.
async fn accept_loop(core: Arc<Core>, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(core.opts.limits.max_incoming));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                log::warn!(target: "sipd", "accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            core.status.notify(
                ids::CONNECTION_DROPPED,
                Severity::Warning,
                format!(
                    "Connection from {peer} refused: {} connections open",
                    core.opts.limits.max_incoming
                ),
            );
            continue;
        };
        let core = core.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let local = tcp.local_addr().unwrap_or(peer);
            let limits = core.opts.limits;
            let (flow, reader) = match (&core.opts.tls_server, core.cfg.transport) {
                (Some(server), Transport::Tls) => {
                    let accepted = tokio::time::timeout(
                        limits.handshake,
                        ktls_offload::accept(server.clone(), tcp, &core.opts.ktls),
                    )
                    .await;
                    let tls = match accepted {
                        Ok(Ok(t)) => t,
                        Ok(Err(e)) => {
                            core.status.notify(
                                ids::INCOMING_TLS_FAILED,
                                Severity::Warning,
                                format!("Incoming TLS connection from {peer} refused: {e}"),
                            );
                            return;
                        }
                        Err(_) => {
                            core.status.notify(
                                ids::INCOMING_TLS_FAILED,
                                Severity::Warning,
                                format!("Incoming TLS connection from {peer}: handshake timed out"),
                            );
                            return;
                        }
                    };
                    log::info!(target: "sipd", "incoming TLS connection from {peer}: {} {}, {}",
                        tls.info().version, tls.info().suite, tls.info().path);
                    transport::spawn_stream(
                        tls,
                        Transport::Tls,
                        transport::Endpoints {
                            local,
                            remote: peer,
                            incoming: true,
                        },
                        &core.flow_context(),
                    )
                }
                _ => transport::spawn_stream(
                    tcp,
                    Transport::Tcp,
                    transport::Endpoints {
                        local,
                        remote: peer,
                        incoming: true,
                    },
                    &core.flow_context(),
                ),
            };
            drop(flow);
            let _ = reader.await;
        });
    }
}

enum Connected {
    Up(Flow, tokio::task::JoinHandle<()>, usize, String),
}

/// Connects to one of `addrs`, from `local_port`, in order; returns the
/// flow and the index of the address that answered.
async fn connect(
    core: &Arc<Core>,
    server: &Server,
    addrs: &[SocketAddr],
    local_port: u16,
) -> Result<Connected, (String, bool)> {
    let mut last = (String::from("no address"), false);
    for (i, addr) in addrs.iter().enumerate() {
        let sock = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| (e.to_string(), false))?;
        // Many connections share the base port (interval 0) toward
        // different servers; SO_REUSEADDR lets the 4-tuples differ.
        let _ = sock.set_reuseaddr(true);
        let local_ip = match (core.opts.bind, addr) {
            (IpAddr::V4(b), SocketAddr::V4(_)) => IpAddr::V4(b),
            (IpAddr::V6(b), SocketAddr::V6(_)) => IpAddr::V6(b),
            (_, SocketAddr::V4(_)) => IpAddr::from([0, 0, 0, 0]),
            (_, SocketAddr::V6(_)) => IpAddr::from([0u16; 8]),
        };
        if let Err(e) = sock.bind(SocketAddr::new(local_ip, local_port)) {
            last = (format!("local port {local_port}: {e}"), false);
            continue;
        }
        let limits = core.opts.limits;
        let tcp = match tokio::time::timeout(limits.handshake, sock.connect(*addr)).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                last = (format!("{addr}: {e}"), false);
                continue;
            }
            Err(_) => {
                last = (format!("{addr}: connection timed out"), false);
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        if core.cfg.keep_alive == KeepAlive::TcpKeepAlive {
            if let Err(e) =
                transport::set_tcp_keepalive(&tcp, core.cfg.keep_alive_interval, core.cfg.keep_alive_retry)
            {
                log::warn!(target: "sipd", "TCP keep-alive on {addr}: {e}");
            }
        }
        let local = tcp.local_addr().unwrap_or(SocketAddr::new(local_ip, local_port));
        if core.cfg.transport == Transport::Tcp {
            let (flow, reader) = transport::spawn_stream(
                tcp,
                Transport::Tcp,
                transport::Endpoints {
                    local,
                    remote: *addr,
                    incoming: false,
                },
                &core.flow_context(),
            );
            return Ok(Connected::Up(flow, reader, i, "TCP".into()));
        }
        let Some(client) = core.opts.tls_client.clone() else {
            return Err(("no TLS client configuration".into(), false));
        };
        let name = match ServerName::try_from(server.host.clone()) {
            Ok(n) => n,
            Err(e) => return Err((format!("{}: {e}", server.host), false)),
        };
        match tokio::time::timeout(
            limits.handshake,
            ktls_offload::connect(client, name, tcp, &core.opts.ktls),
        )
        .await
        {
            Ok(Ok(tls)) => {
                let info = tls.info();
                let path = format!("{} {} via {}", info.version, info.suite, info.path);
                let (flow, reader) = transport::spawn_stream(
                    tls,
                    Transport::Tls,
                    transport::Endpoints {
                        local,
                        remote: *addr,
                        incoming: false,
                    },
                    &core.flow_context(),
                );
                return Ok(Connected::Up(flow, reader, i, path));
            }
            Ok(Err(e)) => {
                let text = e.to_string();
                let cert = text.to_ascii_lowercase().contains("certificate");
                last = (format!("{addr}: {text}"), cert);
            }
            Err(_) => last = (format!("{addr}: TLS handshake timed out"), false),
        }
    }
    Err(last)
}

/// Keeps the persistent connection to `server` up: connect, keep alive,
/// reconnect with back-off, fail back to the preferred address.
async fn persistent(core: Arc<Core>, server: Server, index: u16) {
    let gw = core.cfg.gateway.clone();
    let local_port = core
        .cfg
        .persistent_base_port
        .saturating_add(index.saturating_mul(core.cfg.persistent_port_interval));
    let Some(slot) = core.servers.get(&server) else {
        return;
    };
    let mut shutdown = core.shutdown.subscribe();
    let mut backoff = Duration::from_secs(1);
    let row = |state: ConnectionState, local: u16, addr: String, path: String| ConnectionRow {
        gateway: gw.clone(),
        local_port: local,
        remote_host: server.to_string(),
        remote_addr: addr,
        state,
        data_path: path,
    };
    let kind = if core.cfg.transport == Transport::Tls {
        "TLS"
    } else {
        "TCP"
    };
    while !core.is_shutting_down() {
        core.status
            .set_connection(row(ConnectionState::WaitingUp, 0, String::new(), String::new()));
        let addrs = match resolve(&server).await {
            Ok(a) => a,
            Err(e) => {
                core.status.notify(
                    ids::CONNECTION_FAILED,
                    Severity::Warning,
                    format!("{kind} connection with remote host {server} failed for SIP gateway {gw}: cannot resolve: {e}"),
                );
                Vec::new()
            }
        };
        let outcome = if addrs.is_empty() {
            Err((String::from("no address"), false))
        } else {
            connect(&core, &server, &addrs, local_port).await
        };
        match outcome {
            Ok(Connected::Up(flow, reader, idx, path)) => {
                backoff = Duration::from_secs(1);
                core.status.set_connection(row(
                    ConnectionState::Up,
                    flow.local.port(),
                    flow.remote.to_string(),
                    path.clone(),
                ));
                core.status.notify(
                    ids::CONNECTION_READY,
                    Severity::Info,
                    format!(
                        "{kind} connection with remote host {server} ({}) is now ready to be used for SIP gateway {gw} ({path})",
                        flow.remote
                    ),
                );
                core.status.notify(
                    ids::SERVER_REACHABLE,
                    Severity::Info,
                    format!("Server {server} is now reachable for SIP gateway {gw}"),
                );
                slot.send_replace(Some(flow.clone()));
                let why = stay_up(&core, &server, &flow, reader, &addrs, idx, local_port).await;
                slot.send_replace(None);
                if core.is_shutting_down() {
                    core.status.set_connection(row(
                        ConnectionState::WaitingShutdown,
                        flow.local.port(),
                        flow.remote.to_string(),
                        String::new(),
                    ));
                    return;
                }
                core.status.notify(
                    ids::CONNECTION_CLOSED,
                    Severity::Warning,
                    format!(
                        "{kind} connection with remote host {server} for SIP gateway {gw} is down: {why}"
                    ),
                );
                if why.contains("keep-alive") {
                    core.status.notify(
                        ids::SERVER_UNREACHABLE,
                        Severity::Warning,
                        format!("Server {server} is now unreachable for SIP gateway {gw}"),
                    );
                }
                if why.starts_with("failback") {
                    continue; // reconnect at once, to the preferred address
                }
            }
            Err((why, cert)) => {
                core.status.notify(
                    if cert {
                        ids::CERTIFICATE_REFUSED
                    } else {
                        ids::CONNECTION_FAILED
                    },
                    Severity::Warning,
                    format!("{kind} connection with remote host {server} failed for SIP gateway {gw}: {why}"),
                );
            }
        }
        core.status
            .set_connection(row(ConnectionState::Down, 0, String::new(), String::new()));
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(core.opts.reconnect_max);
    }
}

/// Runs an established connection until it fails; returns why.
#[allow(clippy::too_many_arguments)]
async fn stay_up(
    core: &Arc<Core>,
    server: &Server,
    flow: &Flow,
    mut reader: tokio::task::JoinHandle<()>,
    addrs: &[SocketAddr],
    idx: usize,
    local_port: u16,
) -> String {
    let interval = core.cfg.keep_alive_interval;
    let mut next_ping = Instant::now() + interval;
    let mut next_failback = (idx > 0).then(|| Instant::now() + core.cfg.failback_interval);
    loop {
        let wake = match next_failback {
            Some(f) if f < next_ping => f,
            _ => next_ping,
        };
        tokio::select! {
            _ = &mut reader => return "closed".into(),
            _ = tokio::time::sleep_until(wake) => {}
        }
        let now = Instant::now();
        if next_failback.is_some_and(|f| now >= f) {
            // Try the preferred address; switch only when it answers.
            if let Ok(Connected::Up(f2, r2, 0, _)) = connect(core, server, &addrs[..1], local_port).await {
                f2.close();
                drop(r2);
                flow.close();
                return "failback to the preferred address".into();
            }
            next_failback = Some(now + core.cfg.failback_interval);
            continue;
        }
        if now < next_ping {
            continue;
        }
        next_ping = now + interval;
        match core.cfg.keep_alive {
            KeepAlive::Ping => {
                let pong = flow.pong();
                tokio::pin!(pong);
                // Register interest before sending so a fast pong is seen.
                pong.as_mut().enable();
                if flow.send(b"\r\n\r\n".to_vec()).await.is_err() {
                    return "keep-alive not sent".into();
                }
                if tokio::time::timeout(PONG_WAIT, pong).await.is_err() {
                    flow.close();
                    return "no keep-alive pong within 10 s".into();
                }
            }
            KeepAlive::SipOptions => {
                if !register::options_ping(core, server, flow).await {
                    flow.close();
                    return "no answer to the keep-alive OPTIONS".into();
                }
            }
            KeepAlive::None | KeepAlive::TcpKeepAlive => {}
        }
    }
}
