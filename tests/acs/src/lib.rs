//! The dgw test ACS: a scripted TR-069 Auto Configuration Server, with a file server and a
//! Connection Request client, for the tests of the CPE agent (cwmpd).
//!
//! One [`Acs`] listens on `127.0.0.1` (plain HTTP, or HTTPS with a [`TlsIdentity`] from a
//! [`TestPki`]) on an ephemeral port and serves:
//!
//! * the CWMP endpoint, [`Acs::url`] (`/acs`): TR-069 sessions, one at a time per CPE;
//! * files for Download under `/files/` ([`Acs::add_file`], [`Acs::add_file_with`]);
//! * uploads (PUT or POST) under `/upload/` ([`Acs::upload_url`], [`Acs::uploads`]).
//!
//! A test scripts what the ACS asks ([`Acs::push_request`]) and how it behaves in each session
//! ([`Acs::push_behaviour`]: slow, closing, malformed, oversize, wrong namespace, unknown RPC,
//! HTTP errors, 401 loops, HoldRequests), lets the CPE run, then inspects what happened
//! ([`Acs::next_session`], [`Acs::wait_inform_with`]). Every envelope the CPE sends is written
//! to [`Acs::envelope_dir`] and checked against the Broadband Forum schema with
//! `tests/cwmp-schema/validate` when its session ends ([`Session::validation`],
//! [`Acs::assert_all_valid`]).
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use acs::{Acs, AcsOptions};
//! use cwmp::{Body, EventCode};
//!
//! let acs = Acs::start(AcsOptions::default()).await;
//! acs.push_request(Body::GetParameterValues(vec!["Device.DeviceInfo.SoftwareVersion".into()]));
//! // ... point the CPE at acs.url() and let it boot ...
//! let session = acs.wait_inform_with(&EventCode::Bootstrap, Duration::from_secs(10)).await;
//! let (_request, answer) = &session.rpc_responses()[0];
//! assert!(matches!(answer.body, Body::GetParameterValuesResponse(_)));
//! session.assert_no_violations();
//! acs.assert_all_valid();
//! # }
//! ```
//!
//! # The session as the ACS runs it (TR-069 §3.7)
//!
//! * A POST holding an Inform starts a session: it is answered with InformResponse
//!   (MaxEnvelopes 1, the Inform's cwmp:ID echoed) and a session cookie, `acs_session`.
//! * Every later POST of the session must carry the cookie; one without it is a violation and,
//!   with [`AcsOptions::enforce_cookie`] (the default), is refused with 403 and the connection
//!   closed, as an ACS that finds its sessions by cookie would.
//! * TransferComplete is answered with TransferCompleteResponse, GetRPCMethods with the
//!   ACS's methods, any other CPE request with fault 8000.
//! * An empty POST, or a POST holding the answer to the ACS's last request, gets the next
//!   queued request (HTTP 200, `Content-Type: text/xml; charset="utf-8"`, cwmp:ID `acs-N`), or
//!   204 with no body when the queue is empty, which ends the session unless the CPE posts again.
//! * SOAPAction is a request header, so the ACS sends none; it checks the CPE's (an empty POST
//!   must have neither SOAPAction nor Content-Type, a POST holding a response or fault must
//!   have an empty SOAPAction) and records breaches in [`Session::violations`].
//! * A session ends with its connection. A new Inform from a CPE whose session is still open
//!   on another connection (after a 1 s grace for the close to be noticed) is refused with 503.
//!   The request queue is shared by all sessions: a request pushed is sent in whichever session
//!   next asks.
//!
//! # Driving the CPE agent with it
//!
//! * Give the agent [`Acs::url`] as `Device.ManagementServer.URL`. Over HTTPS, make a
//!   [`TestPki`], start the ACS with `AcsOptions::https(pki.identity(CertKind::Valid)?)` and
//!   give the agent [`TestPki::ca_pem`] as its trust anchor; the other [`CertKind`]s test each
//!   validation level (wrong host, expired, unknown issuer), and a second `Acs` (its CWMP
//!   endpoint unused) serves files with a different certificate. Refused handshakes show in
//!   [`Acs::tls_failures`].
//! * The listener is `127.0.0.1` only; the Connection Request client refuses anything but
//!   loopback. Take the agent's ConnectionRequestURL from [`Session::inform_value`].
//! * Sessions are returned once they end, i.e. when the agent closes its connection after the
//!   ACS's 204; a session cut by a restart ends as [`EndReason::CpeClosed`].
//! * Everything is bounded: [`Acs::next_session`] and [`Acs::wait_inform_with`] panic after
//!   their timeout with a summary of what the ACS saw; idle connections close after
//!   [`AcsOptions::idle_timeout`].
//! * The envelope directory is removed when the `Acs` is dropped, unless a test is failing or
//!   an envelope was invalid, so the evidence stays for `tests/cwmp-schema/validate`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connreq;
mod record;
mod server;
mod tls;
mod validate;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use cwmp::{Body, EventCode, FaultCode};
use httpwire::{Credentials, DigestServer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

pub use connreq::connection_request;
pub use record::{EndReason, HttpExchange, Sent, Session, UploadRecord, Validation};
pub use tls::{CertKind, TestPki, TlsIdentity};
pub use validate::validator;

/// The name of the session cookie the ACS sets.
pub const COOKIE_NAME: &str = "acs_session";

/// The methods the ACS lists in its GetRPCMethodsResponse.
pub const ACS_METHODS: [&str; 3] = ["Inform", "GetRPCMethods", "TransferComplete"];

/// How a client (the CPE, or a downloader) must authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HttpAuth {
    /// No authentication.
    #[default]
    None,
    /// HTTP Basic with these credentials (TR-069 allows it over TLS only; the ACS accepts it
    /// over plain HTTP too, so that a CPE's refusal to send it can be tested).
    Basic(Credentials),
    /// HTTP Digest (RFC 7616, `qop=auth`, SHA-256 and MD5 offered) with these credentials,
    /// through `httpwire::DigestServer`: replayed nonce-counts are refused, old nonces are stale.
    Digest(Credentials),
}

