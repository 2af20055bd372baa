//! Errors: [`StoreError`] for the certificate stores and imports,
//! [`PolicyError`] for parameter values and TLS configurations. Their
//! `Display` texts are written for operators: each says what is wrong and,
//! where there is one, what to do instead.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::model::{Service, Usage};
use crate::params::{CipherSuiteParam, TlsVersionParam, ValidationLevel};

/// An error from a certificate store or an import.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The input is larger than [`crate::MAX_IMPORT_SIZE`].
    TooLarge {
        /// Input size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is empty.
    Empty,
    /// The input has no PEM block at all (and, where DER is accepted, is
    /// not a DER certificate either).
    NotPem {
        /// The input looks like binary DER (PKCS#12, a DER certificate or
        /// key), which this import does not take.
        binary: bool,
    },
    /// A PEM block is malformed (no END line, bad base64, ...).
    BadPem {
        /// Block number, 1-based, counting every BEGIN line.
        block: usize,
        /// The block's label.
        label: String,
        /// What is wrong.
        detail: String,
    },
    /// A PEM block of a kind this import does not take.
    UnexpectedBlock {
        /// Block number, 1-based.
        block: usize,
        /// The block's label.
        label: String,
        /// What the import takes, and a hint.
        expected: &'static str,
    },
    /// PEM, but no CERTIFICATE block.
    NoCertificate,
    /// A CERTIFICATE block does not hold a valid X.509 certificate.
    NotX509 {
        /// Certificate number, 1-based, in input order.
        index: usize,
        /// The parser's message.
        detail: String,
    },
    /// A certificate parses but cannot be used as TLS needs it.
    Unusable {
        /// Certificate number, 1-based.
        index: usize,
        /// Why.
        detail: String,
    },
    /// A host certificate import without a private key.
    KeyMissing,
    /// The private key is encrypted (PKCS#8 ENCRYPTED PRIVATE KEY or a
    /// legacy Proc-Type: 4,ENCRYPTED block).
    KeyEncrypted,
    /// More than one private key.
    MultipleKeys,
    /// The key cannot be used (bad encoding or unsupported algorithm).
    KeyInvalid {
        /// Why.
        detail: String,
    },
    /// The private key does not belong to the (first) certificate.
    KeyMismatch,
    /// A private key in an import for the Others store.
    UnexpectedKey,
    /// The certificate's extendedKeyUsage does not allow the usage.
    WrongEku {
        /// The usage asked for.
        usage: Usage,
        /// The purposes the certificate lists.
        found: String,
    },
    /// A CA certificate (basicConstraints CA:TRUE) imported as a host
    /// certificate.
    CaAsHostCertificate,
    /// The leaf has a keyUsage extension without digitalSignature, so it
    /// cannot sign an ECDHE handshake (the only key exchange we allow).
    NoDigitalSignature,
    /// The certificates are not in the order the store needs.
    ChainOrder {
        /// What is wrong.
        detail: String,
    },
    /// An entry with that file name already exists.
    DuplicateName {
        /// The name.
        file_name: String,
    },
    /// The file name is not allowed.
    InvalidFileName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// No entry with that file name.
    NotFound {
        /// The name.
        file_name: String,
    },
    /// A value (usage, service) that does not parse.
    InvalidValue {
        /// What was parsed.
        what: &'static str,
        /// The value given.
        value: String,
        /// The values allowed.
        expected: &'static str,
    },
    /// A stored entry is damaged.
    Corrupt {
        /// The entry's path.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The system CA bundle could not be used.
    SystemBundle {
        /// The bundle's path.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file-system error.
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::TooLarge { size, limit } => write!(
                f,
                "input is {size} bytes, more than the {limit}-byte import limit"
            ),
            StoreError::Empty => f.write_str("input is empty"),
            StoreError::NotPem { binary: true } => f.write_str(
                "not PEM: the input is binary (DER or PKCS#12?); convert it to PEM, e.g. \
                 `openssl x509 -inform der` for a certificate or \
                 `openssl pkcs12 -nodes` for a .p12/.pfx file",
            ),
            StoreError::NotPem { binary: false } => {
                f.write_str("not PEM: no \"-----BEGIN ...-----\" line found")
            }
            StoreError::BadPem { block, label, detail } => {
                write!(f, "PEM block #{block} ({label}) is malformed: {detail}")
            }
            StoreError::UnexpectedBlock {
                block,
                label,
                expected,
            } => write!(f, "PEM block #{block} is \"{label}\": {expected}"),
            StoreError::NoCertificate => f.write_str("PEM input has no CERTIFICATE block"),
            StoreError::NotX509 { index, detail } => write!(
                f,
                "certificate #{index} is not a valid X.509 certificate: {detail}"
            ),
            StoreError::Unusable { index, detail } => {
                write!(f, "certificate #{index} cannot be used: {detail}")
            }
            StoreError::KeyMissing => f.write_str(
                "no private key: a host certificate import needs the certificate chain \
                 and its PRIVATE KEY (PKCS#8), EC PRIVATE KEY (SEC1) or RSA PRIVATE KEY block",
            ),
            StoreError::KeyEncrypted => f.write_str(
                "the private key is encrypted, which is not supported: decrypt it first \
                 (e.g. `openssl pkey -in key.pem -out plain.pem`); the store protects it \
                 with file permissions",
            ),
            StoreError::MultipleKeys => f.write_str("more than one private key: give exactly one"),
            StoreError::KeyInvalid { detail } => write!(
                f,
                "the private key cannot be used: {detail} (supported: RSA 2048 to 8192 \
                 bits, ECDSA P-256 or P-384, Ed25519)"
            ),
            StoreError::KeyMismatch => f.write_str(
                "the private key does not match the certificate (their public keys \
                 differ); the first certificate must be the one issued for this key",
            ),
            StoreError::UnexpectedKey => f.write_str(
                "the input contains a private key; the Others store holds only \
                 trusted CA certificates: remove the key (and never send it anywhere)",
            ),
            StoreError::WrongEku { usage, found } => {
                let need = match usage {
                    Usage::TlsServer => "serverAuth",
                    Usage::TlsClient => "clientAuth",
                };
                write!(
                    f,
                    "the certificate's extendedKeyUsage ({found}) does not allow usage \
                     {usage}: it needs {need}, or no extendedKeyUsage extension at all"
                )
            }
            StoreError::CaAsHostCertificate => f.write_str(
                "the first certificate is a CA certificate (basicConstraints CA:TRUE); \
                 a host certificate must be an end-entity certificate (put CAs in the \
                 Others store; `openssl req -x509` marks certificates CA:TRUE unless given \
                 `-addext basicConstraints=CA:FALSE`)",
            ),
            StoreError::NoDigitalSignature => f.write_str(
                "the certificate's keyUsage lacks digitalSignature, which every allowed \
                 suite (ECDHE) needs to sign the handshake",
            ),
            StoreError::ChainOrder { detail } => f.write_str(detail),
            StoreError::DuplicateName { file_name } => write!(
                f,
                "a certificate named \"{file_name}\" already exists: delete it first or \
                 choose another file name"
            ),
            StoreError::InvalidFileName { name, reason } => {
                write!(f, "invalid file name \"{}\": {reason}", name.escape_debug())
            }
            StoreError::NotFound { file_name } => {
                write!(f, "no certificate named \"{file_name}\"")
            }
            StoreError::InvalidValue {
                what,
                value,
                expected,
            } => write!(
                f,
                "invalid {what} \"{}\": expected {expected}",
                value.escape_debug()
            ),
            StoreError::Corrupt { path, detail } => {
                write!(f, "{}: damaged store entry: {detail}", path.display())
            }
            StoreError::SystemBundle { path, detail } => {
                write!(f, "system CA bundle {}: {detail}", path.display())
            }
            StoreError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An error from a parameter value or from building a TLS configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// A configuration parameter the policy needs has no value, or the
    /// service has no TLS parameters.
    Config(String),
    /// A parameter value that is not one of the known values.
    InvalidValue {
        /// The parameter (`TlsVersion`, `CipherSuite`, ...).
        parameter: &'static str,
        /// The value given.
        value: String,
        /// The values accepted.
        expected: &'static str,
    },
    /// A known but refused minimum TLS version; `Display` says why.
    TlsVersionRefused(TlsVersionParam),
    /// A known but refused cipher-suite set; `Display` says why.
    CipherSuiteRefused(CipherSuiteParam),
    /// The validation needs the time, and the clock is not synchronised
    /// yet (the SIP service shows "Waiting for time synchronization").
    WaitingForTimeSync,
    /// The configured host name (or an SRV name) is not a valid DNS name or
    /// IP address.
    InvalidHostName {
        /// The name given.
        name: String,
    },
    /// A validation level the service does not have.
    LevelNotForService {
        /// The level.
        level: ValidationLevel,
        /// The service.
        service: Service,
    },
    /// No TlsServer host certificate associated to the service.
    NoHostCertificate {
        /// The service.
        service: Service,
    },
    /// Validation is asked for but there is no trusted CA at all.
    NoTrustedCa {
        /// What cannot be validated (`server certificates`, `client
        /// certificates`).
        what: &'static str,
    },
    /// rustls refused the configuration (should not happen; the text is
    /// rustls' message).
    Tls(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Config(why) => write!(f, "configuration: {why}"),
            PolicyError::InvalidValue {
                parameter,
                value,
                expected,
            } => write!(
                f,
                "invalid {parameter} \"{}\": expected {expected}",
                value.escape_debug()
            ),
            PolicyError::TlsVersionRefused(v) => {
                write!(f, "TLS version {v} refused: {}", v.refusal_reason())
            }
            PolicyError::CipherSuiteRefused(c) => {
                write!(f, "cipher suite set {c} refused: {}", c.refusal_reason())
            }
            PolicyError::WaitingForTimeSync => f.write_str(
                "waiting for time synchronization: certificate validity cannot be \
                 checked until the clock is synchronised (SNTP)",
            ),
            PolicyError::InvalidHostName { name } => write!(
                f,
                "\"{}\" is not a valid host name or IP address to check a certificate \
                 against",
                name.escape_debug()
            ),
            PolicyError::LevelNotForService { level, service } => write!(
                f,
                "validation level {level} is only for SIP, not for service {service}"
            ),
            PolicyError::NoHostCertificate { service } => write!(
                f,
                "no host certificate with usage TlsServer is associated to service \
                 {service}: import one (serverAuth extendedKeyUsage) and enable its \
                 {service} association"
            ),
            PolicyError::NoTrustedCa { what } => write!(
                f,
                "no trusted CA to validate {what}: import the CA certificates in the \
                 Others store{}",
                if *what == "server certificates" {
                    " or trust the system CAs (Cert.TrustSystemCas)"
                } else {
                    ""
                }
            ),
            PolicyError::Tls(e) => write!(f, "TLS configuration refused: {e}"),
        }
    }
}

impl std::error::Error for PolicyError {}
