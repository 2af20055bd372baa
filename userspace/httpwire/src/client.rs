//! An HTTP/1.1 client for one keep-alive connection, as a TR-069 session uses it.

use std::time::SystemTime;

use sipdigest::{Challenge, Credentials};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::auth::{challenges, digest_challenges, Basic};
use crate::cookie::CookieJar;
use crate::error::HttpError;
use crate::framing::BodyFraming;
use crate::head::{RequestHead, ResponseHead};
use crate::io::{read_body_to_vec, read_response_head, write_request, BufferedStream};

/// Default bound on a response body kept in memory: a TR-069 RPC is a few KiB to a few hundred.
pub const DEFAULT_BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// Bound on the body of a 401 the client discards before retrying.
const DISCARD_LIMIT: u64 = 64 * 1024;

/// Interim (1xx) responses skipped before a final one; more is a broken or hostile server.
const MAX_INTERIM: usize = 8;

/// A final response with its body.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status line and fields.
    pub head: ResponseHead,
    /// The body, decoded from chunked if it was.
    pub body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status()
    }

    /// For a 3xx, the `Location` value (resolve it with [`crate::Url::join`]). Redirects are
    /// not followed: TR-069 §3.4.5 limits which requests may follow them and how many, so the
    /// caller decides.
    pub fn location(&self) -> Option<&str> {
        if self.head.is_redirect() {
            self.head.headers().get("location")
        } else {
            None
        }
    }
}

