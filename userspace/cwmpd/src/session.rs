//! One CWMP session over HTTP(S): the I/O around [`cwmp::session::CpeSession`].
//!
//! Connects to the ACS (TLS by rustls, then kTLS where the kernel can take
//! it), POSTs the Inform, the queued TransferCompletes and the empty POST,
//! hands every ACS request to an [`Rpc`] implementation and POSTs its
//! answer, until the ACS ends the session with an empty response. Cookies
//! and HTTP authentication (Basic over TLS only, Digest) are httpwire's.
//! Each HTTP exchange is bounded in time; a session that fails is retried
//! by the caller with [`crate::retry::RetryPolicy`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cwmp::session::{CpeSession, Step};
use cwmp::{Body, DateTime, DeviceId, Envelope, EventCode, Inform, ParameterValue};
use httpwire::{Client, Credentials, RequestHead, Url};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::events::AgentState;

/// A byte stream to the ACS: TCP, or TLS (kTLS or userspace) over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Longest wait for one HTTP exchange with the ACS (a slow ACS ends the
/// session; the retry policy takes over).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest ACS response read (the codec refuses envelopes above 256 KiB).
const BODY_LIMIT: u64 = 512 * 1024;

/// Who the agent talks to and how.
#[derive(Clone)]
pub struct AcsTarget {
    /// The ACS URL (`http` or `https`).
    pub url: Url,
    /// HTTP credentials (empty user name: none).
    pub username: String,
    /// Never logged.
    pub password: String,
    /// TLS for `https`, from the Cwmp TLS policy (validation level,
    /// versions, suites); `None` refuses `https`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// kTLS hand-off choice.
    pub ktls: ktls_offload::Options,
    /// Longest wait for one exchange (connect, handshake, one HTTP round
    /// trip); [`EXCHANGE_TIMEOUT`] on the unit.
    pub timeout: Duration,
}

impl std::fmt::Debug for AcsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsTarget")
            .field("url", &self.url.to_string())
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "<set>" })
            .finish()
    }
}

/// Executes what the ACS asks.
pub trait Rpc: Send {
    /// The parameters every Inform carries (TR-069's forced inform list
    /// and the passive value changes since the last Inform).
    fn inform_parameters(&mut self) -> Vec<ParameterValue>;

    /// Executes one ACS request, returning its response or a
    /// [`Body::Fault`].
    fn handle(&mut self, request: &Envelope) -> impl Future<Output = Body> + Send;
}

/// Why a session failed.
#[derive(Debug)]
pub enum SessionFailure {
    /// No connection (DNS, TCP, TLS, certificate).
    Connect(String),
    /// HTTP failed or the ACS answered with an HTTP error.
    Http(String),
    /// The ACS broke the protocol (bad XML, out of turn, a fault to Inform).
    Protocol(String),
    /// An exchange took longer than [`AcsTarget::timeout`].
    Timeout,
}

impl std::fmt::Display for SessionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionFailure::Connect(w) => write!(f, "cannot reach the ACS: {w}"),
            SessionFailure::Http(w) => write!(f, "HTTP: {w}"),
            SessionFailure::Protocol(w) => write!(f, "CWMP: {w}"),
            SessionFailure::Timeout => f.write_str("the ACS did not answer in time"),
        }
    }
}

impl std::error::Error for SessionFailure {}

/// What a successful session did.
#[derive(Debug, Default)]
pub struct SessionReport {
    /// The events the Inform carried.
    pub events: Vec<String>,
    /// The ACS requests handled, by method name.
    pub requests: Vec<String>,
    /// Whether the TLS data path was the kernel's.
    pub ktls: bool,
}

async fn connect(t: &AcsTarget) -> Result<(Box<dyn Io>, bool), SessionFailure> {
    let host = t
        .url
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tcp = tokio::time::timeout(
        EXCHANGE_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), t.url.port())),
    )
    .await
    .map_err(|_| SessionFailure::Timeout)?
    .map_err(|e| SessionFailure::Connect(format!("{}: {e}", t.url.authority())))?;
    let _ = tcp.set_nodelay(true);
    match t.url.scheme() {
        httpwire::Scheme::Http => Ok((Box::new(tcp), false)),
        httpwire::Scheme::Https => {
            let cfg = t
                .tls
                .clone()
                .ok_or_else(|| SessionFailure::Connect("no TLS configuration for an https ACS".into()))?;
            let name = ServerName::try_from(host).map_err(|e| SessionFailure::Connect(e.to_string()))?;
            let tls = tokio::time::timeout(t.timeout, ktls_offload::connect(cfg, name, tcp, &t.ktls))
                .await
                .map_err(|_| SessionFailure::Timeout)?
                .map_err(|e| SessionFailure::Connect(format!("TLS with {}: {e}", t.url.authority())))?;
            let kernel = tls.is_kernel();
            Ok((Box::new(tls), kernel))
        }
    }
}

