//! The kernel-TLS data path: the kernel encrypts and decrypts, this code
//! handles what the kernel leaves to userspace (alerts, NewSessionTicket,
//! KeyUpdate, the AEAD record limit, close_notify).

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustls::client::ClientConnectionData;
use rustls::kernel::KernelConnection;
use rustls::server::ServerConnectionData;
use rustls::ConnectionTrafficSecrets;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::control::{self, Alert, ControlError, HandshakeReassembler, PostHandshake};
use crate::probe::{Cipher, TlsVersion};
use crate::sys::{self, CryptoInfo};

/// Most plaintext one TLS record carries.
pub(crate) const MAX_PLAINTEXT: usize = 16 * 1024;
/// Largest single `send` we issue, so record accounting stays simple.
const MAX_WRITE: usize = 256 * 1024;

/// Why a kTLS connection failed. Carried inside the `io::Error` that reads
/// and writes return; callers may `downcast_ref::<KtlsError>()` it.
#[derive(Clone, Debug)]
pub enum KtlsError {
    /// The peer sent a fatal alert.
    PeerAlert(Alert),
    /// The peer sent a TLS 1.3 KeyUpdate and this kernel cannot install new
    /// keys (no TLS 1.3 rekey before Linux 6.14): the connection is closed
    /// rather than read with stale keys.
    KeyUpdateUnsupported {
        /// The running kernel's release.
        kernel: String,
    },
    /// A malformed or unexpected control record.
    Control(ControlError),
    /// The kernel refused a record: failed authentication, bad framing, too large.
    BadRecord(String),
    /// The TCP connection ended without close_notify.
    Truncated,
    /// The AEAD confidentiality limit was reached and the keys could not be
    /// updated (TLS 1.2, or a kernel without rekey).
    RecordLimit(u64),
    /// rustls refused a post-handshake message or a key derivation.
    Tls(rustls::Error),
    /// Installing keys in the kernel failed.
    Install(String),
    /// The socket failed (reset, timeout, ...); the kind is kept.
    Io(io::ErrorKind, String),
}

impl fmt::Display for KtlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KtlsError::PeerAlert(a) => write!(f, "peer sent fatal TLS alert {a}"),
            KtlsError::KeyUpdateUnsupported { kernel } => write!(
                f,
                "peer sent a TLS 1.3 KeyUpdate, but kernel {kernel} cannot install new kTLS keys \
                 (TLS 1.3 rekey needs Linux 6.14 or later); connection closed"
            ),
            KtlsError::Control(e) => write!(f, "TLS protocol error: {e}"),
            KtlsError::BadRecord(why) => write!(f, "TLS record rejected by the kernel: {why}"),
            KtlsError::Truncated => {
                write!(
                    f,
                    "peer closed the TCP connection without close_notify (data may be truncated)"
                )
            }
            KtlsError::RecordLimit(n) => {
                write!(
                    f,
                    "AEAD record limit reached after {n} records and the keys cannot be updated"
                )
            }
            KtlsError::Tls(e) => write!(f, "TLS error: {e}"),
            KtlsError::Install(e) => write!(f, "installing kTLS keys failed: {e}"),
            KtlsError::Io(_, e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for KtlsError {}

impl KtlsError {
    fn kind(&self) -> io::ErrorKind {
        match self {
            KtlsError::PeerAlert(_) => io::ErrorKind::ConnectionAborted,
            KtlsError::Truncated => io::ErrorKind::UnexpectedEof,
            KtlsError::Io(kind, _) => *kind,
            _ => io::ErrorKind::InvalidData,
        }
    }
    fn into_io(self) -> io::Error {
        io::Error::new(self.kind(), self)
    }
}

pub(crate) enum KConn {
    Client(KernelConnection<ClientConnectionData>),
    Server(KernelConnection<ServerConnectionData>),
}

impl KConn {
    fn update_tx(&mut self) -> Result<(u64, ConnectionTrafficSecrets), rustls::Error> {
        match self {
            KConn::Client(c) => c.update_tx_secret(),
            KConn::Server(c) => c.update_tx_secret(),
        }
    }
    fn update_rx(&mut self) -> Result<(u64, ConnectionTrafficSecrets), rustls::Error> {
        match self {
            KConn::Client(c) => c.update_rx_secret(),
            KConn::Server(c) => c.update_rx_secret(),
        }
    }
}

/// Counters of what happened after the handshake on a kTLS stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// KeyUpdates received from the peer and applied (RX rekeyed).
    pub rx_key_updates: u64,
    /// KeyUpdates we sent (TX rekeyed), answering the peer or at the record limit.
    pub tx_key_updates: u64,
    /// NewSessionTickets received (client) and handed to rustls.
    pub tickets: u64,
    /// Records we estimate were sent under the current TX key.
    pub tx_records_current_key: u64,
}

