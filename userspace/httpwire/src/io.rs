//! Async helpers over any tokio stream: reading heads and bodies, writing messages.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::error::HttpError;
use crate::framing::{BodyFraming, ChunkedDecoder};
use crate::head::{parse_request_head, parse_response_head, RequestHead, ResponseHead};

/// Bytes asked of the stream per read. It also bounds how much of a body can be read along with
/// a head (at most one read's worth), i.e. what [`BufferedStream::into_parts`] hands back.
pub const READ_CHUNK: usize = 8 * 1024;

/// Bodies up to this size are written in one piece with their head (one TLS record, one system
/// call); larger ones are written after it without copying.
const COALESCE: usize = 16 * 1024;

/// A stream with a read buffer: heads are parsed from the buffer, and bytes read past a head
/// (the start of its body, or the next message) stay there for whoever reads next.
///
/// It implements `AsyncRead` (buffer first, then the stream) and `AsyncWrite` (straight to the
/// stream), so it can stand in for the stream once the head is read. To move a body with
/// another tool, such as `TlsStream::recv_to_file`, take the stream back with
/// [`BufferedStream::into_parts`]: the bytes already buffered come first.
#[derive(Debug)]
pub struct BufferedStream<S> {
    inner: S,
    buf: Vec<u8>,
    /// Start of the bytes not yet consumed in `buf`.
    pos: usize,
}

impl<S> BufferedStream<S> {
    /// Wraps `inner` with an empty buffer.
    pub fn new(inner: S) -> BufferedStream<S> {
        BufferedStream::with_buffered(inner, Vec::new())
    }

    /// Wraps `inner` with bytes already read from it (the `Vec` of [`BufferedStream::into_parts`]),
    /// which are read first. This is how a connection goes back to HTTP after its body was
    /// spliced away.
    pub fn with_buffered(inner: S, buffered: Vec<u8>) -> BufferedStream<S> {
        BufferedStream {
            inner,
            buf: buffered,
            pos: 0,
        }
    }

    /// The bytes read from the stream and not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Marks the first `n` buffered bytes as used (capped at what is buffered).
    pub fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream, to use directly. Reading from it skips the buffer: take
    /// [`BufferedStream::buffered`] first.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The stream and the bytes already read from it but not consumed (for a response whose
    /// head was just read: the first bytes of the body, at most [`READ_CHUNK`]).
    pub fn into_parts(mut self) -> (S, Vec<u8>) {
        self.buf.drain(..self.pos);
        (self.inner, self.buf)
    }
}

