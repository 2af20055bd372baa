//! Test certificates, rustls configurations and peer processes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::crypto::ring as provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, Command};

use ktls_offload::{Cipher, TlsVersion};

/// A CA and a server certificate for "localhost", written as PEM files so
/// openssl and curl can use them too.
pub struct Pki {
    /// Directory holding the PEM files.
    pub dir: PathBuf,
    /// CA certificate (PEM file).
    pub ca_pem: PathBuf,
    /// Server certificate (PEM file).
    pub cert_pem: PathBuf,
    /// Server key (PEM file, mode 0600).
    pub key_pem: PathBuf,
    /// CA certificate (DER).
    pub ca_der: CertificateDer<'static>,
    /// Server chain (DER).
    pub chain: Vec<CertificateDer<'static>>,
    /// Server key (PKCS#8 DER).
    pub key_der: Vec<u8>,
}

impl Pki {
    /// Generates a fresh ECDSA P-256 CA and a server certificate in `dir`.
    pub fn generate(dir: &Path) -> anyhow::Result<Pki> {
        std::fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "dgw interop test CA");
        let ca = ca_params.self_signed(&ca_key)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        let ca_pem = dir.join("ca.pem");
        let cert_pem = dir.join("server.pem");
        let key_pem = dir.join("server.key");
        std::fs::write(&ca_pem, ca.pem())?;
        std::fs::write(&cert_pem, cert.pem())?;
        write_private(&key_pem, key.serialize_pem().as_bytes())?;
        Ok(Pki {
            dir: dir.to_path_buf(),
            ca_pem,
            cert_pem,
            key_pem,
            ca_der: ca.der().clone(),
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
        })
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// Roots trusting only the test CA.
    pub fn roots(&self) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("test CA parses");
        Arc::new(roots)
    }
}

/// Writes a file readable by its owner only (keys).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

/// The rustls suite for a version and cipher (ECDSA for TLS 1.2).
pub fn suite(version: TlsVersion, cipher: Cipher) -> SupportedCipherSuite {
    use provider::cipher_suite as cs;
    match (version, cipher) {
        (TlsVersion::Tls13, Cipher::Aes128Gcm) => cs::TLS13_AES_128_GCM_SHA256,
        (TlsVersion::Tls13, Cipher::Aes256Gcm) => cs::TLS13_AES_256_GCM_SHA384,
        (TlsVersion::Tls13, Cipher::Chacha20Poly1305) => cs::TLS13_CHACHA20_POLY1305_SHA256,
        (TlsVersion::Tls12, Cipher::Aes128Gcm) => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        (TlsVersion::Tls12, Cipher::Aes256Gcm) => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        (TlsVersion::Tls12, Cipher::Chacha20Poly1305) => cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    }
}

/// OpenSSL's name for the same suite.
pub fn openssl_suite(version: TlsVersion, cipher: Cipher) -> &'static str {
    match (version, cipher) {
        (TlsVersion::Tls13, Cipher::Aes128Gcm) => "TLS_AES_128_GCM_SHA256",
        (TlsVersion::Tls13, Cipher::Aes256Gcm) => "TLS_AES_256_GCM_SHA384",
        (TlsVersion::Tls13, Cipher::Chacha20Poly1305) => "TLS_CHACHA20_POLY1305_SHA256",
        (TlsVersion::Tls12, Cipher::Aes128Gcm) => "ECDHE-ECDSA-AES128-GCM-SHA256",
        (TlsVersion::Tls12, Cipher::Aes256Gcm) => "ECDHE-ECDSA-AES256-GCM-SHA384",
        (TlsVersion::Tls12, Cipher::Chacha20Poly1305) => "ECDHE-ECDSA-CHACHA20-POLY1305",
    }
}

/// openssl s_server/s_client arguments pinning one version and suite.
pub fn openssl_args(version: TlsVersion, cipher: Cipher) -> Vec<String> {
    let s = openssl_suite(version, cipher).to_string();
    match version {
        TlsVersion::Tls13 => vec!["-tls1_3".into(), "-ciphersuites".into(), s],
        TlsVersion::Tls12 => vec!["-tls1_2".into(), "-cipher".into(), s],
    }
}

/// curl arguments pinning one version and suite.
pub fn curl_args(version: TlsVersion, cipher: Cipher) -> Vec<String> {
    let s = openssl_suite(version, cipher).to_string();
    match version {
        TlsVersion::Tls13 => vec!["--tlsv1.3".into(), "--tls13-ciphers".into(), s],
        TlsVersion::Tls12 => vec![
            "--tlsv1.2".into(),
            "--tls-max".into(),
            "1.2".into(),
            "--ciphers".into(),
            s,
        ],
    }
}

fn provider_for(suites: Vec<SupportedCipherSuite>) -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: suites,
        ..provider::default_provider()
    })
}

fn versions(version: Option<TlsVersion>) -> &'static [&'static rustls::SupportedProtocolVersion] {
    static TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
    static TLS13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match version {
        Some(TlsVersion::Tls12) => &TLS12,
        Some(TlsVersion::Tls13) => &TLS13,
        None => rustls::ALL_VERSIONS,
    }
}

