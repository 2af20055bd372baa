//! The HTTP side of transfers: the connection (TCP, or TLS with kTLS where the kernel takes
//! it), the GET whose body goes into a file, and the PUT.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use cwmp::FaultCode;
use httpwire::{
    BodyFraming, BufferedStream, ChunkedDecoder, Client, Credentials, HttpError, RequestHead, Scheme, Url,
};
use ktls_offload::TlsStream;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::{internal, loggable, too_large, TransferContext, TransferError, TransferReport, MAX_REDIRECTS};

/// Largest response body read after an Upload (a server's "created" page).
const UPLOAD_RESPONSE_LIMIT: u64 = 64 * 1024;

/// A connection to a file server. Not a `Box<dyn ...>`: the Download needs the concrete
/// [`TlsStream`] back to call `recv_to_file` on it.
pub(super) enum Conn {
    Tcp(TcpStream),
    Tls(Box<TlsStream>),
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The instant `timeout` from now (a year at most: an absurd timeout must not overflow).
pub(super) fn deadline(timeout: Duration) -> Instant {
    Instant::now() + timeout.min(Duration::from_secs(365 * 24 * 3600))
}

/// Connects to the URL's server; the error says why, without secrets.
async fn connect(
    url: &Url,
    ctx: &TransferContext,
    deadline: Instant,
    report: &mut TransferReport,
) -> Result<Conn, String> {
    let host = url.host().to_string();
    let tcp = timeout_at(deadline, TcpStream::connect((host.as_str(), url.port())))
        .await
        .map_err(|_| format!("timed out connecting to {}", url.authority()))?
        .map_err(|e| format!("{}: {e}", url.authority()))?;
    let _ = tcp.set_nodelay(true);
    match url.scheme() {
        Scheme::Http => Ok(Conn::Tcp(tcp)),
        Scheme::Https => {
            let cfg = ctx
                .tls
                .clone()
                .ok_or_else(|| "no TLS configuration for an https URL".to_string())?;
            let name = ServerName::try_from(host).map_err(|e| format!("server name: {e}"))?;
            let tls = timeout_at(deadline, ktls_offload::connect(cfg, name, tcp, &ctx.ktls))
                .await
                .map_err(|_| format!("TLS handshake with {} timed out", url.authority()))?
                .map_err(|e| format!("TLS with {}: {e}", url.authority()))?;
            report.tls = true;
            report.kernel_tls = tls.is_kernel();
            Ok(Conn::Tls(Box::new(tls)))
        }
    }
}

fn request(method: &str, url: &Url) -> Result<RequestHead, HttpError> {
    let mut head = RequestHead::new(method, url.target())?;
    let h = head.headers_mut();
    h.set("Host", &url.host_header())?;
    h.set("User-Agent", concat!("dgw-cwmpd/", env!("CARGO_PKG_VERSION")))?;
    Ok(head)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port() == b.port()
}

/// 9017: the connection was made but the download did not complete.
fn incomplete(what: impl std::fmt::Display) -> TransferError {
    TransferError::new(
        FaultCode::INCOMPLETE_DOWNLOAD,
        format!("Download failure: unable to complete download: {what}"),
    )
}

/// 9016: the server would not give the file.
fn no_access(what: impl std::fmt::Display) -> TransferError {
    TransferError::new(
        FaultCode::ACCESS_FILE_FAILURE,
        format!("Download failure: unable to access file: {what}"),
    )
}

fn auth_failure(status: u16, had_credentials: bool) -> TransferError {
    let why = if had_credentials {
        "the server refused the credentials"
    } else {
        "the server asks for credentials and the request has none"
    };
    TransferError::new(
        FaultCode::FILE_TRANSFER_AUTH_FAILURE,
        format!("File transfer server authentication failure: {why} (HTTP {status})"),
    )
}

fn credentials(req_user: &str, req_password: &str) -> Option<Credentials> {
    (!req_user.is_empty()).then(|| Credentials {
        username: req_user.to_string(),
        password: req_password.to_string(),
    })
}

/// GETs `start` (following redirects) into `file`, at most `limit` bytes; returns the size.
pub(super) async fn fetch_to_file(
    start: &Url,
    req: &cwmp::Download,
    ctx: &TransferContext,
    limit: u64,
    file: &File,
    deadline: Instant,
    report: &mut TransferReport,
) -> Result<u64, TransferError> {
    let mut url = start.clone();
    loop {
        let conn = connect(&url, ctx, deadline, report).await.map_err(|w| {
            TransferError::new(
                FaultCode::CONTACT_SERVER_FAILURE,
                format!("Download failure: unable to contact file server: {w}"),
            )
        })?;
        let mut client = Client::new(conn).secure(url.is_secure());
        // The credentials are for the URL the ACS gave, not for wherever it redirects.
        let creds = credentials(&req.username, &req.password).filter(|_| same_origin(&url, start));
        let had_credentials = creds.is_some();
        if let Some(c) = creds {
            client.set_credentials(c);
        }
        let head = request("GET", &url).map_err(|e| internal("building the request", e))?;
        let resp = timeout_at(deadline, client.send_head(&head, b""))
            .await
            .map_err(|_| incomplete("no response before the transfer timeout"))?
            .map_err(incomplete)?;
        match resp.status() {
            200 => {}
            status @ (301 | 302 | 303 | 307 | 308) => {
                let location = resp
                    .headers()
                    .get("location")
                    .ok_or_else(|| no_access(format!("HTTP {status} without Location")))?;
                report.redirects += 1;
                if report.redirects > MAX_REDIRECTS {
                    return Err(no_access(format!("more than {MAX_REDIRECTS} redirects")));
                }
                let next = url
                    .join(location)
                    .map_err(|e| no_access(format!("HTTP {status} to an unusable URL: {e}")))?;
                if url.is_secure() && !next.is_secure() {
                    return Err(no_access("redirect from https to http refused"));
                }
                log::info!(target: "cwmpd", "Download {:?}: redirected to {}", req.command_key, loggable(&next));
                url = next;
                continue;
            }
            status @ (401 | 407) => return Err(auth_failure(status, had_credentials)),
            status => {
                return Err(no_access(format!(
                    "HTTP {status} {}",
                    httpwire::canonical_reason(status)
                )))
            }
        }
        let framing = resp.body_framing("GET").map_err(incomplete)?;
        let size = receive_body(
            client.into_buffered(),
            framing,
            req.file_size,
            limit,
            file,
            deadline,
            report,
        )
        .await?;
        report.bytes = size;
        return Ok(size);
    }
}

/// Writes the response body into `file`: spliced on kTLS when the length is known.
async fn receive_body(
    conn: BufferedStream<Conn>,
    framing: BodyFraming,
    file_size: u32,
    limit: u64,
    file: &File,
    deadline: Instant,
    report: &mut TransferReport,
) -> Result<u64, TransferError> {
    let write_err = |e: io::Error| internal("writing the downloaded file", e);
    let over_limit = || {
        TransferError::new(
            FaultCode::DOWNLOAD_FAILURE,
            format!("Download failure: the file is larger than the {limit}-byte limit"),
        )
    };
    match framing {
        BodyFraming::Length(n) => {
            if n > limit {
                return Err(too_large(FaultCode::DOWNLOAD_FAILURE, n, limit));
            }
            if file_size > 0 && n != u64::from(file_size) {
                // Not worth fetching: the server's file is not the one the ACS described.
                return Err(TransferError::new(
                    FaultCode::FILE_CORRUPTED,
                    format!("Download failure: file corrupted: the server's file has {n} bytes, FileSize says {file_size}"),
                ));
            }
            let (mut conn, already) = conn.into_parts();
            let first = already.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            file.write_all_at(&already[..first], 0).map_err(write_err)?;
            let first = first as u64;
            let rest = n - first;
            let got = match &mut conn {
                Conn::Tls(t) => {
                    // On kTLS this is splice(2): the kernel decrypts into the page cache.
                    report.spliced = t.is_kernel() && rest > 0;
                    timeout_at(deadline, t.recv_to_file(file, first, rest)).await
                }
                Conn::Tcp(s) => timeout_at(deadline, copy_to_file(s, file, first, rest)).await,
            }
            .map_err(|_| {
                incomplete(format!(
                    "timed out after the transfer timeout, {n} bytes expected"
                ))
            })?
            .map_err(incomplete)?;
            if got != rest {
                return Err(incomplete(format!(
                    "the connection closed after {} of {n} bytes",
                    first + got
                )));
            }
            Ok(n)
        }
        BodyFraming::Chunked => {
            report.chunked = true;
            let mut conn = conn;
            let mut dec = ChunkedDecoder::new(limit);
            let mut out = Vec::new();
            let mut written = 0u64;
            loop {
                out.clear();
                let used = match dec.decode(conn.buffered(), &mut out) {
                    Ok(used) => used,
                    Err(HttpError::BodyTooLarge) => return Err(over_limit()),
                    Err(e) => return Err(incomplete(e)),
                };
                conn.consume(used);
                file.write_all_at(&out, written).map_err(write_err)?;
                written += out.len() as u64;
                if dec.is_done() {
                    return Ok(written);
                }
                let n = timeout_at(deadline, conn.fill())
                    .await
                    .map_err(|_| incomplete("timed out in the chunked body"))?
                    .map_err(incomplete)?;
                if n == 0 {
                    return Err(incomplete("the connection closed in the chunked body"));
                }
            }
        }
        BodyFraming::UntilClose => {
            // Over TLS the end is proven by close_notify (a cut connection is an error); over
            // plain HTTP a cut is indistinguishable from the end, which FileSize and the
            // installer's checks catch.
            let mut conn = conn;
            let mut written = 0u64;
            loop {
                let take = conn.buffered().len();
                if written + take as u64 > limit {
                    return Err(over_limit());
                }
                file.write_all_at(conn.buffered(), written).map_err(write_err)?;
                written += take as u64;
                conn.consume(take);
                let n = timeout_at(deadline, conn.fill())
                    .await
                    .map_err(|_| incomplete("timed out before the end of the body"))?
                    .map_err(incomplete)?;
                if n == 0 {
                    return Ok(written);
                }
            }
        }
    }
}

/// Plain TCP: read and write (splice needs no TLS, but a plain HTTP download is not worth
/// `unsafe` here).
async fn copy_to_file(s: &mut TcpStream, file: &File, offset: u64, len: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from(len - done).unwrap_or(usize::MAX).min(buf.len());
        let n = s.read(&mut buf[..want]).await?;
        if n == 0 {
            break;
        }
        file.write_all_at(&buf[..n], offset + done)?;
        done += n as u64;
    }
    Ok(done)
}