/// What the client answers challenges with, once a server has asked.
#[derive(Clone, Debug)]
enum AuthState {
    Digest { challenge: Challenge, nc: u32 },
    Basic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnState {
    Ready,
    /// A head was returned by `send_head`; its body is still in the stream.
    BodyPending {
        framing: BodyFraming,
        close_after: bool,
    },
    Closed,
}

/// A client for one HTTP/1.1 connection (plain or TLS; it only needs `AsyncRead + AsyncWrite`).
///
/// * Requests go one at a time; the connection is kept open unless the server or the request
///   says `Connection: close`, the response has no length, or an error happened. Then
///   [`Client::is_closed`] is true and [`Client::reconnect`] takes a new stream, keeping cookies
///   and authentication state (a TR-069 session may span connections).
/// * A `401` is answered once with the credentials given to [`Client::set_credentials`]: Digest
///   (the strongest challenge `sipdigest` can answer) before Basic; Basic only over TLS (see
///   [`Client::secure`]) unless [`Client::allow_basic_without_tls`]. After that, requests carry
///   the answer from the start (Digest with a growing nonce-count). A second 401 is retried only
///   if it says `stale=true`; otherwise it is returned. If the server closes the connection
///   with its 401, the 401 is returned: reconnect and send again, the answer goes out at once.
/// * Cookies from `Set-Cookie` go into a [`CookieJar`] and matching ones are sent back.
/// * 3xx responses are returned, not followed.
/// * No timeouts: wrap calls in `tokio::time::timeout`. A call that is cancelled or fails
///   leaves the connection in an unknown state; it is then treated as closed.
///
/// The request head must carry `Host`; the client adds `Cookie` and `Authorization` (unless the
/// head has them) and `Content-Length`.
#[derive(Debug)]
pub struct Client<S> {
    conn: BufferedStream<S>,
    state: ConnState,
    /// Set while a call is in progress; if it is still set at the next call, the previous one
    /// was cancelled half-way and the connection's state is unknown.
    busy: bool,
    jar: CookieJar,
    credentials: Option<Credentials>,
    auth: Option<AuthState>,
    secure: bool,
    basic_without_tls: bool,
    body_limit: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// A client over `stream`, taken to be plain TCP (see [`Client::secure`]).
    pub fn new(stream: S) -> Client<S> {
        Client {
            conn: BufferedStream::new(stream),
            state: ConnState::Ready,
            busy: false,
            jar: CookieJar::new(),
            credentials: None,
            auth: None,
            secure: false,
            basic_without_tls: false,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Declares whether the stream is TLS: `Secure` cookies and Basic authentication are only
    /// used over TLS.
    pub fn secure(mut self, secure: bool) -> Client<S> {
        self.secure = secure;
        self
    }

    /// Allows answering a Basic challenge over plain TCP, which sends the password in clear.
    /// Off by default; for lab servers only.
    pub fn allow_basic_without_tls(mut self, allow: bool) -> Client<S> {
        self.basic_without_tls = allow;
        self
    }

    /// Sets the largest body [`Client::send`] keeps (default [`DEFAULT_BODY_LIMIT`]).
    pub fn set_body_limit(&mut self, limit: u64) {
        self.body_limit = limit;
    }

    /// Sets the credentials used to answer a 401. Forgets the previous answer state.
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
        self.auth = None;
    }

    /// The cookie jar.
    pub fn cookies(&self) -> &CookieJar {
        &self.jar
    }

    /// The cookie jar, to change (clear it at the end of a TR-069 session).
    pub fn cookies_mut(&mut self) -> &mut CookieJar {
        &mut self.jar
    }

    /// Whether the connection can carry no more requests.
    pub fn is_closed(&self) -> bool {
        self.state == ConnState::Closed || self.busy
    }

    /// Replaces the connection with a new one (after [`Client::is_closed`]), keeping cookies,
    /// credentials and the authentication answer.
    pub fn reconnect(&mut self, stream: S) {
        self.conn = BufferedStream::new(stream);
        self.state = ConnState::Ready;
        self.busy = false;
    }

    /// The buffered connection, to read a body returned by [`Client::send_head`] another way
    /// (see the crate documentation for splicing it into a file).
    pub fn into_buffered(self) -> BufferedStream<S> {
        self.conn
    }

    /// Sends `head` with `body` and returns the final response with its body (at most the body
    /// limit). 1xx responses are skipped; a 401 is answered as described on [`Client`].
    pub async fn send(&mut self, head: &RequestHead, body: &[u8]) -> Result<Response, HttpError> {
        let head = self.send_head(head, body).await?;
        let body = self.read_body(self.body_limit).await?;
        Ok(Response { head, body })
    }

    /// Like [`Client::send`], but returns once the final head is read: the body is still in the
    /// connection. Read it with [`Client::read_body`], or take the connection with
    /// [`Client::into_buffered`] (for a download straight into a file). Until the body is read,
    /// the client sends nothing ([`HttpError::BodyPending`]).
    pub async fn send_head(&mut self, head: &RequestHead, body: &[u8]) -> Result<ResponseHead, HttpError> {
        if self.busy {
            self.state = ConnState::Closed;
        }
        match self.state {
            ConnState::Closed => return Err(HttpError::ConnectionClosed),
            ConnState::BodyPending { .. } => return Err(HttpError::BodyPending),
            ConnState::Ready => {}
        }
        self.busy = true;
        let result = self.exchange(head, body).await;
        self.busy = false;
        match result {
            Ok((resp, framing, close_after)) => {
                self.state = ConnState::BodyPending { framing, close_after };
                Ok(resp)
            }
            Err(e) => {
                self.state = ConnState::Closed;
                Err(e)
            }
        }
    }

    /// Reads the body of the response [`Client::send_head`] returned, refusing more than `limit`
    /// bytes (the connection is then closed: the rest of the body is still in it).
    pub async fn read_body(&mut self, limit: u64) -> Result<Vec<u8>, HttpError> {
        let ConnState::BodyPending { framing, close_after } = self.state else {
            return Err(HttpError::Malformed("no response body to read"));
        };
        self.busy = true;
        let result = read_body_to_vec(&mut self.conn, framing, limit).await;
        self.busy = false;
        self.state = if result.is_ok() && !close_after {
            ConnState::Ready
        } else {
            ConnState::Closed
        };
        result
    }

    async fn exchange(
        &mut self,
        head: &RequestHead,
        body: &[u8],
    ) -> Result<(ResponseHead, BodyFraming, bool), HttpError> {
        let host = host_of(head)?;
        let mut answered = false;
        let mut stale_retried = false;
        loop {
            let mut req = head.clone();
            self.decorate(&mut req, &host)?;
            write_request(&mut self.conn, &req, body).await?;
            let resp = self.read_final_head().await?;
            let framing = resp.body_framing(req.method())?;
            let now = SystemTime::now();
            for v in resp.headers().get_all("set-cookie") {
                // A cookie RFC 6265 says to ignore is ignored; it does not fail the request.
                self.jar.store(v, &host, req.target(), now);
            }
            let close_after = !resp.keep_alive() || !req.keep_alive() || framing == BodyFraming::UntilClose;
            if resp.status() == 401 && !close_after && self.credentials.is_some() {
                let stale = digest_challenges(&resp).iter().any(|c| c.stale);
                let may_retry = !answered || (stale && !stale_retried);
                if may_retry {
                    if let Some(auth) = self.pick_auth(&resp) {
                        // Discard the 401's body so the connection is at the next response.
                        read_body_to_vec(&mut self.conn, framing, DISCARD_LIMIT).await?;
                        stale_retried |= answered;
                        answered = true;
                        self.auth = Some(auth);
                        continue;
                    }
                }
            } else if resp.status() == 401 && self.credentials.is_some() {
                // The server closes: remember the answer for the next connection.
                if let Some(auth) = self.pick_auth(&resp) {
                    self.auth = Some(auth);
                }
            }
            return Ok((resp, framing, close_after));
        }
    }

    /// Reads heads until a final (non-1xx) one.
    async fn read_final_head(&mut self) -> Result<ResponseHead, HttpError> {
        for _ in 0..=MAX_INTERIM {
            let resp = read_response_head(&mut self.conn).await?;
            match resp.status() {
                101 => return Err(HttpError::Malformed("unexpected 101 Switching Protocols")),
                100..=199 => {
                    // Interim responses have no body (RFC 9112 §6.3).
                    continue;
                }
                _ => return Ok(resp),
            }
        }
        Err(HttpError::Malformed("too many interim responses"))
    }

    /// Adds `Cookie` and `Authorization` to an outgoing request.
    fn decorate(&mut self, req: &mut RequestHead, host: &str) -> Result<(), HttpError> {
        if !req.headers().contains("cookie") {
            if let Some(v) = self
                .jar
                .header_value(host, req.target(), self.secure, SystemTime::now())
            {
                req.headers_mut().append("Cookie", &v)?;
            }
        }
        if req.headers().contains("authorization") {
            return Ok(());
        }
        let (Some(creds), Some(auth)) = (&self.credentials, &mut self.auth) else {
            return Ok(());
        };
        let value = match auth {
            AuthState::Digest { challenge, nc } => {
                *nc = nc.wrapping_add(1).max(1);
                let cnonce = sipdigest::try_new_cnonce().map_err(|_| HttpError::Random)?;
                sipdigest::respond(challenge, creds, req.method(), req.target(), *nc, &cnonce)?.header_value
            }
            AuthState::Basic => Basic::header_value(creds)?,
        };
        req.headers_mut().append("Authorization", &value)
    }

    fn pick_auth(&self, resp: &ResponseHead) -> Option<AuthState> {
        let digests = digest_challenges(resp);
        if let Some(c) = sipdigest::strongest(&digests) {
            return Some(AuthState::Digest {
                challenge: c.clone(),
                nc: 0,
            });
        }
        if challenges(resp, "Basic").next().is_some() && (self.secure || self.basic_without_tls) {
            return Some(AuthState::Basic);
        }
        None
    }
}

/// The host of a request (for cookies): its `Host` field without the port and IPv6 brackets.
fn host_of(head: &RequestHead) -> Result<String, HttpError> {
    let host = head
        .headers()
        .get("host")
        .ok_or(HttpError::Malformed("request without Host"))?;
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    Ok(name.to_ascii_lowercase())
}
