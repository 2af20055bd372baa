//! The one stream type callers use: kTLS where the kernel can, userspace
//! rustls where it cannot.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::UnbufferedServerConnection;
use rustls::{CipherSuite, ClientConfig, HandshakeKind, ProtocolVersion, ServerConfig, SupportedCipherSuite};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::handshake::{self, tls_err};
use crate::kernel::{crypto_info, KConn, KernelParts, KernelStream, StreamStats};
use crate::probe::{self, Cipher, TlsVersion};
use crate::sys;

/// How to choose the data path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// kTLS when the kernel supports every cipher the configuration allows,
    /// userspace rustls otherwise. The default.
    #[default]
    Auto,
    /// Always userspace rustls (benchmarks, or a distrusted kernel).
    Userspace,
    /// kTLS or an error: for tests and deployments that must not silently
    /// lose the offload.
    Kernel,
}

/// Per-connection options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Data-path choice.
    pub mode: Mode,
    /// Send our own KeyUpdate after this many records instead of at 7/8 of
    /// the suite's confidentiality limit (only lowers it; used by tests to
    /// exercise the rekey without sending 2^23 records).
    pub key_update_after_records: Option<u64>,
    /// Lower the hard limit (the suite's confidentiality limit) at which
    /// writes fail when the keys cannot be updated. For tests.
    pub record_limit: Option<u64>,
}

/// Which path carries a stream's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataPath {
    /// The kernel encrypts and decrypts (kTLS, both directions).
    Kernel,
    /// rustls in this process; `reason` says why kTLS was not used.
    Userspace {
        /// Why the kernel path was not taken.
        reason: String,
    },
}

impl fmt::Display for DataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataPath::Kernel => f.write_str("kernel (kTLS)"),
            DataPath::Userspace { reason } => write!(f, "userspace rustls ({reason})"),
        }
    }
}

/// What was negotiated.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// Protocol version.
    pub version: TlsVersion,
    /// AEAD cipher.
    pub cipher: Cipher,
    /// The IANA name of the suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub suite: String,
    /// The peer's certificate chain, leaf first (empty if none was sent).
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<Vec<u8>>,
    /// Whether the handshake resumed an earlier session (ticket or ID).
    pub resumed: bool,
    /// The data path this stream took.
    pub path: DataPath,
}

enum Inner {
    Kernel(Box<KernelStream>),
    User(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// A TLS stream over TCP, kTLS or userspace, with one API.
///
/// Reads and writes behave the same on both paths: close_notify is end of
/// file, a TCP close without it is `UnexpectedEof`, a fatal alert is an
/// error naming the alert.
pub struct TlsStream {
    inner: Inner,
    info: SessionInfo,
    /// 0-RTT data a userspace server accepted during the handshake, given to
    /// the reader before anything else (tokio-rustls does not return it).
    early: Vec<u8>,
    early_pos: usize,
}

fn suite_cipher(s: SupportedCipherSuite) -> Option<(TlsVersion, Cipher)> {
    let version = if s.version().version == ProtocolVersion::TLSv1_3 {
        TlsVersion::Tls13
    } else {
        TlsVersion::Tls12
    };
    let cipher = match s.suite() {
        CipherSuite::TLS13_AES_128_GCM_SHA256
        | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => Cipher::Aes128Gcm,
        CipherSuite::TLS13_AES_256_GCM_SHA384
        | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        | CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => Cipher::Aes256Gcm,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
        | CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        | CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => Cipher::Chacha20Poly1305,
        _ => return None,
    };
    Some((version, cipher))
}

/// The suite's AEAD confidentiality limit in records.
fn confidentiality_limit(s: SupportedCipherSuite) -> u64 {
    match s {
        SupportedCipherSuite::Tls13(t) => t.common.confidentiality_limit,
        SupportedCipherSuite::Tls12(t) => t.common.confidentiality_limit,
    }
}

fn suite_name(s: SupportedCipherSuite) -> String {
    s.suite()
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:?}", s.suite()))
}

/// Decides before the handshake whether kTLS can carry this connection, and
/// attaches the ULP if so. Deciding first matters: rustls' unbuffered
/// connection (needed for the hand-off) cannot turn into a buffered one, so
/// the path must be known before the first byte.
fn choose_path(
    tcp: &TcpStream,
    suites: &[SupportedCipherSuite],
    secret_extraction: bool,
    opts: &Options,
) -> io::Result<Result<(), String>> {
    let reason = (|| {
        if opts.mode == Mode::Userspace {
            return Err("userspace requested".to_string());
        }
        if !secret_extraction {
            return Err("enable_secret_extraction is off in the rustls config".to_string());
        }
        let k = probe::probe();
        if !k.ulp {
            return Err(format!(
                "kernel {} has no kTLS: {}",
                k.kernel_release,
                k.ulp_error.as_deref().unwrap_or("tls ULP unavailable")
            ));
        }
        for s in suites {
            match suite_cipher(*s) {
                Some((v, c)) if k.supports(v, c) => {}
                Some((v, c)) => return Err(format!("kernel {} lacks kTLS for {v} {c}", k.kernel_release)),
                None => return Err(format!("suite {} cannot be offloaded", suite_name(*s))),
            }
        }
        use std::os::fd::AsFd;
        sys::set_ulp_tls(tcp.as_fd()).map_err(|e| format!("attaching the tls ULP failed: {e}"))
    })();
    match reason {
        Ok(()) => Ok(Ok(())),
        Err(r) if opts.mode == Mode::Kernel => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("kTLS required but unavailable: {r}"),
        )),
        Err(r) => Ok(Err(r)),
    }
}

