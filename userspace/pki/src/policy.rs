//! The TLS policy: one pure function per side turns the DGW parameters and
//! a [`PkiSnapshot`] into a rustls configuration.
//!
//! | input | client ([`ClientPolicy`]) | server ([`ServerPolicy`]) |
//! | --- | --- | --- |
//! | minimum version | `TLSv1_2` → TLS 1.2 + 1.3; `TLSv1_3` → 1.3 | same |
//! | cipher suites | `CS3` → ECDHE + AEAD (below) | same |
//! | peer validation | [`ValidationLevel`] | client certificate required or not |
//! | own certificate | TlsClient host cert of the service, if any | TlsServer host cert of the service (required) |
//! | clock | not synchronised + validation → [`PolicyError::WaitingForTimeSync`] | same, when client certificates are required |
//!
//! `CS3` is the ring provider's ECDHE suites with AEAD ciphers only:
//! TLS 1.3 `TLS13_AES_256_GCM_SHA384`, `TLS13_AES_128_GCM_SHA256`,
//! `TLS13_CHACHA20_POLY1305_SHA256`; TLS 1.2
//! `TLS_ECDHE_{ECDSA,RSA}_WITH_AES_256_GCM_SHA384`,
//! `..._AES_128_GCM_SHA256` and `..._CHACHA20_POLY1305_SHA256`.
//!
//! Every configuration has `enable_secret_extraction = true`, so that
//! `ktls_offload` can hand the session to the kernel.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::SingleCertAndKey;
use rustls::{ClientConfig, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

use crate::error::PolicyError;
use crate::model::{Service, Usage};
use crate::params::{CipherSuiteParam, TlsVersionParam, ValidationLevel};
use crate::store::PkiSnapshot;
use crate::verify::LevelVerifier;

/// What a service asks for as a TLS client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// The service (picks the TlsClient host certificate).
    pub service: Service,
    /// Minimum TLS version.
    pub min_version: TlsVersionParam,
    /// Cipher-suite set.
    pub cipher_suites: CipherSuiteParam,
    /// How the server's certificate is checked.
    pub validation: ValidationLevel,
    /// The configured FQDN or IP address the certificate must match at
    /// `HostName` and `DnsSrvResponse`. `None`: the name given to
    /// `ktls_offload::connect`.
    pub host_name: Option<String>,
    /// At `DnsSrvResponse`, the target names DNS SRV returned, accepted in
    /// addition to `host_name` (a trailing dot is ignored).
    pub srv_names: Vec<String>,
    /// Whether the clock is synchronised (SNTP).
    pub clock_synchronised: bool,
    /// ALPN protocols to offer (empty: none).
    pub alpn: Vec<Vec<u8>>,
}

impl ClientPolicy {
    /// The secure defaults for `service`: TLSv1_2, CS3, HostName, the
    /// name given to `connect`, clock not synchronised.
    pub fn new(service: Service) -> ClientPolicy {
        ClientPolicy {
            service,
            min_version: TlsVersionParam::Tlsv1_2,
            cipher_suites: CipherSuiteParam::Cs3,
            validation: ValidationLevel::HostName,
            host_name: None,
            srv_names: Vec::new(),
            clock_synchronised: false,
            alpn: Vec::new(),
        }
    }
}

/// What a service asks for as a TLS server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPolicy {
    /// The service (picks the TlsServer host certificate).
    pub service: Service,
    /// Minimum TLS version.
    pub min_version: TlsVersionParam,
    /// Cipher-suite set.
    pub cipher_suites: CipherSuiteParam,
    /// Require a client certificate and validate it at the
    /// TrustedCertificate level against the Others store (SIP's
    /// `InteropTlsClientAuthenticationEnable`).
    pub require_client_cert: bool,
    /// Whether the clock is synchronised (SNTP).
    pub clock_synchronised: bool,
    /// ALPN protocols to accept, in preference order (empty: none).
    pub alpn: Vec<Vec<u8>>,
}

impl ServerPolicy {
    /// The secure defaults for `service`: TLSv1_2, CS3, no client
    /// certificate, clock not synchronised.
    pub fn new(service: Service) -> ServerPolicy {
        ServerPolicy {
            service,
            min_version: TlsVersionParam::Tlsv1_2,
            cipher_suites: CipherSuiteParam::Cs3,
            require_client_cert: false,
            clock_synchronised: false,
            alpn: Vec::new(),
        }
    }
}

/// The protocol versions a minimum version allows (refused values give
/// their explanatory error).
pub fn protocol_versions(
    min: TlsVersionParam,
) -> Result<&'static [&'static SupportedProtocolVersion], PolicyError> {
    static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    static TLS12_UP: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS13, &rustls::version::TLS12];
    min.ensure_supported()?;
    Ok(match min {
        TlsVersionParam::Tlsv1_3 => &TLS13_ONLY,
        _ => &TLS12_UP,
    })
}

