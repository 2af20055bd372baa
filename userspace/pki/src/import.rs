//! Parsing and checking what an operator imports: PEM (and, for the Others
//! store, a single DER certificate). Everything here is a pure function of
//! the input bytes, with errors that say what is wrong; nothing panics on
//! any input (the `pem_import` fuzz target checks it).

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use tlsdiag::CertSummary;

use crate::error::StoreError;
use crate::model::Usage;

/// The largest input one import takes, in bytes.
pub const MAX_IMPORT_SIZE: usize = 64 * 1024;

/// The longest file name, in characters.
pub const MAX_FILE_NAME_LEN: usize = 64;

/// Checks a store file name: 1 to 64 characters from `[A-Za-z0-9._-]`, not
/// starting with a dot. The configuration layer can call it for its own
/// messages.
pub fn validate_file_name(name: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::InvalidFileName {
            name: name.chars().take(80).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_FILE_NAME_LEN {
        return bad("it is longer than 64 characters");
    }
    if name.starts_with('.') {
        return bad("it starts with a dot");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

/// What a CERTIFICATE block says, as far as the stores care.
#[derive(Clone, Debug)]
pub(crate) struct CertFacts {
    pub summary: CertSummary,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    /// `None`: no extendedKeyUsage extension.
    pub eku: Option<Eku>,
    /// `None`: no keyUsage extension.
    pub digital_signature: Option<bool>,
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
}

#[derive(Clone, Debug)]
pub(crate) struct Eku {
    pub server_auth: bool,
    pub client_auth: bool,
    pub names: String,
}

impl CertFacts {
    pub(crate) fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }
}

/// Parses one DER certificate; `index` (1-based) is for the error.
pub(crate) fn cert_facts(index: usize, der: &[u8]) -> Result<CertFacts, StoreError> {
    let not_x509 = |detail: String| StoreError::NotX509 { index, detail };
    let (rest, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| not_x509(e.to_string()))?;
    if !rest.is_empty() {
        return Err(not_x509(format!(
            "{} bytes of trailing data after the certificate",
            rest.len()
        )));
    }
    let summary = CertSummary::from_der(der).map_err(not_x509)?;
    let is_ca = cert
        .basic_constraints()
        .map_err(|e| not_x509(format!("bad basicConstraints extension: {e}")))?
        .map(|bc| bc.value.ca)
        .unwrap_or(false);
    let eku = cert
        .extended_key_usage()
        .map_err(|e| not_x509(format!("bad extendedKeyUsage extension: {e}")))?
        .map(|ext| {
            let e = ext.value;
            let mut names = Vec::new();
            for (set, name) in [
                (e.any, "anyExtendedKeyUsage"),
                (e.server_auth, "serverAuth"),
                (e.client_auth, "clientAuth"),
                (e.code_signing, "codeSigning"),
                (e.email_protection, "emailProtection"),
                (e.time_stamping, "timeStamping"),
                (e.ocsp_signing, "OCSPSigning"),
            ] {
                if set {
                    names.push(name.to_string());
                }
            }
            names.extend(e.other.iter().map(|o| o.to_id_string()));
            Eku {
                server_auth: e.server_auth,
                client_auth: e.client_auth,
                names: if names.is_empty() {
                    "empty".to_string()
                } else {
                    names.join(", ")
                },
            }
        });
    let digital_signature = cert
        .key_usage()
        .map_err(|e| not_x509(format!("bad keyUsage extension: {e}")))?
        .map(|ku| ku.value.digital_signature());
    Ok(CertFacts {
        summary,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        is_ca,
        eku,
        digital_signature,
        subject_raw: cert.subject().as_raw().to_vec(),
        issuer_raw: cert.issuer().as_raw().to_vec(),
    })
}

/// One `-----BEGIN X-----` ... `-----END X-----` block.
struct Block {
    /// 1-based, counting every block.
    number: usize,
    label: String,
    /// Base64 body lines, headers removed.
    body: Vec<u8>,
    /// Had RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info:`).
    encrypted_header: bool,
    /// Had other header lines.
    other_header: bool,
}

impl Block {
    /// The block re-encoded in the canonical form, under `label`.
    fn normalised(&self, label: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(b"-----BEGIN ");
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"-----\n");
        out.extend_from_slice(&self.body);
        out.extend_from_slice(b"-----END ");
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"-----\n");
        out
    }

    fn bad(&self, detail: impl Into<String>) -> StoreError {
        StoreError::BadPem {
            block: self.number,
            label: self.label.clone(),
            detail: detail.into(),
        }
    }

    /// Decodes the body as `label` (a label rustls knows).
    fn decode(&self, label: &str) -> Result<(SectionKind, Vec<u8>), StoreError> {
        if self.other_header {
            return Err(self.bad("unexpected header lines (\"Name: value\") in the block"));
        }
        let text = self.normalised(label);
        match <(SectionKind, Vec<u8>)>::from_pem_slice(&text) {
            Ok(item) => Ok(item),
            Err(rustls::pki_types::pem::Error::Base64Decode(_)) => {
                Err(self.bad("the body is not valid base64"))
            }
            Err(e) => Err(self.bad(format!("{e:?}"))),
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &line[start..end.max(start)]
}

/// The label of a `-----BEGIN X-----` or `-----END X-----` line.
fn marker<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(prefix)?.strip_suffix(b"-----")
}

/// Splits PEM text into blocks. Text outside blocks is ignored (RFC 7468
/// allows explanatory text, as `openssl x509 -text` writes).
fn blocks(input: &[u8]) -> Result<Vec<Block>, StoreError> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut number = 0;
    for raw in input.split(|b| *b == b'\n') {
        let line = trim(raw);
        if let Some(label) = marker(line, b"-----BEGIN ") {
            number += 1;
            if let Some(open) = &current {
                return Err(open.bad(format!(
                    "a BEGIN line (block #{number}) comes before its END line"
                )));
            }
            let label = String::from_utf8_lossy(label).into_owned();
            if label.is_empty()
                || label.len() > 64
                || !label.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            {
                return Err(StoreError::BadPem {
                    block: number,
                    label: label.escape_debug().to_string(),
                    detail: "invalid label".to_string(),
                });
            }
            current = Some(Block {
                number,
                label,
                body: Vec::new(),
                encrypted_header: false,
                other_header: false,
            });
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        if let Some(label) = marker(line, b"-----END ") {
            if label != block.label.as_bytes() {
                return Err(block.bad(format!(
                    "its END line is for \"{}\"",
                    String::from_utf8_lossy(label).escape_debug()
                )));
            }
            if let Some(done) = current.take() {
                out.push(done);
            }
            continue;
        }
        if line.contains(&b':') {
            let l = line.to_ascii_lowercase();
            if (l.starts_with(b"proc-type:") && l.windows(9).any(|w| w == b"encrypted"))
                || l.starts_with(b"dek-info:")
            {
                block.encrypted_header = true;
            } else {
                block.other_header = true;
            }
            continue;
        }
        if !line.is_empty() {
            block.body.extend_from_slice(line);
            block.body.push(b'\n');
        }
    }
    if let Some(open) = current {
        return Err(open.bad("no END line"));
    }
    Ok(out)
}

fn looks_binary(input: &[u8]) -> bool {
    input.first() == Some(&0x30) || input.iter().take(512).any(|b| *b == 0)
}

/// What the blocks of one import held.
struct Sections {
    certs: Vec<CertificateDer<'static>>,
    /// The key and its canonical PEM text.
    key: Option<(PrivateKeyDer<'static>, Vec<u8>)>,
}

/// Which store the blocks are for (changes what is accepted and the hints).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Host,
    Others,
}

const HOST_EXPECTED: &str = "a host certificate import takes CERTIFICATE blocks (leaf first) \
     and one PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block";
const OTHERS_EXPECTED: &str =
    "the Others store takes CERTIFICATE blocks only (root CA first, then intermediates)";
const TRUSTED_CERT_HINT: &str = "OpenSSL's TRUSTED CERTIFICATE format is not supported: \
     convert it with `openssl x509 -in in.pem -out out.pem`";

fn sections(input: &[u8], target: Target) -> Result<Sections, StoreError> {
    let blocks = blocks(input)?;
    if blocks.is_empty() {
        return Err(StoreError::NotPem {
            binary: looks_binary(input),
        });
    }
    if target == Target::Others && blocks.iter().any(|b| b.label.contains("PRIVATE KEY")) {
        return Err(StoreError::UnexpectedKey);
    }
    let mut certs = Vec::new();
    let mut key: Option<(PrivateKeyDer<'static>, Vec<u8>)> = None;
    for b in &blocks {
        let label = b.label.as_str();
        match label {
            "CERTIFICATE" | "X509 CERTIFICATE" | "X.509 CERTIFICATE" => {
                let (_, der) = b.decode("CERTIFICATE")?;
                certs.push(CertificateDer::from(der));
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                if target == Target::Others {
                    return Err(StoreError::UnexpectedKey);
                }
                if label == "ENCRYPTED PRIVATE KEY" || b.encrypted_header {
                    return Err(StoreError::KeyEncrypted);
                }
                if key.is_some() {
                    return Err(StoreError::MultipleKeys);
                }
                let (kind, der) = b.decode(label)?;
                let parsed = match kind {
                    SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(der.into()),
                    SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(der.into()),
                    SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(der.into()),
                    _ => return Err(b.bad("not a private key")),
                };
                key = Some((parsed, b.normalised(label)));
            }
            // `openssl ecparam -genkey` writes the curve before the key.
            "EC PARAMETERS" if target == Target::Host => {}
            "TRUSTED CERTIFICATE" => {
                return Err(StoreError::UnexpectedBlock {
                    block: b.number,
                    label: b.label.clone(),
                    expected: TRUSTED_CERT_HINT,
                })
            }
            _ => {
                return Err(StoreError::UnexpectedBlock {
                    block: b.number,
                    label: b.label.clone(),
                    expected: match target {
                        Target::Host => HOST_EXPECTED,
                        Target::Others => OTHERS_EXPECTED,
                    },
                })
            }
        }
    }
    if certs.is_empty() {
        return Err(StoreError::NoCertificate);
    }
    Ok(Sections { certs, key })
}

/// The certificates of stored PEM, without the import checks.
pub(crate) fn pem_certificates(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    Ok(sections(data, Target::Host)?.certs)
}

fn check_size(input: &[u8]) -> Result<(), StoreError> {
    if input.len() > MAX_IMPORT_SIZE {
        return Err(StoreError::TooLarge {
            size: input.len(),
            limit: MAX_IMPORT_SIZE,
        });
    }
    if trim(input).is_empty() {
        return Err(StoreError::Empty);
    }
    Ok(())
}

/// A checked host certificate: chain (leaf first) and its key.
#[derive(Clone)]
pub struct HostBundle {
    /// The chain, leaf first, as rustls sends it.
    pub certified_key: Arc<CertifiedKey>,
    /// Facts about each certificate, in chain order.
    pub(crate) facts: Vec<CertFacts>,
    /// The key block, canonical PEM (written to the key file).
    pub(crate) key_pem: Vec<u8>,
}

impl HostBundle {
    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.certified_key.cert
    }

    /// The leaf's summary (IssuedTo, IssuedBy, validity, SAN).
    pub fn summary(&self) -> &CertSummary {
        &self.facts[0].summary
    }

    /// The chain as canonical PEM (what the store writes).
    pub(crate) fn chain_pem(&self) -> Vec<u8> {
        certs_to_pem(self.chain())
    }
}

impl fmt::Debug for HostBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBundle")
            .field("issued_to", &self.facts[0].summary.issued_to)
            .field("chain_len", &self.facts.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Checks a host certificate import: the PEM holds the chain (leaf first,
/// then its issuers in order) and exactly one unencrypted private key
/// (PKCS#8, SEC1 or PKCS#1 RSA). The key must match the leaf, and the
/// leaf must allow `usage`.
pub fn parse_host_pem(pem: &[u8], usage: Usage) -> Result<HostBundle, StoreError> {
    check_size(pem)?;
    parse_host_unlimited(pem, usage)
}

/// [`parse_host_pem`] without the size limit (for entries already stored).
pub(crate) fn parse_host_unlimited(pem: &[u8], usage: Usage) -> Result<HostBundle, StoreError> {
    let Sections { certs, key } = sections(pem, Target::Host)?;
    let facts = certs
        .iter()
        .enumerate()
        .map(|(i, c)| cert_facts(i + 1, c))
        .collect::<Result<Vec<_>, _>>()?;
    let (key, key_pem) = key.ok_or(StoreError::KeyMissing)?;
    let signing_key = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| StoreError::KeyInvalid {
            detail: e.to_string(),
        })?;
    ParsedCertificate::try_from(&certs[0]).map_err(|e| StoreError::Unusable {
        index: 1,
        detail: format!("not usable as a TLS certificate: {e}"),
    })?;
    let certified_key = CertifiedKey::new(certs, signing_key);
    match certified_key.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(StoreError::KeyMismatch)
        }
        Err(e) => {
            return Err(StoreError::KeyInvalid {
                detail: format!("cannot check that it matches the certificate: {e}"),
            })
        }
    }
    let leaf = &facts[0];
    if leaf.is_ca {
        return Err(StoreError::CaAsHostCertificate);
    }
    if let Some(eku) = &leaf.eku {
        let ok = match usage {
            Usage::TlsServer => eku.server_auth,
            Usage::TlsClient => eku.client_auth,
        };
        if !ok {
            return Err(StoreError::WrongEku {
                usage,
                found: eku.names.clone(),
            });
        }
    }
    if leaf.digital_signature == Some(false) {
        return Err(StoreError::NoDigitalSignature);
    }
    for (i, pair) in facts.windows(2).enumerate() {
        if pair[0].issuer_raw != pair[1].subject_raw {
            let detail = if pair[1].issuer_raw == pair[0].subject_raw {
                format!(
                    "certificate #{} was issued by certificate #{}: a host certificate \
                     file is the certificate first, then its issuers in order (reverse them)",
                    i + 2,
                    i + 1
                )
            } else {
                format!(
                    "certificate #{n} ({}) is not the issuer of certificate #{} (issued by {}): \
                     a host certificate file is the certificate first, then its issuers in order",
                    pair[1].summary.issued_to,
                    i + 1,
                    pair[0].summary.issued_by,
                    n = i + 2,
                )
            };
            return Err(StoreError::ChainOrder { detail });
        }
    }
    Ok(HostBundle {
        certified_key: Arc::new(certified_key),
        facts,
        key_pem,
    })
}