fn install(tcp: &TcpStream, version: TlsVersion, secrets: rustls::ExtractedSecrets) -> io::Result<()> {
    use std::os::fd::AsFd;
    let (tx_seq, tx) = secrets.tx;
    let (rx_seq, rx) = secrets.rx;
    let tx = crypto_info(version, tx_seq, &tx)?;
    let rx = crypto_info(version, rx_seq, &rx)?;
    sys::set_crypto(tcp.as_fd(), sys::TLS_TX, &tx)
        .map_err(|e| io::Error::new(e.kind(), format!("kTLS TLS_TX: {e}")))?;
    sys::set_crypto(tcp.as_fd(), sys::TLS_RX, &rx)
        .map_err(|e| io::Error::new(e.kind(), format!("kTLS TLS_RX: {e}")))?;
    Ok(())
}

/// Connects as a TLS client over an established TCP stream.
///
/// The handshake is done by rustls; then, if the kernel allows, the keys
/// move to the kernel. Wrap the call in `tokio::time::timeout` to bound the
/// handshake. On the kTLS path, NewSessionTickets the server sends later are
/// given to rustls' session store, so the next `connect` with the same
/// config can resume.
pub async fn connect(
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    mut tcp: TcpStream,
    opts: &Options,
) -> io::Result<TlsStream> {
    let suites = config.crypto_provider().cipher_suites.clone();
    match choose_path(&tcp, &suites, config.enable_secret_extraction, opts)? {
        Err(reason) => {
            let s = tokio_rustls::TlsConnector::from(config)
                .connect(server_name, tcp)
                .await?;
            Ok(TlsStream::user(tokio_rustls::TlsStream::Client(s), reason))
        }
        Ok(()) => {
            let mut conn = UnbufferedClientConnection::new(config, server_name).map_err(tls_err)?;
            let leftover = handshake::drive(&mut conn, &mut tcp).await?;
            let hs = negotiated(&conn, leftover)?;
            let (secrets, kconn) = conn.dangerous_into_kernel_connection().map_err(tls_err)?;
            into_kernel_stream(tcp, KConn::Client(kconn), secrets, hs, opts)
        }
    }
}