impl<S: AsyncRead + Unpin> BufferedStream<S> {
    /// Reads once from the stream into the buffer. Returns the number of bytes added; `0` at
    /// end of stream.
    ///
    /// Cancel-safe: dropped before it completes, it adds nothing.
    pub async fn fill(&mut self) -> io::Result<usize> {
        // Read into a scratch array rather than into spare room of `buf`, so that a cancelled
        // read cannot leave uninitialised-looking zeros in the buffer.
        let mut chunk = [0u8; READ_CHUNK];
        let n = self.inner.read(&mut chunk).await?;
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            // Compact rarely: only when more than half of the buffer is used up.
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for BufferedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let buffered = this.buffered();
        if !buffered.is_empty() {
            let n = buffered.len().min(out.remaining());
            out.put_slice(&buffered[..n]);
            this.consume(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BufferedStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Reads one request head. `Ok(None)` when the peer closed the connection cleanly between
/// requests (nothing but empty lines received); the body, if any, is left in the stream (see
/// [`read_body_to_vec`]).
pub async fn read_request<S: AsyncRead + Unpin>(
    s: &mut BufferedStream<S>,
) -> Result<Option<RequestHead>, HttpError> {
    loop {
        if !s.buffered().is_empty() {
            if let Some((head, n)) = parse_request_head(s.buffered())? {
                s.consume(n);
                return Ok(Some(head));
            }
        }
        if s.fill().await? == 0 {
            return if s.buffered().iter().all(|&b| b == b'\r' || b == b'\n') {
                Ok(None)
            } else {
                Err(HttpError::UnexpectedEof)
            };
        }
    }
}

/// Reads one response head (1xx interim responses included: the caller skips them, as
/// [`crate::Client`] does). The body is left in the stream.
pub async fn read_response_head<S: AsyncRead + Unpin>(
    s: &mut BufferedStream<S>,
) -> Result<ResponseHead, HttpError> {
    loop {
        if !s.buffered().is_empty() {
            if let Some((head, n)) = parse_response_head(s.buffered())? {
                s.consume(n);
                return Ok(head);
            }
        }
        if s.fill().await? == 0 {
            return Err(if s.buffered().is_empty() {
                HttpError::ConnectionClosed
            } else {
                HttpError::UnexpectedEof
            });
        }
    }
}

/// Reads a body framed as `framing` (from [`RequestHead::body_framing`] or
/// [`ResponseHead::body_framing`]) into memory, refusing more than `limit` bytes. A
/// `Content-Length` over the limit is refused before anything is read.
///
/// After a `Length` or `Chunked` body the stream is positioned at the next message; after
/// `UntilClose` it is at its end.
pub async fn read_body_to_vec<S: AsyncRead + Unpin>(
    s: &mut BufferedStream<S>,
    framing: BodyFraming,
    limit: u64,
) -> Result<Vec<u8>, HttpError> {
    // Never trust a length for an allocation: grow as bytes actually arrive.
    const PREALLOC: usize = 64 * 1024;
    match framing {
        BodyFraming::Length(n) => {
            if n > limit {
                return Err(HttpError::BodyTooLarge);
            }
            let n = usize::try_from(n).map_err(|_| HttpError::BodyTooLarge)?;
            let mut body = Vec::with_capacity(n.min(PREALLOC));
            loop {
                let want = n - body.len();
                let take = want.min(s.buffered().len());
                body.extend_from_slice(&s.buffered()[..take]);
                s.consume(take);
                if body.len() == n {
                    return Ok(body);
                }
                if s.fill().await? == 0 {
                    return Err(HttpError::UnexpectedEof);
                }
            }
        }
        BodyFraming::Chunked => {
            let mut dec = ChunkedDecoder::new(limit);
            let mut body = Vec::new();
            loop {
                let used = dec.decode(s.buffered(), &mut body)?;
                s.consume(used);
                if dec.is_done() {
                    return Ok(body);
                }
                if s.fill().await? == 0 {
                    return Err(HttpError::UnexpectedEof);
                }
            }
        }
        BodyFraming::UntilClose => {
            let mut body = Vec::new();
            loop {
                let take = s.buffered().len();
                if (body.len() + take) as u64 > limit {
                    return Err(HttpError::BodyTooLarge);
                }
                body.extend_from_slice(s.buffered());
                s.consume(take);
                if s.fill().await? == 0 {
                    return Ok(body);
                }
            }
        }
    }
}

/// Writes a request with a complete body (possibly empty) and flushes.
///
/// `Content-Length` is added when the head has none and the body is not empty (or the method is
/// `POST`, `PUT` or `PATCH`, whose empty body must still be announced); a `Content-Length` the
/// head already has must match the body. A head with `Transfer-Encoding` is refused: this
/// function sends lengths, which needs no chunking.
pub async fn write_request<S: AsyncWrite + Unpin>(
    s: &mut S,
    head: &RequestHead,
    body: &[u8],
) -> Result<(), HttpError> {
    let framing = head.body_framing()?;
    let has_length = head.headers().contains("content-length");
    let mut out = Vec::with_capacity(512 + body.len().min(COALESCE));
    match framing {
        BodyFraming::Chunked | BodyFraming::UntilClose => {
            return Err(HttpError::Malformed(
                "write_request sends Content-Length bodies; remove Transfer-Encoding",
            ))
        }
        BodyFraming::Length(n) if has_length && n != body.len() as u64 => {
            return Err(HttpError::Malformed(
                "Content-Length differs from the body length",
            ))
        }
        _ => {}
    }
    let needs_length = !has_length && (!body.is_empty() || matches!(head.method(), "POST" | "PUT" | "PATCH"));
    head.write_to(&mut out);
    if needs_length {
        insert_content_length(&mut out, body.len());
    }
    write_message(s, out, body).await
}

/// Writes a response with a complete body and flushes.
///
/// `Content-Length` is added when the head has neither it nor `Transfer-Encoding`, unless the
/// status is 1xx, 204 or 304 (which have no body: `body` must then be empty). If the head has a
/// `Content-Length`, `body` must be that long, or empty for the answer to a `HEAD` request.
pub async fn write_response<S: AsyncWrite + Unpin>(
    s: &mut S,
    head: &ResponseHead,
    body: &[u8],
) -> Result<(), HttpError> {
    let status = head.status();
    let no_body = (100..200).contains(&status) || status == 204 || status == 304;
    if no_body && !body.is_empty() {
        return Err(HttpError::Malformed("1xx, 204 and 304 responses have no body"));
    }
    let framing = head.body_framing("GET")?;
    let has_length = head.headers().contains("content-length");
    if framing == BodyFraming::Chunked {
        return Err(HttpError::Malformed(
            "write_response sends Content-Length bodies; remove Transfer-Encoding",
        ));
    }
    if let BodyFraming::Length(n) = framing {
        if has_length && n != body.len() as u64 && !body.is_empty() {
            return Err(HttpError::Malformed(
                "Content-Length differs from the body length",
            ));
        }
    }
    let mut out = Vec::with_capacity(512 + body.len().min(COALESCE));
    head.write_to(&mut out);
    if !has_length && !no_body {
        insert_content_length(&mut out, body.len());
    }
    write_message(s, out, body).await
}

/// Inserts `Content-Length: n` before the blank line ending the serialized head in `out`.
fn insert_content_length(out: &mut Vec<u8>, n: usize) {
    // `out` ends with the head's final CRLF; put the field before it.
    out.truncate(out.len().saturating_sub(2));
    out.extend_from_slice(format!("Content-Length: {n}\r\n\r\n").as_bytes());
}

async fn write_message<S: AsyncWrite + Unpin>(
    s: &mut S,
    mut out: Vec<u8>,
    body: &[u8],
) -> Result<(), HttpError> {
    if body.len() <= COALESCE {
        out.extend_from_slice(body);
        s.write_all(&out).await?;
    } else {
        s.write_all(&out).await?;
        s.write_all(body).await?;
    }
    s.flush().await?;
    Ok(())
}
