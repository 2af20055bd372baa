//! The DGW parameter values the TLS policy is built from: minimum TLS
//! version, cipher-suite set and certificate validation level.
//!
//! Parsing is case-insensitive and `Display` gives the canonical DGW
//! spelling, so the configuration layer can use these types for its value
//! checks and its messages.

use std::fmt;
use std::str::FromStr;

use crate::error::PolicyError;

/// `*TlsVersion`: the lowest TLS version a service accepts ("this version
/// and up").
///
/// The DGW values are `SSLv3|TLSv1|TLSv1_1|TLSv1_2`; we add `TLSv1_3`.
/// Only `TLSv1_2` and `TLSv1_3` are implemented: the older ones are known
/// (so an imported DGW configuration gets a precise message) but refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsVersionParam {
    /// `SSLv3`: refused (RFC 7568).
    Sslv3,
    /// `TLSv1` (TLS 1.0 and up): refused (RFC 8996).
    Tlsv1,
    /// `TLSv1_1` (TLS 1.1 and up): refused (RFC 8996).
    Tlsv1_1,
    /// `TLSv1_2`: TLS 1.2 and TLS 1.3. Our default.
    Tlsv1_2,
    /// `TLSv1_3`: TLS 1.3 only.
    Tlsv1_3,
}

impl TlsVersionParam {
    /// Every value, in DGW order.
    pub const ALL: [TlsVersionParam; 5] = [
        TlsVersionParam::Sslv3,
        TlsVersionParam::Tlsv1,
        TlsVersionParam::Tlsv1_1,
        TlsVersionParam::Tlsv1_2,
        TlsVersionParam::Tlsv1_3,
    ];

    /// The values that can be configured, for messages.
    pub const SUPPORTED: &'static str = "TLSv1_2|TLSv1_3";

    /// Parses a value and refuses the deprecated ones with an explanation:
    /// this is the check the configuration layer runs.
    pub fn parse(s: &str) -> Result<TlsVersionParam, PolicyError> {
        let v = Self::parse_dgw(s)?;
        v.ensure_supported()?;
        Ok(v)
    }

    /// Recognises every DGW spelling, including the refused ones (for
    /// migration tools that want to map `TLSv1` to `TLSv1_2` themselves).
    pub fn parse_dgw(s: &str) -> Result<TlsVersionParam, PolicyError> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| PolicyError::InvalidValue {
                parameter: "TlsVersion",
                value: s.to_string(),
                expected: Self::SUPPORTED,
            })
    }

    /// `Ok` for `TLSv1_2` and `TLSv1_3`; for the others an error that says
    /// why they are refused and what to use.
    pub fn ensure_supported(self) -> Result<(), PolicyError> {
        match self {
            TlsVersionParam::Tlsv1_2 | TlsVersionParam::Tlsv1_3 => Ok(()),
            refused => Err(PolicyError::TlsVersionRefused(refused)),
        }
    }

    /// The canonical DGW spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersionParam::Sslv3 => "SSLv3",
            TlsVersionParam::Tlsv1 => "TLSv1",
            TlsVersionParam::Tlsv1_1 => "TLSv1_1",
            TlsVersionParam::Tlsv1_2 => "TLSv1_2",
            TlsVersionParam::Tlsv1_3 => "TLSv1_3",
        }
    }

    /// Why a refused value is refused (empty for the supported ones).
    pub fn refusal_reason(self) -> &'static str {
        match self {
            TlsVersionParam::Sslv3 => {
                "SSL 3.0 is prohibited by RFC 7568 and not implemented; \
                 use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"
            }
            TlsVersionParam::Tlsv1 => {
                "TLS 1.0 is deprecated by RFC 8996 and not implemented; \
                 use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"
            }
            TlsVersionParam::Tlsv1_1 => {
                "TLS 1.1 is deprecated by RFC 8996 and not implemented; \
                 use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"
            }
            TlsVersionParam::Tlsv1_2 | TlsVersionParam::Tlsv1_3 => "",
        }
    }
}

impl Default for TlsVersionParam {
    /// `TLSv1_2` (the DGW default, `TLSv1`, is refused).
    fn default() -> Self {
        TlsVersionParam::Tlsv1_2
    }
}

impl fmt::Display for TlsVersionParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsVersionParam {
    type Err = PolicyError;
    /// Same as [`TlsVersionParam::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `*CipherSuite`: the DGW cipher-suite set.
///
/// Only `CS3` is implemented, and as a subset: the ECDHE key exchanges with
/// AEAD ciphers (see [`crate::policy`]). `CS1` and `CS2` are known but
/// refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherSuiteParam {
    /// `CS1`: static-RSA CBC, 3DES and RC4 suites. Refused.
    Cs1,
    /// `CS2`: static-RSA and DHE CBC and 3DES suites. Refused.
    Cs2,
    /// `CS3`: ECDHE with AES-GCM or ChaCha20-Poly1305. Our default.
    Cs3,
}