/// Checks an import for the Others store: one or many CERTIFICATE blocks
/// (or one DER certificate). Each certificate must be usable as a trust
/// anchor; in a chain file the root CA comes first, then the intermediates
/// in order (the DGW rule), so every certificate after the first is either
/// self-signed or issued by the one just before it.
pub fn parse_others(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    check_size(data)?;
    parse_others_unlimited(data)
}

/// [`parse_others`] without the size limit (for entries already stored).
pub(crate) fn parse_others_unlimited(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certs = match sections(data, Target::Others) {
        Ok(s) => s.certs,
        Err(StoreError::NotPem { binary }) => {
            // A single DER certificate is accepted too.
            match x509_parser::parse_x509_certificate(data) {
                Ok(([], _)) => vec![CertificateDer::from(data.to_vec())],
                _ => return Err(StoreError::NotPem { binary }),
            }
        }
        Err(e) => return Err(e),
    };
    let facts = certs
        .iter()
        .enumerate()
        .map(|(i, c)| cert_facts(i + 1, c))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, c) in certs.iter().enumerate() {
        let mut scratch = RootCertStore::empty();
        scratch.add(c.clone()).map_err(|e| StoreError::Unusable {
            index: i + 1,
            detail: format!("not usable as a trust anchor: {e}"),
        })?;
    }
    for (i, pair) in facts.windows(2).enumerate() {
        let (prev, cur) = (&pair[0], &pair[1]);
        let reversed = !prev.self_issued() && prev.issuer_raw == cur.subject_raw;
        if !reversed && (cur.self_issued() || cur.issuer_raw == prev.subject_raw) {
            continue;
        }
        let detail = if reversed {
            format!(
                "certificate #{} issued certificate #{}: a chain file starts with the root \
                 CA, then the intermediates in order (reverse the order)",
                i + 2,
                i + 1
            )
        } else {
            format!(
                "certificate #{} ({}) is neither self-signed nor issued by certificate #{} \
                 ({}): a chain file starts with the root CA, then the intermediates in \
                 order; put unrelated CAs in separate files",
                i + 2,
                cur.summary.issued_to,
                i + 1,
                prev.summary.issued_to
            )
        };
        return Err(StoreError::ChainOrder { detail });
    }
    Ok(certs)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Canonical PEM for public data (certificates).