/// Builds the kernel's crypto info from what rustls extracted.
pub(crate) fn crypto_info(
    version: TlsVersion,
    seq: u64,
    secrets: &ConnectionTrafficSecrets,
) -> io::Result<CryptoInfo> {
    let (cipher, key, iv) = match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (Cipher::Aes128Gcm, key, iv),
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (Cipher::Aes256Gcm, key, iv),
        ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => (Cipher::Chacha20Poly1305, key, iv),
        _ => return Err(io::Error::other("cipher not supported by kTLS")),
    };
    CryptoInfo::new(version.wire(), cipher.aead(), key.as_ref(), iv.as_ref(), seq)
}

pub(crate) struct KernelStream {
    tcp: TcpStream,
    kconn: KConn,
    version: TlsVersion,
    rekey: bool,
    kernel_release: String,
    /// Decrypted bytes not yet given to the reader (rustls leftovers, or a
    /// record read for a caller whose buffer is smaller than a record: it is
    /// read straight into this vector's spare capacity, unzeroed, and the
    /// vector is given back when drained, so an idle connection holds no
    /// record-sized buffer).
    plain: Vec<u8>,
    plain_pos: usize,
    hs: HandshakeReassembler,
    read_eof: bool,
    failed: Option<KtlsError>,
    reply_key_update: bool,
    sent_close_notify: bool,
    stats: StreamStats,
    /// Send our own KeyUpdate after this many records (when rekey works).
    rekey_after: u64,
    /// Hard limit: fail writes past it when the keys cannot be updated.
    hard_limit: u64,
    pipe: Option<(OwnedFd, OwnedFd)>,
}

pub(crate) struct KernelParts {
    pub tcp: TcpStream,
    pub kconn: KConn,
    pub version: TlsVersion,
    pub rekey: bool,
    pub leftover: Vec<u8>,
    pub confidentiality_limit: u64,
    pub rekey_after: Option<u64>,
}

