//! `sip-vm-peer`: a minimal SIP registrar and caller over TLS, for the kTLS
//! test VM only (`tests/vm/ktls-vm-test`, section "SIP over TLS"). It is not a
//! SIP server: it serves one registrar connection and places one call, just
//! enough to show that `dgw sipd` registers and takes a call over kTLS.
//!
//! What it does, in order (every step printed on stdout):
//! 1. listens on `--listen` (TLS, certificate `--cert`/`--key`) and accepts
//!    one connection, sipd's persistent connection to its registrar, handed
//!    to kTLS (`Mode::Kernel`: no kTLS is an error);
//! 2. answers the first REGISTER with a 401 digest challenge (SHA-256,
//!    qop=auth, realm `vm.test`), checks the Authorization of the next one
//!    (user, realm, nonce, URI, response for `--password`) and answers
//!    200 OK with the Contact and its lifetime; keeps answering REGISTERs,
//!    OPTIONS and CRLF keep-alives on that connection from then on;
//! 3. calls the registered Contact (which must say `transport=tls`) on a new
//!    TLS connection, a kTLS client validating sipd's certificate against
//!    `--ca` for the Contact's host: INVITE with an SDP offer carrying SDES
//!    keys (`a=crypto`), 1xx skipped, 200 OK whose answer must carry
//!    `a=crypto`, ACK, then BYE and its 200 OK;
//! 4. with `--wait-unregister`, prints `call done` and waits for the
//!    REGISTER removing the binding (sent by sipd when it is stopped).
//!
//! It ends with `sip-vm-peer: ok` and status 0, or `sip-vm-peer: FAIL: why`
//! and status 1; the whole run is bounded by `--timeout`. `--ktls userspace`
//! is for a dry run on a host without kernel TLS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context as _};
use ktls_offload::{Mode, Options, TlsStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use sipdigest::{Algorithm, Authorization};
use sipmsg::{Frame, FrameError, Framer, Message, Method, NameAddr, StartLine, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const USAGE: &str = "usage: sip-vm-peer --listen ADDR:PORT --cert PEM --key PEM --ca PEM --user NAME \
--password PW [--timeout SECS] [--wait-unregister] [--ktls kernel|userspace]";

/// The digest realm of the challenges.
const REALM: &str = "vm.test";
/// How long one step may wait for the other side (the whole run is bounded by --timeout).
const STEP: Duration = Duration::from_secs(30);

struct Args {
    listen: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
    user: String,
    password: String,
    timeout: Duration,
    wait_unregister: bool,
    mode: Mode,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let (mut listen, mut cert, mut key, mut ca, mut user, mut password) =
        (None, None, None, None, None, None);
    let mut timeout = Duration::from_secs(60);
    let mut wait_unregister = false;
    let mut mode = Mode::Kernel;
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| anyhow!("{a} needs a value"));
        match a.as_str() {
            "--listen" => listen = Some(val()?.parse().context("--listen wants ADDR:PORT")?),
            "--cert" => cert = Some(PathBuf::from(val()?)),
            "--key" => key = Some(PathBuf::from(val()?)),
            "--ca" => ca = Some(PathBuf::from(val()?)),
            "--user" => user = Some(val()?),
            "--password" => password = Some(val()?),
            "--timeout" => {
                let s: u64 = val()?.parse().context("--timeout wants seconds")?;
                ensure!(s > 0, "--timeout wants a positive number of seconds");
                timeout = Duration::from_secs(s);
            }
            "--wait-unregister" => wait_unregister = true,
            "--ktls" => {
                mode = match val()?.as_str() {
                    "kernel" => Mode::Kernel,
                    "userspace" => Mode::Userspace,
                    o => bail!("--ktls {o:?}: expected kernel or userspace"),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            o => bail!("unknown argument {o:?}"),
        }
    }
    fn need<T>(v: Option<T>, n: &str) -> anyhow::Result<T> {
        v.ok_or_else(|| anyhow!("{n} is required"))
    }
    Ok(Args {
        listen: need(listen, "--listen")?,
        cert: need(cert, "--cert")?,
        key: need(key, "--key")?,
        ca: need(ca, "--ca")?,
        user: need(user, "--user")?,
        password: need(password, "--password")?,
        timeout,
        wait_unregister,
        mode,
    })
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sip-vm-peer: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("sip-vm-peer: FAIL: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async {
        match tokio::time::timeout(args.timeout, run(&args)).await {
            Ok(r) => r,
            Err(_) => Err(anyhow!("timed out after {} s", args.timeout.as_secs())),
        }
    });
    // Exit at once: a task still blocked on a socket must not hold the process.
    match result {
        Ok(()) => {
            println!("sip-vm-peer: ok");
            std::process::exit(0);
        }
        Err(e) => {
            println!("sip-vm-peer: FAIL: {e:#}");
            std::process::exit(1);
        }
    }
}

/// Prints one progress line.
fn say(what: impl std::fmt::Display) {
    println!("sip-vm-peer: {what}");
}

// ---------------------------------------------------------------------------
// TLS

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(a: &Args) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(&a.cert)
        .with_context(|| format!("{}", a.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}", a.cert.display()))?;
    ensure!(!chain.is_empty(), "{}: no certificate", a.cert.display());
    let key = PrivateKeyDer::from_pem_file(&a.key).with_context(|| format!("{}", a.key.display()))?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("certificate and key")?;
    // kTLS needs the traffic secrets.
    cfg.enable_secret_extraction = true;
    Ok(Arc::new(cfg))
}

fn client_config(a: &Args) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&a.ca).with_context(|| format!("{}", a.ca.display()))? {
        roots
            .add(c.with_context(|| format!("{}", a.ca.display()))?)
            .context("CA certificate")?;
    }
    ensure!(!roots.is_empty(), "{}: no CA certificate", a.ca.display());
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.enable_secret_extraction = true;
    Ok(Arc::new(cfg))
}

