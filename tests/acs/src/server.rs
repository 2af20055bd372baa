//! Connections: HTTP(S) framing, routing, the ACS's side of CWMP sessions, files and uploads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cwmp::{Body, CwmpVersion, Envelope, Fault, FaultCode, Inform, MessageKind, Role};
use httpwire::{BufferedStream, DigestVerdict, HttpError, RequestHead, ResponseHead};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::record::{EndReason, HttpExchange, Sent, Session, UploadRecord, Validation};
use crate::{pattern_byte, validate, Behaviour, FileBody, HttpAuth, Shared, ACS_METHODS, COOKIE_NAME};

/// A plain or TLS connection, boxed so one code path serves both.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Largest CWMP body read from the CPE: far beyond `cwmp::MAX_ENVELOPE`, so an oversize envelope
/// reaches the decoder (and is recorded) rather than failing in HTTP.
const CWMP_BODY_LIMIT: u64 = 16 * 1024 * 1024;

/// How long a new session waits for the same CPE's session on another connection to end
/// before it is refused as overlapping.
const OVERLAP_GRACE: Duration = Duration::from_secs(1);

/// Bound on a TLS handshake: a CPE that refuses the certificate fails in milliseconds.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, tls: Option<Arc<ServerConfig>>) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let id = {
            let mut state = shared.state();
            state.next_connection += 1;
            state.next_connection
        };
        let conn_shared = shared.clone();
        let tls = tls.clone();
        let task = tokio::spawn(async move {
            let stream: Box<dyn Io> = match tls {
                None => Box::new(tcp),
                Some(config) => {
                    let opts = ktls_offload::Options::default();
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, ktls_offload::accept(config, tcp, &opts))
                        .await
                    {
                        Ok(Ok(s)) => Box::new(s),
                        Ok(Err(e)) => return tls_failure(&conn_shared, format!("connection {id}: {e}")),
                        Err(_) => {
                            return tls_failure(&conn_shared, format!("connection {id}: handshake timed out"))
                        }
                    }
                }
            };
            Connection {
                shared: conn_shared,
                id,
                session: None,
            }
            .serve(stream)
            .await;
        });
        let mut state = shared.state();
        state.tasks.retain(|t| !t.is_finished());
        state.tasks.push(task.abort_handle());
    }
}

fn tls_failure(shared: &Shared, what: String) {
    shared.state().tls_failures.push(what);
    shared.changed.notify_waiters();
}

/// The ACS's state for the session open on a connection.
struct Active {
    rec: Session,
    started: Instant,
    cookie: String,
    device: String,
    /// POSTs received in the session, the Inform included.
    posts: usize,
    /// The ACS request awaiting the CPE's answer, with the cwmp:ID it carried.
    outstanding: Option<(Sent, Option<String>)>,
    /// Whether the ACS's last envelope said HoldRequests.
    hold: bool,
    /// Whether the ACS's last answer was the empty one.
    acs_done: bool,
    /// Whether the behaviour's bad message has gone out.
    raw_sent: bool,
}

/// What to answer.
struct Reply {
    head: ResponseHead,
    body: ReplyBody,
    /// Close after answering; the session (if any) ends for this reason.
    close: Option<EndReason>,
    /// Close without answering.
    drop_unanswered: bool,
    delay: Duration,
}

enum ReplyBody {
    Bytes(Vec<u8>),
    Shared(Arc<Vec<u8>>),
    Pattern(u64),
}

impl ReplyBody {
    fn len(&self) -> u64 {
        match self {
            ReplyBody::Bytes(b) => b.len() as u64,
            ReplyBody::Shared(b) => b.len() as u64,
            ReplyBody::Pattern(n) => *n,
        }
    }
}

impl Reply {
    fn status(status: u16) -> Reply {
        let head =
            ResponseHead::new(status).unwrap_or_else(|_| ResponseHead::new(500).expect("500 is valid"));
        Reply {
            head,
            body: ReplyBody::Bytes(Vec::new()),
            close: None,
            drop_unanswered: false,
            delay: Duration::ZERO,
        }
    }