/// PUTs `body` to `url` (no redirects: the ACS gives the upload URL itself).
pub(super) async fn put(
    url: &Url,
    req: &cwmp::Upload,
    ctx: &TransferContext,
    body: &[u8],
    deadline: Instant,
    report: &mut TransferReport,
) -> Result<(), TransferError> {
    let failure = |w: String| TransferError::new(FaultCode::UPLOAD_FAILURE, format!("Upload failure: {w}"));
    let conn = connect(url, ctx, deadline, report)
        .await
        .map_err(|w| failure(format!("unable to contact file server: {w}")))?;
    let mut client = Client::new(conn).secure(url.is_secure());
    client.set_body_limit(UPLOAD_RESPONSE_LIMIT);
    let creds = credentials(&req.username, &req.password);
    let had_credentials = creds.is_some();
    if let Some(c) = creds {
        client.set_credentials(c);
    }
    let mut head = request("PUT", url).map_err(|e| internal("building the request", e))?;
    head.headers_mut()
        .set("Content-Type", "application/octet-stream")
        .map_err(|e| internal("building the request", e))?;
    let resp = timeout_at(deadline, client.send(&head, body))
        .await
        .map_err(|_| failure("no answer before the transfer timeout".into()))?
        .map_err(|e| failure(e.to_string()))?;
    match resp.status() {
        200..=299 => {
            report.bytes = body.len() as u64;
            Ok(())
        }
        status @ (401 | 407) => Err(auth_failure(status, had_credentials)),
        status => Err(failure(format!(
            "the server answered HTTP {status} {}",
            httpwire::canonical_reason(status)
        ))),
    }
}