/// Checks the stream is on kTLS (unless a userspace dry run) and describes it.
fn check_path(s: &TlsStream, mode: Mode, who: &str) -> anyhow::Result<String> {
    let i = s.info();
    if mode == Mode::Kernel {
        ensure!(s.is_kernel(), "{who}: not handed to kTLS: {}", i.path);
    }
    Ok(format!("{} {} via {}", i.version, i.suite, i.path))
}

// ---------------------------------------------------------------------------
// SIP over one TLS stream

/// A TLS stream with SIP framing: whole messages out and in, keep-alives answered.
struct SipConn {
    stream: TlsStream,
    framer: Framer,
    who: &'static str,
    /// Set when the peer ended the connection with close_notify (rather than a bare TCP close).
    clean_close: bool,
}

impl SipConn {
    fn new(stream: TlsStream, who: &'static str) -> SipConn {
        SipConn {
            stream,
            framer: Framer::new(sipmsg::MAX_MESSAGE),
            who,
            clean_close: false,
        }
    }

    async fn send(&mut self, m: &Message) -> anyhow::Result<()> {
        let bytes = m.to_bytes();
        let who = self.who;
        tokio::time::timeout(STEP, async {
            self.stream.write_all(&bytes).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| anyhow!("{who}: write timed out"))?
        .with_context(|| format!("{who}: write"))
    }

    /// The next message; `None` at a clean end of the connection. Pings are
    /// answered with a pong; messages that do not parse are an error.
    async fn recv(&mut self) -> anyhow::Result<Option<Message>> {
        let who = self.who;
        let mut buf = vec![0u8; 4096];
        loop {
            match self.framer.next_frame() {
                Ok(Some(Frame::Message(bytes))) => {
                    let m = Message::parse(&bytes).map_err(|e| anyhow!("{who}: unparsable message: {e}"))?;
                    return Ok(Some(m));
                }
                Ok(Some(Frame::Ping)) => {
                    self.stream.write_all(b"\r\n").await.context("pong")?;
                    self.stream.flush().await.context("pong")?;
                    continue;
                }
                Ok(Some(Frame::Pong)) => continue,
                Ok(None) => {}
                Err(FrameError::TooLarge { content_length, .. }) => {
                    bail!("{who}: message too large (Content-Length {content_length})")
                }
                Err(e) => bail!("{who}: cannot frame the stream: {e:?}"),
            }
            let n = match self.stream.read(&mut buf).await {
                Ok(n) => {
                    self.clean_close = n == 0;
                    n
                }
                // A TCP close without close_notify at a message boundary: the
                // end of the connection all the same.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !self.framer.in_message() => 0,
                Err(e) => return Err(e).with_context(|| format!("{who}: read")),
            };
            if n == 0 {
                ensure!(
                    !self.framer.in_message(),
                    "{who}: connection closed inside a message"
                );
                return Ok(None);
            }
            self.framer.push(buf.get(..n).unwrap_or_default());
        }
    }

    /// Sends close_notify (bounded).
    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.stream.shutdown()).await;
    }
}