    fn xml(xml: String) -> Reply {
        let mut r = Reply::status(200);
        header(&mut r.head, "Content-Type", r#"text/xml; charset="utf-8""#);
        r.body = ReplyBody::Bytes(xml.into_bytes());
        r
    }

    fn envelope(env: &Envelope) -> Reply {
        Reply::xml(env.to_xml())
    }

    fn closing(mut self, reason: EndReason) -> Reply {
        header(&mut self.head, "Connection", "close");
        self.close = Some(reason);
        self
    }

    fn dropped() -> Reply {
        let mut r = Reply::status(500);
        r.drop_unanswered = true;
        r
    }
}

/// Adds a header the ACS composed itself (never fails for the values used here).
fn header(head: &mut ResponseHead, name: &str, value: &str) {
    head.headers_mut()
        .append(name, value)
        .expect("the ACS's own header fields are valid");
}

/// The request head as recorded: `Authorization` keeps its scheme, `Cookie` its names.
fn redacted_headers(head: &RequestHead) -> Vec<(String, String)> {
    head.headers()
        .iter()
        .map(|(name, value)| {
            let value = if name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("proxy-authorization")
            {
                let scheme = value.split(' ').next().unwrap_or_default();
                format!("{scheme} <redacted>")
            } else if name.eq_ignore_ascii_case("cookie") {
                value
                    .split(';')
                    .map(|c| format!("{}=<redacted>", c.split('=').next().unwrap_or_default().trim()))
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                value.to_string()
            };
            (name.to_string(), value)
        })
        .collect()
}

fn has_cookie(head: &RequestHead, value: &str) -> bool {
    head.headers()
        .get_all("cookie")
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(n, v)| n == COOKIE_NAME && v == value)
        })
}

fn path_of(head: &RequestHead) -> &str {
    head.target().split(['?', '#']).next().unwrap_or_default()
}

struct Connection {
    shared: Arc<Shared>,
    id: u64,
    session: Option<Active>,
}

impl Connection {
    async fn serve(mut self, stream: Box<dyn Io>) {
        let mut conn = BufferedStream::new(stream);
        let idle = self.shared.opts.idle_timeout;
        let end = loop {
            let head = match tokio::time::timeout(idle, httpwire::read_request(&mut conn)).await {
                Err(_) => break EndReason::IdleTimeout,
                Ok(Ok(None)) => break self.closed_by_cpe(),
                Ok(Ok(Some(head))) => head,
                Ok(Err(e)) => break self.read_error(e),
            };
            let framing = match head.body_framing() {
                Ok(f) => f,
                Err(e) => {
                    self.protocol_error(format!("connection {}: bad request framing: {e}", self.id));
                    let _ = httpwire::write_response(&mut conn, &Reply::status(400).head, b"").await;
                    break EndReason::HttpError(e.to_string());
                }
            };
            let path = path_of(&head).to_string();
            let is_upload = path.starts_with("/upload/");
            if head.headers().has_token("expect", "100-continue")
                && conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err()
            {
                break self.closed_by_cpe();
            }
            let limit = if is_upload {
                self.shared.opts.upload_limit
            } else {
                CWMP_BODY_LIMIT
            };
            let body = match tokio::time::timeout(idle, httpwire::read_body_to_vec(&mut conn, framing, limit))
                .await
            {
                Err(_) => break EndReason::IdleTimeout,
                Ok(Ok(body)) => body,
                Ok(Err(e)) => break self.read_error(e),
            };
            let mut reply = if path == "/acs" {
                self.cwmp(&head, &body).await
            } else if path.starts_with("/files/") {
                self.file(&head)
            } else if is_upload {
                self.upload(&head, &body)
            } else {
                self.protocol_error(format!(
                    "connection {}: {} {path}: no such resource",
                    self.id,
                    head.method()
                ));
                Reply::status(404)
            };
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let keep_body = path == "/acs";
            let mut exchange = HttpExchange {
                connection: self.id,
                method: head.method().to_string(),
                target: head.target().to_string(),
                headers: redacted_headers(&head),
                body: if is_upload { Vec::new() } else { body },
                status: 0,
                response_headers: Vec::new(),
                response_body: Vec::new(),
                response_len: 0,
            };
            if reply.drop_unanswered {
                self.record(exchange, path == "/acs");
                break EndReason::AcsClosed;
            }
            if !head.keep_alive() && reply.close.is_none() {
                header(&mut reply.head, "Connection", "close");
            }
            exchange.status = reply.head.status();
            exchange.response_headers = reply
                .head
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            exchange.response_len = if head.method() == "HEAD" {
                0
            } else {
                reply.body.len()
            };
            if keep_body {
                if let ReplyBody::Bytes(b) = &reply.body {
                    exchange.response_body = b.clone();
                }
            }
            self.record(exchange, keep_body);
            let written = write_reply(&mut conn, &mut reply, head.method() == "HEAD").await;
            if written.is_err() {
                break self.closed_by_cpe();
            }
            if let Some(reason) = reply.close.take() {
                break reason;
            }
            if !head.keep_alive() {
                break self.closed_by_cpe();
            }
        };
        // Bounded: over TLS this writes close_notify, which a vanished peer must not stall.
        let _ = tokio::time::timeout(Duration::from_secs(1), conn.get_mut().shutdown()).await;
        if let Some(active) = self.session.take() {
            self.finish(active, end).await;
        }
    }

