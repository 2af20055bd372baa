//! From configuration parameters to a TLS policy.
//!
//! Each service's TLS settings are DGW parameters (`SipEp.TransportTlsVersion`,
//! `Cwmp.TransportCertificateValidation`, ...). This module knows which
//! parameters belong to which service and builds the [`ClientPolicy`] or
//! [`ServerPolicy`] from their values. It takes a lookup function rather than
//! a configuration type, so a service can feed it from the `params` crate
//! directly or from values read over D-Bus from confd.

use crate::params::{CipherSuiteParam, TlsVersionParam, ValidationLevel};
use crate::policy::{ClientPolicy, ServerPolicy};
use crate::{PolicyError, Service};

/// The parameters holding one service's TLS settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceTlsParams {
    /// Minimum TLS version.
    pub version: &'static str,
    /// Cipher-suite set.
    pub cipher_suites: &'static str,
    /// Validation level of the peer's certificate (clients); `None` where
    /// the DGW has no such parameter (the level is then HostName).
    pub validation: Option<&'static str>,
}

/// The status parameter saying whether the clock is synchronised.
pub const CLOCK_SYNCHRONIZED: &str = "Hoc.ClockSynchronized";
/// The parameter that adds the system CA bundle to the trusted CAs.
pub const TRUST_SYSTEM_CAS: &str = "Cert.TrustSystemCas";
/// SIP: whether the TLS server requires client certificates.
pub const SIP_CLIENT_AUTH: &str = "SipEp.InteropTlsClientAuthenticationEnable";

/// Which parameters configure `service`'s TLS, if it has any.
pub fn service_params(service: Service) -> Option<ServiceTlsParams> {
    let p = |version, cipher_suites, validation| {
        Some(ServiceTlsParams {
            version,
            cipher_suites,
            validation,
        })
    };
    match service {
        Service::Sip => p(
            "SipEp.TransportTlsVersion",
            "SipEp.TransportTlsCipherSuite",
            Some("SipEp.InteropTlsCertificateValidation"),
        ),
        Service::Cwmp => p(
            "Cwmp.TransportHttpsTlsVersion",
            "Cwmp.TransportHttpsCipherSuite",
            Some("Cwmp.TransportCertificateValidation"),
        ),
        Service::Web => p("Web.TlsVersion", "Web.HttpsCipherSuite", None),
        Service::Cert => p(
            "Cert.TransferHttpsTlsVersion",
            "Cert.TransferHttpsCipherSuite",
            None,
        ),
        Service::File => p(
            "File.TransferHttpsTlsVersion",
            "File.TransferHttpsCipherSuite",
            Some("File.TransferCertificateValidation"),
        ),
        Service::Conf => p(
            "Conf.ScriptsTransferTlsVersion",
            "Conf.ScriptsTransferCipherSuite",
            Some("Conf.ScriptsTransferCertificateValidation"),
        ),
        _ => None,
    }
}

fn lookup(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, PolicyError> {
    get(name).ok_or_else(|| PolicyError::Config(format!("{name} has no value")))
}

fn common(
    service: Service,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(ServiceTlsParams, TlsVersionParam, CipherSuiteParam, bool), PolicyError> {
    let sp = service_params(service)
        .ok_or_else(|| PolicyError::Config(format!("service {} has no TLS parameters", service.as_str())))?;
    let version = TlsVersionParam::parse(&lookup(get, sp.version)?)?;
    let suites = CipherSuiteParam::parse(&lookup(get, sp.cipher_suites)?)?;
    let synced = get(CLOCK_SYNCHRONIZED).is_some_and(|v| v.eq_ignore_ascii_case("Yes"));
    Ok((sp, version, suites, synced))
}

/// The client policy of `service` from its parameters. The host name to
/// validate is left to the caller (the configured server).
pub fn client_policy(
    service: Service,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<ClientPolicy, PolicyError> {
    let (sp, version, suites, synced) = common(service, get)?;
    let mut p = ClientPolicy::new(service);
    p.min_version = version;
    p.cipher_suites = suites;
    p.clock_synchronised = synced;
    if let Some(v) = sp.validation {
        p.validation = ValidationLevel::parse(&lookup(get, v)?)?;
    }
    Ok(p)
}

/// The server policy of `service` from its parameters.
pub fn server_policy(
    service: Service,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<ServerPolicy, PolicyError> {
    let (_, version, suites, synced) = common(service, get)?;
    let mut p = ServerPolicy::new(service);
    p.min_version = version;
    p.cipher_suites = suites;
    p.clock_synchronised = synced;
    if service == Service::Sip {
        p.require_client_cert = get(SIP_CLIENT_AUTH).is_some_and(|v| v.eq_ignore_ascii_case("Enable"));
    }
    Ok(p)
}

/// Whether `Cert.TrustSystemCas` asks for the system CA bundle.
pub fn trust_system_cas(get: &dyn Fn(&str) -> Option<String>) -> bool {
    get(TRUST_SYSTEM_CAS).is_some_and(|v| v.eq_ignore_ascii_case("Enable"))
}

/// The system CA bundle, found the way OpenSSL finds it on this system
/// (`SSL_CERT_FILE`, then the distribution's usual paths).
pub fn system_ca_bundle() -> Option<std::path::PathBuf> {
    openssl_probe::probe().cert_file.filter(|p| p.is_file())
}