/// Random hex (32 digits) from the system generator.
fn random_hex() -> String {
    sipdigest::new_cnonce()
}

fn request_uri(m: &Message) -> Option<&Uri> {
    match &m.start {
        StartLine::Request { uri, .. } => Some(uri),
        StartLine::Response { .. } => None,
    }
}

/// A response to `req` with our To tag added (if it has none yet).
fn response(req: &Message, code: u16, tag: &str) -> Message {
    let mut r = Message::response_to(req, code, sipmsg::reason_phrase(code));
    if code > 100 {
        if let Some(mut to) = req.headers.get("To").and_then(|v| NameAddr::parse(v).ok()) {
            if to.tag().is_none() {
                to.set_param("tag", Some(tag));
                r.headers.set("To", &to.to_string());
            }
        }
    }
    r.headers.push("Server", "sip-vm-peer");
    r
}

// ---------------------------------------------------------------------------
// Registrar

#[derive(Debug)]
enum RegEvent {
    Registered {
        contact: Uri,
        expires: u32,
    },
    Unregistered,
    /// The connection ended; `clean`: with close_notify.
    Closed {
        clean: bool,
    },
    Failed(String),
}

struct Registrar {
    user: String,
    password: String,
    nonce: String,
    tag: String,
}

impl Registrar {
    fn challenge(&self, req: &Message, stale: bool) -> Message {
        let mut r = response(req, 401, &self.tag);
        let stale = if stale { ", stale=true" } else { "" };
        r.headers.push(
            "WWW-Authenticate",
            &format!(
                "Digest realm=\"{REALM}\", nonce=\"{}\", qop=\"auth\", algorithm=SHA-256{stale}",
                self.nonce
            ),
        );
        r
    }

    /// Checks a REGISTER's credentials: Ok(None) accepted, Ok(Some(401)) to
    /// challenge (no or stale credentials), Err for wrong ones.
    fn check(&self, req: &Message) -> Result<Option<Message>, String> {
        let Some(value) = req.headers.get("Authorization") else {
            return Ok(Some(self.challenge(req, false)));
        };
        let a = Authorization::parse(value).map_err(|e| format!("Authorization does not parse: {e}"))?;
        if a.nonce != self.nonce {
            return Ok(Some(self.challenge(req, true)));
        }
        let ruri = request_uri(req).map(|u| u.to_string()).unwrap_or_default();
        if a.username != self.user {
            return Err(format!(
                "Authorization for user {:?}, want {:?}",
                a.username, self.user
            ));
        }
        if a.realm != REALM || a.algorithm != Algorithm::Sha256 {
            return Err(format!(
                "Authorization with realm {:?} algorithm {}, want {REALM:?} SHA-256",
                a.realm,
                a.algorithm.as_str()
            ));
        }
        if a.qop.as_deref() != Some("auth") {
            return Err(format!("Authorization with qop {:?}, want auth", a.qop));
        }
        if a.uri != ruri {
            return Err(format!(
                "Authorization uri {:?} is not the Request-URI {ruri:?}",
                a.uri
            ));
        }
        if !a.verify(&self.password, "REGISTER") {
            return Err("the digest response is wrong (wrong password?)".into());
        }
        Ok(None)
    }

    /// Answers one REGISTER; the event to report, if any.
    async fn register(&self, conn: &mut SipConn, req: &Message) -> anyhow::Result<Option<RegEvent>> {
        let to_user = req.to().ok().and_then(|t| t.uri.user);
        if to_user.as_deref() != Some(self.user.as_str()) {
            conn.send(&response(req, 404, &self.tag)).await?;
            return Ok(Some(RegEvent::Failed(format!(
                "REGISTER for {to_user:?}, want {:?}",
                self.user
            ))));
        }
        match self.check(req) {
            Ok(Some(challenge)) => {
                say(format_args!(
                    "REGISTER from {}: 401 digest challenge (SHA-256, qop=auth)",
                    self.user
                ));
                conn.send(&challenge).await?;
                return Ok(None);
            }
            Ok(None) => {}
            Err(why) => {
                conn.send(&response(req, 403, &self.tag)).await?;
                return Ok(Some(RegEvent::Failed(why)));
            }
        }
        let header_expires = req.expires();
        let contacts = match req.contacts() {
            Ok(c) => c,
            Err(e) => {
                conn.send(&response(req, 400, &self.tag)).await?;
                return Ok(Some(RegEvent::Failed(format!("REGISTER Contact: {e}"))));
            }
        };
        let first = contacts.into_iter().next();
        let expires = first
            .as_ref()
            .and_then(|c| c.param("expires").flatten().and_then(|e| e.parse::<u32>().ok()))
            .or(header_expires)
            .unwrap_or(3600);
        let mut ok = response(req, 200, &self.tag);
        match first {
            Some(c) if expires > 0 => {
                ok.headers
                    .push("Contact", &format!("<{}>;expires={expires}", c.uri));
                conn.send(&ok).await?;
                say(format_args!(
                    "REGISTER from {}: digest verified, 200 OK",
                    self.user
                ));
                Ok(Some(RegEvent::Registered {
                    contact: c.uri,
                    expires,
                }))
            }
            _ => {
                // `Contact: *` or expires 0: the binding goes.
                conn.send(&ok).await?;
                say(format_args!(
                    "REGISTER from {}: binding removed, 200 OK",
                    self.user
                ));
                Ok(Some(RegEvent::Unregistered))
            }
        }
    }