impl CipherSuiteParam {
    /// Every value.
    pub const ALL: [CipherSuiteParam; 3] = [
        CipherSuiteParam::Cs1,
        CipherSuiteParam::Cs2,
        CipherSuiteParam::Cs3,
    ];

    /// The values that can be configured, for messages.
    pub const SUPPORTED: &'static str = "CS3";

    /// Parses a value and refuses `CS1` and `CS2` with an explanation.
    pub fn parse(s: &str) -> Result<CipherSuiteParam, PolicyError> {
        let v = Self::parse_dgw(s)?;
        v.ensure_supported()?;
        Ok(v)
    }

    /// Recognises every DGW value, including the refused ones.
    pub fn parse_dgw(s: &str) -> Result<CipherSuiteParam, PolicyError> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| PolicyError::InvalidValue {
                parameter: "CipherSuite",
                value: s.to_string(),
                expected: Self::SUPPORTED,
            })
    }

    /// `Ok` for `CS3`; for the others an error that says why.
    pub fn ensure_supported(self) -> Result<(), PolicyError> {
        match self {
            CipherSuiteParam::Cs3 => Ok(()),
            refused => Err(PolicyError::CipherSuiteRefused(refused)),
        }
    }

    /// The canonical DGW spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CipherSuiteParam::Cs1 => "CS1",
            CipherSuiteParam::Cs2 => "CS2",
            CipherSuiteParam::Cs3 => "CS3",
        }
    }

    /// Why a refused value is refused (empty for `CS3`).
    pub fn refusal_reason(self) -> &'static str {
        match self {
            CipherSuiteParam::Cs1 => {
                "CS1 is static-RSA key exchange (no forward secrecy) with CBC, 3DES \
                 and RC4 ciphers (RC4 is prohibited by RFC 7465, 3DES is broken by \
                 Sweet32, CBC with MAC-then-encrypt is open to padding oracles): \
                 not implemented; use CS3 (ECDHE with AES-GCM or ChaCha20-Poly1305)"
            }
            CipherSuiteParam::Cs2 => {
                "CS2 is static-RSA and finite-field DHE key exchange with CBC and \
                 3DES ciphers (no forward secrecy for the RSA suites, 3DES is broken \
                 by Sweet32, CBC with MAC-then-encrypt is open to padding oracles): \
                 not implemented; use CS3 (ECDHE with AES-GCM or ChaCha20-Poly1305)"
            }
            CipherSuiteParam::Cs3 => "",
        }
    }
}

impl Default for CipherSuiteParam {
    /// `CS3` (the DGW default, `CS1`, is refused).
    fn default() -> Self {
        CipherSuiteParam::Cs3
    }
}

impl fmt::Display for CipherSuiteParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CipherSuiteParam {
    type Err = PolicyError;
    /// Same as [`CipherSuiteParam::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `*CertificateValidation`: how much of the peer's certificate is checked.
///
/// In every level the peer must present a certificate and prove it holds
/// the key (the handshake signature is always verified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValidationLevel {
    /// `NoValidation`: any certificate is accepted (lab use only).
    NoValidation,
    /// `TrustedCertificate`: the chain leads to a CA of the Others store
    /// (or of the system bundle when trusted) and every certificate is in
    /// its validity period; the name is not checked.
    TrustedCertificate,
    /// `DnsSrvResponse` (SIP only): trusted, and the name matches the
    /// configured host name or one of the names DNS SRV returned.
    DnsSrvResponse,
    /// `HostName`: trusted, and the name matches the configured host name.
    /// The DGW default and ours.
    HostName,
}

impl ValidationLevel {
    /// Every value, weakest first.
    pub const ALL: [ValidationLevel; 4] = [
        ValidationLevel::NoValidation,
        ValidationLevel::TrustedCertificate,
        ValidationLevel::DnsSrvResponse,
        ValidationLevel::HostName,
    ];

    /// The values, for messages.
    pub const VALUES: &'static str = "NoValidation|TrustedCertificate|DnsSrvResponse|HostName";

    /// Parses a value (case-insensitive).
    pub fn parse(s: &str) -> Result<ValidationLevel, PolicyError> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| PolicyError::InvalidValue {
                parameter: "CertificateValidation",
                value: s.to_string(),
                expected: Self::VALUES,
            })
    }

    /// The canonical DGW spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationLevel::NoValidation => "NoValidation",
            ValidationLevel::TrustedCertificate => "TrustedCertificate",
            ValidationLevel::DnsSrvResponse => "DnsSrvResponse",
            ValidationLevel::HostName => "HostName",
        }
    }

    /// Whether this level depends on the clock (every level but
    /// `NoValidation` checks validity periods).
    pub fn needs_time(self) -> bool {
        self != ValidationLevel::NoValidation
    }
}

impl Default for ValidationLevel {
    /// `HostName`, as on the DGW.
    fn default() -> Self {
        ValidationLevel::HostName
    }
}

impl fmt::Display for ValidationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ValidationLevel {
    type Err = PolicyError;
    /// Same as [`ValidationLevel::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