    /// How the session ends when the CPE closes the connection: normally if the ACS had said
    /// it had nothing more.
    fn closed_by_cpe(&self) -> EndReason {
        match &self.session {
            Some(a) if a.acs_done => EndReason::Completed,
            _ => EndReason::CpeClosed,
        }
    }

    fn read_error(&self, e: HttpError) -> EndReason {
        match e {
            HttpError::Io(_) | HttpError::UnexpectedEof => self.closed_by_cpe(),
            other => {
                self.protocol_error(format!("connection {}: {other}", self.id));
                EndReason::HttpError(other.to_string())
            }
        }
    }

    fn protocol_error(&self, what: String) {
        self.shared.state().protocol_errors.push(what);
        self.shared.changed.notify_waiters();
    }

    fn record(&mut self, exchange: HttpExchange, cwmp: bool) {
        if cwmp {
            if let Some(active) = &mut self.session {
                active.rec.http.push(exchange.clone());
            }
        }
        self.shared.state().http_log.push(exchange);
        self.shared.changed.notify_waiters();
    }

    /// Checks `auth` on a request; `Some(401)` when it fails.
    fn check_auth(&self, head: &RequestHead, auth: &HttpAuth, files: bool) -> Option<Reply> {
        let digest = if files {
            &self.shared.file_digest
        } else {
            &self.shared.cwmp_digest
        };
        match auth {
            HttpAuth::None => None,
            HttpAuth::Basic(creds) => {
                let given = head.headers().get("authorization").map(httpwire::Basic::parse);
                match given {
                    Some(Ok(c)) if &c == creds => None,
                    _ => Some(self.challenge(auth, files, false)),
                }
            }
            HttpAuth::Digest(creds) => {
                let verdict =
                    digest
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .verify(head, creds, Instant::now());
                match verdict {
                    DigestVerdict::Authorized { .. } => None,
                    DigestVerdict::Stale => Some(self.challenge(auth, files, true)),
                    DigestVerdict::Denied(_) => Some(self.challenge(auth, files, false)),
                }
            }
        }
    }

    /// A 401 with a challenge for `auth` (a digest one when there is no authentication to ask
    /// for: the 401 loop behaviour still needs something to answer).
    fn challenge(&self, auth: &HttpAuth, files: bool, stale: bool) -> Reply {
        let mut reply = Reply::status(401);
        if let HttpAuth::Basic(_) = auth {
            let realm = if files { "dgw test files" } else { "dgw test ACS" };
            header(
                &mut reply.head,
                "WWW-Authenticate",
                &format!("Basic realm=\"{realm}\""),
            );
            return reply;
        }
        let digest = if files {
            &self.shared.file_digest
        } else {
            &self.shared.cwmp_digest
        };
        let values = digest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .challenge(Instant::now(), stale);
        for v in values.unwrap_or_default() {
            header(&mut reply.head, "WWW-Authenticate", &v);
        }
        reply
    }

    fn file(&mut self, head: &RequestHead) -> Reply {
        if !matches!(head.method(), "GET" | "HEAD") {
            let mut r = Reply::status(405);
            header(&mut r.head, "Allow", "GET, HEAD");
            return r;
        }
        let path = path_of(head).to_string();
        let Some(file) = self.shared.state().files.get(&path).cloned() else {
            return Reply::status(404);
        };
        if let Some(denied) = self.check_auth(head, &file.auth, true) {
            return denied;
        }
        let mut r = Reply::status(200);
        header(&mut r.head, "Content-Type", "application/octet-stream");
        r.body = match file.body {
            FileBody::Bytes(b) => ReplyBody::Shared(b),
            FileBody::Pattern(n) => ReplyBody::Pattern(n),
        };
        r
    }

