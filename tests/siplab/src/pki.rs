//! A throw-away certificate authority and leaf certificates for TLS tests.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A test CA (ECDSA P-256) whose certificate and key live in `dir`, able to issue leaf certificates.
///
/// Every certificate is written as PEM next to its key; keys are created with mode 0600 because
/// Kamailio and the daemon under test may refuse (or should refuse) world-readable keys.
pub struct Pki {
    /// Directory holding every file this PKI writes.
    pub dir: PathBuf,
    /// The CA certificate (PEM): the trust anchor to give to peers and to the daemon.
    pub ca_pem: PathBuf,
    /// The CA private key (PEM), for tests that want to sign with other tools.
    pub ca_key: PathBuf,
    ca: Certificate,
    key: KeyPair,
}

/// What a leaf certificate is for; selects the extended key usage.
#[derive(Clone, Copy)]
enum Usage {
    Server,
    Client,
}

impl Pki {
    /// Creates a new CA named "siplab test CA" in `dir` (created if missing).
    pub fn new(dir: &Path) -> anyhow::Result<Pki> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (ca, key) = new_ca("siplab test CA")?;
        let ca_pem = dir.join("ca.pem");
        let ca_key = dir.join("ca.key");
        write_file(&ca_pem, ca.pem().as_bytes(), 0o644)?;
        write_file(&ca_key, key.serialize_pem().as_bytes(), 0o600)?;
        Ok(Pki {
            dir: dir.to_path_buf(),
            ca_pem,
            ca_key,
            ca,
            key,
        })
    }

    /// Issues a server certificate for `name` (common name and file stem) with the given subject
    /// alternative names: an entry that parses as an IP address becomes an IP SAN, others DNS SANs.
    /// Returns (certificate path, key path).
    pub fn server_cert(&self, name: &str, sans: &[&str]) -> anyhow::Result<(PathBuf, PathBuf)> {
        self.leaf(name, sans, Usage::Server, false, &self.ca, &self.key)
    }

    /// Issues a client certificate (clientAuth usage) with common name `name`, for mutual TLS.
    /// Returns (certificate path, key path).
    pub fn client_cert(&self, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        self.leaf(name, &[], Usage::Client, false, &self.ca, &self.key)
    }

    /// Issues a server certificate that expired in 2001 (valid 2000-01-01 .. 2001-01-01), signed by
    /// this CA, so only the validity check can reject it.
    pub fn expired_cert(&self, name: &str, sans: &[&str]) -> anyhow::Result<(PathBuf, PathBuf)> {
        self.leaf(name, sans, Usage::Server, true, &self.ca, &self.key)
    }

    /// Issues a server certificate with the right names but signed by another, freshly made CA
    /// that nobody trusts. The other CA's certificate is written to `<name>-other-ca.pem` in case a
    /// test wants to trust it after all.
    pub fn cert_signed_by_other_ca(&self, name: &str, sans: &[&str]) -> anyhow::Result<(PathBuf, PathBuf)> {
        let (other, other_key) = new_ca("siplab untrusted CA")?;
        write_file(
            &self.dir.join(format!("{name}-other-ca.pem")),
            other.pem().as_bytes(),
            0o644,
        )?;
        self.leaf(name, sans, Usage::Server, false, &other, &other_key)
    }

    fn leaf(
        &self,
        name: &str,
        sans: &[&str],
        usage: Usage,
        expired: bool,
        issuer: &Certificate,
        issuer_key: &KeyPair,
    ) -> anyhow::Result<(PathBuf, PathBuf)> {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = match usage {
            Usage::Server => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, issuer, issuer_key)?;
        let cert_path = self.dir.join(format!("{name}.pem"));
        let key_path = self.dir.join(format!("{name}.key"));
        write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
        write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
        Ok((cert_path, key_path))
    }
}

fn new_ca(cn: &str) -> anyhow::Result<(Certificate, KeyPair)> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert, key))
}

/// Writes `data` to `path` with `mode`, replacing any previous file (so the mode is the one
/// asked for even when an older file had another one).
pub(crate) fn write_file(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)?;
    Ok(())
}