pub(crate) fn certs_to_pem(certs: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in certs {
        out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        let mut line = 0;
        for chunk in c.as_ref().chunks(3) {
            let n = u32::from(chunk[0]) << 16
                | u32::from(*chunk.get(1).unwrap_or(&0)) << 8
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..4 {
                let c = if i <= chunk.len() {
                    B64[((n >> (18 - 6 * i)) & 63) as usize]
                } else {
                    b'='
                };
                out.push(c);
            }
            line += 4;
            if line == 64 {
                out.push(b'\n');
                line = 0;
            }
        }
        if line != 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        for ok in ["a", "host.pem", "A-b_c.9", &"x".repeat(64)] {
            validate_file_name(ok).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "a b", "é", &"x".repeat(65), "..", "a\0"] {
            assert!(validate_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base64_round_trip() {
        for len in 0..70 {
            let der: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let pem = certs_to_pem(&[CertificateDer::from(der.clone())]);
            let back = CertificateDer::from_pem_slice(&pem).unwrap();
            assert_eq!(back.as_ref(), &der[..], "len {len}");
        }
    }

    #[test]
    fn block_errors() {
        let e = blocks(b"-----BEGIN CERTIFICATE-----\nAAAA\n").err().unwrap();
        assert!(e.to_string().contains("no END line"), "{e}");
        let e = blocks(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END KEY-----\n")
            .err()
            .unwrap();
        assert!(e.to_string().contains("END line is for"), "{e}");
        let e = blocks(b"-----BEGIN A-----\n-----BEGIN B-----\n").err().unwrap();
        assert!(e.to_string().contains("before its END"), "{e}");
        assert!(blocks(b"just text\n").unwrap().is_empty());
    }
}