impl HttpAuth {
    /// Basic with `username` and `password`.
    pub fn basic(username: &str, password: &str) -> HttpAuth {
        HttpAuth::Basic(creds(username, password))
    }

    /// Digest with `username` and `password`.
    pub fn digest(username: &str, password: &str) -> HttpAuth {
        HttpAuth::Digest(creds(username, password))
    }
}

fn creds(username: &str, password: &str) -> Credentials {
    Credentials {
        username: username.to_string(),
        password: password.to_string(),
    }
}

/// How the ACS behaves in one session ([`Acs::push_behaviour`]); the default is
/// [`Behaviour::Normal`]. The deliberately bad messages (`MalformedXml`, `HugeEnvelope`,
/// `WrongNamespace`, `UnknownRpc`) are sent once, where the first queued request would go, and
/// the CPE's answer is recorded in [`Session::responses`] against [`Sent::Raw`]; the session
/// then goes on with the queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// By the book.
    #[default]
    Normal,
    /// Sets `cwmp:HoldRequests` true on the InformResponse and on every queued request, so the
    /// CPE must hold its own requests (TransferComplete) until the ACS's empty response.
    /// Requests the CPE sends anyway are recorded as violations.
    HoldRequests,
    /// Waits this long before every HTTP response of the session.
    Delay(Duration),
    /// Answers the Inform with this fault (8005 asks the CPE to retry later).
    InformFault(FaultCode),
    /// Closes the connection without answering when the CPE's POST number `n` of the session
    /// arrives (1 is the Inform).
    CloseAfterPosts(usize),
    /// Sends XML that is not well-formed (an unclosed element): the CPE should answer 9003.
    MalformedXml,
    /// Sends a well-formed GetParameterValues of at least this many bytes (beyond
    /// `cwmp::MAX_ENVELOPE`, 256 KiB, the CPE should answer 9004).
    HugeEnvelope(usize),
    /// Sends GetRPCMethods in a namespace that is not CWMP's: the CPE should answer 9000.
    WrongNamespace,
    /// Sends `X_DGW_Frobnicate`, a method that does not exist: the CPE should answer 9000.
    UnknownRpc,
    /// Answers every POST of the session with this HTTP status and no body (500, 503, ...).
    HttpStatus(u16),
    /// Answers every POST of the session with 401 and a fresh challenge, even to good
    /// credentials: a CPE must give up rather than loop.
    Unauthorized,
}

