//! The Connection Request server of TR-069 §3.2.2: the ACS asks the CPE to open a session by
//! sending an HTTP GET to the `ConnectionRequestURL` the CPE reported in its Informs.
//!
//! [`serve`] accepts those requests on the `Cwmp.ListeningPort` listener, authenticates them
//! with HTTP Digest (`Cwmp.ConnectionRequestUsername` / `Cwmp.ConnectionRequestPassword`),
//! answers `200 OK` with an empty body, and tells the agent through a channel that a session
//! with event `6 CONNECTION REQUEST` is owed. [`ConnectionRequestUrl`] builds the URL the
//! Inform reports.
//!
//! ## Decisions
//!
//! * **Digest only.** TR-069 requires digest for Connection Requests; the URL is plain HTTP,
//!   so Basic would put the password on the wire. An `Authorization: Basic` answer is treated
//!   like a wrong one: `401` with a fresh digest challenge. `qop=auth` and nonce-count replay
//!   protection come from [`httpwire::DigestServer`]; an expired or unknown nonce with the
//!   right password gets `stale=true`, so the ACS retries without treating it as a failure.
//!   Challenges are offered for SHA-256 then MD5 (RFC 7616 order of preference); ACSes that
//!   only know RFC 2617 answer the MD5 one.
//! * **No password, no Connection Requests.** TR-069 does not say what a CPE does when the ACS
//!   never set `ConnectionRequestPassword`. Accepting everyone would let anyone who can reach
//!   the port make the gateway call its ACS; a digest over an empty password proves nothing
//!   either, because the user name is not a secret (it travels in clear in every answer). So
//!   while the password is empty, whatever the user name, every request gets `401` (with a
//!   challenge, so the answer does not tell a prober whether credentials are configured). The
//!   ACS sets the credentials in its first session, and they apply at once (see below).
//! * **An unpredictable path.** TR-069 leaves the path of the URL to the CPE. The agent
//!   generates one with [`random_path`] (128 random bits, 32 hex digits), persists it, and
//!   reports it in the Informs, which only the ACS reads (over TLS). Any other path gets `404`
//!   before any authentication: internet-wide scans of port 7547 cannot even start a digest
//!   exchange to guess the password against, and learn only that something answers. The path is
//!   compared in constant time. Being secret, it also keeps strangers from churning the digest
//!   nonce table (each challenge issues a nonce, and [`httpwire::DigestServer`] remembers 32).
//! * **Rate limit on what is acted on.** At most `rate.0` authenticated requests are accepted
//!   per sliding window of `rate.1` ([`DEFAULT_RATE`]: 6 per minute); the next ones get
//!   `503 Service Unavailable` with `Retry-After` (TR-069 allows 503 for a refused request).
//!   Only authenticated requests count: if unauthenticated ones did, anyone could use up the
//!   budget and lock the ACS out. Unauthenticated traffic is bounded instead by
//!   `max_connections` and `header_timeout`, and costs one hash per request.
//! * **Coalescing.** An accepted request does `try_send(())` on the trigger channel. A full
//!   channel means a session is already owed, and one session serves any number of requests
//!   (it reports the event once), so the request is still answered `200`. A closed channel
//!   (the agent is gone) gets `503`.
//! * **Live configuration.** The configuration is a `watch` channel read at each request: new
//!   credentials, path, rate and limits apply to the next request without a restart (the port
//!   is the listener's: `Cwmp.ListeningPort` applies on restart).
//! * **Bounded everything.** At most `max_connections` connections (more are closed as soon as
//!   they are accepted); each request head must arrive within `header_timeout` (slow loris),
//!   idle keep-alive connections are closed after it too; heads are limited by httpwire
//!   (16 KiB, 100 fields, 8 KiB lines); at most [`MAX_REQUESTS_PER_CONNECTION`] requests per
//!   connection. Keep-alive is allowed because the digest round trip (`401`, then the answer)
//!   usually reuses the connection.
//! * **Strict requests.** Only `GET` on the path: other methods `405` (with `Allow: GET`), other
//!   paths `404`, a `GET` with a body `400`. A request with a body is answered and the
//!   connection closed rather than the body read (after a short, bounded drain, so that the
//!   close does not turn into a reset that destroys the answer).
//!
//! `Cwmp.InteropAllowUnauthenticatedUDPConnectionRequests` is about TR-111 UDP requests and
//! does not apply here: HTTP Connection Requests are always authenticated.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use httpwire::{BodyFraming, BufferedStream, Credentials, DigestServer, DigestVerdict, HttpError};
use httpwire::{RequestHead, ResponseHead, Version};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// The digest realm of the Connection Request server.
pub const REALM: &str = "dgw connection request";

