//! # httpwire
//!
//! The gateway's HTTP/1.1: a strict sans-IO parser and serializer for heads, body framing
//! (`Content-Length`, chunked, until close), Basic and Digest authentication, a small cookie jar,
//! URL parsing, async read/write helpers and a keep-alive [`Client`]. It exists for the TR-069
//! agent (cwmpd): ACS sessions, the Connection Request server, and file transfers.
//!
//! ## Why not hyper
//!
//! The gateway's TLS connections are `ktls_offload::TlsStream`s. Once the handshake is done the
//! kernel owns the record layer, and `TlsStream::recv_to_file` moves bytes from the socket into
//! a file with `splice(2)`: a firmware image never passes through userspace. To use that for an
//! HTTP download, the code must stop at the end of the response head, know exactly how many
//! body bytes follow, hand over the few body bytes it already read, and give the raw stream to
//! `recv_to_file`. hyper owns its connection and delivers bodies only as buffers through its
//! own reads, so the zero-copy path would be lost; it also brings a large dependency tree to a
//! firmware image. HTTP/1.1 as TR-069 uses it is small: one request at a time, `Content-Length`
//! or chunked bodies, Digest or Basic authentication, a session cookie.
//!
//! Here, [`BufferedStream`] reads the head, keeps the bytes it read past it, and
//! [`BufferedStream::into_parts`] gives back the stream and those bytes:
//!
//! ```no_run
//! # async fn download(tls: ktls_offload_stub::TlsStream, file: std::fs::File) -> Result<(), Box<dyn std::error::Error>> {
//! use std::os::unix::fs::FileExt;
//! use httpwire::{BodyFraming, BufferedStream, RequestHead};
//!
//! let mut conn = BufferedStream::new(tls);
//! let mut req = RequestHead::new("GET", "/firmware.bin")?;
//! req.headers_mut().append("Host", "files.example.net")?;
//! httpwire::write_request(&mut conn, &req, b"").await?;
//! let resp = httpwire::read_response_head(&mut conn).await?;
//! let BodyFraming::Length(len) = resp.body_framing(req.method())? else {
//!     return Err("not a Content-Length body: read it with read_body_to_vec".into());
//! };
//! let (mut tls, already) = conn.into_parts();
//! // At most one read's worth (8 KiB) of the body came with the head.
//! let first = already.len().min(len as usize);
//! file.write_all_at(&already[..first], 0)?;
//! // The rest goes socket -> file in the kernel. The limit is exact, so the connection stays
//! // at the next response and can be wrapped again for keep-alive.
//! let rest = len - first as u64;
//! let got = tls.recv_to_file(&file, first as u64, rest).await?;
//! if got != rest {
//!     return Err("connection closed before the end of the body".into());
//! }
//! let conn = BufferedStream::with_buffered(tls, already[first..].to_vec());
//! # drop(conn); Ok(()) }
//! # mod ktls_offload_stub {
//! #     pub struct TlsStream;
//! #     impl TlsStream { pub async fn recv_to_file(&mut self, _: &std::fs::File, _: u64, _: u64) -> std::io::Result<u64> { Ok(0) } }
//! #     impl tokio::io::AsyncRead for TlsStream { fn poll_read(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &mut tokio::io::ReadBuf<'_>) -> std::task::Poll<std::io::Result<()>> { std::task::Poll::Ready(Ok(())) } }
//! #     impl tokio::io::AsyncWrite for TlsStream {
//! #         fn poll_write(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, b: &[u8]) -> std::task::Poll<std::io::Result<usize>> { std::task::Poll::Ready(Ok(b.len())) }
//! #         fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> { std::task::Poll::Ready(Ok(())) }
//! #         fn poll_shutdown(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> { std::task::Poll::Ready(Ok(())) }
//! #     }
//! # }
//! ```
//!
//! A chunked or until-close body cannot be spliced blindly (the chunk framing is interleaved
//! with the data, and a length is needed to stop); read those with [`read_body_to_vec`] or a
//! [`ChunkedDecoder`]. With authentication or cookies, use [`Client::send_head`], then
//! [`Client::into_buffered`] and go on as above.
//!
//! ## Design
//!
//! * **Sans-IO core.** [`parse_request_head`] and [`parse_response_head`] take bytes and
//!   return a head and the bytes it used, or `None` for "need more"; [`ChunkedDecoder`] is a
//!   state machine fed bytes; [`DigestServer`] and [`CookieJar`] take the time as an argument.
//!   All of it is tested without sockets and fuzzed (`fuzz/fuzz_targets/http_head.rs`).
//! * **Strict, bounded, no panics.** Input from the network is refused rather than guessed at:
//!   only CRLF ends a line (bare CR and bare LF are errors), obs-fold is an error, whitespace
//!   before a header colon is an error, only HTTP/1.0 and 1.1 are accepted. Ambiguous framing,
//!   the raw material of request smuggling, is refused (see [`BodyFraming`]). Limits:
//!
//!   | limit | value |
//!   |---|---|
//!   | head, start line to blank line | [`MAX_HEAD_LEN`] = 16 KiB |
//!   | header fields | [`MAX_HEADERS`] = 100 (trailer fields too) |
//!   | one line | [`MAX_LINE_LEN`] = 8 KiB (chunk lines [`MAX_CHUNK_LINE`] = 4 KiB) |
//!   | body | given by the caller to every body reader |
//!   | cookies | [`MAX_COOKIES`] = 50 of at most [`MAX_COOKIE_LEN`] = 4 KiB |
//!   | digest nonces remembered | [`DigestServer::MAX_NONCES`] = 32 |
//!
//! * **Secrets stay out of logs.** `Debug` of [`Headers`] redacts `Authorization`, `Cookie`,
//!   `Set-Cookie` and their kin; [`Cookie`] redacts its value; credentials are
//!   `sipdigest::Credentials`, which never prints the password; errors carry fixed texts, never
//!   bytes received.
//! * **Digest is `sipdigest`.** The RFC 7616 computation is shared with SIP; this crate adds
//!   what HTTP needs around it (see [`auth`]).
//!
//! ## Timeouts and cancellation
//!
//! Nothing here has a timeout: the caller wraps each call in `tokio::time::timeout` (TR-069
//! sessions have their own). [`BufferedStream::fill`] is cancel-safe; the higher-level calls
//! are not (a request may be half-written), so a connection whose call was cancelled must be
//! dropped, which [`Client`] does by itself.
//!
//! ## Not supported
//!
//! HTTP/2, pipelining (one request at a time), `Expect: 100-continue` on the client side (a
//! server gets the head and decides), content codings (`gzip`), sending chunked bodies,
//! following redirects, proxies, and the `auth-int` digest quality of protection.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
mod client;
mod cookie;
mod error;
mod framing;
mod head;
mod io;
mod url;

pub use auth::{split_challenges, Basic, DigestServer, DigestVerdict};
pub use client::{Client, Response, DEFAULT_BODY_LIMIT};
pub use cookie::{Cookie, CookieJar, MAX_COOKIES, MAX_COOKIE_LEN};
pub use error::HttpError;
pub use framing::{BodyFraming, ChunkedDecoder, MAX_CHUNK_LINE};
pub use head::{
    canonical_reason, parse_request_head, parse_response_head, Headers, RequestHead, ResponseHead, Version,
    MAX_HEADERS, MAX_HEAD_LEN, MAX_LINE_LEN,
};
pub use io::{
    read_body_to_vec, read_request, read_response_head, write_request, write_response, BufferedStream,
    READ_CHUNK,
};
pub use sipdigest::{Algorithm, Credentials};
pub use url::{Scheme, Url};
