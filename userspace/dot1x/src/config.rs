//! The DGW parameters of 802.1X, and what they mean for one link once the
//! certificate stores are read: either "do not authenticate, and why" or
//! the material to give wpa_supplicant.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pki::{CertStore, Service, Usage};
use rustls::pki_types::{CertificateDer, UnixTime};

use crate::error::Error;
use crate::status::Status;

/// `Eth.Eap.CertificateValidation`: how the authentication server's
/// certificate is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CertificateValidation {
    /// The server's certificate is not checked at all (wpa_supplicant gets
    /// no CA certificate). **Lab use only**: anyone on the wire can then
    /// impersonate the authentication server. Attempted whatever the clock.
    NoValidation,
    /// The server's certificate must chain to a CA of the Others store and
    /// be valid now. Attempted only once the clock is synchronised, with
    /// the currently valid host certificate that expires last.
    #[default]
    TrustedAndValid,
}

impl CertificateValidation {
    /// The DGW spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateValidation::NoValidation => "NoValidation",
            CertificateValidation::TrustedAndValid => "TrustedAndValid",
        }
    }

    /// Parses the DGW spelling (case-insensitive).
    pub fn parse(s: &str) -> Result<CertificateValidation, Error> {
        let t = s.trim();
        [
            CertificateValidation::NoValidation,
            CertificateValidation::TrustedAndValid,
        ]
        .into_iter()
        .find(|v| v.as_str().eq_ignore_ascii_case(t))
        .ok_or_else(|| Error::InvalidValue {
            what: "Eth.Eap.CertificateValidation",
            value: s.chars().take(80).collect(),
            expected: "NoValidation|TrustedAndValid",
        })
    }
}

impl fmt::Display for CertificateValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CertificateValidation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `Eth.Ieee8021XVersion`: the EAPOL protocol version we send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EapolVersion {
    /// IEEE 802.1X-2001 (EAPOL version 1), the DGW default and what most
    /// switches expect.
    #[default]
    V2001,
    /// IEEE 802.1X-2004 (EAPOL version 2).
    V2004,
}

impl EapolVersion {
    /// The DGW spelling, `2001` or `2004`.
    pub fn as_str(self) -> &'static str {
        match self {
            EapolVersion::V2001 => "2001",
            EapolVersion::V2004 => "2004",
        }
    }

    /// Parses `2001` or `2004`.
    pub fn parse(s: &str) -> Result<EapolVersion, Error> {
        match s.trim() {
            "2001" => Ok(EapolVersion::V2001),
            "2004" => Ok(EapolVersion::V2004),
            _ => Err(Error::InvalidValue {
                what: "Eth.Ieee8021XVersion",
                value: s.chars().take(80).collect(),
                expected: "2001|2004",
            }),
        }
    }

    /// wpa_supplicant's `eapol_version` value.
    pub(crate) fn wpa_value(self) -> &'static str {
        match self {
            EapolVersion::V2001 => "1",
            EapolVersion::V2004 => "2",
        }
    }
}

impl fmt::Display for EapolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EapolVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// What 802.1X should do on one link: the DGW parameters plus the clock
/// state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `Eth.Ieee8021X[Link].Enable`.
    pub enabled: bool,
    /// `Eth.Ieee8021X[Link].UserName`, the EAP identity. When empty, the
    /// common name of the host certificate is used.
    pub identity: String,
    /// `Eth.Eap.CertificateValidation`.
    pub validation: CertificateValidation,
    /// `Eth.Ieee8021XVersion`. wpa_supplicant holds it per interface, so
    /// it applies to every network on the link.
    pub eapol_version: EapolVersion,
    /// Whether the clock is synchronised (`Hoc.ClockSynchronized`).
    pub clock_synchronised: bool,
}

/// The longest EAP identity: what a RADIUS User-Name attribute can carry,
/// since the authenticator forwards the identity in one.
pub const MAX_IDENTITY_LEN: usize = 253;

/// The private key, in PEM. Never printed; overwritten when dropped (best
/// effort: copies made by the allocator or the kernel are out of reach).
pub(crate) struct Secret(Vec<u8>);