/// Default rate limit: 6 accepted requests per minute. An ACS sends one request per
/// operation, and a session serves all that are pending, so more than one every 10 s on
/// average is either a broken ACS or an attack with stolen credentials.
pub const DEFAULT_RATE: (u32, Duration) = (6, Duration::from_secs(60));

/// Default bound on simultaneous connections: an ACS needs one; a few more leave room for an
/// ACS that retries before the previous connection closed.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;

/// Default time allowed for a request head to arrive, and for an idle keep-alive connection.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default lifetime of a digest nonce: the ACS answers a challenge within a round trip.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(60);

/// Requests served on one connection before it is closed. The digest exchange needs two; the
/// bound keeps an authenticated peer from holding a connection forever.
pub const MAX_REQUESTS_PER_CONNECTION: usize = 16;

/// The Connection Request server's configuration (from the `Cwmp.*` parameters, plus the
/// path the agent persisted). `Debug` does not print the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnReqConfig {
    /// `Cwmp.ConnectionRequestUsername`.
    pub username: String,
    /// `Cwmp.ConnectionRequestPassword`. Empty: every request is refused (module docs).
    pub password: String,
    /// The path of the URL, starting with `/` (see [`random_path`]). Compared with the
    /// request-target without its query.
    pub path: String,
    /// At most `rate.0` accepted requests per sliding window of `rate.1`; `rate.0 == 0`
    /// refuses every request with `503`.
    pub rate: (u32, Duration),
    /// Connections served at once; more are closed when accepted.
    pub max_connections: usize,
    /// Time allowed for each request head to arrive (and for a response to be written).
    pub header_timeout: Duration,
    /// How long a digest nonce is accepted after it was issued.
    pub nonce_lifetime: Duration,
}

impl ConnReqConfig {
    /// A configuration with the given credentials and path and the default limits.
    pub fn new(username: &str, password: &str, path: &str) -> ConnReqConfig {
        ConnReqConfig {
            username: username.to_owned(),
            password: password.to_owned(),
            path: path.to_owned(),
            rate: DEFAULT_RATE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            nonce_lifetime: DEFAULT_NONCE_LIFETIME,
        }
    }

    /// Whether any request can be accepted: a password is set.
    pub fn enabled(&self) -> bool {
        !self.password.is_empty()
    }
}

impl fmt::Debug for ConnReqConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whether a password is set is useful in a log and not secret; the password is.
        let password = if self.password.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        };
        f.debug_struct("ConnReqConfig")
            .field("username", &self.username)
            .field("password", &password)
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("nonce_lifetime", &self.nonce_lifetime)
            .finish()
    }
}

/// A fresh unpredictable path for the ConnectionRequestURL: `/` and 32 hex digits (128 bits
/// from the system random generator). Generate it once and persist it: the ACS learns it from
/// the Informs, and a path that changed at each boot would only matter until the next Inform,
/// but would make the URL in the ACS's records wrong in between.
///
/// Errors: the system random generator failed ([`HttpError::Random`]).
pub fn random_path() -> Result<String, HttpError> {
    let hex = sipdigest::try_new_cnonce().map_err(|_| HttpError::Random)?;
    Ok(format!("/{hex}"))
}