/// The rustls suites of a cipher-suite set, restricted to the versions
/// `min` allows.
pub fn cipher_suites(
    set: CipherSuiteParam,
    min: TlsVersionParam,
) -> Result<Vec<SupportedCipherSuite>, PolicyError> {
    set.ensure_supported()?;
    min.ensure_supported()?;
    use ring::cipher_suite as cs;
    let mut suites = vec![
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    if min == TlsVersionParam::Tlsv1_2 {
        suites.extend([
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ]);
    }
    Ok(suites)
}

/// The ring provider restricted to the suites of `set` and `min`.
pub fn crypto_provider(
    set: CipherSuiteParam,
    min: TlsVersionParam,
) -> Result<Arc<CryptoProvider>, PolicyError> {
    let mut p = ring::default_provider();
    p.cipher_suites = cipher_suites(set, min)?;
    Ok(Arc::new(p))
}

/// A configured name as rustls wants it; a trailing dot (absolute DNS
/// name, as SRV targets are written) is dropped.
fn server_name(name: &str) -> Result<ServerName<'static>, PolicyError> {
    let t = name.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    ServerName::try_from(t.to_string()).map_err(|_| PolicyError::InvalidHostName {
        name: name.to_string(),
    })
}

fn tls_err(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Tls(e.to_string())
}

fn now_if(synchronised: bool) -> Option<UnixTime> {
    synchronised.then(UnixTime::now)
}

/// Builds the client configuration for `policy` from `pki`.
///
/// The TlsClient host certificate associated to the service, if there is
/// one, is offered when the server asks for a client certificate.
/// Errors: refused version or suites, `DnsSrvResponse` outside SIP, an
/// invalid host or SRV name, no trusted CA at a level that needs one, and
/// [`PolicyError::WaitingForTimeSync`] (checked last: the others are
/// configuration mistakes the operator must fix anyway).
pub fn client_config(policy: &ClientPolicy, pki: &PkiSnapshot) -> Result<Arc<ClientConfig>, PolicyError> {
    let versions = protocol_versions(policy.min_version)?;
    let provider = crypto_provider(policy.cipher_suites, policy.min_version)?;
    let level = policy.validation;
    if level == ValidationLevel::DnsSrvResponse && policy.service != Service::Sip {
        return Err(PolicyError::LevelNotForService {
            level,
            service: policy.service,
        });
    }
    let host_name = policy.host_name.as_deref().map(server_name).transpose()?;
    let srv_names = if level == ValidationLevel::DnsSrvResponse {
        policy
            .srv_names
            .iter()
            .map(|n| server_name(n))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let roots = pki.server_roots();
    if level.needs_time() && roots.is_empty() {
        return Err(PolicyError::NoTrustedCa {
            what: "server certificates",
        });
    }
    if level.needs_time() && !policy.clock_synchronised {
        return Err(PolicyError::WaitingForTimeSync);
    }
    let verifier: Arc<dyn ServerCertVerifier> = Arc::new(LevelVerifier {
        level,
        roots,
        host_name,
        srv_names,
        algs: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let own = pki.host_certificate(
        policy.service,
        Usage::TlsClient,
        now_if(policy.clock_synchronised),
    );
    let mut config = match own {
        Some(h) => {
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(h.certified_key.clone())))
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_secret_extraction = true;
    config.alpn_protocols = policy.alpn.clone();
    Ok(Arc::new(config))
}

/// Builds the server configuration for `policy` from `pki`.
///
/// Uses the TlsServer host certificate associated to the service
/// ([`PkiSnapshot::host_certificate`] says which);
/// [`PolicyError::NoHostCertificate`] if there is none. With
/// `require_client_cert`, clients must present a certificate that chains
/// to a CA of the Others store (not the system bundle), is in its validity
/// period and allows clientAuth; that needs a synchronised clock.
pub fn server_config(policy: &ServerPolicy, pki: &PkiSnapshot) -> Result<Arc<ServerConfig>, PolicyError> {
    let versions = protocol_versions(policy.min_version)?;
    let provider = crypto_provider(policy.cipher_suites, policy.min_version)?;
    let own = pki
        .host_certificate(
            policy.service,
            Usage::TlsServer,
            now_if(policy.clock_synchronised),
        )
        .ok_or(PolicyError::NoHostCertificate {
            service: policy.service,
        })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(tls_err)?;
    let builder = if policy.require_client_cert {
        let roots = pki.client_roots();
        if roots.is_empty() {
            return Err(PolicyError::NoTrustedCa {
                what: "client certificates",
            });
        }
        if !policy.clock_synchronised {
            return Err(PolicyError::WaitingForTimeSync);
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(tls_err)?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(own.certified_key.clone())));
    config.enable_secret_extraction = true;
    config.alpn_protocols = policy.alpn.clone();
    Ok(Arc::new(config))
}