impl KernelStream {
    pub(crate) fn new(p: KernelParts) -> Self {
        // Leave headroom below the suite's limit: our record count is an
        // estimate (the kernel may split writes), so rekey at 7/8 of it.
        let natural = p.confidentiality_limit - p.confidentiality_limit / 8;
        KernelStream {
            tcp: p.tcp,
            kconn: p.kconn,
            version: p.version,
            rekey: p.rekey,
            kernel_release: sys::kernel_release(),
            plain: p.leftover,
            plain_pos: 0,
            hs: HandshakeReassembler::default(),
            read_eof: false,
            failed: None,
            reply_key_update: false,
            sent_close_notify: false,
            stats: StreamStats::default(),
            rekey_after: p.rekey_after.unwrap_or(natural).min(natural),
            hard_limit: p.confidentiality_limit,
            pipe: None,
        }
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub(crate) fn stats(&self) -> StreamStats {
        self.stats
    }

    fn fail(&mut self, e: KtlsError) -> io::Error {
        log::warn!("kTLS connection failed: {e}");
        // Stop both directions so the peer sees the end at once instead of
        // waiting on a connection we will not read correctly.
        let _ = sys::shutdown(self.tcp.as_fd(), libc::SHUT_RDWR);
        self.failed = Some(e.clone());
        e.into_io()
    }

    fn check_failed(&self) -> io::Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone().into_io()),
            None => Ok(()),
        }
    }

    /// Turns a failed `recvmsg`/`splice` into an error. Only the codes kTLS
    /// uses for bad records become [`KtlsError::BadRecord`]; the rest (a
    /// reset, a timeout) keep their own kind so callers can tell them apart.
    fn map_kernel_error(&mut self, e: io::Error) -> io::Error {
        let bad = match e.raw_os_error() {
            Some(libc::EBADMSG) => "authentication failed (bad_record_mac): corrupted data or wrong keys",
            Some(libc::EMSGSIZE) => "record too large (record_overflow)",
            Some(libc::EINVAL) => "malformed record header or wrong protocol version",
            Some(libc::EKEYEXPIRED) => "record under keys that were not installed",
            Some(libc::EIO) => "record the kernel could not process",
            _ => {
                let kind = e.kind();
                let msg = e.to_string();
                self.failed = Some(KtlsError::Io(kind, msg.clone()));
                return io::Error::new(kind, msg);
            }
        };
        self.fail(KtlsError::BadRecord(bad.into()))
    }

    /// Sends one control record, waiting for socket space.
    fn poll_send_record(&mut self, cx: &mut Context<'_>, typ: u8, payload: &[u8]) -> Poll<io::Result<()>> {
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            let fd = self.tcp.as_fd();
            match self
                .tcp
                .try_io(Interest::WRITABLE, || sys::send_record(fd, typ, payload))
            {
                Ok(n) if n == payload.len() => return Poll::Ready(Ok(())),
                Ok(_) => return Poll::Ready(Err(io::Error::other("short write of a TLS control record"))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Sends KeyUpdate(update_not_requested) under the old key, then moves
    /// the kernel's TX to the next key.
    fn poll_key_update(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_record(cx, sys::CONTENT_HANDSHAKE, &control::key_update_message(false)))?;
        let (seq, secrets) = match self.kconn.update_tx() {
            Ok(s) => s,
            Err(e) => return Poll::Ready(Err(self.fail(KtlsError::Tls(e)))),
        };
        let info = crypto_info(self.version, seq, &secrets)?;
        if let Err(e) = sys::set_crypto(self.tcp.as_fd(), sys::TLS_TX, &info) {
            return Poll::Ready(Err(self.fail(KtlsError::Install(format!("TX rekey: {e}")))));
        }
        self.stats.tx_key_updates += 1;
        self.stats.tx_records_current_key = 0;
        log::debug!("kTLS TX rekeyed (KeyUpdate sent)");
        Poll::Ready(Ok(()))
    }

    /// Work that must happen before more application data goes out: answer
    /// a peer's update_requested, and rekey before the AEAD limit.
    fn poll_before_write(&mut self, cx: &mut Context<'_>, records: u64) -> Poll<io::Result<()>> {
        self.check_failed()?;
        if self.sent_close_notify {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "TLS stream already shut down",
            )));
        }
        if self.reply_key_update {
            ready!(self.poll_key_update(cx))?;
            self.reply_key_update = false;
        }
        let next = self.stats.tx_records_current_key + records;
        let can_rekey = self.rekey && self.version == TlsVersion::Tls13;
        if can_rekey && next >= self.rekey_after {
            ready!(self.poll_key_update(cx))?;
        } else if next >= self.hard_limit {
            return Poll::Ready(Err(
                self.fail(KtlsError::RecordLimit(self.stats.tx_records_current_key))
            ));
        }
        Poll::Ready(Ok(()))
    }

    fn handle_alert(&mut self, payload: &[u8]) -> io::Result<bool> {
        let alert = Alert::parse(payload).map_err(|e| self.fail(KtlsError::Control(e)))?;
        if alert.description == Alert::CLOSE_NOTIFY {
            self.read_eof = true;
            return Ok(true);
        }
        if alert.is_fatal(self.version == TlsVersion::Tls13) {
            return Err(self.fail(KtlsError::PeerAlert(alert)));
        }
        log::debug!("ignoring TLS warning alert {alert}");
        Ok(false)
    }

    fn handle_handshake(&mut self, cx: &mut Context<'_>, record: &[u8]) -> io::Result<()> {
        let msgs = self
            .hs
            .push_record(record)
            .map_err(|e| self.fail(KtlsError::Control(e)))?;
        for m in msgs {
            match m {
                PostHandshake::HelloRequest if self.version == TlsVersion::Tls12 => {
                    // Renegotiation is refused politely, as rustls does.
                    let _ = self.poll_send_record(cx, sys::CONTENT_ALERT, &[1, Alert::NO_RENEGOTIATION]);
                }
                PostHandshake::HelloRequest => {
                    return Err(self.fail(KtlsError::Control(ControlError::UnexpectedHandshake(0))));
                }
                PostHandshake::NewSessionTicket(body) => {
                    let r = match &mut self.kconn {
                        KConn::Client(c) => c.handle_new_session_ticket(&body),
                        KConn::Server(_) => {
                            return Err(self.fail(KtlsError::Control(ControlError::UnexpectedHandshake(4))))
                        }
                    };
                    r.map_err(|e| self.fail(KtlsError::Tls(e)))?;
                    self.stats.tickets += 1;
                }
                PostHandshake::KeyUpdate {
                    update_requested,
                    at_record_end,
                } => {
                    if self.version != TlsVersion::Tls13 {
                        return Err(self.fail(KtlsError::Control(ControlError::UnexpectedHandshake(24))));
                    }
                    if !at_record_end {
                        return Err(self.fail(KtlsError::Control(ControlError::MalformedKeyUpdate)));
                    }
                    if !self.rekey {
                        let kernel = self.kernel_release.clone();
                        return Err(self.fail(KtlsError::KeyUpdateUnsupported { kernel }));
                    }
                    let (seq, secrets) = self.kconn.update_rx().map_err(|e| self.fail(KtlsError::Tls(e)))?;
                    let info = crypto_info(self.version, seq, &secrets)?;
                    sys::set_crypto(self.tcp.as_fd(), sys::TLS_RX, &info)
                        .map_err(|e| self.fail(KtlsError::Install(format!("RX rekey: {e}"))))?;
                    self.stats.rx_key_updates += 1;
                    log::debug!("kTLS RX rekeyed (peer KeyUpdate, update_requested={update_requested})");
                    if update_requested {
                        // RFC 8446 §4.6.3: answer before sending more data.
                        self.reply_key_update = true;
                        if let Poll::Ready(Ok(())) = self.poll_key_update(cx) {
                            self.reply_key_update = false;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn poll_read_priv(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.plain_pos < self.plain.len() {
                let n = dst.remaining().min(self.plain.len() - self.plain_pos);
                dst.put_slice(&self.plain[self.plain_pos..self.plain_pos + n]);
                self.plain_pos += n;
                if self.plain_pos == self.plain.len() {
                    // Keep small buffers for the next record; give large
                    // ones back, so idle connections stay small.
                    if self.plain.capacity() > 4096 {
                        self.plain = Vec::new();
                    } else {
                        self.plain.clear();
                    }
                    self.plain_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            self.check_failed()?;
            if self.read_eof || dst.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            ready!(self.tcp.poll_read_ready(cx))?;
            let direct = dst.remaining() >= MAX_PLAINTEXT;
            let fd = self.tcp.as_fd();
            let res = if direct {
                let buf = dst.initialize_unfilled();
                self.tcp.try_io(Interest::READABLE, || sys::recv_record(fd, buf))
            } else {
                // `plain` is drained here (served above otherwise).
                self.plain.clear();
                self.plain_pos = 0;
                self.plain.reserve(MAX_PLAINTEXT + 512);
                let spare = self.plain.spare_capacity_mut();
                self.tcp
                    .try_io(Interest::READABLE, || sys::recv_record_uninit(fd, spare))
            };
            let r = match res {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                    continue
                }
                Err(e) => return Poll::Ready(Err(self.map_kernel_error(e))),
            };
            match r.record_type {
                None if r.len == 0 => return Poll::Ready(Err(self.fail(KtlsError::Truncated))),
                None | Some(sys::CONTENT_APPLICATION_DATA) => {
                    if r.len == 0 {
                        continue; // an empty data record carries nothing
                    }
                    if direct {
                        dst.advance(r.len);
                    } else {
                        // SAFETY: the kernel initialised the first r.len
                        // bytes of the spare capacity (recv_record_uninit).
                        unsafe { self.plain.set_len(r.len) };
                        self.plain_pos = 0;
                        continue;
                    }
                    return Poll::Ready(Ok(()));
                }
                Some(t) => {
                    let payload: Vec<u8> = if direct {
                        dst.initialize_unfilled()[..r.len].to_vec()
                    } else {
                        // SAFETY: as above, r.len bytes were written.
                        unsafe { self.plain.set_len(r.len) };
                        let p = self.plain.clone();
                        self.plain = Vec::new();
                        p
                    };
                    match t {
                        sys::CONTENT_ALERT => {
                            if self.handle_alert(&payload)? {
                                return Poll::Ready(Ok(()));
                            }
                        }
                        sys::CONTENT_HANDSHAKE => self.handle_handshake(cx, &payload)?,
                        other => {
                            return Poll::Ready(Err(self.fail(KtlsError::BadRecord(format!(
                                "unexpected record content type {other}"
                            )))))
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn poll_write_priv(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let chunk = &buf[..buf.len().min(MAX_WRITE)];
        ready!(self.poll_before_write(cx, chunk.len().div_ceil(MAX_PLAINTEXT) as u64))?;
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            let fd = self.tcp.as_fd();
            match self.tcp.try_io(Interest::WRITABLE, || sys::send(fd, chunk)) {
                Ok(n) => {
                    self.stats.tx_records_current_key += n.div_ceil(MAX_PLAINTEXT) as u64;
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Sends close_notify. TCP itself is closed when the stream is dropped,
    /// not here: `shutdown(SHUT_WR)` right after a send could cut off a record
    /// the TLS layer still holds (a partly pushed record lives in kTLS, not in
    /// TCP's queue, and a FIN would overtake it). Peers end on close_notify.
    pub(crate) fn poll_shutdown_priv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.sent_close_notify && self.failed.is_none() {
            ready!(self.poll_send_record(cx, sys::CONTENT_ALERT, &[1, Alert::CLOSE_NOTIFY]))?;
            self.sent_close_notify = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Sends `len` bytes of `file` from `offset` with `sendfile(2)`: the
    /// kernel reads, encrypts and sends without the data entering userspace.
    pub(crate) async fn sendfile(
        &mut self,
        file: &std::fs::File,
        mut offset: u64,
        len: u64,
    ) -> io::Result<u64> {
        const CHUNK: usize = 1 << 20;
        let mut sent = 0u64;
        while sent < len {
            let want = ((len - sent) as usize).min(CHUNK);
            // Records per chunk, overestimated by one for a partial record.
            let records = want.div_ceil(MAX_PLAINTEXT) as u64 + 1;
            std::future::poll_fn(|cx| self.poll_before_write(cx, records)).await?;
            let n = loop {
                self.tcp.writable().await?;
                let fd = self.tcp.as_fd();
                match self.tcp.try_io(Interest::WRITABLE, || {
                    sys::sendfile(fd, file.as_fd(), &mut offset, want)
                }) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                break; // the file ended early
            }
            self.stats.tx_records_current_key += n.div_ceil(MAX_PLAINTEXT) as u64 + 1;
            sent += n as u64;
        }
        Ok(sent)
    }

    /// Receives into `file` at `offset` with `splice(2)` (socket → pipe →
    /// file) until close_notify or `limit` bytes. Control records stop a
    /// splice (the kernel answers `EINVAL` while one is at the head of the
    /// queue); they are then taken through `recvmsg` and handled as usual.
    pub(crate) async fn splice_to_file(
        &mut self,
        file: &std::fs::File,
        mut offset: u64,
        limit: u64,
    ) -> io::Result<u64> {
        let mut total = 0u64;
        if self.pipe.is_none() {
            let (r, w) = sys::pipe()?;
            let _ = sys::set_pipe_size(w.as_fd(), 1 << 20);
            self.pipe = Some((r, w));
        }
        while total < limit {
            // Bytes rustls or an earlier small read left behind go first.
            if self.plain_pos < self.plain.len() {
                let n = ((self.plain.len() - self.plain_pos) as u64).min(limit - total) as usize;
                let r = write_all_at(file, &self.plain[self.plain_pos..self.plain_pos + n], offset);
                r.map_err(|e| self.fail(e))?;
                self.plain_pos += n;
                if self.plain_pos == self.plain.len() {
                    self.plain.clear();
                    self.plain_pos = 0;
                }
                offset += n as u64;
                total += n as u64;
                continue;
            }
            self.check_failed()?;
            if self.read_eof {
                break;
            }
            let want = ((limit - total) as usize).min(1 << 20);
            self.tcp.readable().await?;
            let fd = self.tcp.as_fd();
            let pw = self.pipe.as_ref().expect("pipe created above").1.as_fd();
            let res = self.tcp.try_io(Interest::READABLE, || {
                sys::splice(fd, pw, want, libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE)
            });
            match res {
                Ok(0) => {
                    // Either the end of TCP or an empty data record (legal
                    // TLS): one recvmsg-based read tells them apart.
                    total += self.read_one_into(file, &mut offset, limit - total).await?;
                }
                Ok(n) => {
                    self.drain_pipe(file, &mut offset, n)?;
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                    continue
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    // A control record at the head of the queue (or a kernel
                    // without TLS splice): take it through recvmsg, which
                    // handles KeyUpdate, tickets and close_notify, then resume.
                    total += self.read_one_into(file, &mut offset, limit - total).await?;
                }
                Err(e) => return Err(self.map_kernel_error(e)),
            }
        }
        Ok(total)
    }

    /// One `poll_read_priv` into the file at `offset`; returns bytes written.
    async fn read_one_into(&mut self, file: &std::fs::File, offset: &mut u64, room: u64) -> io::Result<u64> {
        let mut scratch = vec![0u8; MAX_PLAINTEXT.min(room as usize)];
        let mut rb = ReadBuf::new(&mut scratch);
        std::future::poll_fn(|cx| self.poll_read_priv(cx, &mut rb)).await?;
        let got = rb.filled().len();
        // The bytes are gone from the socket: if the file refuses them, the
        // stream fails rather than continue with a hole.
        write_all_at(file, &scratch[..got], *offset).map_err(|e| self.fail(e))?;
        *offset += got as u64;
        Ok(got as u64)
    }

    /// Moves `n` bytes just spliced into the pipe on into the file. If the
    /// file refuses (disk full), those bytes are lost to this stream, so it
    /// fails rather than let a later read skip or misplace them.
    fn drain_pipe(&mut self, file: &std::fs::File, offset: &mut u64, mut n: usize) -> io::Result<()> {
        while n > 0 {
            let pr = self.pipe.as_ref().expect("pipe exists").0.as_fd();
            match sys::splice_to_offset(pr, file.as_fd(), offset, n) {
                Ok(0) => {
                    self.pipe = None;
                    let why = "splice into the file made no progress".to_string();
                    return Err(self.fail(KtlsError::Io(io::ErrorKind::WriteZero, why)));
                }
                Ok(m) => n -= m,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pipe = None;
                    return Err(self.fail(KtlsError::Io(e.kind(), format!("writing the file: {e}"))));
                }
            }
        }
        Ok(())
    }
}

fn write_all_at(file: &std::fs::File, buf: &[u8], offset: u64) -> Result<(), KtlsError> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(buf, offset)
        .map_err(|e| KtlsError::Io(e.kind(), format!("writing the file: {e}")))
}

impl AsyncRead for KernelStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for KernelStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_priv(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Each send() is a complete record; nothing is held back.
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_priv(cx)
    }
}
