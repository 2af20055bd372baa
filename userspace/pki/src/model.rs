//! The DGW certificate model: usages, services, and the information
//! columns of the Host and Others stores.

use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

/// `HostCertificatesInfo.Usage`: what a host certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Usage {
    /// Client side of mutual TLS (SIP-TLS, CWMP, file transfers, 802.1X).
    /// The certificate's extendedKeyUsage, if present, must list clientAuth.
    TlsClient,
    /// Server side (HTTPS, SIP-TLS server). The extendedKeyUsage, if
    /// present, must list serverAuth.
    TlsServer,
}

impl Usage {
    /// The canonical DGW spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::TlsClient => "TlsClient",
            Usage::TlsServer => "TlsServer",
        }
    }

    /// Parses `TlsClient` or `TlsServer` (case-insensitive).
    pub fn parse(s: &str) -> Result<Usage, StoreError> {
        let t = s.trim();
        [Usage::TlsClient, Usage::TlsServer]
            .into_iter()
            .find(|u| u.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| StoreError::InvalidValue {
                what: "Usage",
                value: s.to_string(),
                expected: "TlsClient|TlsServer",
            })
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Usage {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A service that may use a host certificate (the columns of the DGW's
/// `Cert.HostCertificateAssociation` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// SIP endpoint (SipEp).
    Sip,
    /// Web server (HTTPS).
    Web,
    /// 802.1X EAP-TLS.
    Eap,
    /// Configuration script transfers.
    Conf,
    /// Firmware pack updates.
    Fpu,
    /// File transfers.
    File,
    /// Certificate transfers.
    Cert,
    /// Session border controller.
    Sbc,
    /// TR-069 (CWMP).
    Cwmp,
    /// Network monitoring (packet capture transfers).
    Nlm,
}

impl Service {
    /// Every service, in DGW column order.
    pub const ALL: [Service; 10] = [
        Service::Sip,
        Service::Web,
        Service::Eap,
        Service::Conf,
        Service::Fpu,
        Service::File,
        Service::Cert,
        Service::Sbc,
        Service::Cwmp,
        Service::Nlm,
    ];

    /// The canonical DGW spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Sip => "Sip",
            Service::Web => "Web",
            Service::Eap => "Eap",
            Service::Conf => "Conf",
            Service::Fpu => "Fpu",
            Service::File => "File",
            Service::Cert => "Cert",
            Service::Sbc => "Sbc",
            Service::Cwmp => "Cwmp",
            Service::Nlm => "Nlm",
        }
    }

    /// Parses a service name (case-insensitive).
    pub fn parse(s: &str) -> Result<Service, StoreError> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| StoreError::InvalidValue {
                what: "Service",
                value: s.to_string(),
                expected: "Sip|Web|Eap|Conf|Fpu|File|Cert|Sbc|Cwmp|Nlm",
            })
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The services a host certificate is associated to (one row of
/// `Cert.HostCertificateAssociation`). All are enabled by default.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceSet(u16);

impl ServiceSet {
    /// Every service enabled (the DGW default).
    pub fn all() -> ServiceSet {
        ServiceSet(Service::ALL.iter().fold(0, |a, s| a | s.bit()))
    }

    /// No service enabled.
    pub fn none() -> ServiceSet {
        ServiceSet(0)
    }

    /// Whether `service` is enabled.
    pub fn contains(self, service: Service) -> bool {
        self.0 & service.bit() != 0
    }

    /// Enables or disables `service`.
    pub fn set(&mut self, service: Service, enabled: bool) {
        if enabled {
            self.0 |= service.bit();
        } else {
            self.0 &= !service.bit();
        }
    }

    /// This set with `service` enabled or disabled.
    pub fn with(mut self, service: Service, enabled: bool) -> ServiceSet {
        self.set(service, enabled);
        self
    }

    /// The enabled services, in DGW column order.
    pub fn iter(self) -> impl Iterator<Item = Service> {
        Service::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Parses a comma-separated list of service names (`""` is none).
    pub fn parse_list(s: &str) -> Result<ServiceSet, StoreError> {
        let mut set = ServiceSet::none();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            set.set(Service::parse(part)?, true);
        }
        Ok(set)
    }
}

impl Default for ServiceSet {
    /// Every service enabled.
    fn default() -> Self {
        ServiceSet::all()
    }
}

impl FromIterator<Service> for ServiceSet {
    fn from_iter<I: IntoIterator<Item = Service>>(iter: I) -> Self {
        let mut set = ServiceSet::none();
        for s in iter {
            set.set(s, true);
        }
        set
    }
}

impl fmt::Display for ServiceSet {
    /// Comma-separated service names, e.g. `Sip,Web`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Service::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for ServiceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceSet({self})")
    }
}

/// One row of the Host store listing (the DGW `HostCertificatesInfo`
/// columns plus the association and a few extras).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCertInfo {
    /// `FileName`, the index.
    pub file_name: String,
    /// `IssuedTo`: the leaf's subject.
    pub issued_to: String,
    /// `IssuedBy`: the leaf's issuer.
    pub issued_by: String,
    /// `ValidFrom`, as text.
    pub valid_from: String,
    /// `ValidTo`, as text.
    pub valid_to: String,
    /// `Usage`.
    pub usage: Usage,
    /// The services that may use it (`HostCertificateAssociation`).
    pub services: ServiceSet,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Number of certificates in the stored chain (leaf included).
    pub chain_len: usize,
    /// DNS names and IP addresses of the leaf's subjectAltName.
    pub subject_alt_names: Vec<String>,
}

/// One certificate of the Others store listing (the DGW
/// `OthersCertificatesInfo` columns). A file holding a chain gives one row
/// per certificate, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OthersCertInfo {
    /// `FileName`, the index (shared by the certificates of one file).
    pub file_name: String,
    /// Position in the file, 1-based (the root of a chain file is 1).
    pub position: usize,
    /// `IssuedTo`.
    pub issued_to: String,
    /// `IssuedBy`.
    pub issued_by: String,
    /// `ValidFrom`, as text.
    pub valid_from: String,
    /// `ValidTo`, as text.
    pub valid_to: String,
    /// `CertificateAuthority`: basicConstraints CA is true.
    pub certificate_authority: bool,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

impl OthersCertInfo {
    /// The DGW spelling of the `CertificateAuthority` column.
    pub fn certificate_authority_text(&self) -> &'static str {
        if self.certificate_authority {
            "Yes"
        } else {
            "No"
        }
    }
}