/// Accepts a TLS client on an established TCP stream (server side).
///
/// Same path choice as [`connect`]. 0-RTT data a server config lets in is
/// delivered first, before anything the kernel decrypts.
pub async fn accept(config: Arc<ServerConfig>, mut tcp: TcpStream, opts: &Options) -> io::Result<TlsStream> {
    let suites = config.crypto_provider().cipher_suites.clone();
    match choose_path(&tcp, &suites, config.enable_secret_extraction, opts)? {
        Err(reason) => {
            let s = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await?;
            Ok(TlsStream::user(tokio_rustls::TlsStream::Server(s), reason))
        }
        Ok(()) => {
            let mut conn = UnbufferedServerConnection::new(config).map_err(tls_err)?;
            let leftover = handshake::drive(&mut conn, &mut tcp).await?;
            let hs = negotiated(&conn, leftover)?;
            let (secrets, kconn) = conn.dangerous_into_kernel_connection().map_err(tls_err)?;
            into_kernel_stream(tcp, KConn::Server(kconn), secrets, hs, opts)
        }
    }
}

/// What the handshake produced, gathered before rustls' connection is
/// consumed by the hand-off.
struct Negotiated {
    suite: SupportedCipherSuite,
    leftover: Vec<u8>,
    peer_certificates: Vec<CertificateDer<'static>>,
    alpn: Option<Vec<u8>>,
    resumed: bool,
}

fn negotiated(c: &rustls::CommonState, leftover: Vec<u8>) -> io::Result<Negotiated> {
    Ok(Negotiated {
        suite: c
            .negotiated_cipher_suite()
            .ok_or_else(|| io::Error::other("handshake finished without a cipher suite"))?,
        leftover,
        peer_certificates: c.peer_certificates().map(<[_]>::to_vec).unwrap_or_default(),
        alpn: c.alpn_protocol().map(<[u8]>::to_vec),
        resumed: c.handshake_kind() == Some(HandshakeKind::Resumed),
    })
}

fn into_kernel_stream(
    tcp: TcpStream,
    kconn: KConn,
    secrets: rustls::ExtractedSecrets,
    hs: Negotiated,
    opts: &Options,
) -> io::Result<TlsStream> {
    let Negotiated {
        suite,
        leftover,
        peer_certificates,
        alpn,
        resumed,
    } = hs;
    let (version, cipher) =
        suite_cipher(suite).ok_or_else(|| io::Error::other("negotiated suite cannot be offloaded"))?;
    install(&tcp, version, secrets)?;
    let k = probe::probe();
    let stream = KernelStream::new(KernelParts {
        tcp,
        kconn,
        version,
        rekey: k.tls13_rekey,
        leftover,
        confidentiality_limit: opts
            .record_limit
            .unwrap_or(u64::MAX)
            .min(confidentiality_limit(suite))
            // The TLS 1.2 GCM nonce window (see sys.rs) must never run out.
            .min(if version == TlsVersion::Tls12 {
                sys::TLS12_NONCE_WINDOW
            } else {
                u64::MAX
            }),
        rekey_after: opts.key_update_after_records,
    });
    Ok(TlsStream {
        inner: Inner::Kernel(Box::new(stream)),
        info: SessionInfo {
            version,
            cipher,
            suite: suite_name(suite),
            peer_certificates,
            alpn,
            resumed,
            path: DataPath::Kernel,
        },
        early: Vec::new(),
        early_pos: 0,
    })
}