    fn upload(&mut self, head: &RequestHead, body: &[u8]) -> Reply {
        if !matches!(head.method(), "PUT" | "POST") {
            let mut r = Reply::status(405);
            header(&mut r.head, "Allow", "PUT, POST");
            return r;
        }
        let auth = self.shared.state().upload_auth.clone();
        if let Some(denied) = self.check_auth(head, &auth, true) {
            return denied;
        }
        self.shared.state().uploads.push(UploadRecord {
            connection: self.id,
            method: head.method().to_string(),
            path: path_of(head).to_string(),
            headers: redacted_headers(head),
            body: body.to_vec(),
        });
        Reply::status(200)
    }

    /// One POST to the CWMP endpoint.
    async fn cwmp(&mut self, head: &RequestHead, body: &[u8]) -> Reply {
        if head.method() != "POST" {
            let mut r = Reply::status(405);
            header(&mut r.head, "Allow", "POST");
            return r;
        }
        // The 401 loop answers before looking at credentials: good ones must not get through.
        if let Some(active) = &mut self.session {
            if active.rec.behaviour == Behaviour::Unauthorized {
                active.posts += 1;
                let auth = self.shared.opts.auth.clone();
                return self.challenge(&auth, false, false);
            }
        }
        let auth = self.shared.opts.auth.clone();
        if let Some(denied) = self.check_auth(head, &auth, false) {
            return denied;
        }
        let empty = body.iter().all(u8::is_ascii_whitespace);
        let parsed = (!empty).then(|| Envelope::parse(body));
        if let Some(Ok(env)) = &parsed {
            if let Body::Inform(inform) = &env.body {
                return self.start_session(head, body, env.clone(), inform.clone()).await;
            }
        }
        let enforce_cookie = self.shared.opts.enforce_cookie;
        let Some(active) = self.session.as_mut() else {
            self.protocol_error(format!(
                "connection {}: a POST ({}) before any Inform",
                self.id,
                match &parsed {
                    None => "empty".to_string(),
                    Some(Ok(env)) => env.body.method_name().to_string(),
                    Some(Err(e)) => format!("unparsable: {e}"),
                }
            ));
            return Reply::status(400).closing(EndReason::CpeClosed);
        };
        active.posts += 1;
        let n = active.posts;
        if !has_cookie(head, &active.cookie) {
            active
                .rec
                .violations
                .push(format!("POST {n} of the session lacks the session cookie"));
            if enforce_cookie {
                return Reply::status(403).closing(EndReason::CookieRefused);
            }
        }
        match active.rec.behaviour.clone() {
            Behaviour::HttpStatus(status) => return Reply::status(status),
            Behaviour::CloseAfterPosts(after) if n >= after => return Reply::dropped(),
            _ => {}
        }
        let delay = match active.rec.behaviour {
            Behaviour::Delay(d) => d,
            _ => Duration::ZERO,
        };
        check_headers(active, head, parsed.as_ref());
        let mut reply = match parsed {
            None => {
                if let Some((sent, _)) = active.outstanding.take() {
                    active.rec.violations.push(format!(
                        "empty POST {n} while the answer to {} was due",
                        sent_name(&sent)
                    ));
                    active.rec.unanswered.push(sent);
                }
                self.next_acs_message()
            }
            Some(Err(e)) => {
                save_envelope(&self.shared, active, body, "unparsable");
                active.rec.unparsable.push((body.to_vec(), e.to_string()));
                if let Some((sent, _)) = active.outstanding.take() {
                    active.rec.unanswered.push(sent);
                }
                // The ACS's own answer to what it cannot decode: the fault the error maps to.
                active.acs_done = false;
                Reply::envelope(&Envelope::new(Body::Fault(e.to_fault(Role::Acs))))
            }
            Some(Ok(env)) => {
                save_envelope(&self.shared, active, body, env.body.method_name());
                active.rec.cpe_messages.push(env.clone());
                match env.body.kind() {
                    MessageKind::Request => cpe_request(active, env),
                    MessageKind::Response | MessageKind::Fault => {
                        cpe_answer(active, env);
                        self.next_acs_message()
                    }
                }
            }
        };
        reply.delay = delay;
        reply
    }