    /// Serves the registrar connection until it ends, reporting events.
    async fn serve(self, mut conn: SipConn, tx: mpsc::UnboundedSender<RegEvent>) {
        loop {
            let m = match conn.recv().await {
                Ok(Some(m)) => m,
                Ok(None) => {
                    let _ = tx.send(RegEvent::Closed {
                        clean: conn.clean_close,
                    });
                    return;
                }
                Err(e) => {
                    let _ = tx.send(RegEvent::Failed(format!("{e:#}")));
                    return;
                }
            };
            let reply = match m.method() {
                None => continue, // a response: we send no requests here
                Some(Method::Register) => self.register(&mut conn, &m).await,
                Some(Method::Options) => {
                    let mut r = response(&m, 200, &self.tag);
                    r.headers.push("Allow", "REGISTER, OPTIONS");
                    conn.send(&r).await.map(|()| None)
                }
                Some(Method::Ack) => Ok(None),
                Some(_) => conn.send(&response(&m, 405, &self.tag)).await.map(|()| None),
            };
            match reply {
                Ok(Some(ev)) => {
                    let failed = matches!(ev, RegEvent::Failed(_));
                    let _ = tx.send(ev);
                    if failed {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = tx.send(RegEvent::Failed(format!("{e:#}")));
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The call

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An SDP offer for PCMU over SRTP with a fresh SDES key.
fn sdp_offer(ip: std::net::IpAddr) -> anyhow::Result<String> {
    let mut key = [0u8; 30];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key))
        .context("/dev/urandom")?;
    Ok(format!(
        "v=0\r\no=sip-vm-peer 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio 40000 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\na=sendrecv\r\n",
        base64(&key)
    ))
}

/// Checks an SDP answer: audio over RTP/SAVP with an SDES key; returns the
/// crypto suite (not the key).
fn check_answer(body: &[u8]) -> anyhow::Result<String> {
    let text = std::str::from_utf8(body).map_err(|_| anyhow!("the SDP answer is not UTF-8"))?;
    let audio = text
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .ok_or_else(|| anyhow!("the SDP answer has no m=audio line:\n{text}"))?;
    let mut words = audio.split_whitespace();
    let port = words.nth(1).unwrap_or_default();
    let proto = words.next().unwrap_or_default();
    ensure!(port != "0", "the answer rejected the audio stream: {audio}");
    ensure!(
        proto == "RTP/SAVP",
        "the answer's audio is {proto}, want RTP/SAVP: {audio}"
    );
    let crypto = text
        .lines()
        .find(|l| l.starts_with("a=crypto:") && l.contains(" inline:"))
        .ok_or_else(|| anyhow!("the SDP answer has no a=crypto line with a key:\n{text}"))?;
    let suite = crypto.split_whitespace().nth(1).unwrap_or_default();
    Ok(format!("{audio}, SDES {suite}"))
}

/// A request in our call (no body).
struct Call {
    call_id: String,
    from: String,
    local: SocketAddr,
    contact: String,
}

impl Call {
    fn request(&self, method: Method, ruri: Uri, to: &str, cseq: u32) -> Message {
        let mut m = Message::request(method.clone(), ruri);
        m.headers.push(
            "Via",
            &format!("SIP/2.0/TLS {};branch=z9hG4bK{};rport", self.local, random_hex()),
        );
        m.headers.push("Max-Forwards", "70");
        m.headers.push("From", &self.from);
        m.headers.push("To", to);
        m.headers.push("Call-ID", &self.call_id);
        m.headers.push("CSeq", &format!("{cseq} {method}"));
        m
    }

    fn is_ours(&self, m: &Message, cseq: u32, method: &Method) -> bool {
        m.call_id() == Some(self.call_id.as_str()) && m.cseq().is_ok_and(|(n, me)| n == cseq && me == *method)
    }
}

/// Waits for the final response to (cseq, method), skipping 1xx; other
/// messages are handled by `other` (e.g. a 2xx retransmission to re-ACK).
async fn final_response(
    conn: &mut SipConn,
    call: &Call,
    cseq: u32,
    method: &Method,
    mut other: impl FnMut(&Message) -> Option<Message>,
) -> anyhow::Result<Message> {
    loop {
        let m = tokio::time::timeout(STEP, conn.recv())
            .await
            .map_err(|_| anyhow!("no final response to {method} within {} s", STEP.as_secs()))??
            .ok_or_else(|| {
                anyhow!("the call connection closed while waiting for the response to {method}")
            })?;
        if m.is_request() {
            say(format_args!(
                "unexpected {} request on the call connection, ignored",
                m.method().map(|x| x.as_str()).unwrap_or("?")
            ));
            continue;
        }
        if !call.is_ours(&m, cseq, method) {
            if let Some(reply) = other(&m) {
                conn.send(&reply).await?;
            }
            continue;
        }
        match m.code() {
            Some(c @ 100..=199) => say(format_args!("{method}: {c} (provisional)")),
            Some(_) => return Ok(m),
            None => {}
        }
    }
}

/// Calls `contact` (sipd's registered Contact) and hangs up.
async fn place_call(a: &Args, client: Arc<ClientConfig>, contact: &Uri) -> anyhow::Result<()> {
    let transport = contact.transport().unwrap_or("udp");
    ensure!(
        transport.eq_ignore_ascii_case("tls"),
        "the registered Contact {contact} is not transport=tls"
    );
    let host = contact
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = contact.port.unwrap_or(5061);
    let tcp = tokio::time::timeout(STEP, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| anyhow!("connecting to {host}:{port} timed out"))?
        .with_context(|| format!("connecting to {host}:{port}"))?;
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr()?;
    let remote = tcp.peer_addr()?;
    let name = ServerName::try_from(host.clone()).map_err(|e| anyhow!("{host}: {e}"))?;
    let opts = Options {
        mode: a.mode,
        ..Options::default()
    };
    let stream = tokio::time::timeout(STEP, ktls_offload::connect(client, name, tcp, &opts))
        .await
        .map_err(|_| anyhow!("TLS handshake with {remote} timed out"))?
        .with_context(|| format!("TLS connection to {remote} (sipd's certificate checked for {host})"))?;
    let path = check_path(&stream, a.mode, "call connection")?;
    say(format_args!(
        "call connection to {remote}: {path} (sipd's certificate valid for {host})"
    ));
    let mut conn = SipConn::new(stream, "call connection");

    let tag = random_hex();
    let tag = tag.get(..10).unwrap_or(&tag);
    let call = Call {
        call_id: format!("{}@{REALM}", random_hex()),
        from: format!("<sip:caller@{REALM}>;tag={tag}"),
        local,
        contact: format!("<sip:caller@{};transport=tls>", a.listen),
    };
    let to = format!("<sip:{}@{REALM}>", a.user);
    let mut invite = call.request(Method::Invite, contact.clone(), &to, 1);
    invite.headers.push("Contact", &call.contact);
    invite.headers.push("Content-Type", "application/sdp");
    invite.body = sdp_offer(local.ip())?.into_bytes();
    conn.send(&invite).await?;
    say(format_args!(
        "INVITE {contact} sent (SDP offer RTP/SAVP with a=crypto)"
    ));

    let ok = final_response(&mut conn, &call, 1, &Method::Invite, |_| None).await?;
    let code = ok.code().unwrap_or(0);
    ensure!(code == 200, "the INVITE was answered {code}, want 200");
    let to_tagged = ok.headers.get("To").unwrap_or_default().to_string();
    ensure!(
        NameAddr::parse(&to_tagged)
            .ok()
            .and_then(|n| n.tag().map(str::to_string))
            .is_some(),
        "the 200 OK's To has no tag"
    );
    ensure!(
        ok.content_type()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/sdp")),
        "the 200 OK carries no SDP (Content-Type {:?})",
        ok.content_type()
    );
    let media = check_answer(&ok.body)?;
    say(format_args!("INVITE: 200 OK, SDP answer {media}"));
    let target = ok
        .contacts()
        .ok()
        .and_then(|c| c.into_iter().next())
        .map(|c| c.uri)
        .unwrap_or_else(|| contact.clone());
    let ack = call.request(Method::Ack, target.clone(), &to_tagged, 1);
    conn.send(&ack).await?;
    say("ACK sent: call established");
    // Both connections are up now, each with a kTLS socket at both ends.
    say(format_args!(
        "kTLS sockets open during the call: TlsCurrTxSw={} TlsCurrRxSw={}",
        ktls_offload::tls_stat_value("TlsCurrTxSw"),
        ktls_offload::tls_stat_value("TlsCurrRxSw")
    ));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let bye = call.request(Method::Bye, target, &to_tagged, 2);
    conn.send(&bye).await?;
    say("BYE sent");
    // A retransmitted 200 to the INVITE (our ACK crossed it) is ACKed again.
    let resp = final_response(&mut conn, &call, 2, &Method::Bye, |m| {
        call.is_ours(m, 1, &Method::Invite).then(|| ack.clone())
    })
    .await?;
    let code = resp.code().unwrap_or(0);
    ensure!(code == 200, "the BYE was answered {code}, want 200");
    say("BYE: 200 OK, call ended");
    conn.close().await;
    Ok(())
}

// ---------------------------------------------------------------------------

async fn run(a: &Args) -> anyhow::Result<()> {
    let server = server_config(a)?;
    let client = client_config(a)?;
    let listener = TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("listening on {}", a.listen))?;
    say(format_args!(
        "registrar listening on {} (TLS), realm {REALM}, user {}",
        a.listen, a.user
    ));
    let (tcp, peer) = listener.accept().await.context("accept")?;
    let _ = tcp.set_nodelay(true);
    let opts = Options {
        mode: a.mode,
        ..Options::default()
    };
    let stream = tokio::time::timeout(STEP, ktls_offload::accept(server, tcp, &opts))
        .await
        .map_err(|_| anyhow!("TLS handshake with {peer} timed out"))?
        .with_context(|| format!("TLS connection from {peer}"))?;
    let path = check_path(&stream, a.mode, "registrar connection")?;
    say(format_args!("registrar connection from {peer}: {path}"));

    let registrar = Registrar {
        user: a.user.clone(),
        password: a.password.clone(),
        nonce: random_hex(),
        tag: random_hex().get(..10).unwrap_or("0").to_string(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(registrar.serve(SipConn::new(stream, "registrar connection"), tx));

    let contact = match rx.recv().await {
        Some(RegEvent::Registered { contact, expires }) => {
            say(format_args!(
                "{} registered: Contact {contact} for {expires} s",
                a.user
            ));
            contact
        }
        Some(RegEvent::Failed(why)) => bail!("registration: {why}"),
        Some(RegEvent::Unregistered) => bail!("the first successful REGISTER removed the binding"),
        Some(RegEvent::Closed { .. }) | None => {
            bail!("the registrar connection closed before the registration")
        }
    };
    place_call(a, client, &contact).await?;
    if a.wait_unregister {
        say(format_args!("call done; waiting for {} to unregister", a.user));
        loop {
            match rx.recv().await {
                Some(RegEvent::Unregistered) => {
                    say(format_args!("{} unregistered", a.user));
                    break;
                }
                Some(RegEvent::Registered { .. }) => say("registration refreshed"),
                Some(RegEvent::Failed(why)) => bail!("registrar connection: {why}"),
                Some(RegEvent::Closed { .. }) | None => {
                    bail!("the registrar connection closed without an unregistration")
                }
            }
        }
        // A stopping sipd closes its connections next: let it, rather than
        // cutting the connection under it (reported, not required).
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(RegEvent::Closed { clean: true })) => {
                say("registrar connection closed by sipd (close_notify)")
            }
            Ok(Some(RegEvent::Closed { clean: false })) => {
                say("registrar connection closed by sipd without close_notify")
            }
            Ok(Some(ev)) => say(format_args!("after the unregistration: {ev:?}")),
            Ok(None) => {}
            Err(_) => say("registrar connection still open 5 s after the unregistration"),
        }
    } else {
        say("call done");
    }
    Ok(())
}