impl TlsStream {
    fn user(mut s: tokio_rustls::TlsStream<TcpStream>, reason: String) -> TlsStream {
        let mut early = Vec::new();
        if let tokio_rustls::TlsStream::Server(srv) = &mut s {
            if let Some(mut ed) = srv.get_mut().1.early_data() {
                use std::io::Read;
                // Bounded by the config's max_early_data_size.
                let _ = ed.read_to_end(&mut early);
            }
        }
        let (_, conn) = s.get_ref();
        let suite = conn.negotiated_cipher_suite().expect("handshake complete");
        let (version, cipher) = suite_cipher(suite).unwrap_or((TlsVersion::Tls13, Cipher::Aes128Gcm));
        let info = SessionInfo {
            version,
            cipher,
            suite: suite_name(suite),
            peer_certificates: conn.peer_certificates().map(<[_]>::to_vec).unwrap_or_default(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            path: DataPath::Userspace { reason },
        };
        TlsStream {
            inner: Inner::User(Box::new(s)),
            early,
            early_pos: 0,
            info,
        }
    }

    /// What was negotiated and which path the stream took.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Whether the kernel carries this stream.
    pub fn is_kernel(&self) -> bool {
        matches!(self.inner, Inner::Kernel(_))
    }

    /// Post-handshake counters (kTLS path; zero on the userspace path,
    /// where rustls handles these events internally).
    pub fn stats(&self) -> StreamStats {
        match &self.inner {
            Inner::Kernel(k) => k.stats(),
            Inner::User(_) => StreamStats::default(),
        }
    }

    /// The underlying TCP stream (addresses, socket options).
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Kernel(k) => k.tcp(),
            Inner::User(u) => u.get_ref().0,
        }
    }

    /// Sends `len` bytes of `file` starting at `offset`. On kTLS this is
    /// `sendfile(2)`: the bytes never enter userspace. On the userspace path
    /// the file is read in chunks and written. Returns bytes sent (less than
    /// `len` only if the file is shorter).
    pub async fn send_file(&mut self, file: &std::fs::File, offset: u64, len: u64) -> io::Result<u64> {
        match &mut self.inner {
            Inner::Kernel(k) => k.sendfile(file, offset, len).await,
            Inner::User(u) => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; 64 * 1024];
                let mut done = 0u64;
                while done < len {
                    let want = ((len - done) as usize).min(buf.len());
                    let n = file.read_at(&mut buf[..want], offset + done)?;
                    if n == 0 {
                        break;
                    }
                    u.write_all(&buf[..n]).await?;
                    done += n as u64;
                }
                u.flush().await?;
                Ok(done)
            }
        }
    }

    /// Receives into `file` at `offset` until the peer's close_notify or
    /// `limit` bytes. On kTLS this is `splice(2)` socket → pipe → file; on
    /// the userspace path, reads and writes. Returns bytes written.
    pub async fn recv_to_file(&mut self, file: &std::fs::File, offset: u64, limit: u64) -> io::Result<u64> {
        if let Inner::Kernel(k) = &mut self.inner {
            return k.splice_to_file(file, offset, limit).await;
        }
        {
            {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; 64 * 1024];
                let mut done = 0u64;
                while done < limit {
                    let want = ((limit - done) as usize).min(buf.len());
                    // Through `self`, so 0-RTT data comes first.
                    let n = self.read(&mut buf[..want]).await?;
                    if n == 0 {
                        break;
                    }
                    file.write_all_at(&buf[..n], offset + done)?;
                    done += n as u64;
                }
                Ok(done)
            }
        }
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.inner {
            Inner::Kernel(k) => k.poll_read_priv(cx, buf),
            Inner::User(u) => {
                if this.early_pos < this.early.len() {
                    let n = buf.remaining().min(this.early.len() - this.early_pos);
                    buf.put_slice(&this.early[this.early_pos..this.early_pos + n]);
                    this.early_pos += n;
                    return Poll::Ready(Ok(()));
                }
                Pin::new(u.as_mut())
                    .poll_read(cx, buf)
                    .map_err(same_error_as_kernel)
            }
        }
    }
}

/// Gives userspace errors the shape the kernel path uses, so callers handle
/// one set: a fatal alert from the peer becomes [`KtlsError::PeerAlert`].
fn same_error_as_kernel(e: io::Error) -> io::Error {
    let alert = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::AlertReceived(a) => Some(u8::from(*a)),
            _ => None,
        });
    match alert {
        Some(description) => {
            let a = crate::control::Alert {
                level: 2,
                description,
            };
            io::Error::new(io::ErrorKind::ConnectionAborted, crate::KtlsError::PeerAlert(a))
        }
        None => e,
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Kernel(k) => k.poll_write_priv(cx, buf),
            Inner::User(u) => Pin::new(u.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Kernel(_) => Poll::Ready(Ok(())),
            Inner::User(u) => Pin::new(u.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Kernel(k) => k.poll_shutdown_priv(cx),
            Inner::User(u) => Pin::new(u.as_mut()).poll_shutdown(cx),
        }
    }
}