/// How to start an [`Acs`].
#[derive(Clone, Debug)]
pub struct AcsOptions {
    /// HTTPS with this identity; `None`: plain HTTP.
    pub tls: Option<TlsIdentity>,
    /// How the CPE must authenticate on the CWMP endpoint (checked on every POST).
    pub auth: HttpAuth,
    /// Refuse (403, close) a POST of a session that lacks the session cookie. The violation is
    /// recorded either way.
    pub enforce_cookie: bool,
    /// Check the CPE's envelopes with the schema validator at the end of each session.
    pub validate: bool,
    /// Where to write the CPE's envelopes; `None`: a fresh directory under the system temp dir.
    pub envelope_dir: Option<PathBuf>,
    /// A connection with nothing to read for this long is closed (and its session ended).
    pub idle_timeout: Duration,
    /// The largest upload accepted.
    pub upload_limit: u64,
}

impl Default for AcsOptions {
    fn default() -> AcsOptions {
        AcsOptions {
            tls: None,
            auth: HttpAuth::None,
            enforce_cookie: true,
            validate: true,
            envelope_dir: None,
            idle_timeout: Duration::from_secs(30),
            upload_limit: 256 * 1024 * 1024,
        }
    }
}

impl AcsOptions {
    /// The defaults, over HTTPS with `identity`.
    pub fn https(identity: TlsIdentity) -> AcsOptions {
        AcsOptions {
            tls: Some(identity),
            ..AcsOptions::default()
        }
    }
}

/// The content of a served file.
#[derive(Clone, Debug)]
pub enum FileBody {
    /// These bytes.
    Bytes(Arc<Vec<u8>>),
    /// This many bytes of [`pattern`], generated while sending (large files for kTLS tests
    /// without holding them in memory).
    Pattern(u64),
}

/// `len` bytes of the deterministic pattern [`FileBody::Pattern`] files hold, from `offset`:
/// what a test compares a downloaded file with. Not periodic at any power of two, so a lost
/// or repeated block shows.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64).map(pattern_byte).collect()
}

pub(crate) fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8 ^ (i / 251 % 241) as u8
}

#[derive(Clone, Debug)]
pub(crate) struct ServedFile {
    pub(crate) body: FileBody,
    pub(crate) auth: HttpAuth,
}

/// Everything the connections share.
pub(crate) struct Shared {
    pub(crate) opts: AcsOptions,
    pub(crate) dir: PathBuf,
    pub(crate) state: Mutex<State>,
    pub(crate) changed: Notify,
    pub(crate) cwmp_digest: Mutex<DigestServer>,
    pub(crate) file_digest: Mutex<DigestServer>,
}

impl Shared {
    /// The state; a panic in another task while holding it does not hide what was recorded.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) requests: VecDeque<Body>,
    pub(crate) behaviours: VecDeque<Behaviour>,
    pub(crate) finished: Vec<Session>,
    pub(crate) taken: HashSet<u64>,
    pub(crate) http_log: Vec<HttpExchange>,
    pub(crate) uploads: Vec<UploadRecord>,
    pub(crate) files: HashMap<String, ServedFile>,
    pub(crate) upload_auth: HttpAuth,
    pub(crate) protocol_errors: Vec<String>,
    pub(crate) tls_failures: Vec<String>,
    /// Device (OUI-ProductClass-Serial) to the connection of its open session.
    pub(crate) active_devices: HashMap<String, u64>,
    pub(crate) next_session: u64,
    pub(crate) next_connection: u64,
    pub(crate) next_request: u64,
    pub(crate) tasks: Vec<AbortHandle>,
}

/// A running test ACS. Dropping it stops the listener and every connection.
pub struct Acs {
    shared: Arc<Shared>,
    addr: SocketAddr,
    https: bool,
    accept: AbortHandle,
    /// The envelope directory was made by the ACS (not given in the options).
    owns_dir: bool,
}

impl std::fmt::Debug for Acs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acs")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

impl Acs {
    /// Starts an ACS on `127.0.0.1` and an ephemeral port, on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// If it cannot listen or build its TLS configuration (see [`Acs::try_start`]).
    pub async fn start(opts: AcsOptions) -> Acs {
        Acs::try_start(opts).await.expect("start the test ACS")
    }