impl Secret {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn for_tests(b: &[u8]) -> Secret {
        Secret(b.to_vec())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    // Keeps the zeroing from being optimised away as a dead store.
    std::hint::black_box(buf);
}

/// What to give wpa_supplicant for a link.
#[derive(Debug)]
pub(crate) struct Material {
    pub identity: String,
    pub eapol_version: EapolVersion,
    /// The host certificate's store file name (for the logs).
    pub host_file_name: String,
    /// The trusted CAs, PEM; `None` with `NoValidation`.
    pub ca_pem: Option<Vec<u8>>,
    /// The host certificate chain, leaf first, PEM.
    pub chain_pem: Vec<u8>,
    pub key_pem: Secret,
}

/// The outcome of [`plan`].
#[derive(Debug)]
pub(crate) enum Plan {
    /// Do not authenticate; show this status.
    Off(Status),
    /// Authenticate with this.
    On(Material),
}

impl Plan {
    /// A digest of everything the plan configures, so that an unchanged
    /// plan is recognised without keeping the key around.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        // Each field is length-prefixed so that no two plans hash the same
        // bytes.
        let mut field = |b: &[u8]| {
            ctx.update(&(b.len() as u64).to_be_bytes());
            ctx.update(b);
        };
        match self {
            Plan::Off(status) => {
                field(b"off");
                field(status.to_string().as_bytes());
            }
            Plan::On(m) => {
                field(b"on");
                field(m.identity.as_bytes());
                field(m.eapol_version.as_str().as_bytes());
                match &m.ca_pem {
                    Some(ca) => {
                        field(b"ca");
                        field(ca);
                    }
                    None => field(b"no-ca"),
                }
                field(&m.chain_pem);
                field(m.key_pem.bytes());
            }
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

// The pki crate keeps private keys and CA files out of its public API (it
// hands out rustls signing keys, which cannot be exported). wpa_supplicant
// needs files, so they are read from the store layout that `pki::store`
// documents, and checked again with pki's own parsers.
const HOST_DIR: &str = "host";
const CHAIN_FILE: &str = "chain.pem";
const KEY_FILE: &str = "key.pem";
const OTHERS_DIR: &str = "others";
const OTHERS_FILE: &str = "certs.pem";
/// Store files are at most this large (pki refuses bigger imports).
const MAX_FILE: u64 = 1024 * 1024;

/// Decides what to do on a link from its configuration and the stores, at
/// time `now`.
pub(crate) fn plan(config: &Config, store: &CertStore, now: SystemTime) -> Result<Plan, Error> {
    if !config.enabled {
        return Ok(Plan::Off(Status::Disabled));
    }
    let validating = config.validation == CertificateValidation::TrustedAndValid;
    if validating && !config.clock_synchronised {
        return Ok(Plan::Off(Status::WaitingForTimeSync));
    }
    if let Err(reason) = check_identity(&config.identity) {
        return Ok(Plan::Off(Status::Failed(reason)));
    }
    let snapshot = store.snapshot(false, None).map_err(Error::Store)?;
    let now_secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // pki prefers a certificate valid at `clock`; with no synchronised
    // clock it can only go by the latest expiry.
    let clock = config
        .clock_synchronised
        .then(|| UnixTime::since_unix_epoch(Duration::from_secs(now_secs)));
    let Some(host) = snapshot.host_certificate(Service::Eap, Usage::TlsClient, clock) else {
        return Ok(Plan::Off(Status::NoCertificate));
    };
    let now_i64 = i64::try_from(now_secs).unwrap_or(i64::MAX);
    if validating && !(host.info.not_before <= now_i64 && now_i64 <= host.info.not_after) {
        // pki fell back to an invalid one: none is valid now.
        return Ok(Plan::Off(Status::NoCertificate));
    }
    let name = host.info.file_name.clone();
    let Some(leaf) = host.certified_key.cert.first() else {
        return Ok(Plan::Off(Status::NoCertificate));
    };
    let (chain_pem, key_pem) = match read_host(store.dir(), &name, leaf) {
        Ok(x) => x,
        Err(reason) => {
            return Ok(Plan::Off(Status::Failed(format!(
                "host certificate {name}: {reason}"
            ))))
        }
    };
    let identity = if config.identity.is_empty() {
        match common_name(leaf) {
            Some(cn) => match check_identity(&cn) {
                Ok(()) => cn,
                Err(reason) => {
                    return Ok(Plan::Off(Status::Failed(format!(
                        "no EAP identity configured, and the common name of host \
                         certificate {name} cannot be used instead: {reason}"
                    ))))
                }
            },
            None => {
                return Ok(Plan::Off(Status::Failed(format!(
                    "no EAP identity configured, and host certificate {name} has no \
                     common name to use instead"
                ))))
            }
        }
    } else {
        config.identity.clone()
    };
    let ca_pem = if validating {
        let ca = read_others(store)?;
        if ca.is_empty() {
            return Ok(Plan::Off(Status::Failed(
                "no trusted CA in the Others store: the authentication server cannot be \
                 validated"
                    .to_string(),
            )));
        }
        Some(ca)
    } else {
        None
    };
    Ok(Plan::On(Material {
        identity,
        eapol_version: config.eapol_version,
        host_file_name: name,
        ca_pem,
        chain_pem,
        key_pem,
    }))
}

/// The identity goes into wpa_supplicant's configuration as a quoted
/// string and onto the wire in EAP-Response/Identity: control characters
/// would corrupt the former, and RADIUS limits the latter.
fn check_identity(identity: &str) -> Result<(), String> {
    if identity.len() > MAX_IDENTITY_LEN {
        return Err(format!(
            "the EAP identity is longer than {MAX_IDENTITY_LEN} bytes"
        ));
    }
    if identity.chars().any(char::is_control) {
        return Err("the EAP identity contains control characters".to_string());
    }
    Ok(())
}

fn common_name(leaf: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut data = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if data.len() as u64 > MAX_FILE {
        return Err(format!("{}: larger than {MAX_FILE} bytes", path.display()));
    }
    Ok(data)
}

/// Reads a host entry's chain and key, checks them with pki's parser, and
/// that the leaf is the one the snapshot chose (the entry could have been
/// replaced in between).
fn read_host(store_dir: &Path, name: &str, leaf: &CertificateDer<'_>) -> Result<(Vec<u8>, Secret), String> {
    let dir = store_dir.join(HOST_DIR).join(name);
    let chain = read_capped(&dir.join(CHAIN_FILE))?;
    let key = Secret(read_capped(&dir.join(KEY_FILE))?);
    let mut both = Secret(Vec::with_capacity(chain.len() + key.0.len() + 1));
    both.0.extend_from_slice(&chain);
    if !chain.ends_with(b"\n") {
        both.0.push(b'\n');
    }
    both.0.extend_from_slice(key.bytes());
    let bundle = pki::parse_host_pem(both.bytes(), Usage::TlsClient).map_err(|e| e.to_string())?;
    if bundle.chain().first() != Some(leaf) {
        return Err("it changed while being read; apply again".to_string());
    }
    Ok((chain, key))
}

/// Every CA of the Others store, PEM. Damaged entries are left out (pki's
/// snapshot does the same, and logs them): that only makes validation
/// refuse more.
fn read_others(store: &CertStore) -> Result<Vec<u8>, Error> {
    let mut names: Vec<String> = store
        .list_others()
        .map_err(Error::Store)?
        .into_iter()
        .map(|row| row.file_name)
        .collect();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let path = store.dir().join(OTHERS_DIR).join(&name).join(OTHERS_FILE);
        let data = match read_capped(&path) {
            Ok(d) => d,
            Err(e) => {
                log::warn!("dot1x: trusted certificate {name} left out: {e}");
                continue;
            }
        };
        if let Err(e) = pki::parse_others(&data) {
            log::warn!("dot1x: trusted certificate {name} left out: {e}");
            continue;
        }
        out.extend_from_slice(&data);
        if !data.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_like_the_dgw() {
        assert_eq!(
            CertificateValidation::parse("novalidation").ok(),
            Some(CertificateValidation::NoValidation)
        );
        assert_eq!(
            "TrustedAndValid".parse::<CertificateValidation>().ok(),
            Some(CertificateValidation::TrustedAndValid)
        );
        assert!(CertificateValidation::parse("HostName").is_err());
        assert_eq!(
            CertificateValidation::default(),
            CertificateValidation::TrustedAndValid
        );
        assert_eq!(EapolVersion::parse("2004").ok(), Some(EapolVersion::V2004));
        assert_eq!(EapolVersion::default().wpa_value(), "1");
        assert!(EapolVersion::parse("2010").is_err());
    }

    #[test]
    fn identities() {
        assert!(check_identity("gw1@example.net").is_ok());
        assert!(check_identity("ünïcode").is_ok());
        assert!(check_identity("a\nb").is_err());
        assert!(check_identity(&"x".repeat(254)).is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let s = Secret(b"-----BEGIN PRIVATE KEY-----".to_vec());
        assert_eq!(format!("{s:?}"), "<redacted>");
    }

    #[test]
    fn off_plans_before_reading_the_stores() {
        // An empty store: these decisions come before any certificate.
        let dir = std::env::temp_dir().join(format!("dot1x-unit-{}", std::process::id()));
        let store = CertStore::open(&dir).expect("store");
        let mut c = Config {
            enabled: false,
            ..Config::default()
        };
        let now = SystemTime::now();
        assert!(matches!(plan(&c, &store, now), Ok(Plan::Off(Status::Disabled))));
        c.enabled = true;
        assert!(matches!(
            plan(&c, &store, now),
            Ok(Plan::Off(Status::WaitingForTimeSync))
        ));
        c.validation = CertificateValidation::NoValidation;
        assert!(matches!(
            plan(&c, &store, now),
            Ok(Plan::Off(Status::NoCertificate))
        ));
        c.identity = "bad\u{7}".into();
        assert!(matches!(plan(&c, &store, now), Ok(Plan::Off(Status::Failed(_)))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fingerprints_differ_by_status() {
        let a = Plan::Off(Status::Disabled).fingerprint();
        let b = Plan::Off(Status::NoCertificate).fingerprint();
        assert_ne!(a, b);
        assert_eq!(a, Plan::Off(Status::Disabled).fingerprint());
    }
}