/// POSTs `body` (empty: the empty POST) and returns the ACS's answer body
/// (empty for 204 or an empty 200).
async fn post(
    client: &mut Client<Box<dyn Io>>,
    url: &Url,
    body: &str,
    timeout: Duration,
) -> Result<Vec<u8>, SessionFailure> {
    let mut head = RequestHead::new("POST", url.target()).map_err(|e| SessionFailure::Http(e.to_string()))?;
    let h = head.headers_mut();
    let set = |r: Result<(), httpwire::HttpError>| r.map_err(|e| SessionFailure::Http(e.to_string()));
    set(h.set("Host", &url.host_header()))?;
    if !body.is_empty() {
        set(h.set("Content-Type", "text/xml; charset=\"utf-8\""))?;
        set(h.set("SOAPAction", ""))?;
    }
    let resp = tokio::time::timeout(timeout, client.send(&head, body.as_bytes()))
        .await
        .map_err(|_| SessionFailure::Timeout)?
        .map_err(|e| SessionFailure::Http(e.to_string()))?;
    match resp.status() {
        200 | 204 => Ok(resp.body),
        401 | 407 => Err(SessionFailure::Http(format!(
            "ACS refused our credentials ({})",
            resp.status()
        ))),
        s => Err(SessionFailure::Http(format!("ACS answered HTTP {s}"))),
    }
}

/// Runs one session. `state` is updated (events delivered, transfers
/// acknowledged, retry count) and saved to `state_path` as it goes.
pub async fn run(
    target: &AcsTarget,
    device: &DeviceId,
    state: &mut AgentState,
    state_path: &std::path::Path,
    rpc: &mut impl Rpc,
) -> Result<SessionReport, SessionFailure> {
    let url_text = target.url.to_string();
    if state.needs_bootstrap(&url_text) {
        state.add_event(EventCode::Bootstrap, "");
    }
    let events = state.inform_events();
    let inform = Inform {
        device_id: device.clone(),
        events: events.clone(),
        max_envelopes: 1,
        current_time: DateTime::from_unix(now_unix()).unwrap_or_else(DateTime::unknown),
        retry_count: state.retry_count,
        parameters: rpc.inform_parameters(),
    };
    let transfers = state.transfers.clone();
    let mut session = CpeSession::new(inform);
    for t in &transfers {
        session.queue_request(Body::TransferComplete(t.message()));
    }
    let (stream, ktls) = connect(target).await?;
    let mut client = Client::new(stream).secure(target.url.scheme() == httpwire::Scheme::Https);
    client.set_body_limit(BODY_LIMIT);
    if !target.username.is_empty() {
        client.set_credentials(Credentials {
            username: target.username.clone(),
            password: target.password.clone(),
        });
    }
    let mut report = SessionReport {
        events: events.iter().map(|e| e.code.as_str().to_string()).collect(),
        ktls,
        ..SessionReport::default()
    };
    let mut out = session.start();
    let mut informed = false;
    loop {
        let answer = post(&mut client, &target.url, &out, target.timeout).await?;
        let step = session
            .on_http_response(&answer)
            .map_err(|e| SessionFailure::Protocol(e.to_string()))?;
        if !informed {
            // The first answer accepted is the InformResponse: the events
            // are delivered (CpeSession refuses anything else first).
            informed = true;
            state.inform_acknowledged(&events, &url_text);
            save(state, state_path);
        }
        match step {
            Step::Send(next) => out = next,
            Step::Request(env) => {
                report.requests.push(env.body.method_name().to_string());
                let answer = rpc.handle(&env).await;
                out = session
                    .respond(answer)
                    .map_err(|e| SessionFailure::Protocol(e.to_string()))?;
            }
            Step::Done => break,
        }
    }
    // Refused (8005) or held back by the ACS until the end: still owed.
    let failed: Vec<String> = session
        .take_failed_requests()
        .into_iter()
        .map(|(b, _)| b)
        .chain(session.take_unsent_requests())
        .filter_map(|b| match b {
            Body::TransferComplete(t) => Some(t.command_key),
            _ => None,
        })
        .collect();
    for t in &transfers {
        if !failed.contains(&t.command_key) {
            state.transfer_acknowledged(&t.command_key, t.upload);
        }
    }
    state.retry_count = 0;
    save(state, state_path);
    Ok(report)
}

fn save(state: &AgentState, path: &std::path::Path) {
    if let Err(e) = state.save(path) {
        // The session goes on: losing the file means at worst repeating
        // an event, which the ACS must tolerate anyway.
        log::error!(target: "cwmpd", "saving the agent state to {}: {e}", path.display());
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