/// The `ConnectionRequestURL` reported in the Informs: `http://<ip>:<port><path>`.
///
/// `ip` is the local address of the connection to the ACS (what the ACS can reach the CPE
/// on, NAT aside); the agent takes it from the session's socket. IPv6 addresses are written
/// in brackets, and an IPv4-mapped IPv6 address (from a dual-stack socket) as plain IPv4.
/// A path without a leading `/` gets one.
///
/// ```
/// use cwmpd::connreq::ConnectionRequestUrl;
/// let url = ConnectionRequestUrl::new("2001:db8::1".parse()?, 7547, "/0123abcd");
/// assert_eq!(url.to_string(), "http://[2001:db8::1]:7547/0123abcd");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequestUrl {
    addr: SocketAddr,
    path: String,
}

impl ConnectionRequestUrl {
    /// The URL for local address `ip`, port `port` (`Cwmp.ListeningPort`) and `path`.
    pub fn new(ip: IpAddr, port: u16, path: &str) -> ConnectionRequestUrl {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        ConnectionRequestUrl {
            addr: SocketAddr::new(ip.to_canonical(), port),
            path,
        }
    }

    /// The address and port the URL names.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The path, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for ConnectionRequestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SocketAddr's Display brackets IPv6 (`[2001:db8::1]:7547`), as a URL authority needs.
        write!(f, "http://{}{}", self.addr, self.path)
    }
}

