//! Test certificates for the ACS and file server: one CA, and server certificates that are
//! good or broken in the ways a CPE's certificate validation levels must tell apart.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, SanType, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig};

/// How the server certificate of a [`TlsIdentity`] relates to the test CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    /// Issued by the CA for `127.0.0.1` and `localhost`, valid now: passes every check.
    Valid,
    /// Issued by the CA, valid now, but for `wrong.example.net` only: fails the host name check
    /// (and only that).
    WrongHost,
    /// Issued by the CA for `127.0.0.1` and `localhost`, but expired in 2001: fails the
    /// validity check.
    Expired,
    /// For `127.0.0.1` and `localhost` but self-signed, not issued by the CA: fails the chain
    /// check.
    SelfSigned,
}

/// A test CA. The CPE under test is given [`TestPki::ca_pem`] as its trust anchor; the ACS and
/// file servers use identities from [`TestPki::identity`].
pub struct TestPki {
    ca: Certificate,
    ca_key: KeyPair,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl TestPki {
    /// A fresh ECDSA P-256 CA ("dgw test ACS CA").
    pub fn generate() -> anyhow::Result<TestPki> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "dgw test ACS CA");
        let ca = params.self_signed(&ca_key)?;
        Ok(TestPki { ca, ca_key })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// Writes the CA certificate as PEM to `path` (for a CPE's trust store).
    pub fn write_ca_pem(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.ca_pem()).with_context(|| format!("write {}", path.display()))
    }

    /// Roots trusting only this CA (for a rustls client such as the tests' fake CPE).
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca_der())
            .expect("the test CA is a valid certificate");
        roots
    }

    /// A server key and certificate of the given kind.
    pub fn identity(&self, kind: CertKind) -> anyhow::Result<TlsIdentity> {
        match kind {
            CertKind::WrongHost => self.issue(kind, &["wrong.example.net"]),
            _ => self.issue(kind, &["localhost", "127.0.0.1"]),
        }
    }

    /// A valid server certificate for other names than the loopback ones (e.g. the address
    /// a QEMU guest reaches the host at): DNS names, or IP addresses where a name parses as
    /// one. The first name is the common name.
    pub fn identity_for(&self, names: &[&str]) -> anyhow::Result<TlsIdentity> {
        anyhow::ensure!(!names.is_empty(), "a certificate needs at least one name");
        self.issue(CertKind::Valid, names)
    }

    fn issue(&self, kind: CertKind, names: &[&str]) -> anyhow::Result<TlsIdentity> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName((*n).try_into()?)),
            })
            .collect::<anyhow::Result<_>>()?;
        params.distinguished_name.push(DnType::CommonName, names[0]);
        if kind == CertKind::Expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let cert = if kind == CertKind::SelfSigned {
            params.self_signed(&key)?
        } else {
            params.signed_by(&key, &self.ca, &self.ca_key)?
        };
        Ok(TlsIdentity {
            kind,
            chain: vec![cert.der().clone()],
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
        })
    }
}

/// A server certificate chain and key, for [`crate::AcsOptions::tls`].
#[derive(Clone)]
pub struct TlsIdentity {
    kind: CertKind,
    chain: Vec<CertificateDer<'static>>,
    cert_pem: String,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    // The key stays out of test logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// What kind of certificate this is.
    pub fn kind(&self) -> CertKind {
        self.kind
    }

    /// The server certificate, PEM (e.g. to pin it in a CPE).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A rustls server configuration for this identity, offering `http/1.1` by ALPN.
    ///
    /// `enable_secret_extraction` is on: `ktls_offload::accept` needs it to hand the keys to
    /// the kernel; without it every connection would silently stay in userspace.
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        config.enable_secret_extraction = true;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