    async fn start_session(
        &mut self,
        head: &RequestHead,
        body: &[u8],
        env: Envelope,
        inform: Inform,
    ) -> Reply {
        if let Some(mut old) = self.session.take() {
            let reason = if old.acs_done {
                EndReason::Completed
            } else {
                old.rec
                    .violations
                    .push("a new Inform before the session ended".to_string());
                EndReason::Replaced
            };
            self.finish(old, reason).await;
        }
        let d = &inform.device_id;
        let device = format!("{}-{}-{}", d.oui, d.product_class, d.serial_number);
        self.await_other_session(&device).await;
        let (id, behaviour, overlapping) = {
            let mut state = self.shared.state();
            state.next_session += 1;
            let id = state.next_session;
            let overlapping = state
                .active_devices
                .get(&device)
                .copied()
                .filter(|c| *c != self.id);
            // A refused session does not use up the behaviour meant for a real one.
            let behaviour = match overlapping {
                Some(_) => Behaviour::Normal,
                None => {
                    state.active_devices.insert(device.clone(), self.id);
                    state.behaviours.pop_front().unwrap_or_default()
                }
            };
            (id, behaviour, overlapping)
        };
        let cookie = sipdigest::try_new_cnonce().unwrap_or_else(|_| format!("session-{id}"));
        let mut active = Active {
            rec: Session {
                id,
                connection: self.id,
                inform,
                behaviour: behaviour.clone(),
                cpe_messages: vec![env.clone()],
                cpe_requests: Vec::new(),
                responses: Vec::new(),
                unanswered: Vec::new(),
                unparsable: Vec::new(),
                http: Vec::new(),
                violations: Vec::new(),
                files: Vec::new(),
                validation: Validation::Skipped,
                end: EndReason::CpeClosed,
                duration: Duration::ZERO,
            },
            started: Instant::now(),
            cookie,
            device,
            posts: 1,
            outstanding: None,
            hold: false,
            acs_done: false,
            raw_sent: false,
        };
        save_envelope(&self.shared, &mut active, body, "Inform");
        check_headers(&mut active, head, Some(&Ok(env.clone())));
        let hold = behaviour == Behaviour::HoldRequests;
        let mut reply = match behaviour {
            _ if overlapping.is_some() => {
                active.rec.violations.push(format!(
                    "an Inform while the CPE's session on connection {} is still open",
                    overlapping.unwrap_or_default()
                ));
                let mut r = Reply::status(503).closing(EndReason::Overlapping);
                header(&mut r.head, "Retry-After", "1");
                r
            }
            Behaviour::HttpStatus(status) => Reply::status(status),
            Behaviour::Unauthorized => {
                let auth = self.shared.opts.auth.clone();
                self.challenge(&auth, false, false)
            }
            Behaviour::CloseAfterPosts(n) if n <= 1 => Reply::dropped(),
            Behaviour::InformFault(code) => Reply::envelope(&env.reply(Body::Fault(Fault::new(code)))),
            _ => {
                let mut response = env.reply(Body::InformResponse { max_envelopes: 1 });
                if hold {
                    response.hold_requests = Some(true);
                    active.hold = true;
                }
                let mut r = Reply::envelope(&response);
                let secure = if self.shared.opts.tls.is_some() {
                    "; Secure"
                } else {
                    ""
                };
                let cookie = format!("{COOKIE_NAME}={}; Path=/; HttpOnly{secure}", active.cookie);
                header(&mut r.head, "Set-Cookie", &cookie);
                r
            }
        };
        if let Behaviour::Delay(d) = active.rec.behaviour {
            reply.delay = d;
        }
        self.session = Some(active);
        reply
    }