/// Serves Connection Requests on `listener` until the task running it is aborted (or
/// dropped); the connections it serves end with it.
///
/// `config` is read at each request, so changes apply live. Each accepted request does
/// `trigger.try_send(())`: the agent receives `()` and starts a session with event
/// `6 CONNECTION REQUEST`, at once or after the current one. Give the channel a capacity of 1:
/// then a pending `()` means a session is owed, and further requests coalesce into it.
pub async fn serve(listener: TcpListener, config: watch::Receiver<ConnReqConfig>, trigger: mpsc::Sender<()>) {
    let digest = match DigestServer::new(REALM) {
        Ok(d) => d,
        Err(e) => {
            // Only a bad REALM constant gets here; the tests would catch it.
            log::error!("connection request server not started: {e}");
            return;
        }
    };
    let nonce_lifetime = config.borrow().nonce_lifetime;
    let shared = Arc::new(Mutex::new(Shared {
        digest: digest.with_nonce_lifetime(nonce_lifetime),
        nonce_lifetime,
        accepted: VecDeque::new(),
    }));
    // Owning the connection tasks here means aborting `serve` aborts them too.
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            // Reap finished connections first, so that `tasks.len()` is the number of live
            // connections when the next one is accepted.
            biased;
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let max = config.borrow().max_connections;
                    if tasks.len() >= max {
                        log::debug!("connection request from {peer}: {max} connections already open, closed");
                        drop(stream);
                        continue;
                    }
                    let conn = Connection {
                        peer,
                        config: config.clone(),
                        shared: shared.clone(),
                        trigger: trigger.clone(),
                    };
                    tasks.spawn(conn.run(stream));
                }
                Err(e) => {
                    // Typically EMFILE/ENFILE: wait for descriptors to free up rather than spin.
                    log::warn!("connection request server: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// State shared by all connections: digest nonces may be issued on one connection and
/// answered on another, and the rate limit is global.
struct Shared {
    digest: DigestServer,
    nonce_lifetime: Duration,
    /// When recent requests were accepted, oldest first (the rate limit's sliding window).
    accepted: VecDeque<Instant>,
}

impl Shared {
    /// `Ok` if a request may be accepted now, else how long until one may.
    fn rate_check(&mut self, now: Instant, (max, per): (u32, Duration)) -> Result<(), Duration> {
        while let Some(&t) = self.accepted.front() {
            if now.saturating_duration_since(t) >= per {
                self.accepted.pop_front();
            } else {
                break;
            }
        }
        if max == 0 {
            return Err(per);
        }
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        if self.accepted.len() < max {
            return Ok(());
        }
        // A slot frees when the entry that leaves `max - 1` newer ones leaves the window (the
        // oldest, unless `max` was lowered since).
        let freeing = self
            .accepted
            .get(self.accepted.len() - max)
            .copied()
            .unwrap_or(now);
        Err(per.saturating_sub(now.saturating_duration_since(freeing)))
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // The critical sections cannot leave the state half-updated in a way that matters (at
    // worst a nonce or a timestamp too many), so a poisoned lock is still usable.
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What to answer to one request.
struct Reply {
    /// `None` only if a head could not be built (it cannot happen with the constant statuses
    /// used here); the connection is then closed without an answer rather than panicking.
    head: Option<ResponseHead>,
    /// Close the connection after this response.
    close: bool,
}

impl Reply {
    fn status(status: u16, close: bool) -> Reply {
        Reply {
            head: plain(status),
            close,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        if let Some(head) = &mut self.head {
            // Constant names and plain-text values: cannot fail.
            let _ = head.headers_mut().append(name, value);
        }
        self
    }
}

/// A response head for `status` with an empty body.
fn plain(status: u16) -> Option<ResponseHead> {
    let mut head = ResponseHead::new(status).ok()?;
    head.headers_mut().append("Content-Length", "0").ok()?;
    Some(head)
}

struct Connection {
    peer: SocketAddr,
    config: watch::Receiver<ConnReqConfig>,
    shared: Arc<Mutex<Shared>>,
    trigger: mpsc::Sender<()>,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let mut conn = BufferedStream::new(stream);
        for served in 1..=MAX_REQUESTS_PER_CONNECTION {
            let header_timeout = self.config.borrow().header_timeout;
            let head = match tokio::time::timeout(header_timeout, httpwire::read_request(&mut conn)).await {
                Ok(Ok(Some(head))) => head,
                // The peer closed between requests.
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    log::debug!("connection request from {}: {e}", self.peer);
                    if let Some(status) = error_status(&e) {
                        let reply = Reply::status(status, true).header("Connection", "close");
                        if self.write(&mut conn, reply.head, header_timeout).await {
                            linger(conn, header_timeout).await;
                        }
                    }
                    return;
                }
                Err(_) => {
                    // A head started but not finished in time (slow loris) gets a 408; an idle
                    // keep-alive connection is just closed, as a client expects.
                    if conn.buffered().iter().any(|&b| b != b'\r' && b != b'\n') {
                        log::debug!("connection request from {}: head not received in time", self.peer);
                        let reply = Reply::status(408, true).header("Connection", "close");
                        self.write(&mut conn, reply.head, header_timeout).await;
                    }
                    return;
                }
            };
            let mut reply = self.handle(&head, Instant::now());
            let keep_alive = !reply.close && head.keep_alive() && served < MAX_REQUESTS_PER_CONNECTION;
            if !keep_alive {
                reply = reply.header("Connection", "close");
            } else if head.version() == Version::Http10 {
                // HTTP/1.0 closes by default; say that this connection stays open.
                reply = reply.header("Connection", "keep-alive");
            }
            if !self.write(&mut conn, reply.head, header_timeout).await {
                return;
            }
            if !keep_alive {
                // A body left unread would make the close a reset, which may destroy the
                // response before the client read it.
                if !matches!(head.body_framing(), Ok(BodyFraming::Length(0))) || !conn.buffered().is_empty() {
                    linger(conn, header_timeout).await;
                }
                return;
            }
        }
    }

    /// Writes `head` with an empty body within `limit`; `false` if the connection is unusable
    /// (or there is no head to write).
    async fn write(
        &self,
        conn: &mut BufferedStream<TcpStream>,
        head: Option<ResponseHead>,
        limit: Duration,
    ) -> bool {
        let Some(head) = head else {
            return false;
        };
        match tokio::time::timeout(limit, httpwire::write_response(conn, &head, b"")).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                log::debug!("connection request from {}: writing the response: {e}", self.peer);
                false
            }
            Err(_) => {
                log::debug!(
                    "connection request from {}: response not taken in time",
                    self.peer
                );
                false
            }
        }
    }

    /// Decides the answer to one request (no I/O).
    fn handle(&self, req: &RequestHead, now: Instant) -> Reply {
        // Cloned so that the watch channel is not borrowed while the shared state is locked.
        let cfg = self.config.borrow().clone();
        let peer = self.peer;
        // A body we do not read would be taken for the next request: answer, then close.
        let has_body = !matches!(req.body_framing(), Ok(BodyFraming::Length(0)));
        if !path_matches(req.target(), &cfg.path) {
            return Reply::status(404, has_body);
        }
        if req.method() != "GET" {
            return Reply::status(405, has_body).header("Allow", "GET");
        }
        if has_body {
            return Reply::status(400, true);
        }

        let mut shared = lock(&self.shared);
        if shared.nonce_lifetime != cfg.nonce_lifetime {
            shared.nonce_lifetime = cfg.nonce_lifetime;
            shared.digest = shared.digest.clone().with_nonce_lifetime(cfg.nonce_lifetime);
        }
        let verdict = if cfg.enabled() {
            let creds = Credentials {
                username: cfg.username.clone(),
                password: cfg.password.clone(),
            };
            shared.digest.verify(req, &creds, now)
        } else {
            DigestVerdict::Denied("no ConnectionRequestPassword configured")
        };
        match verdict {
            DigestVerdict::Authorized { .. } => {}
            DigestVerdict::Stale => return challenge(&mut shared, now, true),
            DigestVerdict::Denied(why) => {
                // The first request of every exchange carries no credentials: not worth a log line.
                if req.headers().contains("authorization") || !cfg.enabled() {
                    log::info!("connection request from {peer} refused: {why}");
                }
                return challenge(&mut shared, now, false);
            }
        }

        if let Err(wait) = shared.rate_check(now, cfg.rate) {
            log::info!("connection request from {peer} refused: rate limit");
            // Whole seconds, rounded up, at least 1: "0" would invite an immediate retry.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Reply::status(503, true).header("Retry-After", &secs.max(1).to_string());
        }
        match self.trigger.try_send(()) {
            Ok(()) => log::info!("connection request from {peer}: session requested"),
            Err(mpsc::error::TrySendError::Full(())) => {
                log::info!("connection request from {peer}: a session is already pending")
            }
            Err(mpsc::error::TrySendError::Closed(())) => {
                log::warn!("connection request from {peer}: the agent is not running");
                return Reply::status(503, true);
            }
        }
        shared.accepted.push_back(now);
        Reply::status(200, false)
    }
}

/// Most bytes read and thrown away by [`linger`].
const LINGER_BYTES: usize = 64 * 1024;
/// Longest [`linger`].
const LINGER_TIME: Duration = Duration::from_secs(1);

/// Closes a connection whose peer may still be sending (a body or an oversized head), so
/// that it gets the response: closing a socket with unread input makes the kernel send a
/// reset, and the peer may then lose the response it has not read yet. Sends FIN, then reads
/// and discards what comes until the peer closes, for at most [`LINGER_BYTES`] and
/// min([`LINGER_TIME`], `limit`).
async fn linger(conn: BufferedStream<TcpStream>, limit: Duration) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (mut tcp, _) = conn.into_parts();
    let drain = async {
        if tcp.shutdown().await.is_err() {
            return;
        }
        let mut scratch = [0u8; 4096];
        let mut total = 0usize;
        while total < LINGER_BYTES {
            match tcp.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(limit.min(LINGER_TIME), drain).await;
}

/// A 401 with a fresh challenge (keep-alive: the answer usually comes on this connection).
fn challenge(shared: &mut Shared, now: Instant, stale: bool) -> Reply {
    match shared.digest.unauthorized(now, stale) {
        Ok(head) => Reply {
            head: Some(head),
            close: false,
        },
        Err(e) => {
            log::error!("connection request: no digest challenge: {e}");
            Reply::status(500, true)
        }
    }
}

/// The status to answer a request that could not be read with, or `None` to just close.
fn error_status(e: &HttpError) -> Option<u16> {
    match e {
        HttpError::HeadTooLarge | HttpError::TooManyHeaders | HttpError::LineTooLong => Some(431),
        HttpError::UnsupportedVersion => Some(505),
        HttpError::Io(_) | HttpError::UnexpectedEof | HttpError::ConnectionClosed => None,
        _ => Some(400),
    }
}

/// Whether `target` (origin-form, or absolute-form `http://host/path`) names `path`; the
/// query is ignored. Constant time in the contents, so response timing does not reveal how
/// much of the secret path a guess got right.
fn path_matches(target: &str, path: &str) -> bool {
    let mut t = target;
    if t.len() >= 7 && t.as_bytes()[..7].eq_ignore_ascii_case(b"http://") {
        let rest = &t[7..];
        t = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    let t = t.split_once('?').map_or(t, |(p, _)| p);
    if path.is_empty() || t.len() != path.len() {
        return false;
    }
    t.bytes().zip(path.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(path_matches("/abc", "/abc"));
        assert!(path_matches("/abc?x=1", "/abc"));
        assert!(path_matches("http://192.0.2.1:7547/abc", "/abc"));
        assert!(path_matches("HTTP://h/abc", "/abc"));
        assert!(!path_matches("/abd", "/abc"));
        assert!(!path_matches("/abc/", "/abc"));
        assert!(!path_matches("/ab", "/abc"));
        assert!(!path_matches("*", "/abc"));
        assert!(!path_matches("http://h", "/abc"));
        assert!(path_matches("http://h", "/"));
        assert!(!path_matches("/", ""));
        // Non-ASCII cannot reach here (httpwire refuses it), but must not panic either.
        assert!(!path_matches("http:/é", "/abc"));
        assert!(!path_matches("é", "/abc"));
    }

    #[test]
    fn random_paths_differ() {
        let a = random_path().unwrap();
        let b = random_path().unwrap();
        assert_eq!(a.len(), 33);
        assert!(a.starts_with('/') && a[1..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn urls() {
        let v4 = ConnectionRequestUrl::new("192.0.2.7".parse().unwrap(), 7547, "/p");
        assert_eq!(v4.to_string(), "http://192.0.2.7:7547/p");
        let v6 = ConnectionRequestUrl::new("2001:db8::7".parse().unwrap(), 30005, "p");
        assert_eq!(v6.to_string(), "http://[2001:db8::7]:30005/p");
        let mapped = ConnectionRequestUrl::new("::ffff:192.0.2.7".parse().unwrap(), 7547, "/p");
        assert_eq!(mapped.to_string(), "http://192.0.2.7:7547/p");
        assert_eq!(mapped.addr().port(), 7547);
        assert_eq!(mapped.path(), "/p");
        // What the test ACS parses is what the agent reports.
        let url = httpwire::Url::parse(&v6.to_string()).unwrap();
        assert_eq!(url.port(), 30005);
        assert_eq!(url.target(), "/p");
    }

    #[test]
    fn rate_window() {
        let mut s = Shared {
            digest: DigestServer::new(REALM).unwrap(),
            nonce_lifetime: DEFAULT_NONCE_LIFETIME,
            accepted: VecDeque::new(),
        };
        let t0 = Instant::now();
        let rate = (2, Duration::from_secs(10));
        for k in 0..2 {
            assert!(s.rate_check(t0 + Duration::from_secs(k), rate).is_ok());
            s.accepted.push_back(t0 + Duration::from_secs(k));
        }
        assert_eq!(
            s.rate_check(t0 + Duration::from_secs(3), rate),
            Err(Duration::from_secs(7))
        );
        assert!(s.rate_check(t0 + Duration::from_secs(10), rate).is_ok());
        assert_eq!(s.accepted.len(), 1);
        assert_eq!(
            s.rate_check(t0, (0, Duration::from_secs(5))),
            Err(Duration::from_secs(5))
        );
    }

    #[test]
    fn debug_redacts_the_password() {
        let c = ConnReqConfig::new("acs", "hunter2", "/p");
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && s.contains("<redacted>"), "{s}");
        assert!(format!("{:?}", ConnReqConfig::new("", "", "/p")).contains("<empty>"));
        assert!(!ConnReqConfig::new("acs", "", "/p").enabled());
    }
}