    /// [`Acs::start`], returning errors.
    pub async fn try_start(opts: AcsOptions) -> anyhow::Result<Acs> {
        let tls = match &opts.tls {
            Some(identity) => Some(identity.server_config()?),
            None => None,
        };
        let instance = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let owns_dir = opts.envelope_dir.is_none();
        let dir = match &opts.envelope_dir {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!("dgw-acs-{}-{instance}", std::process::id())),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("listen")?;
        let addr = listener.local_addr()?;
        let https = tls.is_some();
        let shared = Arc::new(Shared {
            opts,
            dir,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            cwmp_digest: Mutex::new(DigestServer::new("dgw test ACS")?),
            file_digest: Mutex::new(DigestServer::new("dgw test files")?),
        });
        let accept = tokio::spawn(server::accept_loop(shared.clone(), listener, tls)).abort_handle();
        Ok(Acs {
            shared,
            addr,
            https,
            accept,
            owns_dir,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://...`, without a path.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The ACS URL to give the CPE (`.../acs`).
    pub fn url(&self) -> String {
        format!("{}/acs", self.base_url())
    }

    /// Whether it serves HTTPS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The directory the CPE's envelopes are written to.
    pub fn envelope_dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Queues a request for the ACS to send in a session, after the queued ones.
    pub fn push_request(&self, body: Body) {
        self.shared.state().requests.push_back(body);
    }

    /// Queues several requests.
    pub fn push_requests(&self, bodies: impl IntoIterator<Item = Body>) {
        self.shared.state().requests.extend(bodies);
    }

    /// Requests queued and not sent yet.
    pub fn pending_requests(&self) -> usize {
        self.shared.state().requests.len()
    }

    /// Sets how the ACS behaves in the next session that starts without a behaviour of its own;
    /// behaviours pushed are used one per session, in order.
    pub fn push_behaviour(&self, behaviour: Behaviour) {
        self.shared.state().behaviours.push_back(behaviour);
    }

    /// Every finished session, in the order they ended.
    pub fn sessions(&self) -> Vec<Session> {
        self.shared.state().finished.clone()
    }

    /// Every HTTP exchange on any connection (CWMP, files, uploads), in order.
    pub fn http_log(&self) -> Vec<HttpExchange> {
        self.shared.state().http_log.clone()
    }

    /// Problems outside any session: a POST before any Inform, a request on an unknown path, a
    /// broken request head.
    pub fn protocol_errors(&self) -> Vec<String> {
        self.shared.state().protocol_errors.clone()
    }

    /// TLS handshakes that failed (a CPE refusing the ACS's certificate shows here).
    pub fn tls_failures(&self) -> Vec<String> {
        self.shared.state().tls_failures.clone()
    }

    /// The next finished session not returned yet by this or the other `wait`/`next` methods,
    /// in order of ending, or `None` after `timeout`.
    pub async fn try_next_session(&self, timeout: Duration) -> Option<Session> {
        self.wait_session(timeout, |_| true).await
    }

    /// [`Acs::try_next_session`], panicking after `timeout` with what the ACS saw.
    pub async fn next_session(&self, timeout: Duration) -> Session {
        match self.try_next_session(timeout).await {
            Some(s) => s,
            None => panic!("no session ended within {timeout:?}; {}", self.summary()),
        }
    }

    /// The first finished session not returned yet whose Inform carries `code`, waiting up to
    /// `timeout`; sessions skipped stay available to the other calls.
    ///
    /// # Panics
    ///
    /// After `timeout`, with what the ACS saw.
    pub async fn wait_inform_with(&self, code: &EventCode, timeout: Duration) -> Session {
        match self.wait_session(timeout, |s| s.has_event(code)).await {
            Some(s) => s,
            None => panic!(
                "no session with event {code:?} ended within {timeout:?}; {}",
                self.summary()
            ),
        }
    }

    /// The first finished session not returned yet that `matches`, waiting up to `timeout`.
    pub async fn wait_session(
        &self,
        timeout: Duration,
        mut matches: impl FnMut(&Session) -> bool,
    ) -> Option<Session> {
        self.wait_for(timeout, |state| {
            let found = state
                .finished
                .iter()
                .find(|s| !state.taken.contains(&s.id) && matches(s))
                .cloned()?;
            state.taken.insert(found.id);
            Some(found)
        })
        .await
    }

    async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so a change between the check and the wait is not
            // missed.
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = check(&mut self.shared.state()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    fn summary(&self) -> String {
        let state = self.shared.state();
        let sessions: Vec<String> = state
            .finished
            .iter()
            .map(|s| {
                let events: Vec<&str> = s.inform.events.iter().map(|e| e.code.as_str()).collect();
                format!("#{} {events:?} {:?}", s.id, s.end)
            })
            .collect();
        format!(
            "sessions ended: [{}]; HTTP requests: {}; protocol errors: {:?}; TLS failures: {:?}",
            sessions.join(", "),
            state.http_log.len(),
            state.protocol_errors,
            state.tls_failures
        )
    }

    /// Panics, listing them, unless every envelope the CPE sent in every finished session is
    /// schema-valid and parsed. A missing xmllint fails too, saying to install libxml2-utils.
    pub fn assert_all_valid(&self) {
        let state = self.shared.state();
        let mut problems = Vec::new();
        for s in &state.finished {
            match &s.validation {
                Validation::Valid | Validation::Skipped => {}
                Validation::Invalid(report) => problems.push(format!("session {}:\n{report}", s.id)),
                Validation::Unavailable(why) => problems.push(format!("session {}: {why}", s.id)),
            }
            for (_, e) in &s.unparsable {
                problems.push(format!("session {}: an envelope did not parse: {e}", s.id));
            }
        }
        assert!(
            problems.is_empty(),
            "the CPE sent invalid CWMP envelopes (files in {}):\n{}",
            self.shared.dir.display(),
            problems.join("\n")
        );
    }

    /// Serves `content` at `/files/NAME` without authentication; returns its URL.
    pub fn add_file(&self, name: &str, content: impl Into<Vec<u8>>) -> String {
        self.add_file_with(name, FileBody::Bytes(Arc::new(content.into())), HttpAuth::None)
    }

    /// Serves `body` at `/files/NAME`, requiring `auth`; returns its URL. Replaces a file of the
    /// same name.
    pub fn add_file_with(&self, name: &str, body: FileBody, auth: HttpAuth) -> String {
        let path = format!("/files/{name}");
        self.shared
            .state()
            .files
            .insert(path.clone(), ServedFile { body, auth });
        format!("{}{path}", self.base_url())
    }

    /// Stops serving `/files/NAME` (404 from now on).
    pub fn remove_file(&self, name: &str) {
        self.shared.state().files.remove(&format!("/files/{name}"));
    }

    /// The URL of `/files/NAME`.
    pub fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base_url())
    }

    /// The URL to upload `NAME` to (`/upload/NAME`, PUT or POST).
    pub fn upload_url(&self, name: &str) -> String {
        format!("{}/upload/{name}", self.base_url())
    }

    /// Requires `auth` for uploads (none by default).
    pub fn set_upload_auth(&self, auth: HttpAuth) {
        self.shared.state().upload_auth = auth;
    }

    /// Every upload received, in order.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        self.shared.state().uploads.clone()
    }

    /// The first upload to `/upload/NAME`, waiting up to `timeout`.
    pub async fn wait_upload(&self, name: &str, timeout: Duration) -> Option<UploadRecord> {
        let path = format!("/upload/{name}");
        self.wait_for(timeout, |state| {
            state.uploads.iter().find(|u| u.path == path).cloned()
        })
        .await
    }

    /// Sends a Connection Request to the CPE (see [`connection_request`]), bounded by 10 s.
    pub async fn connection_request(&self, url: &str, username: &str, password: &str) -> anyhow::Result<u16> {
        connection_request(url, username, password, Duration::from_secs(10)).await
    }
}

impl Drop for Acs {
    fn drop(&mut self) {
        self.accept.abort();
        let mut state = self.shared.state();
        for task in state.tasks.drain(..) {
            task.abort();
        }
        // The envelopes are kept when they are evidence: a failing test (panicking now) or an
        // invalid one; otherwise the temporary directory goes.
        let evidence = state.finished.iter().any(|s| {
            !matches!(s.validation, Validation::Valid | Validation::Skipped) || !s.unparsable.is_empty()
        });
        if self.owns_dir && !evidence && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.shared.dir);
        }
    }
}
