//! # pki: certificate stores and TLS policy
//!
//! Every TLS service of the gateway (SIP, web, CWMP, file and certificate
//! transfers, 802.1X...) gets its rustls configuration from this crate, so
//! that they all follow one model, the Media5 Mediatrix DGW's, with secure
//! defaults.
//!
//! ## The DGW model
//!
//! - **Two stores.** *Host* holds the unit's own certificates with their
//!   private keys; *Others* holds the trusted CAs (roots and intermediates)
//!   that peers are validated against. Each entry is indexed by a file name
//!   and listed with the DGW info columns (FileName, IssuedTo, IssuedBy,
//!   ValidFrom, ValidTo, and Usage for Host or CertificateAuthority for
//!   Others): see [`CertStore`], [`HostCertInfo`], [`OthersCertInfo`].
//! - **Usage.** A host certificate is `TlsClient` (our side of mutual TLS)
//!   or `TlsServer` (HTTPS, SIP-TLS server) ([`Usage`]).
//! - **Association.** Each host certificate is enabled or disabled per
//!   service, all enabled by default (`Cert.HostCertificateAssociation`,
//!   [`ServiceSet`]).
//! - **Chain files.** An Others chain file is the root first, then the
//!   intermediates in order. A host file is the certificate first, then its
//!   issuers (the order TLS sends them).
//! - **Parameters.** Per service: minimum TLS version ("this and up"),
//!   cipher-suite set `CS1|CS2|CS3`, validation level
//!   `NoValidation|TrustedCertificate|DnsSrvResponse|HostName`, and for the
//!   SIP server whether client certificates are required
//!   ([`TlsVersionParam`], [`CipherSuiteParam`], [`ValidationLevel`],
//!   [`ClientPolicy`], [`ServerPolicy`]).
//! - **Time.** Validation depends on the clock: until it is synchronised a
//!   validating configuration is not built
//!   ([`PolicyError::WaitingForTimeSync`]; SIP shows "Waiting for time
//!   synchronization").
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pki::{CertStore, ClientPolicy, Service, ValidationLevel};
//! let store = CertStore::open("/var/lib/dgw/certs")?;
//! let pki = store.snapshot(false, None)?; // Cert.TrustSystemCas = Disable
//! let mut policy = ClientPolicy::new(Service::Sip);
//! policy.validation = ValidationLevel::parse("hostname")?;
//! policy.host_name = Some("sip.example.net".into());
//! policy.clock_synchronised = true;
//! let config = pki::client_config(&policy, &pki)?; // Arc<rustls::ClientConfig>
//! # let _ = config; Ok(()) }
//! ```
//!
//! ## Where we are stricter than the DGW, and why
//!
//! | DGW | here | why |
//! | --- | --- | --- |
//! | `SSLv3`, `TLSv1`, `TLSv1_1` allowed; default `TLSv1` | refused with an explanation; default `TLSv1_2`; `TLSv1_3` added | RFC 7568 and RFC 8996 forbid them; rustls does not implement them |
//! | `CS1`, `CS2` (RC4, 3DES, CBC, static RSA); default `CS1` | refused with an explanation; default `CS3` | RC4 is forbidden (RFC 7465), 3DES falls to Sweet32, CBC MAC-then-encrypt to padding oracles, static RSA has no forward secrecy |
//! | `CS3` includes static-RSA, ECDH, DHE and CBC suites | `CS3` = ECDHE with AES-GCM or ChaCha20-Poly1305 only | same reasons; every modern peer has these |
//! | name matched against SAN **or CN** | subjectAltName only (dNSName, iPAddress), by webpki | CN matching is deprecated (RFC 6125, CA/B Forum); a peer with a CN-only certificate can still be used at `TrustedCertificate` |
//! | any key accepted | the key must match the certificate; EKU must allow the usage; keyUsage, if present, must allow digitalSignature; no CA certificate as host certificate | each of these would only fail later, during a handshake, with a less clear message |
//! | encrypted private keys (unverified) | refused: decrypt first | the key would need a passphrase stored next to it anyway; the file is created mode 0600 instead |
//! | mutual TLS: client certificate validated against the trusted CAs | against the Others store only, never the system bundle | public CAs issue clientAuth certificates to anyone |
//! | certificates trusted from the stores only | the system CA bundle can be trusted too, off unless `Cert.TrustSystemCas` is set | explicit opt-in, for ACS or file servers with public certificates |
//! | OCSP trust levels | not implemented (`LocallyTrusted` behaviour) | no network access to responders is assumed; revocation is by deleting the CA |
//!
//! At every level, `NoValidation` included, the peer must present a
//! certificate and the handshake signature made with its key is verified.
//!
//! ## Storage
//! See [`store`] for the on-disk layout and the crash-safety rules: keys
//! are created with mode 0600, every write goes through a temporary file or
//! directory, fsync, rename and a directory fsync.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
pub mod import;
pub mod model;
pub mod params;
pub mod policy;
pub mod settings;
pub mod store;
mod verify;

pub use error::{PolicyError, StoreError};
pub use import::{
    parse_host_pem, parse_others, validate_file_name, HostBundle, MAX_FILE_NAME_LEN, MAX_IMPORT_SIZE,
};
pub use model::{HostCertInfo, OthersCertInfo, Service, ServiceSet, Usage};
pub use params::{CipherSuiteParam, TlsVersionParam, ValidationLevel};
pub use policy::{
    cipher_suites, client_config, crypto_provider, protocol_versions, server_config, ClientPolicy,
    ServerPolicy,
};
pub use store::{CertStore, HostCredential, PkiSnapshot, SYSTEM_CA_BUNDLE};
