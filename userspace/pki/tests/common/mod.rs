//! Test support: temporary directories, rcgen and openssl certificate
//! factories, and a loopback TLS run through ktls_offload.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "pki-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate and its key, made by rcgen.
pub struct Issued {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Issued {
    pub fn pem(&self) -> String {
        self.cert.pem()
    }
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }
    /// Chain PEM (this certificate, then `issuers`) followed by the key.
    pub fn host_pem(&self, issuers: &[&Issued]) -> String {
        let mut s = self.pem();
        for i in issuers {
            s.push_str(&i.pem());
        }
        s.push_str(&self.key_pem());
        s
    }
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem().as_bytes()).unwrap()
    }
}

/// What to put in a certificate.
#[derive(Clone)]
pub struct Spec {
    pub cn: String,
    /// DNS names or IP addresses (rcgen picks by syntax).
    pub sans: Vec<String>,
    pub ca: bool,
    pub eku: Vec<ExtendedKeyUsagePurpose>,
    pub key_usage: Vec<KeyUsagePurpose>,
    /// (year, month, day) pairs.
    pub not_before: (i32, u8, u8),
    pub not_after: (i32, u8, u8),
}

impl Spec {
    pub fn leaf(cn: &str, sans: &[&str]) -> Spec {
        Spec {
            cn: cn.to_string(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            ca: false,
            eku: vec![ExtendedKeyUsagePurpose::ServerAuth],
            key_usage: vec![KeyUsagePurpose::DigitalSignature],
            not_before: (2020, 1, 1),
            not_after: (2090, 1, 1),
        }
    }
    pub fn ca(cn: &str) -> Spec {
        Spec {
            cn: cn.to_string(),
            sans: vec![],
            ca: true,
            eku: vec![],
            key_usage: vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            not_before: (2020, 1, 1),
            not_after: (2090, 1, 1),
        }
    }
    pub fn client(cn: &str) -> Spec {
        let mut s = Spec::leaf(cn, &[]);
        s.eku = vec![ExtendedKeyUsagePurpose::ClientAuth];
        s
    }
    pub fn eku(mut self, eku: Vec<ExtendedKeyUsagePurpose>) -> Spec {
        self.eku = eku;
        self
    }
    pub fn valid(mut self, from: (i32, u8, u8), to: (i32, u8, u8)) -> Spec {
        self.not_before = from;
        self.not_after = to;
        self
    }

    fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::new(self.sans.clone()).unwrap();
        p.distinguished_name.push(DnType::CommonName, &self.cn);
        if self.ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        p.extended_key_usages = self.eku.clone();
        p.key_usages = self.key_usage.clone();
        p.not_before = rcgen::date_time_ymd(self.not_before.0, self.not_before.1, self.not_before.2);
        p.not_after = rcgen::date_time_ymd(self.not_after.0, self.not_after.1, self.not_after.2);
        p
    }

    pub fn self_signed(&self) -> Issued {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = self.params().self_signed(&key).unwrap();
        Issued { cert, key }
    }

    pub fn signed_by(&self, issuer: &Issued) -> Issued {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = self.params().signed_by(&key, &issuer.cert, &issuer.key).unwrap();
        Issued { cert, key }
    }
}

/// A plain rustls server presenting `chain` (no policy: used to serve
/// certificates our own import would refuse).
pub fn raw_server(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Arc<ServerConfig> {
    let mut c = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    c.enable_secret_extraction = true;
    Arc::new(c)
}

/// What each side of a loopback run saw.
#[derive(Debug)]
pub struct Outcome {
    pub client: Result<String, String>,
    pub server: Result<String, String>,
}

impl Outcome {
    pub fn both_ok(&self) -> bool {
        self.client.is_ok() && self.server.is_ok()
    }
}

/// One TLS connection over loopback with ktls_offload (kTLS where the
/// kernel can, userspace otherwise): the client sends "ping", the server
/// answers "pong". Each side's result is `Ok(version/suite)` or the error.
pub async fn run(client: Arc<ClientConfig>, server: Arc<ServerConfig>, sni: &str) -> Outcome {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = ktls_offload::Options::default();
    let server_opts = opts.clone();
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = ktls_offload::accept(server, tcp, &server_opts)
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        if &buf != b"ping" {
            return Err(format!("server read {buf:?}"));
        }
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        let _ = tls.shutdown().await;
        Ok(format!("{} {}", tls.info().version, tls.info().suite))
    });
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let client_side = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let mut tls = ktls_offload::connect(client, name, tcp, &opts)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        if &buf != b"pong" {
            return Err(format!("client read {buf:?}"));
        }
        Ok::<_, String>(format!("{} {}", tls.info().version, tls.info().suite))
    };
    let client = tokio::time::timeout(Duration::from_secs(20), client_side)
        .await
        .unwrap_or_else(|_| Err("client timed out".to_string()));
    let server = match tokio::time::timeout(Duration::from_secs(20), server_task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("server task: {e}")),
        Err(_) => Err("server timed out".to_string()),
    };
    Outcome { client, server }
}

/// Runs openssl with `args` in `dir`; panics with its stderr on failure.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line is needed (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

pub fn cat(dir: &Path, files: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for f in files {
        v.extend_from_slice(&read(dir, f));
    }
    v
}