/// A client config trusting the test CA, limited to one suite if given,
/// with secret extraction on (needed for kTLS).
pub fn client_config(pki: &Pki, pin: Option<(TlsVersion, Cipher)>) -> Arc<ClientConfig> {
    let suites = match pin {
        Some((v, c)) => vec![suite(v, c)],
        None => provider::default_provider().cipher_suites,
    };
    let mut cfg = ClientConfig::builder_with_provider(provider_for(suites))
        .with_protocol_versions(versions(pin.map(|p| p.0)))
        .expect("versions match suites")
        .with_root_certificates(pki.roots())
        .with_no_client_auth();
    cfg.enable_secret_extraction = true;
    Arc::new(cfg)
}

/// A server config with the test certificate, limited to one suite if given.
/// `require_client_cert` makes it demand a certificate from the test CA.
pub fn server_config(
    pki: &Pki,
    pin: Option<(TlsVersion, Cipher)>,
    require_client_cert: bool,
) -> Arc<ServerConfig> {
    let suites = match pin {
        Some((v, c)) => vec![suite(v, c)],
        None => provider::default_provider().cipher_suites,
    };
    let prov = provider_for(suites);
    let builder = ServerConfig::builder_with_provider(prov.clone())
        .with_protocol_versions(versions(pin.map(|p| p.0)))
        .expect("versions match suites");
    let builder = if require_client_cert {
        let v = rustls::server::WebPkiClientVerifier::builder_with_provider(pki.roots(), prov)
            .build()
            .expect("verifier");
        builder.with_client_cert_verifier(v)
    } else {
        builder.with_no_client_auth()
    };
    let mut cfg = builder
        .with_single_cert(pki.chain.clone(), pki.key())
        .expect("test cert and key match");
    cfg.enable_secret_extraction = true;
    Arc::new(cfg)
}

/// The name the test certificate carries.
pub fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("valid name")
}

/// A free loopback port (bound and released; races are unlikely on a test host).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind loopback")
}

/// Deterministic pseudo-random test data.
pub fn test_data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A spawned peer process whose output is collected in the background.
pub struct Peer {
    /// The child.
    pub child: Child,
    /// Its stdin, if kept open.
    pub stdin: Option<ChildStdin>,
    /// Everything it printed on stdout so far.
    pub stdout: Arc<Mutex<Vec<u8>>>,
    /// Everything it printed on stderr so far.
    pub stderr: Arc<Mutex<Vec<u8>>>,
}

impl Peer {
    /// Spawns `program args`, optionally waiting for `ready` on stdout or stderr.
    pub async fn spawn(
        program: &str,
        args: &[String],
        cwd: &Path,
        ready: Option<&str>,
    ) -> anyhow::Result<Peer> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {program}: {e}"))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        for (pipe, sink) in [
            (
                Box::new(child.stdout.take().expect("piped")) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                stdout.clone(),
            ),
            (Box::new(child.stderr.take().expect("piped")), stderr.clone()),
        ] {
            let ready = ready.map(str::to_string);
            let tx = tx.clone();
            tokio::spawn(async move {
                // Raw chunks, not lines: peers print binary data without
                // newlines, and the tests look for bytes as they arrive.
                let mut r = pipe;
                let mut buf = vec![0u8; 64 * 1024];
                let mut signalled = false;
                loop {
                    match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut sink = sink.lock().unwrap();
                            sink.extend_from_slice(&buf[..n]);
                            if !signalled {
                                if let Some(m) = &ready {
                                    let from = sink.len().saturating_sub(n + m.len());
                                    if sink[from..].windows(m.len()).any(|w| w == m.as_bytes()) {
                                        signalled = true;
                                        let _ = tx.send(());
                                    }
                                }
                            }
                        }
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        let mut peer = Peer {
            child,
            stdin,
            stdout,
            stderr,
        };
        if ready.is_some() {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(())) => {}
                _ => {
                    let _ = peer.child.kill().await;
                    anyhow::bail!("{program} did not become ready: {}", peer.stderr_text());
                }
            }
        }
        Ok(peer)
    }

    /// Writes to the peer's stdin (as a separate write, so openssl sees
    /// one-letter commands on their own).
    pub async fn send_stdin(&mut self, data: &[u8]) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("stdin closed"))?;
        stdin.write_all(data).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Stdout as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Stderr as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until stdout contains `needle`, up to `timeout`.
    pub async fn wait_stdout(&self, needle: &[u8], timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self
                .stdout
                .lock()
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Closes stdin and waits for exit (bounded), killing it if needed.
    pub async fn finish(
        mut self,
        timeout: Duration,
    ) -> anyhow::Result<(std::process::ExitStatus, Vec<u8>, String)> {
        drop(self.stdin.take());
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(s) => s?,
            Err(_) => {
                let _ = self.child.kill().await;
                self.child.wait().await?
            }
        };
        // Let the pipe readers finish.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr_text();
        Ok((status, out, err))
    }
}

/// Counts this process's open file descriptors.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}
