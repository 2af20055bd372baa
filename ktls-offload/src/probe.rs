//! What the running kernel's TLS offload can do, found by trying it.
//!
//! Version numbers lie (distributions backport, vendors strip config), so the
//! probe asks the kernel directly: it opens loopback TCP pairs, attaches the
//! "tls" ULP and installs dummy keys for each cipher and version. A second
//! install of the TX key on a TLS 1.3 socket succeeds only on kernels that
//! implement TLS 1.3 rekey (Linux 6.14+); older ones answer `EBUSY`.

use std::fmt;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::OnceLock;

use crate::sys::{self, Aead, CryptoInfo};

/// TLS protocol version as the kernel names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2
    Tls12,
    /// TLS 1.3
    Tls13,
}

impl TlsVersion {
    pub(crate) fn wire(self) -> u16 {
        match self {
            TlsVersion::Tls12 => sys::TLS_1_2_VERSION,
            TlsVersion::Tls13 => sys::TLS_1_3_VERSION,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
    }
}

/// The AEAD ciphers kTLS and rustls have in common.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-128-GCM
    Aes128Gcm,
    /// AES-256-GCM
    Aes256Gcm,
    /// ChaCha20-Poly1305 (kernel 5.11+)
    Chacha20Poly1305,
}

impl Cipher {
    /// All ciphers, in probe order.
    pub const ALL: [Cipher; 3] = [Cipher::Aes128Gcm, Cipher::Aes256Gcm, Cipher::Chacha20Poly1305];

    pub(crate) fn aead(self) -> Aead {
        match self {
            Cipher::Aes128Gcm => Aead::AesGcm128,
            Cipher::Aes256Gcm => Aead::AesGcm256,
            Cipher::Chacha20Poly1305 => Aead::Chacha20Poly1305,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm => 16,
            _ => 32,
        }
    }
}

impl fmt::Display for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cipher::Aes128Gcm => "AES-128-GCM",
            Cipher::Aes256Gcm => "AES-256-GCM",
            Cipher::Chacha20Poly1305 => "CHACHA20-POLY1305",
        })
    }
}

/// Support for one (version, cipher) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CipherSupport {
    /// Protocol version.
    pub version: TlsVersion,
    /// AEAD cipher.
    pub cipher: Cipher,
    /// Kernel accepted TX keys.
    pub tx: bool,
    /// Kernel accepted RX keys.
    pub rx: bool,
}

/// What the running kernel offers for TLS offload.
#[derive(Clone, Debug)]
pub struct KernelSupport {
    /// `uname -r`.
    pub kernel_release: String,
    /// Whether the "tls" upper-layer protocol could be attached.
    pub ulp: bool,
    /// Why not, when `ulp` is false (e.g. "No such file or directory": the
    /// kernel lacks CONFIG_TLS or the `tls` module is not loaded and we lack
    /// CAP_NET_ADMIN to autoload it).
    pub ulp_error: Option<String>,
    /// Per version and cipher, TX and RX.
    pub ciphers: Vec<CipherSupport>,
    /// TLS 1.3 KeyUpdate can be followed by installing new keys (6.14+).
    pub tls13_rekey: bool,
}

impl KernelSupport {
    /// Whether kTLS works in both directions for this version and cipher.
    pub fn supports(&self, version: TlsVersion, cipher: Cipher) -> bool {
        self.ciphers
            .iter()
            .any(|c| c.version == version && c.cipher == cipher && c.tx && c.rx)
    }

    /// Whether any kTLS is usable at all.
    pub fn any(&self) -> bool {
        self.ulp && self.ciphers.iter().any(|c| c.tx && c.rx)
    }
}

impl fmt::Display for KernelSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kernel: {}", self.kernel_release)?;
        match &self.ulp_error {
            None => writeln!(f, "tls ULP: available")?,
            Some(e) => writeln!(f, "tls ULP: unavailable ({e})")?,
        }
        for c in &self.ciphers {
            writeln!(
                f,
                "{} {:<18} tx={} rx={}",
                c.version,
                c.cipher.to_string(),
                if c.tx { "yes" } else { "no" },
                if c.rx { "yes" } else { "no" }
            )?;
        }
        write!(
            f,
            "TLS 1.3 rekey (KeyUpdate): {}",
            if self.tls13_rekey {
                "yes"
            } else {
                "no (a peer's KeyUpdate ends a kTLS connection)"
            }
        )
    }
}

/// A connected loopback pair; the server end is kept so the probe's socket
/// stays established while keys are installed.
fn loopback_pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let c = TcpStream::connect(l.local_addr()?)?;
    let (s, _) = l.accept()?;
    Ok((c, s))
}

fn dummy_info(version: TlsVersion, cipher: Cipher) -> CryptoInfo {
    let key = vec![0x42u8; cipher.key_len()];
    CryptoInfo::new(version.wire(), cipher.aead(), &key, &[7u8; 12], 0)
        .expect("dummy key sizes match the cipher")
}

fn probe_uncached() -> KernelSupport {
    let kernel_release = sys::kernel_release();
    let mut support = KernelSupport {
        kernel_release,
        ulp: false,
        ulp_error: None,
        ciphers: Vec::new(),
        tls13_rekey: false,
    };
    // First a plain ULP attach, to tell "no kTLS at all" apart from
    // "no such cipher".
    match loopback_pair().and_then(|(c, _s)| sys::set_ulp_tls(c.as_fd())) {
        Ok(()) => support.ulp = true,
        Err(e) => {
            support.ulp_error = Some(e.to_string());
            return support;
        }
    }
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        for cipher in Cipher::ALL {
            let mut cs = CipherSupport {
                version,
                cipher,
                tx: false,
                rx: false,
            };
            if let Ok((c, _s)) = loopback_pair() {
                if sys::set_ulp_tls(c.as_fd()).is_ok() {
                    let info = dummy_info(version, cipher);
                    cs.tx = sys::set_crypto(c.as_fd(), sys::TLS_TX, &info).is_ok();
                    cs.rx = sys::set_crypto(c.as_fd(), sys::TLS_RX, &info).is_ok();
                    if version == TlsVersion::Tls13 && cipher == Cipher::Aes128Gcm && cs.tx {
                        support.tls13_rekey = sys::set_crypto(c.as_fd(), sys::TLS_TX, &info).is_ok();
                    }
                }
            }
            support.ciphers.push(cs);
        }
    }
    support
}

/// Probes the running kernel once per process and caches the answer.
pub fn probe() -> &'static KernelSupport {
    static CACHE: OnceLock<KernelSupport> = OnceLock::new();
    CACHE.get_or_init(probe_uncached)
}

/// Probes again without the cache (for diagnostics after `modprobe tls`).
pub fn probe_fresh() -> KernelSupport {
    probe_uncached()
}

/// Reads the kernel's own kTLS counters from `/proc/net/tls_stat`.
///
/// Returns `None` where the file does not exist (kernel without kTLS, or the
/// `tls` module not loaded). These counters are the ground truth the tests use
/// to prove kTLS really carried a connection.
pub fn tls_stat() -> Option<Vec<(String, u64)>> {
    let text = std::fs::read_to_string("/proc/net/tls_stat").ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let name = it.next()?.to_string();
                let value = it.next()?.parse().ok()?;
                Some((name, value))
            })
            .collect(),
    )
}

/// One counter from [`tls_stat`], 0 when absent.
pub fn tls_stat_value(name: &str) -> u64 {
    tls_stat()
        .and_then(|v| v.into_iter().find(|(n, _)| n == name).map(|(_, v)| v))
        .unwrap_or(0)
}