    /// Gives the device's session on another connection a moment to end. A CPE that closes
    /// its connection and at once opens a new session races the ACS's noticing the close; only
    /// a session still open after the grace period is a real overlap.
    async fn await_other_session(&self, device: &str) {
        let deadline = tokio::time::Instant::now() + OVERLAP_GRACE;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let busy = self
                .shared
                .state()
                .active_devices
                .get(device)
                .is_some_and(|c| *c != self.id);
            if !busy || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// The ACS's next message: the behaviour's bad message once, then the queued requests, then
    /// the empty response.
    fn next_acs_message(&mut self) -> Reply {
        let shared = self.shared.clone();
        let Some(active) = self.session.as_mut() else {
            return Reply::status(204);
        };
        if !active.raw_sent {
            if let Some((name, xml)) = bad_message(&active.rec.behaviour) {
                active.raw_sent = true;
                active.outstanding = Some((Sent::Raw(name), None));
                active.hold = false;
                active.acs_done = false;
                return Reply::xml(xml);
            }
        }
        let next = {
            let mut state = shared.state();
            state.requests.pop_front().map(|body| {
                state.next_request += 1;
                (body, format!("acs-{}", state.next_request))
            })
        };
        match next {
            Some((body, id)) => {
                let hold = active.rec.behaviour == Behaviour::HoldRequests;
                let env = Envelope {
                    version: CwmpVersion::V1_2,
                    id: Some(id.clone()),
                    hold_requests: hold.then_some(true),
                    body: body.clone(),
                };
                active.outstanding = Some((Sent::Rpc(body), Some(id)));
                active.hold = hold;
                active.acs_done = false;
                Reply::envelope(&env)
            }
            None => {
                active.hold = false;
                active.acs_done = true;
                Reply::status(204)
            }
        }
    }

    async fn finish(&mut self, mut active: Active, end: EndReason) {
        if let Some((sent, _)) = active.outstanding.take() {
            active.rec.unanswered.push(sent);
        }
        active.rec.end = end;
        active.rec.duration = active.started.elapsed();
        active.rec.validation = if self.shared.opts.validate {
            validate::run(&active.rec.files).await
        } else {
            Validation::Skipped
        };
        let mut state = self.shared.state();
        if state.active_devices.get(&active.device) == Some(&self.id) {
            state.active_devices.remove(&active.device);
        }
        state.finished.push(active.rec);
        drop(state);
        self.shared.changed.notify_waiters();
    }
}

fn sent_name(sent: &Sent) -> &'static str {
    match sent {
        Sent::Rpc(b) => b.method_name(),
        Sent::Raw(name) => name,
    }
}

/// Writes the CPE's envelope where the validator will find it.
fn save_envelope(shared: &Shared, active: &mut Active, body: &[u8], what: &str) {
    let name = format!(
        "s{:03}-{:02}-{what}.xml",
        active.rec.id,
        active.rec.files.len() + 1
    );
    let path = shared.dir.join(name);
    match std::fs::write(&path, body) {
        Ok(()) => active.rec.files.push(path),
        // Reported as a validation problem rather than lost: the envelope could not be checked.
        Err(e) => active
            .rec
            .violations
            .push(format!("(ACS) could not write {}: {e}", path.display())),
    }
}

/// TR-069 §3.4.1's rules for the CPE's POST headers.
fn check_headers(
    active: &mut Active,
    head: &RequestHead,
    parsed: Option<&Result<Envelope, cwmp::SoapError>>,
) {
    let n = active.posts;
    let soap_action = head.headers().get("soapaction");
    let content_type = head.headers().get("content-type");
    let v = &mut active.rec.violations;
    match parsed {
        None => {
            if soap_action.is_some() {
                v.push(format!("empty POST {n} has a SOAPAction header"));
            }
            if content_type.is_some() {
                v.push(format!("empty POST {n} has a Content-Type header"));
            }
        }
        Some(parsed) => {
            let xml = content_type.is_some_and(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/xml"))
            });
            if !xml {
                v.push(format!(
                    "POST {n} holds an envelope but its Content-Type is not text/xml"
                ));
            }
            let answer = matches!(parsed, Ok(env) if env.body.kind() != MessageKind::Request);
            if answer && soap_action.is_some_and(|s| !s.is_empty()) {
                v.push(format!(
                    "POST {n} holds a response or fault but its SOAPAction has a value"
                ));
            }
        }
    }
}

/// A request from the CPE inside the session.
fn cpe_request(active: &mut Active, env: Envelope) -> Reply {
    let method = env.body.method_name();
    if active.hold {
        active
            .rec
            .violations
            .push(format!("{method} sent while HoldRequests was true"));
    }
    if let Some((sent, _)) = active.outstanding.take() {
        active.rec.violations.push(format!(
            "{method} sent while the answer to {} was due",
            sent_name(&sent)
        ));
        active.rec.unanswered.push(sent);
    }
    active.rec.cpe_requests.push(env.clone());
    let answer = match &env.body {
        Body::TransferComplete(_) => Body::TransferCompleteResponse,
        Body::GetRpcMethods => {
            Body::GetRpcMethodsResponse(ACS_METHODS.iter().map(|m| m.to_string()).collect())
        }
        _ => Body::Fault(Fault::new(FaultCode::ACS_METHOD_NOT_SUPPORTED)),
    };
    active.hold = false;
    active.acs_done = false;
    Reply::envelope(&env.reply(answer))
}

