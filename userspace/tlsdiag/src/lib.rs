//! TLS field diagnostics: what an operator needs to see when a TLS link to a
//! SIP server, an ACS or a file server misbehaves.
//!
//! - [`CertSummary`]: subject, issuer and validity of a certificate, the
//!   columns the DGW shows (IssuedTo, IssuedBy, ValidFrom, ValidTo).
//! - [`RecordingVerifier`]: runs the normal WebPKI validation and remembers
//!   its verdict, so a diagnostic tool can print *why* a peer was refused.
//! - [`KeyLogFile`]: the NSS key log format that Wireshark reads. Unlike the
//!   RSA private-key method, it decrypts ECDHE sessions too (every TLS 1.3
//!   session). It is never enabled by an environment variable: only an
//!   explicit path turns it on, and the file is created with mode 0600.
#![deny(missing_docs)]

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The DGW-style information columns of one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject distinguished name ("IssuedTo").
    pub issued_to: String,
    /// Issuer distinguished name ("IssuedBy").
    pub issued_by: String,
    /// Start of validity, RFC 2822-like UTC text ("ValidFrom").
    pub valid_from: String,
    /// End of validity ("ValidTo").
    pub valid_to: String,
    /// DNS names and IP addresses from subjectAltName.
    pub subject_alt_names: Vec<String>,
    /// Serial number, hex.
    pub serial: String,
}

impl CertSummary {
    /// Parses a DER certificate. Errors say what was wrong, never panic.
    pub fn from_der(der: &[u8]) -> Result<CertSummary, String> {
        let (rest, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
        if !rest.is_empty() {
            return Err(format!(
                "{} bytes of trailing data after the certificate",
                rest.len()
            ));
        }
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for n in &ext.value.general_names {
                match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => sans.push(match ip.len() {
                        4 => format!("IP:{}", std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])),
                        16 => {
                            let mut b = [0u8; 16];
                            b.copy_from_slice(ip);
                            format!("IP:{}", std::net::Ipv6Addr::from(b))
                        }
                        _ => "IP:?".to_string(),
                    }),
                    x509_parser::extensions::GeneralName::URI(u) => sans.push(format!("URI:{u}")),
                    _ => {}
                }
            }
        }
        Ok(CertSummary {
            issued_to: cert.subject().to_string(),
            issued_by: cert.issuer().to_string(),
            valid_from: cert.validity().not_before.to_string(),
            valid_to: cert.validity().not_after.to_string(),
            subject_alt_names: sans,
            serial: cert.raw_serial_as_string(),
        })
    }
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  IssuedTo:  {}", self.issued_to)?;
        writeln!(f, "  IssuedBy:  {}", self.issued_by)?;
        writeln!(f, "  ValidFrom: {}", self.valid_from)?;
        writeln!(f, "  ValidTo:   {}", self.valid_to)?;
        if !self.subject_alt_names.is_empty() {
            writeln!(f, "  SAN:       {}", self.subject_alt_names.join(", "))?;
        }
        write!(f, "  Serial:    {}", self.serial)
    }
}

/// Loads every certificate of a PEM file, with an error naming the file.
pub fn load_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&data).collect();
    let certs = certs.map_err(|e| format!("{}: bad PEM: {e:?}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE blocks found", path.display()));
    }
    Ok(certs)
}

/// Builds a root store from PEM files; errors name the file and certificate.
pub fn roots_from_pem(paths: &[PathBuf]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for p in paths {
        for (i, c) in load_pem_certs(p)?.into_iter().enumerate() {
            roots
                .add(c)
                .map_err(|e| format!("{}: certificate #{}: {e}", p.display(), i + 1))?;
        }
    }
    Ok(roots)
}

/// The verdict of a [`RecordingVerifier`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No certificate was checked yet.
    NotChecked,
    /// Chain and name valid.
    Valid,
    /// Validation failed; the text says why.
    Invalid(String),
}

/// Runs WebPKI server validation, records the verdict and, if told to,
/// continues the handshake despite a failure (for diagnostics only).
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Verdict>,
    continue_on_failure: bool,
}

impl RecordingVerifier {
    /// Wraps a WebPKI verifier over `roots`. With `continue_on_failure`, a
    /// failed validation is recorded but the handshake goes on.
    pub fn new(roots: Arc<RootCertStore>, continue_on_failure: bool) -> Result<Arc<Self>, String> {
        let inner = WebPkiServerVerifier::builder(roots)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(RecordingVerifier {
            inner,
            verdict: Mutex::new(Verdict::NotChecked),
            continue_on_failure,
        }))
    }

    /// The last verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
            .lock()
            .map(|v| v.clone())
            .unwrap_or(Verdict::NotChecked)
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let r = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        if let Ok(mut v) = self.verdict.lock() {
            *v = match &r {
                Ok(_) => Verdict::Valid,
                Err(e) => Verdict::Invalid(e.to_string()),
            };
        }
        match r {
            Err(_) if self.continue_on_failure => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Signatures are always checked: a peer that cannot prove it holds
        // the key is refused even in diagnostic mode.
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Writes TLS secrets in the NSS key log format
/// (`LABEL <client_random hex> <secret hex>`), one line per secret.
#[derive(Debug)]
pub struct KeyLogFile {
    file: Mutex<File>,
}

impl KeyLogFile {
    /// Opens (appends to) `path`, creating it with mode 0600. An existing
    /// file that others can read is refused: it would leak session keys.
    pub fn create(path: &Path) -> io::Result<KeyLogFile> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        let mode = file.metadata()?.mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{}: key log file is readable by others (mode {:o}); chmod 600 it first",
                    path.display(),
                    mode & 0o777
                ),
            ));
        }
        Ok(KeyLogFile {
            file: Mutex::new(file),
        })
    }

    /// Formats one key log line.
    pub fn line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
        format!("{label} {} {}\n", hex(client_random), hex(secret))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Ok(mut f) = self.file.lock() {
            if let Err(e) = f.write_all(Self::line(label, client_random, secret).as_bytes()) {
                log::warn!("key log write failed: {e}");
            }
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_generated_certificate() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["gw.example.net".to_string()]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "gw.example.net");
        let cert = p.self_signed(&key).unwrap();
        let s = CertSummary::from_der(cert.der()).unwrap();
        assert_eq!(s.issued_to, "CN=gw.example.net");
        assert_eq!(s.issued_by, "CN=gw.example.net");
        assert_eq!(s.subject_alt_names, vec!["DNS:gw.example.net".to_string()]);
        assert!(s.to_string().contains("ValidTo:"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(CertSummary::from_der(b"").is_err());
        assert!(CertSummary::from_der(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3]).is_err());
    }

    #[test]
    fn key_log_line_format_and_mode() {
        assert_eq!(
            KeyLogFile::line("CLIENT_RANDOM", &[0xab, 1], &[0xff]),
            "CLIENT_RANDOM ab01 ff\n"
        );
        let dir = std::env::temp_dir().join(format!("tlsdiag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("keys.log");
        let k = KeyLogFile::create(&p).unwrap();
        rustls::KeyLog::log(&k, "CLIENT_TRAFFIC_SECRET_0", &[1; 32], &[2; 32]);
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("CLIENT_TRAFFIC_SECRET_0 0101"));
        // A world-readable existing file is refused.
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        assert!(KeyLogFile::create(&p).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pem_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("tlsdiag-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("empty.pem");
        std::fs::write(&p, "hello").unwrap();
        let e = load_pem_certs(&p).unwrap_err();
        assert!(e.contains("empty.pem") && e.contains("no CERTIFICATE"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