/// A response or fault from the CPE: the answer to the outstanding request.
fn cpe_answer(active: &mut Active, env: Envelope) {
    let method = env.body.method_name();
    let Some((sent, id)) = active.outstanding.take() else {
        active
            .rec
            .violations
            .push(format!("{method} sent with no ACS request outstanding"));
        return;
    };
    if let Sent::Rpc(request) = &sent {
        if id.is_some() && env.id != id {
            active.rec.violations.push(format!(
                "{method} carries cwmp:ID {:?}, the request had {:?}",
                env.id, id
            ));
        }
        let expected = format!("{}Response", request.method_name());
        if env.body.kind() == MessageKind::Response && method != expected {
            active
                .rec
                .violations
                .push(format!("{method} answers {}", request.method_name()));
        }
    }
    active.rec.responses.push((sent, env));
}

const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The deliberately bad message of a behaviour, if it has one.
fn bad_message(behaviour: &Behaviour) -> Option<(&'static str, String)> {
    let wrap = |ns: &str, body: &str| {
        // No cwmp:ID in the foreign namespace: a mustUnderstand header the CPE cannot
        // understand would be refused before the body is looked at.
        let header = if ns == CwmpVersion::V1_2.namespace() {
            r#"<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">acs-bad</cwmp:ID></soap-env:Header>"#
        } else {
            ""
        };
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soap-env:Envelope xmlns:soap-env="{SOAP_NS}" xmlns:cwmp="{ns}">{header}<soap-env:Body>{body}</soap-env:Body></soap-env:Envelope>"#
        )
    };
    let cwmp_ns = CwmpVersion::V1_2.namespace();
    match behaviour {
        // The GetRPCMethods element is never closed.
        Behaviour::MalformedXml => Some(("MalformedXml", wrap(cwmp_ns, "<cwmp:GetRPCMethods>"))),
        Behaviour::WrongNamespace => Some((
            "WrongNamespace",
            wrap("urn:example-org:not-cwmp-1-2", "<cwmp:GetRPCMethods/>"),
        )),
        Behaviour::UnknownRpc => Some(("UnknownRpc", wrap(cwmp_ns, "<cwmp:X_DGW_Frobnicate/>"))),
        Behaviour::HugeEnvelope(size) => {
            // Long but valid names (the schema allows 256 characters), as many as it takes.
            let name = format!("Device.X_DGW_Huge.{}", "A".repeat(200));
            let count = size / (name.len() + 17) + 1;
            let env = Envelope::new(Body::GetParameterValues(vec![name; count])).with_id("acs-huge");
            Some(("HugeEnvelope", env.to_xml()))
        }
        _ => None,
    }
}

/// Writes the reply; a generated body is produced in blocks.
async fn write_reply<S: AsyncWrite + Unpin>(
    conn: &mut S,
    reply: &mut Reply,
    head_only: bool,
) -> Result<(), HttpError> {
    let status = reply.head.status();
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    if !no_body && !reply.head.headers().contains("content-length") {
        let len = reply.body.len().to_string();
        header(&mut reply.head, "Content-Length", &len);
    }
    if head_only {
        return httpwire::write_response(conn, &reply.head, b"").await;
    }
    match &reply.body {
        ReplyBody::Bytes(b) => httpwire::write_response(conn, &reply.head, b).await,
        ReplyBody::Shared(b) => httpwire::write_response(conn, &reply.head, b).await,
        ReplyBody::Pattern(len) => {
            httpwire::write_response(conn, &reply.head, b"").await?;
            const BLOCK: u64 = 64 * 1024;
            let mut offset = 0;
            let mut block = Vec::with_capacity(BLOCK as usize);
            while offset < *len {
                let n = BLOCK.min(*len - offset);
                block.clear();
                block.extend((offset..offset + n).map(pattern_byte));
                conn.write_all(&block).await?;
                offset += n;
            }
            conn.flush().await?;
            Ok(())
        }
    }
}
